#!/usr/bin/env python3
"""Runs the handlers of a Python file for `gearbun worker tasks.py` (Python >= 3.8, stdlib only).

gearbun keeps the Gearman connections; this process gets one job at a time over the handler
protocol (docs/handler-protocol.md), on the socket named by $GEARBUN_HANDLER_FD (how gearbun
starts it), else on stdin/stdout. The handlers file defines a module-level
dict, or uses the decorator:

    handlers = {"reverse": lambda job: job.text()[::-1]}

    from gearbun_handler import handler
    @handler("upper")
    def upper(job): return job.text().upper()

A handler gets a Job (job.data, job.text(), job.json(), job.status(n, d), job.send_data(chunk),
job.warning(msg), job.fail(msg)) and returns str, bytes, None, or a dict/list (sent as JSON).
An exception is the job's exception, with its text; the traceback goes to stderr (the log).
python-gearman's handlers, fn(gearman_worker, gearman_job), run unchanged.

What the handlers print goes to the log: on stdout (line-buffered) when the frames travel on the
socket, on stderr when stdout carries them.
"""

import importlib.util
import inspect
import json
import os
import struct
import sys
import traceback

PROTOCOL_VERSION = b"1"

JOB = 0x4A
HELLO = 0x48
LOAD_FAILED = 0x4C
STATUS = 0x53
DATA = 0x44
WARNING = 0x57
COMPLETE = 0x43
FAIL = 0x46
EXCEPTION = 0x45

_HEADER = struct.Struct(">IB")
# Set by gearbun: the file descriptor of the socket the frames travel on (else stdin/stdout).
HANDLER_FD_ENV = "GEARBUN_HANDLER_FD"
_registered = {}


def handler(name=None):
    """Decorator: @handler("name") or @handler registers a function under that name (or its own)."""
    if callable(name):
        _registered[name.__name__] = name
        return name

    def register(fn):
        _registered[name or fn.__name__] = fn
        return fn

    return register


class Failure(Exception):
    """Raise it (or call job.fail(msg)) to end the job as failed (WORK_FAIL) rather than raised."""


def _bytes(value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return str(value).encode("utf-8")


class _Channel:
    """The protocol's frames on raw file descriptors: one socket both ways, or stdin and stdout.

    Frames are read into one reused buffer (a read call usually brings a whole JOB frame) and
    written with one write call each.
    """

    def __init__(self, read_fd, write_fd):
        self._in = read_fd
        self._out = write_fd
        self._buf = bytearray(65536)
        self._view = memoryview(self._buf)
        self._start = 0
        self._end = 0

    def send(self, kind, *args):
        self.send_bytes(kind, b"\0".join(_bytes(a) for a in args))

    def send_bytes(self, kind, body):
        """A frame whose body is `body` as it is (one argument, or arguments already joined)."""
        frame = memoryview(_HEADER.pack(len(body) + 1, kind) + body)
        while frame:
            frame = frame[os.write(self._out, frame):]

    def receive(self):
        """(type, body) of the next frame, or None at the end of input."""
        while True:
            have = self._end - self._start
            if have >= _HEADER.size:
                length, kind = _HEADER.unpack_from(self._buf, self._start)
                if length < 1:
                    raise ValueError("frame of length 0")
                total = 4 + length
                if have >= total:
                    body = bytes(self._view[self._start + _HEADER.size : self._start + total])
                    self._start += total
                    if self._start == self._end:
                        self._start = self._end = 0
                    return kind, body
                if total > len(self._buf):
                    self._grow(total)
            if self._end == len(self._buf):
                self._compact()
            n = os.readv(self._in, [self._view[self._end :]])
            if n == 0:
                return None
            self._end += n

    def _compact(self):
        have = self._end - self._start
        self._view[:have] = self._view[self._start : self._end]
        self._start, self._end = 0, have

    def _grow(self, size):
        """Room for a frame of `size` bytes (a large payload) from the start of the buffer."""
        have = self._end - self._start
        self._view.release()
        buf = bytearray(size)
        buf[:have] = self._buf[self._start : self._end]
        self._buf, self._view = buf, memoryview(buf)
        self._start, self._end = 0, have


class Job:
    """The job a handler gets. Attribute names of python-gearman's GearmanJob work too."""

    def __init__(self, channel, function, handle, unique, attempt, data):
        self._channel = channel
        self.function = function
        self.handle = handle
        self.unique = unique
        self.attempt = attempt
        self.data = data
        self.connection = None
        self._ended = False

    def _send(self, kind, *args):
        if not self._ended:
            self._channel.send(kind, *args)

    def _end(self, kind, body):
        if not self._ended:
            self._channel.send_bytes(kind, body)
            self._ended = True

    @property
    def task(self):
        return self.function

    def text(self, encoding="utf-8"):
        return self.data.decode(encoding)

    def json(self):
        return json.loads(self.data.decode("utf-8"))

    def status(self, numerator, denominator):
        self._send(STATUS, int(numerator), int(denominator))

    def send_data(self, chunk):
        self._send(DATA, chunk)

    def warning(self, message):
        self._send(WARNING, message)

    def fail(self, message="job failed"):
        raise Failure(message)


class GearmanWorker:
    """What python-gearman handlers get as their first argument: its send_job_* methods.

    send_job_complete/failure/exception end the job there; what the handler returns afterwards
    is ignored, as is anything more it sends for that job.
    """

    def send_job_status(self, job, numerator, denominator):
        job.status(numerator, denominator)

    def send_job_data(self, job, data):
        job.send_data(data)

    def send_job_warning(self, job, data):
        job.warning(data)

    def send_job_complete(self, job, data):
        job._end(COMPLETE, _result(data))

    def send_job_failure(self, job):
        job._end(FAIL, b"job failed")

    def send_job_exception(self, job, data):
        job._end(EXCEPTION, _bytes(data))


def _result(value):
    if value is None:
        return b""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (dict, list, tuple, int, float, bool)):
        return json.dumps(value).encode("utf-8")
    raise TypeError(
        "handler returned %s; return str, bytes, None, or a dict/list (sent as JSON)" % type(value).__name__
    )


def _takes_worker(fn):
    """python-gearman's fn(gearman_worker, gearman_job): two required positional parameters."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    required = [p for p in params if p.kind in positional and p.default is inspect.Parameter.empty]
    return len(required) >= 2


def _load(path):
    """The handlers of the file: name -> (function, takes_worker)."""
    path = os.path.abspath(path)
    folder = os.path.dirname(path)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError("cannot load %s as a Python module" % path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    found = dict(_registered)
    table = getattr(module, "handlers", None)
    if table is not None:
        if not isinstance(table, dict):
            raise TypeError("`handlers` must be a dict of function name -> callable, got %s" % type(table).__name__)
        found.update(table)
    if not found:
        raise LookupError("no handlers: define a module-level dict `handlers = {\"name\": fn}` or use @handler")
    out = {}
    for key, fn in found.items():
        if not isinstance(key, str) or key == "" or "\0" in key:
            raise TypeError("handler name %r must be a non-empty string without NUL" % (key,))
        if not callable(fn):
            raise TypeError("handler %r is not callable" % key)
        out[key] = (fn, _takes_worker(fn))
    return out


def _message(error):
    text = str(error)
    return text if text else type(error).__name__


def _run(channel, handlers, worker, frame):
    parts = frame.split(b"\0", 4)
    if len(parts) != 5:
        raise ValueError("JOB frame with %d arguments" % len(parts))
    function, handle, unique, attempt, data = parts
    function = function.decode("utf-8")
    job = Job(channel, function, handle.decode("utf-8"), unique.decode("utf-8"), int(attempt), data)
    entry = handlers.get(function)
    if entry is None:
        channel.send_bytes(EXCEPTION, _bytes("no handler for %r in this file" % function))
        return
    fn, takes_worker = entry
    try:
        value = fn(worker, job) if takes_worker else fn(job)
        result = _result(value)
    except Failure as failure:
        job._end(FAIL, _bytes(_message(failure)))
        return
    except Exception as error:
        traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()
        job._end(EXCEPTION, _bytes(_message(error)))
        return
    job._end(COMPLETE, result)


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: gearbun_handler.py HANDLERS.py (started by `gearbun worker`)\n")
        return 2
    fd = os.environ.pop(HANDLER_FD_ENV, None)
    if fd is not None:
        # The frames travel on an inherited socket; stdout and stderr are both the log. Neither
        # the socket nor its variable passes to what the handlers start.
        fd = int(fd)
        os.set_inheritable(fd, False)
        channel = _Channel(fd, fd)
        if sys.stdout is not None:
            sys.stdout.reconfigure(line_buffering=True)
    else:
        # The protocol keeps the original stdin/stdout; the handlers' print() and input() get
        # stderr and /dev/null, so nothing they do can corrupt a frame.
        channel = _Channel(os.dup(0), os.dup(1))
        os.dup2(2, 1)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        sys.stdout = sys.stderr
    # No __pycache__ written next to the handlers: `gearbun worker --watch` watches that folder.
    sys.dont_write_bytecode = True
    # `from gearbun_handler import handler` in the handlers file finds this running module.
    sys.modules.setdefault("gearbun_handler", sys.modules[__name__])
    try:
        handlers = _load(argv[1])
    except BaseException as error:
        traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()
        channel.send(LOAD_FAILED, "%s: %s" % (type(error).__name__, _message(error)))
        return 3
    channel.send(HELLO, PROTOCOL_VERSION, *handlers.keys())
    worker = GearmanWorker()
    while True:
        frame = channel.receive()
        if frame is None:
            return 0
        kind, body = frame
        if kind != JOB:
            sys.stderr.write("gearbun_handler.py: unexpected frame type 0x%02x\n" % kind)
            return 4
        _run(channel, handlers, worker, body)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (BrokenPipeError, ConnectionResetError):
        # gearbun went away while a frame was being written or read.
        sys.exit(0)
