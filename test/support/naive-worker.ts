/**
 * The naive (python-gearman-style) worker for tests: the class lives in src/demo/naive-worker.ts
 * (the demo ships it); this file re-exports it and keeps a process mode for poking at it by hand:
 *
 *   bun test/support/naive-worker.ts --servers H:P,H:P --function f [--function g] [--id W3] [--work-ms 50]
 *
 * prints one JSON line per event on stdout (`ready`, `noop`, `grab`, `pre_sleep`, `no_job`,
 * `job`, `complete`, `disconnected`; a `started` line once every connection is asleep on its
 * server) and stops on SIGTERM / SIGINT.
 */
import { NaiveWorker } from "../../src/demo/naive-worker.ts";

export { NaiveWorker } from "../../src/demo/naive-worker.ts";
export type { NaiveEvent, NaiveEventType, NaiveJob, NaiveWorkerOptions } from "../../src/demo/naive-worker.ts";

/** Command line: see the header comment. */
async function main(argv: string[]): Promise<void> {
  const servers: string[] = [];
  const functions: string[] = [];
  let id = `naive-${process.pid}`;
  let workMs = 0;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`missing value after ${flag}`);
    i++;
    if (flag === "--servers") servers.push(...value.split(","));
    else if (flag === "--function") functions.push(value);
    else if (flag === "--id") id = value;
    else if (flag === "--work-ms") workMs = Number(value);
    else throw new Error(`unknown flag ${flag} (expected --servers, --function, --id, --work-ms)`);
  }
  if (servers.length === 0 || functions.length === 0) throw new Error("need --servers H:P[,H:P] and --function NAME");
  const worker = new NaiveWorker({
    servers,
    functions,
    clientId: id,
    handler: async (job) => {
      if (workMs > 0) await Bun.sleep(workMs);
      return job.data;
    },
    onEvent: (e) => process.stdout.write(`${JSON.stringify(e)}\n`),
  });
  const stop = (): void => {
    void worker.close().then(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  await worker.start();
  // Every connection is asleep on its server from here on.
  process.stdout.write(`${JSON.stringify({ type: "started", worker: id, servers: worker.servers, at: Date.now() })}\n`);
}

if (import.meta.main) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
