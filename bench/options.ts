/**
 * The throughput benchmark's options and their command line (`--runs`, `--rounds`, `--loadgen`, `--case`,
 * `--peer`, `--jobs`, `--no-mss-shim`, `--dry-run`, `--pin`), shared by every section's runner.
 */
import { parseArgs } from "node:util";
import type { LoadgenId } from "./loadgens.ts";
import { DEFAULT_PIN, PIN_MODES, type PinMode } from "./pin.ts";

export interface ThroughputOptions {
  quick: boolean;
  runs: number;
  /** Times the whole selection runs, peers alternating; ratios are medians over rounds (bench/rounds.ts). @default 1 */
  rounds: number;
  loadgen: LoadgenId | "auto";
  caseFilter: readonly string[] | null;
  peerFilter: readonly string[] | null;
  /** Overrides every case's job counts (smoke runs). */
  jobsOverride: number | null;
  /** Use the MSS shim for gearmand in the large-payload cases (default true). */
  mssShim: boolean;
  /** Print the planned rows (case, peer, jobs per run) and run nothing. */
  dryRun: boolean;
  /** CPU pinning of the worker, client and scale rows' processes (bench/pin.ts). @default "split" */
  pin: PinMode;
  progress(line: string, final?: boolean): void;
  log(line: string): void;
}

export function parseThroughputArgs(argv: string[]): Omit<ThroughputOptions, "progress" | "log"> {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      runs: { type: "string" },
      rounds: { type: "string" },
      loadgen: { type: "string", default: "auto" },
      case: { type: "string" },
      peer: { type: "string" },
      jobs: { type: "string" },
      "no-mss-shim": { type: "boolean", default: false },
      "dry-run": { type: "boolean", default: false },
      pin: { type: "string", default: DEFAULT_PIN },
    },
    allowPositionals: false,
  });
  const runs = values.runs !== undefined ? Number(values.runs) : 3;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a whole number >= 1, got ${values.runs}`);
  const rounds = values.rounds !== undefined ? Number(values.rounds) : 1;
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`--rounds must be a whole number >= 1, got ${values.rounds}`);
  const loadgen = values.loadgen;
  if (loadgen !== "auto" && loadgen !== "c" && loadgen !== "gearbun")
    throw new Error(`--loadgen must be c, gearbun or auto, got ${loadgen}`);
  const jobs = values.jobs !== undefined ? Number(values.jobs) : null;
  if (jobs !== null && (!Number.isInteger(jobs) || jobs < 1))
    throw new Error(`--jobs must be a whole number >= 1, got ${values.jobs}`);
  const pin = values.pin as PinMode;
  if (!PIN_MODES.includes(pin)) throw new Error(`--pin must be ${PIN_MODES.join(", ")}, got ${values.pin}`);
  const list = (s: string | undefined): string[] | null =>
    s === undefined
      ? null
      : s
          .split(",")
          .map((x) => x.trim())
          .filter(Boolean);
  return {
    quick: values.quick,
    runs,
    rounds,
    loadgen,
    caseFilter: list(values.case),
    peerFilter: list(values.peer),
    jobsOverride: jobs,
    mssShim: !values["no-mss-shim"],
    dryRun: values["dry-run"],
    pin,
  };
}
