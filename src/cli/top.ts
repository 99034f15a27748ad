/** `gearbun top`: a live view of queues, workers and servers; `--once` prints one table. */
import { pollCluster } from "../admin/cluster.ts";
import { POLL_DEFAULTS } from "../options.ts";
import { formatAddress, parseServers } from "../connection/servers.ts";
import { TERMINAL, TopView } from "../monitor/top.ts";
import { type Command, flagLine, intFlag, SERVERS_FLAG, str, UsageError } from "./args.ts";
import { CLIENT_SSL_OPTIONS, CLIENT_SSL_USAGE, clientTlsFlags } from "./client-tls.ts";

const DEFAULT_INTERVAL = 2;

export const top: Command = {
  usage: `Usage: gearbun top [--servers LIST] [--interval S] [--once]

Per function: jobs total / running / waiting and workers summed over the servers, how fast the
queue changes, and each server's own numbers; each server's state (up, down since when, version).
On a terminal it redraws in place until Ctrl-C; piped, it prints a table per refresh.
${SERVERS_FLAG}
${flagLine("--interval S", "seconds between refreshes", DEFAULT_INTERVAL)}
${flagLine("--once", "print one table and exit (exit 1 when a server is down)")}
${flagLine("--timeout MS", "how long each server may take to answer", POLL_DEFAULTS.timeout)}
${CLIENT_SSL_USAGE}`,
  options: {
    servers: { type: "string" },
    interval: { type: "string" },
    once: { type: "boolean" },
    timeout: { type: "string" },
    ...CLIENT_SSL_OPTIONS,
  },
  async run(values) {
    const servers = parseServers(str(values.servers)).map(formatAddress);
    const tls = clientTlsFlags(values);
    const interval = Number(str(values.interval) ?? DEFAULT_INTERVAL);
    if (!Number.isFinite(interval) || interval < 0.1) {
      throw new UsageError(`--interval must be a number of seconds >= 0.1, got "${String(values.interval)}"`);
    }
    const timeout = intFlag(values, "timeout", POLL_DEFAULTS.timeout);
    const view = new TopView();
    if (values.once === true) {
      const snaps = await pollCluster(servers, { timeout: Math.min(timeout, interval * 1000), tls });
      process.stdout.write(view.render(snaps));
      return snaps.every((s) => s.up) ? 0 : 1;
    }
    const live = process.stdout.isTTY === true;
    let stopped = false;
    const { promise: interrupted, resolve: interrupt } = Promise.withResolvers<void>();
    const stop = (): void => {
      stopped = true;
      interrupt();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    if (live) process.stdout.write(TERMINAL.enter);
    try {
      while (!stopped) {
        const started = Date.now();
        const snaps = await pollCluster(servers, { timeout: Math.min(timeout, interval * 1000), tls });
        if (stopped) break;
        process.stdout.write(live ? TERMINAL.home + view.render(snaps) : `${view.render(snaps)}\n`);
        const wait = Math.max(0, interval * 1000 - (Date.now() - started));
        await Promise.race([Bun.sleep(wait), interrupted]);
      }
    } finally {
      if (live) process.stdout.write(TERMINAL.leave);
    }
    return 0;
  },
};
