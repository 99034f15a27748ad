#!/usr/bin/env bun
/**
 * The `gearbun` command: subcommands over the library. No library logic lives here — each
 * subcommand parses its flags, calls the public API, prints, and sets the exit code.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { Admin } from "../admin/admin.ts";
import { Client } from "../client/client.ts";
import { GearmanError } from "../errors.ts";
import { parseServers } from "../connection/servers.ts";
import { startServer } from "../server/server.ts";
import { Worker } from "../worker/worker.ts";
import type { JobHandler } from "../worker/job.ts";
import { runDemo } from "../demo/demo.ts";

const USAGE = `gearbun — a Bun-native Gearman runtime

Usage: gearbun <command> [options]

Commands:
  server   run an embedded gearmand-compatible job server
  worker   run the handlers a TypeScript file exports
  submit   submit a job and print its result
  status   show the admin status of every server
  demo     two job servers, 8 workers, 2 clients: the multi-server stall, solved

Run "gearbun <command> --help" for a command's options.
Servers default to $GEARMAN_SERVERS, else 127.0.0.1:4730.
`;

interface Command {
  usage: string;
  options: NonNullable<ParseArgsConfig["options"]>;
  run(values: Flags, positionals: string[]): Promise<number>;
}

type Flags = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** A usage error: printed as one line, exit code 2. */
class UsageError extends Error {}

function intFlag(values: Record<string, unknown>, name: string, fallback: number, min = 1): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${name} must be an integer >= ${min}, got "${String(raw)}"`);
  return n;
}

const str = (v: Flags[string]): string | undefined => (typeof v === "string" ? v : undefined);

async function readStdin(): Promise<Uint8Array> {
  return new Uint8Array(await Bun.stdin.arrayBuffer());
}

/** Resolves when SIGINT or SIGTERM arrives. */
function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
}

const commands: Record<string, Command> = {
  server: {
    usage: `Usage: gearbun server [--port 4730] [--host 127.0.0.1] [--store FILE]

Runs an embedded job server that speaks gearmand's binary and admin protocols.
  --port N       port to listen on (0 picks a free one)         default 4730
  --host H       address to listen on                           default 127.0.0.1
  --store FILE   keep background jobs in this SQLite file, so they survive a restart`,
    options: { port: { type: "string" }, host: { type: "string" }, store: { type: "string" } },
    async run(values) {
      const server = await startServer({
        port: intFlag(values, "port", 4730, 0),
        host: str(values.host) ?? "127.0.0.1",
        store: str(values.store),
      });
      console.log(`gearbun server listening on ${server.address} (pid ${process.pid})`);
      const signal = await untilSignal();
      console.log(`${signal}: stopping`);
      await server.stop();
      return 0;
    },
  },

  worker: {
    usage: `Usage: gearbun worker FILE.ts [--servers LIST] [--concurrency N] [--client-id ID]

Runs the handlers FILE exports by default: { functionName: async (job) => result, ... }.
SIGINT/SIGTERM stop it gracefully (running jobs finish first).
  --servers LIST     host:port,host:port                        default $GEARMAN_SERVERS or 127.0.0.1:4730
  --concurrency N    jobs running at once                       default 1
  --client-id ID     SET_CLIENT_ID shown by "gearadmin --workers"`,
    options: { servers: { type: "string" }, concurrency: { type: "string" }, "client-id": { type: "string" } },
    async run(values, positionals) {
      const file = positionals[0];
      if (!file) throw new UsageError("worker needs a FILE.ts whose default export maps function names to handlers");
      const concurrency = intFlag(values, "concurrency", 1);
      let mod: { default?: unknown };
      try {
        mod = await import(
          Bun.pathToFileURL(
            Bun.resolveSync(file.startsWith(".") || file.startsWith("/") ? file : `./${file}`, process.cwd()),
          ).href
        );
      } catch (error) {
        throw new UsageError(
          `cannot load ${file}: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`,
        );
      }
      const handlers = mod.default;
      if (typeof handlers !== "object" || handlers === null) {
        throw new UsageError(`${file} must export default an object of function name → handler`);
      }
      const worker = new Worker({
        servers: str(values.servers),
        concurrency,
        clientId: str(values["client-id"]),
      });
      for (const [name, handler] of Object.entries(handlers)) {
        if (typeof handler !== "function") throw new UsageError(`${file}: export "${name}" is not a function`);
        worker.register(name, handler as JobHandler);
      }
      await worker.start();
      console.log(
        `gearbun worker: ${Object.keys(handlers).join(", ")} on ${parseServers(str(values.servers))
          .map((s) => s.key)
          .join(", ")}`,
      );
      const signal = await untilSignal();
      console.log(`${signal}: finishing running jobs`);
      await worker.stop();
      return 0;
    },
  },

  submit: {
    usage: `Usage: gearbun submit FUNC [DATA] [--background] [--priority high|low] [--unique U] [--servers LIST]

Submits one job and prints its result (reads DATA from stdin when it is absent).
  --background       do not wait: print the job handle
  --priority P       high, normal or low                        default normal
  --unique U         unique key (jobs with the same key are coalesced)
  --timeout MS       give up after MS milliseconds
  --servers LIST     host:port,host:port                        default $GEARMAN_SERVERS or 127.0.0.1:4730`,
    options: {
      background: { type: "boolean" },
      priority: { type: "string" },
      unique: { type: "string" },
      timeout: { type: "string" },
      servers: { type: "string" },
    },
    async run(values, positionals) {
      const fn = positionals[0];
      if (!fn) throw new UsageError("submit needs a function name");
      const priority = str(values.priority) ?? "normal";
      if (priority !== "high" && priority !== "normal" && priority !== "low") {
        throw new UsageError(`--priority must be high, normal or low, got "${priority}"`);
      }
      const data = positionals[1] ?? (await readStdin());
      const client = new Client({ servers: str(values.servers) });
      try {
        const options = { priority, unique: str(values.unique), timeout: intFlag(values, "timeout", 0, 0) } as const;
        if (values.background) {
          console.log(await client.submitBackground(fn, data, options));
        } else {
          const result = await client.submit(fn, data, options);
          await Bun.write(Bun.stdout, result);
          if (process.stdout.isTTY) process.stdout.write("\n");
        }
      } finally {
        await client.close();
      }
      return 0;
    },
  },

  status: {
    usage: `Usage: gearbun status [--servers LIST]

Prints the admin status of every server: function, jobs queued, running, workers.
  --servers LIST     host:port,host:port                        default $GEARMAN_SERVERS or 127.0.0.1:4730`,
    options: { servers: { type: "string" } },
    async run(values) {
      let failed = 0;
      for (const server of parseServers(str(values.servers))) {
        const admin = new Admin(server.key);
        try {
          const rows = await admin.status();
          console.log(`${server.key}`);
          const table = [["FUNCTION", "QUEUED", "RUNNING", "WORKERS"]].concat(
            rows.map((r) => [r.function, String(r.total), String(r.running), String(r.workers)]),
          );
          const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
          for (const row of table) console.log(`  ${row.map((cell, c) => cell.padEnd(widths[c]!)).join("  ")}`);
        } catch (error) {
          failed++;
          console.log(`${server.key}\n  unreachable: ${error instanceof Error ? error.message : String(error)}`);
        } finally {
          await admin.close();
        }
      }
      return failed > 0 ? 1 : 0;
    },
  },

  demo: {
    usage: `Usage: gearbun demo [--workers 8] [--clients 2] [--jobs 500] [--rounds 6] [--servers LIST] [--naive]

Starts two embedded job servers (or uses --servers), worker processes connected to every
server, and clients submitting foreground jobs in rounds; prints a table of jobs per worker per
round and per server, and a verdict: did every worker receive jobs in every round?
  --workers N      worker processes                             default 8
  --clients N      clients                                      default 2
  --jobs N         jobs per client per round                    default 500
  --rounds N       rounds                                       default 6
  --work-ms N      simulated work per job, milliseconds         default 2
  --servers LIST   use these servers instead of embedded ones
  --naive          naive (python-gearman style) workers first, then gearbun's, on the
                   same servers, with the lost wake-up forced before round 3`,
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
        workers: intFlag(values, "workers", 8),
        clients: intFlag(values, "clients", 2),
        jobs: intFlag(values, "jobs", 500),
        rounds: intFlag(values, "rounds", 6),
        workMs: intFlag(values, "work-ms", 2, 0),
        servers: str(values.servers),
        naive: values.naive === true,
      });
      return ok ? 0 : 1;
    },
  },
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    console.error(`gearbun: unknown command "${name}" (try gearbun --help)`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(command.usage);
    return 0;
  }
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      options: command.options,
      allowPositionals: true,
      strict: true,
    });
    return await command.run(values, positionals);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`gearbun ${name}: ${error.message}`);
      return 2;
    }
    if (error instanceof GearmanError) {
      console.error(`gearbun ${name}: ${error.message}`);
      return 1;
    }
    if (error instanceof Error && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS")) {
      console.error(`gearbun ${name}: ${error.message.split("\n")[0]!.split(". ")[0]} (see gearbun ${name} --help)`);
      return 2;
    }
    throw error;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
  // Sockets or timers left by a failed command must not keep the process alive.
  process.exit(process.exitCode);
}
