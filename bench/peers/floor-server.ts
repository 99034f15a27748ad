/**
 * The Bun floor of a job server: the least code a Gearman job server written for Bun needs for the
 * load of bench/server-ref.ts, a bare-socket reference like floor-worker.ts — to tell what the
 * runtime costs from what gearbun's embedded server adds. The least code, not the least cost: its
 * plain framing (DataView, Buffer.concat, a packet allocated per reply) is slower than the embedded
 * server's reused write buffer. One function's worth of queue, foreground jobs only, no unique
 * coalescing, no priorities, no backpressure, no errors handled, no admin protocol but `status`.
 * Not a usable server — a reference row for the benchmark.
 *
 *   bun bench/peers/floor-server.ts [--port 0]
 *
 * Packets: CAN_DO, PRE_SLEEP, GRAB_JOB / _UNIQ / _ALL (JOB_ASSIGN or JOB_ASSIGN_UNIQ, NO_JOB),
 * SUBMIT_JOB (JOB_CREATED, NOOP to a sleeping worker), WORK_COMPLETE (passed on), ECHO_REQ,
 * OPTION_REQ (accepted); others are ignored.
 * What a data event makes is written at its end, one write per connection. Prints {"port":N} once
 * it listens; on SIGTERM/SIGINT prints {"cpu_us"} and exits.
 */
import type { Socket } from "bun";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { port: { type: "string", default: "0" } } });

const CAN_DO = 1;
const PRE_SLEEP = 4;
const NOOP = 6;
const SUBMIT_JOB = 7;
const JOB_CREATED = 8;
const GRAB_JOB = 9;
const NO_JOB = 10;
const JOB_ASSIGN = 11;
const WORK_COMPLETE = 13;
const ECHO_REQ = 16;
const ECHO_RES = 17;
const OPTION_REQ = 26;
const OPTION_RES = 27;
const GRAB_JOB_UNIQ = 30;
const JOB_ASSIGN_UNIQ = 31;
const GRAB_JOB_ALL = 39;

interface Conn {
  socket: Socket<Conn>;
  out: Uint8Array[];
  pending: Uint8Array;
  worker: boolean;
  sleeping: boolean;
}

interface Job {
  handle: string;
  unique: Uint8Array;
  data: Uint8Array;
  client: Conn;
}

/** A response packet: "\0RES", the type, the body's size, then the parts with a NUL between. */
function response(type: number, parts: readonly Uint8Array[]): Uint8Array {
  let size = parts.length > 0 ? parts.length - 1 : 0;
  for (const p of parts) size += p.byteLength;
  const out = new Uint8Array(12 + size);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x00524553);
  view.setUint32(4, type);
  view.setUint32(8, size);
  let at = 12;
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) out[at++] = 0;
    out.set(parts[i]!, at);
    at += parts[i]!.byteLength;
  }
  return out;
}

const EMPTY = new Uint8Array(0);
const NOOP_PACKET = response(NOOP, []);
const NO_JOB_PACKET = response(NO_JOB, []);
const latin1 = (s: string): Uint8Array => Buffer.from(s, "latin1");

let fnName: Uint8Array = EMPTY;
/** Queued jobs from `head` on; taken ones are cleared, and the array is cut now and then. */
const queue: (Job | undefined)[] = [];
let head = 0;
const running = new Map<string, Job>();
const workers: Conn[] = [];
let counter = 0;
/** Connections with output made during this data event. */
const touched: Conn[] = [];

function send(c: Conn, bytes: Uint8Array): void {
  if (c.out.length === 0) touched.push(c);
  c.out.push(bytes);
}

function packet(c: Conn, type: number, buf: Uint8Array, from: number, to: number): void {
  switch (type) {
    case SUBMIT_JOB: {
      const a = buf.indexOf(0, from);
      const b = buf.indexOf(0, a + 1);
      if (fnName.length === 0) fnName = buf.slice(from, a);
      const handle = `H:floor:${++counter}`;
      queue.push({ handle, unique: buf.slice(a + 1, b), data: buf.slice(b + 1, to), client: c });
      send(c, response(JOB_CREATED, [latin1(handle)]));
      for (const w of workers) {
        if (w.sleeping) {
          w.sleeping = false;
          send(w, NOOP_PACKET);
          break;
        }
      }
      return;
    }
    case GRAB_JOB:
    case GRAB_JOB_UNIQ:
    case GRAB_JOB_ALL: {
      c.sleeping = false;
      if (head === queue.length) {
        send(c, NO_JOB_PACKET);
        return;
      }
      const job = queue[head]!;
      queue[head++] = undefined;
      if (head > 4096 && head * 2 > queue.length) {
        queue.splice(0, head);
        head = 0;
      }
      running.set(job.handle, job);
      const h = latin1(job.handle);
      send(
        c,
        type === GRAB_JOB
          ? response(JOB_ASSIGN, [h, fnName, job.data])
          : response(JOB_ASSIGN_UNIQ, [h, fnName, job.unique, job.data]),
      );
      return;
    }
    case WORK_COMPLETE: {
      const nul = buf.indexOf(0, from);
      const handle = Buffer.from(buf.buffer, buf.byteOffset + from, nul - from).toString("latin1");
      const job = running.get(handle);
      if (job === undefined) return;
      running.delete(handle);
      const out = new Uint8Array(12 + to - from);
      out.set(NOOP_PACKET.subarray(0, 4));
      const view = new DataView(out.buffer);
      view.setUint32(4, WORK_COMPLETE);
      view.setUint32(8, to - from);
      out.set(buf.subarray(from, to), 12);
      send(job.client, out);
      return;
    }
    case CAN_DO:
      if (fnName.length === 0) fnName = buf.slice(from, to);
      if (!c.worker) workers.push(c);
      c.worker = true;
      return;
    case PRE_SLEEP:
      if (head < queue.length) send(c, NOOP_PACKET);
      else c.sleeping = true;
      return;
    case ECHO_REQ:
      send(c, response(ECHO_RES, [buf.slice(from, to)]));
      return;
    case OPTION_REQ:
      send(c, response(OPTION_RES, [buf.slice(from, to)]));
      return;
    default:
    // SET_CLIENT_ID, RESET_ABILITIES...: nothing to answer.
  }
}

function receive(c: Conn, chunk: Uint8Array): void {
  let buf = chunk;
  if (c.pending.length > 0) {
    buf = new Uint8Array(c.pending.length + chunk.length);
    buf.set(c.pending);
    buf.set(chunk, c.pending.length);
  }
  let at = 0;
  if (buf[0] !== 0) {
    // An admin line: only `status` (what the benchmark polls for its worker).
    const line = Buffer.from(buf).toString("latin1").trim();
    const name = Buffer.from(fnName).toString("latin1");
    const total = queue.length - head + running.size;
    send(
      c,
      latin1(line === "status" && name !== "" ? `${name}\t${total}\t${running.size}\t${workers.length}\n.\n` : ".\n"),
    );
    at = buf.length;
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  while (buf.length - at >= 12) {
    const size = view.getUint32(at + 8);
    if (buf.length - at - 12 < size) break;
    packet(c, view.getUint32(at + 4), buf, at + 12, at + 12 + size);
    at += 12 + size;
  }
  c.pending = at < buf.length ? buf.slice(at) : EMPTY;
  for (const t of touched) {
    const bytes = t.out.length === 1 ? t.out[0]! : Buffer.concat(t.out);
    // No backpressure here: a write the kernel takes only in part would lose bytes, so it ends the run.
    if (t.socket.write(bytes) !== bytes.byteLength) process.exit(5);
    t.out = [];
  }
  touched.length = 0;
}

const listener = Bun.listen<Conn>({
  hostname: "127.0.0.1",
  port: Number(values.port),
  socket: {
    binaryType: "uint8array",
    open(socket) {
      socket.setNoDelay(true);
      socket.data = { socket, out: [], pending: EMPTY, worker: false, sleeping: false };
    },
    data(socket, chunk) {
      receive(socket.data, chunk);
    },
    close(socket) {
      const i = workers.indexOf(socket.data);
      if (i >= 0) workers.splice(i, 1);
    },
  },
});
process.stdout.write(`${JSON.stringify({ port: listener.port })}\n`);

function finish(): void {
  const cpu = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ cpu_us: cpu.user + cpu.system })}\n`);
  process.exit(0);
}
process.on("SIGTERM", finish);
process.on("SIGINT", finish);
