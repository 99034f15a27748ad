/**
 * A "naive" multi-server worker with python-gearman 2.x's wake-up logic, shipped for the demo
 * (`gearbun demo --naive`) and used by the stall tests (its own code over gearbun's codec and
 * Connection; only the behaviour is python-gearman's):
 *
 * - one job lock for the whole worker, whatever the number of servers;
 * - on connect: SET_CLIENT_ID, RESET_ABILITIES, CAN_DO per function, PRE_SLEEP;
 * - NOOP: if this connection holds the lock, ignore it; if the lock is free, take it and
 *   GRAB_JOB_UNIQ; otherwise (waiting on a GRAB elsewhere, or busy) answer PRE_SLEEP;
 * - NO_JOB: release the lock, PRE_SLEEP;
 * - JOB_ASSIGN*: run the job, WORK_COMPLETE (WORK_FAIL if the handler throws), release the
 *   lock, PRE_SLEEP on that connection.
 *
 * Answering a NOOP with PRE_SLEEP leaves gearmand's `noop_sent` flag set on that connection
 * (only a GRAB clears it), so that server never wakes this worker again: the lost wake-up that
 * gearbun's Worker is built to avoid (see docs/protocol.md, "Wake-ups").
 * Never use this worker for real work.
 */
import { Connection } from "../connection/connection.ts";
import { noReconnect, type ReconnectPolicy } from "../connection/reconnect.ts";
import type { ServersInput } from "../connection/servers.ts";
import { resolveConnectionOptions } from "../options.ts";
import { CONSTANT_PACKETS } from "../protocol/encode.ts";
import { PacketType, type Packet } from "../protocol/packets.ts";

const utf8 = new TextDecoder();

export interface NaiveJob {
  /** "host:port" of the server that assigned the job. */
  readonly server: string;
  readonly handle: string;
  readonly functionName: string;
  readonly unique: string;
  readonly data: Uint8Array;
}

export type NaiveEventType = "ready" | "noop" | "grab" | "pre_sleep" | "no_job" | "job" | "complete" | "disconnected";

export interface NaiveEvent {
  readonly type: NaiveEventType;
  /** "host:port" of the connection concerned. */
  readonly server: string;
  /** The worker's id (its client id). */
  readonly worker: string;
  /** For `job` and `complete`. */
  readonly handle?: string;
  readonly data?: string;
  readonly at: number;
}

export interface NaiveWorkerOptions {
  servers: ServersInput;
  functions: readonly string[];
  /** Sent as SET_CLIENT_ID and reported in events. @default "naive" */
  clientId?: string;
  /** Runs a job; its result is sent with WORK_COMPLETE. @default echo the data */
  handler?: (job: NaiveJob) => Promise<Uint8Array | string> | Uint8Array | string;
  /** Called for every event, synchronously. */
  onEvent?: (event: NaiveEvent) => void;
  /** @default never reconnect */
  reconnect?: ReconnectPolicy;
}

interface Link {
  readonly key: string;
  readonly conn: Connection;
  /** Resolvers of ECHO round trips in flight, oldest first. */
  readonly echoes: (() => void)[];
  noops: number;
}

export class NaiveWorker {
  readonly id: string;
  /** Every event so far, oldest first. */
  readonly events: NaiveEvent[] = [];
  private readonly links: Link[];
  private readonly options: NaiveWorkerOptions;
  /** The connection holding the worker-wide job lock (python-gearman's `set_job_lock`). */
  private lock: Link | null = null;
  private watchers: (() => void)[] = [];
  private echoSeq = 0;

  constructor(options: NaiveWorkerOptions) {
    this.options = options;
    this.id = options.clientId ?? "naive";
    const resolved = resolveConnectionOptions({
      servers: options.servers,
      reconnect: options.reconnect ?? noReconnect,
    });
    this.links = resolved.servers.map((address) => {
      const echoes: (() => void)[] = [];
      const link: Link = {
        key: address.key,
        echoes,
        noops: 0,
        conn: new Connection(address, resolved.connection, {
          packet: (p) => this.onPacket(link, p),
          event: (e) => {
            if (e.type === "ready") this.handshake(link);
            if (e.type === "disconnected") this.dropped(link);
          },
        }),
      };
      return link;
    });
  }

  /** Connects to every server and waits until each has processed the first PRE_SLEEP. */
  async start(): Promise<void> {
    await Promise.all(this.links.map((l) => l.conn.connect()));
    await this.sync();
  }

  /** Server keys ("host:port"), in the order given. */
  get servers(): string[] {
    return this.links.map((l) => l.key);
  }

  /** NOOPs received so far from `server`. */
  noops(server: string): number {
    return this.link(server).noops;
  }

  /** Jobs received so far, from `server` or from all. */
  jobs(server?: string): number {
    return this.events.filter((e) => e.type === "job" && (server === undefined || e.server === server)).length;
  }

  /**
   * ECHO round trip on `server` (or all): the server answers packets of one connection in
   * order, so once it returns, everything sent before (a PRE_SLEEP) has been processed.
   */
  async sync(server?: string): Promise<void> {
    const targets = server === undefined ? this.links : [this.link(server)];
    await Promise.all(
      targets.map((link) => {
        const { promise, resolve } = Promise.withResolvers<void>();
        link.echoes.push(resolve);
        link.conn.send(PacketType.ECHO_REQ, `naive-sync-${++this.echoSeq}`);
        return promise;
      }),
    );
  }

  /**
   * Round trips on `server` until one passes with no NOOP arriving: the connection is then
   * asleep on the server (its last PRE_SLEEP found no job), however the NOOPs went before.
   */
  async settle(server: string, maxRounds = 100): Promise<void> {
    const link = this.link(server);
    for (let round = 0; round < maxRounds; round++) {
      const before = link.noops;
      await this.sync(server);
      if (link.noops === before) return;
    }
    throw new Error(`naive worker ${this.id}: ${server} kept sending NOOP over ${maxRounds} round trips`);
  }

  /** A GRAB sent by hand (what a timer would do; python-gearman has none). Takes the lock if free. */
  grab(server: string): void {
    const link = this.link(server);
    if (this.lock === null) this.lock = link;
    this.send(link, "grab");
  }

  /** Resolves once `ok()` holds, checked after every event; rejects after `timeoutMs`. */
  async until(ok: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ok()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`naive worker ${this.id}: timed out after ${timeoutMs} ms waiting for ${what}`);
      const { promise, resolve } = Promise.withResolvers<void>();
      this.watchers.push(resolve);
      const timer = setTimeout(resolve, left);
      await promise;
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.links.map((l) => l.conn.close()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private link(server: string): Link {
    const link = this.links.find((l) => l.key === server);
    if (link === undefined) throw new Error(`naive worker ${this.id} is not connected to ${server}`);
    return link;
  }

  private handshake(link: Link): void {
    const c = link.conn;
    c.send(PacketType.SET_CLIENT_ID, this.id);
    c.write(CONSTANT_PACKETS.RESET_ABILITIES);
    for (const f of this.options.functions) c.send(PacketType.CAN_DO, f);
    this.record("ready", link);
    this.send(link, "pre_sleep");
  }

  private dropped(link: Link): void {
    if (this.lock === link) this.lock = null;
    for (const resolve of link.echoes.splice(0)) resolve();
    this.record("disconnected", link);
  }

  private send(link: Link, what: "grab" | "pre_sleep"): void {
    if (!link.conn.isReady) return;
    link.conn.write(what === "grab" ? CONSTANT_PACKETS.GRAB_JOB_UNIQ : CONSTANT_PACKETS.PRE_SLEEP);
    this.record(what, link);
  }

  private onPacket(link: Link, p: Packet): void {
    switch (p.type) {
      case PacketType.NOOP:
        link.noops++;
        this.record("noop", link);
        if (this.lock === link) return;
        if (this.lock === null) {
          this.lock = link;
          this.send(link, "grab");
        } else {
          // The lost wake-up: busy elsewhere, so go back to sleep instead of grabbing.
          this.send(link, "pre_sleep");
        }
        return;
      case PacketType.NO_JOB:
        this.record("no_job", link);
        if (this.lock === link) this.lock = null;
        this.send(link, "pre_sleep");
        return;
      case PacketType.JOB_ASSIGN:
      case PacketType.JOB_ASSIGN_UNIQ:
      case PacketType.JOB_ASSIGN_ALL: {
        const a = p.args;
        const unique = p.type === PacketType.JOB_ASSIGN ? "" : utf8.decode(a[2]!);
        const job: NaiveJob = {
          server: link.key,
          handle: utf8.decode(a[0]!),
          functionName: utf8.decode(a[1]!),
          unique,
          data: a[a.length - 1]!.slice(),
        };
        void this.run(link, job);
        return;
      }
      case PacketType.ECHO_RES:
        link.echoes.shift()?.();
        this.poke();
        return;
      default:
        // ERROR and anything else: python-gearman logs and carries on.
        return;
    }
  }

  private async run(link: Link, job: NaiveJob): Promise<void> {
    this.record("job", link, job.handle, utf8.decode(job.data));
    let result: Uint8Array | string | null;
    try {
      result = this.options.handler ? await this.options.handler(job) : job.data;
    } catch {
      result = null;
    }
    if (link.conn.isReady) {
      if (result === null) link.conn.send(PacketType.WORK_FAIL, job.handle);
      else link.conn.send(PacketType.WORK_COMPLETE, job.handle, result);
    }
    this.record("complete", link, job.handle);
    if (this.lock === link) this.lock = null;
    this.send(link, "pre_sleep");
  }

  private record(type: NaiveEventType, link: Link, handle?: string, data?: string): void {
    const event: NaiveEvent = { type, server: link.key, worker: this.id, handle, data, at: Date.now() };
    this.events.push(event);
    this.options.onEvent?.(event);
    this.poke();
  }

  private poke(): void {
    const w = this.watchers;
    this.watchers = [];
    for (const f of w) f();
  }
}
