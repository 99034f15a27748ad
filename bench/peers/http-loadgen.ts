/**
 * A bounded HTTP load generator for the gateway rows (bench/gateway.ts):
 *
 *   bun bench/peers/http-loadgen.ts --url http://127.0.0.1:P/jobs/echo --concurrency 64 --requests 5000 [--warm 1000]
 *
 * `concurrency` lanes, each POSTing a 16-byte body and sending its next request once the answer
 * is read (fetch keeps the connections alive). `warm` requests first, unmeasured; then
 * `requests` measured ones. Prints one JSON line {"seconds","p50Ms","p99Ms","errors"} and exits.
 * Loopback only, and it stops by itself after its requests.
 */
import { parseArgs } from "node:util";

/** p50 and p99 of latencies in milliseconds (nearest rank). */
export function percentiles(ms: number[]): { p50Ms: number; p99Ms: number } {
  if (ms.length === 0) return { p50Ms: Number.NaN, p99Ms: Number.NaN };
  const s = ms.toSorted((a, b) => a - b);
  const at = (p: number): number => s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
  return { p50Ms: at(50), p99Ms: at(99) };
}

async function load(url: string, c: number, n: number, latencies: number[] | null): Promise<number> {
  const body = new Uint8Array(16).fill(97);
  let next = 0;
  let errors = 0;
  const lane = async (): Promise<void> => {
    while (next < n) {
      next++;
      const t0 = performance.now();
      try {
        const r = await fetch(url, { method: "POST", body });
        const got = await r.arrayBuffer();
        if (r.status !== 200 || got.byteLength !== 16) errors++;
      } catch {
        errors++;
      }
      latencies?.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: c }, lane));
  return errors;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      url: { type: "string" },
      concurrency: { type: "string", default: "1" },
      requests: { type: "string", default: "1000" },
      warm: { type: "string", default: "0" },
    },
  });
  const url = values.url ?? "";
  if (!url.startsWith("http://127.0.0.1:")) throw new Error(`--url must be on http://127.0.0.1, got "${url}"`);
  const c = Number(values.concurrency);
  await load(url, c, Number(values.warm), null);
  const latencies: number[] = [];
  const t0 = performance.now();
  const errors = await load(url, c, Number(values.requests), latencies);
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(`${JSON.stringify({ seconds, ...percentiles(latencies), errors })}\n`);
  process.exit(0);
}
