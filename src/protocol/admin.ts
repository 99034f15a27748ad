/**
 * The admin text protocol (same port as the binary one, one command per line). Pure: commands
 * are encoded to lines, and reply lines are assembled into typed replies; no sockets here.
 *
 * Replies come in command order. A command answers either one line (`OK …`) or rows ended by a
 * line holding a single `.`; any command may instead answer one `ERR CODE text` line, whose text
 * gearmand writes with `+` for spaces.
 *
 * Commands end with CR LF: gearmand 1.1.20 drops the last character of `create function NAME`
 * when the line ends with a bare LF.
 */
import { ConfigError, ProtocolError, ServerError } from "../errors.ts";

/** `status`: one row per function. */
export interface StatusRow {
  function: string;
  /** Jobs queued or running. */
  total: number;
  running: number;
  /** Workers that registered the function. */
  workers: number;
}

/** `workers`: one row per connection (workers, clients and admin connections alike). */
export interface WorkerRow {
  fd: number;
  ip: string;
  /** The SET_CLIENT_ID value, or "-" when none was set. */
  clientId: string;
  functions: string[];
}

/** `prioritystatus`: queued jobs per priority, per function. */
export interface PriorityStatusRow {
  function: string;
  high: number;
  normal: number;
  low: number;
  workers: number;
}

/** `show jobs`: one row per job the server holds. */
export interface JobRow {
  handle: string;
  retries: number;
  /** Set once the job was cancelled (`cancel job`): it will not run. */
  ignoreJob: boolean;
  /** True while the job waits in a queue (false once a worker took it). */
  jobQueued: boolean;
}

/** An admin command as data. */
export type AdminCommand =
  | { readonly name: "status" }
  | { readonly name: "workers" }
  | { readonly name: "prioritystatus" }
  | { readonly name: "version" }
  | { readonly name: "getpid" }
  | { readonly name: "verbose" }
  | { readonly name: "show jobs" }
  | { readonly name: "show unique jobs" }
  | { readonly name: "cancel job"; readonly handle: string }
  | { readonly name: "maxqueue"; readonly function: string; readonly size?: number | readonly [number, number, number] }
  | { readonly name: "create function"; readonly function: string }
  | { readonly name: "drop function"; readonly function: string };

export type AdminCommandName = AdminCommand["name"];

/** Whether a command answers one line or a dot-terminated list. */
export type ReplyShape = "line" | "list";

const LIST_COMMANDS: ReadonlySet<AdminCommandName> = new Set([
  "status",
  "workers",
  "prioritystatus",
  "show jobs",
  "show unique jobs",
]);

export function replyShape(name: AdminCommandName): ReplyShape {
  return LIST_COMMANDS.has(name) ? "list" : "line";
}

/** A word the server will read as one argument: not empty, no whitespace, no line end. */
function word(option: string, value: string): string {
  if (typeof value !== "string" || value === "" || /\s/.test(value)) {
    throw new ConfigError(
      option,
      `must be a non-empty string without spaces or line ends, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function count(option: string, value: number): string {
  if (!Number.isInteger(value) || value < 0) throw new ConfigError(option, `must be an integer >= 0, got ${value}`);
  return String(value);
}

/** The command line, without its line end. Throws ConfigError for arguments the line cannot carry. */
export function adminCommandLine(command: AdminCommand): string {
  switch (command.name) {
    case "cancel job":
      return `cancel job ${word("handle", command.handle)}`;
    case "create function":
    case "drop function":
      return `${command.name} ${word("function", command.function)}`;
    case "maxqueue": {
      const fn = word("function", command.function);
      const size = command.size;
      if (size === undefined) return `maxqueue ${fn}`;
      if (typeof size === "number") return `maxqueue ${fn} ${count("maxqueue size", size)}`;
      return `maxqueue ${fn} ${size.map((n) => count("maxqueue size", n)).join(" ")}`;
    }
    default:
      return command.name;
  }
}

/** The bytes to send for a command: its line and CR LF. */
export function encodeAdminCommand(command: AdminCommand): Uint8Array {
  return Buffer.from(`${adminCommandLine(command)}\r\n`, "utf8");
}

/**
 * A reply line `ERR CODE text` as a ServerError; null for any other line. Some gearmand replies
 * carry only prose (`ERR function not found`): their code is "ERR" and the prose is the text.
 */
export function parseErrLine(line: string, server?: string): ServerError | null {
  if (line !== "ERR" && !line.startsWith("ERR ")) return null;
  const rest = line.slice(4).trim();
  const space = rest.indexOf(" ");
  const first = space < 0 ? rest : rest.slice(0, space);
  if (!/^[A-Z][A-Z0-9_]*$/.test(first)) return new ServerError("ERR", rest, { server });
  // gearmand writes spaces in the text as "+".
  const text = space < 0 ? "" : rest.slice(space + 1).replaceAll("+", " ");
  return new ServerError(first, text, { server });
}

function bad(line: string, what: string, server: string | undefined): ProtocolError {
  return new ProtocolError("BAD_REPLY", `bad ${what} line from admin server: ${JSON.stringify(line)}`, { server });
}

function int(text: string | undefined, line: string, what: string, server: string | undefined): number {
  if (text === undefined || !/^\d+$/.test(text)) throw bad(line, what, server);
  return Number(text);
}

/** The text after `OK` (empty for a bare `OK`); throws for any other line. */
export function parseOkLine(line: string, server?: string): string {
  if (line === "OK") return "";
  if (line.startsWith("OK ")) return line.slice(3);
  throw bad(line, "OK", server);
}

export function parseStatusRow(line: string, server?: string): StatusRow {
  const f = line.split("\t");
  if (f.length !== 4) throw bad(line, "status", server);
  return {
    function: f[0]!,
    total: int(f[1], line, "status", server),
    running: int(f[2], line, "status", server),
    workers: int(f[3], line, "status", server),
  };
}

export function parsePriorityStatusRow(line: string, server?: string): PriorityStatusRow {
  const f = line.split("\t");
  if (f.length !== 5) throw bad(line, "prioritystatus", server);
  return {
    function: f[0]!,
    high: int(f[1], line, "prioritystatus", server),
    normal: int(f[2], line, "prioritystatus", server),
    low: int(f[3], line, "prioritystatus", server),
    workers: int(f[4], line, "prioritystatus", server),
  };
}

/** `FD IP CLIENT-ID : FUNC FUNC…` (IPv6 addresses hold colons; the separator is a lone ":"). */
export function parseWorkerRow(line: string, server?: string): WorkerRow {
  const t = line.split(" ");
  const sep = t.indexOf(":", 3);
  if (sep < 0 || t.length < 4) throw bad(line, "workers", server);
  return {
    fd: int(t[0], line, "workers", server),
    ip: t[1]!,
    clientId: t.slice(2, sep).join(" "),
    functions: t.slice(sep + 1).filter((s) => s !== ""),
  };
}

export function parseJobRow(line: string, server?: string): JobRow {
  const f = line.split("\t");
  if (f.length !== 4) throw bad(line, "show jobs", server);
  return {
    handle: f[0]!,
    retries: int(f[1], line, "show jobs", server),
    ignoreJob: int(f[2], line, "show jobs", server) !== 0,
    jobQueued: int(f[3], line, "show jobs", server) !== 0,
  };
}

/** The typed reply of each command. */
export interface AdminReplies {
  status: StatusRow[];
  workers: WorkerRow[];
  prioritystatus: PriorityStatusRow[];
  version: string;
  getpid: number;
  verbose: string;
  "show jobs": JobRow[];
  "show unique jobs": string[];
  "cancel job": void;
  maxqueue: void;
  "create function": void;
  "drop function": void;
}

/**
 * Turns a whole reply (the one line, or the rows without the final ".") into its typed value.
 * Throws ProtocolError("BAD_REPLY") for a line of the wrong shape.
 */
export function parseAdminReply<N extends AdminCommandName>(
  name: N,
  lines: readonly string[],
  server?: string,
): AdminReplies[N];
export function parseAdminReply(
  name: AdminCommandName,
  lines: readonly string[],
  server?: string,
): AdminReplies[AdminCommandName] {
  switch (name) {
    case "status":
      return lines.map((l) => parseStatusRow(l, server));
    case "workers":
      return lines.map((l) => parseWorkerRow(l, server));
    case "prioritystatus":
      return lines.map((l) => parsePriorityStatusRow(l, server));
    case "show jobs":
      return lines.map((l) => parseJobRow(l, server));
    case "show unique jobs":
      return lines.slice();
    case "version":
    case "verbose":
      return parseOkLine(lines[0] ?? "", server);
    case "getpid": {
      const text = parseOkLine(lines[0] ?? "", server);
      return int(text, lines[0] ?? "", "getpid", server);
    }
    default:
      parseOkLine(lines[0] ?? "", server);
      return undefined;
  }
}

/** One finished reply: its lines (rows without the "."), or the ERR line as a ServerError. */
export type AssembledReply =
  | { readonly lines: string[]; readonly error?: undefined }
  | { readonly lines?: undefined; readonly error: ServerError };

/**
 * Groups reply lines into replies, given the shape each pending command expects, in order.
 *   const asm = new AdminReplyAssembler();
 *   asm.expect("list"); for (const line of lines) { const reply = asm.line(line); if (reply) … }
 */
export class AdminReplyAssembler {
  private shapes: ReplyShape[] = [];
  private head = 0;
  private rows: string[] = [];
  constructor(private readonly server?: string) {}

  /** Replies still owed. */
  get pending(): number {
    return this.shapes.length - this.head;
  }

  /** Registers a sent command's reply shape (call in send order). */
  expect(shape: ReplyShape): void {
    this.shapes.push(shape);
  }

  /**
   * Feeds one reply line. Returns the finished reply, null when the line only added a row, or
   * throws ProtocolError when no reply was owed.
   */
  line(line: string): AssembledReply | null {
    const shape = this.shapes[this.head];
    if (shape === undefined) {
      throw new ProtocolError("BAD_REPLY", `admin reply line with no command waiting: ${JSON.stringify(line)}`, {
        server: this.server,
      });
    }
    let reply: AssembledReply | null = null;
    if (shape === "line") {
      const error = parseErrLine(line, this.server);
      reply = error ? { error } : { lines: [line] };
    } else if (this.rows.length === 0 && line.startsWith("ERR")) {
      // A list command that failed answers one ERR line instead of rows.
      const error = parseErrLine(line, this.server);
      if (error) reply = { error };
      else this.rows.push(line);
    } else if (line === ".") {
      reply = { lines: this.rows };
      this.rows = [];
    } else {
      this.rows.push(line);
    }
    if (reply !== null) this.advance();
    return reply;
  }

  /** Forgets everything owed (the connection is gone). */
  reset(): void {
    this.shapes = [];
    this.head = 0;
    this.rows = [];
  }

  private advance(): void {
    this.head++;
    if (this.head > 64 && this.head * 2 > this.shapes.length) {
      this.shapes = this.shapes.slice(this.head);
      this.head = 0;
    }
  }
}
