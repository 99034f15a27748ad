/**
 * `gearbun worker --metrics`: the supervisor sums its children's reports (see worker.ts) and
 * serves them. /healthz is 200 when every child serving a slot is registered on at least one
 * job server, else 503 with the first child that is not.
 */
import type { Pool } from "../pool/supervisor.ts";
import { type Health, type HttpEndpoint, serveHttp } from "./http.ts";
import { PoolMetrics } from "./worker.ts";

/** Collects `pool`'s stats events (start the pool with `statsInterval` > 0). */
export function collectPoolMetrics(pool: Pool): PoolMetrics {
  const metrics = new PoolMetrics();
  pool.on("stats", ({ pid, stats }) => metrics.update(pid, stats));
  pool.on("child:exit", ({ pid }) => metrics.retire(pid));
  return metrics;
}

export function poolHealth(pool: Pool, metrics: PoolMetrics): Health {
  const serving = pool.children().filter((c) => c.current);
  if (serving.length === 0) return { ok: false, reason: "no worker process is running" };
  for (const c of serving) {
    if (c.state !== "ready") return { ok: false, reason: `process ${c.index} (pid ${c.pid}) is ${c.state}` };
    const stats = metrics.latest(c.pid);
    if (stats !== undefined && !Object.values(stats.servers).some((s) => s.up)) {
      return { ok: false, reason: `process ${c.index} (pid ${c.pid}) is connected to no job server` };
    }
  }
  return { ok: true, reason: `${serving.length} process(es) registered` };
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
