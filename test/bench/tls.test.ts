/**
 * The TLS rows of `bun run bench` stay runnable: `--case tls` selects them and `--dry-run` lists
 * them; a tiny run (200 jobs, one run per row) gives both rows with figures and the report's
 * table shows them. A smoke test, not a measurement.
 */
import { expect, test } from "bun:test";
import { printTable } from "../../bench/report.ts";
import { parseThroughputArgs } from "../../bench/options.ts";
import { runTls, tlsSelected } from "../../bench/tls.ts";

const quiet = { progress: () => {}, log: () => {} };

test("bench tls - --case tls selects the rows and --dry-run lists them", async () => {
  expect(tlsSelected(parseThroughputArgs([]))).toBe(true);
  expect(tlsSelected(parseThroughputArgs(["--case", "tls"]))).toBe(true);
  expect(tlsSelected(parseThroughputArgs(["--case", "fg-16b"]))).toBe(false);
  const lines: string[] = [];
  const dry = await runTls({
    ...parseThroughputArgs(["--case", "tls", "--quick", "--dry-run"]),
    ...quiet,
    log: (l) => lines.push(l),
  });
  expect(dry.rows).toEqual([]);
  expect(lines.map((l) => l.split(/\s+/).slice(0, 2).join(" "))).toEqual(["tls plaintext", "tls tls-mutual", "2 tls"]);
});

test("bench tls - a tiny run gives a plaintext and a TLS row with figures, shown in the report", async () => {
  const { rows } = await runTls({
    ...parseThroughputArgs(["--case", "tls", "--jobs", "200", "--runs", "1"]),
    ...quiet,
  });
  expect(rows.map((r) => r.peerId)).toEqual(["plaintext", "tls-mutual"]);
  for (const r of rows) {
    expect(r.jobs).toBe(200);
    expect(r.jobsPerSecond!.median).toBeGreaterThan(0);
    expect(r.cpuUsPerJob).toBeGreaterThan(0);
    expect(r.serverCpuUsPerJob).toBeGreaterThan(0);
  }
  expect(rows[1]!.ratio!.jobsPerSecond).toBeGreaterThan(0);
  const printed: string[] = [];
  const log = console.log;
  console.log = (line: string) => printed.push(line);
  try {
    printTable({ rows, loadgen: "gearbun", runs: 1, notes: [] });
  } finally {
    console.log = log;
  }
  expect(printed.join("\n")).toContain("TLS against plaintext");
  expect(printed.join("\n")).toContain("TLS (mutual, P-256)");
});
