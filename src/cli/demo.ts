/** `gearbun demo`: the multi-server stall scenario, solved, on screen. */
import { GearmanError } from "../errors.ts";
import { DEMO_DEFAULTS } from "../options.ts";
import { type Command, flagLine, intFlag, str, UsageError } from "./args.ts";
import { CLIENT_SSL_OPTIONS, CLIENT_SSL_USAGE, clientTlsFlags } from "./client-tls.ts";

const d = DEMO_DEFAULTS;

/** The demo's code is in a clone and in the binary, not in the npm package (package.json `files`). */
async function loadDemo(): Promise<typeof import("../demo/demo.ts")> {
  try {
    return await import("../demo/demo.ts");
  } catch (error) {
    const why = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new UsageError(
      `the demo is not part of the installed package (${why}); run it from a clone or the gearbun binary`,
    );
  }
}

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
${flagLine("", "same servers, with the lost wake-up forced before round 3")}
${CLIENT_SSL_USAGE}`,
  options: {
    workers: { type: "string" },
    clients: { type: "string" },
    jobs: { type: "string" },
    rounds: { type: "string" },
    "work-ms": { type: "string" },
    servers: { type: "string" },
    naive: { type: "boolean" },
    ...CLIENT_SSL_OPTIONS,
  },
  async run(values) {
    const tls = clientTlsFlags(values);
    if (tls !== undefined && str(values.servers) === undefined) {
      throw new UsageError("--ssl needs --servers (the embedded job servers speak plaintext)");
    }
    const { runDemo } = await loadDemo();
    const run = runDemo({
      workers: intFlag(values, "workers", d.workers),
      clients: intFlag(values, "clients", d.clients),
      jobs: intFlag(values, "jobs", d.jobs),
      rounds: intFlag(values, "rounds", d.rounds),
      workMs: intFlag(values, "work-ms", d.workMs, 0),
      servers: str(values.servers),
      tls,
      naive: values.naive === true,
    });
    try {
      return (await run) ? 0 : 1;
    } catch (error) {
      // A worker process that could not start (it printed why on stderr): one line, exit 1.
      if (!(error instanceof Error) || error instanceof GearmanError) throw error;
      console.error(`gearbun demo: ${error.message.split("\n")[0]}`);
      return 1;
    }
  },
};
