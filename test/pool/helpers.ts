/**
 * Shared by the pool tests: a steady foreground load that checks every result, the admin view
 * of which children are registered, and handler files in a temporary folder. The CLI runs as a
 * process through test/support/processes.ts.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Admin } from "../../src/admin/admin.ts";
import type { PoolOptions } from "../../src/options.ts";
import type { PoolEvents } from "../../src/pool/events.ts";
import type { LogSink } from "../../src/pool/log.ts";
import { Pool, type PoolStartOptions } from "../../src/pool/supervisor.ts";
import { Submitter } from "../support/submitter.ts";

export const FIXTURES = join(import.meta.dir, "fixtures");
export const HANDLERS = join(FIXTURES, "handlers.ts");

/** A sink that keeps the lines (tests read them; nothing reaches the terminal). */
export function memorySink(): LogSink & { lines: string[] } {
  const lines: string[] = [];
  return { lines, out: (l) => lines.push(l), err: (l) => lines.push(l) };
}

export interface LoadResult {
  done: number;
  failed: number;
  wrong: number;
  /** Results in the order they arrived (for `version`-style functions). */
  texts: string[];
  errors: string[];
}

/**
 * `lanes` loops that each submit one foreground job at a time until `stop()`; `check(payload,
 * text)` says whether a result is right.
 */
export async function startLoad(
  servers: string[],
  fn: string,
  check: (payload: string, text: string) => boolean,
  lanes = 4,
): Promise<{ stop(): Promise<LoadResult>; result: LoadResult }> {
  const submitter = await Submitter.open(servers);
  const result: LoadResult = { done: 0, failed: 0, wrong: 0, texts: [], errors: [] };
  let running = true;
  let n = 0;
  const lane = async (): Promise<void> => {
    while (running) {
      const payload = `job-${n++}`;
      try {
        const r = await submitter.submit(fn, payload);
        if (r.outcome !== "complete") {
          result.failed++;
          result.errors.push(`${r.outcome}: ${r.text}`);
        } else if (!check(payload, r.text)) {
          result.wrong++;
        }
        result.texts.push(r.text);
        result.done++;
      } catch (error) {
        result.failed++;
        result.errors.push(String(error));
      }
    }
  };
  const lanesDone = Promise.all(Array.from({ length: lanes }, lane));
  return {
    result,
    async stop() {
      running = false;
      await lanesDone;
      await submitter.close();
      return result;
    },
  };
}

export const reversed = (payload: string, text: string): boolean => text === payload.split("").reverse().join("");

/** Client ids of the workers registered on a server that start with `prefix`, with their functions. */
export async function poolWorkers(
  address: string,
  prefix = "gearbun:",
): Promise<{ id: string; functions: string[] }[]> {
  const admin = new Admin(address);
  try {
    const rows = await admin.workers();
    return rows.filter((r) => r.clientId.startsWith(prefix)).map((r) => ({ id: r.clientId, functions: r.functions }));
  } finally {
    await admin.close();
  }
}

/** Writes `files` into a new temporary folder; returns the folder. */
export function tempDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "gearbun-pool-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** A handlers module whose `version` function answers `version`. */
export const versionHandlers = (version: string): string =>
  `export default { version: async () => { await Bun.sleep(2); return ${JSON.stringify(version)}; } };\n`;

/** Resolves with the first event `subscribe` hands over, or rejects after `ms`. */
export function waitFor<T>(subscribe: (done: (value: T) => void) => () => void, ms: number, what: string): Promise<T> {
  const { promise, resolve, reject } = Promise.withResolvers<T>();
  const off = subscribe(resolve);
  const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  return promise.finally(() => {
    clearTimeout(timer);
    off();
  });
}

/** A stdout line matching `re`, as a test for `LineProcess.waitLine` / `nextLine`. */
export const matching =
  (re: RegExp) =>
  (line: string): boolean =>
    re.test(line);

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every pool event (a missing or unknown name fails the typecheck). */
const POOL_EVENTS: Record<keyof PoolEvents, true> = {
  "child:start": true,
  "child:ready": true,
  "child:exit": true,
  "child:respawn": true,
  "child:recycle": true,
  "child:recycle-failed": true,
  "child:unresponsive": true,
  "child:handed-back": true,
  failed: true,
  reload: true,
  job: true,
  link: true,
  stats: true,
  output: true,
  stopping: true,
  stopped: true,
};

/**
 * Checks the pool's slot invariants after every event it emits (as the worker's tests check the
 * scheduler's); returns the violations seen, each with the event after which it was seen. A test
 * expects it empty at its end.
 */
export function watchInvariants(pool: Pool): string[] {
  const violations: string[] = [];
  for (const name of Object.keys(POOL_EVENTS) as (keyof PoolEvents)[]) {
    pool.on(name, () => {
      const problem = pool.violation();
      if (problem !== null && violations.length < 10) violations.push(`after ${name}: ${problem}`);
    });
  }
  return violations;
}

/** `startPool` with the invariants watched from the first event on. */
export async function startChecked(
  options: PoolOptions,
  start: PoolStartOptions = {},
): Promise<{ pool: Pool; violations: string[] }> {
  const pool = new Pool(options, start);
  const violations = watchInvariants(pool);
  await pool.start();
  return { pool, violations };
}
