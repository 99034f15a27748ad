/** `gearbun check`: a Nagios/Icinga plugin (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN). */
import { pollCluster } from "../admin/cluster.ts";
import { Client } from "../client/client.ts";
import { formatAddress, parseServers } from "../connection/servers.ts";
import { CheckState, evaluateCheck, type JobProbe, parseThresholds, unknownResult } from "../monitor/check.ts";
import { CHECK_DEFAULTS, POLL_DEFAULTS, type TlsOptions } from "../options.ts";
import { type Command, flagLine, intFlag, SERVERS_FLAG, str } from "./args.ts";
import { CLIENT_SSL_OPTIONS, CLIENT_SSL_USAGE, clientTlsFlags } from "./client-tls.ts";

async function runJob(
  servers: string[],
  tls: TlsOptions | undefined,
  spec: string,
  expect: string | undefined,
  timeout: number,
): Promise<JobProbe> {
  const colon = spec.indexOf(":");
  const fn = colon < 0 ? spec : spec.slice(0, colon);
  const data = colon < 0 ? "" : spec.slice(colon + 1);
  const client = new Client({ servers, tls, connectTimeout: timeout });
  const started = performance.now();
  try {
    const result = new TextDecoder().decode(await client.submit(fn, data, { timeout }));
    const seconds = (performance.now() - started) / 1000;
    if (expect !== undefined && !result.includes(expect)) {
      return { function: fn, seconds, problem: `result "${result.slice(0, 60)}" lacks "${expect}"` };
    }
    return { function: fn, seconds, problem: null };
  } catch (error) {
    return { function: fn, seconds: null, problem: error instanceof Error ? error.message : String(error) };
  } finally {
    await client.close();
  }
}

export const check: Command = {
  usage: `Usage: gearbun check [--servers LIST] [-f FUNC]... [-w N] [-c N] [-W N] [-C N] [--job FUNC:DATA [--expect TEXT]]

A Nagios/Icinga plugin: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; one status line and
perfdata 'FUNC_waiting'=n;w;c;0 'FUNC_running'=n 'FUNC_worker'=n;W;C;0 per function, summed
over the servers. Thresholds are Nagios ranges: N alerts above N, N: below N, A:B outside, @A:B inside.
A server that does not answer is CRITICAL; so is a function with jobs waiting and no worker.
${SERVERS_FLAG} (-H)
${flagLine("-f FUNC", "check only this function (repeat for more)", "all")}
${flagLine("-w R", "waiting jobs per function (--warning)", CHECK_DEFAULTS.waitingWarning)}
${flagLine("-c R", "waiting jobs per function (--critical)", CHECK_DEFAULTS.waitingCritical)}
${flagLine("-W R", "workers per function (--workers-warning)", CHECK_DEFAULTS.workersWarning)}
${flagLine("-C R", "workers per function (--workers-critical)", CHECK_DEFAULTS.workersCritical)}
${flagLine("--job FUNC:DATA", "submit a test job; its round trip goes into perfdata")}
${flagLine("--expect TEXT", "the test job's result must contain TEXT")}
${flagLine("-t MS", "per server answer and test job (--timeout)", POLL_DEFAULTS.timeout)}
${CLIENT_SSL_USAGE}`,
  usageExitCode: CheckState.UNKNOWN,
  usageLine: (message) => `GEARMAN UNKNOWN - ${message}`,
  options: {
    servers: { type: "string", short: "H" },
    function: { type: "string", short: "f", multiple: true },
    warning: { type: "string", short: "w" },
    critical: { type: "string", short: "c" },
    "workers-warning": { type: "string", short: "W" },
    "workers-critical": { type: "string", short: "C" },
    job: { type: "string" },
    expect: { type: "string" },
    timeout: { type: "string", short: "t" },
    ...CLIENT_SSL_OPTIONS,
  },
  async run(values) {
    let result: ReturnType<typeof evaluateCheck>;
    try {
      const servers = parseServers(str(values.servers)).map(formatAddress);
      const tls = clientTlsFlags(values);
      const thresholds = parseThresholds({
        waitingWarning: str(values.warning),
        waitingCritical: str(values.critical),
        workersWarning: str(values["workers-warning"]),
        workersCritical: str(values["workers-critical"]),
      });
      const timeout = intFlag(values, "timeout", POLL_DEFAULTS.timeout);
      const functions = Array.isArray(values.function) ? values.function.map(String) : [];
      const job = str(values.job);
      const [snapshots, probe] = await Promise.all([
        pollCluster(servers, { timeout, tls }),
        job === undefined ? Promise.resolve(null) : runJob(servers, tls, job, str(values.expect), timeout),
      ]);
      result = evaluateCheck(snapshots, thresholds, functions, probe);
    } catch (error) {
      result = unknownResult(error instanceof Error ? error.message : String(error));
    }
    console.log(result.output);
    return result.state;
  },
};
