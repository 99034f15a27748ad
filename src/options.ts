/**
 * Options resolved in one place. Each table below is the default a user gets; the resolve
 * functions check values and name the option to change in their errors.
 */
import type { ConnectionConfig } from "./connection/connection.ts";
import {
  BACKOFF_DEFAULTS,
  exponentialBackoff,
  type BackoffOptions,
  type ReconnectPolicy,
} from "./connection/reconnect.ts";
import {
  DEFAULT_SERVER,
  formatAddress,
  parseServers,
  type ServerAddress,
  type ServersInput,
} from "./connection/servers.ts";
import { ConfigError } from "./errors.ts";
import type { FailedJob } from "./worker/job.ts";
import { DEFAULT_MAX_PACKET_SIZE } from "./protocol/decode.ts";
import { DEFAULT_PORT } from "./protocol/packets.ts";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { TlsSettings } from "./connection/tls.ts";

/** Settings every connection (worker, client, admin) takes. */
export interface ConnectionOptions {
  /**
   * Servers as "host:port", "host", "[v6]:port", comma-separated or an array.
   * @default process.env.GEARMAN_SERVERS, else "127.0.0.1:4730"
   */
  servers?: ServersInput;
  /** Milliseconds to open a socket and get the server's answer to the connect probe. @default 5000 */
  connectTimeout?: number;
  /**
   * TCP keepalive. It only finds a dead peer after the idle time plus the kernel's probes
   * (minutes) and never while sent data is unacknowledged: the heartbeat is what notices a
   * silent server. @default true
   */
  keepAlive?: boolean;
  /** Idle milliseconds before the first keepalive probe. @default 10000 */
  keepAliveDelay?: number;
  /**
   * Milliseconds without a byte from the server before a heartbeat ECHO_REQ is sent; `false` or
   * 0 turns the heartbeat off. Any received byte counts as life, so a busy connection never pings.
   * @default 5000
   */
  heartbeatInterval?: number | false;
  /**
   * Milliseconds a heartbeat may go without anything at all arriving before the connection is
   * dropped (ConnectionError HEARTBEAT_TIMEOUT) and redialled: a silent server is noticed within
   * `heartbeatInterval + heartbeatTimeout`. @default 5000
   */
  heartbeatTimeout?: number;
  /** `(attempt) => delayMs | null`, or backoff settings. @default exponentialBackoff() (100 ms doubling to 5 s, ±20 %) */
  reconnect?: ReconnectPolicy | BackoffOptions;
  /** Largest packet body accepted from a server, bytes. @default 64 MiB */
  maxPacketSize?: number;
  /** Bytes queued for a socket before writers wait (backpressure). @default 1 MiB */
  highWaterMark?: number;
  /**
   * TLS to every server: `true` (the server's certificate checked against Bun's default trust
   * store) or settings. A server written "tls://host:port" uses TLS whatever this says.
   * @default false: only "tls://" servers use TLS
   */
  tls?: boolean | TlsOptions;
}

/**
 * TLS settings of a client, worker or admin connection. `ca`, `cert` and `key` are PEM text or
 * the path of a PEM file. Settings not given come from libgearman's environment variables.
 */
export interface TlsOptions {
  /** CA certificates the server's certificate must be signed by. @default $GEARMAND_CA_CERTIFICATE, else Bun's default trust store (Mozilla's CAs) */
  ca?: string;
  /** Client certificate, for servers that require one (mutual TLS). @default $GEARMAN_CLIENT_PEM, else none */
  cert?: string;
  /** The client certificate's private key. @default $GEARMAN_CLIENT_KEY, else none */
  key?: string;
  /** Name the server's certificate must carry (subjectAltName). @default the server's host */
  servername?: string;
  /**
   * Refuse a server whose certificate does not verify. `false` is unsafe: anyone on the path can
   * pose as the server and read or change every job. For tests only.
   * @default true
   */
  rejectUnauthorized?: boolean;
}

/** libgearman's environment variables that name TLS files (as `gearman -S` reads them). */
export const TLS_ENVIRONMENT = {
  ca: "GEARMAND_CA_CERTIFICATE",
  cert: "GEARMAN_CLIENT_PEM",
  key: "GEARMAN_CLIENT_KEY",
} as const;

export const CONNECTION_DEFAULTS = {
  /** Used when neither the option nor $GEARMAN_SERVERS names a server. */
  servers: DEFAULT_SERVER,
  connectTimeout: 5000,
  keepAlive: true,
  keepAliveDelay: 10_000,
  heartbeatInterval: 5000,
  heartbeatTimeout: 5000,
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

/** Checks that `value` is a boolean (or undefined); returns it or the default. */
export function booleanOption(name: string, value: boolean | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new ConfigError(name, `must be true or false, got ${String(value)}`);
  return value;
}

/**
 * Checks a name sent as a packet argument (function, unique key, reducer, handle): a string
 * without NUL, the argument separator; non-empty unless `allowEmpty`.
 */
export function nameOption(name: string, value: string, allowEmpty = false): string {
  if (typeof value !== "string" || (!allowEmpty && value === "") || value.includes("\0")) {
    throw new ConfigError(
      name,
      `must be a ${allowEmpty ? "" : "non-empty "}string without NUL, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/**
 * Checks a SET_CLIENT_ID value, the same for clients and workers: non-empty, and without NUL or
 * white space, so the admin `workers` line ("fd ip id : functions") stays readable.
 */
export function clientIdOption(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "" || /[\0\s]/.test(value)) {
    throw new ConfigError("clientId", `must be a non-empty string without spaces or NUL, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Checks backoff settings (defaults in `BACKOFF_DEFAULTS`, src/connection/reconnect.ts) and
 * returns them whole. `maxAttempts` may be Infinity: it is a count, never a timer delay.
 */
export function resolveBackoffOptions(options: BackoffOptions = {}): Required<BackoffOptions> {
  if (typeof options !== "object" || options === null) {
    throw new ConfigError(
      "reconnect",
      `must be a function (attempt) => ms | null, or backoff settings, got ${String(options)}`,
    );
  }
  const d = BACKOFF_DEFAULTS;
  const initialDelay = numberOption("reconnect.initialDelay", options.initialDelay, d.initialDelay, 0);
  const maxDelay = numberOption("reconnect.maxDelay", options.maxDelay, Math.max(d.maxDelay, initialDelay), 0);
  if (maxDelay < initialDelay) {
    throw new ConfigError("reconnect.maxDelay", `must be >= initialDelay (${initialDelay}), got ${maxDelay}`);
  }
  const factor = numberOption("reconnect.factor", options.factor, d.factor, 1);
  const jitter = numberOption("reconnect.jitter", options.jitter, d.jitter, 0);
  if (jitter > 1) throw new ConfigError("reconnect.jitter", `must be between 0 and 1, got ${jitter}`);
  const maxAttempts = options.maxAttempts ?? d.maxAttempts;
  if (
    typeof maxAttempts !== "number" ||
    !(maxAttempts >= 0) ||
    !(Number.isInteger(maxAttempts) || maxAttempts === Infinity)
  ) {
    throw new ConfigError(
      "reconnect.maxAttempts",
      `must be a whole number >= 0 or Infinity, got ${String(maxAttempts)}`,
    );
  }
  const random = options.random ?? Math.random;
  if (typeof random !== "function") throw new ConfigError("reconnect.random", "must be a function returning [0, 1)");
  return { initialDelay, maxDelay, factor, jitter, maxAttempts, random };
}

/**
 * A PEM option: PEM text as given, or the text of the file it names. `name` is the option or
 * environment variable, named in the error when the file cannot be read or holds no PEM.
 */
export function pemOption(name: string, value: string): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw new ConfigError(name, `must be PEM text or a file path, got ${JSON.stringify(value)}`);
  }
  if (value.includes("-----BEGIN ")) return value;
  let text: string;
  try {
    text = readFileSync(value, "utf8");
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ConfigError(name, `cannot read file "${value}": ${message}`);
  }
  if (!text.includes("-----BEGIN ")) throw new ConfigError(name, `file "${value}" holds no PEM ("-----BEGIN" line)`);
  return text;
}

/**
 * Resolves the `tls` option. Returns null when TLS is off and no server asks for it (`needed`);
 * otherwise the settings, the environment's files filling in what was not given.
 */
export function resolveTlsOptions(
  input: boolean | TlsOptions | undefined,
  needed: boolean,
  env: Record<string, string | undefined> = process.env,
): TlsSettings | null {
  if (input !== undefined && typeof input !== "boolean" && (typeof input !== "object" || input === null)) {
    throw new ConfigError(
      "tls",
      `must be true, false or { ca, cert, key, servername, rejectUnauthorized }, got ${String(input)}`,
    );
  }
  if (!needed && (input === undefined || input === false)) return null;
  const given: TlsOptions = typeof input === "object" ? input : {};
  const pem = (field: keyof typeof TLS_ENVIRONMENT): string | undefined => {
    if (given[field] !== undefined) return pemOption(`tls.${field}`, given[field]);
    const fromEnv = env[TLS_ENVIRONMENT[field]];
    return fromEnv === undefined || fromEnv === "" ? undefined : pemOption(TLS_ENVIRONMENT[field], fromEnv);
  };
  const ca = pem("ca");
  const cert = pem("cert");
  const key = pem("key");
  if ((cert === undefined) !== (key === undefined)) {
    throw new ConfigError(
      cert === undefined ? "tls.cert" : "tls.key",
      `a client certificate and its key go together: give both or neither (or ${TLS_ENVIRONMENT.cert} and ${TLS_ENVIRONMENT.key})`,
    );
  }
  const servername = given.servername;
  if (servername !== undefined && (typeof servername !== "string" || servername === "" || /\s/.test(servername))) {
    throw new ConfigError("tls.servername", `must be a host name, got ${JSON.stringify(servername)}`);
  }
  return {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(servername === undefined ? {} : { servername }),
    rejectUnauthorized: booleanOption("tls.rejectUnauthorized", given.rejectUnauthorized, true),
  };
}

export function resolveConnectionOptions(options: ConnectionOptions = {}): ResolvedConnectionOptions {
  const reconnect =
    typeof options.reconnect === "function"
      ? options.reconnect
      : exponentialBackoff(resolveBackoffOptions(options.reconnect ?? {}));
  const tlsForAll = options.tls !== undefined && options.tls !== false;
  const servers = parseServers(options.servers).map((s) => (tlsForAll && s.tls !== true ? { ...s, tls: true } : s));
  return {
    servers,
    connection: {
      tls: resolveTlsOptions(
        options.tls,
        servers.some((s) => s.tls === true),
      ),
      connectTimeout: numberOption("connectTimeout", options.connectTimeout, CONNECTION_DEFAULTS.connectTimeout, 1),
      keepAlive: booleanOption("keepAlive", options.keepAlive, CONNECTION_DEFAULTS.keepAlive),
      keepAliveDelay: numberOption("keepAliveDelay", options.keepAliveDelay, CONNECTION_DEFAULTS.keepAliveDelay, 1000),
      heartbeatInterval:
        options.heartbeatInterval === false
          ? 0
          : numberOption("heartbeatInterval", options.heartbeatInterval, CONNECTION_DEFAULTS.heartbeatInterval, 0),
      heartbeatTimeout: numberOption(
        "heartbeatTimeout",
        options.heartbeatTimeout,
        CONNECTION_DEFAULTS.heartbeatTimeout,
        1,
      ),
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
   * When the connection of a waiting foreground job is lost (a heartbeat timeout included),
   * submit it again to another live server instead of rejecting it with ConnectionError — once
   * per job: a job lost a second time rejects. Delivery is then at-least-once: a job the lost
   * server had already handed to a worker may run twice. Per job: `submit(…, { retryOnDisconnect })`.
   * @default false
   */
  retryOnDisconnect?: boolean;
  /**
   * How many background job handles the client remembers (handle → server), so that
   * `status(handle)` asks the server that created it. Older handles are asked of every server.
   * @default 10000
   */
  rememberHandles?: number;
  /**
   * Submits (foreground and background) sent and not yet ended at most; 0: no limit. Submits
   * beyond it wait in the client, unencoded and in order, and go as earlier ones end: a bulk
   * enqueue then keeps at most this many packets queued for the server and jobs awaited on it.
   * A submit's `timeout` counts from the call, waiting included.
   * @default 0
   */
  maxInFlight?: number;
  /** SET_CLIENT_ID sent on each connect (shown by the admin `workers` command). @default none */
  clientId?: string;
}

export const CLIENT_DEFAULTS = {
  timeout: 0,
  retryOnDisconnect: false,
  rememberHandles: 10_000,
  maxInFlight: 0,
} as const;

export interface ResolvedClientOptions extends ResolvedConnectionOptions {
  readonly timeout: number;
  readonly retryOnDisconnect: boolean;
  readonly rememberHandles: number;
  readonly maxInFlight: number;
  readonly clientId: string | undefined;
}

export function resolveClientOptions(options: ClientOptions = {}): ResolvedClientOptions {
  const clientId = clientIdOption(options.clientId);
  // The handle ring wraps at exactly this count: a fraction would let it grow without bound.
  const rememberHandles = numberOption("rememberHandles", options.rememberHandles, CLIENT_DEFAULTS.rememberHandles, 0);
  if (!Number.isInteger(rememberHandles)) {
    throw new ConfigError("rememberHandles", `must be a whole number, got ${rememberHandles}`);
  }
  const maxInFlight = numberOption("maxInFlight", options.maxInFlight, CLIENT_DEFAULTS.maxInFlight, 0);
  if (!Number.isInteger(maxInFlight)) {
    throw new ConfigError("maxInFlight", `must be a whole number, got ${maxInFlight}`);
  }
  return {
    ...resolveConnectionOptions(options),
    timeout: numberOption("timeout", options.timeout, CLIENT_DEFAULTS.timeout, 0),
    retryOnDisconnect: booleanOption("retryOnDisconnect", options.retryOnDisconnect, CLIENT_DEFAULTS.retryOnDisconnect),
    rememberHandles,
    maxInFlight,
    clientId,
  };
}

export type Priority = "high" | "normal" | "low";

/** Settings of one `client.submit()`; the client's options give the defaults. */
export interface SubmitOptions {
  /** Unique key: jobs with the same key and function are coalesced by the server. @default "" (none) */
  unique?: string;
  /** @default "normal" */
  priority?: Priority;
  /** Milliseconds until the job rejects with TimeoutError; 0 for none. @default the client's `timeout` */
  timeout?: number;
  /** Resubmit elsewhere when the connection is lost. @default the client's `retryOnDisconnect` */
  retryOnDisconnect?: boolean;
  /**
   * Submit as a map/reduce job (SUBMIT_REDUCE_JOB, 37/38) with this reducer function; for
   * workers that grab with GRAB_JOB_ALL. Normal priority only.
   */
  reducer?: string;
}

/** Settings of one `client.submitBackground()`. */
export interface BackgroundOptions extends SubmitOptions {
  /**
   * Run no earlier than this time (SUBMIT_JOB_EPOCH; gearmand has one-second resolution).
   * Normal priority only, no reducer.
   */
  runAt?: Date | number;
}

export const SUBMIT_DEFAULTS = {
  priority: "normal",
  unique: "",
} as const;

export interface ResolvedSubmitOptions {
  readonly priority: Priority;
  readonly unique: string;
  readonly reducer: string | undefined;
  /** Milliseconds, 0 for none. */
  readonly timeout: number;
  readonly retryOnDisconnect: boolean;
  /** `runAt` as gearmand's epoch seconds, rounded up so the job never runs early. */
  readonly epoch: number | undefined;
}

/** Resolves one submit's options against the client's; `runAt` is only taken in the background. */
export function resolveSubmitOptions(
  options: BackgroundOptions,
  client: Pick<ResolvedClientOptions, "timeout" | "retryOnDisconnect">,
): ResolvedSubmitOptions {
  const priority = options.priority ?? SUBMIT_DEFAULTS.priority;
  if (priority !== "high" && priority !== "normal" && priority !== "low") {
    throw new ConfigError("priority", `must be "high", "normal" or "low", got ${String(priority)}`);
  }
  const unique = nameOption("unique", options.unique ?? SUBMIT_DEFAULTS.unique, true);
  const reducer = options.reducer === undefined ? undefined : nameOption("reducer", options.reducer);
  let epoch: number | undefined;
  if (options.runAt !== undefined) {
    const at = options.runAt instanceof Date ? options.runAt.getTime() : options.runAt;
    if (typeof at !== "number" || !Number.isFinite(at)) {
      throw new ConfigError("runAt", "must be a valid Date or epoch milliseconds");
    }
    if (priority !== "normal" || reducer !== undefined) {
      throw new ConfigError("runAt", "a scheduled job (SUBMIT_JOB_EPOCH) has normal priority and no reducer");
    }
    epoch = Math.max(0, Math.ceil(at / 1000));
  } else if (reducer !== undefined && priority !== "normal") {
    throw new ConfigError("priority", "a reduce job (option reducer) has normal priority only");
  }
  return {
    priority,
    unique,
    reducer,
    // Infinity is refused like everywhere else: as a timer delay it would fire at once.
    timeout: numberOption("timeout", options.timeout, client.timeout, 0),
    retryOnDisconnect: booleanOption("retryOnDisconnect", options.retryOnDisconnect, client.retryOnDisconnect),
    epoch,
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
  const given = servers[0]!;
  const resolved = resolveConnectionOptions({
    ...options,
    servers: formatAddress(given),
    reconnect: () => null,
  });
  return {
    server: resolved.servers[0]!,
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
  /**
   * Debug: check the scheduler's invariants (slots, per-connection wake-up state) after every
   * event and throw the first violation (uncaught, so it cannot go unnoticed). Costs a pass over
   * the connections per event. @default true when the environment has GEARBUN_CHECK_INVARIANTS=1, else false
   */
  checkInvariants?: boolean;
  /**
   * Called with every job that ends failed for good (WORK_FAIL, WORK_EXCEPTION or a timeout,
   * after its retries), before the failure is sent — e.g. to write it to a dead-letter store.
   * A hook that throws does not stop the failure from being sent. @default none
   */
  deadLetter?: (job: FailedJob) => void;
}

export const WORKER_DEFAULTS = {
  concurrency: 1,
  idleRegrabInterval: 30_000,
  idleRegrabJitter: 0.1,
  grab: "GRAB_JOB_UNIQ",
  grabTimeout: 10_000,
  stopDeadline: 30_000,
  checkInvariants: false,
} as const;

export interface ResolvedWorkerOptions extends ResolvedConnectionOptions {
  readonly concurrency: number;
  readonly clientId: string | undefined;
  readonly idleRegrabInterval: number;
  readonly idleRegrabJitter: number;
  readonly grab: GrabPacket;
  readonly grabTimeout: number;
  readonly stopDeadline: number;
  readonly checkInvariants: boolean;
  readonly deadLetter: ((job: FailedJob) => void) | undefined;
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
  const clientId = clientIdOption(options.clientId);
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
    checkInvariants: booleanOption(
      "checkInvariants",
      options.checkInvariants,
      process.env.GEARBUN_CHECK_INVARIANTS === "1" || WORKER_DEFAULTS.checkInvariants,
    ),
    deadLetter: options.deadLetter,
  };
}

/** Growth of the wait between a job's attempts (`register(…, { retries, backoff })`). */
export interface RetryBackoffOptions {
  /** Milliseconds before the second attempt. @default 1000 */
  initial?: number;
  /** Longest wait. @default 60000 */
  max?: number;
  /** Growth per attempt. @default 2 */
  factor?: number;
  /** Fraction of the wait drawn at random, ± (0 to 1). @default 0.2 */
  jitter?: number;
}

export const RETRY_DEFAULTS = {
  retries: 0,
  initial: 1000,
  max: 60_000,
  factor: 2,
  jitter: 0.2,
} as const;

export interface ResolvedRetry {
  /** Attempts after the first. */
  readonly retries: number;
  /** Milliseconds to wait after failed attempt number `attempt` (1 for the first). */
  readonly delay: (attempt: number) => number;
}

/** The retry settings of one function, or null when it has none. */
export function resolveRetryOptions(
  retries: number | undefined,
  backoff: RetryBackoffOptions = {},
): ResolvedRetry | null {
  const count = numberOption("retries", retries, RETRY_DEFAULTS.retries, 0);
  if (!Number.isInteger(count)) throw new ConfigError("retries", `must be a whole number, got ${count}`);
  if (typeof backoff !== "object" || backoff === null) throw new ConfigError("backoff", "must be an object");
  const initial = numberOption("backoff.initial", backoff.initial, RETRY_DEFAULTS.initial, 0);
  const max = numberOption("backoff.max", backoff.max, RETRY_DEFAULTS.max, initial);
  const factor = numberOption("backoff.factor", backoff.factor, RETRY_DEFAULTS.factor, 1);
  const jitter = numberOption("backoff.jitter", backoff.jitter, RETRY_DEFAULTS.jitter, 0);
  if (jitter > 1) throw new ConfigError("backoff.jitter", `must be between 0 and 1, got ${jitter}`);
  if (count === 0) return null;
  const policy = exponentialBackoff({ initialDelay: initial, maxDelay: max, factor, jitter });
  return { retries: count, delay: (attempt) => policy(attempt) ?? max };
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
  /**
   * Times a job may be taken back from a worker (disconnect, CAN_DO_TIMEOUT) before its clients
   * get WORK_FAIL; 0: no limit (gearmand `--job-retries`, whose default is 0). Finite by default
   * so a job that kills every worker that takes it ends instead of circulating for ever.
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
    jobRetries: integerOption("jobRetries", options.jobRetries, SERVER_DEFAULTS.jobRetries, 0),
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
    faults: { withholdNoop: false, ignoreGrabs: false, dropOnAssign: false, ...options.faults },
    tls: resolveServerTls(options.tls),
    log: options.log ?? ((line) => console.error(`gearbun server: ${line}`)),
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
