<?php
/**
 * Runs the handlers of a PHP file for `gearbun worker tasks.php` (PHP >= 7.4, no extension).
 *
 * gearbun keeps the Gearman connections; this process gets one job at a time over the handler
 * protocol (docs/handler-protocol.md), on the socket named by $GEARBUN_HANDLER_FD (how gearbun
 * starts it), else on stdin/stdout. The handlers file returns an array:
 *
 *     return ['reverse' => function ($job) { return strrev($job->workload()); }];
 *
 * A handler gets a job with pecl-gearman's GearmanJob methods (workload(), workloadSize(),
 * handle(), unique(), functionName(), sendStatus(), sendData(), sendWarning(), sendComplete(),
 * sendFail(), sendException()) and gearbun's own (text(), json(), status(), data(), warning(),
 * fail()). GearmanManager's handler functions, fn($job, &$log), and classes with a
 * run($job, &$log) method run unchanged. It returns a string, null, or an array/object (sent
 * as JSON); a Throwable is the job's exception, with its message; its trace goes to stderr.
 *
 * What the handlers echo goes to the log: on stdout when the frames travel on the socket, on
 * stderr when stdout carries them.
 */

declare(strict_types=1);

const GEARBUN_PROTOCOL_VERSION = '1';
/** Set by gearbun: the file descriptor of the socket the frames travel on (else stdin/stdout). */
const GEARBUN_HANDLER_FD_ENV = 'GEARBUN_HANDLER_FD';
const GEARBUN_JOB = 0x4A;
const GEARBUN_HELLO = 0x48;
const GEARBUN_LOAD_FAILED = 0x4C;
const GEARBUN_STATUS = 0x53;
const GEARBUN_DATA = 0x44;
const GEARBUN_WARNING = 0x57;
const GEARBUN_COMPLETE = 0x43;
const GEARBUN_FAIL = 0x46;
const GEARBUN_EXCEPTION = 0x45;

/** Throw it (or call $job->fail($message)) to end the job as failed rather than raised. */
final class GearbunFailure extends Exception
{
}

final class GearbunChannel
{
    /** @var resource */
    private $in;
    /** @var resource */
    private $out;
    /** @var string bytes read and not yet taken as frames, from $at on */
    private $buffer = '';
    /** @var int */
    private $at = 0;

    /** @param resource $in @param resource $out (the same stream, for a socket) */
    public function __construct($in, $out)
    {
        $this->in = $in;
        $this->out = $out;
    }

    public function send(int $type, string ...$args): void
    {
        $this->sendBody($type, implode("\0", $args));
    }

    /** A frame whose body is $body as it is (one argument, or arguments already joined). */
    public function sendBody(int $type, string $body): void
    {
        $frame = pack('NC', strlen($body) + 1, $type) . $body;
        for ($at = 0, $n = strlen($frame); $at < $n; $at += $written) {
            $written = fwrite($this->out, $at === 0 ? $frame : substr($frame, $at));
            if ($written === false || $written === 0) {
                exit(0); // gearbun went away
            }
        }
    }

    /** [type, body] of the next frame, or null at the end of input. */
    public function receive(): ?array
    {
        for (;;) {
            $have = strlen($this->buffer) - $this->at;
            if ($have >= 5) {
                $h = unpack('Nlength/Ctype', $this->buffer, $this->at);
                if ($h['length'] < 1) {
                    throw new UnexpectedValueException('frame of length 0');
                }
                if ($have >= 4 + $h['length']) {
                    $body = (string) substr($this->buffer, $this->at + 5, $h['length'] - 1);
                    $this->at += 4 + $h['length'];
                    if ($this->at === strlen($this->buffer)) {
                        $this->buffer = '';
                        $this->at = 0;
                    }
                    return [$h['type'], $body];
                }
            }
            // One read brings what has arrived (a whole JOB frame, usually).
            $chunk = fread($this->in, max(65536, 4 + ($h['length'] ?? 0) - $have));
            if ($chunk === false || $chunk === '') {
                return null;
            }
            $this->buffer = $this->at === 0 ? $this->buffer . $chunk : substr($this->buffer, $this->at) . $chunk;
            $this->at = 0;
            $h = null;
        }
    }
}

/** The job a handler gets: pecl-gearman's GearmanJob method names, and gearbun's. */
final class GearbunJob
{
    /** @var string the payload, as bytes */
    public $data;
    /** @var int 1, then 2… when the function has retries */
    public $attempt;
    private $channel;
    private $function;
    private $handle;
    private $unique;
    private $ended = false;

    public function __construct(GearbunChannel $channel, string $function, string $handle, string $unique, int $attempt, string $data)
    {
        $this->channel = $channel;
        $this->function = $function;
        $this->handle = $handle;
        $this->unique = $unique;
        $this->attempt = $attempt;
        $this->data = $data;
    }

    public function workload(): string { return $this->data; }
    public function workloadSize(): int { return strlen($this->data); }
    public function handle(): string { return $this->handle; }
    public function unique(): string { return $this->unique; }
    public function functionName(): string { return $this->function; }
    /** GEARMAN_SUCCESS: nothing here fails the way the extension's calls can. */
    public function returnCode(): int { return 0; }

    public function text(): string { return $this->data; }
    /** @return mixed */
    public function json() { return json_decode($this->data, true, 512, JSON_THROW_ON_ERROR); }

    public function sendStatus(int $numerator, int $denominator): bool
    {
        return $this->send(GEARBUN_STATUS, (string) $numerator, (string) $denominator);
    }
    public function sendData(string $data): bool { return $this->send(GEARBUN_DATA, $data); }
    public function sendWarning(string $warning): bool { return $this->send(GEARBUN_WARNING, $warning); }
    /** Ends the job with this result; what the handler returns afterwards is ignored. */
    public function sendComplete(string $result): bool { return $this->end(GEARBUN_COMPLETE, $result); }
    /** Ends the job as failed. */
    public function sendFail(): bool { return $this->end(GEARBUN_FAIL, 'job failed'); }
    /** Ends the job with an exception. */
    public function sendException(string $exception): bool { return $this->end(GEARBUN_EXCEPTION, $exception); }

    public function status(int $numerator, int $denominator): bool { return $this->sendStatus($numerator, $denominator); }
    public function warning(string $message): bool { return $this->sendWarning($message); }
    /** @return never */
    public function fail(string $message = 'job failed') { throw new GearbunFailure($message); }

    /** @internal */
    public function end(int $type, string $body): bool
    {
        if ($this->ended) {
            return false;
        }
        $this->channel->sendBody($type, $body);
        $this->ended = true;
        return true;
    }

    private function send(int $type, string ...$args): bool
    {
        if ($this->ended) {
            return false;
        }
        $this->channel->send($type, ...$args);
        return true;
    }
}

/** @param mixed $value */
function gearbun_result($value): string
{
    if ($value === null) {
        return '';
    }
    if (is_string($value)) {
        return $value;
    }
    if (is_int($value) || is_float($value)) {
        return (string) $value;
    }
    if (is_bool($value) || is_array($value) || is_object($value)) {
        return json_encode($value, JSON_THROW_ON_ERROR);
    }
    throw new TypeError('handler returned ' . gettype($value) . '; return a string, null, or an array/object (sent as JSON)');
}

function gearbun_message(Throwable $e): string
{
    return $e->getMessage() !== '' ? $e->getMessage() : get_class($e);
}

/** The file's handlers: name => callable taking ($job) or ($job, &$log). */
function gearbun_load(string $file): array
{
    $table = (static function (string $__file) {
        return require $__file;
    })($file);
    if (!is_array($table)) {
        throw new UnexpectedValueException("$file must return an array of function name => handler, got " . gettype($table));
    }
    if ($table === []) {
        throw new UnexpectedValueException("$file returns no handlers");
    }
    $handlers = [];
    foreach ($table as $name => $handler) {
        if (!is_string($name) || $name === '' || strpos($name, "\0") !== false) {
            throw new UnexpectedValueException('handler name ' . var_export($name, true) . ' must be a non-empty string without NUL');
        }
        // GearmanManager's class handlers: a class with run($job, &$log).
        if (is_string($handler) && class_exists($handler) && method_exists($handler, 'run')) {
            $handler = [new $handler(), 'run'];
        }
        if (!is_callable($handler)) {
            throw new UnexpectedValueException("handler \"$name\" is not callable");
        }
        $closure = Closure::fromCallable($handler);
        $handlers[$name] = [$closure, (new ReflectionFunction($closure))->getNumberOfParameters() >= 2];
    }
    return $handlers;
}

function gearbun_run(GearbunChannel $channel, array $handlers, string $body): void
{
    $parts = explode("\0", $body, 5);
    if (count($parts) !== 5) {
        throw new UnexpectedValueException('JOB frame with ' . count($parts) . ' arguments');
    }
    [$function, $handle, $unique, $attempt, $data] = $parts;
    $job = new GearbunJob($channel, $function, $handle, $unique, (int) $attempt, $data);
    if (!isset($handlers[$function])) {
        $job->end(GEARBUN_EXCEPTION, "no handler for \"$function\" in this file");
        return;
    }
    [$fn, $takesLog] = $handlers[$function];
    $log = [];
    try {
        $value = $takesLog ? $fn($job, $log) : $fn($job);
        $result = gearbun_result($value);
    } catch (GearbunFailure $failure) {
        $job->end(GEARBUN_FAIL, gearbun_message($failure));
        return;
    } catch (Throwable $e) {
        fwrite(STDERR, get_class($e) . ': ' . $e->getMessage() . "\n" . $e->getTraceAsString() . "\n");
        $job->end(GEARBUN_EXCEPTION, gearbun_message($e));
        return;
    } finally {
        foreach ($log as $line) {
            fwrite(STDERR, "$function: $line\n");
        }
    }
    $job->end(GEARBUN_COMPLETE, $result);
}

function gearbun_main(array $argv): int
{
    if (count($argv) !== 2) {
        fwrite(STDERR, "usage: gearbun_handler.php HANDLERS.php (started by `gearbun worker`)\n");
        return 2;
    }
    ini_set('display_errors', 'stderr');
    $fd = getenv(GEARBUN_HANDLER_FD_ENV);
    if ($fd !== false && $fd !== '') {
        // The frames travel on an inherited socket; stdout and stderr are both the log. Its
        // variable does not pass to what the handlers start.
        putenv(GEARBUN_HANDLER_FD_ENV);
        $socket = fopen('php://fd/' . (int) $fd, 'r+');
        if ($socket === false) {
            fwrite(STDERR, "gearbun_handler.php: cannot open file descriptor $fd\n");
            return 5;
        }
        $channel = new GearbunChannel($socket, $socket);
    } else {
        // The protocol writes STDOUT directly; what the handlers echo or print goes through the
        // output layer, turned to stderr here, so nothing they do can corrupt a frame.
        ob_start(static function (string $buffer): string {
            fwrite(STDERR, $buffer);
            return '';
        }, 1);
        $channel = new GearbunChannel(STDIN, STDOUT);
    }
    try {
        $handlers = gearbun_load($argv[1]);
    } catch (Throwable $e) {
        fwrite(STDERR, get_class($e) . ': ' . $e->getMessage() . "\n" . $e->getTraceAsString() . "\n");
        $where = $e instanceof ParseError ? ' (' . basename($e->getFile()) . ', line ' . $e->getLine() . ')' : '';
        $channel->send(GEARBUN_LOAD_FAILED, get_class($e) . ': ' . $e->getMessage() . $where);
        return 3;
    }
    $channel->send(GEARBUN_HELLO, GEARBUN_PROTOCOL_VERSION, ...array_map('strval', array_keys($handlers)));
    while (($frame = $channel->receive()) !== null) {
        [$type, $body] = $frame;
        if ($type !== GEARBUN_JOB) {
            fwrite(STDERR, sprintf("gearbun_handler.php: unexpected frame type 0x%02x\n", $type));
            return 4;
        }
        gearbun_run($channel, $handlers, $body);
    }
    return 0;
}

exit(gearbun_main($argv));
