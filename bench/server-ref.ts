/**
 * The job server itself under the same load: gearmand `--threads 1` (its best setting on a small
 * machine, the reference), gearmand with its default flags (4 I/O threads) and gearbun's embedded
 * server, side by side in one run.
 *
 *   bun bench/server-ref.ts [--jobs 50000] [--runs 3] [--pair gearbun,c] [--servers 1]
 *                           [--kinds gearmand-t1,gearmand,embedded,bun-floor] [--dry-run]
 *
 * Load: 16-byte foreground echo jobs, 1,000 in flight, from one load generator process, answered by
 * one worker process. Two pairings: gearbun's client with a gearbun worker at concurrency 16, and
 * the libgearman load generator (bench/peers/submitter.c) with the libgearman C worker. Per pairing
 * every server kind is started with its own worker and warmed up, then the measured runs go round
 * the servers (run 1 on each, run 2 on each, ...) so a noisy spell on the shared machine hits them
 * all alike. Server CPU per job is the server process's (/proc schedstat, every thread); jobs/s is
 * the load generator's own clock, first submit to last result.
 *
 * `--pin split` (the default; `same`, `off` as in bench/pin.ts): the job servers on one CPU, each
 * worker and the load generator on the other — the server is what is measured, so it gets a CPU
 * of its own, and every server kind gets the same placement.
 *
 * The Bun floor row (bench/peers/floor-server.ts: the least a job server written for Bun does per
 * job, one write per connection per data event) tells what the runtime costs from what the
 * embedded server adds. `--kinds` runs only the listed servers (the first listed is no longer the
 * reference unless it is gearmand-t1; the ratios need gearmand-t1 in the run).
 *
 * `--servers N` (N > 1) runs the embedded row with N embedded servers in one process, the worker on
 * all of them and the load generator spreading its jobs round-robin over them (gearmand rows stay
 * at one process: the reference is gearmand at its best).
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  buildCPeers,
  haveGearmandBinary,
  installCleanup,
  PEERS_DIR,
  spawnPeer,
  startJobServer,
  StatusPoller,
  stopAll,
  type CPeers,
  type JobServer,
  type Peer,
} from "./support.ts";
import { cpuDeltaNs, cpuSnapshot } from "./proc.ts";
import { assertPinned, DEFAULT_PIN, PIN_MODES, type Pinning, type PinMode, resolvePinning } from "./pin.ts";
import { fmt, median, type Row, spread } from "./rows.ts";

const FN = "echo";
const BYTES = 16;
const WINDOW = 1000;
const BUN = process.execPath;

/** A job server kind of the comparison; the first is the reference of the ratios. */
interface ServerKind {
  readonly id: "gearmand-t1" | "gearmand" | "embedded" | "bun-floor";
  readonly label: string;
  start(count: number): Promise<JobServer[]>;
}

const SERVER_KINDS: readonly ServerKind[] = [
  {
    id: "gearmand-t1",
    label: "gearmand --threads 1 (reference)",
    start: async () => [await startJobServer("gearmand", null, ["--threads", "1"])],
  },
  {
    id: "gearmand",
    label: "gearmand, default flags (4 I/O threads)",
    start: async () => [await startJobServer("gearmand")],
  },
  {
    id: "embedded",
    label: "gearbun embedded server",
    start: async (count) => startEmbedded(count),
  },
  {
    id: "bun-floor",
    label: "Bun floor server",
    start: async () => [await startFloor()],
  },
];

/** The Bun floor server (bench/peers/floor-server.ts) in a process of its own. */
async function startFloor(): Promise<JobServer> {
  const peer = spawnPeer("floor-server", [BUN, join(PEERS_DIR, "floor-server.ts")]);
  const port = (await peer.firstJson(20_000))?.port;
  if (typeof port !== "number") {
    await peer.stop(500);
    throw new Error(`floor server did not start: ${peer.stderr().slice(-2000)}`);
  }
  return { address: `127.0.0.1:${port}`, pid: peer.pid, stop: async () => void (await peer.stop(2000)) };
}

/** `count` embedded servers in one process (bench/peers/gearbun-server.ts --count). */
async function startEmbedded(count: number): Promise<JobServer[]> {
  if (count === 1) return [await startJobServer("embedded")];
  const peer = spawnPeer("gearbun-server", [BUN, join(PEERS_DIR, "gearbun-server.ts"), "--count", String(count)]);
  const hello = await peer.firstJson(20_000);
  const ports = hello?.ports;
  if (!Array.isArray(ports) || ports.length !== count) {
    await peer.stop(500);
    throw new Error(`embedded servers did not start: ${peer.stderr().slice(-2000)}`);
  }
  // One process: its CPU is counted once, through the first server.
  return ports.map((port, i) => ({
    address: `127.0.0.1:${port}`,
    pid: i === 0 ? peer.pid : -1,
    stop: i === 0 ? async () => void (await peer.stop(2000)) : async () => {},
  }));
}

/** A load generator and the worker that answers it. */
interface Pairing {
  readonly id: "gearbun" | "c";
  readonly label: string;
  worker(servers: readonly string[]): string[];
  loadgen(servers: readonly string[], jobs: number): string[];
}

function pairings(c: CPeers | null): Pairing[] {
  const list: Pairing[] = [
    {
      id: "gearbun",
      label: "gearbun client + gearbun worker (concurrency 16)",
      worker: (servers) => [
        BUN,
        join(PEERS_DIR, "gearbun-worker.ts"),
        "--servers",
        servers.join(","),
        "--fn",
        FN,
        "--concurrency",
        "16",
      ],
      loadgen: (servers, jobs) => [
        BUN,
        join(PEERS_DIR, "gearbun-submitter.ts"),
        "--servers",
        servers.join(","),
        "--fn",
        FN,
        "--jobs",
        String(jobs),
        "--bytes",
        String(BYTES),
        "--window",
        String(WINDOW),
      ],
    },
  ];
  if (c !== null) {
    list.push({
      id: "c",
      label: "libgearman load generator + libgearman C worker",
      worker: (servers) => [c.worker, "-s", servers.join(","), "-f", FN],
      loadgen: (servers, jobs) => [
        c.submitter,
        "-s",
        servers.join(","),
        "-f",
        FN,
        "-n",
        String(jobs),
        "-p",
        String(BYTES),
        "-w",
        String(WINDOW),
      ],
    });
  }
  return list;
}

export interface ServerRefOptions {
  jobs: number;
  runs: number;
  /** Embedded servers in the embedded row (one process). */
  servers: number;
  /** Pairing ids to run, or null for all. */
  pairs: readonly string[] | null;
  /** Server kind ids to run, or null for all. */
  kinds?: readonly string[] | null;
  /** CPU pinning (bench/pin.ts). @default "split" */
  pin: PinMode;
  progress(line: string, final?: boolean): void;
  log(line: string): void;
}

interface Measured {
  jobsPerSecond: number;
  serverCpuNs: number;
  workerCpuNs: number;
  loadgenCpuUs: number;
}

/** A server kind under test with its worker, alive for the whole pairing. */
interface Setup {
  readonly kind: ServerKind;
  readonly servers: JobServer[];
  readonly worker: Peer;
  readonly runs: Measured[];
}

/** Whether `--kinds` (or its absence) includes this server kind. */
const selected = (opts: ServerRefOptions, kind: ServerKind): boolean => {
  const kinds = opts.kinds ?? null;
  return kinds === null || kinds.includes(kind.id);
};

const timeoutFor = (jobs: number): number => 30_000 + jobs * 2;

async function oneRun(pair: Pairing, setup: Setup, jobs: number, pin: Pinning): Promise<Measured> {
  const addresses = setup.servers.map((s) => s.address);
  const spids = setup.servers.map((s) => s.pid).filter((p) => p > 0);
  const sBefore = spids.map((p) => cpuSnapshot(p));
  const wBefore = cpuSnapshot(setup.worker.pid);
  const gen = spawnPeer(`loadgen-${pair.id}`, [...pin.prefix("worker"), ...pair.loadgen(addresses, jobs)]);
  const timer = setTimeout(() => gen.proc.kill("SIGKILL"), timeoutFor(jobs));
  try {
    const code = await gen.proc.exited;
    const serverCpuNs = spids.reduce((sum, p, i) => sum + cpuDeltaNs(sBefore[i]!, cpuSnapshot(p)), 0);
    const workerCpuNs = cpuDeltaNs(wBefore, cpuSnapshot(setup.worker.pid));
    const r = (await gen.firstJson(1000)) as {
      jobs?: number;
      ok?: number;
      elapsed_ms?: number;
      cpu_us?: number;
    } | null;
    if (code !== 0 || r === null || r.ok !== jobs || !(r.elapsed_ms! > 0)) {
      throw new Error(
        `load generator ${pair.id} failed (exit ${code}): ${JSON.stringify(r)} ${gen.stderr().slice(-800)}`,
      );
    }
    return { jobsPerSecond: (jobs * 1000) / r.elapsed_ms!, serverCpuNs, workerCpuNs, loadgenCpuUs: r.cpu_us ?? 0 };
  } finally {
    clearTimeout(timer);
    await gen.stop(500);
  }
}

/** Where the row's processes ran, for its note. */
const pinText = (pin: Pinning): string =>
  pin.mode === "off"
    ? `not pinned${pin.fallback !== null ? ` (${pin.fallback})` : ""}`
    : pin.mode === "same"
      ? `pin same: every process on CPU ${pin.cpu("server")}`
      : `pin split: job servers on CPU ${pin.cpu("server")}, worker and load generator on CPU ${pin.cpu("worker")}`;

async function pairingRows(pair: Pairing, opts: ServerRefOptions, pin: Pinning): Promise<Row[]> {
  const caseId = opts.servers === 1 ? `server-ref-${pair.id}` : `server-ref-${pair.id}-${opts.servers}srv`;
  const caseTitle = `16 B foreground, ${fmt(WINDOW)} in flight, ${pair.label}${opts.servers > 1 ? `; embedded: ${opts.servers} servers in one process` : ""}`;
  const setups: Setup[] = [];
  const failed = new Map<string, string>();
  try {
    for (const kind of SERVER_KINDS) {
      if (!selected(opts, kind)) continue;
      try {
        opts.progress(`${caseId} · ${kind.label} · starting`);
        const servers = await kind.start(kind.id === "embedded" ? opts.servers : 1);
        const spids = servers.map((x) => x.pid).filter((p) => p > 0);
        for (const pid of spids) pin.pinRunning(pid, "server");
        const worker = spawnPeer(`worker-${pair.id}`, [
          ...pin.prefix("worker"),
          ...pair.worker(servers.map((x) => x.address)),
        ]);
        const live: Setup = { kind, servers, worker, runs: [] };
        setups.push(live);
        const poller = new StatusPoller(servers.map((s) => s.address));
        try {
          await poller.waitWorkers(FN, 1, 30_000, () => (worker.proc.exitCode !== null ? worker.stderr() : null));
        } finally {
          await poller.close();
        }
        assertPinned(spids, pin.cpu("server"), "job server");
        assertPinned([worker.pid], pin.cpu("worker"), "worker");
        opts.progress(`${caseId} · ${kind.label} · warm-up`);
        await oneRun(pair, live, Math.max(200, Math.ceil(opts.jobs / 10)), pin);
      } catch (error) {
        failed.set(kind.id, error instanceof Error ? error.message : String(error));
      }
    }
    for (let r = 1; r <= opts.runs; r++) {
      for (const setup of setups) {
        if (failed.has(setup.kind.id)) continue;
        opts.progress(`${caseId} · ${setup.kind.label} · run ${r}/${opts.runs} (${fmt(opts.jobs)} jobs)`);
        try {
          const m = await oneRun(pair, setup, opts.jobs, pin);
          setup.runs.push(m);
          opts.progress(
            `${caseId} · ${setup.kind.label} · run ${r}: ${fmt(m.jobsPerSecond)} jobs/s, server ${(m.serverCpuNs / 1000 / opts.jobs).toFixed(1)} µs/job`,
            true,
          );
        } catch (error) {
          failed.set(setup.kind.id, error instanceof Error ? error.message : String(error));
        }
      }
    }
  } finally {
    await Promise.allSettled(setups.map((s) => s.worker.stop(2000)));
    await Promise.allSettled(setups.flatMap((s) => s.servers.map((x) => x.stop())));
  }
  const rows: Row[] = SERVER_KINDS.filter((k) => selected(opts, k)).map((kind) => {
    const head = {
      section: "server" as const,
      caseId,
      caseTitle,
      peerId: kind.id,
      label: kind.label,
      bytes: BYTES,
      jobs: opts.jobs,
    };
    const setup = setups.find((s) => s.kind.id === kind.id);
    const why = failed.get(kind.id);
    if (why !== undefined || setup === undefined || setup.runs.length === 0) {
      return { ...head, status: "failed" as const, note: (why ?? "did not start").replace(/\s+/g, " ").slice(0, 300) };
    }
    const per = (ns: number): number => ns / 1000 / opts.jobs;
    return {
      ...head,
      status: "ok" as const,
      jobsPerSecond: spread(setup.runs.map((m) => m.jobsPerSecond)),
      cpuUsPerJob: median(setup.runs.map((m) => per(m.serverCpuNs))),
      serverCpuUsPerJob: median(setup.runs.map((m) => per(m.serverCpuNs))),
      serverCpuSpread: spread(setup.runs.map((m) => per(m.serverCpuNs))),
      workerCpuUsPerJob: median(setup.runs.map((m) => per(m.workerCpuNs))),
      pin: pinText(pin),
      note: pinText(pin),
    };
  });
  return withVerdict(rows);
}

/**
 * Ratios to gearmand --threads 1; the embedded row's note says whether issue 26's targets are met
 * (jobs/s at least --threads 1's, server CPU per job at most 1.3× its) and how it compares with
 * the Bun floor in the same run.
 */
function withVerdict(rows: Row[]): Row[] {
  const ref = rows.find((r) => r.peerId === "gearmand-t1");
  if (ref?.jobsPerSecond === undefined) return rows;
  const floor = rows.find((r) => r.peerId === "bun-floor");
  return rows.map((r) => {
    if (r.jobsPerSecond === undefined) return r;
    const ratio = {
      jobsPerSecond: r.jobsPerSecond.median / ref.jobsPerSecond!.median,
      cpu: (r.cpuUsPerJob ?? Number.NaN) / (ref.cpuUsPerJob ?? Number.NaN),
    };
    if (r.peerId !== "embedded") return { ...r, ratio };
    const cpuMet = ratio.cpu <= 1.3;
    const rateMet = ratio.jobsPerSecond >= 1;
    const vsFloor =
      floor?.cpuUsPerJob !== undefined && floor.jobsPerSecond !== undefined
        ? `; vs the Bun floor: CPU ${((r.cpuUsPerJob ?? Number.NaN) / floor.cpuUsPerJob).toFixed(2)}×, jobs/s ${(r.jobsPerSecond.median / floor.jobsPerSecond.median).toFixed(2)}×`
        : "";
    const note = `${r.note !== undefined ? `${r.note}; ` : ""}vs --threads 1: CPU ${ratio.cpu.toFixed(2)}× (target ≤ 1.3×: ${cpuMet ? "met" : "MISSED"}), jobs/s ${ratio.jobsPerSecond.toFixed(2)}× (target ≥ 1×: ${rateMet ? "met" : "MISSED"})${vsFloor}`;
    return { ...r, ratio, note };
  });
}

/** Runs the selected pairings; never throws for a failing row (the row says why). */
export async function runServerRef(opts: ServerRefOptions): Promise<{ rows: Row[]; notes: string[] }> {
  installCleanup();
  if (!haveGearmandBinary()) {
    opts.log("SKIP server reference rows: gearmand is not installed (apt-get install gearman-job-server)");
    return { rows: [], notes: ["gearmand is not installed: no server reference figures"] };
  }
  const c = buildCPeers(opts.log);
  const notes: string[] =
    c === null ? ["libgearman-dev missing: the server reference ran with gearbun's peers only"] : [];
  const pin = resolvePinning(opts.pin);
  if (pin.fallback !== null) opts.log(`server reference rows not pinned: ${pin.fallback}`);
  notes.push(`Server reference rows: ${pinText(pin)}.`);
  const rows: Row[] = [];
  try {
    for (const pair of pairings(c)) {
      if (opts.pairs !== null && !opts.pairs.includes(pair.id)) continue;
      rows.push(...(await pairingRows(pair, opts, pin)));
    }
  } finally {
    await stopAll();
  }
  return { rows, notes };
}

/** The rows as a text or markdown table's cells. */
export function serverRefCells(rows: readonly Row[]): { header: string[]; rows: string[][] } {
  const n = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(1));
  const x = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? "–" : `${v.toFixed(2)}×`);
  return {
    header: [
      "case",
      "server",
      "jobs/run",
      "jobs/s (median)",
      "min – max",
      "× --threads 1",
      "server CPU µs/job",
      "min – max",
      "× --threads 1",
      "worker CPU µs/job",
      "note",
    ],
    rows: rows
      .filter((r) => r.section === "server")
      .map((r) => {
        const ok = r.jobsPerSecond !== undefined;
        return [
          r.caseId,
          r.label,
          fmt(r.jobs),
          ok ? fmt(r.jobsPerSecond!.median) : r.status,
          ok ? `${fmt(r.jobsPerSecond!.min)} – ${fmt(r.jobsPerSecond!.max)}` : "–",
          x(r.ratio?.jobsPerSecond),
          n(r.serverCpuUsPerJob),
          r.serverCpuSpread ? `${n(r.serverCpuSpread.min)} – ${n(r.serverCpuSpread.max)}` : "–",
          x(r.ratio?.cpu),
          n(r.workerCpuUsPerJob),
          r.note ?? "",
        ];
      }),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      jobs: { type: "string", default: "50000" },
      runs: { type: "string", default: "3" },
      servers: { type: "string", default: "1" },
      pair: { type: "string" },
      kinds: { type: "string" },
      pin: { type: "string", default: DEFAULT_PIN },
      "dry-run": { type: "boolean", default: false },
    },
  });
  const jobs = Number(values.jobs);
  const runs = Number(values.runs);
  const servers = Number(values.servers);
  if (![jobs, runs, servers].every((v) => Number.isInteger(v) && v >= 1)) {
    console.error("server-ref: --jobs, --runs and --servers must be whole numbers >= 1");
    process.exit(2);
  }
  const pin = values.pin as PinMode;
  if (!PIN_MODES.includes(pin)) {
    console.error(`server-ref: --pin must be one of ${PIN_MODES.join(", ")}, got "${values.pin}"`);
    process.exit(2);
  }
  const pairs = values.pair?.split(",").map((s) => s.trim()) ?? null;
  const kinds = values.kinds?.split(",").map((s) => s.trim()) ?? null;
  const unknown = kinds?.filter((k) => !SERVER_KINDS.some((s) => s.id === k)) ?? [];
  if (unknown.length > 0) {
    console.error(`server-ref: --kinds takes ${SERVER_KINDS.map((s) => s.id).join(", ")}; got "${unknown.join(", ")}"`);
    process.exit(2);
  }
  if (values["dry-run"]) {
    for (const pair of ["gearbun", "c"].filter((p) => pairs === null || pairs.includes(p))) {
      for (const kind of SERVER_KINDS.filter((k) => kinds === null || kinds.includes(k.id)))
        console.log(`${pair.padEnd(8)} ${kind.label}: ${runs} × ${fmt(jobs)} jobs`);
    }
    process.exit(0);
  }
  const { progressPrinter } = await import("./report.ts");
  const printer = progressPrinter();
  const result = await runServerRef({
    jobs,
    runs,
    servers,
    pairs,
    kinds,
    pin,
    progress: printer.progress,
    log: printer.log,
  });
  printer.done();
  const t = serverRefCells(result.rows);
  console.log(`| ${t.header.join(" | ")} |\n|${t.header.map(() => "---").join("|")}|`);
  for (const r of t.rows) console.log(`| ${r.join(" | ")} |`);
  for (const note of result.notes) console.log(`note: ${note}`);
  process.exit(result.rows.some((r) => r.status === "failed") ? 1 : 0);
}
