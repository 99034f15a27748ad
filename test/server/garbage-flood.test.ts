/**
 * 100,000 random garbage packets, byte strings, bad headers and admin lines, on over a thousand
 * short-lived loopback connections (bounded concurrency), some of them "evil workers" that grab
 * a job and vanish — while a normal workload of foreground and background jobs runs on the same
 * embedded server. Nothing of the workload may be lost or doubled, and afterwards the server
 * holds no garbage connection and no piled-up output. Seeded (GEARBUN_FUZZ_SEED to replay).
 */
import { expect, test } from "bun:test";
import type { Socket } from "bun";
import { PacketDecoder } from "../../src/protocol/decode.ts";
import { encodePacket } from "../../src/protocol/encode.ts";
import { MAX_PACKET_TYPE, PACKETS, PacketType as T, RES_MAGIC, type Packet } from "../../src/protocol/packets.ts";
import { startServer } from "../../src/server/server.ts";
import { RawPeer } from "../support/raw-peer.ts";
import { prng } from "../support/prng.ts";

const SEED = Number(process.env.GEARBUN_FUZZ_SEED ?? 0x5eed5);
const GARBAGE_UNITS = 100_000;
const CONCURRENCY = 24;
const FOREGROUND_JOBS = 3000;
const BACKGROUND_JOBS = 1000;
const FN = "work";

const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");
const reverse = (s: string): string => s.split("").reverse().join("");

/** A well-behaved raw worker: GRAB, complete with the reversed data, PRE_SLEEP on NO_JOB. */
async function startWorker(port: number): Promise<{ done: () => number; close: () => void }> {
  let completed = 0;
  let sock: Socket<undefined> | null = null;
  const decoder = new PacketDecoder(
    {
      packet(p: Packet) {
        if (p.type === T.JOB_ASSIGN) {
          sock!.write(encodePacket(T.WORK_COMPLETE, [p.args[0]!, reverse(latin1(p.args[2]!))]));
          sock!.write(encodePacket(T.GRAB_JOB, []));
          completed++;
        } else if (p.type === T.NO_JOB) {
          sock!.write(encodePacket(T.PRE_SLEEP, []));
        } else if (p.type === T.NOOP) {
          sock!.write(encodePacket(T.GRAB_JOB, []));
        }
      },
      error(e) {
        throw e;
      },
    },
    { magic: RES_MAGIC },
  );
  sock = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: { binaryType: "uint8array", data: (_s, d) => void decoder.push(d) },
  });
  sock.write(Buffer.concat([encodePacket(T.CAN_DO, [FN]), encodePacket(T.GRAB_JOB, [])]));
  return { done: () => completed, close: () => sock!.terminate() };
}

/** Random bytes; NULs allowed only where `nul` says. */
function randomBytes(rand: () => number, max: number, nul: boolean): Uint8Array {
  const out = new Uint8Array(Math.floor(rand() * max));
  for (let i = 0; i < out.length; i++) {
    out[i] = Math.floor(rand() * 256);
    if (!nul && out[i] === 0) out[i] = 1;
  }
  return out;
}

/** Listing commands cost O(jobs) each (as in gearmand); the flood sends them sparingly. */
const LISTINGS = ["status", "workers", "prioritystatus", "show jobs", "show unique jobs"];
const ADMIN_LINES = [
  "version",
  "getpid",
  "verbose",
  "cancel job H:junk:1",
  "drop function junk-1",
  "create function junk-2",
  "maxqueue junk-3 1",
  "maxqueue",
  "shutdown",
  "show",
  "bogus command",
];

/** One garbage connection's bytes; returns [bytes, units, evil]. */
function garbage(rand: () => number): { bytes: Uint8Array; units: number; evil: boolean } {
  const parts: Uint8Array[] = [];
  let units = 0;
  const pick = rand();
  if (pick < 0.06) {
    // an evil worker: takes a job of the workload and vanishes (or breaks the stream)
    parts.push(encodePacket(T.CAN_DO, [FN]), encodePacket(T.GRAB_JOB, []));
    if (rand() < 0.5) parts.push(randomBytes(rand, 64, true));
    return { bytes: Buffer.concat(parts), units: 3, evil: true };
  }
  if (pick < 0.6) {
    // valid frames of random types with random arguments; a few malformed
    const count = 20 + Math.floor(rand() * 120);
    for (let i = 0; i < count; i++) {
      const type = 1 + Math.floor(rand() * MAX_PACKET_TYPE);
      const spec = PACKETS[type];
      if (spec === undefined) continue;
      const args: Uint8Array[] = [];
      const n = rand() < 0.03 ? Math.floor(rand() * 4) : spec.args;
      for (let a = 0; a < n; a++) {
        const last = a === n - 1;
        if (a === 0 && rand() < 0.5) args.push(Buffer.from(`junk-${Math.floor(rand() * 20)}`));
        else args.push(randomBytes(rand, last ? 600 : 40, last));
      }
      const body = args.length === 0 ? [] : args;
      const header = Buffer.alloc(12);
      header.writeUInt32BE(0x00524551, 0);
      header.writeUInt32BE(type, 4);
      const joined = Buffer.concat(body.flatMap((b, j) => (j === 0 ? [b] : [Buffer.from([0]), b])));
      header.writeUInt32BE(joined.length, 8);
      parts.push(header, joined);
      units++;
    }
  } else if (pick < 0.75) {
    const count = 1 + Math.floor(rand() * 40);
    for (let i = 0; i < count; i++) parts.push(randomBytes(rand, 400, true));
    units += count;
  } else if (pick < 0.88) {
    const count = 1 + Math.floor(rand() * 60);
    for (let i = 0; i < count; i++) {
      const list = i === 0 && rand() < 0.1 ? LISTINGS : ADMIN_LINES;
      const line = list[Math.floor(rand() * list.length)]!;
      parts.push(Buffer.from(rand() < 0.2 ? `${line}\r\n` : `${line}\n`));
    }
    units += count;
  } else {
    const header = Buffer.alloc(12);
    const magic = [0x00524551, 0x00524553, 0x00585858, Math.floor(rand() * 2 ** 32)][Math.floor(rand() * 4)]!;
    header.writeUInt32BE(magic >>> 0, 0);
    header.writeUInt32BE([0, 5, 43, 1000, 16, 7][Math.floor(rand() * 6)]!, 4);
    header.writeUInt32BE([0, 3, 0x7fffffff, 0xffffffff, 100][Math.floor(rand() * 5)]!, 8);
    parts.push(rand() < 0.3 ? header.subarray(0, Math.floor(rand() * 12)) : header);
    units++;
  }
  return { bytes: Buffer.concat(parts), units, evil: false };
}

/** Connects, writes everything (finishing partial writes), half-closes, waits for the close. */
async function sendGarbage(port: number, bytes: Uint8Array): Promise<void> {
  const { promise: closed, resolve } = Promise.withResolvers<void>();
  const sock = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: { data() {}, close: () => resolve(), error: () => resolve() },
  });
  let rest = bytes;
  while (rest.length > 0) {
    const n = sock.write(rest);
    if (n < 0) break;
    rest = rest.subarray(n);
    if (rest.length > 0) await Bun.sleep(1);
  }
  sock.end();
  await Promise.race([closed, Bun.sleep(1000)]);
  sock.terminate();
}

test("garbage flood - 100,000 garbage units while a normal workload completes, nothing lost", async () => {
  await using server = await startServer({ port: 0 });
  const port = server.port;
  const workers = [await startWorker(port), await startWorker(port)];

  // The workload's client: foreground jobs (results checked) and background jobs.
  using client = await RawPeer.connect(port);
  const expected = new Map<string, string>(); // handle → expected result
  const results = new Map<string, string>();
  const pendingData: string[] = []; // submits awaiting their JOB_CREATED, in order
  let created = 0;
  const submitting = (async () => {
    for (let i = 0; i < FOREGROUND_JOBS + BACKGROUND_JOBS; i += 100) {
      for (let j = i; j < i + 100; j++) {
        if (j < FOREGROUND_JOBS) {
          pendingData.push(`job-${j}`);
          client.send(T.SUBMIT_JOB, FN, "", `job-${j}`);
        } else {
          pendingData.push("");
          client.send(j % 2 ? T.SUBMIT_JOB_BG : T.SUBMIT_JOB_LOW_BG, FN, `bg-${j}`, `bg-${j}`);
        }
      }
      await Bun.sleep(5);
    }
  })();
  const collecting = (async () => {
    const deadline = Date.now() + 20_000;
    while (results.size < FOREGROUND_JOBS && Date.now() < deadline) {
      const item = await client.next(deadline - Date.now());
      if (item === null || item.type === "text") break;
      if (item.type === T.JOB_CREATED) {
        const data = pendingData[created++]!;
        if (data !== "") expected.set(item.args[0]!, reverse(data));
      } else if (item.type === T.WORK_COMPLETE) {
        const h = item.args[0]!;
        if (results.has(h)) throw new Error(`job ${h} completed twice`);
        results.set(h, item.args[1]!);
      } else {
        throw new Error(`workload client got ${item.name}`);
      }
    }
  })();

  // The flood.
  const rand = prng(SEED);
  let units = 0;
  let connections = 0;
  let evil = 0;
  const lanes = Array.from({ length: CONCURRENCY }, async () => {
    while (units < GARBAGE_UNITS) {
      const g = garbage(rand);
      units += g.units;
      connections++;
      if (g.evil) evil++;
      await sendGarbage(port, g.bytes);
    }
  });
  await Promise.all(lanes);
  await submitting;
  await collecting;

  expect(units).toBeGreaterThanOrEqual(GARBAGE_UNITS);
  expect(connections).toBeGreaterThan(1000);
  expect(evil).toBeGreaterThan(0);
  // Every foreground job completed once, with its own result.
  expect(results.size).toBe(FOREGROUND_JOBS);
  for (const [handle, want] of expected) expect(results.get(handle)).toBe(want);
  // Every background job ran: nothing of the workload's function is left.
  using admin = await RawPeer.connect(port);
  const deadline = Date.now() + 5000;
  let row = "";
  while (Date.now() < deadline) {
    row = (await admin.admin("status")).find((r) => r.startsWith(`${FN}\t`)) ?? "";
    if (row === `${FN}\t0\t0\t2`) break;
    await Bun.sleep(20);
  }
  expect(row).toBe(`${FN}\t0\t0\t2`);
  expect(workers[0]!.done() + workers[1]!.done()).toBeGreaterThanOrEqual(FOREGROUND_JOBS + BACKGROUND_JOBS);
  // No garbage connection is left, and no output piles up.
  const until = Date.now() + 3000;
  while (server.stats().connections > 4 && Date.now() < until) await Bun.sleep(20);
  expect(server.stats().connections).toBe(4); // two workers, the client, the admin
  expect(server.stats().pendingOutput).toBeLessThan(64 * 1024);
  for (const w of workers) w.close();
}, 30_000);
