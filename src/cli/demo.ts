/** `gearbun demo`: the multi-server stall scenario, solved, on screen. */
import { runDemo } from "../demo/demo.ts";
import { DEMO_DEFAULTS } from "../options.ts";
import { type Command, flagLine, intFlag, str } from "./args.ts";

const d = DEMO_DEFAULTS;

export const demo: Command = {
  usage: `Usage: gearbun demo [--workers ${d.workers}] [--clients ${d.clients}] [--jobs ${d.jobs}] [--rounds ${d.rounds}] [--work-ms ${d.workMs}] [--servers LIST] [--naive]

Starts two embedded job servers (or uses --servers), worker processes connected to every
server, and clients submitting foreground jobs in rounds; prints a table of jobs per worker per
round and per server, and a verdict: did every worker receive jobs in every round?
${flagLine("--workers N", "worker processes", d.workers)}
${flagLine("--clients N", "clients", d.clients)}
${flagLine("--jobs N", "jobs per client per round", d.jobs)}
${flagLine("--rounds N", "rounds", d.rounds)}
${flagLine("--work-ms N", "simulated work per job, milliseconds", d.workMs)}
${flagLine("--servers LIST", "use these servers instead of embedded ones")}
${flagLine("--naive", "naive (python-gearman style) workers first, then gearbun's, on the")}
${flagLine("", "same servers, with the lost wake-up forced before round 3")}`,
  options: {
    workers: { type: "string" },
    clients: { type: "string" },
    jobs: { type: "string" },
    rounds: { type: "string" },
    "work-ms": { type: "string" },
    servers: { type: "string" },
    naive: { type: "boolean" },
  },
  async run(values) {
    const ok = await runDemo({
      workers: intFlag(values, "workers", d.workers),
      clients: intFlag(values, "clients", d.clients),
      jobs: intFlag(values, "jobs", d.jobs),
      rounds: intFlag(values, "rounds", d.rounds),
      workMs: intFlag(values, "work-ms", d.workMs, 0),
      servers: str(values.servers),
      naive: values.naive === true,
    });
    return ok ? 0 : 1;
  },
};
