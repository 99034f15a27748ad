/**
 * Options of the HTTP gateway (src/gateway): what `createGateway` and `serveGateway` take, with
 * their defaults, checked in one place. `gearbun gateway` maps its flags onto these.
 */
import type { Client } from "../client/client.ts";
import { ConfigError } from "../errors.ts";
import { booleanOption, numberOption } from "./checks.ts";
import type { ClientOptions } from "./client.ts";

export interface GatewayOptions {
  /**
   * The Client jobs go through: an instance (shared with the rest of a service, left open by
   * `close()`), or options for one the gateway makes and closes.
   * @default {} (servers from $GEARMAN_SERVERS, else 127.0.0.1:4730)
   */
  client?: Client | ClientOptions;
  /** Path prefix of every route, for mounting in a larger service ("/api" → POST /api/jobs/:function). @default "" */
  basePath?: string;
  /** Largest request body (a job's payload) in bytes; a larger one gets 413. @default 1048576 (1 MiB) */
  maxBodyBytes?: number;
  /** Job requests handled at once; the next gets 429 with Retry-After. 0: no cap. @default 256 */
  maxInFlight?: number;
  /**
   * Milliseconds a job request may take from submit to result (504 past it); a `timeout`
   * parameter may ask for less, not more. 0: no limit.
   * @default 60000
   */
  requestTimeout?: number;
  /** Seconds sent in Retry-After with a 429. @default 1 */
  retryAfter?: number;
  /**
   * Milliseconds between comment lines on an idle event stream, so proxies and Bun's idle
   * timeout keep it open. @default 5000
   */
  heartbeat?: number;
  /**
   * Bearer tokens in the token-file format (one per line: `TOKEN [FUNCTION,...]`, `#` comments).
   * With `tokenFile` too, both count. Without any token source every request is let in.
   */
  tokens?: string;
  /** A file of bearer tokens, read at start and again by `reloadTokens()` (SIGHUP for the command). */
  tokenFile?: string;
}

export const GATEWAY_DEFAULTS = {
  basePath: "",
  maxBodyBytes: 1_048_576,
  maxInFlight: 256,
  requestTimeout: 60_000,
  retryAfter: 1,
  heartbeat: 5000,
} as const;

export interface ResolvedGatewayOptions {
  readonly basePath: string;
  readonly maxBodyBytes: number;
  readonly maxInFlight: number;
  readonly requestTimeout: number;
  readonly retryAfter: number;
  readonly heartbeat: number;
  readonly tokens: string | undefined;
  readonly tokenFile: string | undefined;
}

function wholeOption(name: string, value: number | undefined, fallback: number, min: number): number {
  const n = numberOption(name, value, fallback, min);
  if (!Number.isInteger(n)) throw new ConfigError(name, `must be a whole number, got ${n}`);
  return n;
}

export function resolveGatewayOptions(options: GatewayOptions = {}): ResolvedGatewayOptions {
  const basePath = options.basePath ?? GATEWAY_DEFAULTS.basePath;
  if (typeof basePath !== "string" || (basePath !== "" && !/^(\/[A-Za-z0-9._~-]+)+$/.test(basePath))) {
    throw new ConfigError("basePath", `must be "" or like "/api" (no trailing slash), got ${JSON.stringify(basePath)}`);
  }
  if (options.tokens !== undefined && typeof options.tokens !== "string") {
    throw new ConfigError("tokens", "must be text in the token-file format");
  }
  if (options.tokenFile !== undefined && (typeof options.tokenFile !== "string" || options.tokenFile === "")) {
    throw new ConfigError("tokenFile", "must be a file path");
  }
  return {
    basePath,
    maxBodyBytes: wholeOption("maxBodyBytes", options.maxBodyBytes, GATEWAY_DEFAULTS.maxBodyBytes, 0),
    maxInFlight: wholeOption("maxInFlight", options.maxInFlight, GATEWAY_DEFAULTS.maxInFlight, 0),
    requestTimeout: wholeOption("requestTimeout", options.requestTimeout, GATEWAY_DEFAULTS.requestTimeout, 0),
    retryAfter: wholeOption("retryAfter", options.retryAfter, GATEWAY_DEFAULTS.retryAfter, 0),
    heartbeat: wholeOption("heartbeat", options.heartbeat, GATEWAY_DEFAULTS.heartbeat, 100),
    tokens: options.tokens,
    tokenFile: options.tokenFile,
  };
}

/** Where `serveGateway` listens, on top of the gateway's own options. */
export interface GatewayServeOptions extends GatewayOptions {
  /** "host:port" to listen on; port 0 picks a free one. @default "127.0.0.1:8740" */
  listen?: string;
  /** HTTPS: the listener's certificate and key (PEM file paths); both or neither. @default none (HTTP) */
  cert?: string;
  key?: string;
  /**
   * Listen on an address other than loopback with no token source. Without it that is refused:
   * anyone who can reach the port could run any job.
   * @default false
   */
  allowUnauthenticated?: boolean;
}

export const GATEWAY_SERVE_DEFAULTS = { listen: "127.0.0.1:8740", allowUnauthenticated: false } as const;

export interface ResolvedGatewayServeOptions {
  readonly listen: string;
  readonly tls: { readonly cert: string; readonly key: string } | undefined;
  readonly allowUnauthenticated: boolean;
}

export function resolveGatewayServeOptions(options: GatewayServeOptions = {}): ResolvedGatewayServeOptions {
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new ConfigError(options.cert === undefined ? "cert" : "key", "HTTPS needs both cert and key");
  }
  return {
    listen: options.listen ?? GATEWAY_SERVE_DEFAULTS.listen,
    tls: options.cert !== undefined && options.key !== undefined ? { cert: options.cert, key: options.key } : undefined,
    allowUnauthenticated: booleanOption(
      "allowUnauthenticated",
      options.allowUnauthenticated,
      GATEWAY_SERVE_DEFAULTS.allowUnauthenticated,
    ),
  };
}
