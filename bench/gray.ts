/**
 * The gray-failure rows: two gearmand, one frozen (SIGSTOP) for FREEZE_S seconds under load,
 * then resumed — what a silent server costs the healthy one, gearbun beside libgearman. Every
 * row runs twice: the first listed server frozen, then the second.
 *
 * - worker rows: both servers hold a queue of background jobs that take JOB_MS each; the worker
 *   (libgearman's echo-worker -d, or gearbun's at concurrency 1 and 16) runs on both. B's queue
 *   is read every POLL_MS with admin `status` (A's while it is not frozen): jobs/s taken from the
 *   healthy server in the WARM_S s before the freeze, the worst second and the mean of the freeze,
 *   and after it; the longest stretch of the freeze with no job taken from B; and whether A
 *   serves again after SIGCONT.
 * - client rows: an echo worker (gearbun, concurrency 16) on both servers; the client makes
 *   RATE foreground submits a second without unique keys — libgearman's gearman_client_do() one
 *   after the other (its blocking call; I/O timeout 10 s), gearbun's Client without waiting for
 *   earlier ones (default options) — and reports p50/p99 and failures of the submits started
 *   during the freeze.
 *
 *   bun run bench --case gray --skip-codec --no-write
 */
import { join } from "node:path";
import { Admin } from "../src/admin/admin.ts";
import { Client } from "../src/client/client.ts";
import {
  buildCPeers,
  haveGearmandBinary,
  installCleanup,
  PEERS_DIR,
  spawnPeer,
  startJobServer,
  stopAll,
  type CPeers,
} from "./support.ts";
import type { ThroughputOptions } from "./options.ts";
import { fmt, median, type Row } from "./rows.ts";

const FN = "gray";
const FG = "gray_fg";
const JOB_MS = 10;
const WARM_S = 3;
const FREEZE_S = 10;
const AFTER_S = 5;
const POLL_MS = 100;
const RATE = 100;
/**
 * Which of the two listed servers is frozen: both, in turn. libgearman's client sends every job
 * to one of its servers and its worker favours one, so freezing only one of them would show half
 * the picture.
 */
const FROZEN = [0, 1] as const;
const FROZEN_LABEL = ["first listed", "second listed"] as const;

interface GrayWorker {
  readonly id: string;
  readonly label: string;
  /** Jobs a second it can take at most (JOB_MS each). */
  readonly rate: number;
  command(servers: string, c: CPeers | null): string[];
}

const gearbunWorker = (concurrency: number): GrayWorker => ({
  id: `gearbun-c${concurrency}`,
  label: `gearbun Worker, concurrency ${concurrency}`,
  rate: (concurrency * 1000) / JOB_MS,
  command: (servers) => [
    process.execPath,
    join(PEERS_DIR, "gearbun-worker.ts"),
    "--servers",
    servers,
    "--fn",
    FN,
    "--concurrency",
    String(concurrency),
    "--sleep-ms",
    String(JOB_MS),
  ],
});

const WORKERS: readonly GrayWorker[] = [
  {
    id: "c",
    label: "libgearman worker (echo-worker)",
    rate: 1000 / JOB_MS,
    command: (servers, c) => {
      if (c === null) throw new Error("the libgearman peers are not built");
      return [c.worker, "-s", servers, "-f", FN, "-d", String(JOB_MS * 1000)];
    },
  },
  gearbunWorker(1),
  gearbunWorker(16),
];

interface GrayClient {
  readonly id: string;
  readonly label: string;
  command(servers: string, seconds: number, c: CPeers | null): string[];
}

const CLIENTS: readonly GrayClient[] = [
  {
    id: "c",
    label: "libgearman client (gearman_client_do, one at a time, timeout 10 s)",
    command: (servers, seconds, c) => {
      if (c === null) throw new Error("the libgearman peers are not built");
      return [c.grayClient, "-s", servers, "-f", FG, "-r", String(RATE), "-t", String(seconds), "-T", "10000"];
    },
  },
  {
    id: "gearbun",
    label: "gearbun Client (submit without waiting, default options)",
    command: (servers, seconds) => [
      process.execPath,
      join(PEERS_DIR, "gray-client.ts"),
      "--servers",
      servers,
      "--fn",
      FG,
      "--rate",
      String(RATE),
      "--seconds",
      String(seconds),
    ],
  },
];

const queued = async (admin: Admin): Promise<number> =>
  (await admin.status()).find((r) => r.function === FN)?.total ?? 0;

async function enqueue(address: string, count: number): Promise<void> {
  await using client = new Client({ servers: address, maxInFlight: 10_000 });
  const all: Promise<string>[] = [];
  for (let i = 0; i < count; i++) all.push(client.submitBackground(FN, "x"));
  await Promise.all(all);
}

/** One worker row: returns its figures, or throws. */
async function workerRun(
  w: GrayWorker,
  c: CPeers | null,
  opts: ThroughputOptions,
  frozenIndex: number,
): Promise<Row["gray"]> {
  const first = await startJobServer("gearmand");
  const second = await startJobServer("gearmand");
  const servers = `${first.address},${second.address}`;
  // `a` is frozen, `b` stays healthy; the worker lists them in the same order either way.
  const [a, b] = frozenIndex === 0 ? [first, second] : [second, first];
  const perServer = Math.ceil(w.rate * (WARM_S + FREEZE_S + AFTER_S + 3));
  await Promise.all([enqueue(a.address, perServer), enqueue(b.address, perServer)]);
  const worker = spawnPeer(`gray-${w.id}`, w.command(servers, c));
  await using adminB = new Admin(b.address, { commandTimeout: 5000 });
  const samples: { t: number; b: number }[] = [];
  let frozen = false;
  try {
    const startB = await queued(adminB);
    const deadline = Date.now() + 10_000;
    while ((await queued(adminB)) === startB && Date.now() < deadline) await Bun.sleep(POLL_MS);
    const sample = async (ms: number): Promise<void> => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        samples.push({ t: Date.now(), b: await queued(adminB) });
        await Bun.sleep(POLL_MS);
      }
    };
    await sample(WARM_S * 1000);
    const freezeAt = Date.now();
    process.kill(a.pid, "SIGSTOP");
    frozen = true;
    opts.progress(`[gray] ${w.label} · A frozen`);
    await sample(FREEZE_S * 1000);
    process.kill(a.pid, "SIGCONT");
    frozen = false;
    const contAt = Date.now();
    await using adminA = new Admin(a.address, { commandTimeout: 5000 });
    const aAtCont = await queued(adminA);
    await sample(AFTER_S * 1000);
    const aServes = (await queued(adminA)) < aAtCont;
    /** Jobs taken from B in [from, to): the drop of its queue. */
    const taken = (from: number, to: number): number => {
      const inside = samples.filter((s) => s.t >= from && s.t <= to);
      return inside.length < 2 ? 0 : inside[0]!.b - inside.at(-1)!.b;
    };
    const perSecond: number[] = [];
    for (let k = 0; k < FREEZE_S; k++) perSecond.push(taken(freezeAt + k * 1000, freezeAt + (k + 1) * 1000));
    let gap = 0;
    let lastDrop = freezeAt;
    const during = samples.filter((s) => s.t >= freezeAt && s.t <= contAt);
    for (let i = 1; i < during.length; i++) {
      if (during[i]!.b < during[i - 1]!.b) {
        gap = Math.max(gap, during[i - 1]!.t - lastDrop);
        lastDrop = during[i]!.t;
      }
    }
    gap = Math.max(gap, contAt - lastDrop);
    return {
      before: taken(freezeAt - WARM_S * 1000, freezeAt) / WARM_S,
      duringMin: Math.min(...perSecond),
      duringMean: taken(freezeAt, contAt) / FREEZE_S,
      after: taken(contAt, contAt + AFTER_S * 1000) / AFTER_S,
      longestGapMs: gap,
      resumedServes: aServes,
    };
  } finally {
    if (frozen) process.kill(a.pid, "SIGCONT");
    await worker.stop(2000);
    await a.stop();
    await b.stop();
  }
}

/** One client row: p50/p99 (ms) and failures of the submits started during the freeze. */
async function clientRun(cl: GrayClient, c: CPeers | null, frozenIndex: number): Promise<Row["grayClient"]> {
  const first = await startJobServer("gearmand");
  const second = await startJobServer("gearmand");
  const servers = `${first.address},${second.address}`;
  const [a, b] = frozenIndex === 0 ? [first, second] : [second, first];
  const worker = spawnPeer("gray-echo", [
    process.execPath,
    join(PEERS_DIR, "gearbun-worker.ts"),
    "--servers",
    servers,
    "--fn",
    FG,
    "--concurrency",
    "16",
  ]);
  let frozen = false;
  try {
    await using probe = new Client({ servers: b.address });
    const ready = Date.now() + 10_000;
    while (Date.now() < ready) {
      if ((await Promise.race([probe.submit(FG, "x").then(() => true), Bun.sleep(500).then(() => false)])) === true)
        break;
    }
    const seconds = 1 + FREEZE_S + 1;
    const gen = spawnPeer(`gray-client-${cl.id}`, cl.command(servers, seconds, c));
    await Bun.sleep(1000);
    const freezeAt = Date.now();
    process.kill(a.pid, "SIGSTOP");
    frozen = true;
    await Bun.sleep(FREEZE_S * 1000);
    process.kill(a.pid, "SIGCONT");
    frozen = false;
    const killer = setTimeout(() => gen.proc.kill("SIGKILL"), 60_000);
    await gen.proc.exited;
    clearTimeout(killer);
    const out = (await gen.firstJson(1000)) as { calls?: [number, number, number][] } | null;
    if (out?.calls === undefined) throw new Error(`${cl.label} printed no result: ${gen.stderr().slice(-500)}`);
    const during = out.calls.filter(([start]) => start >= freezeAt && start < freezeAt + FREEZE_S * 1000);
    const ms = during.map(([, d]) => d).sort((x, y) => x - y);
    const pct = (p: number): number => ms[Math.min(ms.length - 1, Math.floor(ms.length * p))] ?? Number.NaN;
    return {
      submits: during.length,
      failed: during.filter(([, , ok]) => ok === 0).length,
      p50: median(ms),
      p99: pct(0.99),
      max: ms.at(-1) ?? Number.NaN,
    };
  } finally {
    if (frozen) process.kill(a.pid, "SIGCONT");
    await worker.stop(2000);
    await a.stop();
    await b.stop();
  }
}

export function grayPlan(opts: Pick<ThroughputOptions, "caseFilter" | "peerFilter">): {
  workers: GrayWorker[];
  clients: GrayClient[];
} {
  if (opts.caseFilter === null || !opts.caseFilter.includes("gray")) return { workers: [], clients: [] };
  const keep = (id: string): boolean => opts.peerFilter === null || opts.peerFilter.includes(id);
  return { workers: WORKERS.filter((w) => keep(w.id)), clients: CLIENTS.filter((c) => keep(c.id)) };
}

/** Runs the gray-failure rows (only with `--case gray`: a run takes ~20 s a row). Never throws for a failing row. */
export async function runGray(opts: ThroughputOptions): Promise<{ rows: Row[]; notes: string[] }> {
  installCleanup();
  const plan = grayPlan(opts);
  const count = plan.workers.length + plan.clients.length;
  if (opts.dryRun) {
    for (const w of plan.workers) opts.log(`${"gray".padEnd(16)} worker ${w.id}`);
    for (const c of plan.clients) opts.log(`${"gray".padEnd(16)} client ${c.id}`);
    return { rows: [], notes: [] };
  }
  if (count === 0) return { rows: [], notes: [] };
  if (!haveGearmandBinary()) return { rows: [], notes: ["gearmand is not installed: no gray-failure figures"] };
  const c = buildCPeers(opts.log);
  const rows: Row[] = [];
  const head = { section: "gray", bytes: 1, jobs: 0 } as const;
  try {
    for (const [w, frozen] of plan.workers.flatMap((x) => FROZEN.map((f) => [x, f] as const))) {
      const label = `${w.label}, ${FROZEN_LABEL[frozen]} frozen`;
      const row = { ...head, caseId: "gray-worker", caseTitle: WORKER_TITLE, peerId: w.id, label };
      opts.progress(`[gray] ${label}`);
      try {
        rows.push({ ...row, status: "ok", gray: await workerRun(w, c, opts, frozen) });
        opts.progress(`[gray] ${label} · done`, true);
      } catch (error) {
        opts.progress(`[gray] ${label} · FAILED`, true);
        rows.push({ ...row, status: "failed", note: String(error).slice(0, 300) });
      }
    }
    for (const [cl, frozen] of plan.clients.flatMap((x) => FROZEN.map((f) => [x, f] as const))) {
      const label = `${cl.label}, ${FROZEN_LABEL[frozen]} frozen`;
      const row = { ...head, caseId: "gray-client", caseTitle: CLIENT_TITLE, peerId: cl.id, label };
      opts.progress(`[gray] ${label}`);
      try {
        rows.push({ ...row, status: "ok", grayClient: await clientRun(cl, c, frozen) });
        opts.progress(`[gray] ${label} · done`, true);
      } catch (error) {
        opts.progress(`[gray] ${label} · FAILED`, true);
        rows.push({ ...row, status: "failed", note: String(error).slice(0, 300) });
      }
    }
  } finally {
    await stopAll();
  }
  return { rows, notes: [] };
}

export const WORKER_TITLE = `worker on 2 gearmand with queued ${JOB_MS} ms jobs, one SIGSTOPped ${FREEZE_S} s: jobs/s taken from the healthy one`;
export const CLIENT_TITLE = `client on 2 gearmand, one SIGSTOPped ${FREEZE_S} s, ${fmt(RATE)} foreground submits/s: the submits started during the freeze`;
