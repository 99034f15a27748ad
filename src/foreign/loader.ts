/**
 * Handlers in other languages for the pool child: a `.py` or `.php` handlers file runs in
 * handler processes of its own language (adapters/), each job handed over the handler protocol;
 * so does an `--exec` command; an `--exec-per-job` command runs once per job. The loader
 * answers what a TypeScript module's default export would: function name → handler.
 */
/// <reference path="./adapter-files.d.ts" />
import { extname } from "node:path";
import phpAdapter from "../../adapters/php/gearbun_handler.php" with { type: "file" };
import pythonAdapter from "../../adapters/python/gearbun_handler.py" with { type: "file" };
import { externalPath } from "../util/external-file.ts";
import type { JobHandler } from "../worker/handler.ts";
import type { HandlerCommand } from "./handler-process.ts";
import { perJobHandler } from "./per-job.ts";
import { HandlerSet } from "./supervisor.ts";
import type { Usage } from "./usage.ts";

/** The interpreters, overridable by environment variable (a pool's children inherit it). */
export const INTERPRETERS = {
  /** `GEARBUN_PYTHON`: Python ≥ 3.8. @default "python3" */
  python: { env: "GEARBUN_PYTHON", fallback: "python3" },
  /** `GEARBUN_PHP`: php-cli ≥ 7.4. @default "php" */
  php: { env: "GEARBUN_PHP", fallback: "php" },
} as const;

/**
 * The adapters (adapters/ at the package root), imported as files: the one place that knows
 * where they are. From source or the package the path is the file itself; in a compiled binary
 * it is embedded, and externalPath copies it out for the interpreter to read.
 */
const LANGUAGES: Readonly<Record<string, { lang: keyof typeof INTERPRETERS; adapter: string }>> = {
  ".py": { lang: "python", adapter: pythonAdapter },
  ".php": { lang: "php", adapter: phpAdapter },
};

/** Whether `file` is a handlers file of another language (by its extension). */
export function isForeignFile(file: string): boolean {
  return LANGUAGES[extname(file).toLowerCase()] !== undefined;
}

/** The command that runs a `.py` / `.php` handlers file under its adapter. */
export async function foreignCommand(
  file: string,
  env: Record<string, string | undefined> = process.env,
): Promise<HandlerCommand> {
  const language = LANGUAGES[extname(file).toLowerCase()];
  if (language === undefined) throw new Error(`${file}: not a .py or .php handlers file`);
  const interpreter = INTERPRETERS[language.lang];
  const program = env[interpreter.env] || interpreter.fallback;
  // The adapters read their frames from the inherited socket (channel.ts).
  return { argv: [program, await externalPath(language.adapter), file], label: file, transport: "socket" };
}

/** Every handler set started in this process, killed when it exits. */
const started = new Set<HandlerSet>();
let exitHook = false;

/**
 * Starts `concurrency` handler processes for `command` and waits until each has loaded; the
 * handlers map sends each function's jobs to them. Rejects with HANDLER_LOAD_FAILED.
 */
export async function startHandlerSet(
  command: HandlerCommand,
  concurrency: number,
): Promise<{ set: HandlerSet; handlers: Record<string, JobHandler> }> {
  const set = new HandlerSet(command, concurrency);
  if (!exitHook) {
    exitHook = true;
    process.on("exit", () => {
      for (const s of started) s.killNow();
    });
  }
  const names = await set.start();
  started.add(set);
  const run: JobHandler = (job) => set.run(job);
  const handlers: Record<string, JobHandler> = {};
  for (const name of names) handlers[name] = run;
  return { set, handlers };
}

/** A `.py` / `.php` handlers file, as a module's default export: function name → handler. */
export async function loadForeign(file: string, concurrency: number): Promise<Record<string, JobHandler>> {
  return (await startHandlerSet(await foreignCommand(file), concurrency)).handlers;
}

/** The command of an `--exec` handler process: run by the shell, as typed. */
export function execCommand(command: string): HandlerCommand {
  return { argv: ["/bin/sh", "-c", command], label: `--exec ${command}` };
}

/**
 * The handlers of `--exec` commands (each started `concurrency` times, loaded before this
 * resolves) and of `--exec-per-job` commands, by where they come from.
 */
export async function loadCommands(
  exec: readonly string[],
  execPerJob: Readonly<Record<string, string>>,
  concurrency: number,
): Promise<[string, Record<string, JobHandler>][]> {
  const out: [string, Record<string, JobHandler>][] = [];
  for (const command of exec) {
    const spec = execCommand(command);
    out.push([spec.label, (await startHandlerSet(spec, concurrency)).handlers]);
  }
  for (const [name, command] of Object.entries(execPerJob)) {
    out.push([`--exec-per-job ${name}=${command}`, { [name]: perJobHandler(name, command) }]);
  }
  return out;
}

/** The CPU and memory of every handler process this process started (see HandlerSet.usage). */
export function handlerUsage(): Usage {
  const sum: Usage = { cpuSeconds: 0, rss: 0 };
  for (const set of started) {
    const u = set.usage();
    sum.cpuSeconds += u.cpuSeconds;
    sum.rss += u.rss;
  }
  return sum;
}
