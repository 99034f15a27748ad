/** Small helpers shared by the worker tests. */
import { join } from "node:path";

export const reverse = (s: string): string => s.split("").reverse().join("");

/** Polls `check` every 10 ms until true; throws after `timeoutMs` naming `what`. */
export async function eventually(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await Bun.sleep(10);
  }
}

/** A child process whose stdout is read line by line. */
export interface LineProcess {
  readonly proc: ReturnType<typeof Bun.spawn>;
  readonly lines: string[];
  /** The first line (already read or still to come) matching `test`. */
  waitLine(test: (line: string) => boolean, what: string, timeoutMs?: number): Promise<string>;
  /** stdout is fully read (the process closed it). */
  readonly ended: Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  [Symbol.asyncDispose](): Promise<void>;
}

export function spawnLines(cmd: string[]): LineProcess {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "inherit", stdin: "ignore" });
  const lines: string[] = [];
  let waiters: (() => void)[] = [];
  const ended = (async () => {
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
      const w = waiters;
      waiters = [];
      for (const f of w) f();
    }
    if (buf !== "") lines.push(buf);
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  })();
  const stop = async (graceMs = 5000): Promise<number | null> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
      await proc.exited;
      clearTimeout(timer);
    }
    return proc.exitCode;
  };
  return {
    proc,
    lines,
    ended,
    waitLine(test, what, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${what}; output: ${lines.join(" | ")}`)),
          timeoutMs,
        );
        let done = false;
        const check = (): void => {
          const line = lines.find(test);
          if (line !== undefined) {
            clearTimeout(timer);
            resolve(line);
          } else if (proc.exitCode !== null || proc.signalCode !== null || done) {
            clearTimeout(timer);
            reject(
              new Error(
                `process exited (${proc.exitCode ?? proc.signalCode}) before ${what}; output: ${lines.join(" | ")}`,
              ),
            );
          } else {
            waiters.push(check);
          }
        };
        void ended.then(() => {
          done = true;
          check();
        });
        check();
      });
    },
    stop,
    async [Symbol.asyncDispose]() {
      await stop(1000);
    },
  };
}

const FIXTURES = join(import.meta.dir, "fixtures");
const SUPPORT = join(import.meta.dir, "..", "support");

/** A gearbun Worker in its own process (fixtures/worker-process.ts). */
export function spawnWorkerProcess(servers: readonly string[], id: string, extra: string[] = []): LineProcess {
  return spawnLines([
    process.execPath,
    join(FIXTURES, "worker-process.ts"),
    "--servers",
    servers.join(","),
    "--id",
    id,
    ...extra,
  ]);
}

/** A codec submitter process (support/submitter.ts): `count` foreground jobs, payload = unique. */
export function spawnSubmitter(servers: readonly string[], fn: string, count: number, prefix: string): LineProcess {
  return spawnLines([
    process.execPath,
    join(SUPPORT, "submitter.ts"),
    "--servers",
    servers.join(","),
    "--function",
    fn,
    "--count",
    String(count),
    "--prefix",
    prefix,
  ]);
}

import { Connection } from "../../src/connection/connection.ts";
import { noReconnect } from "../../src/connection/reconnect.ts";
import { resolveConnectionOptions } from "../../src/options.ts";
import { packetName, type Packet } from "../../src/protocol/packets.ts";

export interface RawPacket {
  readonly type: number;
  readonly args: string[];
}

/** One plain protocol connection (worker or client side) whose packets are read in order. */
export class RawPeer {
  private readonly inbox: RawPacket[] = [];
  private waiter: (() => void) | null = null;
  private constructor(private readonly conn: Connection) {}

  static async open(address: string): Promise<RawPeer> {
    const { servers, connection } = resolveConnectionOptions({ servers: address, reconnect: noReconnect });
    let peer: RawPeer | null = null;
    const conn = new Connection(servers[0]!, connection, {
      packet: (p: Packet) => {
        peer!.inbox.push({ type: p.type, args: p.args.map((a) => new TextDecoder().decode(a)) });
        peer!.waiter?.();
      },
    });
    peer = new RawPeer(conn);
    await conn.connect();
    return peer;
  }

  send(type: number, ...args: string[]): void {
    this.conn.send(type, ...args);
  }

  /** The next packet, or null if none arrives within `timeoutMs`. */
  async next(timeoutMs = 3000): Promise<RawPacket | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.inbox.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) return null;
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
  async expect(type: number, timeoutMs = 3000): Promise<string[]> {
    const p = await this.next(timeoutMs);
    if (p === null) throw new Error(`expected ${packetName(type)}, got nothing in ${timeoutMs} ms`);
    if (p.type !== type) throw new Error(`expected ${packetName(type)}, got ${packetName(p.type)} ${p.args.join("|")}`);
    return p.args;
  }

  close(): Promise<void> {
    return this.conn.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
