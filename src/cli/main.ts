#!/usr/bin/env bun
/**
 * The `gearbun` command: dispatches to one module per subcommand. No library logic lives in
 * src/cli — each subcommand parses its flags, calls the public API, prints, and sets the exit
 * code. Usage errors are one line and exit 2; library errors one line and exit 1.
 */
import { parseArgs } from "node:util";
import { ConfigError, GearmanError } from "../errors.ts";
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
  const usage = (message: string): number => {
    if (command.usageLine !== undefined) console.log(command.usageLine(message));
    else console.error(`gearbun ${name}: ${message}`);
    return command.usageExitCode ?? 2;
  };
  try {
    const { values, positionals } = parseArgs({
      args: joinNegativeValues(rest, command.options),
      options: command.options,
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length > 0 && command.takesArguments !== true) {
      throw new UsageError(`takes no arguments, got "${positionals[0]}" (see gearbun ${name} --help)`);
    }
    if (values.servers === "") {
      throw new UsageError(
        `--servers is empty: give host:port[,host:port…], or leave it out for $GEARMAN_SERVERS or ${CONNECTION_DEFAULTS.servers}`,
      );
    }
    return await command.run(values, positionals);
  } catch (error) {
    if (error instanceof UsageError) return usage(error.message);
    // A bad server address is a bad flag (or $GEARMAN_SERVERS), as for a usage error.
    if (error instanceof ConfigError && error.option === "servers") return usage(error.message);
    if (error instanceof GearmanError) {
      console.error(`gearbun ${name}: ${error.message}`);
      return 1;
    }
    if (error instanceof Error && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS")) {
      return usage(`${error.message.split("\n")[0]!.split(". ")[0]} (see gearbun ${name} --help)`);
    }
    throw error;
  }
}

/**
 * `--timeout -5` as `--timeout=-5`: parseArgs takes a value that starts with "-" for a flag (and
 * says "ambiguous"); a negative number after a flag that takes a value is that flag's value, so
 * the command's own check can say what is wrong with it.
 */
function joinNegativeValues(args: readonly string[], options: Command["options"]): string[] {
  const takesValue = (arg: string): boolean => {
    const long = /^--([^=]+)$/.exec(arg);
    if (long !== null) return options[long[1]!]?.type === "string";
    const short = /^-([^-])$/.exec(arg);
    return short !== null && Object.values(options).some((o) => o.short === short[1] && o.type === "string");
  };
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const next = args[i + 1];
    if (next !== undefined && /^-\d/.test(next) && takesValue(arg)) {
      out.push(arg.startsWith("--") ? `${arg}=${next}` : `${arg}${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

// A compiled binary started as one of its own scripts (a pool child, a demo worker) runs it and
// lives as long as the script does; see embedded.ts.
if (import.meta.main && !(await runEmbeddedScript(process.argv.slice(2)))) {
  process.exitCode = await main(process.argv.slice(2));
  // Sockets or timers left by a failed command must not keep the process alive.
  process.exit(process.exitCode);
}
