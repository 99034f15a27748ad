<?php
// A caller as a GearmanManager shop writes it: pecl-gearman's GearmanClient::doNormal, looping
// while it returns early for WORK_DATA / WORK_STATUS / WORK_WARNING. Prints one JSON line.
//   php php-caller.php HOST PORT FUNCTION PAYLOAD
[, $host, $port, $fn, $payload] = $argv;
$client = new GearmanClient();
$client->addServer($host, (int) $port);
$client->setTimeout(20000);
$warnings = [];
$started = microtime(true);
do {
    $result = $client->doNormal($fn, $payload);
    $code = $client->returnCode();
    if ($code == GEARMAN_WORK_WARNING) $warnings[] = $result;
} while ($code == GEARMAN_WORK_DATA || $code == GEARMAN_WORK_STATUS || $code == GEARMAN_WORK_WARNING);
echo json_encode([
    "code" => $code,
    "result" => $result,
    "warnings" => $warnings,
    "error" => $client->error(),
    "ms" => (int) round((microtime(true) - $started) * 1000),
]), "\n";
