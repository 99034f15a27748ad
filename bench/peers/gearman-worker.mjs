// Echo worker on the npm library `gearman` (one server per instance: one instance per server).
// The loop is the protocol's own: GRAB_JOB; JOB_ASSIGN → WORK_COMPLETE then GRAB_JOB again;
// NO_JOB → PRE_SLEEP; NOOP → GRAB_JOB. `--concurrency` is ignored (the library runs one job).
import gearman from "gearman";
import { counter, peerArgs, reportOnExit } from "./common.mjs";

const { servers, fn } = peerArgs();
reportOnExit("gearman-worker");

for (const { host, port } of servers) {
  const worker = gearman(host, port);
  worker.on("JOB_ASSIGN", (job) => {
    worker.sendWorkComplete(job.handle, job.payload);
    counter.jobs++;
    worker.grabJob();
  });
  worker.on("NO_JOB", () => worker.preSleep());
  worker.on("NOOP", () => worker.grabJob());
  worker.on("error", (error) => {
    process.stderr.write(`gearman-worker: ${host}:${port}: ${error?.message ?? error}\n`);
    process.exit(1);
  });
  worker.connect(() => {
    worker.addFunction(fn);
    worker.grabJob();
  });
}
