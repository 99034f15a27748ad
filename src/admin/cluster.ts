/**
 * One look at many job servers through their admin protocol: `status` and `version` (and
 * optionally `workers`) from each, asked in parallel with a deadline. A server that refuses,
 * hangs or answers garbage is reported as down with the reason; polling never throws, so a
 * monitor (exporter, top, check, dashboard) always has a picture to show.
 */
import { formatAddress, parseServers, type ServersInput } from "../connection/servers.ts";
import { type PollOptions, resolvePollOptions } from "../options.ts";
import type { StatusRow, WorkerRow } from "../protocol/admin.ts";
import { Admin } from "./admin.ts";

export interface ServerSnapshot {
  /** "host:port" */
  readonly server: string;
  readonly up: boolean;
  /** The `version` reply, or "" when down. */
  readonly version: string;
  readonly status: readonly StatusRow[];
  /** The `workers` rows when asked for (`workers: true`), else empty. */
  readonly workers: readonly WorkerRow[];
  /** Why the server counts as down. */
  readonly error: string | null;
  /** Milliseconds the poll of this server took. */
  readonly elapsedMs: number;
  /** Date.now() when the poll finished. */
  readonly at: number;
}

/** Polls one server ("host:port" or "tls://host:port"); never rejects. */
export async function pollServer(server: string, options: PollOptions = {}): Promise<ServerSnapshot> {
  const { timeout, workers: askWorkers, tls } = resolvePollOptions(options);
  const started = performance.now();
  const admin = new Admin(server, {
    connectTimeout: timeout,
    commandTimeout: timeout,
    keepAlive: false,
    tls,
  });
  let deadline: ReturnType<typeof setTimeout> | undefined;
  try {
    const replies = Promise.all([admin.version(), admin.status(), askWorkers ? admin.workers() : Promise.resolve([])]);
    const expired = new Promise<never>((_, reject) => {
      deadline = setTimeout(() => reject(new Error(`no answer in ${timeout} ms`)), timeout);
    });
    const [version, status, workers] = await Promise.race([replies, expired]);
    replies.catch(() => {});
    return {
      server: admin.server,
      up: true,
      version,
      status,
      workers,
      error: null,
      elapsedMs: performance.now() - started,
      at: Date.now(),
    };
  } catch (error) {
    return {
      server: admin.server,
      up: false,
      version: "",
      status: [],
      workers: [],
      error: error instanceof Error ? error.message : String(error),
      elapsedMs: performance.now() - started,
      at: Date.now(),
    };
  } finally {
    clearTimeout(deadline);
    await admin.close().catch(() => {});
  }
}

/** Polls every server in parallel, in the order given; never rejects. */
export function pollCluster(servers: ServersInput, options: PollOptions = {}): Promise<ServerSnapshot[]> {
  return Promise.all(parseServers(servers).map((s) => pollServer(formatAddress(s), options)));
}

/** One function summed over the cluster, with each server's row. */
export interface FunctionTotals {
  readonly function: string;
  total: number;
  running: number;
  /** total − running */
  waiting: number;
  workers: number;
  /** Per server "host:port" → that server's row. */
  readonly servers: Map<string, StatusRow>;
}

/** Sums the `status` rows of the servers that are up, per function, sorted by name. */
export function sumFunctions(snapshots: readonly ServerSnapshot[]): FunctionTotals[] {
  const byName = new Map<string, FunctionTotals>();
  for (const snap of snapshots) {
    for (const row of snap.status) {
      let t = byName.get(row.function);
      if (t === undefined) {
        t = { function: row.function, total: 0, running: 0, waiting: 0, workers: 0, servers: new Map() };
        byName.set(row.function, t);
      }
      t.total += row.total;
      t.running += row.running;
      t.waiting += Math.max(0, row.total - row.running);
      t.workers += row.workers;
      t.servers.set(snap.server, row);
    }
  }
  return [...byName.values()].sort((a, b) => (a.function < b.function ? -1 : a.function > b.function ? 1 : 0));
}
