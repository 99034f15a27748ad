/**
 * One naive demo worker process (python-gearman's wake-up logic, see naive-worker.ts), with the
 * same command line and output as worker-process.ts:
 * `bun naive-worker-process.ts SERVERS ID WORK_MS [FUNCTION] [HOLD_FUNCTION]`.
 * A held job, once released, also waits until every other server has stopped sending NOOPs (the
 * worker's last PRE_SLEEP there found no job), so the demo knows the race is over when the held
 * job's result arrives.
 */
import { NaiveWorker } from "./naive-worker.ts";
import { stdinReleases } from "./hold.ts";

const [servers = "", id = "W?", workMsText = "0", fn = "demo", holdFn] = process.argv.slice(2);
const workMs = Number(workMsText);
const hold = holdFn === undefined ? null : stdinReleases();

const worker: NaiveWorker = new NaiveWorker({
  servers: servers.split(","),
  functions: holdFn === undefined ? [fn] : [fn, holdFn],
  clientId: id,
  handler: async (job) => {
    if (hold !== null && job.functionName === holdFn) {
      console.log("holding");
      await hold();
      for (const other of worker.servers) {
        if (other !== job.server) await worker.settle(other).catch(() => {});
      }
      return `${id}|held`;
    }
    if (workMs > 0) await Bun.sleep(workMs);
    return `${id}|${new TextDecoder().decode(job.data)}`;
  },
});
await worker.start();
console.log("ready");

process.once("SIGTERM", () => {
  void worker.close().then(() => process.exit(0));
});
