/** Client, per-submit and Admin options, with their defaults. */
import type { ConnectionConfig } from "../connection/connection.ts";
import { formatAddress, parseServers, type ServerAddress } from "../connection/servers.ts";
import { ConfigError } from "../errors.ts";
import { type ConnectionOptions, type ResolvedConnectionOptions, resolveConnectionOptions } from "./connection.ts";
import { numberOption, booleanOption, nameOption, clientIdOption } from "./checks.ts";

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
