/**
 * A minimal worker on gearbun's codec and Connection, for client tests (until they can use the
 * real Worker): CAN_DO, `grabs` pipelined GRAB_JOB_UNIQ (or GRAB_JOB_ALL) in flight, PRE_SLEEP
 * only after the last grab in flight came back NO_JOB, a NOOP refills the grabs. Each job is
 * answered by `handler` (default: WORK_COMPLETE with the payload).
 *
 *   await using worker = await startEchoWorker({ server: g.address, functions: ["echo"] });
 *
 * Run as a process (for load tests): `bun test/support/echo-worker.ts HOST:PORT FUNC [GRABS]`;
 * it prints "ready" once registered and exits on SIGTERM.
 */
import { Connection } from "../../src/connection/connection.ts";
import { CONSTANT_PACKETS, type Arg } from "../../src/protocol/encode.ts";
import { PacketType, type Packet } from "../../src/protocol/packets.ts";
import { resolveConnectionOptions } from "../../src/options.ts";

export interface AssignedJob {
  /** JOB_ASSIGN, JOB_ASSIGN_UNIQ or JOB_ASSIGN_ALL. */
  readonly type: number;
  readonly handle: string;
  readonly function: string;
  readonly unique: string;
  readonly reducer: string;
  readonly payload: Uint8Array;
}

/** Packets to send for a job, without the handle (it is put first): `[PacketType.WORK_DATA, "x"]`. */
export type WorkReply = readonly [type: number, ...args: Arg[]];
export type EchoHandler = (job: AssignedJob) => readonly WorkReply[];

export interface EchoWorkerOptions {
  server: string;
  functions: readonly string[];
  /** Grabs in flight at once. @default 1 */
  grabs?: number;
  grab?: "uniq" | "all";
  handler?: EchoHandler;
  /** Keep every assigned job in `jobs` (tests that look at order); off for load. @default true */
  record?: boolean;
  /**
   * Milliseconds between grabs while asleep (gearmand wakes no one when a SUBMIT_JOB_EPOCH
   * job comes due); 0: never. @default 0
   */
  regrab?: number;
}

export interface EchoWorker {
  readonly jobs: AssignedJob[];
  /** Jobs answered so far. */
  readonly done: number;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const utf8 = new TextDecoder();
const echo: EchoHandler = (job) => [[PacketType.WORK_COMPLETE, job.payload]];

export async function startEchoWorker(options: EchoWorkerOptions): Promise<EchoWorker> {
  const grabs = options.grabs ?? 1;
  const grabPacket = options.grab === "all" ? CONSTANT_PACKETS.GRAB_JOB_ALL : CONSTANT_PACKETS.GRAB_JOB_UNIQ;
  const handler = options.handler ?? echo;
  const record = options.record ?? true;
  const jobs: AssignedJob[] = [];
  let done = 0;
  let outstanding = 0;
  const { servers, connection: config } = resolveConnectionOptions({
    servers: options.server,
    reconnect: { initialDelay: 50, maxDelay: 200 },
  });

  const fill = (): void => {
    while (outstanding < grabs) {
      connection.write(grabPacket);
      outstanding++;
    }
  };

  const registered = Promise.withResolvers<void>();
  const onPacket = (p: Packet): void => {
    switch (p.type) {
      case PacketType.ECHO_RES:
        registered.resolve();
        return;
      case PacketType.NOOP:
        fill();
        return;
      case PacketType.NO_JOB:
        outstanding--;
        if (outstanding === 0) connection.write(CONSTANT_PACKETS.PRE_SLEEP);
        return;
      case PacketType.JOB_ASSIGN:
      case PacketType.JOB_ASSIGN_UNIQ:
      case PacketType.JOB_ASSIGN_ALL: {
        outstanding--;
        const a = p.args;
        const uniq = p.type !== PacketType.JOB_ASSIGN;
        const job: AssignedJob = {
          type: p.type,
          handle: utf8.decode(a[0]!),
          function: utf8.decode(a[1]!),
          unique: uniq ? utf8.decode(a[2]!) : "",
          reducer: p.type === PacketType.JOB_ASSIGN_ALL ? utf8.decode(a[3]!) : "",
          payload: a[a.length - 1]!,
        };
        if (record) jobs.push(job);
        for (const [type, ...args] of handler(job)) connection.send(type, job.handle, ...args);
        done++;
        fill();
        return;
      }
    }
  };

  const connection: Connection = new Connection(servers[0]!, config, {
    packet: onPacket,
    event(event) {
      if (event.type === "ready") {
        outstanding = 0;
        for (const fn of options.functions) connection.send(PacketType.CAN_DO, fn);
        // CAN_DO has no reply: the echo's answer proves the server registered the functions.
        connection.send(PacketType.ECHO_REQ, "registered");
        fill();
      }
    },
  });
  await connection.connect();
  await registered.promise;
  const regrab =
    options.regrab && options.regrab > 0
      ? setInterval(() => {
          if (connection.isReady && outstanding === 0) fill();
        }, options.regrab)
      : null;
  const close = async (): Promise<void> => {
    if (regrab !== null) clearInterval(regrab);
    await connection.close();
  };
  return {
    jobs,
    get done() {
      return done;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

if (import.meta.main) {
  const [server, fn, grabs] = process.argv.slice(2);
  if (!server || !fn) {
    console.error("usage: bun test/support/echo-worker.ts HOST:PORT FUNC [GRABS]");
    process.exit(2);
  }
  const worker = await startEchoWorker({ server, functions: [fn], grabs: Number(grabs ?? 8), record: false });
  process.on("SIGTERM", () => {
    void worker.close().then(() => process.exit(0));
  });
  console.log("ready");
}
