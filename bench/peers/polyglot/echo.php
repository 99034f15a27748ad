<?php
// The polyglot rows' trivial handler in PHP, under `gearbun worker echo.php`: the same function
// pecl-worker.php registers with GearmanWorker.
return ['poly' => function ($job) {
    return $job->workload();
}];
