/**
 * `gearbun check`: a Nagios/Icinga plugin's verdict over a cluster. Exit codes 0 OK, 1 WARNING,
 * 2 CRITICAL, 3 UNKNOWN; one status line, then ` | ` and perfdata per function:
 * `'FUNC_waiting'=n;w;c;0 'FUNC_running'=n 'FUNC_worker'=n;W;C;0`, summed over the servers.
 *
 * Thresholds use the Nagios range syntax (plugin development guidelines): `N` alerts above N
 * (outside 0..N), `N:` below N, `~:N` above N, `A:B` outside A..B, `@A:B` inside A..B.
 * Whatever the thresholds, a server that does not answer is CRITICAL, and so is a function with
 * jobs waiting and no worker anywhere.
 */
import { sumFunctions, type FunctionTotals, type ServerSnapshot } from "../admin/cluster.ts";
import { ConfigError } from "../errors.ts";
import { CHECK_DEFAULTS } from "../options.ts";

export const CheckState = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 } as const;
export type CheckState = (typeof CheckState)[keyof typeof CheckState];
const NAMES = ["OK", "WARNING", "CRITICAL", "UNKNOWN"] as const;

/** A parsed Nagios range: alert when the value is outside [low, high] (inside, when `inside`). */
export interface Range {
  readonly text: string;
  readonly low: number;
  readonly high: number;
  readonly inside: boolean;
}

export function parseRange(text: string, option: string): Range {
  let body = text.trim();
  const inside = body.startsWith("@");
  if (inside) body = body.slice(1);
  const num = (s: string, fallback: number): number => {
    if (s === "") return fallback;
    if (s === "~") return Number.NEGATIVE_INFINITY;
    const n = Number(s);
    if (!Number.isFinite(n))
      throw new ConfigError(option, `bad threshold "${text}" (Nagios range: N, N:, ~:N, A:B, @A:B)`);
    return n;
  };
  const colon = body.indexOf(":");
  const low = colon < 0 ? 0 : num(body.slice(0, colon), 0);
  const high = colon < 0 ? num(body, Number.NaN) : num(body.slice(colon + 1), Number.POSITIVE_INFINITY);
  if (Number.isNaN(high) || body === "" || low > high) {
    throw new ConfigError(option, `bad threshold "${text}" (Nagios range: N, N:, ~:N, A:B, @A:B)`);
  }
  return { text: text.trim(), low, high, inside };
}

/** True when `value` should raise an alert for `range`. */
export function alerts(range: Range, value: number): boolean {
  const within = value >= range.low && value <= range.high;
  return range.inside ? within : !within;
}

export interface CheckThresholds {
  waitingWarning: Range;
  waitingCritical: Range;
  workersWarning: Range;
  workersCritical: Range;
}

export function parseThresholds(t: Partial<Record<keyof typeof CHECK_DEFAULTS, string>>): CheckThresholds {
  return {
    waitingWarning: parseRange(t.waitingWarning ?? CHECK_DEFAULTS.waitingWarning, "-w"),
    waitingCritical: parseRange(t.waitingCritical ?? CHECK_DEFAULTS.waitingCritical, "-c"),
    workersWarning: parseRange(t.workersWarning ?? CHECK_DEFAULTS.workersWarning, "-W"),
    workersCritical: parseRange(t.workersCritical ?? CHECK_DEFAULTS.workersCritical, "-C"),
  };
}

/** The test job's outcome (`--job FUNC:DATA [--expect TEXT]`). */
export interface JobProbe {
  readonly function: string;
  /** Round trip in seconds, when the job completed. */
  readonly seconds: number | null;
  /** Why it counts as failed: an error, or a result other than the expected one. */
  readonly problem: string | null;
}

export interface CheckResult {
  readonly state: CheckState;
  /** The whole plugin output: status line, " | ", perfdata. */
  readonly output: string;
}

/** Perfdata labels are quoted; a quote inside is doubled (plugin guidelines). */
const label = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/**
 * The verdict for `snapshots`; `functions` limits it to those names (a name no server knows is
 * CRITICAL: nothing can do it).
 */
export function evaluateCheck(
  snapshots: readonly ServerSnapshot[],
  thresholds: CheckThresholds,
  functions: readonly string[] = [],
  probe: JobProbe | null = null,
): CheckResult {
  const problems: { state: CheckState; text: string }[] = [];
  const raise = (state: CheckState, text: string): void => {
    problems.push({ state, text });
  };
  for (const s of snapshots) if (!s.up) raise(CheckState.CRITICAL, `${s.server} down (${s.error ?? "no answer"})`);
  const all = sumFunctions(snapshots);
  let selected: FunctionTotals[] = all;
  if (functions.length > 0) {
    selected = [];
    for (const name of functions) {
      const f = all.find((x) => x.function === name);
      if (f === undefined) raise(CheckState.CRITICAL, `${name} unknown to every server`);
      else selected.push(f);
    }
  }
  const perf: string[] = [];
  const t = thresholds;
  for (const f of selected) {
    if (alerts(t.waitingCritical, f.waiting)) raise(CheckState.CRITICAL, `${f.function} ${f.waiting} waiting`);
    else if (alerts(t.waitingWarning, f.waiting)) raise(CheckState.WARNING, `${f.function} ${f.waiting} waiting`);
    if (f.waiting > 0 && f.workers === 0) raise(CheckState.CRITICAL, `${f.function} has jobs waiting and no worker`);
    else if (alerts(t.workersCritical, f.workers))
      raise(CheckState.CRITICAL, `${f.function} ${f.workers} worker conns`);
    else if (alerts(t.workersWarning, f.workers)) raise(CheckState.WARNING, `${f.function} ${f.workers} worker conns`);
    perf.push(
      `${label(`${f.function}_waiting`)}=${f.waiting};${t.waitingWarning.text};${t.waitingCritical.text};0`,
      `${label(`${f.function}_running`)}=${f.running}`,
      `${label(`${f.function}_worker`)}=${f.workers};${t.workersWarning.text};${t.workersCritical.text};0`,
    );
  }
  if (probe !== null) {
    if (probe.problem !== null) raise(CheckState.CRITICAL, `job ${probe.function}: ${probe.problem}`);
    if (probe.seconds !== null) perf.push(`${label(`${probe.function}_rtt`)}=${probe.seconds.toFixed(6)}s`);
  }
  const state = problems.reduce<CheckState>((worst, p) => Math.max(worst, p.state) as CheckState, CheckState.OK);
  const up = snapshots.filter((s) => s.up).length;
  const waiting = selected.reduce((n, f) => n + f.waiting, 0);
  const workers = selected.reduce((n, f) => n + f.workers, 0);
  const summary =
    // What the servers report: connections, summed — a worker on two servers counts twice.
    `${up}/${snapshots.length} servers up, ${selected.length} functions, ${waiting} waiting, ${workers} worker conns` +
    (probe?.seconds != null ? `, job ${probe.function} in ${(probe.seconds * 1000).toFixed(1)} ms` : "");
  const worst = problems.filter((p) => p.state === state).map((p) => p.text);
  const line = `GEARMAN ${NAMES[state]} - ${worst.length > 0 ? `${worst.join(", ")}; ` : ""}${summary}`;
  return { state, output: perf.length > 0 ? `${line} | ${perf.join(" ")}` : line };
}

/** Output and exit code of a check that could not run (bad arguments, internal error). */
export function unknownResult(reason: string): CheckResult {
  return { state: CheckState.UNKNOWN, output: `GEARMAN UNKNOWN - ${reason}` };
}
