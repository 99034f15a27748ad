/**
 * Shared by the foreign-handler tests: Debian's interpreters (what CI installs, not whatever
 * python3 comes first on PATH), `gearbun worker` started on a handlers file, and what a gearbun
 * Client and libgearman's `gearman` CLI see of one job, as comparable values.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Client } from "../../src/client/client.ts";
import type { LineProcess } from "../../src/util/lines.ts";
import { gearmanCliPath } from "../support/gearmand.ts";
import { run, spawnGearbun } from "../support/processes.ts";

export const FIXTURES = join(import.meta.dir, "fixtures");
export const PYTHON = "/usr/bin/python3";
export const PHP = "/usr/bin/php";

for (const [path, pkg] of [
  [PYTHON, "python3"],
  [PHP, "php-cli php-gearman"],
] as const) {
  if (!existsSync(path)) throw new Error(`${path} is missing: install the Debian packages ${pkg} (.ci/run does)`);
}

/** The environment `gearbun worker` needs to pick Debian's interpreters. */
export const FOREIGN_ENV = { GEARBUN_PYTHON: PYTHON, GEARBUN_PHP: PHP };

/** `gearbun worker …args` with Debian's interpreters, once it has printed its started line. */
export async function startWorkerCli(args: readonly string[]): Promise<LineProcess> {
  const cli = spawnGearbun(["worker", ...args, "--log", "json"], { env: FOREIGN_ENV });
  try {
    await cli.waitLine((l) => l.includes('"event":"started"'), "the started line", 20_000);
  } catch (error) {
    cli.proc.kill("SIGKILL");
    throw new Error(`${String(error)}; stderr: ${cli.errorLines.join("\n")}`);
  }
  return cli;
}

/** Stops a `gearbun worker` with SIGTERM (SIGKILL after 10 s); its exit code. */
export async function stopWorkerCli(cli: LineProcess): Promise<number | null> {
  if (cli.proc.exitCode !== null) return cli.proc.exitCode;
  cli.proc.kill("SIGTERM");
  const timer = setTimeout(() => cli.proc.kill("SIGKILL"), 10_000);
  await cli.proc.exited;
  clearTimeout(timer);
  return cli.proc.exitCode;
}

const utf8 = new TextDecoder();

/** Texts with the parts that differ from run to run (job handles, server ports) made equal. */
export const normalize = (text: string): string =>
  text.replace(/H:[^\s:]+:\d+/g, "H:*").replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:*");

/** A job's events as a Client sees them, as text, collected while it runs; `done` once it ended. */
export function watchTask(task: ReturnType<Client["submit"]>): { events: string[]; done: Promise<string[]> } {
  const events: string[] = [];
  const done = (async () => {
    try {
      for await (const e of task.events()) {
        if (e.type === "status") events.push(`status ${e.numerator}/${e.denominator}`);
        else if (e.type === "exception") events.push(`exception ${normalize(e.error.detail)}`);
        else if (e.type === "fail") events.push("fail");
        else events.push(`${e.type} ${normalize(utf8.decode(e.data))}`);
      }
    } catch (error) {
      // No outcome: the connection went away (or the client closed) first.
      events.push(`error ${error instanceof Error ? error.message : String(error)}`);
    }
    return events;
  })();
  return { events, done };
}

/** Every event a gearbun Client sees of one job, in order, as text. */
export function clientSees(client: Client, fn: string, payload: string | Uint8Array): Promise<string[]> {
  return watchTask(client.submit(fn, payload)).done;
}

export interface CliSees {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Still waiting after `timeoutMs` (libgearman 1.1 never ends a job that got WORK_EXCEPTION). */
  readonly hung: boolean;
}

/** What libgearman's `gearman` CLI prints for one foreground job. */
export async function cliSees(port: number, fn: string, payload: string, timeoutMs = 3000): Promise<CliSees> {
  if (gearmanCliPath === null) throw new Error("the gearman CLI (gearman-tools) is missing");
  const r = await run([gearmanCliPath, "-h", "127.0.0.1", "-p", String(port), "-f", fn, "-s", payload], { timeoutMs });
  const seen = { stdout: normalize(r.out), stderr: normalize(r.err) };
  return r.hung ? { code: null, ...seen, hung: true } : { code: r.code, ...seen, hung: false };
}

export { Client };
