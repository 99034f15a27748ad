/**
 * Shared pieces of the lost wake-up tests: the server targets they run against, a
 * background submitter, a test-driven second worker ("W2") and the admin `status` table.
 */
import { PacketType } from "../../src/protocol/packets.ts";
import { dumpGearmandLogs } from "../support/gearmand.ts";
import { RawPeer } from "../support/raw-peer.ts";
import { TARGETS as TARGETS_AVAILABLE, startTarget, type TargetName, type TargetSettings } from "../support/targets.ts";

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

/** Queues one background job and waits for JOB_CREATED; returns its handle. */
export async function submitBackground(address: string, functionName: string, data: string): Promise<string> {
  await using client = await RawPeer.open(address);
  client.send(PacketType.SUBMIT_JOB_BG, functionName, "", data);
  return (await client.expect(PacketType.JOB_CREATED))[0]!;
}

/**
 * W2: a plain worker on one server that grabs only when the test says so. It never sends
 * PRE_SLEEP, so the server never wakes it: with `--worker-wakeup 1` the one NOOP a job sends
 * goes to the worker under test, whatever gearmand's round-robin position.
 */
export class Grabber {
  private constructor(private readonly peer: RawPeer) {}

  static async open(address: string, functionName: string, clientId: string): Promise<Grabber> {
    const peer = await RawPeer.open(address);
    peer.send(PacketType.SET_CLIENT_ID, clientId);
    peer.send(PacketType.CAN_DO, functionName);
    return new Grabber(peer);
  }

  /** GRAB_JOB once: completes the job it gets at once and returns its data, or null on NO_JOB. */
  async grabOnce(): Promise<string | null> {
    this.peer.send(PacketType.GRAB_JOB);
    const p = await this.peer.packet(3000);
    if (p.type === PacketType.NO_JOB) return null;
    if (p.type !== PacketType.JOB_ASSIGN) throw new Error(`W2: expected JOB_ASSIGN or NO_JOB, got ${p.name}`);
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
  using peer = await RawPeer.connect(port);
  const table = new Map<string, FunctionStatus>();
  for (const line of await peer.admin("status", timeoutMs)) {
    const cols = line.split("\t");
    if (cols.length !== 4) continue;
    table.set(cols[0]!, { total: Number(cols[1]), running: Number(cols[2]), workers: Number(cols[3]) });
  }
  return table;
}

/** The `status` row of one function (zeros when the server does not list it). */
export async function functionStatus(port: number, functionName: string): Promise<FunctionStatus> {
  return (await adminStatus(port)).get(functionName) ?? { total: 0, running: 0, workers: 0 };
}
