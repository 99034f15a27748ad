/**
 * Every error answer of the gateway is JSON `{ "code", "message" }` (plus `handle` and `detail`
 * when the job had them) with a stable `code`: a library error keeps its own (`JOB_FAILED`,
 * `TIMEOUT`, `NO_SERVERS`…), the gateway's own refusals have the codes below. The status of a
 * library error is chosen by its code alone, so the table follows the library's error tree: a
 * code added there without a row here fails the typecheck.
 */
import { GearmanError, type GearmanErrorCode } from "../errors.ts";

/** The gateway's own codes, with their HTTP status. README's gateway table lists the same. */
export const GATEWAY_CODES = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  BODY_TOO_LARGE: 413,
  TOO_MANY_REQUESTS: 429,
  INTERNAL: 500,
} as const;

export type GatewayCode = keyof typeof GATEWAY_CODES;

/**
 * The status of each library code: the job ran and failed → 502 (the upstream answered badly);
 * no result in time → 504; no job server to take it → 503; a value the library refused → 400.
 */
export const LIBRARY_STATUS: Readonly<Record<GearmanErrorCode, number>> = {
  BAD_OPTION: 400,
  PACKET_TOO_LARGE: 413,
  JOB_FAILED: 502,
  JOB_EXCEPTION: 502,
  SERVER_ERROR: 502,
  BAD_MAGIC: 502,
  UNKNOWN_PACKET: 502,
  BAD_ARGUMENTS: 502,
  UNEXPECTED_PACKET: 502,
  BAD_REPLY: 502,
  LINE_TOO_LONG: 502,
  TIMEOUT: 504,
  CONNECT_FAILED: 503,
  CONNECT_TIMEOUT: 503,
  CONNECTION_LOST: 503,
  HEARTBEAT_TIMEOUT: 503,
  NOT_CONNECTED: 503,
  CLOSED: 503,
  NO_SERVERS: 503,
  TLS_FAILED: 503,
  START_FAILED: 500,
  LOAD_FAILED: 500,
  CRASH_LOOP: 500,
  UNKNOWN_FUNCTION: 500,
  JOB_REASSIGNED: 500,
  STOPPED: 500,
  DEAD_LETTER_FAILED: 500,
  HANDLER_LOAD_FAILED: 500,
  HANDLER_CRASHED: 502,
  HANDLER_PROTOCOL: 502,
  HANDLER_EXCEPTION: 502,
  HANDLER_EXIT: 502,
};

export interface ErrorBody {
  code: string;
  message: string;
  handle?: string;
  detail?: string;
}

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" };

/** A refusal by the gateway itself. */
export function refuse(code: GatewayCode, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ code, message } satisfies ErrorBody), {
    status: GATEWAY_CODES[code],
    headers: { ...JSON_HEADERS, ...headers },
  });
}

/** The JSON body of any error a job request ended with. */
export function errorBody(error: unknown): ErrorBody {
  if (!(error instanceof GearmanError)) {
    return { code: "INTERNAL", message: (error instanceof Error ? error.message : String(error)).split("\n")[0]! };
  }
  const body: ErrorBody = { code: error.code, message: error.message };
  if ("handle" in error && typeof error.handle === "string") body.handle = error.handle;
  if ("detail" in error && typeof error.detail === "string") body.detail = error.detail;
  return body;
}

/** The HTTP status of any error a job request ended with. */
export function errorStatus(error: unknown): number {
  return error instanceof GearmanError ? (LIBRARY_STATUS[error.code] ?? 500) : 500;
}

/** The response for an error a job request ended with. */
export function failure(error: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(errorBody(error)), {
    status: errorStatus(error),
    headers: { ...JSON_HEADERS, ...headers },
  });
}
