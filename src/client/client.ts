/**
 * The public Client: submits jobs to one or more job servers, pipelined.
 *
 *   const client = new Client({ servers: ["127.0.0.1:4730", "127.0.0.1:4731"] });
 *   const text = await client.submit("reverse", "hello").text();
 *   const handle = await client.submitBackground("reindex", "all", { priority: "low" });
 *   await client.close();
 *
 * Routing: a job with a unique key goes to the server that scores highest for that key
 * (rendezvous hashing on the server addresses), so the same key reaches the same server while it
 * is up, in every process that lists the same addresses: coalescing and GET_STATUS_UNIQUE work
 * across a cluster. Jobs without a unique go round-robin. Both choose among the servers not known
 * to be down — ready ones and ones still on their first dial — so submits made right after
 * construction are spread as they will be later (a job routed to a connecting server waits for
 * it). A server is known down once a dial failed or its connection was lost (a heartbeat timeout
 * included), and is skipped until it is ready again; a submit fails only when no server is
 * reachable, and its error lists each server and why.
 *
 * A silent server — connected, but its replies overdue (silence.ts) — is skipped by new submits
 * the same way, long before its heartbeat times out, until it sends anything again; jobs with a
 * unique key whose server it is go to the next server in the key's ranking meanwhile, as they
 * would if it were down. Requests already written to it stay: they end at its answer or at the
 * heartbeat timeout (`sent: true`, outcome unknown), or are resubmitted (`retryOnDisconnect`).
 */
import { Connection, type ConnectionEvent } from "../connection/connection.ts";
import { everyTlsFailed } from "../connection/tls.ts";
import { ConfigError, ConnectionError, ProtocolError, TimeoutError, type GearmanError } from "../errors.ts";
import {
  nameOption,
  resolveClientOptions,
  resolveSubmitOptions,
  type BackgroundOptions,
  type ClientOptions,
  type Priority,
  type ResolvedClientOptions,
  type SubmitOptions,
} from "../options.ts";
import { PacketType } from "../protocol/packets.ts";
import { Fifo } from "../util/fifo.ts";
import { GiveUps } from "./give-up.ts";
import { HandleMemory, pickByUnique } from "./handles.ts";
import { ServerLink, type JobStatus, type UniqueStatus } from "./link.ts";
import { rejectHandle, type HandleResolve } from "./requests.ts";
import { BackgroundSubmit, submitBodyLength, type Payload, type Submission } from "./submission.ts";
import { Task } from "./task.ts";
import { Window } from "./window.ts";
import { SilenceCheck } from "./silence.ts";

export type { Payload } from "./submission.ts";
export type { BackgroundOptions, Priority, SubmitOptions } from "../options.ts";

/** State of one server as the client sees it. */
export interface ServerInfo {
  server: string;
  state: Connection["state"];
  /** Why the last dial failed or the connection was lost (null while ready). */
  lastError: Error | null;
  /** Requests awaiting a reply and foreground jobs awaiting a result on this connection. */
  inFlight: { requests: number; jobs: number };
  /** Connected, but its replies are overdue: new submits go to the other servers until it answers. */
  silent: boolean;
}

const FOREGROUND: Record<Priority, number> = {
  high: PacketType.SUBMIT_JOB_HIGH,
  normal: PacketType.SUBMIT_JOB,
  low: PacketType.SUBMIT_JOB_LOW,
};
const BACKGROUND: Record<Priority, number> = {
  high: PacketType.SUBMIT_JOB_HIGH_BG,
  normal: PacketType.SUBMIT_JOB_BG,
  low: PacketType.SUBMIT_JOB_LOW_BG,
};

/** The options of a submit that passed none (not a fresh object per call). */
const NO_OPTIONS: BackgroundOptions = Object.freeze({});

/** Something waiting for a live server: a submit, or a status call. */
interface Waiting {
  go(): void;
  fail(error: GearmanError): void;
}

export { pickByUnique } from "./handles.ts";

export class Client {
  private readonly options: ResolvedClientOptions;
  private readonly links: ServerLink[];
  /** Links that are ready, in server-list order. */
  private ready: ServerLink[] = [];
  /** Links not known to be down (ready, or on their first dial), in server-list order. */
  private up: ServerLink[];
  /** Of `up`, those not silent (all of `up` if every one is): where submits go. */
  private routable: ServerLink[];
  /** The timer that marks links silent (silence.ts). */
  private readonly silence: SilenceCheck;
  private next = 0;
  private readonly waiting = new Fifo<Waiting>();
  /** Background handle → the server that created it, for status(handle). */
  private readonly handles: HandleMemory<ServerLink>;
  private closed = false;
  /** Jobs given up on (their timeout passed), being cancelled; close() waits for them. */
  private readonly giveUps = new GiveUps();
  /** Submits beyond `maxInFlight` wait here (null: no limit). */
  private readonly window: Window | null;
  /** What a submit without options resolves to (resolved once, not per call). */
  private readonly defaults: ReturnType<typeof resolveSubmitOptions>;

  constructor(options: ClientOptions = {}) {
    this.options = resolveClientOptions(options);
    const max = this.options.maxInFlight;
    this.window = max > 0 ? new Window(max, (s) => this.dispatch(s)) : null;
    this.defaults = resolveSubmitOptions(NO_OPTIONS, this.options);
    this.handles = new HandleMemory(this.options.rememberHandles);
    this.links = this.options.servers.map((address) => {
      let link: ServerLink;
      const connection = new Connection(address, this.options.connection, {
        packet: (packet) => link.onPacket(packet),
        body: (type, buf, from, to) => link.onBody(type, buf, from, to),
        event: (event) => this.onEvent(link, event),
      });
      link = new ServerLink(connection, {
        backgroundCreated: (handle, l) => this.handles.remember(handle, l),
        lost: (task, error) => this.lost(task, error),
        spoke: () => this.linksChanged(),
      });
      return link;
    });
    this.up = this.links;
    this.routable = this.links;
    this.silence = new SilenceCheck(this.links, () => this.linksChanged());
    for (const link of this.links) link.connection.connect().catch(() => {}); // errors arrive as events
  }

  /**
   * Submits a foreground job. The task is a promise of the result (WORK_COMPLETE data), with
   * `.text()`, `.json()`, `.handle` and `.events()`.
   * @throws ConfigError at once for options gearmand would not accept (empty function, NUL in a
   *   name, a reducer with a priority, a negative timeout).
   */
  submit(fn: string, payload: Payload, options: SubmitOptions = NO_OPTIONS): Task {
    nameOption("function", fn);
    const o = options === NO_OPTIONS ? this.defaults : resolveSubmitOptions(options, this.options);
    const type = o.reducer === undefined ? FOREGROUND[o.priority] : PacketType.SUBMIT_REDUCE_JOB;
    const task = new Task(type, fn, o.unique, o.reducer, payload, o.retryOnDisconnect);
    this.start(task, o.timeout);
    return task;
  }

  /**
   * Submits a background job; resolves with its handle once the server created it. A loop of
   * these that awaits none is a bulk enqueue: each waiting submit is its promise and the
   * promise's resolve function (~100 bytes of heap; bench/burst.ts), and `maxInFlight` bounds
   * how many are sent at once.
   */
  submitBackground(fn: string, payload: Payload, options: BackgroundOptions = NO_OPTIONS): Promise<string> {
    let type: number;
    let extra: string | undefined;
    let o: ReturnType<typeof resolveSubmitOptions>;
    try {
      nameOption("function", fn);
      o = options === NO_OPTIONS ? this.defaults : resolveSubmitOptions(options, this.options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (o.epoch !== undefined) {
      // gearmand runs it once its clock reaches this second (rounded up: never early).
      type = PacketType.SUBMIT_JOB_EPOCH;
      extra = String(o.epoch);
    } else if (o.reducer !== undefined) {
      type = PacketType.SUBMIT_REDUCE_JOB_BACKGROUND;
      extra = o.reducer;
    } else {
      type = BACKGROUND[o.priority];
    }
    const { promise, resolve } = Promise.withResolvers<string>();
    if (o.timeout === 0 && !o.retryOnDisconnect && this.window === null) {
      this.startBare(type, fn, o.unique, extra, payload, resolve);
    } else {
      this.start(new BackgroundSubmit(type, fn, o.unique, extra, payload, o.retryOnDisconnect, resolve), o.timeout);
    }
    return promise;
  }

  /**
   * GET_STATUS for a job handle, asked of the server that created it: `server` when given, else
   * the server of a waiting foreground job or a remembered background job, else every live
   * server (the first that knows the handle answers). Two gearmand on one host give out the
   * same handles ("H:host:1"…): pass `server` (a task's `.server`) to be exact.
   */
  async status(handle: string, server?: string): Promise<JobStatus> {
    nameOption("handle", handle, false);
    let link: ServerLink | undefined;
    if (server !== undefined) {
      link = this.links.find((l) => l.key === server);
      if (link === undefined) throw new ConfigError("server", `${server} is not one of this client's servers`);
    } else {
      // gearmand handles are "H:host:counter": two servers on one host hand out the same ones,
      // so a handle known on several connections is ambiguous and asked of every server.
      const waiting = this.links.filter((l) => l.has(handle));
      link = waiting.length === 1 ? waiting[0] : waiting.length === 0 ? this.handles.lookup(handle) : undefined;
    }
    if (link !== undefined) {
      // Still on its first dial: wait for it.
      if (!link.isReady && link.lastError === null) await link.connection.connect().catch(() => {});
      if (!link.isReady) {
        throw new ConnectionError("NOT_CONNECTED", `cannot ask the status of ${handle}: server is not connected`, {
          server: link.key,
          cause: link.lastError ?? undefined,
        });
      }
      return link.getStatus(handle);
    }
    await this.connect();
    const answers = await Promise.allSettled(this.ready.map((l) => l.getStatus(handle)));
    let unknown: JobStatus | undefined;
    for (const answer of answers) {
      if (answer.status === "fulfilled") {
        if (answer.value.known) return answer.value;
        unknown ??= answer.value;
      }
    }
    if (unknown) return unknown;
    const failed = answers.find((a) => a.status === "rejected");
    throw failed?.reason ?? this.unreachable() ?? new ConnectionError("NO_SERVERS", "no job server is connected");
  }

  /** GET_STATUS_UNIQUE, asked of the server that jobs with this unique key go to. */
  async statusUnique(unique: string): Promise<UniqueStatus> {
    nameOption("unique", unique, false);
    const link = this.route(unique);
    if (link === null) throw this.unreachable() ?? new ConnectionError("NO_SERVERS", "no job server is connected");
    if (!link.isReady) await link.connection.connect().catch(() => {});
    if (!link.isReady) {
      throw new ConnectionError("NOT_CONNECTED", `cannot ask the status of unique ${unique}: server is not connected`, {
        server: link.key,
        cause: link.lastError ?? undefined,
      });
    }
    return link.getStatusUnique(unique);
  }

  /** Resolves once a server is ready; rejects when none is reachable (the error lists why). */
  connect(): Promise<void> {
    if (this.ready.length > 0) return Promise.resolve();
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.whenReady({ go: resolve, fail: reject });
    return promise;
  }

  /** Each server's connection state, last error and what waits on it. */
  servers(): ServerInfo[] {
    return this.links.map((l) => ({
      server: l.key,
      state: l.connection.state,
      lastError: l.lastError,
      inFlight: l.inFlight,
      silent: l.silent,
    }));
  }

  /** Closes every connection; jobs and requests still waiting reject with ConnectionError CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.silence.stop();
    const error = new ConnectionError("CLOSED", "client closed", { sent: false });
    for (const w of this.waiting.drain()) w.fail(error);
    this.window?.fail(error);
    this.ready = [];
    this.up = [];
    this.routable = [];
    for (const link of this.links) link.lose(error, true);
    await Promise.all([...this.links.map((l) => l.connection.close()), this.giveUps.settled()]);
    this.handles.clear();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * A server drops the connection of a packet over its limit, and every job waiting on it with
   * it: the one submit is refused here instead (null: within the limit).
   */
  private oversize(fn: string, body: number): ProtocolError | null {
    const limit = this.options.connection.maxPacketSize;
    if (body <= limit) return null;
    return new ProtocolError(
      "PACKET_TOO_LARGE",
      `submit to ${fn} is a ${body}-byte packet, over the ${limit}-byte limit (maxPacketSize)`,
    );
  }

  /**
   * Sends a background submit that nothing watches over once it is sent (no timeout, window or
   * resend): on a ready connection it waits as its promise's resolve function alone, without a
   * record (requests.ts). A submit whose server is still connecting, or that waits for one, gets
   * its record as any other does.
   */
  private startBare(
    type: number,
    fn: string,
    unique: string,
    extra: string | undefined,
    payload: Payload,
    resolve: HandleResolve,
  ): void {
    const tooLarge = this.oversize(fn, submitBodyLength(type, fn, unique, extra, payload));
    if (tooLarge !== null) {
      rejectHandle(resolve, tooLarge);
      return;
    }
    const link = this.route(unique);
    if (link?.isReady) link.submitBackground(type, fn, unique, extra, payload, resolve);
    else this.dispatchTo(new BackgroundSubmit(type, fn, unique, extra, payload, false, resolve), link);
  }

  /** Arms the task's timeout (resolved milliseconds, 0 for none) and sends it (or queues it behind the window). */
  private start(task: Submission, ms: number): void {
    const tooLarge = this.oversize(task.function, task.bodyLength());
    if (tooLarge !== null) {
      task.reject(tooLarge);
      return;
    }
    if (ms > 0) {
      task.timer = setTimeout(() => {
        task.timer = null;
        if (task instanceof Task) {
          task.owner?.forget(task);
          this.abandon(task);
        }
        const what = task.background ? "was not created" : "got no result";
        task.reject(
          new TimeoutError(`job for ${task.function} ${what} in ${ms} ms (option timeout)`, { server: task.server }),
        );
      }, ms);
    }
    if (this.window === null) this.dispatch(task);
    else this.window.enter(task);
  }

  /** Its `timeout` passed after the server created it: cancelled there unless keyed (give-up.ts). */
  private abandon(task: Task): void {
    const handle = task.handleNow;
    const link = this.links.find((l) => l.key === task.server);
    if (handle === undefined || link === undefined) return;
    this.giveUps.cancel(link.connection.server, this.options.connection, handle, task.unique);
  }

  /** Sends a task to its server (which may still be connecting), or fails it. */
  private dispatch(task: Submission): void {
    if (task.state !== "pending") return;
    this.dispatchTo(task, this.route(task.unique));
  }

  /** Sends a task to the server routing chose for it, or waits for one (`link` null: none is up). */
  private dispatchTo(task: Submission, link: ServerLink | null): void {
    if (link !== null) {
      link.submit(task);
      return;
    }
    this.whenReady({ go: () => this.dispatch(task), fail: (e) => task.reject(e) });
  }

  private whenReady(w: Waiting): void {
    if (this.ready.length > 0) {
      w.go();
      return;
    }
    const error = this.unreachable();
    if (error) w.fail(error);
    else this.waiting.push(w);
  }

  private route(unique: string): ServerLink | null {
    const up = this.routable;
    if (up.length === 0) return null;
    if (up.length === 1) return up[0]!;
    if (unique !== "") return pickByUnique(unique, up);
    if (this.next >= up.length) this.next = 0;
    return up[this.next++]!;
  }

  /** Recomputes `ready` and `up` after a link changed state. */
  private linksChanged(): void {
    // A connection reports `disconnected` before it leaves the ready state: lastError decides.
    this.up = this.links.filter((l) => l.lastError === null && l.connection.state !== "closed");
    this.ready = this.up.filter((l) => l.isReady);
    const heard = this.up.filter((l) => !l.silent);
    this.routable = heard.length > 0 ? heard : this.up;
  }

  /**
   * The error for "no server reachable" (TLS_FAILED when every server failed its handshake), or
   * null while some server is still on its first dial.
   */
  private unreachable(): ConnectionError | null {
    if (this.closed) return new ConnectionError("CLOSED", "client is closed");
    if (this.ready.length > 0) return null;
    if (this.links.some((l) => l.lastError === null && l.connection.state !== "closed")) return null;
    const tls = everyTlsFailed(this.links.map((l) => ({ server: l.key, error: l.lastError })));
    if (tls !== null) return tls;
    const why = this.links.map((l) => `${l.key}: ${l.lastError?.message ?? "closed"}`).join("; ");
    return new ConnectionError("NO_SERVERS", `no job server reachable (${why})`, {
      cause: this.links[0]?.lastError ?? undefined,
    });
  }

  private onEvent(link: ServerLink, event: ConnectionEvent): void {
    if (this.closed) return;
    switch (event.type) {
      case "ready": {
        link.lastError = null;
        this.linksChanged();
        link.handshake(this.options.clientId);
        const waiting = this.waiting.drain();
        for (const w of waiting) w.go();
        return;
      }
      case "disconnected":
        link.lastError = event.error;
        this.linksChanged();
        if (event.wasReady) link.lose(event.error, false);
        for (const task of link.unpark()) this.dispatch(task); // its dial failed: send them elsewhere
        this.failWaitingIfUnreachable();
        return;
      case "closed":
        link.lastError ??= new ConnectionError("CLOSED", "connection closed", { server: link.key });
        this.linksChanged();
        for (const task of link.unpark()) this.dispatch(task);
        this.failWaitingIfUnreachable();
        return;
      default:
        return;
    }
  }

  private failWaitingIfUnreachable(): void {
    if (this.waiting.length === 0) return;
    const error = this.unreachable();
    if (error === null) return;
    for (const w of this.waiting.drain()) w.fail(error);
  }

  /**
   * A job waiting on a lost connection: resubmit it if asked — once per job, so a job that
   * takes its servers down with it, or meets a second loss, ends rather than circulates — else
   * reject it.
   */
  private lost(task: Submission, error: ConnectionError): void {
    if (task.retryOnDisconnect && !task.resubmitted && task.sendable && !this.closed) {
      task.markResubmitted();
      this.dispatch(task);
    } else {
      task.reject(error);
    }
  }
}
