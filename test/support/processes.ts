/**
 * Commands run as a user runs them: `run` waits for a command to end and returns what it printed;
 * `gearbun` runs the CLI that way, `spawnGearbun` starts a long-running subcommand on the
 * line-reading spawner (src/util/lines.ts), and `gearbunDaemon` also waits until its output matches.
 */
import { join } from "node:path";
import { spawnLines, type LineProcess } from "../../src/util/lines.ts";

export interface Run {
  /** Exit code (null when a signal ended it). */
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

export interface RunOptions {
  /** Text written to stdin (closed after). @default stdin ignored */
  readonly stdin?: string;
  /** @default process.env */
  readonly env?: Record<string, string | undefined>;
  /** SIGKILL after this long. @default 20_000 */
  readonly timeoutMs?: number;
  /** @default the test's working directory */
  readonly cwd?: string;
}

/** Runs `cmd` to its end and collects its exit code, stdout and stderr; `hung`: killed after `timeoutMs`. */
export async function run(cmd: readonly string[], options: RunOptions = {}): Promise<Run & { hung: boolean }> {
  const proc = Bun.spawn([...cmd], {
    stdout: "pipe",
    stderr: "pipe",
    stdin: options.stdin === undefined ? "ignore" : new TextEncoder().encode(options.stdin),
    ...(options.env !== undefined ? { env: options.env } : {}),
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
  });
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    proc.kill("SIGKILL");
  }, options.timeoutMs ?? 20_000);
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  clearTimeout(timer);
  return { code: proc.exitCode, out, err, hung };
}

const MAIN = join(import.meta.dir, "..", "..", "src", "cli", "main.ts");
/** No GEARMAN_SERVERS from the environment of whoever runs the tests. */
const CLI_ENV = { ...process.env, GEARMAN_SERVERS: "" };

/** `gearbun …args` to its end: exactly `{ code, out, err }`, so a test can compare it whole. */
export async function gearbun(args: readonly string[], options: Omit<RunOptions, "env"> = {}): Promise<Run> {
  const { code, out, err } = await run([process.execPath, MAIN, ...args], { ...options, env: CLI_ENV });
  return { code, out, err };
}

export interface Daemon extends AsyncDisposable {
  readonly proc: LineProcess["proc"];
  /** What `ready` matched. */
  readonly match: RegExpMatchArray;
  /** stdout so far, a "\n" after each line. */
  output(): string;
  /** stderr so far, likewise. */
  errors(): string;
  /** SIGINT, SIGKILL after 5 s; resolves with the exit code (-1 when a signal ended it). */
  stop(): Promise<number>;
}

export interface SpawnGearbunOptions {
  readonly cwd?: string;
  /** What runs gearbun, e.g. a compiled binary. @default bun src/cli/main.ts */
  readonly command?: readonly string[];
  /** Added to the environment. @default none */
  readonly env?: Record<string, string>;
}

/** `gearbun …args` started, its stdout read as lines and its stderr kept (`errorLines`). */
export function spawnGearbun(args: readonly string[], options: SpawnGearbunOptions = {}): LineProcess {
  return spawnLines([...(options.command ?? [process.execPath, MAIN]), ...args], {
    env: { ...CLI_ENV, ...options.env },
    stderr: "pipe",
    name: `gearbun ${args.join(" ")}`,
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
  });
}

/** A long-running `gearbun …args`, once its stdout (across lines) matches `ready`. */
export async function gearbunDaemon(
  args: readonly string[],
  ready: RegExp,
  options: SpawnGearbunOptions = {},
): Promise<Daemon> {
  const child = spawnGearbun(args, options);
  const output = (): string => child.lines.map((l) => `${l}\n`).join("");
  const errors = (): string => child.errorLines.map((l) => `${l}\n`).join("");
  const stop = async (): Promise<number> => (await child.stop(5000, "SIGINT")) ?? -1;
  try {
    const match = await child.waitFor(() => output().match(ready) ?? undefined, `output matching ${ready}`, 15_000);
    return { proc: child.proc, match, output, errors, stop, [Symbol.asyncDispose]: async () => void (await stop()) };
  } catch (error) {
    await stop();
    throw new Error(`${error instanceof Error ? error.message : String(error)}; stderr: ${errors()}`);
  }
}
