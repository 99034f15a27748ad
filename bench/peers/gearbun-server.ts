/**
 * gearbun's embedded job server as a process of its own, so the benchmark can measure its CPU
 * like gearmand's:
 *
 *   bun bench/peers/gearbun-server.ts [--port 0]
 *
 * Prints {"port":N} once it listens; on SIGTERM/SIGINT prints {"cpu_us","maxrss_kb"} and stops.
 */
import { parseArgs } from "node:util";
import { startServer } from "../../src/server/server.ts";

const { values } = parseArgs({ options: { port: { type: "string", default: "0" } } });
const server = await startServer({ port: Number(values.port), host: "127.0.0.1" });
process.stdout.write(`${JSON.stringify({ port: server.port })}\n`);

let finishing = false;
async function finish(): Promise<void> {
  if (finishing) return;
  finishing = true;
  const cpu = process.cpuUsage();
  process.stdout.write(
    `${JSON.stringify({ cpu_us: cpu.user + cpu.system, maxrss_kb: Math.round(process.resourceUsage().maxRSS) })}\n`,
  );
  await server.stop().catch(() => {});
  process.exit(0);
}
process.on("SIGTERM", () => void finish());
process.on("SIGINT", () => void finish());
