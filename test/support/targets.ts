/**
 * The two job servers an integration test runs against: real gearmand and gearbun's embedded
 * server, started with the same settings. One test body, two targets:
 *
 *   describeTargets("worker job", (target) => {
 *     test("job - …", async () => {
 *       await using server = await startTarget(target);
 *       // server.address, server.port, server.kill(), server.restart()
 *     });
 *   });
 *
 * gives "worker job [gearmand] > job - …" and "worker job [embedded] > job - …". Where the
 * embedded server deliberately differs from gearmand, the test asserts each target's behaviour
 * with `target === "gearmand" ? … : …` and a comment saying why.
 *
 * The embedded server runs in the test process by default (stop() drops every connection at
 * once, so kill() is stop() and restart() listens again on the same port). With
 * `{ process: true }` it runs in a child process (test/server/fixtures/serve.ts) like gearmand:
 * kill() is a real SIGKILL and the restarted server has a new pid.
 *
 * Without gearmand installed only the embedded target runs (unless GEARBUN_REQUIRE_GEARMAND=1,
 * see gearmand-process.ts).
 */
import { describe, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { startServer, type EmbeddedServer } from "../../src/server/server.ts";
import { spawnLines, type LineProcess } from "../../src/util/lines.ts";
import { gearadminPath, gearmanCliPath, haveGearmand, startGearmand } from "./gearmand.ts";

export type TargetName = "gearmand" | "embedded";

export interface TargetSettings {
  /** gearmand --job-retries / jobRetries */
  jobRetries?: number;
  /** gearmand --worker-wakeup / workerWakeup */
  workerWakeup?: number;
}

export interface TargetOptions extends TargetSettings {
  /** Listen on this port (e.g. one a peer was pointed at before the server started). @default a free one */
  port?: number;
  /** Embedded server only: run it in a child process (gearmand always is one). @default false */
  process?: boolean;
}

export interface Target extends AsyncDisposable {
  readonly name: TargetName;
  readonly port: number;
  /** "127.0.0.1:PORT" */
  readonly address: string;
  /** The server's process id (the test process for an in-process embedded server). */
  readonly pid: number;
  /** Stops the server cleanly. */
  stop(): Promise<void>;
  /** A crash: SIGKILL (in-process embedded server: stop(), which drops every connection at once). */
  kill(): Promise<void>;
  /** Starts again on the same port with the same settings (after stop or kill). */
  restart(): Promise<void>;
  /** gearmand's log so far (the embedded server keeps none: ""). */
  log(): string;
}

/** Both targets when gearmand is installed, else only the embedded server. */
export const TARGETS: readonly TargetName[] = haveGearmand() ? ["gearmand", "embedded"] : ["embedded"];

/** The libgearman tools are installed: `gearman`, `gearadmin`, and a C compiler with libgearman-dev (test/support/peers.ts). */
export const haveLibgearman: boolean =
  gearmanCliPath !== null &&
  gearadminPath !== null &&
  (Bun.which("cc") ?? Bun.which("gcc")) !== null &&
  existsSync("/usr/include/libgearman-1.0/gearman.h");

/** Options of describeTargets. */
export interface DescribeTargetsOptions {
  /** "libgearman": the suites' peers are the libgearman tools (`gearman`, `gearadmin`, the C worker); skipped without them. */
  needs?: "libgearman";
}

/**
 * `describe` once per target, named "NAME [TARGET]":
 * `describeTargets(name, (target) => {…})` or `describeTargets(name, { needs: "libgearman" }, (target) => {…})`.
 */
export function describeTargets(name: string, fn: (target: TargetName) => void): void;
export function describeTargets(name: string, options: DescribeTargetsOptions, fn: (target: TargetName) => void): void;
export function describeTargets(
  name: string,
  a: DescribeTargetsOptions | ((target: TargetName) => void),
  b?: (target: TargetName) => void,
): void {
  const options = typeof a === "function" ? {} : a;
  const fn = typeof a === "function" ? a : b!;
  const skip = options.needs === "libgearman" && !haveLibgearman;
  for (const target of TARGETS) (skip ? describe.skip : describe)(`${name} [${target}]`, () => fn(target));
}

export async function startTarget(name: TargetName, options: TargetOptions = {}): Promise<Target> {
  if (name === "gearmand") return startGearmandTarget(options);
  return options.process === true ? startEmbeddedProcess(options) : startEmbeddedInProcess(options);
}

async function startGearmandTarget(options: TargetOptions): Promise<Target> {
  const args: string[] = [];
  if (options.jobRetries !== undefined) args.push("--job-retries", String(options.jobRetries));
  if (options.workerWakeup !== undefined) args.push("--worker-wakeup", String(options.workerWakeup));
  const g = await startGearmand({ args, port: options.port });
  return {
    name: "gearmand",
    get port() {
      return g.port;
    },
    get address() {
      return g.address;
    },
    get pid() {
      return g.pid;
    },
    stop: () => g.stop(),
    kill: () => g.kill(),
    restart: () => g.restart(),
    log: () => g.log(),
    [Symbol.asyncDispose]: () => g[Symbol.asyncDispose](),
  };
}

function serverSettings(options: TargetOptions): TargetSettings {
  const settings: TargetSettings = {};
  if (options.jobRetries !== undefined) settings.jobRetries = options.jobRetries;
  if (options.workerWakeup !== undefined) settings.workerWakeup = options.workerWakeup;
  return settings;
}

async function startEmbeddedInProcess(options: TargetOptions): Promise<Target> {
  const settings = serverSettings(options);
  // Handles numbered from 1 as gearmand numbers them, so transcripts read the same on both targets.
  let server: EmbeddedServer = await startServer({
    port: options.port ?? 0,
    host: "127.0.0.1",
    firstHandle: 1,
    ...settings,
  });
  const port = server.port;
  let running = true;
  const stop = async (): Promise<void> => {
    if (!running) return;
    running = false;
    await server.stop();
  };
  return {
    name: "embedded",
    port,
    address: `127.0.0.1:${port}`,
    pid: process.pid,
    stop,
    kill: stop,
    restart: async () => {
      await stop();
      server = await listenAgain(() => startServer({ port, host: "127.0.0.1", firstHandle: 1, ...settings }));
      running = true;
    },
    log: () => "",
    [Symbol.asyncDispose]: stop,
  };
}

/** Listening again on a port just released can race the kernel: a few tries. */
async function listenAgain<T>(start: () => Promise<T>): Promise<T> {
  for (let tries = 0; ; tries++) {
    try {
      return await start();
    } catch (error) {
      if (tries >= 10) throw error;
      await Bun.sleep(100);
    }
  }
}

const SERVE = join(import.meta.dir, "..", "server", "fixtures", "serve.ts");

/** An embedded server in a child process (test/server/fixtures/serve.ts). */
export interface ServeProcess {
  readonly proc: LineProcess["proc"];
  readonly port: number;
  /** SIGTERM (a clean stop), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<number | null>;
}

/**
 * test/server/fixtures/serve.ts in a child process on `port` (0: any), with the durable `store`
 * if given; resolves once it prints "READY <port>".
 */
export async function spawnServe(port: number, store?: string): Promise<ServeProcess> {
  const args = store === undefined ? [String(port)] : [String(port), store];
  const child = spawnLines([process.execPath, SERVE, ...args], { name: `the embedded server (serve.ts ${port})` });
  try {
    const line = await child.waitLine((l) => /^READY \d+$/.test(l), "READY <port>", 10_000);
    return { proc: child.proc, port: Number(line.slice("READY ".length)), stop: child.stop };
  } catch (error) {
    await child.stop(0);
    throw error;
  }
}

async function startEmbeddedProcess(options: TargetOptions): Promise<Target> {
  const settings = serverSettings(options);
  if (Object.keys(settings).length > 0) {
    throw new Error("startTarget: settings are not passed to an embedded server in a child process");
  }
  let child = await spawnServe(options.port ?? 0);
  const port = child.port;
  const exit = async (signal: "SIGTERM" | "SIGKILL"): Promise<void> => {
    if (signal === "SIGKILL") child.proc.kill("SIGKILL");
    await child.stop(2000);
  };
  return {
    name: "embedded",
    port,
    address: `127.0.0.1:${port}`,
    get pid() {
      return child.proc.pid;
    },
    stop: () => exit("SIGTERM"),
    kill: () => exit("SIGKILL"),
    restart: async () => {
      await exit("SIGTERM");
      child = await listenAgain(() => spawnServe(port));
    },
    log: () => "",
    [Symbol.asyncDispose]: () => exit("SIGTERM"),
  };
}

/**
 * Declares one test per target: "AREA - TARGET: BEHAVIOUR" (the raw transcript tests of
 * test/server). The body gets the running server's port and its name.
 */
export function testOnTargets(
  area: string,
  behaviour: string,
  body: (port: number, target: TargetName, server: Target) => Promise<void>,
  settings: TargetSettings = {},
  timeoutMs = 10_000,
): void {
  for (const name of TARGETS) {
    test(
      `${area} - ${name}: ${behaviour}`,
      async () => {
        await using server = await startTarget(name, settings);
        await body(server.port, name, server);
      },
      timeoutMs,
    );
  }
}
