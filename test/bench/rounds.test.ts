import { describe, expect, test } from "bun:test";
import { mergeRounds } from "../../bench/rounds.ts";
import type { Row } from "../../bench/rows.ts";

const row = (peerId: string, jobsPerSecond: number, cpu: number, ratio?: number, note?: string): Row => ({
  section: "worker",
  caseId: "fg-16b",
  caseTitle: "16 B foreground",
  peerId,
  label: peerId,
  bytes: 16,
  jobs: 1000,
  status: "ok",
  jobsPerSecond: { median: jobsPerSecond, min: jobsPerSecond - 10, max: jobsPerSecond + 10 },
  cpuUsPerJob: cpu,
  ...(ratio !== undefined ? { ratio: { jobsPerSecond: ratio, cpu: ratio } } : {}),
  ...(note !== undefined ? { note } : {}),
});

describe("bench rounds", () => {
  test("bench rounds - ratios are the median of each round's own ratio, not a ratio of medians", () => {
    // The machine drifts: round 2 is slow for both peers. Paired ratios 1.05, 1.2, 1.1 → 1.1; the
    // ratio of the medians (1,050 / 990) would read 1.06.
    const rounds = [
      [row("c", 1000, 30, 1), row("gearbun", 1050, 20, 1.05)],
      [row("c", 500, 60, 1), row("gearbun", 600, 40, 1.2)],
      [row("c", 990, 31, 1), row("gearbun", 1089, 21, 1.1)],
    ];
    const [c, gearbun] = mergeRounds(rounds);
    expect(c!.peerId).toBe("c");
    expect(c!.jobsPerSecond!.median).toBe(990);
    expect(gearbun!.ratio!.jobsPerSecond).toBeCloseTo(1.1, 10);
    expect(gearbun!.jobsPerSecond).toEqual({ median: 1050, min: 590, max: 1099 });
    expect(gearbun!.cpuUsPerJob).toBe(21);
    expect(gearbun!.jobs).toBe(1000); // describes the row: not a median
  });

  test("bench rounds - one round is returned as it is", () => {
    const only = [row("c", 1000, 30, 1, "pin split")];
    expect(mergeRounds([only])).toEqual(only);
  });

  test("bench rounds - a round that failed is left out and counted in the note", () => {
    const failed: Row = { ...row("gearbun", 0, 0), status: "failed", note: "worker died" };
    delete (failed as { jobsPerSecond?: unknown }).jobsPerSecond;
    const [merged] = mergeRounds([
      [row("gearbun", 1000, 20, 1.2, "pin split")],
      [failed],
      [row("gearbun", 800, 22, 1.0)],
    ]);
    expect(merged!.status).toBe("ok");
    expect(merged!.jobsPerSecond!.median).toBe(900);
    expect(merged!.ratio!.jobsPerSecond).toBeCloseTo(1.1, 10);
    expect(merged!.note).toBe("pin split | failed in 1 of 3 rounds");
  });

  test("bench rounds - a row that failed in every round stays failed and says so", () => {
    const failed: Row = { ...row("c", 0, 0), status: "failed", note: "no gearmand" };
    const [merged] = mergeRounds([[failed], [failed]]);
    expect(merged!.status).toBe("failed");
    expect(merged!.note).toBe("failed in all 2 rounds: no gearmand");
  });

  test("bench rounds - rows of different cases or peers are never merged together", () => {
    const other: Row = { ...row("c", 50, 5, 1), caseId: "bg-16b" };
    const merged = mergeRounds([
      [row("c", 1000, 30, 1), other],
      [row("c", 1000, 30, 1), other],
    ]);
    expect(merged.map((r) => `${r.caseId}/${r.peerId}`)).toEqual(["fg-16b/c", "bg-16b/c"]);
  });
});
