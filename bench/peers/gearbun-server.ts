/**
 * gearbun's embedded job server as a process of its own, so the benchmark can measure its CPU
 * like gearmand's:
 *
 *   bun bench/peers/gearbun-server.ts [--port 0] [--count 1]
 *
 * Prints {"port":N} once it listens (with --count N > 1: N servers on free ports, {"ports":[...]});
 * on SIGTERM/SIGINT prints {"cpu_us","maxrss_kb"} and stops.
 */
import { parseArgs } from "node:util";
import { startServer } from "../../src/server/server.ts";

const { values } = parseArgs({
  options: { port: { type: "string", default: "0" }, count: { type: "string", default: "1" } },
});
const count = Math.max(1, Number(values.count) || 1);
const servers = [await startServer({ port: Number(values.port), host: "127.0.0.1" })];
for (let i = 1; i < count; i++) servers.push(await startServer({ port: 0, host: "127.0.0.1" }));
process.stdout.write(
  `${JSON.stringify(count === 1 ? { port: servers[0]!.port } : { ports: servers.map((s) => s.port) })}\n`,
);

let finishing = false;
async function finish(): Promise<void> {
  if (finishing) return;
  finishing = true;
  const cpu = process.cpuUsage();
  process.stdout.write(
    `${JSON.stringify({ cpu_us: cpu.user + cpu.system, maxrss_kb: Math.round(process.resourceUsage().maxRSS) })}\n`,
  );
  await Promise.allSettled(servers.map((s) => s.stop()));
  process.exit(0);
}
process.on("SIGTERM", () => void finish());
process.on("SIGINT", () => void finish());
