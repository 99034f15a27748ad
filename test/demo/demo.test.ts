/**
 * The demo, small: the table and verdict of `gearbun demo`, and `gearbun demo --naive`, where
 * the forced lost wake-up starves the naive W3 on server B and gearbun's W3 is not affected.
 */
import { describe, expect, test } from "bun:test";
import { runDemo, type DemoOptions } from "../../src/demo/demo.ts";
import { emptyTally, countJob, findStalls, verdict, type DemoResult } from "../../src/demo/report.ts";
import { startServer } from "../../src/server/server.ts";

const SMALL: DemoOptions = { workers: 4, clients: 2, jobs: 50, rounds: 3, workMs: 1, pauseMs: 50 };

async function demo(options: Partial<DemoOptions>): Promise<{ ok: boolean; lines: string[] }> {
  const lines: string[] = [];
  const ok = await runDemo({ ...SMALL, ...options, print: (line) => lines.push(line) });
  return { ok, lines };
}

/** The rows of the table that starts with `title`: first cell → the other cells. */
function table(lines: string[], title: string): Map<string, string[]> {
  const start = lines.findIndex((l) => l.startsWith(title));
  expect(start).toBeGreaterThanOrEqual(0);
  const rows = new Map<string, string[]>();
  for (const line of lines.slice(start + 1)) {
    if (line.includes("jobs/s overall")) break;
    const cells = line.trim().split(/\s{2,}/);
    if (cells[0]!.startsWith("-") || cells[0] === "R1") continue;
    rows.set(cells[0]!, cells.slice(1));
  }
  return rows;
}

/** "12+13" → [12, 13]. */
const split = (cell: string | undefined): number[] => (cell ?? "").split("+").map(Number);

describe("demo", () => {
  test("demo - every worker receives jobs in every round: table and verdict", async () => {
    const { ok, lines } = await demo({});
    expect(ok).toBe(true);
    expect(lines[0]).toMatch(
      /^gearbun demo: 4 worker processes on 127\.0\.0\.1:\d+ \+ 127\.0\.0\.1:\d+, 2 clients x 50 foreground jobs x 3 rounds \(embedded job servers\)$/,
    );
    expect(lines.filter((l) => /^gearbun round \d\/3 \[#{30}\] 100\/100 \d+ ms$/.test(l))).toHaveLength(3);
    const rows = table(lines, "gearbun: jobs per worker and per server, by round");
    expect([...rows.keys()].slice(0, 4)).toEqual(["W1", "W2", "W3", "W4"]);
    let all = 0;
    for (const id of ["W1", "W2", "W3", "W4"]) {
      const [r1, r2, r3, total] = rows.get(id)!.map(Number);
      for (const n of [r1!, r2!, r3!]) expect(n).toBeGreaterThan(0);
      expect(total).toBe(r1! + r2! + r3!);
      all += total!;
    }
    expect(all).toBe(300);
    const servers = [...rows.keys()].slice(4);
    expect(servers).toHaveLength(2);
    for (let r = 0; r < 3; r++) expect(servers.reduce((a, s) => a + Number(rows.get(s)![r]), 0)).toBe(100);
    expect(lines.at(-2)).toMatch(/^ {2}\d+ jobs\/s overall; 0 wrong results, 0 failed jobs$/);
    expect(lines.at(-1)).toBe("  verdict: gearbun: every worker received jobs in every round");
  });

  test("demo - naive: the forced lost wake-up starves W3 on B; gearbun's W3 keeps taking B's jobs", async () => {
    const { ok, lines } = await demo({ naive: true });
    expect(ok).toBe(true);
    expect(lines[0]).toMatch(
      /^gearbun demo --naive: 4 naive worker processes, then 4 gearbun worker processes, on A = [\d.:]+, B = [\d.:]+/,
    );
    const forced = lines.filter((l) => l.includes("forcing the race"));
    expect(forced).toHaveLength(2);
    for (const l of forced)
      expect(l).toMatch(
        /^ {2}forcing the race: W3 busy with a held job from A while a job on B wakes it; W[124] takes B's job$/,
      );
    // Forced before round 3: after the two rounds of its progress lines.
    expect(lines.indexOf(forced[0]!)).toBe(lines.findIndex((l) => l.startsWith("naive   round 2/3")) + 1);

    const naive = table(lines, "naive: jobs per worker and per server, by round (cells: from A + from B)");
    const w3 = naive.get("W3")!;
    expect(split(w3[0])[1]).toBeGreaterThan(0); // rounds 1 and 2: jobs from B too
    expect(split(w3[1])[1]).toBeGreaterThan(0);
    expect(split(w3[2])).toEqual([expect.any(Number), 0]); // round 3: nothing from B
    expect(split(w3[2])[0]).toBeGreaterThan(0); // ... though it still works for A
    expect(lines).toContain("  verdict: naive: W3 never received a job from B after round 2");

    const gearbun = table(lines, "gearbun: jobs per worker and per server, by round (cells: from A + from B)");
    for (const id of ["W1", "W2", "W3", "W4"]) {
      for (const c of gearbun.get(id)!.slice(0, 3)) for (const n of split(c)) expect(n).toBeGreaterThan(0);
    }
    expect(lines.slice(-3)).toEqual([
      "verdicts:",
      "  naive: W3 never received a job from B after round 2",
      "  gearbun: every worker received jobs in every round",
    ]);
  });

  test("demo - rounds give up on jobs no worker is woken for, and count them per server", async () => {
    await using a = await startServer({ port: 0, host: "127.0.0.1" });
    await using b = await startServer({ port: 0, host: "127.0.0.1", faults: { withholdNoop: true } });
    const { ok, lines } = await demo({
      workers: 2,
      jobs: 10,
      rounds: 2,
      stallMs: 300,
      servers: `${a.address},${b.address}`,
    });
    expect(ok).toBe(false);
    const progress = lines.filter((l) => l.startsWith("gearbun round"));
    expect(progress).toHaveLength(2);
    for (const l of progress) expect(l).toMatch(/, gave up on \d+ jobs \(none done for 300 ms\)$/);
    const rows = table(lines, "gearbun: jobs per worker and per server, by round");
    const never = Number(rows.get("never done")![2]);
    expect(never).toBeGreaterThan(0);
    expect(Number(rows.get(b.address)![2])).toBe(0);
    expect(Number(rows.get(a.address)![2]) + never).toBe(40);
    expect(lines.at(-1)).toBe(
      `  verdict: gearbun: W1, W2 never received a job from ${b.address}; ${never} jobs never done (${never} on ${b.address})`,
    );
  });

  test("demo - verdict: one clause per server and round, workers in order", () => {
    const rounds = [emptyTally(), emptyTally(), emptyTally()];
    for (const t of rounds) for (const w of ["W1", "W2", "W10"]) countJob(t, w, "A");
    for (const w of ["W1", "W2", "W10"]) countJob(rounds[0]!, w, "B");
    countJob(rounds[1]!, "W1", "B");
    countJob(rounds[2]!, "W1", "B");
    const stalls = findStalls(["W1", "W2", "W10"], ["A", "B"], rounds);
    expect(stalls).toEqual([
      { worker: "W2", server: "B", after: 1 },
      { worker: "W10", server: "B", after: 1 },
    ]);
    const result: DemoResult = {
      kind: "naive",
      workerIds: ["W1", "W2", "W10"],
      servers: ["A", "B"],
      rounds,
      starved: [],
      stalls,
      unfinished: 0,
      jobsPerSecond: 1,
      ok: false,
    };
    expect(verdict(result)).toBe("naive: W2, W10 never received a job from B after round 1");
    expect(verdict({ ...result, stalls: [], ok: true })).toBe("naive: every worker received jobs in every round");
  });
});
