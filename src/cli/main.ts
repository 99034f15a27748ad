#!/usr/bin/env bun
/**
 * The `gearbun` command: dispatches to one module per subcommand. No library logic lives in
 * src/cli — each subcommand parses its flags, calls the public API, prints, and sets the exit
 * code. Usage errors are one line and exit 2; library errors one line and exit 1.
 */
import { parseArgs } from "node:util";
import { GearmanError } from "../errors.ts";
import { CONNECTION_DEFAULTS } from "../options.ts";
import { VERSION } from "../version.ts";
import { type Command, UsageError } from "./args.ts";
import { check } from "./check.ts";
import { dashboard } from "./dashboard.ts";
import { dead } from "./dead.ts";
import { runEmbeddedScript } from "./embedded.ts";
import { demo } from "./demo.ts";
import { exporter } from "./exporter.ts";
import { gateway } from "./gateway.ts";
import { server } from "./server.ts";
import { status } from "./status.ts";
import { submit } from "./submit.ts";
import { top } from "./top.ts";
import { worker } from "./worker.ts";

const commands: Record<string, Command> = {
  server,
  worker,
  submit,
  status,
  demo,
  top,
  check,
  exporter,
  dashboard,
  dead,
  gateway,
};

const USAGE = `gearbun — a Bun-native Gearman runtime

Usage: gearbun <command> [options]
       gearbun --version

Commands:
  server     run an embedded gearmand-compatible job server
  worker     run a supervised pool of worker processes for the handlers files export
  submit     submit a job and print its result
  status     show the admin status of every server
  demo       two job servers, 8 workers, 2 clients: the multi-server stall, solved
  top        live view of queues, workers and servers (--once: one table)
  check      Nagios/Icinga plugin: queues, workers, a test job
  exporter   Prometheus metrics for gearmand servers
  dashboard  a live web page over the servers
  dead       list, show, resubmit or purge the jobs in a dead-letter file
  gateway    run Gearman jobs for HTTP clients: results, server-sent events, status

Run "gearbun <command> --help" for a command's options.
Servers default to $GEARMAN_SERVERS, else ${CONNECTION_DEFAULTS.servers}.
`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(USAGE);
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-V") {
    console.log(`gearbun ${VERSION}`);
    return 0;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
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
      return command.usageExitCode ?? 2;
    }
    if (error instanceof GearmanError) {
      console.error(`gearbun ${name}: ${error.message}`);
      return 1;
    }
    if (error instanceof Error && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS")) {
      console.error(`gearbun ${name}: ${error.message.split("\n")[0]!.split(". ")[0]} (see gearbun ${name} --help)`);
      return command.usageExitCode ?? 2;
    }
    throw error;
  }
}

// A compiled binary started as one of its own scripts (a pool child, a demo worker) runs it and
// lives as long as the script does; see embedded.ts.
if (import.meta.main && !(await runEmbeddedScript(process.argv.slice(2)))) {
  process.exitCode = await main(process.argv.slice(2));
  // Sockets or timers left by a failed command must not keep the process alive.
  process.exit(process.exitCode);
}
