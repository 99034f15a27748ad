/**
 * One demo worker process: `bun worker-process.ts SERVERS ID WORK_MS`. It registers `demo`,
 * which waits WORK_MS (simulated work) and answers "ID|payload", so the demo can tell which
 * worker ran each job and check the result. Prints "ready" once connected to every server.
 */
import { Worker } from "../worker/worker.ts";

const [servers = "", id = "W?", workMsText = "0"] = process.argv.slice(2);
const workMs = Number(workMsText);

const worker = new Worker({ servers, concurrency: 1, clientId: id });
worker.register("demo", async (job) => {
  if (workMs > 0) await Bun.sleep(workMs);
  return `${id}|${job.text()}`;
});
await worker.start();
const want = servers.split(",").length;
while (worker.stats().servers.filter((s) => s.state === "ready").length < want) await Bun.sleep(10);
console.log("ready");

process.once("SIGTERM", () => {
  void worker.stop().then(() => process.exit(0));
});
