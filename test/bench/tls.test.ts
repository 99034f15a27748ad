/**
 * bench/tls.ts stays runnable: a tiny run (200 jobs, one run per row) gives both rows with
 * figures, and the table shows them. This is a smoke test, not a measurement.
 */
import { expect, test } from "bun:test";
import { runTlsBench, tlsTable } from "../../bench/tls.ts";

test("bench tls - a tiny run gives a plaintext and a TLS row with figures", async () => {
  const rows = await runTlsBench({ jobs: 200, runs: 1 });
  expect(rows.map((r) => r.row)).toEqual(["plaintext", "TLS (mutual)"]);
  for (const r of rows) {
    expect(r.jobsPerSecond).toBeGreaterThan(0);
    expect(r.serverCpuUs).toBeGreaterThan(0);
    expect(r.peersCpuUs).toBeGreaterThan(0);
  }
  const table = tlsTable(rows);
  expect(table).toContain("| plaintext | 200 |");
  expect(table).toContain("| TLS (mutual) | 200 |");
});
