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
CONNS: worker connections the servers report, summed (a worker on two servers counts twice).
On a terminal it redraws in place to the window's width until q or Ctrl-C, down servers in red
and functions with waiting jobs and no worker in yellow (a narrow window drops the per-server
column, then CHANGE/S, before anything wraps); piped, it prints the whole table per refresh and
exits quietly when the reader goes away (gearbun top | head).
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
    const live = process.stdout.isTTY === true;
    const render = (snaps: Parameters<TopView["render"]>[0]): string =>
      view.render(snaps, Date.now(), {
        width: live ? process.stdout.columns || 80 : Number.POSITIVE_INFINITY,
        color: live,
      });
    let stopped = false;
    const { promise: interrupted, resolve: interrupt } = Promise.withResolvers<void>();
    const stop = (): void => {
      stopped = true;
      interrupt();
    };
    // The reader went away (gearbun top | head): nothing more to say; exit quietly.
    process.stdout.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE") throw error;
      stop();
    });
    if (values.once === true) {
      const snaps = await pollCluster(servers, { timeout: Math.min(timeout, interval * 1000), tls });
      process.stdout.write(render(snaps));
      return snaps.every((s) => s.up) ? 0 : 1;
    }
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    const keys = live && process.stdin.isTTY === true ? quitKeys(stop) : null;
    if (live) process.stdout.write(TERMINAL.enter);
    try {
      while (!stopped) {
        const started = Date.now();
        const snaps = await pollCluster(servers, { timeout: Math.min(timeout, interval * 1000), tls });
        if (stopped) break;
        process.stdout.write(live ? TERMINAL.home + render(snaps) : `${render(snaps)}\n`);
        const wait = Math.max(0, interval * 1000 - (Date.now() - started));
        await Promise.race([Bun.sleep(wait), interrupted]);
      }
    } finally {
      keys?.();
      if (live && process.stdout.writable) process.stdout.write(TERMINAL.leave);
    }
    return 0;
  },
};

/** q (or Ctrl-C, which raw mode turns into a byte) stops the live view; returns the undo. */
function quitKeys(stop: () => void): () => void {
  const onData = (data: Buffer): void => {
    if (data.includes(0x71) || data.includes(0x51) || data.includes(0x03)) stop();
  };
  process.stdin.setRawMode(true);
  process.stdin.on("data", onData);
  process.stdin.resume();
  return () => {
    process.stdin.off("data", onData);
    process.stdin.setRawMode(false);
    process.stdin.pause();
  };
}
