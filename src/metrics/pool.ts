/**
 * `gearbun worker --metrics`: the supervisor sums its children's reports (see worker.ts) and
 * serves them. /healthz is 200 when every child serving a slot is registered on at least one
 * job server, else 503 with the first child that is not.
 */
import type { Pool } from "../pool/supervisor.ts";
import { type Health, type HttpEndpoint, serveHttp } from "./http.ts";
import { PoolMetrics } from "./worker.ts";
import { HEARTBEAT_INTERVAL } from "../options.ts";

/** Collects `pool`'s stats events (start the pool with `statsInterval` > 0). */
export function collectPoolMetrics(pool: Pool): PoolMetrics {
  const metrics = new PoolMetrics();
  pool.on("stats", ({ pid, stats }) => metrics.update(pid, stats));
  pool.on("child:exit", ({ pid }) => metrics.retire(pid));
  return metrics;
}

/** A child silent this long (it reports every second) makes the pool unhealthy. */
const SILENT_MS = 3 * HEARTBEAT_INTERVAL;

export function poolHealth(pool: Pool, metrics: PoolMetrics): Health {
  if (pool.state !== "running") return { ok: false, reason: `the pool is ${pool.state}` };
  const groups = [...pool.capacity()];
  for (const [group, c] of groups) {
    if (c.registered < c.configured) {
      return { ok: false, reason: `${group}: ${c.registered} of ${c.configured} processes registered` };
    }
  }
  const serving = pool.children().filter((c) => c.current);
  for (const c of serving) {
    if (c.silentMs > SILENT_MS) {
      return { ok: false, reason: `process ${c.index} (pid ${c.pid}) has sent nothing for ${c.silentMs} ms` };
    }
    const stats = metrics.latest(c.pid);
    if (stats !== undefined && !Object.values(stats.servers).some((s) => s.up)) {
      return { ok: false, reason: `process ${c.index} (pid ${c.pid}) is connected to no job server` };
    }
  }
  return {
    ok: true,
    reason: groups.map(([group, c]) => `${group}: ${c.registered} of ${c.configured} registered`).join(", "),
  };
}

/** Serves /metrics and /healthz for a pool. */
export function servePoolMetrics(pool: Pool, listen: string): HttpEndpoint {
  const metrics = collectPoolMetrics(pool);
  return serveHttp({
    listen,
    option: "--metrics",
    metrics: () => metrics.exposition(pool.children().filter((c) => c.state !== "exited").length),
    health: () => poolHealth(pool, metrics),
  });
}
