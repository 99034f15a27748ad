/**
 * The soak's ledger check, pure (no processes, no files): what the clients saw, what the handlers
 * ran and which faults were injected, against docs/semantics.md.
 *
 * - Every foreground job of a client that ended normally settled: a result (its own) or a typed
 *   error. A killed client's unsettled jobs are "abandoned" (their caller is gone).
 * - A completed job ran at least once, and its result is its own.
 * - Every background job a server created ran at least once (the servers keep them in a durable
 *   store, so neither a server restart nor a killed worker loses one).
 * - A job that ran more than once is explained by an at-least-once path of the contract: an
 *   earlier run that never ended (its process was killed, or it was handed back at a stop
 *   deadline), or a fault that loses answers (a server killed or frozen, a worker killed, a
 *   rolling reload) between its first and its last start.
 */

/** One line a client process printed. */
export type ClientRecord =
  | { readonly ev: "submit"; readonly id: string; readonly kind: "fg" | "bg"; readonly at: number }
  | { readonly ev: "created"; readonly id: string; readonly at: number }
  | {
      readonly ev: "settled";
      readonly id: string;
      readonly at: number;
      /** "complete", or the error's code. */
      readonly outcome: string;
      readonly result?: string;
      readonly message?: string;
    };

/** One line a handler wrote: a run started or ended. */
export interface RunRecord {
  readonly id: string;
  readonly ev: "start" | "end";
  readonly pid: number;
  readonly at: number;
}

export type FaultKind = "kill-child" | "reload" | "kill-server" | "stop-server" | "restart-client";

export interface FaultRecord {
  readonly kind: FaultKind;
  readonly at: number;
  /** When the fault's effect was over (the server restarted or resumed), else `at`. */
  readonly until: number;
  readonly detail: string;
}

export interface ClientLedger {
  readonly name: string;
  /** False when the soak killed this client: its unsettled jobs are abandoned, not violations. */
  readonly endedNormally: boolean;
  readonly records: readonly ClientRecord[];
}

export interface LedgerCounts {
  foreground: number;
  completed: number;
  failedTyped: number;
  abandoned: number;
  background: number;
  backgroundNotCreated: number;
  runs: number;
  duplicates: number;
  duplicatesExplained: number;
  errorsByCode: Record<string, number>;
}

export interface LedgerVerdict {
  readonly counts: LedgerCounts;
  readonly violations: string[];
}

/** Faults after which a job may run again (docs/semantics.md, "When the job does not end in its handler"). */
const AT_LEAST_ONCE: ReadonlySet<FaultKind> = new Set(["kill-child", "reload", "kill-server", "stop-server"]);
/** Slack around a fault's window, ms: a run that started just before the fault may be the one it cut. */
const SLACK_MS = 2000;
/** Error codes a caller may see in the soak: each a typed GearmanError code. */
export const TYPED_CODES: ReadonlySet<string> = new Set([
  "CONNECTION_LOST",
  "HEARTBEAT_TIMEOUT",
  "NO_SERVERS",
  "CONNECT_FAILED",
  "CONNECT_TIMEOUT",
  "TIMEOUT",
  "CLOSED",
  "JOB_FAILED",
  "SERVER_ERROR",
]);

export function checkLedger(
  clients: readonly ClientLedger[],
  runs: readonly RunRecord[],
  faults: readonly FaultRecord[],
): LedgerVerdict {
  const violations: string[] = [];
  const counts: LedgerCounts = {
    foreground: 0,
    completed: 0,
    failedTyped: 0,
    abandoned: 0,
    background: 0,
    backgroundNotCreated: 0,
    runs: 0,
    duplicates: 0,
    duplicatesExplained: 0,
    errorsByCode: {},
  };
  const starts = new Map<string, RunRecord[]>();
  const ends = new Map<string, RunRecord[]>();
  for (const r of runs) {
    const into = r.ev === "start" ? starts : ends;
    let list = into.get(r.id);
    if (list === undefined) into.set(r.id, (list = []));
    list.push(r);
    if (r.ev === "start") counts.runs++;
  }

  for (const client of clients) {
    const submitted = new Map<string, "fg" | "bg">();
    const created = new Set<string>();
    const settled = new Map<string, Extract<ClientRecord, { ev: "settled" }>>();
    for (const r of client.records) {
      if (r.ev === "submit") submitted.set(r.id, r.kind);
      else if (r.ev === "created") created.add(r.id);
      else settled.set(r.id, r);
    }
    for (const [id, kind] of submitted) {
      const ran = starts.get(id)?.length ?? 0;
      const s = settled.get(id);
      if (kind === "fg") {
        counts.foreground++;
        if (s === undefined) {
          if (client.endedNormally) violations.push(`${id}: foreground job never settled at its client`);
          else counts.abandoned++;
          continue;
        }
        if (s.outcome === "complete") {
          counts.completed++;
          if (s.result !== `done:${id}`) violations.push(`${id}: completed with a result not its own: ${s.result}`);
          if (ran === 0) violations.push(`${id}: completed but no handler ever ran it`);
        } else {
          counts.errorsByCode[s.outcome] = (counts.errorsByCode[s.outcome] ?? 0) + 1;
          if (TYPED_CODES.has(s.outcome)) counts.failedTyped++;
          else violations.push(`${id}: settled with an untyped or unexpected error ${s.outcome}: ${s.message ?? ""}`);
        }
      } else {
        counts.background++;
        if (!created.has(id)) {
          counts.backgroundNotCreated++;
          continue;
        }
        if ((ends.get(id)?.length ?? 0) === 0) violations.push(`${id}: background job created but never ran to its end`);
      }
    }
  }

  for (const [id, list] of starts) {
    if (list.length < 2) continue;
    counts.duplicates++;
    const ordered = [...list].sort((a, b) => a.at - b.at);
    const first = ordered[0]!.at;
    const last = ordered.at(-1)!.at;
    const ended = ends.get(id) ?? [];
    // An earlier run that never ended: its process died or it was handed back.
    const cut = ordered.slice(0, -1).some((s) => !ended.some((e) => e.pid === s.pid && e.at >= s.at));
    const fault = faults.some(
      (f) => AT_LEAST_ONCE.has(f.kind) && f.at <= last + SLACK_MS && f.until >= first - SLACK_MS,
    );
    if (cut || fault) counts.duplicatesExplained++;
    else violations.push(`${id}: ran ${list.length} times with no at-least-once path to explain it`);
  }
  return { counts, violations };
}
