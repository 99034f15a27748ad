<?php
// The polyglot rows' baseline: the same PHP handler under pecl-gearman's own worker loop,
// GearmanWorker::work(), as GearmanManager runs it. Forks N worker processes and waits.
//   php pecl-worker.php N HOST:PORT
[$self, $count, $server] = $argv;
[$host, $port] = explode(':', $server);
$children = [];
for ($i = 0; $i < (int) $count; $i++) {
    $pid = pcntl_fork();
    if ($pid === 0) {
        $worker = new GearmanWorker();
        $worker->addServer($host, (int) $port);
        $worker->addFunction('poly', function ($job) {
            return $job->workload();
        });
        while ($worker->work()) {
        }
        fwrite(STDERR, 'GearmanWorker::work() returned ' . $worker->returnCode() . ': ' . $worker->error() . "\n");
        exit(1);
    }
    $children[] = $pid;
}
// Stopped by SIGTERM (the bench's peer stop): the workers go with it.
pcntl_async_signals(true);
pcntl_signal(SIGTERM, function () use ($children) {
    foreach ($children as $pid) {
        posix_kill($pid, SIGTERM);
    }
    exit(0);
});
while (pcntl_wait($status) > 0) {
    // A worker ended (its server went away): wait for the others.
}
