/**
 * TLS against plaintext on the embedded server: jobs/s and CPU per job, one row each.
 *
 *   bun run bench:tls                 # 20,000 foreground jobs per run, 3 measured runs per row
 *   bun run bench:tls --jobs 2000 --runs 1
 *   bun run bench:tls --dry-run       # list the rows, run nothing
 *
 * Each row starts `gearbun server` as a process of its own (plaintext, or `--ssl` with a CA, so
 * every connection is mutual TLS), then a gearbun Worker (concurrency 16) and Client in this
 * process, over loopback. A run submits `--jobs` 16-byte echo jobs with at most 256 in flight and
 * times the first submit to the last result; jobs/s is the median of the measured runs after one
 * unmeasured warm-up. CPU per job is the server process's (/proc schedstat) and this process's
 * (worker + client, process.cpuUsage) over the measured runs. Certificates are P-256, made with
 * openssl into a temporary directory.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Client } from "../src/client/client.ts";
import type { TlsOptions } from "../src/options.ts";
import { spawnLines } from "../src/util/lines.ts";
import { Worker } from "../src/worker/worker.ts";
import { makeCerts, type TestCerts } from "../test/support/certs.ts";
import { cpuDeltaNs, cpuSnapshot } from "./support.ts";

const MAIN = join(import.meta.dir, "../src/cli/main.ts");
const IN_FLIGHT = 256;
const PAYLOAD = "0123456789abcdef";

export interface TlsBenchRow {
  readonly row: "plaintext" | "TLS (mutual)";
  readonly jobs: number;
  readonly jobsPerSecond: number;
  readonly min: number;
  readonly max: number;
  /** Server process CPU, µs per job. */
  readonly serverCpuUs: number;
  /** Worker + client (this process) CPU, µs per job. */
  readonly peersCpuUs: number;
}

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

async function measure(tls: boolean, certs: TestCerts, jobs: number, runs: number): Promise<TlsBenchRow> {
  const flags = tls
    ? [
        "--ssl",
        "--ssl-certificate",
        certs.server.certFile,
        "--ssl-key",
        certs.server.keyFile,
        "--ssl-ca-file",
        certs.ca.certFile,
      ]
    : [];
  const server = spawnLines([process.execPath, MAIN, "server", "--port", "0", ...flags], { name: "gearbun server" });
  try {
    const line = await server.waitLine((l) => /listening on (\S+) /.test(l), "gearbun server listening");
    const address = `${tls ? "tls://" : ""}${line.match(/listening on (\S+) /)![1]}`;
    const clientTls: TlsOptions | undefined = tls
      ? { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key }
      : undefined;
    await using worker = new Worker({ servers: address, concurrency: 16, ...(clientTls ? { tls: clientTls } : {}) });
    worker.register("echo", (job) => job.payload);
    await worker.start();
    await using client = new Client({ servers: address, ...(clientTls ? { tls: clientTls } : {}) });
    await runJobs(client, Math.min(jobs, 2000)); // warm-up
    const serverBefore = cpuSnapshot(server.proc.pid);
    const peersBefore = process.cpuUsage();
    const rates: number[] = [];
    for (let r = 0; r < runs; r++) rates.push(await runJobs(client, jobs));
    const serverNs = cpuDeltaNs(serverBefore, cpuSnapshot(server.proc.pid));
    const peers = process.cpuUsage(peersBefore);
    const total = jobs * runs;
    rates.sort((a, b) => a - b);
    return {
      row: tls ? "TLS (mutual)" : "plaintext",
      jobs,
      jobsPerSecond: rates[Math.floor(rates.length / 2)]!,
      min: rates[0]!,
      max: rates[rates.length - 1]!,
      serverCpuUs: serverNs / 1000 / total,
      peersCpuUs: (peers.user + peers.system) / total,
    };
  } finally {
    server.proc.kill("SIGTERM");
    await server.proc.exited;
  }
}

/** Measures both rows; plaintext first. */
export async function runTlsBench(options: { jobs: number; runs: number }): Promise<TlsBenchRow[]> {
  using certs = makeCerts();
  return [
    await measure(false, certs, options.jobs, options.runs),
    await measure(true, certs, options.jobs, options.runs),
  ];
}

/** The rows as a markdown table, TLS's ratio to plaintext in the last column. */
export function tlsTable(rows: readonly TlsBenchRow[]): string {
  const plain = rows.find((r) => r.row === "plaintext");
  const n = (x: number): string => Math.round(x).toLocaleString("en-US");
  const lines = [
    "| row | jobs/run | jobs/s (median) | min – max | server CPU µs/job | worker+client CPU µs/job | jobs/s × plaintext |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    const ratio = plain ? (r.jobsPerSecond / plain.jobsPerSecond).toFixed(2) : "";
    lines.push(
      `| ${r.row} | ${n(r.jobs)} | ${n(r.jobsPerSecond)} | ${n(r.min)} – ${n(r.max)} | ${r.serverCpuUs.toFixed(1)} | ${r.peersCpuUs.toFixed(1)} | ${ratio} |`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      jobs: { type: "string", default: "20000" },
      runs: { type: "string", default: "3" },
      "dry-run": { type: "boolean", default: false },
    },
  });
  const jobs = Number(values.jobs);
  const runs = Number(values.runs);
  if (!Number.isInteger(jobs) || jobs < 1 || !Number.isInteger(runs) || runs < 1) {
    console.error("bench:tls: --jobs and --runs must be whole numbers >= 1");
    process.exit(2);
  }
  if (values["dry-run"]) {
    console.log(`plaintext: ${runs} × ${jobs} jobs\nTLS (mutual): ${runs} × ${jobs} jobs`);
  } else {
    console.log(tlsTable(await runTlsBench({ jobs, runs })));
  }
}
