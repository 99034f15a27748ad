/**
 * A raw Gearman peer: one socket, the library's own codec, and every packet or admin line the
 * server sends collected in order. It knows no worker or client logic, so a test states each
 * byte it sends (the same sequence can run against gearmand and our server). The server tests
 * drive servers with it; the worker and stall tests play a second worker or a client with it.
 *
 *   using w = await RawPeer.connect(port);        // the bare socket
 *   await using c = await RawPeer.open(address);  // "host:port", after an ECHO round trip
 *   c.send(PacketType.SUBMIT_JOB_BG, "f", "", "data");
 *   const [handle] = await c.expect(PacketType.JOB_CREATED);
 */
import type { Socket } from "bun";
import { PacketDecoder } from "../../src/protocol/decode.ts";
import { encodePacket, type Arg } from "../../src/protocol/encode.ts";
import { PacketType, REQ_MAGIC, RES_MAGIC, packetName } from "../../src/protocol/packets.ts";

/** A received packet with its arguments decoded as text (latin1 keeps bytes 1:1). */
export interface Received {
  readonly type: number;
  readonly name: string;
  readonly args: string[];
  readonly raw: Uint8Array[];
}

export type Item = Received | { readonly type: "text"; readonly line: string };

let syncCounter = 0;

/** Bytes as a latin1 string (one char per byte; TextDecoder's "latin1" is windows-1252). */
const latin1 = {
  decode: (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1"),
};

const HANDLE = /H:[^:\s]+:(\d+)/g;

/**
 * One line per item, for transcripts: `NAME(arg,arg)` or `text:LINE`. Job handles are shown
 * as `H:N` (gearmand and the embedded server both use "H:<hostname>:N").
 */
export function render(item: Item): string {
  if (item.type === "text") return `text:${item.line.replace(HANDLE, "H:$1")}`;
  if (item.args.length === 0) return item.name;
  return `${item.name}(${item.args.map((a) => a.replace(HANDLE, "H:$1").replaceAll("\0", "\\0")).join(",")})`;
}

export class RawPeer {
  private socket!: Socket<undefined>;
  private readonly decoder: PacketDecoder;
  /** Everything received, in order. */
  readonly items: Item[] = [];
  /** Set to keep copies of the received bytes in `bytes` (for byte-exact checks). */
  keepBytes = false;
  readonly bytes: Uint8Array[] = [];
  private cursor = 0;
  private waiter: (() => void) | null = null;
  closed = false;
  readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  private constructor(readonly port: number) {
    this.closedPromise = new Promise((r) => (this.resolveClosed = r));
    this.decoder = new PacketDecoder(
      {
        packet: (p) => {
          const raw = p.args.map((a) => a.slice());
          this.push({ type: p.type, name: packetName(p.type), args: raw.map((a) => latin1.decode(a)), raw });
        },
        text: (line) => this.push({ type: "text", line }),
        error: (e) => this.push({ type: "text", line: `DECODER ${e.message}` }),
      },
      { magic: RES_MAGIC, allowText: true },
    );
  }

  static async connect(port: number, host = "127.0.0.1"): Promise<RawPeer> {
    const peer = new RawPeer(port);
    peer.socket = await Bun.connect({
      hostname: host,
      port,
      socket: {
        binaryType: "uint8array",
        data: (_s, data) => {
          if (peer.keepBytes) peer.bytes.push(data.slice());
          peer.decoder.push(data);
        },
        close: () => peer.onClose(),
        error: () => peer.onClose(),
      },
    });
    peer.socket.setNoDelay(true);
    return peer;
  }

  /**
   * Connects to "host:port" and waits for an ECHO round trip, as a library connection does
   * before it counts as ready: once this resolves, the server has registered the connection.
   */
  static async open(address: string): Promise<RawPeer> {
    const colon = address.lastIndexOf(":");
    const peer = await RawPeer.connect(Number(address.slice(colon + 1)), address.slice(0, colon));
    const before = await peer.syncItems();
    if (before.length > 0) throw new Error(`${address}: unexpected ${before.map(render).join(", ")} on connect`);
    return peer;
  }

  private onClose(): void {
    this.closed = true;
    this.resolveClosed();
    this.waiter?.();
  }

  private push(item: Item): void {
    this.items.push(item);
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** Sends one request packet. */
  send(type: number, ...args: Arg[]): void {
    this.write(encodePacket(type, args, REQ_MAGIC));
  }

  /** Sends raw bytes. */
  write(bytes: Uint8Array | string): void {
    const buf = typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes;
    let off = 0;
    // Loopback takes small writes whole; loop for the rare partial write.
    while (off < buf.length) {
      const n = this.socket.write(buf.subarray(off));
      if (n <= 0) return;
      off += n;
    }
  }

  /** Sends an admin text line. */
  line(text: string): void {
    this.write(`${text}\n`);
  }

  /** The next received item (waits up to `timeoutMs`); null on timeout or close. */
  async next(timeoutMs = 2000): Promise<Item | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.cursor >= this.items.length) {
      if (this.closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      const { promise, resolve } = Promise.withResolvers<void>();
      this.waiter = resolve;
      const timer = setTimeout(resolve, left);
      await promise;
      clearTimeout(timer);
    }
    return this.items[this.cursor++]!;
  }

  /** The next item, which must be a packet. */
  async packet(timeoutMs = 2000): Promise<Received> {
    const item = await this.next(timeoutMs);
    if (item === null) throw new Error(`port ${this.port}: no packet within ${timeoutMs} ms`);
    if (item.type === "text") throw new Error(`port ${this.port}: expected a packet, got text "${item.line}"`);
    return item;
  }

  /** The next packet, which must be of `type`; returns its arguments. */
  async expect(type: number, timeoutMs = 3000): Promise<string[]> {
    const item = await this.next(timeoutMs);
    const want = packetName(type);
    if (item === null) throw new Error(`port ${this.port}: expected ${want}, got nothing within ${timeoutMs} ms`);
    if (item.type !== type) throw new Error(`port ${this.port}: expected ${want}, got ${render(item)}`);
    return (item as Received).args;
  }

  /** Packets and lines not read yet, after waiting `ms` for stragglers. */
  async drain(ms = 100): Promise<Item[]> {
    await Bun.sleep(ms);
    const out = this.items.slice(this.cursor);
    this.cursor = this.items.length;
    return out;
  }

  /** Names of what `drain` returns ("NOOP", "JOB_ASSIGN", "text:OK"). */
  async drainNames(ms = 100): Promise<string[]> {
    return (await this.drain(ms)).map((i) => (i.type === "text" ? `text:${i.line}` : i.name));
  }

  /** Admin lines up to and including the "." terminator (or one line for OK/ERR replies). */
  async admin(command: string, timeoutMs = 2000): Promise<string[]> {
    this.line(command);
    const lines: string[] = [];
    for (;;) {
      const item = await this.next(timeoutMs);
      if (item === null)
        throw new Error(`port ${this.port}: admin "${command}" unanswered; got ${JSON.stringify(lines)}`);
      if (item.type !== "text") throw new Error(`port ${this.port}: admin "${command}" got packet ${item.name}`);
      if (item.line === ".") return lines;
      lines.push(item.line);
      if (lines.length === 1 && /^(OK|ERR)\b/.test(item.line)) return lines;
    }
  }

  /**
   * Everything received so far, proven complete by an ECHO round trip (the server answers in
   * order): names like "NOOP", "JOB_ASSIGN", "text:OK". Deterministic where sleeps are not.
   */
  async sync(timeoutMs = 2000): Promise<string[]> {
    return (await this.syncItems(timeoutMs)).map((i) => (i.type === "text" ? `text:${i.line}` : i.name));
  }

  /** As `sync`, each item rendered with its arguments (see `render`). */
  async syncRendered(timeoutMs = 2000): Promise<string[]> {
    return (await this.syncItems(timeoutMs)).map(render);
  }

  /** As `sync`, returning the items themselves. */
  async syncItems(timeoutMs = 2000): Promise<Item[]> {
    const token = `sync-${++syncCounter}`;
    this.send(PacketType.ECHO_REQ, token);
    const out: Item[] = [];
    for (;;) {
      const item = await this.next(timeoutMs);
      if (item === null) throw new Error(`port ${this.port}: no ECHO_RES to ${token}; got ${JSON.stringify(out)}`);
      if (item.type === PacketType.ECHO_RES && item.args[0] === token) return out;
      out.push(item);
    }
  }

  /** Sends a packet and returns the next one received. */
  async request(type: number, ...args: Arg[]): Promise<Received> {
    this.send(type, ...args);
    return this.packet();
  }

  /** Sends CAN_DO for each function, as a worker registers its abilities. */
  canDo(...functions: string[]): void {
    for (const f of functions) this.send(PacketType.CAN_DO, f);
  }

  /** Half-closes (FIN) and waits up to a second for the server to close its side. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.socket.end();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.closedPromise, new Promise<void>((r) => (timer = setTimeout(r, 1000)))]);
    clearTimeout(timer);
  }

  /** Closes at once (RST-like). */
  terminate(): void {
    if (!this.closed) this.socket.terminate();
  }

  /** `using`: closes at once. */
  [Symbol.dispose](): void {
    this.terminate();
  }

  /** `await using`: closes gracefully. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
