/**
 * One demo worker process: `bun worker-process.ts SERVERS ID WORK_MS [FUNCTION] [HOLD_FUNCTION]`.
 * It registers FUNCTION (default `demo`), which waits WORK_MS (simulated work) and answers
 * "ID|payload", so the demo can tell which worker ran each job and check the result. Prints
 * "ready" once connected to every server. With HOLD_FUNCTION, a job of that function prints
 * "holding" and returns "ID|held" once "release" arrives on stdin (see hold.ts).
 */
import { Worker } from "../worker/worker.ts";
import { stdinReleases } from "./hold.ts";

const [servers = "", id = "W?", workMsText = "0", fn = "demo", holdFn] = process.argv.slice(2);
const workMs = Number(workMsText);

const worker = new Worker({ servers, concurrency: 1, clientId: id });
worker.register(fn, async (job) => {
  if (workMs > 0) await Bun.sleep(workMs);
  return `${id}|${job.text()}`;
});
if (holdFn !== undefined) {
  const hold = stdinReleases();
  worker.register(holdFn, async () => {
    console.log("holding");
    await hold();
    return `${id}|held`;
  });
}
try {
  await worker.start();
} catch (error) {
  console.error(`worker ${id}: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
const want = servers.split(",").length;
while (worker.stats().servers.filter((s) => s.state === "ready").length < want) await Bun.sleep(10);
console.log("ready");

process.once("SIGTERM", () => {
  void worker.stop().then(() => process.exit(0));
});
