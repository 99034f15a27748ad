/**
 * What the client and its server links need of one submission on its way: its packet, kept as
 * its arguments and encoded straight into the connection's write queue when it is sent (so a
 * submit waiting for its server or its turn holds no buffer of its own), its routing key, and
 * how it ends. `Task` (foreground) and `BackgroundSubmit` build on it.
 *
 * A bulk enqueue keeps hundreds of thousands of submits alive at once, so each is small: the
 * packet type, the flags and the state share one number. A background submit with nothing to
 * watch over it once sent (no timeout, window or resend) gets no record at all on a ready
 * connection: it waits as its promise's resolve function alone (requests.ts, bench/burst.ts).
 */
import type { GearmanError } from "../errors.ts";
import { utf8Length, type Arg } from "../protocol/encode.ts";
import { PacketType } from "../protocol/packets.ts";

export type Payload = string | Uint8Array;
export type TaskState = "pending" | "complete" | "failed";

/** The submits a client lets be in flight at once (`maxInFlight`); told when one ends. */
export interface SubmitWindow {
  release(): void;
}

// flags: the packet type in the low byte, then one bit each.
const TYPE_MASK = 0xff;
const RETRY = 1 << 8;
const RESUBMITTED = 1 << 9;
const ADMITTED = 1 << 10;
const COMPLETE = 1 << 11;
const FAILED = 1 << 12;

const byteLength = (arg: Payload): number => (typeof arg === "string" ? utf8Length(arg) : arg.byteLength);

/** A submit packet's arguments, in the order of its type (`extra`: the reducer, or the epoch second). */
export function submitArgs(
  type: number,
  fn: string,
  unique: string,
  extra: string | undefined,
  payload: Payload,
): Arg[] {
  if (type === PacketType.SUBMIT_REDUCE_JOB || type === PacketType.SUBMIT_REDUCE_JOB_BACKGROUND) {
    return [fn, unique, extra ?? "", "", payload];
  }
  if (type === PacketType.SUBMIT_JOB_EPOCH) return [fn, unique, extra ?? "0", payload];
  return [fn, unique, payload];
}

/** A submit packet's body size, without encoding it. */
export function submitBodyLength(
  type: number,
  fn: string,
  unique: string,
  extra: string | undefined,
  payload: Payload,
): number {
  let n = byteLength(fn) + byteLength(unique) + byteLength(payload) + 2;
  if (type === PacketType.SUBMIT_REDUCE_JOB || type === PacketType.SUBMIT_REDUCE_JOB_BACKGROUND) {
    n += byteLength(extra ?? "") + 2;
  } else if (type === PacketType.SUBMIT_JOB_EPOCH) {
    n += byteLength(extra ?? "") + 1;
  }
  return n;
}

export abstract class Submission {
  /** The function the job was submitted to. */
  readonly function: string;
  /** The unique key sent ("" lets the server make one). */
  readonly unique: string;
  /** @internal the payload, kept while the packet may still be (re)sent. */
  private payload: Payload | null;
  /** @internal the reducer of a reduce job, or the epoch second of a scheduled job. */
  private readonly extra: string | undefined;
  private flags: number;
  /** @internal the job-timeout timer, when the job has a timeout. */
  timer: ReturnType<typeof setTimeout> | null = null;
  /** @internal the client's window, when it has one (`maxInFlight`). */
  window: SubmitWindow | null = null;

  constructor(type: number, fn: string, unique: string, extra: string | undefined, payload: Payload, retry: boolean) {
    this.function = fn;
    this.unique = unique;
    this.extra = extra;
    this.payload = payload;
    this.flags = type | (retry ? RETRY : 0);
  }

  /** True for a background submission (it is done once the server created it). */
  abstract get background(): boolean;
  /** `host:port` of the server that created the job, once it did (a foreground task's). */
  abstract get server(): string | undefined;
  /** @internal the server took the job (JOB_CREATED). */
  abstract created(handle: string, server: string): void;
  /** @internal the submission failed (timeout, server error, lost connection, close). */
  abstract reject(error: GearmanError): void;

  get state(): TaskState {
    const f = this.flags;
    return f & COMPLETE ? "complete" : f & FAILED ? "failed" : "pending";
  }

  /** @internal tells a submission from the link's other requests. */
  get kind(): "submit" {
    return "submit";
  }

  /** @internal SUBMIT_JOB, SUBMIT_JOB_BG, … */
  get packetType(): number {
    return this.flags & TYPE_MASK;
  }

  /** @internal whether the packet is sent again, once, when the connection is lost. */
  get retryOnDisconnect(): boolean {
    return (this.flags & RETRY) !== 0;
  }

  /** @internal sent again after a lost connection already (a second loss rejects it). */
  get resubmitted(): boolean {
    return (this.flags & RESUBMITTED) !== 0;
  }

  /** @internal whether the packet can still be sent (again). */
  get sendable(): boolean {
    return this.payload !== null;
  }

  /** @internal marks the one resend after a lost connection. */
  markResubmitted(): void {
    this.flags |= RESUBMITTED;
  }

  /** @internal the window let it in: it tells the window when it ends. */
  admitted(window: SubmitWindow): void {
    this.window = window;
    this.flags |= ADMITTED;
  }

  /** @internal the packet's arguments, in the order of its type. */
  packetArgs(): Arg[] {
    return submitArgs(this.flags & TYPE_MASK, this.function, this.unique, this.extra, this.payload ?? "");
  }

  /** @internal the packet's body size, without encoding it. */
  bodyLength(): number {
    return submitBodyLength(this.flags & TYPE_MASK, this.function, this.unique, this.extra, this.payload ?? "");
  }

  /** @internal the packet was queued: the payload goes unless it may be resent (once per job). */
  sent(): void {
    if (!(this.flags & RETRY) || this.flags & RESUBMITTED) this.payload = null;
  }

  /**
   * Leaves the pending state (the only way out): stops the timer, drops the payload and tells
   * the window. False when it had ended already.
   */
  protected settle(ok: boolean): boolean {
    const f = this.flags;
    if (f & (COMPLETE | FAILED)) return false;
    this.flags = f | (ok ? COMPLETE : FAILED);
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.payload = null;
    if (f & ADMITTED) this.window?.release();
    this.window = null;
    return true;
  }
}

/**
 * A background submit: a promise of the job handle, settled at JOB_CREATED. It keeps only the
 * promise's resolve function and rejects by resolving with a rejected promise: the reject
 * function would be a third of its size.
 */
export class BackgroundSubmit extends Submission {
  private readonly resolveHandle: (handle: string | PromiseLike<string>) => void;

  constructor(
    type: number,
    fn: string,
    unique: string,
    extra: string | undefined,
    payload: Payload,
    retry: boolean,
    resolve: (handle: string | PromiseLike<string>) => void,
  ) {
    super(type, fn, unique, extra, payload, retry);
    this.resolveHandle = resolve;
  }

  get background(): boolean {
    return true;
  }

  /** `host:port` of the server that created the job: not kept for a background submit. */
  get server(): string | undefined {
    return undefined;
  }

  created(handle: string): void {
    if (this.settle(true)) this.resolveHandle(handle);
  }

  reject(error: GearmanError): void {
    if (this.settle(false)) this.resolveHandle(Promise.reject(error));
  }
}
