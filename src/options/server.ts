/**
 * The embedded job server's options, with their defaults.
 */
import { ConfigError } from "../errors.ts";
import { DEFAULT_MAX_PACKET_SIZE } from "../protocol/decode.ts";
import { DEFAULT_PORT } from "../protocol/packets.ts";
import { hostname } from "node:os";

import { pemOption } from "./connection.ts";
import { numberOption } from "./checks.ts";

/** Test switches of the embedded server; settable at runtime through `server.faults`. */
export interface ServerFaults {
  /** NOOP wake-ups are not sent (the flags change as if they were): a lost wake-up. */
  withholdNoop: boolean;
  /** GRAB_JOB / _UNIQ / _ALL get no answer at all (the flags are still cleared). */
  ignoreGrabs: boolean;
  /** A worker's connection is closed right after it is handed a job (the job is re-queued). */
  dropOnAssign: boolean;
}

export interface ServerOptions {
  /** TCP port; 0 picks a free one. @default 4730 */
  port?: number;
  /** Address to listen on. @default "127.0.0.1" */
  host?: string;
  /** SQLite file for durable background jobs (like gearmand `-q libsqlite3`). @default none: memory only */
  store?: string;
  /**
   * Times a job may be taken back from a worker (disconnect, CAN_DO_TIMEOUT) and queued again;
   * the take-back after the last one fails the job (its clients get WORK_FAIL). -1: no limit, 0:
   * no retries — the meaning of gearmand's `--job-retries` since its change after 2.0.0 (gearmand
   * 1.1 and 2.0.0 read 0 as "no limit" and had no -1). Finite by default so a job that kills
   * every worker that takes it ends instead of circulating for ever.
   * @default 5
   */
  jobRetries?: number;
  /** Sleeping workers woken (NOOP) per queued job; 0: all (gearmand `--worker-wakeup`). @default 0 */
  workerWakeup?: number;
  /**
   * Accepted connections always have TCP keepalive, as in gearmand, so a worker that died
   * silently gives its jobs back: this is the idle time in ms before the first probe (gearmand
   * `--keepalive-idle`, in seconds); 0 keeps the system's (Linux: 2 hours). @default 0
   */
  keepAliveDelay?: number;
  /** Largest packet body accepted from a peer, bytes; a larger one gets ERROR and the connection is closed. @default 64 MiB */
  maxPacketSize?: number;
  /** Bytes queued for one connection that does not read; beyond this it is dropped. @default 32 MiB */
  maxPendingOutput?: number;
  /** Job handle prefix; handles are PREFIX + a counter. @default "H:" + hostname + ":" (as gearmand) */
  handlePrefix?: string;
  /**
   * The counter of the first job handle. gearmand starts at 1 on every start, so a restarted
   * server gives new jobs the handles of old ones a client may still ask about; the default
   * starts at the start time in ms × 1000 instead, so handles stay unique across restarts (unless
   * a run averaged over 1,000 jobs per ms over its life, or the clock went back). Restored
   * durable jobs keep their handles and numbering continues past them. 1 numbers as gearmand does.
   * @default Date.now() × 1000 + 1 at start
   */
  firstHandle?: number;
  /** Fault switches for tests (see `ServerFaults`). @default all off */
  faults?: Partial<ServerFaults>;
  /**
   * Serve TLS only (gearmand `--ssl`): a plaintext peer is closed unanswered. With `ca`, a peer
   * must present a certificate signed by it (mutual TLS), else it is refused in the handshake.
   * @default none: plaintext
   */
  tls?: ServerTlsOptions;
  /** Where the server's log lines go (e.g. a refused TLS handshake, with the peer's address). @default stderr */
  log?: (line: string) => void;
}

/** TLS settings of the embedded server; each is PEM text or the path of a PEM file. */
export interface ServerTlsOptions {
  /** The server's certificate (gearmand `--ssl-certificate`). */
  cert: string;
  /** Its private key (gearmand `--ssl-key`). */
  key: string;
  /** CA that client certificates must be signed by (gearmand `--ssl-ca-file`). @default none: no client certificate asked */
  ca?: string;
}

/** Handle numbers reserved per millisecond since the epoch by the default `firstHandle`. */
export const HANDLES_PER_MS = 1000;

export const SERVER_DEFAULTS = {
  port: DEFAULT_PORT,
  host: "127.0.0.1",
  jobRetries: 5,
  workerWakeup: 0,
  keepAliveDelay: 0,
  maxPacketSize: DEFAULT_MAX_PACKET_SIZE,
  maxPendingOutput: 32 * 1024 * 1024,
} as const;

export interface ResolvedServerOptions {
  readonly port: number;
  readonly host: string;
  readonly store: string | null;
  readonly jobRetries: number;
  readonly workerWakeup: number;
  readonly keepAliveDelay: number;
  readonly maxPacketSize: number;
  readonly maxPendingOutput: number;
  readonly handlePrefix: string;
  readonly firstHandle: number;
  readonly faults: ServerFaults;
  /** PEM text; `ca` set: mutual TLS. */
  readonly tls: { readonly cert: string; readonly key: string; readonly ca?: string } | null;
  readonly log: (line: string) => void;
}

function resolveServerTls(tls: ServerTlsOptions | undefined): ResolvedServerOptions["tls"] {
  if (tls === undefined) return null;
  if (typeof tls !== "object" || tls === null) {
    throw new ConfigError("tls", `must be { cert, key, ca? }, got ${String(tls)}`);
  }
  if (tls.cert === undefined) throw new ConfigError("tls.cert", "the server's certificate is required for TLS");
  if (tls.key === undefined) throw new ConfigError("tls.key", "the server certificate's key is required for TLS");
  const cert = pemOption("tls.cert", tls.cert);
  const key = pemOption("tls.key", tls.key);
  return tls.ca === undefined ? { cert, key } : { cert, key, ca: pemOption("tls.ca", tls.ca) };
}

function integerOption(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const n = numberOption(name, value, fallback, min);
  if (!Number.isInteger(n) || n > max)
    throw new ConfigError(name, `must be an integer from ${min} to ${max}, got ${String(value)}`);
  return n;
}

export function resolveServerOptions(options: ServerOptions = {}): ResolvedServerOptions {
  const host = options.host ?? SERVER_DEFAULTS.host;
  if (typeof host !== "string" || host === "")
    throw new ConfigError("host", `must be a non-empty string, got ${String(host)}`);
  if (options.store !== undefined && (typeof options.store !== "string" || options.store === "")) {
    throw new ConfigError("store", `must be a file path, got ${String(options.store)}`);
  }
  return {
    port: integerOption("port", options.port, SERVER_DEFAULTS.port, 0, 65535),
    host,
    store: options.store ?? null,
    jobRetries: integerOption("jobRetries", options.jobRetries, SERVER_DEFAULTS.jobRetries, -1),
    workerWakeup: integerOption("workerWakeup", options.workerWakeup, SERVER_DEFAULTS.workerWakeup, 0),
    keepAliveDelay: integerOption("keepAliveDelay", options.keepAliveDelay, SERVER_DEFAULTS.keepAliveDelay, 0),
    maxPacketSize: integerOption(
      "maxPacketSize",
      options.maxPacketSize,
      SERVER_DEFAULTS.maxPacketSize,
      1024,
      0xffffffff,
    ),
    maxPendingOutput: integerOption(
      "maxPendingOutput",
      options.maxPendingOutput,
      SERVER_DEFAULTS.maxPendingOutput,
      1024,
    ),
    handlePrefix: options.handlePrefix ?? `H:${hostname()}:`,
    firstHandle: integerOption("firstHandle", options.firstHandle, Date.now() * HANDLES_PER_MS + 1, 1),
    faults: { withholdNoop: false, ignoreGrabs: false, dropOnAssign: false, ...options.faults },
    tls: resolveServerTls(options.tls),
    log: options.log ?? ((line) => console.error(`gearbun server: ${line}`)),
  };
}
