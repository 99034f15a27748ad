/**
 * Coalesced writes with partial-write handling, for any Bun socket (client or server side).
 *
 * Packets queued in one synchronous stretch — the packets of one socket read, a loop of submits —
 * go out in one `socket.write` (a worker's WORK_COMPLETE and its next GRAB share a segment). The
 * flush runs as a microtask, so it leaves before the event loop waits again: a setImmediate
 * flush cost a loop turn per round trip (measured: one job in flight 1,850 → 2,300 jobs/s,
 * 122 → 95 µs CPU per job; concurrency-16 worker drain ~27 k → ~34 k jobs/s). Bun's socket.write is unbuffered: it may take
 * only part of the bytes (backpressure) or return -1 when closed; what it did not take stays
 * here and is written on `drain`.
 *
 * Small packets can be encoded in place (`reserve`): they go into one reused buffer, the tail,
 * so a loop of a million submits leaves no buffer per packet behind, and a round trip allocates
 * none. Bun's write copies what it takes, so once a write took the whole tail it starts over.
 * Coalescing stops at the tail's size: a synchronous stretch that fills the tail (a bulk enqueue)
 * writes it at once, when nothing else waits and the socket takes writes, and starts over in the
 * same buffer — the loop's packets go to the kernel as they are made instead of piling up here
 * until it ends (a 300,000-submit loop held ~10 MB, 35 bytes a submit; bench/burst.ts).
 */

/**
 * The part of a Bun socket the queue needs. Bun's write takes an offset and a length, so the tail
 * is written without a view made for each flush (a view costs ~100–200 ns of CPU per write).
 */
export interface WritableSocket {
  write(data: Uint8Array, byteOffset?: number, byteLength?: number): number;
}

/** Parts at least this large are written on their own rather than copied into a batch. */
const BATCH_LIMIT = 64 * 1024;
/** Size of the tail that small reserved packets are encoded into; larger ones get their own buffer. */
const TAIL_SIZE = 64 * 1024;
/**
 * Pushed bytes up to this size are copied into the tail rather than queued as a part of their
 * own: a constant packet (a worker's GRAB or PRE_SLEEP) between two reserved packets would
 * otherwise seal the tail, and the next reservation would start a fresh 64 KiB one.
 */
const COPY_LIMIT = 64;

export class WriteQueue {
  private socket: WritableSocket | null = null;
  private parts: Uint8Array[] = [];
  private bytes = 0;
  private scheduled = false;
  private blocked = false;
  private waiters: { resolve: () => void; reject: (e: unknown) => void; limit: number }[] = [];
  /** Reserved bytes not yet written start at tailStart and end at tailEnd; they follow `parts`. */
  private tail: Uint8Array | null = null;
  private tailStart = 0;
  private tailEnd = 0;
  /** The buffer of the last `reserve`. */
  private reservedIn: Uint8Array | null = null;
  private readonly flushNow = (): void => this.flush();

  /** @param highWaterMark pending bytes above which `writable()` waits. */
  constructor(private readonly highWaterMark: number) {}

  /** Bytes queued and not yet taken by the kernel. */
  get pending(): number {
    return this.bytes;
  }

  /** True when callers that care about memory should wait for `writable()`. */
  get full(): boolean {
    return this.bytes > this.highWaterMark;
  }

  /** Attaches a connected socket; queued bytes are flushed to it. */
  attach(socket: WritableSocket): void {
    this.socket = socket;
    this.blocked = false;
    if (this.bytes > 0) this.schedule();
  }

  /** Detaches the socket and drops what was queued; waiters reject with `error`. */
  detach(error: unknown): void {
    this.socket = null;
    this.parts = [];
    this.tailStart = this.tailEnd = 0;
    this.bytes = 0;
    this.blocked = false;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(error);
  }

  /**
   * Queues bytes; they are written at the end of this turn. Up to COPY_LIMIT bytes are copied; a
   * larger buffer is kept by reference (do not change it until written).
   */
  push(data: Uint8Array): void {
    const size = data.byteLength;
    if (size === 0) return;
    if (size <= COPY_LIMIT) {
      const at = this.reserve(size);
      this.reserved.set(data, at);
      return;
    }
    this.sealTail();
    this.parts.push(data);
    this.bytes += data.byteLength;
    this.schedule();
  }

  /**
   * Queues `size` bytes the caller writes in place, now, before anything else is queued: into
   * `reserved` from the returned offset. `unreserve` takes them back (an encoding that failed).
   */
  reserve(size: number): number {
    if (size > TAIL_SIZE / 4) {
      this.bytes += size;
      this.schedule();
      this.sealTail();
      const own = new Uint8Array(size);
      this.parts.push(own);
      this.reservedIn = own;
      return 0;
    }
    let tail = this.tail;
    if (tail !== null && this.tailEnd + size > tail.byteLength) {
      // The tail is full: write it now if it is all that waits, and start over in it if taken.
      if (this.parts.length === 0 && !this.blocked && this.socket !== null) this.writeTail();
      if (this.tailEnd + size > tail.byteLength) this.sealTail();
    }
    this.bytes += size;
    this.schedule();
    tail = this.tail ??= new Uint8Array(TAIL_SIZE);
    const at = this.tailEnd;
    this.tailEnd = at + size;
    this.reservedIn = tail;
    return at;
  }

  /** The buffer the last `reserve` handed out. */
  get reserved(): Uint8Array {
    return this.reservedIn!;
  }

  /** Takes back the last reservation (only before anything else was queued). */
  unreserve(at: number, size: number): void {
    this.bytes -= size;
    if (this.reservedIn === this.tail && this.tailEnd === at + size) this.tailEnd = at;
    else if (this.parts.at(-1) === this.reservedIn) this.parts.pop();
  }

  /** Resolves when at most `limit` bytes (default: the high-water mark) are pending. */
  writable(limit: number = this.highWaterMark): Promise<void> {
    if (this.bytes <= limit) return Promise.resolve();
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.waiters.push({ resolve, reject, limit });
    return promise;
  }

  /** Writes now what the socket will take; call from the socket's `drain` handler too. */
  flush(): void {
    this.scheduled = false;
    this.blocked = false;
    const socket = this.socket;
    if (socket === null) return;
    if (this.parts.length === 0 && this.tailEnd > this.tailStart) {
      // The common case: only small reserved packets, written from the tail without a copy.
      this.writeTail();
      return;
    }
    this.sealTail();
    while (this.parts.length > 0) {
      const buf = this.takeBatch();
      const n = socket.write(buf);
      if (n < 0) return; // closed: the close handler detaches us
      if (n < buf.byteLength) {
        this.parts.unshift(buf.subarray(n));
        this.bytes -= n;
        this.blocked = true; // wait for drain
        this.wake();
        return;
      }
      this.bytes -= n;
    }
    this.wake();
  }

  /** Writes the tail's unwritten bytes (nothing else waits before them); starts it over once all were taken. */
  private writeTail(): void {
    const len = this.tailEnd - this.tailStart;
    const n = this.socket!.write(this.tail!, this.tailStart, len);
    if (n < 0) return; // closed: the close handler detaches us
    this.bytes -= n;
    if (n < len) {
      this.tailStart += n;
      this.blocked = true; // wait for drain
    } else {
      this.tailStart = this.tailEnd = 0;
    }
    this.wake();
  }

  private schedule(): void {
    if (this.scheduled || this.blocked || this.socket === null) return;
    this.scheduled = true;
    queueMicrotask(this.flushNow);
  }

  /** Moves the tail's unwritten bytes into `parts` (a view: the tail is not reused after). */
  private sealTail(): void {
    if (this.tailEnd === this.tailStart) return;
    this.parts.push(this.tail!.subarray(this.tailStart, this.tailEnd));
    this.tail = null;
    this.tailStart = this.tailEnd = 0;
  }

  /** Removes the next parts from the queue, joined into one buffer when they are small. */
  private takeBatch(): Uint8Array {
    const first = this.parts[0]!;
    if (this.parts.length === 1 || first.byteLength >= BATCH_LIMIT) {
      this.parts.shift();
      return first;
    }
    let count = 0;
    let size = 0;
    while (count < this.parts.length) {
      const len = this.parts[count]!.byteLength;
      if (len >= BATCH_LIMIT || size + len > BATCH_LIMIT * 4) break;
      size += len;
      count++;
    }
    if (count === 1) {
      this.parts.shift();
      return first;
    }
    const out = new Uint8Array(size);
    let at = 0;
    for (let i = 0; i < count; i++) {
      const p = this.parts[i]!;
      out.set(p, at);
      at += p.byteLength;
    }
    this.parts.splice(0, count);
    return out;
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const still: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (this.bytes <= w.limit) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }
}
