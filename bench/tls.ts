/**
 * The TLS rows of `bun run bench` (`--case tls`): TLS against plaintext on the embedded server,
 * jobs/s and CPU per job.
 *
 *   bun run bench --case tls --skip-codec          # 20,000 foreground jobs per run (--quick: 2,000)
 *   bun run bench --case tls --jobs 2000 --runs 1
 *   bun run bench --case tls --dry-run             # list the rows, run nothing
 *   bun run bench:tls                              # the same as --case tls --skip-codec --no-write
 *
 * Each row starts `gearbun server` as a process of its own (plaintext, or `--ssl` with a CA, so
 * every connection is mutual TLS), then a gearbun Worker (concurrency 16) and Client in this
 * process, over loopback. A run submits 16-byte echo jobs with at most 256 in flight and times
 * the first submit to the last result. Both rows are set up first and warmed up twice each (the
 * JIT otherwise charges its warm-up to whichever row runs first), then their measured runs
 * alternate; jobs/s is the median of a row's measured runs. CPU per job is the server process's (/proc schedstat) and this process's
 * (worker + client, process.cpuUsage) over the measured runs. Certificates are P-256, made with
 * openssl into a temporary directory.
 */
import { join } from "node:path";
import { Client } from "../src/client/client.ts";
import type { TlsOptions } from "../src/options.ts";
import { type LineProcess, spawnLines } from "../src/util/lines.ts";
import { Worker } from "../src/worker/worker.ts";
import { makeCerts, type TestCerts } from "../test/support/certs.ts";
import { cpuDeltaNs, cpuSnapshot } from "./proc.ts";
import type { ThroughputOptions } from "./options.ts";
import type { Row } from "./rows.ts";

const MAIN = join(import.meta.dir, "../src/cli/main.ts");
const IN_FLIGHT = 256;
const PAYLOAD = "0123456789abcdef";
const CASE_ID = "tls";
const CASE_TITLE =
  "16 B foreground, 256 in flight, embedded server (own process), Worker (concurrency 16) + Client in one process";
const JOBS = { full: 20_000, quick: 2_000 } as const;
/** Jobs per warm-up pass; each row gets two before any is measured. */
const WARM_UP_JOBS = 5_000;
const VARIANTS = [
  { id: "plaintext", tls: false },
  { id: "tls-mutual", tls: true },
] as const;

async function runJobs(client: Client, jobs: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < jobs) {
      next++;
      await client.submit("echo", PAYLOAD);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  return jobs / ((performance.now() - started) / 1000);
}

/** One row's server process, Worker and Client, and what its measured runs added up to. */
interface Setup {
  readonly tls: boolean;
  readonly server: LineProcess;
  readonly worker: Worker;
  readonly client: Client;
  readonly rates: number[];
  serverNs: number;
  peersUs: number;
}

async function open(tls: boolean, certs: TestCerts): Promise<Setup> {
  const flags = tls ? ["--ssl", "--ssl-certificate", certs.server.certFile, "--ssl-key", certs.server.keyFile] : [];
  if (tls) flags.push("--ssl-ca-file", certs.ca.certFile);
  const server = spawnLines([process.execPath, MAIN, "server", "--port", "0", ...flags], { name: "gearbun server" });
  try {
    const line = await server.waitLine((l) => /listening on (\S+) /.test(l), "gearbun server listening");
    const address = `${tls ? "tls://" : ""}${line.match(/listening on (\S+) /)![1]}`;
    const clientTls: TlsOptions | undefined = tls
      ? { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key }
      : undefined;
    const worker = new Worker({ servers: address, concurrency: 16, tls: clientTls });
    worker.register("echo", (job) => job.payload);
    await worker.start();
    const client = new Client({ servers: address, tls: clientTls });
    return { tls, server, worker, client, rates: [], serverNs: 0, peersUs: 0 };
  } catch (error) {
    server.proc.kill("SIGTERM");
    throw error;
  }
}

/** One measured run of a row: its jobs/s, and the CPU of its server and of this process. */
async function measuredRun(setup: Setup, jobs: number): Promise<void> {
  const serverBefore = cpuSnapshot(setup.server.proc.pid);
  const peersBefore = process.cpuUsage();
  setup.rates.push(await runJobs(setup.client, jobs));
  setup.serverNs += cpuDeltaNs(serverBefore, cpuSnapshot(setup.server.proc.pid));
  const peers = process.cpuUsage(peersBefore);
  setup.peersUs += peers.user + peers.system;
}

function row(setup: Setup, jobs: number): Row {
  const rates = [...setup.rates].sort((a, b) => a - b);
  const total = jobs * rates.length;
  return {
    section: "tls",
    caseId: CASE_ID,
    caseTitle: CASE_TITLE,
    peerId: setup.tls ? "tls-mutual" : "plaintext",
    label: setup.tls ? "TLS (mutual, P-256)" : "plaintext",
    bytes: PAYLOAD.length,
    jobs,
    status: "ok",
    jobsPerSecond: { median: rates[Math.floor(rates.length / 2)]!, min: rates[0]!, max: rates[rates.length - 1]! },
    cpuUsPerJob: setup.peersUs / total,
    serverCpuUsPerJob: setup.serverNs / 1000 / total,
  };
}

async function close(setup: Setup): Promise<void> {
  await setup.client.close();
  await setup.worker.stop();
  setup.server.proc.kill("SIGTERM");
  await setup.server.proc.exited;
}

/** Whether a run with these options measures the TLS rows. */
export function tlsSelected(opts: Pick<ThroughputOptions, "caseFilter">): boolean {
  return opts.caseFilter === null || opts.caseFilter.includes(CASE_ID);
}

/**
 * Measures the plaintext row, then the TLS row (with ratios to plaintext: jobs/s, and CPU per job
 * of worker + client); with `dryRun` lists them.
 */
export async function runTls(
  opts: Pick<ThroughputOptions, "quick" | "caseFilter" | "runs" | "jobsOverride" | "dryRun" | "progress" | "log">,
): Promise<{ rows: Row[]; notes: string[] }> {
  if (!tlsSelected(opts)) return { rows: [], notes: [] };
  const jobs = opts.jobsOverride ?? (opts.quick ? JOBS.quick : JOBS.full);
  if (opts.dryRun) {
    for (const v of VARIANTS)
      opts.log(
        `${CASE_ID.padEnd(16)} ${v.id.padEnd(16)} ${jobs.toLocaleString("en").padStart(8)} jobs/run × ${opts.runs} + warm-up`,
      );
    opts.log(`${VARIANTS.length} tls rows`);
    return { rows: [], notes: [] };
  }
  using certs = makeCerts();
  const setups: Setup[] = [];
  try {
    for (const v of VARIANTS) setups.push(await open(v.tls, certs));
    // Both rows live in this process: warm-ups for both first, then the measured runs
    // interleaved, so JIT warm-up and slow spells of the machine fall on neither row alone.
    opts.progress(`tls: warm-up of ${VARIANTS.map((v) => v.id).join(" and ")}…`);
    for (let w = 0; w < 2; w++) for (const s of setups) await runJobs(s.client, Math.min(jobs, WARM_UP_JOBS));
    for (let r = 0; r < opts.runs; r++) {
      for (const [i, s] of setups.entries()) {
        opts.progress(`[tls run ${r + 1}/${opts.runs}] ${VARIANTS[i]!.id}: ${jobs} jobs…`);
        await measuredRun(s, jobs);
      }
    }
  } finally {
    for (const s of setups) await close(s);
  }
  const rows = setups.map((s) => row(s, jobs));
  const base = rows[0]!;
  const withRatio = rows.map((r, i) =>
    i === 0
      ? r
      : {
          ...r,
          ratio: {
            jobsPerSecond: r.jobsPerSecond!.median / base.jobsPerSecond!.median,
            cpu: r.cpuUsPerJob! / base.cpuUsPerJob!,
          },
        },
  );
  return { rows: withRatio, notes: [] };
}
