/**
 * gearbun echo worker for the benchmark (bench/throughput.ts):
 *
 *   bun bench/peers/gearbun-worker.ts --servers 127.0.0.1:4730[,...] [--fn echo] [--concurrency 16] [--sleep-ms 0]
 *     [--heartbeat MS]
 *
 * Answers each job with its own payload (the Uint8Array view the worker hands over: no copy);
 * with --sleep-ms, after that long (a job that takes time: bench/gray.ts). On
 * SIGTERM/SIGINT prints one JSON line {"jobs","cpu_us","maxrss_kb","packets"}, stops gracefully
 * and exits; `packets` is { received, sent } by packet name, summed over the servers.
 */
import { parseArgs } from "node:util";
import { Worker } from "../../src/worker/worker.ts";

const { values } = parseArgs({
  options: {
    servers: { type: "string", default: "127.0.0.1:4730" },
    fn: { type: "string", default: "echo" },
    concurrency: { type: "string", default: "1" },
    id: { type: "string" },
    "sleep-ms": { type: "string", default: "0" },
    /** heartbeatInterval in ms (0: off); default: the library's. */
    heartbeat: { type: "string" },
  },
});
const sleepMs = Math.max(0, Number(values["sleep-ms"]) || 0);

let jobs = 0;
const worker = new Worker({
  servers: values.servers,
  concurrency: Math.max(1, Number(values.concurrency) || 1),
  ...(values.id !== undefined ? { clientId: values.id } : {}),
  ...(values.heartbeat !== undefined ? { heartbeatInterval: Number(values.heartbeat) } : {}),
});
worker.register(
  values.fn,
  sleepMs > 0
    ? async (job) => {
        await Bun.sleep(sleepMs);
        jobs++;
        return job.payload;
      }
    : (job) => {
        jobs++;
        return job.payload;
      },
);

let finishing = false;
async function finish(code: number): Promise<void> {
  if (finishing) return;
  finishing = true;
  const cpu = process.cpuUsage();
  const packets = { received: {} as Record<string, number>, sent: {} as Record<string, number> };
  for (const server of worker.stats().servers) {
    for (const [name, n] of Object.entries(server.packets.received))
      packets.received[name] = (packets.received[name] ?? 0) + n;
    for (const [name, n] of Object.entries(server.packets.sent)) packets.sent[name] = (packets.sent[name] ?? 0) + n;
  }
  const report = {
    jobs,
    cpu_us: cpu.user + cpu.system,
    maxrss_kb: Math.round(process.resourceUsage().maxRSS),
    packets,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  await worker.stop({ deadline: 1000 }).catch(() => {});
  process.exit(code);
}
process.on("SIGTERM", () => void finish(0));
process.on("SIGINT", () => void finish(0));

try {
  await worker.start();
} catch (error) {
  console.error(`gearbun-worker: ${error instanceof Error ? error.message : String(error)}`);
  await finish(1);
}
