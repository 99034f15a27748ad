/**
 * The dashboard's HTTP side (Bun.serve): GET / is one self-contained page (page.ts: inline CSS
 * and script, no CDN, no build step); GET /api/snapshot is the latest poll of the servers with
 * the history the charts draw. The servers are polled in the background every `interval`
 * through the admin protocol (status, version, workers), so a page that polls every second
 * costs no admin round trip of its own.
 */
import { type ServerSnapshot, pollCluster, sumFunctions } from "../admin/cluster.ts";
import { formatAddress, parseServers } from "../connection/servers.ts";
import { serveHttp, type HttpEndpoint } from "../metrics/http.ts";
import { DASHBOARD_DEFAULTS, type DashboardOptions, numberOption } from "../options.ts";
import { PAGE } from "./page.ts";
import { type PoolPanel, pollPool, poolUrl } from "./pool.ts";

/** One point of the charts. */
export interface HistoryPoint {
  /** ms since epoch */
  at: number;
  /** Jobs queued or running, summed over the servers that answered. */
  depth: number;
  /** Jobs completed per second since the previous point (or queue change per second). */
  rate: number | null;
}

export interface DashboardData {
  at: number;
  /** "completed" or "change": what `rate` means. */
  rateKind: "completed" | "change";
  servers: { server: string; up: boolean; version: string; error: string | null; elapsedMs: number }[];
  functions: {
    function: string;
    total: number;
    running: number;
    waiting: number;
    workers: number;
    servers: Record<string, { total: number; running: number; workers: number }>;
  }[];
  workers: { server: string; fd: number; ip: string; clientId: string; functions: string[] }[];
  history: HistoryPoint[];
  /** The pool panel, when the dashboard watches a pool's metrics endpoint. */
  pool: PoolPanel | null;
}

/** Builds the page's data from one poll (exported for tests and other front ends). */
export function dashboardData(
  snapshots: readonly ServerSnapshot[],
  history: HistoryPoint[],
  rateKind: DashboardData["rateKind"],
  pool: PoolPanel | null = null,
): DashboardData {
  return {
    at: Date.now(),
    rateKind,
    servers: snapshots.map((s) => ({
      server: s.server,
      up: s.up,
      version: s.version,
      error: s.error,
      elapsedMs: Math.round(s.elapsedMs),
    })),
    functions: sumFunctions(snapshots).map((f) => ({
      function: f.function,
      total: f.total,
      running: f.running,
      waiting: f.waiting,
      workers: f.workers,
      servers: Object.fromEntries(
        [...f.servers].map(([server, r]) => [server, { total: r.total, running: r.running, workers: r.workers }]),
      ),
    })),
    workers: snapshots.flatMap((s) =>
      s.workers.filter((w) => w.functions.length > 0).map((w) => ({ server: s.server, ...w })),
    ),
    history,
    pool,
  };
}

export interface ServeDashboardOptions {
  /** A pool's `--metrics` address (HOST:PORT or URL): adds the pool panel. */
  pool?: string;
  /** The option named in a listen error ("--listen" for `gearbun dashboard`). @default "--dashboard" */
  option?: string;
}

/** Serves the dashboard; the background poll starts at once and stops with the endpoint. */
export function serveDashboard(options: DashboardOptions = {}, extra: ServeDashboardOptions = {}): HttpEndpoint {
  const poolAt = extra.pool === undefined ? null : poolUrl(extra.pool);
  const servers = parseServers(options.servers).map(formatAddress);
  const interval = numberOption("interval", options.interval, DASHBOARD_DEFAULTS.interval, 100);
  const keep = numberOption("history", options.history, DASHBOARD_DEFAULTS.history, 2);
  const rateKind = options.completed === undefined ? "change" : "completed";
  const history: HistoryPoint[] = [];
  let latest: DashboardData | null = null;
  let previous: { at: number; count: number } | null = null;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let first: Promise<void> | null = null;

  const poll = async (): Promise<void> => {
    const timeout = Math.max(interval, 1000);
    const [snaps, pool] = await Promise.all([
      pollCluster(servers, { timeout, workers: true, tls: options.tls }),
      poolAt === null ? null : pollPool(poolAt, timeout),
    ]);
    const at = Date.now();
    const depth = sumFunctions(snaps).reduce((n, f) => n + f.total, 0);
    const count = options.completed?.() ?? depth;
    let rate: number | null = null;
    if (previous !== null && at > previous.at) rate = ((count - previous.count) * 1000) / (at - previous.at);
    previous = { at, count };
    history.push({ at, depth, rate: rate === null ? null : Math.round(rate * 10) / 10 });
    if (history.length > keep) history.splice(0, history.length - keep);
    latest = dashboardData(snaps, history, rateKind, pool);
  };
  const loop = async (): Promise<void> => {
    const started = Date.now();
    await poll().catch(() => {});
    if (!stopped) timer = setTimeout(loop, Math.max(0, interval - (Date.now() - started)));
  };
  const endpoint = serveHttp({
    listen: options.listen ?? DASHBOARD_DEFAULTS.listen,
    option: extra.option ?? "--dashboard",
    health: () => ({ ok: true, reason: `watching ${servers.join(", ")}` }),
    routes: {
      "/": () =>
        new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" } }),
      "/api/snapshot": async () => {
        if (latest === null) await first;
        return Response.json(latest, { headers: { "cache-control": "no-store" } });
      },
    },
  });
  first = loop();
  const stop = async (): Promise<void> => {
    stopped = true;
    if (timer !== null) clearTimeout(timer);
    await endpoint.stop();
  };
  return { address: endpoint.address, port: endpoint.port, url: endpoint.url, stop, [Symbol.asyncDispose]: stop };
}
