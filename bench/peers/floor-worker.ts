/**
 * The Bun floor: the least a worker written for Bun can do per job, to tell what gearbun's worker
 * costs from what the runtime costs. One server per socket, concurrency 1, nothing but the wake-up
 * cycle and the echo: no scheduler, no timers, no heartbeat, no reconnect, no errors handled
 * beyond exiting. Not a usable worker — a reference row for the benchmark.
 *
 *   bun bench/peers/floor-worker.ts --servers 127.0.0.1:4730[,...] [--fn echo] [--load-gearbun]
 *
 * --load-gearbun imports gearbun's Worker module and never uses it: the floor with the code a
 * real worker keeps loaded (bench/idle.ts).
 *
 * It speaks the same packets as gearbun's worker (CAN_DO, GRAB_JOB_UNIQ, PRE_SLEEP after NO_JOB,
 * WORK_COMPLETE) and one write per data event. On SIGTERM/SIGINT prints {"jobs","cpu_us","packets"}
 * (packets: { received, sent } by packet name, as gearbun-worker.ts reports them) and exits.
 */
import { parseArgs } from "node:util";
import { EMPTY, frameReader, requestPacket as packet } from "./floor-frames.ts";

const { values } = parseArgs({
  options: {
    servers: { type: "string", default: "127.0.0.1:4730" },
    fn: { type: "string", default: "echo" },
    concurrency: { type: "string", default: "1" },
    "load-gearbun": { type: "boolean", default: false },
  },
});
if (values["load-gearbun"]) await import("../../src/worker/worker.ts");

const CAN_DO = 1;
const PRE_SLEEP = 4;
const NOOP = 6;
const NO_JOB = 10;
const WORK_COMPLETE = 13;
const GRAB_JOB_UNIQ = 30;
const JOB_ASSIGN_UNIQ = 31;

const NAMES: Record<number, string> = {
  [CAN_DO]: "CAN_DO",
  [PRE_SLEEP]: "PRE_SLEEP",
  [NOOP]: "NOOP",
  [NO_JOB]: "NO_JOB",
  [WORK_COMPLETE]: "WORK_COMPLETE",
  [GRAB_JOB_UNIQ]: "GRAB_JOB_UNIQ",
  [JOB_ASSIGN_UNIQ]: "JOB_ASSIGN_UNIQ",
};
const received = new Uint32Array(64);
const sent = new Uint32Array(64);
const counts = (by: Uint32Array): Record<string, number> => {
  const out: Record<string, number> = {};
  by.forEach((n, type) => {
    if (n > 0) out[NAMES[type] ?? String(type)] = n;
  });
  return out;
};

const GRAB = packet(GRAB_JOB_UNIQ, EMPTY);
const SLEEP = packet(PRE_SLEEP, EMPTY);
let jobs = 0;

function serve(host: string, port: number): void {
  let out: Uint8Array[] = [];
  const read = frameReader((type, buf, from, to) => {
    received[type & 63]!++;
    if (type === NOOP) {
      out.push(GRAB);
      sent[GRAB_JOB_UNIQ]!++;
    } else if (type === NO_JOB) {
      out.push(SLEEP);
      sent[PRE_SLEEP]!++;
    } else if (type === JOB_ASSIGN_UNIQ) {
      // handle \0 function \0 unique \0 data: the answer is handle \0 data.
      const body = buf.subarray(from, to);
      const h = body.indexOf(0);
      const f = body.indexOf(0, h + 1);
      const u = body.indexOf(0, f + 1);
      const reply = new Uint8Array(h + 1 + (body.length - u - 1));
      reply.set(body.subarray(0, h + 1));
      reply.set(body.subarray(u + 1), h + 1);
      out.push(packet(WORK_COMPLETE, reply), GRAB);
      sent[WORK_COMPLETE]!++;
      sent[GRAB_JOB_UNIQ]!++;
      jobs++;
    }
  });
  const onData = (socket: { write(b: Uint8Array): number }, chunk: Uint8Array): void => {
    read(chunk);
    if (out.length === 1) socket.write(out[0]!);
    else if (out.length > 1) socket.write(Buffer.concat(out));
    out = [];
  };
  void Bun.connect({
    hostname: host,
    port,
    socket: {
      open(socket) {
        socket.write(Buffer.concat([packet(CAN_DO, new TextEncoder().encode(values.fn)), GRAB]));
        sent[CAN_DO]!++;
        sent[GRAB_JOB_UNIQ]!++;
      },
      data: onData,
      close() {
        process.exit(4);
      },
      error() {
        process.exit(4);
      },
    },
  });
}

for (const address of values.servers.split(",")) {
  const at = address.lastIndexOf(":");
  serve(address.slice(0, at), Number(address.slice(at + 1)));
}

function finish(): void {
  const cpu = process.cpuUsage();
  const packets = { received: counts(received), sent: counts(sent) };
  process.stdout.write(`${JSON.stringify({ jobs, cpu_us: cpu.user + cpu.system, packets })}\n`);
  process.exit(0);
}
process.on("SIGTERM", finish);
process.on("SIGINT", finish);
