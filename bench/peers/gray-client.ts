/**
 * gearbun foreground client for the gray-failure rows (bench/gray.ts):
 *
 *   bun bench/peers/gray-client.ts --servers A,B [--fn gray_fg] [--rate 100] [--seconds 10]
 *
 * Starts RATE submits a second for SECONDS without waiting for earlier ones (a server handling
 * requests does not wait for the last one), default options, no unique keys; then waits for every
 * one to end. Prints one JSON line: {"calls":[[start_epoch_ms, duration_ms, ok], ...]}.
 */
import { parseArgs } from "node:util";
import { Client } from "../../src/client/client.ts";

const { values } = parseArgs({
  options: {
    servers: { type: "string", default: "127.0.0.1:4730" },
    fn: { type: "string", default: "gray_fg" },
    rate: { type: "string", default: "100" },
    seconds: { type: "string", default: "10" },
  },
});
const rate = Math.max(1, Number(values.rate) || 100);
const seconds = Math.max(0.1, Number(values.seconds) || 10);
const client = new Client({ servers: values.servers });
await client.connect();
const calls: Promise<[number, number, number]>[] = [];
const step = 1000 / rate;
const end = Date.now() + seconds * 1000;
let next = Date.now();
while (Date.now() < end) {
  const wait = next - Date.now();
  if (wait > 0) await Bun.sleep(wait);
  const start = Date.now();
  next = start + step;
  const t0 = performance.now();
  calls.push(
    client.submit(values.fn, "x").then(
      (): [number, number, number] => [start, performance.now() - t0, 1],
      (): [number, number, number] => [start, performance.now() - t0, 0],
    ),
  );
}
const done = await Promise.all(calls);
process.stdout.write(`${JSON.stringify({ calls: done.map(([s, d, ok]) => [s, Math.round(d * 100) / 100, ok]) })}\n`);
await client.close();
process.exit(0);
