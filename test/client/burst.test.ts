/**
 * A bulk enqueue: background submits in a loop that awaits none. What each waiting submit costs
 * the client, measured against a server that holds every submit until told to answer, and the
 * `maxInFlight` window that bounds how many are sent at once.
 */
import { expect, test } from "bun:test";
import type { TCPSocketListener } from "bun";
import { heapStats } from "bun:jsc";
import { Client } from "../../src/client/client.ts";
import { ConfigError, ConnectionError, TimeoutError } from "../../src/errors.ts";
import { resolveClientOptions } from "../../src/options.ts";
import { PacketDecoder } from "../../src/protocol/decode.ts";
import { encodePacket } from "../../src/protocol/encode.ts";
import { PacketType, REQ_MAGIC, RES_MAGIC } from "../../src/protocol/packets.ts";

/**
 * A job server that answers the connect probe and OPTION_REQ, counts the background submits it receives and
 * answers them (JOB_CREATED, in order) only when `answer()` is called; from then on it answers
 * each at once. It keeps no packet.
 */
interface HoldingServer extends AsyncDisposable {
  readonly address: string;
  /** Submits received so far. */
  readonly received: number;
  /** Submits received and not yet answered. */
  readonly unanswered: number;
  /** The most submits that were unanswered at once. */
  readonly peakUnanswered: number;
  /** Answers every submit received, and every later one as it arrives. */
  answer(): void;
  /** Holds later submits again. */
  hold(): void;
}

function holdingServer(): HoldingServer {
  let received = 0;
  let answered = 0;
  let peak = 0;
  let answering = false;
  let peer: { write(b: Uint8Array): number } | null = null;
  const reply = (): void => {
    const n = received - answered;
    if (n === 0 || peer === null) return;
    // One write for the lot: JOB_CREATED "H:i" for each, as gearmand would send them.
    const parts: Uint8Array[] = [];
    for (let i = 0; i < n; i++) parts.push(encodePacket(PacketType.JOB_CREATED, [`H:${++answered}`], RES_MAGIC));
    peer.write(Buffer.concat(parts));
  };
  const decoder = new PacketDecoder(
    {
      packet(p) {
        if (p.type === PacketType.ECHO_REQ) {
          peer?.write(encodePacket(PacketType.ECHO_RES, [p.args[0]!], RES_MAGIC));
        } else if (p.type === PacketType.OPTION_REQ) {
          peer?.write(encodePacket(PacketType.OPTION_RES, [p.args[0]!], RES_MAGIC));
        } else if (p.type === PacketType.SUBMIT_JOB_BG) {
          received++;
          peak = Math.max(peak, received - answered);
        }
      },
      error(e) {
        throw e;
      },
    },
    { magic: REQ_MAGIC },
  );
  const listener: TCPSocketListener<undefined> = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        peer = s;
      },
      data(_s, data) {
        decoder.push(data);
        if (answering) reply();
      },
    },
  });
  return {
    address: `127.0.0.1:${listener.port}`,
    get received() {
      return received;
    },
    get unanswered() {
      return received - answered;
    },
    get peakUnanswered() {
      return peak;
    },
    answer() {
      answering = true;
      reply();
    },
    hold() {
      answering = false;
    },
    async [Symbol.asyncDispose]() {
      listener.stop(true);
    },
  };
}

/** Live heap bytes after a full collection. */
function heap(): number {
  Bun.gc(true);
  return heapStats().heapSize;
}

async function until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = performance.now() + ms;
  while (!check()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

const N = 200_000;
const payload = new Uint8Array(16).fill(97);

test("client burst - 200,000 pending background submits cost at most 150 bytes of heap each, all complete, and the heap returns", async () => {
  await using server = holdingServer();
  await using client = new Client({ servers: server.address, heartbeatInterval: false });
  await client.connect();
  // Warm up (code, FIFOs, the write queue's buffer) before the baseline.
  const warm: Promise<string>[] = [];
  for (let i = 0; i < 2000; i++) warm.push(client.submitBackground("burst", payload));
  await until(() => server.received === 2000, "the warm-up submits");
  server.answer();
  await Promise.all(warm);
  warm.length = 0;
  server.hold();
  const before = heap();

  const pending: Promise<string>[] = [];
  for (let i = 0; i < N; i++) pending.push(client.submitBackground("burst", payload));
  await until(() => server.received === 2000 + N, "every submit at the server");
  const perSubmit = (heap() - before) / N;
  expect(client.servers()[0]!.inFlight.requests).toBe(N);

  server.answer();
  const handles = await Promise.all(pending);
  expect(handles.length).toBe(N);
  expect(handles[0]).toBe("H:2001");
  expect(handles[N - 1]).toBe(`H:${2000 + N}`);
  pending.length = 0;
  handles.length = 0;
  const after = (heap() - before) / N;
  console.log(
    `client burst: ${N} pending background submits, ${perSubmit.toFixed(0)} heap bytes each; ${after.toFixed(0)} per submit left once they ended`,
  );
  // Each is its promise and the promise's resolve function (80 bytes), its FIFO slot and this
  // test's array (~22): ~102 measured. A record per submit, as before, made it ~182.
  expect(perSubmit).toBeLessThan(150);
  // Nothing per submit stays once they ended (the handle ring keeps its 10,000 handles: ~4 bytes
  // per submit here); a record left behind per submit would be over 100.
  expect(after).toBeLessThan(40);
  expect(client.servers()[0]!.inFlight).toEqual({ requests: 0, jobs: 0 });
}, 60_000);

test("client burst - maxInFlight bounds the submits sent and unanswered; the rest wait and go in order", async () => {
  await using server = holdingServer();
  await using client = new Client({ servers: server.address, heartbeatInterval: false, maxInFlight: 100 });
  const all: Promise<string>[] = [];
  for (let i = 0; i < 10_000; i++) all.push(client.submitBackground("burst", payload));
  await until(() => server.received === 100, "the first window");
  await Bun.sleep(50); // more would have arrived by now
  expect(server.received).toBe(100);
  expect(client.servers()[0]!.inFlight.requests).toBe(100);

  server.answer();
  const handles = await Promise.all(all);
  expect(handles).toEqual(Array.from({ length: 10_000 }, (_, i) => `H:${i + 1}`));
  expect(server.peakUnanswered).toBeLessThanOrEqual(100);
  expect(server.received).toBe(10_000);
});

test("client burst - a submit that times out while it waits for the window is skipped; close rejects the rest", async () => {
  await using server = holdingServer();
  const client = new Client({ servers: server.address, heartbeatInterval: false, maxInFlight: 1 });
  const first = client.submitBackground("burst", payload);
  const late = client.submitBackground("burst", payload, { timeout: 50 });
  const third = client.submitBackground("burst", payload);
  expect(await late.catch((e: unknown) => e)).toBeInstanceOf(TimeoutError);
  expect(server.received).toBe(1);
  server.answer();
  expect(await first).toBe("H:1");
  expect(await third).toBe("H:2"); // the timed-out one was never sent
  expect(server.received).toBe(2);
  server.hold();

  const blocked = client.submitBackground("burst", payload);
  const queued = client.submitBackground("burst", payload);
  await client.close();
  for (const p of [blocked, queued]) {
    const error = await p.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).code).toBe("CLOSED");
  }
});

test("client burst - maxInFlight must be a whole number >= 0", () => {
  expect(resolveClientOptions({}).maxInFlight).toBe(0);
  expect(resolveClientOptions({ maxInFlight: 500 }).maxInFlight).toBe(500);
  for (const bad of [-1, 2.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    expect(() => resolveClientOptions({ maxInFlight: bad })).toThrow(ConfigError);
    expect(() => resolveClientOptions({ maxInFlight: bad })).toThrow(/maxInFlight/);
  }
});
