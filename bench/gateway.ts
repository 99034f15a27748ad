/**
 * The gateway rows of `bun run bench` (`--case gateway`): a 16-byte echo job through the HTTP
 * gateway, beside the same job through Client.submit directly and beside a Bun.serve route that
 * answers the body without a job (the HTTP floor); at 1 and 64 concurrent keep-alive requests.
 *
 *   bun run bench --case gateway --skip-codec            # 10,000 requests per run (--quick: 2,000)
 *   bun run bench --case gateway --jobs 2000 --runs 1
 *
 * One job server (gearmand, else the embedded server in its own process) and one gearbun echo
 * worker process (concurrency 64) serve every row. Each row's subject is a process of its own
 * (bench/peers/gateway-subject.ts): the floor, the gateway (serveGateway → Client), or the direct
 * Client. The floor and gateway rows are driven by bench/peers/http-loadgen.ts (a separate Bun
 * process on 127.0.0.1, `c` lanes of fetch), the direct row by the subject itself. Per run: an
 * unmeasured fifth of the requests, then the measured ones; requests/s and p50/p99 latency are
 * the load's own clock; CPU per request is the subject's (/proc schedstat over the measured run),
 * and the worker's and server's beside it. The three rows' runs alternate.
 */
import { join } from "node:path";
import { cpuDeltaNs, cpuSnapshot } from "./proc.ts";
import type { ThroughputOptions } from "./options.ts";
import { median, type Row, spread } from "./rows.ts";
import {
  BUN,
  ECHO_FN,
  haveGearmandBinary,
  PEERS_DIR,
  type Peer,
  spawnPeer,
  StatusPoller,
  startJobServer,
} from "./support.ts";

const CASE_ID = "gateway";
const REQUESTS = { full: 10_000, quick: 2_000 } as const;
const CONCURRENCY = [1, 64] as const;
const VARIANTS = [
  { id: "floor", label: "HTTP floor (Bun.serve echo, no job)" },
  { id: "direct", label: "Client.submit directly (no HTTP)" },
  { id: "gateway", label: "gateway (HTTP → Client → job)" },
] as const;
type VariantId = (typeof VARIANTS)[number]["id"];

interface LoadResult {
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

interface Samples {
  rates: number[];
  p50: number[];
  p99: number[];
  subjectNs: number[];
  workerNs: number[];
  serverNs: number[];
}

export function gatewaySelected(opts: Pick<ThroughputOptions, "caseFilter">): boolean {
  return opts.caseFilter === null || opts.caseFilter.includes(CASE_ID);
}

function asLoad(json: Record<string, unknown> | null, what: string): LoadResult {
  if (json === null || typeof json.seconds !== "number") throw new Error(`${what}: no result`);
  const r = json as unknown as LoadResult;
  if (r.errors > 0) throw new Error(`${what}: ${r.errors} requests failed`);
  return r;
}

/** One run of `variant` at `c`: the load's figures. */
async function drive(variant: VariantId, port: number, c: number, n: number): Promise<LoadResult> {
  const warm = Math.max(c, Math.round(n / 5));
  if (variant === "direct") {
    const r = await fetch(`http://127.0.0.1:${port}/run?c=${c}&n=${n}&warm=${warm}`);
    return asLoad((await r.json()) as Record<string, unknown>, "direct");
  }
  const path = variant === "gateway" ? `/jobs/${ECHO_FN}` : "/";
  const gen = spawnPeer("http-loadgen", [
    BUN,
    join(PEERS_DIR, "http-loadgen.ts"),
    "--url",
    `http://127.0.0.1:${port}${path}`,
    "--concurrency",
    String(c),
    "--requests",
    String(n),
    "--warm",
    String(warm),
  ]);
  try {
    return asLoad(await gen.firstJson(120_000), `load generator (${gen.stderr().slice(-500)})`);
  } finally {
    await gen.stop(1000);
  }
}

export async function runGateway(
  opts: Pick<ThroughputOptions, "quick" | "caseFilter" | "runs" | "jobsOverride" | "dryRun" | "progress" | "log">,
): Promise<{ rows: Row[]; notes: string[] }> {
  if (!gatewaySelected(opts)) return { rows: [], notes: [] };
  const n = opts.jobsOverride ?? (opts.quick ? REQUESTS.quick : REQUESTS.full);
  if (opts.dryRun) {
    for (const c of CONCURRENCY)
      for (const v of VARIANTS)
        opts.log(`${CASE_ID.padEnd(16)} ${`${v.id}-c${c}`.padEnd(16)} ${n} requests/run × ${opts.runs}`);
    opts.log(`${CONCURRENCY.length * VARIANTS.length} gateway rows`);
    return { rows: [], notes: [] };
  }
  const target = haveGearmandBinary() ? "gearmand" : "embedded";
  const server = await startJobServer(target);
  const peers: Peer[] = [];
  const samples = new Map<string, Samples>();
  try {
    const worker = spawnPeer("gearbun-worker", [
      BUN,
      join(PEERS_DIR, "gearbun-worker.ts"),
      "--servers",
      server.address,
      "--concurrency",
      "64",
    ]);
    peers.push(worker);
    const poller = new StatusPoller([server.address]);
    try {
      await poller.waitWorkers(ECHO_FN, 1, 10_000, () => null);
    } finally {
      await poller.close();
    }
    const subjects = new Map<VariantId, { peer: Peer; port: number }>();
    for (const v of VARIANTS) {
      const peer = spawnPeer(`gateway-${v.id}`, [
        BUN,
        join(PEERS_DIR, "gateway-subject.ts"),
        "--mode",
        v.id,
        "--servers",
        server.address,
      ]);
      peers.push(peer);
      const hello = await peer.firstJson(10_000);
      if (hello === null || typeof hello.port !== "number") throw new Error(`${v.id}: did not start: ${peer.stderr()}`);
      subjects.set(v.id, { peer, port: hello.port });
    }
    // A warm-up pass of every row first (JIT), then the measured runs, rows alternating.
    for (const c of CONCURRENCY) {
      for (const v of VARIANTS) {
        opts.progress(`gateway: warm-up ${v.id} at ${c} concurrent…`);
        await drive(v.id, subjects.get(v.id)!.port, c, Math.min(n, 2000));
      }
    }
    for (let r = 0; r < opts.runs; r++) {
      for (const c of CONCURRENCY) {
        for (const v of VARIANTS) {
          opts.progress(`[gateway run ${r + 1}/${opts.runs}] ${v.id} at ${c} concurrent: ${n} requests…`);
          const s = subjects.get(v.id)!;
          const before = [cpuSnapshot(s.peer.pid), cpuSnapshot(worker.pid), cpuSnapshot(server.pid)];
          const load = await drive(v.id, s.port, c, n);
          const key = `${v.id}-c${c}`;
          const m = samples.get(key) ?? { rates: [], p50: [], p99: [], subjectNs: [], workerNs: [], serverNs: [] };
          // The warm part of a run is in the CPU too: charge it by the requests it made.
          const total = n + Math.max(c, Math.round(n / 5));
          m.rates.push(n / load.seconds);
          m.p50.push(load.p50Ms);
          m.p99.push(load.p99Ms);
          m.subjectNs.push(cpuDeltaNs(before[0]!, cpuSnapshot(s.peer.pid)) / total);
          m.workerNs.push(cpuDeltaNs(before[1]!, cpuSnapshot(worker.pid)) / total);
          m.serverNs.push(cpuDeltaNs(before[2]!, cpuSnapshot(server.pid)) / total);
          samples.set(key, m);
        }
      }
    }
  } finally {
    for (const p of peers.reverse()) await p.stop(2000);
    await server.stop();
  }
  const rows: Row[] = [];
  const notes: string[] = [];
  for (const c of CONCURRENCY) {
    const cpu = (id: VariantId): number => median(samples.get(`${id}-c${c}`)!.subjectNs) / 1000;
    for (const v of VARIANTS) {
      const m = samples.get(`${v.id}-c${c}`)!;
      rows.push({
        section: "gateway",
        caseId: CASE_ID,
        caseTitle: `16 B echo job, keep-alive HTTP, ${target} + 1 gearbun worker process`,
        peerId: `${v.id}-c${c}`,
        label: v.label,
        bytes: 16,
        jobs: n,
        status: "ok",
        concurrency: c,
        jobsPerSecond: spread(m.rates),
        latencyMs: { p50: median(m.p50), p99: median(m.p99) },
        cpuUsPerJob: median(m.subjectNs) / 1000,
        workerCpuUsPerJob: v.id === "floor" ? undefined : median(m.workerNs) / 1000,
        serverCpuUsPerJob: v.id === "floor" ? undefined : median(m.serverNs) / 1000,
      });
    }
    const budget = (cpu("floor") + cpu("direct")) * 1.2;
    notes.push(
      `gateway at ${c} concurrent: ${cpu("gateway").toFixed(1)} µs CPU per request in the gateway process; budget (floor ${cpu("floor").toFixed(1)} + direct Client ${cpu("direct").toFixed(1)}) × 1.2 = ${budget.toFixed(1)} µs: ${cpu("gateway") <= budget ? "within" : "OVER"}.`,
    );
  }
  return { rows, notes };
}
