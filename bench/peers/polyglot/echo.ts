// The polyglot rows' trivial handler in TypeScript, run in the worker process itself.
import type { Job } from "../../../src/worker/handler.ts";

export default { poly: (job: Job) => job.payload };
