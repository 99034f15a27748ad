/**
 * Options resolved in one place. Each table below is the default a user gets; the resolve
 * functions check values and name the option to change in their errors.
 */
import type { ConnectionConfig } from "./connection/connection.ts";
import { exponentialBackoff, type BackoffOptions, type ReconnectPolicy } from "./connection/reconnect.ts";
import { DEFAULT_SERVER, parseServers, type ServerAddress, type ServersInput } from "./connection/servers.ts";
import { ConfigError } from "./errors.ts";
import { DEFAULT_MAX_PACKET_SIZE } from "./protocol/decode.ts";
import { DEFAULT_PORT } from "./protocol/packets.ts";
import { hostname } from "node:os";

/** Settings every connection (worker, client, admin) takes. */
export interface ConnectionOptions {
  /**
   * Servers as "host:port", "host", "[v6]:port", comma-separated or an array.
   * @default process.env.GEARMAN_SERVERS, else "127.0.0.1:4730"
   */
  servers?: ServersInput;
  /** Milliseconds to open a socket and get the server's answer to the connect probe. @default 5000 */
  connectTimeout?: number;
  /** TCP keepalive, so a peer that died silently is noticed. @default true */
  keepAlive?: boolean;
  /** Idle milliseconds before the first keepalive probe. @default 10000 */
  keepAliveDelay?: number;
  /** `(attempt) => delayMs | null`, or backoff settings. @default exponentialBackoff() (100 ms doubling to 5 s, ±20 %) */
  reconnect?: ReconnectPolicy | BackoffOptions;
  /** Largest packet body accepted from a server, bytes. @default 64 MiB */
  maxPacketSize?: number;
  /** Bytes queued for a socket before writers wait (backpressure). @default 1 MiB */
  highWaterMark?: number;
}

export const CONNECTION_DEFAULTS = {
  /** Used when neither the option nor $GEARMAN_SERVERS names a server. */
  servers: DEFAULT_SERVER,
  connectTimeout: 5000,
  keepAlive: true,
  keepAliveDelay: 10_000,
  maxPacketSize: DEFAULT_MAX_PACKET_SIZE,
  highWaterMark: 1024 * 1024,
} as const;

export interface ResolvedConnectionOptions {
  readonly servers: ServerAddress[];
  readonly connection: ConnectionConfig;
}

/** Checks that `value` is a finite number ≥ min (or undefined); returns it or the default. */
export function numberOption(name: string, value: number | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  // Infinity is refused too: as a timer delay it would fire at once, the opposite of "never".
  if (typeof value !== "number" || !Number.isFinite(value) || value < min) {
    throw new ConfigError(name, `must be a finite number >= ${min}, got ${String(value)}`);
  }
  return value;
}

export function resolveConnectionOptions(options: ConnectionOptions = {}): ResolvedConnectionOptions {
  const reconnect =
    typeof options.reconnect === "function" ? options.reconnect : exponentialBackoff(options.reconnect ?? {});
  return {
    servers: parseServers(options.servers),
    connection: {
      connectTimeout: numberOption("connectTimeout", options.connectTimeout, CONNECTION_DEFAULTS.connectTimeout, 1),
      keepAlive: options.keepAlive ?? CONNECTION_DEFAULTS.keepAlive,
      keepAliveDelay: numberOption("keepAliveDelay", options.keepAliveDelay, CONNECTION_DEFAULTS.keepAliveDelay, 1000),
      reconnect,
      maxPacketSize: numberOption("maxPacketSize", options.maxPacketSize, CONNECTION_DEFAULTS.maxPacketSize, 1024),
      highWaterMark: numberOption("highWaterMark", options.highWaterMark, CONNECTION_DEFAULTS.highWaterMark, 0),
      handshake: true,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Client and Admin

/** Settings of a Client (src/client). */
export interface ClientOptions extends ConnectionOptions {
  /**
   * Default milliseconds a foreground job may take from submit to result, or 0 for no limit.
   * A job past it rejects with TimeoutError and its local state is dropped (the server may
   * still run it). Per job: `submit(…, { timeout })`.
   * @default 0
   */
  timeout?: number;
  /**
   * When the connection of a waiting foreground job is lost, submit it again to another live
   * server instead of rejecting it with ConnectionError. The job may then run twice.
   * Per job: `submit(…, { retryOnDisconnect })`.
   * @default false
   */
  retryOnDisconnect?: boolean;
  /**
   * How many background job handles the client remembers (handle → server), so that
   * `status(handle)` asks the server that created it. Older handles are asked of every server.
   * @default 10000
   */
  rememberHandles?: number;
  /** SET_CLIENT_ID sent on each connect (shown by the admin `workers` command). @default none */
  clientId?: string;
}

export const CLIENT_DEFAULTS = {
  timeout: 0,
  retryOnDisconnect: false,
  rememberHandles: 10_000,
} as const;

export interface ResolvedClientOptions extends ResolvedConnectionOptions {
  readonly timeout: number;
  readonly retryOnDisconnect: boolean;
  readonly rememberHandles: number;
  readonly clientId: string | undefined;
}

export function resolveClientOptions(options: ClientOptions = {}): ResolvedClientOptions {
  if (options.clientId !== undefined && (options.clientId === "" || /[\0\s]/.test(options.clientId))) {
    throw new ConfigError("clientId", "must be a non-empty string without spaces or NUL");
  }
  // The handle ring wraps at exactly this count: a fraction would let it grow without bound.
  const rememberHandles = numberOption("rememberHandles", options.rememberHandles, CLIENT_DEFAULTS.rememberHandles, 0);
  if (!Number.isInteger(rememberHandles)) {
    throw new ConfigError("rememberHandles", `must be a whole number, got ${rememberHandles}`);
  }
  return {
    ...resolveConnectionOptions(options),
    timeout: numberOption("timeout", options.timeout, CLIENT_DEFAULTS.timeout, 0),
    retryOnDisconnect: options.retryOnDisconnect ?? CLIENT_DEFAULTS.retryOnDisconnect,
    rememberHandles,
    clientId: options.clientId,
  };
}

/** Settings of an Admin client (src/admin): one server, no background reconnects. */
export interface AdminOptions extends Omit<ConnectionOptions, "servers" | "reconnect"> {
  /**
   * Milliseconds a command may wait for its reply. On expiry the command and those sent after
   * it reject with TimeoutError and the connection is dropped (a later reply could not be
   * matched); the next command reconnects.
   * @default 10000
   */
  commandTimeout?: number;
}

export const ADMIN_DEFAULTS = {
  commandTimeout: 10_000,
} as const;

export interface ResolvedAdminOptions {
  readonly server: ServerAddress;
  readonly connection: ConnectionConfig;
  readonly commandTimeout: number;
}

export function resolveAdminOptions(server: string | undefined, options: AdminOptions = {}): ResolvedAdminOptions {
  const servers = parseServers(server, process.env.GEARMAN_SERVERS, "server");
  if (servers.length !== 1)
    throw new ConfigError("server", "an Admin talks to one server; create one Admin per server");
  const resolved = resolveConnectionOptions({ ...options, servers: servers[0]!.key, reconnect: () => null });
  return {
    server: servers[0]!,
    connection: { ...resolved.connection, allowText: true },
    commandTimeout: numberOption("commandTimeout", options.commandTimeout, ADMIN_DEFAULTS.commandTimeout, 1),
  };
}

// ---------------------------------------------------------------------------------------------
// Worker

/** The grab packets a worker may send; every JOB_ASSIGN variant is accepted whatever was sent. */
export type GrabPacket = "GRAB_JOB" | "GRAB_JOB_UNIQ" | "GRAB_JOB_ALL";

export interface WorkerOptions extends ConnectionOptions {
  /** Jobs running at once in this process, across all servers. GRABs in flight never exceed free slots. @default 1 */
  concurrency?: number;
  /** Sent as SET_CLIENT_ID on every (re)connect; shown by `gearadmin --workers`. @default none */
  clientId?: string;
  /**
   * Lost wake-up guard: milliseconds a connection may sleep (PRE_SLEEP sent, no NOOP since)
   * before it is sent a GRAB anyway. One timer per worker checks all connections.
   * @default 30000
   */
  idleRegrabInterval?: number;
  /** Fraction of `idleRegrabInterval` drawn at random, ± (0 to 1), so workers do not re-grab in step. @default 0.1 */
  idleRegrabJitter?: number;
  /** Grab packet to send. @default "GRAB_JOB_UNIQ" */
  grab?: GrabPacket;
  /**
   * Milliseconds a server may leave a GRAB unanswered (gearmand answers at once) before its
   * grabs are written off and their slots go to the other servers, until it speaks again.
   * @default 10000
   */
  grabTimeout?: number;
  /** Milliseconds `stop()` lets running jobs finish before it aborts their signals. @default 30000 */
  stopDeadline?: number;
}

export const WORKER_DEFAULTS = {
  concurrency: 1,
  idleRegrabInterval: 30_000,
  idleRegrabJitter: 0.1,
  grab: "GRAB_JOB_UNIQ",
  grabTimeout: 10_000,
  stopDeadline: 30_000,
} as const;

export interface ResolvedWorkerOptions extends ResolvedConnectionOptions {
  readonly concurrency: number;
  readonly clientId: string | undefined;
  readonly idleRegrabInterval: number;
  readonly idleRegrabJitter: number;
  readonly grab: GrabPacket;
  readonly grabTimeout: number;
  readonly stopDeadline: number;
}

export function resolveWorkerOptions(options: WorkerOptions = {}): ResolvedWorkerOptions {
  const concurrency = numberOption("concurrency", options.concurrency, WORKER_DEFAULTS.concurrency, 1);
  if (!Number.isInteger(concurrency))
    throw new ConfigError("concurrency", `must be a whole number, got ${concurrency}`);
  const jitter = numberOption("idleRegrabJitter", options.idleRegrabJitter, WORKER_DEFAULTS.idleRegrabJitter, 0);
  if (jitter > 1) throw new ConfigError("idleRegrabJitter", `must be between 0 and 1, got ${jitter}`);
  const grab = options.grab ?? WORKER_DEFAULTS.grab;
  if (grab !== "GRAB_JOB" && grab !== "GRAB_JOB_UNIQ" && grab !== "GRAB_JOB_ALL") {
    throw new ConfigError("grab", `must be "GRAB_JOB", "GRAB_JOB_UNIQ" or "GRAB_JOB_ALL", got ${String(grab)}`);
  }
  const clientId = options.clientId;
  if (clientId !== undefined && (typeof clientId !== "string" || clientId === "" || clientId.includes("\0"))) {
    throw new ConfigError("clientId", "must be a non-empty string without NUL bytes");
  }
  return {
    ...resolveConnectionOptions(options),
    concurrency,
    clientId,
    idleRegrabInterval: numberOption(
      "idleRegrabInterval",
      options.idleRegrabInterval,
      WORKER_DEFAULTS.idleRegrabInterval,
      10,
    ),
    idleRegrabJitter: jitter,
    grab,
    grabTimeout: numberOption("grabTimeout", options.grabTimeout, WORKER_DEFAULTS.grabTimeout, 10),
    stopDeadline: numberOption("stopDeadline", options.stopDeadline, WORKER_DEFAULTS.stopDeadline, 0),
  };
}

// ---------------------------------------------------------------------------------------------
// Embedded job server (src/server)

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
  /** Times a job may be taken back from a worker (disconnect, CAN_DO_TIMEOUT) before its clients get WORK_FAIL; 0: no limit (gearmand `--job-retries`). @default 0 */
  jobRetries?: number;
  /** Sleeping workers woken (NOOP) per queued job; 0: all (gearmand `--worker-wakeup`). @default 0 */
  workerWakeup?: number;
  /** Largest packet body accepted from a peer, bytes; a larger one gets ERROR and the connection is closed. @default 64 MiB */
  maxPacketSize?: number;
  /** Bytes queued for one connection that does not read; beyond this it is dropped. @default 32 MiB */
  maxPendingOutput?: number;
  /** Job handle prefix; handles are PREFIX + a counter. @default "H:" + hostname + ":" (as gearmand) */
  handlePrefix?: string;
  /** Fault switches for tests (see `ServerFaults`). @default all off */
  faults?: Partial<ServerFaults>;
}

export const SERVER_DEFAULTS = {
  port: DEFAULT_PORT,
  host: "127.0.0.1",
  jobRetries: 0,
  workerWakeup: 0,
  maxPacketSize: DEFAULT_MAX_PACKET_SIZE,
  maxPendingOutput: 32 * 1024 * 1024,
} as const;

export interface ResolvedServerOptions {
  readonly port: number;
  readonly host: string;
  readonly store: string | null;
  readonly jobRetries: number;
  readonly workerWakeup: number;
  readonly maxPacketSize: number;
  readonly maxPendingOutput: number;
  readonly handlePrefix: string;
  readonly faults: ServerFaults;
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
    jobRetries: integerOption("jobRetries", options.jobRetries, SERVER_DEFAULTS.jobRetries, 0),
    workerWakeup: integerOption("workerWakeup", options.workerWakeup, SERVER_DEFAULTS.workerWakeup, 0),
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
    faults: { withholdNoop: false, ignoreGrabs: false, dropOnAssign: false, ...options.faults },
  };
}

// ---------------------------------------------------------------------------------------------
// Demo (src/demo, `gearbun demo`)

/** The demo's scenario when the command line does not change it (see `DemoOptions`). */
export const DEMO_DEFAULTS = {
  workers: 8,
  clients: 2,
  jobs: 500,
  rounds: 6,
  workMs: 2,
} as const;
