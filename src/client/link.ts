/**
 * A client's connection to one job server: the requests that wait for a direct reply, in send
 * order (requests.ts), and the foreground jobs by handle (jobs.ts). WORK_* packets are not
 * replies: they find their job by handle.
 */
import type { Connection } from "../connection/connection.ts";
import { ConnectionError, JobExceptionError, JobFailedError, ProtocolError, ServerError } from "../errors.ts";
import { PacketType, packetName, type Packet } from "../protocol/packets.ts";
import { findNul, keep, keepAt, utf8At } from "../protocol/read.ts";
import { AnswerTimes } from "../util/answer-times.ts";
import { Fifo } from "../util/fifo.ts";
import { JobTable, type JobEntry } from "./jobs.ts";
import {
  kindOf,
  rejectHandle,
  Requests,
  type HandleResolve,
  type JobStatus,
  type RecordRequest,
  type RequestKind,
  type UniqueStatus,
} from "./requests.ts";
import { submitArgs, type Payload, type Submission } from "./submission.ts";
import { Task, type TaskEvent, type TaskOwner } from "./task.ts";

export type { JobStatus, UniqueStatus } from "./requests.ts";

const OPTION: RecordRequest = { kind: "option" };

const REPLY_KIND: Partial<Record<number, RequestKind>> = {
  [PacketType.JOB_CREATED]: "submit",
  [PacketType.STATUS_RES]: "status",
  [PacketType.STATUS_RES_UNIQUE]: "statusUnique",
  [PacketType.OPTION_RES]: "option",
};

export interface LinkHooks {
  /** A background job was created on this link (to remember where its handle lives). */
  backgroundCreated(handle: string, link: ServerLink): void;
  /** A waiting job's connection was lost: resubmit it elsewhere or reject it. */
  lost(task: Submission, error: ConnectionError): void;
  /** A link marked silent sent something: it takes new submits again. */
  spoke(link: ServerLink): void;
}

export class ServerLink implements TaskOwner {
  readonly key: string;
  readonly connection: Connection;
  /** Seed of this server in the unique-key hash (derived from its address). */
  readonly seed: number;
  /** Why the last dial failed or the connection was lost; null once ready again. */
  lastError: Error | null = null;
  private readonly hooks: LinkHooks;
  private readonly requests = new Requests();
  /** Submits routed here while the connection is still on its way up, sent on `ready`. */
  private readonly parked = new Fifo<Submission>();
  /** Foreground jobs by handle. */
  private readonly jobs = new JobTable();
  /**
   * `performance.now()` when the oldest request still waiting for its reply began to wait, or
   * when the server last sent anything since (whichever is later).
   */
  private waitingSince = 0;
  /** How long its answers took lately: the bound past which it counts as silent. */
  private readonly answers = new AnswerTimes();
  /**
   * Requests wait past the overdue bound with nothing heard: new submits go to the other
   * servers until it sends anything (set by the client's silence check, cleared here).
   */
  silent = false;

  constructor(connection: Connection, hooks: LinkHooks) {
    this.connection = connection;
    this.key = connection.server.key;
    this.seed = Bun.hash.murmur32v3(this.key);
    this.hooks = hooks;
  }

  get isReady(): boolean {
    return this.connection.isReady;
  }

  /** Requests waiting for a reply (and submits parked for the connection) and jobs waiting for a result (0 when idle: no residue). */
  get inFlight(): { requests: number; jobs: number } {
    return { requests: this.requests.length + this.parked.length, jobs: this.jobs.size };
  }

  /** True when a foreground job with this handle waits here. */
  has(handle: string): boolean {
    return this.jobs.has(handle);
  }

  /**
   * On ready: SET_CLIENT_ID, and OPTION_REQ exceptions so WORK_EXCEPTION reaches us; then the
   * submits that were parked here while it connected, in the order they were made.
   */
  handshake(clientId: string | undefined): void {
    if (clientId !== undefined) this.connection.send(PacketType.SET_CLIENT_ID, clientId);
    this.connection.send(PacketType.OPTION_REQ, "exceptions");
    this.request(OPTION);
    for (const task of this.parked.drain()) if (task.state === "pending") this.submit(task);
  }

  /** Sends a submit packet, or parks it until the connection is ready. */
  submit(task: Submission): void {
    if (!this.connection.isReady) {
      this.parked.push(task);
      return;
    }
    this.connection.writePacket(task.packetType, task.packetArgs());
    task.sent();
    if (task instanceof Task) task.owner = this;
    this.request(task);
  }

  /**
   * Sends a background submit that nothing else watches over (no timeout, window or resend) on
   * this ready connection: only `resolve` waits for its JOB_CREATED (requests.ts).
   */
  submitBackground(
    type: number,
    fn: string,
    unique: string,
    extra: string | undefined,
    payload: Payload,
    resolve: HandleResolve,
  ): void {
    this.connection.writePacket(type, submitArgs(type, fn, unique, extra, payload));
    if (this.requests.length === 0) this.waitingSince = performance.now();
    this.requests.pushBackground(resolve, fn);
  }

  /** A request was written: the wait for its reply starts now if none was waiting. */
  private request(r: RecordRequest): void {
    if (this.requests.length === 0) this.waitingSince = performance.now();
    this.requests.push(r);
  }

  /**
   * Anything arrived: a request still waiting gets a new wait from now, the gap since the last
   * sign of life is measured, and a silent link takes submits again. Only read the clock when
   * a request waits: a stream of results with nothing owed costs nothing here.
   */
  private heard(): void {
    if (this.requests.length > 0) {
      const now = performance.now();
      this.answers.answered(now - this.waitingSince, now);
      this.waitingSince = now;
    }
    if (this.silent) {
      this.silent = false;
      this.hooks.spoke(this);
    }
  }

  /** Requests have waited past the overdue bound at `now` (`performance.now()`) with nothing heard. */
  overdue(now: number): boolean {
    return this.requests.length > 0 && now - this.waitingSince > this.answers.overdueAfter(now);
  }

  /** The overdue bound at `now` (ms). */
  overdueAfter(now: number): number {
    return this.answers.overdueAfter(now);
  }

  /** Our own code held the loop: the wait starts again now (the server is judged on its own time). */
  excuse(now: number): void {
    if (this.requests.length > 0) this.waitingSince = now;
  }

  /** The submits parked here (the dial failed: they go elsewhere). */
  unpark(): Submission[] {
    return this.parked.drain().filter((t) => t.state === "pending");
  }

  getStatus(handle: string): Promise<JobStatus> {
    const { promise, resolve, reject } = Promise.withResolvers<JobStatus>();
    this.connection.send(PacketType.GET_STATUS, handle);
    this.request({ kind: "status", handle, resolve, reject });
    return promise;
  }

  getStatusUnique(unique: string): Promise<UniqueStatus> {
    const { promise, resolve, reject } = Promise.withResolvers<UniqueStatus>();
    this.connection.send(PacketType.GET_STATUS_UNIQUE, unique);
    this.request({ kind: "statusUnique", unique, resolve, reject });
    return promise;
  }

  /** A task timed out: drop it (a JOB_CREATED still owed for it is then skipped). */
  forget(task: Task): void {
    this.jobs.forget(task);
  }

  /** The connection was lost (or closed): everything waiting here ends or moves elsewhere. */
  lose(cause: Error, closing: boolean): void {
    this.silent = false;
    const tasks = this.jobs.drain();
    // A silent server keeps its own code, and its message says how long it was silent.
    const heartbeat = cause instanceof ConnectionError && cause.code === "HEARTBEAT_TIMEOUT";
    const silence = cause.message.replace(` (server ${this.key})`, "");
    // `sent`: whether the request had been written (its outcome is then unknown) or not.
    const lost = (what: string, sent = true): ConnectionError => {
      const options = { server: this.key, cause, sent };
      const unknown = sent ? " (it was sent: it may have been created and may run)" : " (not sent)";
      return closing
        ? new ConnectionError("CLOSED", `client closed while ${what} waited${unknown}`, options)
        : heartbeat
          ? new ConnectionError("HEARTBEAT_TIMEOUT", `${what} waited on a ${silence}${unknown}`, options)
          : new ConnectionError("CONNECTION_LOST", `connection lost while ${what} waited${unknown}`, options);
    };
    // Submits waiting for JOB_CREATED share one error per function: a bulk enqueue cut off
    // mid-way would otherwise build (and capture a stack for) one per submit.
    const submitErrors = new Map<string, ConnectionError>();
    const submitLost = (fn: string, sent: boolean): ConnectionError => {
      const key = sent ? `1${fn}` : `0${fn}`;
      let error = submitErrors.get(key);
      if (error === undefined) submitErrors.set(key, (error = lost(`submit to ${fn}`, sent)));
      return error;
    };
    for (const task of this.parked.drain()) {
      if (task.state === "pending") task.reject(submitLost(task.function, false));
    }
    const requests = this.requests;
    for (let request = requests.shift(); request !== undefined; request = requests.shift()) {
      if (typeof request === "function") {
        rejectHandle(request, submitLost(requests.shiftedFunction, true));
      } else if (request.kind === "submit") {
        if (request.state === "pending") this.hooks.lost(request, submitLost(request.function, true));
      } else if (request.kind === "status") {
        request.reject(lost(`GET_STATUS ${request.handle}`));
      } else if (request.kind === "statusUnique") {
        request.reject(lost(`GET_STATUS_UNIQUE ${request.unique}`));
      }
    }
    for (const task of tasks) {
      if (task.state !== "pending") continue;
      task.owner = null;
      this.hooks.lost(task, lost(`job ${task.handleNow} (${task.function})`));
    }
  }

  onPacket(packet: Packet): void {
    this.heard();
    const args = packet.args;
    switch (packet.type) {
      case PacketType.WORK_DATA:
      case PacketType.WORK_WARNING: {
        const entry = this.jobs.get(this.jobs.handleOf(args[0]!));
        if (entry === undefined) return;
        const type = packet.type === PacketType.WORK_DATA ? "data" : "warning";
        (entry instanceof Task ? entry : entry.nextCopy())?.event({ type, data: keep(args[1]!) });
        return;
      }
      case PacketType.WORK_STATUS: {
        const entry = this.jobs.get(this.jobs.handleOf(args[0]!));
        if (entry === undefined) return;
        (entry instanceof Task ? entry : entry.nextCopy())?.event({
          type: "status",
          numerator: Number(utf8At(args[1]!)),
          denominator: Number(utf8At(args[2]!)),
        });
        return;
      }
      case PacketType.WORK_COMPLETE: {
        const entry = this.jobs.take(this.jobs.handleOf(args[0]!));
        if (entry !== undefined) this.completed(entry, keep(args[1]!));
        return;
      }
      case PacketType.WORK_FAIL: {
        const handle = this.jobs.handleOf(args[0]!);
        const entry = this.jobs.take(handle);
        if (entry === undefined) return;
        if (entry instanceof Task) entry.failWith(this.failEvent(handle, entry));
        else for (const t of entry.tasks) t?.failWith(this.failEvent(handle, t));
        return;
      }
      case PacketType.WORK_EXCEPTION: {
        const handle = this.jobs.handleOf(args[0]!);
        const entry = this.jobs.take(handle);
        if (entry === undefined) return;
        const event = {
          type: "exception",
          error: new JobExceptionError(handle, utf8At(args[1]!), { server: this.key }),
        } as const;
        if (entry instanceof Task) entry.failWith(event);
        else for (const t of entry.tasks) t?.failWith(event);
        return;
      }
      case PacketType.ERROR: {
        const request = this.requests.shift();
        const error = new ServerError(utf8At(args[0]!), utf8At(args[1]!), { server: this.key });
        if (request === undefined) return;
        if (typeof request === "function") rejectHandle(request, error);
        else if (request.kind !== "option") request.reject(error);
        return;
      }
      default:
        if (REPLY_KIND[packet.type] !== undefined) this.onReply(packet);
    }
  }

  /** WORK_FAIL for `task`: its reason is the WORK_WARNING just before it, if any (docs/semantics.md). */
  private failEvent(handle: string, task: Task): Extract<TaskEvent, { type: "fail" }> {
    const warning = task.lastWarning;
    const detail = warning === null ? "" : utf8At(warning);
    return { type: "fail", error: new JobFailedError(handle, { server: this.key, detail }) };
  }

  private onReply(packet: Packet): void {
    const request = this.requests.shift();
    const args = packet.args;
    const kind = request === undefined ? "none" : kindOf(request);
    if (request === undefined || kind !== REPLY_KIND[packet.type]) {
      const error = new ProtocolError(
        "UNEXPECTED_PACKET",
        `${packetName(packet.type)} does not answer the oldest request (${kind})`,
        { packetType: packet.type, server: this.key },
      );
      if (typeof request === "function") rejectHandle(request, error);
      else if (request !== undefined && request.kind !== "option") request.reject(error);
      return;
    }
    if (typeof request === "function") {
      this.backgroundCreated(request, utf8At(args[0]!));
      return;
    }
    switch (request.kind) {
      case "submit":
        if (request.state === "pending") this.jobCreated(request, utf8At(args[0]!));
        return;
      case "status":
        request.resolve({
          handle: utf8At(args[0]!),
          known: utf8At(args[1]!) === "1",
          running: utf8At(args[2]!) === "1",
          numerator: Number(utf8At(args[3]!)),
          denominator: Number(utf8At(args[4]!)),
          server: this.key,
        });
        return;
      case "statusUnique":
        request.resolve({
          unique: utf8At(args[0]!),
          known: utf8At(args[1]!) === "1",
          running: utf8At(args[2]!) === "1",
          numerator: Number(utf8At(args[3]!)),
          denominator: Number(utf8At(args[4]!)),
          clients: Number(utf8At(args[5]!)),
          server: this.key,
        });
        return;
      case "option":
        return;
    }
  }

  /**
   * The connection's `body` hook: JOB_CREATED and WORK_COMPLETE, the two packets of every
   * foreground round trip, are read straight from the received bytes, without a packet object
   * and a view per argument. False hands a packet to onPacket: every other type, a JOB_CREATED
   * that answers no submit (onReply reports it), a malformed WORK_COMPLETE (the decoder does).
   */
  onBody(type: number, buf: Uint8Array, from: number, to: number): boolean {
    if (type === PacketType.WORK_COMPLETE) {
      this.heard();
      const nul = findNul(buf, from, to);
      if (nul < 0) return false;
      const entry = this.jobs.take(this.jobs.handleAt(buf, from, nul));
      if (entry !== undefined) this.completed(entry, keepAt(buf, nul + 1, to));
      return true;
    }
    if (type === PacketType.JOB_CREATED) {
      const request = this.requests.peek();
      if (request === undefined) return false;
      if (typeof request === "function") {
        this.heard();
        this.requests.shift();
        this.backgroundCreated(request, utf8At(buf, from, to));
        return true;
      }
      if (request.kind !== "submit") return false;
      this.heard();
      this.requests.shift();
      if (request.state === "pending") this.jobCreated(request, utf8At(buf, from, to));
      return true;
    }
    return false;
  }

  /** JOB_CREATED for a submit still pending (one that timed out first is skipped). */
  private jobCreated(task: Submission, handle: string): void {
    task.created(handle, this.key);
    if (!(task instanceof Task)) {
      this.hooks.backgroundCreated(handle, this);
      return;
    }
    this.jobs.add(handle, task);
  }

  /** JOB_CREATED for a bare background submit (requests.ts). */
  private backgroundCreated(resolve: HandleResolve, handle: string): void {
    resolve(handle);
    this.hooks.backgroundCreated(handle, this);
  }

  private completed(entry: JobEntry, data: Uint8Array): void {
    if (entry instanceof Task) entry.complete(data);
    else for (const t of entry.tasks) t?.complete(data);
  }
}
