/**
 * The gearbun error tree. Every error has a stable `code` (for programs) and a message that
 * names what went wrong and where (server `host:port`, packet type, byte offset). Errors are
 * delivered to whoever caused them: the submit promise, the job, the connect call.
 */

export interface GearmanErrorOptions {
  cause?: unknown;
  /** `host:port` of the server involved, when there is one. */
  server?: string;
}

/**
 * Every code, by the class that carries it. README's error table lists the same codes, and a
 * test keeps the two in step; the unions below are derived from these lists.
 */
export const ERROR_CODES = {
  ProtocolError: [
    "BAD_MAGIC",
    "UNKNOWN_PACKET",
    "BAD_ARGUMENTS",
    "PACKET_TOO_LARGE",
    "LINE_TOO_LONG",
    "UNEXPECTED_PACKET",
    "BAD_REPLY",
  ],
  ConnectionError: [
    "CONNECT_FAILED",
    "CONNECT_TIMEOUT",
    "CONNECTION_LOST",
    "HEARTBEAT_TIMEOUT",
    "NOT_CONNECTED",
    "CLOSED",
    "NO_SERVERS",
    "TLS_FAILED",
  ],
  TimeoutError: ["TIMEOUT"],
  ServerError: ["SERVER_ERROR"],
  JobFailedError: ["JOB_FAILED"],
  JobExceptionError: ["JOB_EXCEPTION"],
  ConfigError: ["BAD_OPTION"],
  PoolError: ["START_FAILED", "LOAD_FAILED", "CRASH_LOOP"],
  HandlerError: ["HANDLER_LOAD_FAILED", "HANDLER_CRASHED", "HANDLER_PROTOCOL", "HANDLER_EXCEPTION", "HANDLER_EXIT"],
  /** Carried by a plain GearmanError: the worker's reasons for aborting or failing one job. */
  GearmanError: ["UNKNOWN_FUNCTION", "JOB_REASSIGNED", "STOPPED", "DEAD_LETTER_FAILED"],
} as const;

/** Every code a gearbun error can carry. */
export type GearmanErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES][number];

/**
 * Codes of a plain GearmanError, raised by the worker about one job: `UNKNOWN_FUNCTION` (a job
 * for a function unregistered while its GRAB was in flight, failed and reported as an `error`
 * event), `JOB_REASSIGNED` and `STOPPED` (the abort reasons of a running job's signal),
 * `DEAD_LETTER_FAILED` (the `deadLetter` hook threw; an `error` event, the failure is still sent).
 */
export type WorkerJobErrorCode = (typeof ERROR_CODES.GearmanError)[number];

export class GearmanError extends Error {
  override name = "GearmanError";
  readonly code: GearmanErrorCode;
  readonly server: string | undefined;

  constructor(code: GearmanErrorCode, message: string, options: GearmanErrorOptions = {}) {
    super(options.server ? `${message} (server ${options.server})` : message, { cause: options.cause });
    this.code = code;
    this.server = options.server;
  }
}

/** Codes a ProtocolError can carry. */
export type ProtocolErrorCode = (typeof ERROR_CODES.ProtocolError)[number];

/** Malformed or unexpected bytes on the wire. */
export class ProtocolError extends GearmanError {
  override name = "ProtocolError";
  declare readonly code: ProtocolErrorCode;
  /** Packet type number, when the header was readable. */
  readonly packetType: number | undefined;
  /** Byte offset in the stream where the bad packet or line starts. */
  readonly offset: number | undefined;

  constructor(
    code: ProtocolErrorCode,
    message: string,
    options: GearmanErrorOptions & { packetType?: number; offset?: number } = {},
  ) {
    super(code, message, options);
    this.packetType = options.packetType;
    this.offset = options.offset;
  }
}

/** Codes a ConnectionError can carry. */
export type ConnectionErrorCode = (typeof ERROR_CODES.ConnectionError)[number];

/** A socket could not be opened, was lost, or was used after close. */
export class ConnectionError extends GearmanError {
  override name = "ConnectionError";
  declare readonly code: ConnectionErrorCode;
  /**
   * For a request the connection was lost under (`CONNECTION_LOST`, `HEARTBEAT_TIMEOUT`, `CLOSED`
   * on a waiting submit or job): `false` — it was never written to the server, so it did not
   * run and may be sent again; `true` — it was written, and the outcome is unknown: the server
   * may have created the job, and it may have run or still run (a frozen server that resumes
   * runs what it had accepted). `undefined` for errors about no one request (a failed dial).
   */
  readonly sent: boolean | undefined;
  constructor(code: ConnectionErrorCode, message: string, options: ConnectionErrorOptions = {}) {
    super(code, message, options);
    this.sent = options.sent;
  }
}

export interface ConnectionErrorOptions extends GearmanErrorOptions {
  /** The request it fails had been written to the server (see ConnectionError.sent). */
  sent?: boolean;
}

/** An operation did not finish in the time it was given. */
export class TimeoutError extends GearmanError {
  override name = "TimeoutError";
  declare readonly code: "TIMEOUT";
  constructor(message: string, options: GearmanErrorOptions = {}) {
    super("TIMEOUT", message, options);
  }
}

/** The job server answered with an ERROR packet or an `ERR` admin line. */
export class ServerError extends GearmanError {
  override name = "ServerError";
  declare readonly code: "SERVER_ERROR";
  /** The server's own error code, e.g. `JOB_NOT_FOUND`, `UNKNOWN_JOB`. */
  readonly serverCode: string;
  constructor(serverCode: string, text: string, options: GearmanErrorOptions = {}) {
    super("SERVER_ERROR", `server error ${serverCode}${text ? `: ${text}` : ""}`, options);
    this.serverCode = serverCode;
  }
}

/**
 * The worker reported WORK_FAIL for a job. `detail` is the text of the WORK_WARNING that came
 * right before it, "" when none did: gearbun's worker sends a failure's reason that way (a thrown
 * error's message, `job.fail(reason)`, a timeout; docs/semantics.md), so it reaches every caller.
 */
export class JobFailedError extends GearmanError {
  override name = "JobFailedError";
  declare readonly code: "JOB_FAILED";
  readonly handle: string;
  readonly detail: string;
  constructor(handle: string, options: GearmanErrorOptions & { detail?: string } = {}) {
    const detail = options.detail ?? "";
    super("JOB_FAILED", `job ${handle} failed${detail === "" ? "" : `: ${detail}`}`, options);
    this.handle = handle;
    this.detail = detail;
  }
}

/** The worker reported WORK_EXCEPTION for a job; `detail` is the exception data it sent. */
export class JobExceptionError extends GearmanError {
  override name = "JobExceptionError";
  declare readonly code: "JOB_EXCEPTION";
  readonly handle: string;
  readonly detail: string;
  constructor(handle: string, detail: string, options: GearmanErrorOptions = {}) {
    super("JOB_EXCEPTION", `job ${handle} raised: ${detail}`, options);
    this.handle = handle;
    this.detail = detail;
  }
}

/** An option or address is invalid; the message names the option to change. */
export class ConfigError extends GearmanError {
  override name = "ConfigError";
  declare readonly code: "BAD_OPTION";
  readonly option: string;
  constructor(option: string, message: string) {
    super("BAD_OPTION", `${option}: ${message}`);
    this.option = option;
  }
}

export type PoolErrorCode = (typeof ERROR_CODES.PoolError)[number];

/**
 * A worker pool could not start: no child process became ready within `startTimeout`; the
 * message says why the last child exited (its handlers did not load, no server was reachable).
 */
export class PoolError extends GearmanError {
  override name = "PoolError";
  declare readonly code: PoolErrorCode;
  constructor(code: PoolErrorCode, message: string, options: GearmanErrorOptions = {}) {
    super(code, message, options);
  }
}

export type HandlerErrorCode = (typeof ERROR_CODES.HandlerError)[number];

/**
 * A handler process (a Python or PHP handlers file, `--exec`, `--exec-per-job`) did not load,
 * died or broke the handler protocol, or its handler raised; see docs/handler-protocol.md.
 */
export class HandlerError extends GearmanError {
  override name = "HandlerError";
  declare readonly code: HandlerErrorCode;
  constructor(code: HandlerErrorCode, message: string, options: GearmanErrorOptions = {}) {
    super(code, message, options);
  }
}
