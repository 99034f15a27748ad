/**
 * The two job servers a conformance test runs against: real gearmand and our embedded server,
 * started with the same settings. The handle prefix of the embedded server is gearmand's
 * ("H:<hostname>:"), so transcripts compare byte for byte.
 */
import { test } from "bun:test";
import { startServer } from "../../../src/server/server.ts";
import { haveGearmand, startGearmand } from "../../support/gearmand.ts";

export type TargetName = "gearmand" | "embedded";

export interface TargetSettings {
  /** gearmand --job-retries / jobRetries */
  jobRetries?: number;
  /** gearmand --worker-wakeup / workerWakeup */
  workerWakeup?: number;
}

export interface Target extends AsyncDisposable {
  readonly name: TargetName;
  readonly port: number;
  /** The server's process id (the test process for the embedded server). */
  readonly pid: number;
  stop(): Promise<void>;
}

/** Both targets when gearmand is installed, else only the embedded server. */
export const TARGETS: readonly TargetName[] = haveGearmand() ? ["gearmand", "embedded"] : ["embedded"];

export async function startTarget(name: TargetName, settings: TargetSettings = {}): Promise<Target> {
  if (name === "gearmand") {
    const args: string[] = [];
    if (settings.jobRetries !== undefined) args.push("--job-retries", String(settings.jobRetries));
    if (settings.workerWakeup !== undefined) args.push("--worker-wakeup", String(settings.workerWakeup));
    const g = await startGearmand({ args });
    return { name, port: g.port, pid: g.pid, stop: () => g.stop(), [Symbol.asyncDispose]: () => g[Symbol.asyncDispose]() };
  }
  const s = await startServer({ port: 0, host: "127.0.0.1", ...settings });
  return { name, port: s.port, pid: process.pid, stop: () => s.stop(), [Symbol.asyncDispose]: () => s.stop() };
}

/**
 * Declares one test per target: "AREA - TARGET: BEHAVIOUR". The body gets the running server's
 * port and its name (for the few expectations that differ, each written down where it differs).
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
