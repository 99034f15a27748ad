/**
 * Metrics of the embedded server, read from the server itself (no admin round trip): the
 * gearman_* families the community exporter established (no `server` label: the endpoint is the
 * server), then the server's own counters and the process metrics.
 */
import type { EmbeddedServer } from "../server/server.ts";
import { Exposition, type Sample } from "./exposition.ts";
import { writeGearmanMetrics } from "./gearman.ts";
import { type HttpEndpoint, type HttpEndpointOptions, serveHttp } from "./http.ts";
import { writeProcessMetrics } from "./process.ts";

const OUTCOMES = ["complete", "fail", "exception"] as const;

/** The exposition for one scrape of `server`. */
export function serverExposition(server: EmbeddedServer): string {
  const m = server.metrics();
  const out = new Exposition();
  writeGearmanMetrics(
    out,
    [
      {
        server: server.address,
        up: true,
        version: m.version,
        status: m.status,
        workers: [],
        error: null,
        elapsedMs: 0,
        at: Date.now(),
      },
    ],
    false,
  );
  const submitted: Sample[] = [];
  const ended: Sample[] = [];
  for (const [fn, c] of m.counters) {
    submitted.push({ labels: { function: fn }, value: c.submitted });
    for (const outcome of OUTCOMES) ended.push({ labels: { function: fn, outcome }, value: c[outcome] });
  }
  out.counter(
    "gearman_server_jobs_submitted_total",
    "Jobs created by submits (coalesced submits not counted).",
    submitted,
  );
  out.counter(
    "gearman_server_jobs_ended_total",
    "Jobs ended, by the worker's result (fail also: retries exhausted).",
    ended,
  );
  out.gauge("gearman_server_connections", "Open connections (clients, workers, admin).", [{ value: m.connections }]);
  out.counter("gearman_server_connections_total", "Connections accepted since the start.", [
    { value: m.connectionsTotal },
  ]);
  out.gauge("gearman_server_jobs", "Live jobs (queued, scheduled, running).", [{ value: m.jobs }]);
  out.gauge("gearman_server_pending_output_bytes", "Reply bytes not yet taken by the kernel.", [
    { value: m.pendingOutput },
  ]);
  writeProcessMetrics(out);
  return out.text();
}

/** Serves /metrics and /healthz for an embedded server (healthy while it listens). */
export function serveServerMetrics(
  server: EmbeddedServer,
  listen: string,
  extra: Pick<HttpEndpointOptions, "routes"> = {},
): HttpEndpoint {
  return serveHttp({
    listen,
    option: "--metrics",
    metrics: () => serverExposition(server),
    health: () => ({ ok: true, reason: `listening on ${server.address}` }),
    ...extra,
  });
}
