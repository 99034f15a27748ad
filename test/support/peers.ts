/**
 * Real libgearman peers for client tests: the `gearman -w` CLI worker and a small C worker
 * (peers/libgearman-worker.c, built once per run into a temp dir) that sends WORK_DATA,
 * WORK_STATUS, WORK_WARNING, WORK_FAIL and WORK_EXCEPTION through libgearman itself.
 * Each is started as a process, awaited until gearmand lists its functions, and stopped by PID.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Admin } from "../../src/admin/admin.ts";
import { spawnLines } from "../../src/util/lines.ts";
import { eventually } from "./eventually.ts";
import { gearmanCliPath } from "./gearmand.ts";

export interface PeerProcess {
  readonly pid: number;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const SOURCE = join(import.meta.dir, "peers", "libgearman-worker.c");
let built: string | null | undefined;

/** Path of the built C worker, or null when cc or libgearman-dev is missing. */
export async function libgearmanWorkerPath(): Promise<string | null> {
  if (built !== undefined) return built;
  const cc = Bun.which("cc") ?? Bun.which("gcc");
  if (cc === null || !existsSync("/usr/include/libgearman-1.0/gearman.h")) return (built = null);
  const out = join(mkdtempSync(join(tmpdir(), "gearbun-peer-")), "libgearman-worker");
  const proc = Bun.spawn([cc, "-O2", "-o", out, SOURCE, "-lgearman"], { stdout: "ignore", stderr: "pipe" });
  if ((await proc.exited) !== 0) {
    throw new Error(`cannot build ${SOURCE}: ${await new Response(proc.stderr).text()}`);
  }
  return (built = out);
}

/** Waits until the server lists at least `count` workers for every function (up to 5 s). */
export async function waitForWorkers(address: string, functions: readonly string[], count = 1): Promise<void> {
  await using admin = new Admin(address);
  await eventually(
    async () => {
      const rows = await admin.status();
      return functions.every((f) => (rows.find((r) => r.function === f)?.workers ?? 0) >= count);
    },
    `workers for ${functions.join(", ")} to register on ${address}`,
    5000,
    20,
  );
}

function peer(cmd: string[]): PeerProcess {
  const child = spawnLines(cmd);
  const stop = async (): Promise<void> => {
    await child.stop(2000);
  };
  return { pid: child.pid, stop, [Symbol.asyncDispose]: stop };
}

function hostPort(address: string): [string, string] {
  const colon = address.lastIndexOf(":");
  return [address.slice(0, colon), address.slice(colon + 1)];
}

/** The C worker (functions events, fail, exception, rev) on one server. */
export async function startLibgearmanWorker(address: string, count = 1): Promise<PeerProcess> {
  const path = await libgearmanWorkerPath();
  if (path === null) throw new Error("cc or libgearman-dev is missing: cannot build the libgearman peer worker");
  const [host, port] = hostPort(address);
  const p = peer([path, host, port]);
  await waitForWorkers(address, ["events", "fail", "exception", "rev"], count);
  return p;
}

/** `gearman -w -f FN [flags] -- command…` on one server. */
export async function startCliWorker(
  address: string,
  fn: string,
  command: readonly string[],
  flags: readonly string[] = [],
): Promise<PeerProcess> {
  if (gearmanCliPath === null) throw new Error("the gearman CLI (gearman-tools) is missing");
  const [host, port] = hostPort(address);
  const p = peer([gearmanCliPath, "-w", "-h", host, "-p", port, "-f", fn, ...flags, "--", ...command]);
  await waitForWorkers(address, [fn]);
  return p;
}
