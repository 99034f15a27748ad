/**
 * `--rounds N`: the whole selection of rows runs N times in a row, so the peers of a case
 * alternate (C, gearbun, C, gearbun, …) instead of each running all its runs at once. On a small
 * shared machine the speed of the whole VM drifts over minutes; a ratio taken inside one round
 * compares peers measured seconds apart, and the median over rounds of those paired ratios is
 * what the tables then show. This module merges the rounds' rows; it never runs anything.
 */
import { median, type Row, type Spread } from "./rows.ts";

/** Fields of a row that are a spread of runs: median of the rounds' medians, min and max over all runs. */
const SPREADS = ["jobsPerSecond", "serverCpuSpread", "burstSeconds"] as const;
/** Fields that describe the row rather than measure it. */
const FIXED = new Set(["bytes", "jobs"]);

const rowKey = (r: Row): string => `${r.section}\u0000${r.caseId}\u0000${r.peerId}\u0000${r.label}`;

function mergeSpreads(spreads: readonly Spread[]): Spread {
  return {
    median: median(spreads.map((s) => s.median)),
    min: Math.min(...spreads.map((s) => s.min)),
    max: Math.max(...spreads.map((s) => s.max)),
  };
}

/** One row from the same row of every round (same section, case, peer and label). */
export function mergeRow(rows: readonly Row[]): Row {
  const ok = rows.filter((r) => r.status === "ok");
  if (ok.length === 0) {
    const first = rows[0]!;
    return rows.length === 1 ? first : { ...first, note: `failed in all ${rows.length} rounds: ${first.note ?? ""}` };
  }
  const merged: Record<string, unknown> = { ...ok[0]! };
  for (const [field, value] of Object.entries(ok[0]!)) {
    if (typeof value !== "number" || FIXED.has(field)) continue;
    const values = ok.map((r) => (r as unknown as Record<string, unknown>)[field]).filter((v) => typeof v === "number");
    merged[field] = median(values as number[]);
  }
  for (const field of SPREADS) {
    const spreads = ok.map((r) => r[field]).filter((s): s is Spread => s !== undefined);
    if (spreads.length > 0) merged[field] = mergeSpreads(spreads);
  }
  const ratios = ok.map((r) => r.ratio).filter((x) => x !== undefined);
  if (ratios.length > 0) {
    merged.ratio = {
      jobsPerSecond: median(ratios.map((x) => x.jobsPerSecond)),
      cpu: median(ratios.map((x) => x.cpu)),
    };
  }
  const notes = [...new Set(ok.map((r) => r.note).filter((n) => n !== undefined))];
  const failed = rows.length - ok.length;
  if (failed > 0) notes.push(`failed in ${failed} of ${rows.length} rounds`);
  if (notes.length > 0) merged.note = notes.join(" | ");
  else delete merged.note;
  return merged as unknown as Row;
}

/** Every round's rows merged row by row, in the order rows first appeared. */
export function mergeRounds(rounds: readonly (readonly Row[])[]): Row[] {
  if (rounds.length === 1) return [...rounds[0]!];
  const byKey = new Map<string, Row[]>();
  for (const round of rounds) {
    for (const row of round) {
      const key = rowKey(row);
      const list = byKey.get(key);
      if (list === undefined) byKey.set(key, [row]);
      else list.push(row);
    }
  }
  return [...byKey.values()].map(mergeRow);
}
