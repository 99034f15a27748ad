/**
 * The Bun floor for a client: the least a client written for Bun can do per foreground job, to
 * tell what gearbun's client costs from what the runtime costs. One server, SUBMIT_JOB with an
 * empty unique, count JOB_CREATED and WORK_COMPLETE; no handles kept, no timeouts, no reconnect,
 * no errors handled beyond exiting. Not a usable client — a reference row for the benchmark.
 *
 *   bun bench/peers/floor-submitter.ts --servers H:P [--fn echo] [--jobs N] [--bytes B] [--window W]
 *                                      [--warmup M]
 *
 * Prints the same JSON line as gearbun-submitter.ts {"mode","jobs","ok","failed","elapsed_ms",
 * "cpu_us","maxrss_kb"} (cpu_us: CPU while the clock ran) and exits 1 on any failure. With --warmup,
 * M jobs run first and the clock starts when they are done.
 */
import { parseArgs } from "node:util";
import { frameReader, requestPacket } from "./floor-frames.ts";

const { values } = parseArgs({
  options: {
    servers: { type: "string", default: "127.0.0.1:4730" },
    fn: { type: "string", default: "echo" },
    jobs: { type: "string", default: "10000" },
    bytes: { type: "string", default: "16" },
    window: { type: "string", default: "1" },
    warmup: { type: "string", default: "0" },
  },
});
const warmup = Math.max(0, Number(values.warmup) || 0);
const measured = Number(values.jobs);
/** Jobs over both phases; the figures count the measured ones only. */
const total = warmup + measured;
const size = Number(values.bytes);
const window = Math.max(1, Number(values.window));
const address = values.servers.split(",")[0]!;
const colon = address.lastIndexOf(":");

const SUBMIT_JOB = 7;
const WORK_COMPLETE = 13;
const WORK_FAIL = 14;
const WORK_EXCEPTION = 25;

const fnBytes = new TextEncoder().encode(values.fn);
// function \0 unique (empty) \0 payload: the same bytes for every job.
const body = new Uint8Array(fnBytes.length + 2 + size);
body.set(fnBytes);
for (let i = 0; i < size; i++) body[fnBytes.length + 2 + i] = 97 + (i % 26);
const SUBMIT = requestPacket(SUBMIT_JOB, body);

let submitted = 0;
let ok = 0;
let failed = 0;
let start = 0;
let cpuStart = process.cpuUsage();

function report(): void {
  const elapsed = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  console.log(
    JSON.stringify({
      mode: "foreground",
      jobs: measured,
      ok: ok - warmup,
      failed,
      elapsed_ms: Math.round(elapsed * 1000) / 1000,
      cpu_us: cpu.user + cpu.system,
      maxrss_kb: Math.round(process.resourceUsage().maxRSS),
    }),
  );
  process.exit(failed === 0 ? 0 : 1);
}

/** Results counted in the current chunk: each starts the next submit. */
let more = 0;
const read = frameReader((type, buf, from, to) => {
  if (type === WORK_COMPLETE) {
    // handle \0 payload: the payload must come back whole.
    const handleEnd = buf.indexOf(0, from);
    if (to - handleEnd - 1 === size) ok++;
    else failed++;
    more++;
  } else if (type === WORK_FAIL || type === WORK_EXCEPTION) {
    failed++;
    more++;
  }
});

await Bun.connect({
  hostname: address.slice(0, colon),
  port: Number(address.slice(colon + 1)),
  socket: {
    open(socket) {
      if (warmup === 0) {
        cpuStart = process.cpuUsage();
        start = performance.now();
      }
      if (total === 0) report();
      const first = Math.min(window, total);
      for (let i = 0; i < first; i++) socket.write(SUBMIT);
      submitted = first;
    },
    data(socket, chunk) {
      more = 0;
      read(chunk);
      if (ok + failed === total) report();
      if (warmup > 0 && start === 0 && ok + failed >= warmup) {
        if (failed > 0) process.exit(1);
        cpuStart = process.cpuUsage();
        start = performance.now();
      }
      for (; more > 0 && submitted < total; more--, submitted++) socket.write(SUBMIT);
    },
    close() {
      if (ok + failed < total) process.exit(1);
    },
    error() {
      process.exit(1);
    },
  },
});
