/**
 * The gateway's counters, written in the same exposition as the other endpoints (src/metrics):
 * requests by route, function and status; job-request latency per function; requests in flight;
 * event streams the HTTP client left; token reloads. The request path only bumps numbers.
 *
 * Function names come from callers, so the label set is bounded: past MAX_FUNCTIONS distinct
 * names, new ones are counted under `function="_other"`.
 */
import { DURATION_BUCKETS, Exposition, Histogram, type Sample } from "../metrics/exposition.ts";
import { writeProcessMetrics } from "../metrics/process.ts";

export const MAX_FUNCTIONS = 500;
const OTHER = "_other";

/** The route a request matched, as the `route` label. */
export type RouteName = "job" | "events" | "status" | "healthz" | "metrics" | "openapi" | "none";

export class GatewayMetrics {
  private readonly requests = new Map<string, { route: string; fn: string; status: number; n: number }>();
  private readonly latency = new Map<string, Histogram>();
  private readonly functions = new Set<string>();
  inFlight = 0;
  streamsAbandoned = 0;
  reloads = { ok: 0, error: 0 };
  tokens = 0;

  /** The label value for `fn`: itself, or `_other` once the label set is full. */
  private label(fn: string): string {
    if (this.functions.has(fn)) return fn;
    if (this.functions.size >= MAX_FUNCTIONS) return OTHER;
    this.functions.add(fn);
    return fn;
  }

  request(route: RouteName, fn: string, status: number): void {
    const f = fn === "" ? "" : this.label(fn);
    const key = `${route}\0${f}\0${status}`;
    const row = this.requests.get(key);
    if (row === undefined) this.requests.set(key, { route, fn: f, status, n: 1 });
    else row.n++;
  }

  /** A job request's time from arrival to its last byte (the end of an event stream). */
  observe(fn: string, seconds: number): void {
    const f = this.label(fn);
    let h = this.latency.get(f);
    if (h === undefined) {
      h = new Histogram(DURATION_BUCKETS);
      this.latency.set(f, h);
    }
    h.observe(seconds);
  }

  text(): string {
    const out = new Exposition();
    const requests: Sample[] = [];
    for (const r of this.requests.values()) {
      requests.push({ labels: { route: r.route, function: r.fn, status: String(r.status) }, value: r.n });
    }
    out.counter("gearbun_gateway_requests_total", "HTTP requests answered, by route, function and status.", requests);
    out.histogram(
      "gearbun_gateway_request_duration_seconds",
      "Job requests from arrival to the last byte of the answer, by function.",
      [...this.latency].map(([fn, histogram]) => ({ labels: { function: fn }, histogram })),
    );
    out.gauge("gearbun_gateway_in_flight_requests", "Job requests whose job has not ended.", [
      { value: this.inFlight },
    ]);
    out.counter(
      "gearbun_gateway_streams_abandoned_total",
      "Event streams the HTTP client closed before the job ended (the job itself runs on).",
      [{ value: this.streamsAbandoned }],
    );
    out.gauge("gearbun_gateway_tokens", "Bearer tokens loaded (0 with authentication off).", [{ value: this.tokens }]);
    out.counter("gearbun_gateway_token_reloads_total", "Token reloads, by result.", [
      { labels: { result: "ok" }, value: this.reloads.ok },
      { labels: { result: "error" }, value: this.reloads.error },
    ]);
    writeProcessMetrics(out);
    return out.text();
  }
}
