/**
 * Options of the operators' tools: the admin poll behind top, check, the exporter and the
 * dashboard; the exporter; the dashboard; check's thresholds. Defaults shown, values checked.
 */
import type { ServersInput } from "../connection/servers.ts";
import { numberOption } from "./checks.ts";
import type { TlsOptions } from "./connection.ts";

export interface PollOptions {
  /** Milliseconds to connect and get every reply from one server. @default 2000 */
  timeout?: number;
  /** Ask `workers` too. @default false */
  workers?: boolean;
  /** TLS to every server, as Admin's `tls` ("tls://" servers use TLS regardless). @default false */
  tls?: boolean | TlsOptions;
}

export const POLL_DEFAULTS = { timeout: 2000, workers: false } as const;

export interface ResolvedPollOptions {
  readonly timeout: number;
  readonly workers: boolean;
  readonly tls: boolean | TlsOptions | undefined;
}

export function resolvePollOptions(options: PollOptions = {}): ResolvedPollOptions {
  return {
    timeout: numberOption("timeout", options.timeout, POLL_DEFAULTS.timeout, 1),
    workers: options.workers ?? POLL_DEFAULTS.workers,
    tls: options.tls,
  };
}

export interface ExporterOptions {
  /** Servers to watch. @default $GEARMAN_SERVERS, else 127.0.0.1:4730 */
  servers?: ServersInput;
  /** "host:port" to serve /metrics and /healthz on. @default "127.0.0.1:9418" */
  listen?: string;
  /** Milliseconds each server has to answer a scrape's admin commands. @default 2000 */
  timeout?: number;
  /** TLS to every server, as Admin's `tls` ("tls://" servers use TLS regardless). @default false */
  tls?: boolean | TlsOptions;
}

export const EXPORTER_DEFAULTS = { listen: "127.0.0.1:9418", timeout: 2000 } as const;

export interface DashboardOptions {
  /** Servers to show. @default $GEARMAN_SERVERS, else 127.0.0.1:4730 */
  servers?: ServersInput;
  /** "host:port" to serve the page on. @default "127.0.0.1:8080" */
  listen?: string;
  /** Milliseconds between polls of the servers. @default 1000 */
  interval?: number;
  /** Points of history kept for the charts. @default 300 (5 minutes at the default interval) */
  history?: number;
  /**
   * Jobs completed so far (any outcome), when the source knows it (the embedded server does;
   * gearmand's admin protocol does not tell). Without it the second chart shows how fast the
   * queues change instead.
   */
  completed?: () => number;
  /** TLS to every server, as Admin's `tls` ("tls://" servers use TLS regardless). @default false */
  tls?: boolean | TlsOptions;
}

export const DASHBOARD_DEFAULTS = { listen: "127.0.0.1:8080", interval: 1000, history: 300 } as const;

/** The thresholds check_gearman uses, so a swap keeps its alerts. */
export const CHECK_DEFAULTS = {
  /** -w: waiting jobs per function above which the check warns. */
  waitingWarning: "10",
  /** -c: waiting jobs per function above which it is critical. */
  waitingCritical: "100",
  /** -W: workers per function above which it warns (use "N:" to warn below N). */
  workersWarning: "25",
  /** -C: workers per function above which it is critical (use "N:" for a minimum). */
  workersCritical: "50",
} as const;
