// Echo worker on the npm library `gearmanode`: one worker on all servers. The library's own loop:
// CAN_DO + PRE_SLEEP; NOOP → GRAB_JOB; WORK_COMPLETE then PRE_SLEEP. `--concurrency` is ignored.
import { createRequire } from "node:module";
import { counter, peerArgs, reportOnExit } from "./common.mjs";

const { servers, fn } = peerArgs();
reportOnExit("gearmanode-worker");

// gearmanode logs through winston (today's winston 3, which has no default transport and prints a
// warning per message). Silence its loggers before loading it, as a user would.
const requireHere = createRequire(import.meta.url);
const winston = createRequire(requireHere.resolve("gearmanode"))("winston");
winston.configure({ silent: true });
for (const name of ["Client", "JobServer", "Worker", "Job", "LBStrategy", "protocol"]) {
  winston.loggers.get(name).silent = true;
}
const gearmanode = requireHere("gearmanode");

const worker = gearmanode.worker({ servers });
worker.on("error", (error) => {
  process.stderr.write(`gearmanode-worker: ${error?.message ?? error}\n`);
  process.exit(1);
});
worker.addFunction(fn, (job) => {
  counter.jobs++;
  job.workComplete(job.payload);
});
