/**
 * gearbun load generator for the benchmark (bench/throughput.ts), the counterpart of submitter.c:
 *
 *   bun bench/peers/gearbun-submitter.ts --servers H:P[,...] [--fn echo] [--jobs N] [--bytes B]
 *                                        [--window IN_FLIGHT] [--background]
 *                                        [--burst] [--max-in-flight M] [--warmup W]
 *
 * Keeps IN_FLIGHT submissions outstanding (each settled one starts the next) until N jobs are done:
 * foreground jobs must come back with B bytes; background jobs are done at JOB_CREATED. With
 * --burst, every submit is made in one synchronous loop that awaits none (a bulk enqueue), the
 * client's `maxInFlight` set to M (0: no limit). The connections are up before the clock starts.
 * Prints one JSON line {"mode","jobs","ok","failed","elapsed_ms","cpu_us","maxrss_kb","rss_start_kb"}
 * (cpu_us: CPU while the clock ran; rss_start_kb: resident memory when it started), with --burst
 * also "rss_pending_kb" (resident memory when the loop ended: every submit made, none answered —
 * replies are only read once it returns); exits 1 on any failure. With --warmup, W jobs of the same kind run first, before the clock starts (not with
 * --burst): a client in production is a long-lived process, not one whose JIT is still warming up.
 */
import { parseArgs } from "node:util";
import { Client } from "../../src/client/client.ts";

const { values } = parseArgs({
  options: {
    servers: { type: "string", default: "127.0.0.1:4730" },
    fn: { type: "string", default: "echo" },
    jobs: { type: "string", default: "10000" },
    bytes: { type: "string", default: "16" },
    window: { type: "string", default: "1000" },
    background: { type: "boolean", default: false },
    burst: { type: "boolean", default: false },
    "max-in-flight": { type: "string", default: "0" },
    warmup: { type: "string", default: "0" },
  },
});
const warmup = values.burst ? 0 : Math.max(0, Number(values.warmup) || 0);
const total = Number(values.jobs);
const size = Number(values.bytes);
const window = Math.max(1, Number(values.window));
const background = values.background;
const fn = values.fn;
const payload = new Uint8Array(size);
for (let i = 0; i < size; i++) payload[i] = 97 + (i % 26);

const burst = values.burst;
const client = new Client({ servers: values.servers, maxInFlight: Number(values["max-in-flight"]) });
await client.connect();
const servers = values.servers.split(",").length;
// Every server up before the clock starts (submits are spread over the live ones).
for (let i = 0; i < 200 && client.servers().filter((s) => s.state === "ready").length < servers; i++)
  await Bun.sleep(10);

let submitted = 0;
let ok = 0;
let failed = 0;
let firstError: unknown = null;
/** Jobs in the current phase (the warm-up, then the measured run). */
let phase = warmup;
let { promise: allDone, resolve: finished } = Promise.withResolvers<void>();

const settle = (good: boolean, error?: unknown): void => {
  if (good) ok++;
  else {
    failed++;
    firstError ??= error;
  }
  if (ok + failed === phase) finished();
  else if (submitted < phase) next();
};
const onResult = (result: Uint8Array): void => settle(result.byteLength === size, `echoed ${result.byteLength} bytes`);
const onCreated = (): void => settle(true);
const onError = (error: unknown): void => settle(false, error);

function next(): void {
  submitted++;
  if (background) client.submitBackground(fn, payload).then(onCreated, onError);
  else client.submit(fn, payload).then(onResult, onError);
}

if (warmup > 0) {
  while (submitted < phase && submitted < window) next();
  await allDone;
  if (failed > 0) {
    console.error(
      `gearbun-submitter: warm-up failed: ${firstError instanceof Error ? firstError.message : String(firstError)}`,
    );
    process.exit(1);
  }
  submitted = ok = 0;
  ({ promise: allDone, resolve: finished } = Promise.withResolvers<void>());
}
phase = total;
Bun.gc(true);
const rssStart = process.memoryUsage().rss;
const cpuStart = process.cpuUsage();
const start = performance.now();
if (total === 0) finished();
let rssPending: number | undefined;
if (burst) {
  // A bulk enqueue: nothing settles (and so nothing starts another submit) until the loop ends.
  submitted = total;
  for (let i = 0; i < total; i++) {
    if (background) client.submitBackground(fn, payload).then(onCreated, onError);
    else client.submit(fn, payload).then(onResult, onError);
  }
  rssPending = process.memoryUsage().rss;
} else {
  while (submitted < total && submitted < window) next();
}
await allDone;
const elapsed = performance.now() - start;
const cpu = process.cpuUsage(cpuStart);
console.log(
  JSON.stringify({
    mode: background ? "background" : "foreground",
    jobs: total,
    ok,
    failed,
    elapsed_ms: Math.round(elapsed * 1000) / 1000,
    cpu_us: cpu.user + cpu.system,
    maxrss_kb: Math.round(process.resourceUsage().maxRSS),
    rss_start_kb: Math.round(rssStart / 1024),
    ...(rssPending === undefined ? {} : { rss_pending_kb: Math.round(rssPending / 1024) }),
  }),
);
if (firstError !== null)
  console.error(
    `gearbun-submitter: first failure: ${firstError instanceof Error ? firstError.message : String(firstError)}`,
  );
await client.close();
process.exit(failed === 0 ? 0 : 1);
