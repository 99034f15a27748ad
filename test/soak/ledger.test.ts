/**
 * The soak's ledger check (scripts/soak/ledger.ts), on hand-made ledgers: each rule of
 * docs/semantics.md it enforces is broken once and must be named, and the at-least-once paths
 * must explain a duplicate run.
 */
import { describe, expect, test } from "bun:test";
import {
  type ClientLedger,
  type ClientRecord,
  checkLedger,
  type FaultRecord,
  type RunRecord,
} from "../../scripts/soak/ledger.ts";

const T0 = 1_000_000;
const client = (records: ClientRecord[], endedNormally = true): ClientLedger => ({
  name: "c1",
  endedNormally,
  records,
});
const fg = (id: string, outcome = "complete", result = `done:${id}`): ClientRecord[] => [
  { ev: "submit", id, kind: "fg", at: T0 },
  { ev: "settled", id, at: T0 + 10, outcome, ...(outcome === "complete" ? { result } : { message: "x" }) },
];
const run = (id: string, at: number, pid = 1, ended = true): RunRecord[] => [
  { id, ev: "start", pid, at },
  ...(ended ? [{ id, ev: "end" as const, pid, at: at + 5 }] : []),
];

describe("soak ledger", () => {
  test("soak ledger - a clean run: every job settled with its own result, background jobs ran; no violation", () => {
    const v = checkLedger(
      [
        client([
          ...fg("fg:1"),
          ...fg("fg:2", "HEARTBEAT_TIMEOUT"),
          { ev: "submit", id: "bg:1", kind: "bg", at: T0 },
          { ev: "created", id: "bg:1", at: T0 + 1 },
        ]),
      ],
      [...run("fg:1", T0 + 2), ...run("bg:1", T0 + 3)],
      [],
    );
    expect(v.violations).toEqual([]);
    expect(v.counts).toMatchObject({
      foreground: 2,
      completed: 1,
      failedTyped: 1,
      background: 1,
      runs: 2,
      duplicates: 0,
    });
  });

  test("soak ledger - each broken rule is named: unsettled, foreign result, never ran, untyped error, lost background job", () => {
    const v = checkLedger(
      [
        client([
          { ev: "submit", id: "fg:open", kind: "fg", at: T0 },
          ...fg("fg:wrong", "complete", "done:fg:other"),
          ...fg("fg:ghost"),
          ...fg("fg:odd", "UNTYPED"),
          { ev: "submit", id: "bg:lost", kind: "bg", at: T0 },
          { ev: "created", id: "bg:lost", at: T0 + 1 },
        ]),
      ],
      run("fg:wrong", T0 + 2),
      [],
    );
    expect(v.violations).toEqual([
      "fg:open: foreground job never settled at its client",
      "fg:wrong: completed with a result not its own: done:fg:other",
      "fg:ghost: completed but no handler ever ran it",
      "fg:odd: settled with an untyped or unexpected error UNTYPED: x",
      "bg:lost: background job created but never ran to its end",
    ]);
  });

  test("soak ledger - a killed client's unsettled jobs are abandoned, not violations", () => {
    const v = checkLedger([client([{ ev: "submit", id: "fg:gone", kind: "fg", at: T0 }], false)], [], []);
    expect(v.violations).toEqual([]);
    expect(v.counts.abandoned).toBe(1);
  });

  test("soak ledger - a duplicate run is explained by a cut earlier run or a fault in its window, and only so", () => {
    const kill: FaultRecord = { kind: "kill-server", at: T0 + 100, until: T0 + 1200, detail: "" };
    const restartClient: FaultRecord = { kind: "restart-client", at: T0 + 100, until: T0 + 100, detail: "" };
    const runs = [
      ...run("fg:cut", T0, 7, false), // its process died mid-run
      ...run("fg:cut", T0 + 500, 8),
      ...run("fg:fault", T0 + 50),
      ...run("fg:fault", T0 + 1500),
      ...run("fg:twice", T0 + 50_000),
      ...run("fg:twice", T0 + 60_000),
    ];
    const clients = [client([...fg("fg:cut"), ...fg("fg:fault"), ...fg("fg:twice")])];
    const v = checkLedger(clients, runs, [kill, restartClient]);
    expect(v.counts).toMatchObject({ duplicates: 3, duplicatesExplained: 2 });
    expect(v.violations).toEqual(["fg:twice: ran 2 times with no at-least-once path to explain it"]);
    // Without the server kill, the second job has no explanation either (a client restart is none).
    expect(checkLedger(clients, runs, [restartClient]).violations).toHaveLength(2);
  });
});
