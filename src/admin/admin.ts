/**
 * A typed client for the admin text protocol of one job server.
 *
 *   await using admin = new Admin("127.0.0.1:4730");
 *   for (const row of await admin.status()) console.log(row.function, row.total);
 *
 * Commands are pipelined on one connection and answered in order. `ERR` replies reject with
 * ServerError (its `serverCode`, e.g. UNKNOWN_JOB); a lost connection rejects what was waiting
 * with ConnectionError (a silent server: HEARTBEAT_TIMEOUT), and the next command dials again.
 * The connection is opened on the first command, proven live with the binary ECHO probe (gearmand
 * reads both protocols on one port). One timer watches the oldest command's `commandTimeout`.
 */
import { Connection, type ConnectionEvent } from "../connection/connection.ts";
import { ConnectionError, GearmanError, TimeoutError } from "../errors.ts";
import { resolveAdminOptions, type AdminOptions, type ResolvedAdminOptions } from "../options.ts";
import {
  AdminReplyAssembler,
  encodeAdminCommand,
  parseAdminReply,
  replyShape,
  type AdminCommand,
  type AdminCommandName,
  type AdminReplies,
  type JobRow,
  type PriorityStatusRow,
  type StatusRow,
  type WorkerRow,
} from "../protocol/admin.ts";
import { Deadline } from "../util/deadline.ts";
import { Fifo } from "../util/fifo.ts";

interface PendingCommand {
  readonly name: AdminCommandName;
  readonly resolve: (value: never) => void;
  readonly reject: (error: unknown) => void;
  /** `performance.now()` by which its reply is due. */
  due: number;
}

export class Admin {
  /** `host:port` of the server. */
  readonly server: string;
  private readonly options: ResolvedAdminOptions;
  private connection: Connection | null = null;
  private assembler: AdminReplyAssembler;
  private readonly pending = new Fifo<PendingCommand>();
  /** Commands queued while the connection is being opened. */
  private unsent: Uint8Array[] = [];
  private closed = false;
  /** The oldest command's reply deadline (replies come in order: it is the first one due). */
  private readonly timer: Deadline;

  /**
   * @param server "host:port"; default GEARMAN_SERVERS (its first server), else 127.0.0.1:4730.
   * @param resolved @internal options already resolved (the Client's, to cancel a job it gave up on).
   */
  constructor(server?: string, options: AdminOptions = {}, resolved?: ResolvedAdminOptions) {
    this.options = resolved ?? resolveAdminOptions(server, options);
    this.server = this.options.server.key;
    this.assembler = new AdminReplyAssembler(this.server);
    this.timer = new Deadline(
      () => this.connection?.lastDataAt ?? 0,
      (arrivedLate) => this.onTimer(arrivedLate),
    );
  }

  /** `status`: jobs and workers per function. */
  status(): Promise<StatusRow[]> {
    return this.command({ name: "status" });
  }

  /** `workers`: every connection with its client id and functions. */
  workers(): Promise<WorkerRow[]> {
    return this.command({ name: "workers" });
  }

  /** `prioritystatus`: queued jobs per priority. */
  prioritystatus(): Promise<PriorityStatusRow[]> {
    return this.command({ name: "prioritystatus" });
  }

  /** `version`: the server's version string. */
  version(): Promise<string> {
    return this.command({ name: "version" });
  }

  /** `getpid`: the server's process id. */
  getpid(): Promise<number> {
    return this.command({ name: "getpid" });
  }

  /** `verbose`: the server's log level name (e.g. INFO). */
  verbose(): Promise<string> {
    return this.command({ name: "verbose" });
  }

  /** `show jobs`: every job the server holds. */
  showJobs(): Promise<JobRow[]> {
    return this.command({ name: "show jobs" });
  }

  /** `show unique jobs`: the unique keys of the jobs the server holds. */
  showUniqueJobs(): Promise<string[]> {
    return this.command({ name: "show unique jobs" });
  }

  /** `cancel job HANDLE`: the job will not run. Rejects with ServerError UNKNOWN_JOB when not found. */
  cancelJob(handle: string): Promise<void> {
    return this.command({ name: "cancel job", handle });
  }

  /**
   * `maxqueue`: the longest queue for a function, one size for all priorities or
   * `[high, normal, low]`; without a size, the limit is removed.
   */
  maxqueue(fn: string, size?: number | readonly [number, number, number]): Promise<void> {
    return this.command({ name: "maxqueue", function: fn, size });
  }

  /** `create function NAME`. */
  createFunction(fn: string): Promise<void> {
    return this.command({ name: "create function", function: fn });
  }

  /** `drop function NAME`: fails (ServerError) while workers or clients use it. */
  dropFunction(fn: string): Promise<void> {
    return this.command({ name: "drop function", function: fn });
  }

  /** Sends any admin command and resolves with its typed reply. */
  command<C extends AdminCommand>(command: C): Promise<AdminReplies[C["name"]]> {
    if (this.closed) {
      return Promise.reject(new ConnectionError("CLOSED", "admin client is closed", { server: this.server }));
    }
    let bytes: Uint8Array;
    try {
      bytes = encodeAdminCommand(command);
    } catch (error) {
      return Promise.reject(error);
    }
    const { promise, resolve, reject } = Promise.withResolvers<AdminReplies[C["name"]]>();
    const entry: PendingCommand = {
      name: command.name,
      resolve: resolve as (value: never) => void,
      reject,
      due: performance.now() + this.options.commandTimeout,
    };
    this.pending.push(entry);
    if (!this.timer.armed) this.timer.start(this.options.commandTimeout);
    this.assembler.expect(replyShape(command.name));
    const connection = this.connect();
    if (connection.isReady) connection.write(bytes);
    else this.unsent.push(bytes);
    return promise;
  }

  /** Closes the connection; commands still waiting reject with ConnectionError CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const connection = this.connection;
    this.fail(new ConnectionError("CLOSED", "admin client closed", { server: this.server }));
    await connection?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private connect(): Connection {
    if (this.connection !== null) return this.connection;
    const connection: Connection = new Connection(this.options.server, this.options.connection, {
      packet: () => {}, // binary packets other than the connect probe's echo are not expected
      text: (line) => this.onLine(connection, line),
      event: (event) => this.onEvent(connection, event),
    });
    this.connection = connection;
    connection.connect().catch(() => {}); // failures arrive as a `disconnected` event
    return connection;
  }

  private onEvent(connection: Connection, event: ConnectionEvent): void {
    if (connection !== this.connection) return;
    if (event.type === "ready") {
      const unsent = this.unsent;
      this.unsent = [];
      for (const bytes of unsent) connection.write(bytes);
    } else if (event.type === "disconnected") {
      this.fail(event.error);
    } else if (event.type === "closed") {
      this.fail(new ConnectionError("CLOSED", "admin connection closed", { server: this.server }));
    }
  }

  private onLine(connection: Connection, line: string): void {
    if (connection !== this.connection) return;
    let reply: ReturnType<AdminReplyAssembler["line"]>;
    try {
      reply = this.assembler.line(line);
    } catch (error) {
      this.fail(error instanceof GearmanError ? error : new ConnectionError("CONNECTION_LOST", String(error)));
      return;
    }
    if (reply === null) return;
    const entry = this.pending.shift()!;
    this.watchOldest();
    if (reply.error) {
      entry.reject(reply.error);
      return;
    }
    try {
      entry.resolve(parseAdminReply(entry.name, reply.lines, this.server) as never);
    } catch (error) {
      entry.reject(error);
    }
  }

  /** Points the timer at the oldest command still waiting. */
  private watchOldest(): void {
    const oldest = this.pending.peek();
    if (oldest === undefined) this.timer.stop();
    else this.timer.start(Math.max(1, oldest.due - performance.now()));
  }

  private onTimer(arrivedLate: boolean): void {
    const oldest = this.pending.peek();
    if (oldest === undefined) return;
    if (arrivedLate) {
      // Reply bytes our own busy loop had kept waiting: the server answered; let it finish.
      oldest.due = performance.now() + this.options.commandTimeout;
      this.timer.start(this.options.commandTimeout);
    } else if (performance.now() < oldest.due) {
      this.watchOldest();
    } else {
      this.timedOut(oldest);
    }
  }

  private timedOut(entry: PendingCommand): void {
    this.fail(
      new TimeoutError(
        `admin command "${entry.name}" got no reply in ${this.options.commandTimeout} ms (option commandTimeout)`,
        { server: this.server },
      ),
    );
  }

  /** Rejects everything waiting and drops the connection; the next command dials again. */
  private fail(error: unknown): void {
    const connection = this.connection;
    this.connection = null;
    this.unsent = [];
    this.assembler = new AdminReplyAssembler(this.server);
    this.timer.stop();
    for (const entry of this.pending.drain()) entry.reject(error);
    if (connection !== null && connection.state !== "closed") void connection.close();
  }
}
