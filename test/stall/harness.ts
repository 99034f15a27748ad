/**
 * Shared pieces of the lost wake-up tests (issue 7): the server targets they run against, a
 * background submitter, a test-driven second worker ("W2") and the admin `status` table.
 */
import { Connection } from "../../src/connection/connection.ts";
import { noReconnect } from "../../src/connection/reconnect.ts";
import { resolveConnectionOptions } from "../../src/options.ts";
import { PacketType, packetName, type Packet } from "../../src/protocol/packets.ts";
import { dumpGearmandLogs } from "../support/gearmand.ts";
import { TARGETS as TARGETS_AVAILABLE, startTarget, type TargetName, type TargetSettings } from "../support/targets.ts";

const utf8 = new TextDecoder();

/** Two job servers, A and B, as "host:port" and port. */
export interface ServerPair {
  readonly a: { readonly address: string; readonly port: number };
  readonly b: { readonly address: string; readonly port: number };
  /** Prints what helps when a test fails (gearmand logs). */
  dumpLogs(): void;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface StallTarget {
  readonly name: string;
  /** False: the target's tests are skipped (e.g. gearmand not installed). */
  readonly available: () => boolean;
  readonly start: () => Promise<ServerPair>;
}

/** Two servers of one kind (test/support/targets.ts), started with the same settings. */
function pairTarget(name: string, kind: TargetName, settings: TargetSettings): StallTarget {
  return {
    name,
    available: () => TARGETS_AVAILABLE.includes(kind),
    start: async () => {
      const [a, b] = await Promise.all([startTarget(kind, settings), startTarget(kind, settings)]);
      return {
        a,
        b,
        dumpLogs: kind === "gearmand" ? dumpGearmandLogs : () => {},
        async [Symbol.asyncDispose]() {
          await Promise.all([a[Symbol.asyncDispose](), b[Symbol.asyncDispose]()]);
        },
      };
    },
  };
}

/** Every server the stall tests run against; one test body runs against each. */
export const TARGETS: readonly StallTarget[] = [
  pairTarget("gearmand", "gearmand", {}),
  pairTarget("gearmand --worker-wakeup 1", "gearmand", { workerWakeup: 1 }),
  pairTarget("embedded server", "embedded", { workerWakeup: 0 }),
  pairTarget("embedded server, workerWakeup 1", "embedded", { workerWakeup: 1 }),
];

interface Received {
  readonly type: number;
  readonly args: string[];
}

/** One plain protocol connection whose packets are read in order with `next()`. */
export class Peer {
  private readonly conn: Connection;
  private readonly inbox: Received[] = [];
  private waiter: (() => void) | null = null;

  private constructor(address: string) {
    const { servers, connection } = resolveConnectionOptions({ servers: address, reconnect: noReconnect });
    this.conn = new Connection(servers[0]!, connection, {
      packet: (p: Packet) => {
        this.inbox.push({ type: p.type, args: p.args.map((a) => utf8.decode(a)) });
        this.waiter?.();
      },
    });
  }

  static async open(address: string): Promise<Peer> {
    const peer = new Peer(address);
    await peer.conn.connect();
    return peer;
  }

  send(type: number, ...args: string[]): void {
    this.conn.send(type, ...args);
  }

  /** The next packet from the server. */
  async next(timeoutMs = 3000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    while (this.inbox.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no packet from ${this.conn.server.key} within ${timeoutMs} ms`);
      const { promise, resolve } = Promise.withResolvers<void>();
      this.waiter = resolve;
      const timer = setTimeout(resolve, left);
      await promise;
      clearTimeout(timer);
      this.waiter = null;
    }
    return this.inbox.shift()!;
  }

  /** The next packet, which must be of `type`. */
  async expect(type: number, timeoutMs?: number): Promise<Received> {
    const p = await this.next(timeoutMs);
    if (p.type !== type) {
      throw new Error(
        `expected ${packetName(type)} from ${this.conn.server.key}, got ${packetName(p.type)} ${p.args.join(" ")}`,
      );
    }
    return p;
  }

  async close(): Promise<void> {
    await this.conn.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Queues one background job and waits for JOB_CREATED; returns its handle. */
export async function submitBackground(address: string, functionName: string, data: string): Promise<string> {
  await using client = await Peer.open(address);
  client.send(PacketType.SUBMIT_JOB_BG, functionName, "", data);
  return (await client.expect(PacketType.JOB_CREATED)).args[0]!;
}

/**
 * W2: a plain worker on one server that grabs only when the test says so. It never sends
 * PRE_SLEEP, so the server never wakes it: with `--worker-wakeup 1` the one NOOP a job sends
 * goes to the worker under test, whatever gearmand's round-robin position.
 */
export class Grabber {
  private constructor(private readonly peer: Peer) {}

  static async open(address: string, functionName: string, clientId: string): Promise<Grabber> {
    const peer = await Peer.open(address);
    peer.send(PacketType.SET_CLIENT_ID, clientId);
    peer.send(PacketType.CAN_DO, functionName);
    return new Grabber(peer);
  }

  /** GRAB_JOB once: completes the job it gets at once and returns its data, or null on NO_JOB. */
  async grabOnce(): Promise<string | null> {
    this.peer.send(PacketType.GRAB_JOB);
    const p = await this.peer.next();
    if (p.type === PacketType.NO_JOB) return null;
    if (p.type !== PacketType.JOB_ASSIGN)
      throw new Error(`W2: expected JOB_ASSIGN or NO_JOB, got ${packetName(p.type)}`);
    const [handle, , data] = p.args;
    this.peer.send(PacketType.WORK_COMPLETE, handle!, data!);
    return data!;
  }

  async close(): Promise<void> {
    await this.peer.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

export interface FunctionStatus {
  /** Jobs queued or running. */
  readonly total: number;
  readonly running: number;
  /** Connections that registered the function. */
  readonly workers: number;
}

/** The admin `status` table of a server, by function name. */
export async function adminStatus(port: number, timeoutMs = 2000): Promise<Map<string, FunctionStatus>> {
  const { promise, resolve, reject } = Promise.withResolvers<string>();
  let text = "";
  const timer = setTimeout(
    () => reject(new Error(`admin status on port ${port}: no complete answer in ${timeoutMs} ms`)),
    timeoutMs,
  );
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_s, data) {
        text += utf8.decode(data);
        if (text === ".\n" || text.endsWith("\n.\n")) resolve(text);
      },
      close() {
        reject(new Error(`admin status on port ${port}: closed after ${JSON.stringify(text)}`));
      },
      error(_s, error) {
        reject(error);
      },
    },
  });
  try {
    socket.write("status\n");
    const answer = await promise;
    const table = new Map<string, FunctionStatus>();
    for (const line of answer.split("\n")) {
      const cols = line.split("\t");
      if (cols.length !== 4) continue;
      table.set(cols[0]!, { total: Number(cols[1]), running: Number(cols[2]), workers: Number(cols[3]) });
    }
    return table;
  } finally {
    clearTimeout(timer);
    socket.end();
  }
}

/** The `status` row of one function (zeros when the server does not list it). */
export async function functionStatus(port: number, functionName: string): Promise<FunctionStatus> {
  return (await adminStatus(port)).get(functionName) ?? { total: 0, running: 0, workers: 0 };
}

/** Polls `check` every 20 ms until it returns true; throws naming `what` after `timeoutMs`. */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 3000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(20);
  }
}
