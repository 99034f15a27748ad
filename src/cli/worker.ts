/** `gearbun worker FILE.ts`: runs the handlers a module exports until SIGINT/SIGTERM. */
import { parseServers } from "../connection/servers.ts";
import { WORKER_DEFAULTS } from "../options.ts";
import type { JobHandler } from "../worker/job.ts";
import { Worker } from "../worker/worker.ts";
import { type Command, flagLine, intFlag, SERVERS_FLAG, str, UsageError, untilSignal } from "./args.ts";

export const worker: Command = {
  usage: `Usage: gearbun worker FILE.ts [--servers LIST] [--concurrency N] [--client-id ID]

Runs the handlers FILE exports by default: { functionName: async (job) => result, ... }.
SIGINT/SIGTERM stop it gracefully (running jobs finish first).
${SERVERS_FLAG}
${flagLine("--concurrency N", "jobs running at once", WORKER_DEFAULTS.concurrency)}
${flagLine("--client-id ID", 'SET_CLIENT_ID shown by "gearadmin --workers"')}`,
  options: { servers: { type: "string" }, concurrency: { type: "string" }, "client-id": { type: "string" } },
  async run(values, positionals) {
    const file = positionals[0];
    if (!file) throw new UsageError("worker needs a FILE.ts whose default export maps function names to handlers");
    const concurrency = intFlag(values, "concurrency", WORKER_DEFAULTS.concurrency);
    const handlers = await loadHandlers(file);
    const worker = new Worker({ servers: str(values.servers), concurrency, clientId: str(values["client-id"]) });
    for (const [name, handler] of Object.entries(handlers)) {
      if (typeof handler !== "function") throw new UsageError(`${file}: export "${name}" is not a function`);
      worker.register(name, handler as JobHandler);
    }
    await worker.start();
    const servers = parseServers(str(values.servers)).map((s) => s.key);
    console.log(`gearbun worker: ${Object.keys(handlers).join(", ")} on ${servers.join(", ")}`);
    const signal = await untilSignal();
    console.log(`${signal}: finishing running jobs`);
    await worker.stop();
    return 0;
  },
};

/** The default export of `file` (a path relative to the working directory), as an object. */
async function loadHandlers(file: string): Promise<object> {
  let mod: { default?: unknown };
  try {
    const path = Bun.resolveSync(file.startsWith(".") || file.startsWith("/") ? file : `./${file}`, process.cwd());
    mod = await import(Bun.pathToFileURL(path).href);
  } catch (error) {
    throw new UsageError(
      `cannot load ${file}: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`,
    );
  }
  const handlers = mod.default;
  if (typeof handlers !== "object" || handlers === null) {
    throw new UsageError(`${file} must export default an object of function name → handler`);
  }
  return handlers;
}
