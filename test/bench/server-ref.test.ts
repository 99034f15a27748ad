/**
 * bench/server-ref.ts stays runnable: a tiny run gives one row per server kind with figures, the
 * ratios are to gearmand --threads 1 and the embedded row says whether the targets are met and how
 * it compares with the Bun floor server. A smoke test, not a measurement.
 */
import { expect, test } from "bun:test";
import { resolvePinning } from "../../bench/pin.ts";
import { runServerRef, serverRefCells } from "../../bench/server-ref.ts";
import { haveGearmand } from "../support/gearmand-process.ts";

const quiet = { progress: () => {}, log: () => {} };

test.skipIf(!haveGearmand())(
  "bench server-ref - a tiny run gives the four server rows with figures, pinned",
  async () => {
    const { rows } = await runServerRef({ jobs: 300, runs: 1, servers: 1, pairs: ["gearbun"], pin: "split", ...quiet });
    expect(rows.map((r) => [r.peerId, r.status])).toEqual([
      ["gearmand-t1", "ok"],
      ["gearmand", "ok"],
      ["embedded", "ok"],
      ["bun-floor", "ok"],
    ]);
    for (const r of rows) {
      expect(r.jobsPerSecond!.median).toBeGreaterThan(0);
      expect(r.serverCpuUsPerJob!).toBeGreaterThan(0);
    }
    expect(rows[0]!.ratio).toEqual({ jobsPerSecond: 1, cpu: 1 });
    expect(rows[2]!.note).toMatch(
      /target ≤ 1\.3×: (met|MISSED).*target ≥ 1×: (met|MISSED)\); vs the Bun floor: CPU \d+\.\d\d×, jobs\/s \d+\.\d\d×/,
    );
    // Pinned where the machine allows it (the rows fail when a pin did not take: assertPinned).
    const pinned = resolvePinning("split").mode === "split";
    for (const r of rows)
      expect(r.pin).toMatch(
        pinned ? /^pin split: job servers on CPU \d, worker and load generator on CPU \d$/ : /^not pinned/,
      );
    const table = serverRefCells(rows);
    expect(table.rows.map((r) => r[1])).toEqual([
      "gearmand --threads 1 (reference)",
      "gearmand, default flags (4 I/O threads)",
      "gearbun embedded server",
      "Bun floor server",
    ]);
  },
);

test.skipIf(!haveGearmand())("bench server-ref - --kinds runs only the listed servers", async () => {
  const { rows } = await runServerRef({
    jobs: 300,
    runs: 1,
    servers: 1,
    pairs: ["gearbun"],
    kinds: ["gearmand-t1", "bun-floor"],
    pin: "off",
    ...quiet,
  });
  expect(rows.map((r) => [r.peerId, r.status])).toEqual([
    ["gearmand-t1", "ok"],
    ["bun-floor", "ok"],
  ]);
  expect(rows[1]!.ratio?.jobsPerSecond).toBeGreaterThan(0);
});

test.skipIf(!haveGearmand())("bench server-ref - the embedded row can run several servers in one process", async () => {
  const { rows } = await runServerRef({ jobs: 300, runs: 1, servers: 3, pairs: ["gearbun"], pin: "off", ...quiet });
  expect(rows[0]!.caseId).toBe("server-ref-gearbun-3srv");
  expect(rows.find((r) => r.peerId === "embedded")?.status).toBe("ok");
});
