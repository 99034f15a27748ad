/**
 * The idle rows (only with `--case idle`): what a connected worker costs while there is no work.
 * One gearmand `--threads 1`; every peer below connects to it at once and sleeps (PRE_SLEEP);
 * no job is submitted. After SETTLE_S s, each process's CPU (/proc schedstat, every thread) is
 * measured over the same IDLE_S s (`--jobs N` sets the seconds instead), so the rows share one
 * run and one machine state:
 *
 * - gearbun Worker, default options (heartbeat ECHO_REQ every 5 s of silence, idle re-grab every
 *   30 s ± 10 %);
 * - the same with the heartbeat off (`--heartbeat 0`): what the heartbeat costs;
 * - the Bun floor (bench/peers/floor-worker.ts) with gearbun's worker modules imported and
 *   unused (`--load-gearbun`): what Bun's periodic garbage collection costs for the code a real
 *   worker keeps loaded, with none of its timers;
 * - the Bun floor: the runtime alone.
 *
 *   bun run bench --case idle --skip-codec --no-write [--jobs 60] [--rounds 3]
 */
import { join } from "node:path";
import { Admin } from "../src/admin/admin.ts";
import { cpuDeltaNs, cpuSnapshot } from "./proc.ts";
import type { ThroughputOptions } from "./options.ts";
import {
  BUN,
  haveGearmandBinary,
  installCleanup,
  PEERS_DIR,
  type Peer,
  spawnPeer,
  startJobServer,
  stopAll,
} from "./support.ts";
import type { Row } from "./rows.ts";

export const IDLE_CASE = "idle";
const IDLE_S = 60;
const SETTLE_S = 5;
const TITLE = "idle worker: one gearmand --threads 1, connected and asleep, no jobs";

interface IdlePeer {
  readonly id: string;
  readonly label: string;
  readonly args: readonly string[];
}

const PEERS: readonly IdlePeer[] = [
  { id: "gearbun", label: "gearbun Worker (default options)", args: [join(PEERS_DIR, "gearbun-worker.ts")] },
  {
    id: "gearbun-no-heartbeat",
    label: "gearbun Worker, heartbeat off",
    args: [join(PEERS_DIR, "gearbun-worker.ts"), "--heartbeat", "0"],
  },
  {
    id: "bun-floor-loaded",
    label: "Bun floor + gearbun's worker modules loaded, unused",
    args: [join(PEERS_DIR, "floor-worker.ts"), "--load-gearbun"],
  },
  { id: "bun-floor", label: "Bun floor (bare sockets)", args: [join(PEERS_DIR, "floor-worker.ts")] },
];

export function idleSelected(opts: Pick<ThroughputOptions, "caseFilter">): boolean {
  return opts.caseFilter?.includes(IDLE_CASE) === true;
}

/** Workers gearmand lists as connected with the function registered. */
async function registered(address: string): Promise<number> {
  await using admin = new Admin(address, { commandTimeout: 5000 });
  return (await admin.status()).find((r) => r.function === "echo")?.workers ?? 0;
}

export async function runIdle(opts: ThroughputOptions): Promise<{ rows: Row[]; notes: string[] }> {
  if (!idleSelected(opts)) return { rows: [], notes: [] };
  const seconds = opts.jobsOverride ?? (opts.quick ? 10 : IDLE_S);
  const plan = PEERS.filter((p) => opts.peerFilter === null || opts.peerFilter.includes(p.id));
  if (opts.dryRun) {
    for (const p of plan) opts.log(`${IDLE_CASE.padEnd(18)} ${p.id.padEnd(22)} ${seconds} s idle`);
    return { rows: [], notes: [] };
  }
  if (plan.length === 0) return { rows: [], notes: [] };
  if (!haveGearmandBinary()) return { rows: [], notes: ["gearmand is not installed: no idle figures"] };
  installCleanup();
  const head = { section: "idle", caseId: IDLE_CASE, caseTitle: TITLE, bytes: 0, jobs: 0 } as const;
  const server = await startJobServer("gearmand", null, ["--threads", "1"]);
  const peers: Peer[] = [];
  try {
    for (const p of plan) peers.push(spawnPeer(p.id, [BUN, ...p.args, "--servers", server.address]));
    const ready = Date.now() + 10_000;
    while ((await registered(server.address)) < plan.length) {
      if (Date.now() > ready)
        throw new Error(
          `not every idle peer registered within 10 s: ${peers
            .map((p) => p.stderr())
            .join(" | ")
            .slice(-1000)}`,
        );
      await Bun.sleep(100);
    }
    opts.progress(`[idle] ${plan.length} peers connected; settling ${SETTLE_S} s, then ${seconds} s idle`);
    await Bun.sleep(SETTLE_S * 1000);
    const before = peers.map((p) => cpuSnapshot(p.pid));
    await Bun.sleep(seconds * 1000);
    const cpuMs = peers.map((p, i) => cpuDeltaNs(before[i]!, cpuSnapshot(p.pid)) / 1e6);
    const floorAt = plan.findIndex((p) => p.id === "bun-floor");
    const rows: Row[] = plan.map((p, i) => ({
      ...head,
      peerId: p.id,
      label: p.label,
      status: "ok",
      idleSeconds: seconds,
      idleCpuMs: cpuMs[i]!,
      ...(floorAt >= 0 ? { ratio: { jobsPerSecond: 1, cpu: cpuMs[i]! / cpuMs[floorAt]! } } : {}),
    }));
    opts.progress(`[idle] ${rows.map((r) => `${r.peerId} ${(r.idleCpuMs ?? 0).toFixed(1)} ms`).join(", ")}`, true);
    return { rows, notes: [] };
  } finally {
    await stopAll();
  }
}
