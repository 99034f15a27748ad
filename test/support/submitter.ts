/**
 * A small client on gearbun's codec and Connection, for worker tests (it does not use the
 * Client in src/client, so worker tests do not depend on it). It asks for `OPTION_REQ
 * exceptions`, pipelines SUBMIT_JOB(_BG), matches JOB_CREATED first-in first-out per
 * connection, and collects what each foreground job receives (WORK_DATA, WORK_WARNING,
 * WORK_STATUS, then WORK_COMPLETE / WORK_FAIL / WORK_EXCEPTION).
 *
 *   await using s = await Submitter.open([g.address]);
 *   const r = await s.submit("reverse", "abc", { unique: "u1" }); // r.outcome === "complete", r.text === "cba"
 *
 * Run as a process (the stall test's clients): prints one JSON line `{ "results": [[unique, outcome, text], …] }`
 *   bun test/support/submitter.ts --servers H:P,H:P --function f --count 500 --prefix r1-c1-
 * Jobs go to the servers in turn; each payload is its unique.
 */
import { Connection } from "../../src/connection/connection.ts";
import { noReconnect } from "../../src/connection/reconnect.ts";
import { resolveConnectionOptions } from "../../src/options.ts";
import { PacketType, packetName, type Packet } from "../../src/protocol/packets.ts";

const utf8 = new TextDecoder();

export type Outcome = "complete" | "fail" | "exception";

export interface JobResult {
  readonly server: string;
  readonly handle: string;
  readonly outcome: Outcome;
  /** WORK_COMPLETE data or WORK_EXCEPTION text. */
  readonly text: string;
  /** The same as bytes (a copy). */
  readonly bytes: Uint8Array;
  readonly data: string[];
  readonly warnings: string[];
  readonly statuses: [number, number][];
}

export interface SubmitOptions {
  unique?: string;
  background?: boolean;
  /** Index of the server to use (default: round-robin). */
  server?: number;
}

interface Pending {
  handle: string;
  data: string[];
  warnings: string[];
  statuses: [number, number][];
  resolve: (r: JobResult) => void;
  reject: (e: Error) => void;
}

interface Link {
  readonly key: string;
  readonly conn: Connection;
  /** Submits waiting for JOB_CREATED, oldest first. */
  readonly created: {
    background: boolean;
    pending: Pending | null;
    resolve: (handle: string) => void;
    reject: (e: Error) => void;
  }[];
  readonly byHandle: Map<string, Pending>;
}

export class Submitter {
  private readonly links: Link[];
  private next = 0;

  private constructor(addresses: readonly string[]) {
    const { servers, connection } = resolveConnectionOptions({ servers: [...addresses], reconnect: noReconnect });
    this.links = servers.map((server) => {
      const link: Link = {
        key: server.key,
        created: [],
        byHandle: new Map(),
        conn: new Connection(server, connection, {
          packet: (p) => this.onPacket(link, p),
          event: (e) => {
            if (e.type === "disconnected" || e.type === "closed")
              this.failAll(link, new Error(`${server.key}: ${e.type}`));
          },
        }),
      };
      return link;
    });
  }

  static async open(addresses: readonly string[]): Promise<Submitter> {
    const s = new Submitter(addresses);
    await Promise.all(
      s.links.map(async (l) => {
        await l.conn.connect();
        l.conn.send(PacketType.OPTION_REQ, "exceptions");
      }),
    );
    return s;
  }

  /** Submits a job; resolves with its result (foreground) or its handle's JOB_CREATED (background). */
  submit(fn: string, payload: string | Uint8Array, options: SubmitOptions = {}): Promise<JobResult> {
    const link = this.links[options.server ?? this.next++ % this.links.length]!;
    const { promise, resolve, reject } = Promise.withResolvers<JobResult>();
    const pending: Pending = { handle: "", data: [], warnings: [], statuses: [], resolve, reject };
    const background = options.background ?? false;
    link.created.push({
      background,
      pending: background ? null : pending,
      resolve: (handle) => {
        if (background) {
          resolve({
            server: link.key,
            handle,
            outcome: "complete",
            text: "",
            bytes: new Uint8Array(0),
            data: [],
            warnings: [],
            statuses: [],
          });
        }
      },
      reject,
    });
    link.conn.send(background ? PacketType.SUBMIT_JOB_BG : PacketType.SUBMIT_JOB, fn, options.unique ?? "", payload);
    return promise;
  }

  private onPacket(link: Link, p: Packet): void {
    const a = p.args.map((x) => utf8.decode(x));
    switch (p.type) {
      case PacketType.JOB_CREATED: {
        const c = link.created.shift();
        if (c === undefined) return;
        if (c.pending !== null) {
          c.pending.handle = a[0]!;
          link.byHandle.set(a[0]!, c.pending);
        }
        c.resolve(a[0]!);
        return;
      }
      case PacketType.ERROR: {
        const c = link.created.shift();
        c?.reject(new Error(`${link.key}: ERROR ${a[0]} ${a[1]}`));
        return;
      }
      case PacketType.WORK_DATA:
        link.byHandle.get(a[0]!)?.data.push(a[1]!);
        return;
      case PacketType.WORK_WARNING:
        link.byHandle.get(a[0]!)?.warnings.push(a[1]!);
        return;
      case PacketType.WORK_STATUS:
        link.byHandle.get(a[0]!)?.statuses.push([Number(a[1]), Number(a[2])]);
        return;
      case PacketType.WORK_COMPLETE:
        this.finish(link, a[0]!, "complete", p.args[1]!);
        return;
      case PacketType.WORK_FAIL:
        this.finish(link, a[0]!, "fail", new Uint8Array(0));
        return;
      case PacketType.WORK_EXCEPTION:
        this.finish(link, a[0]!, "exception", p.args[1]!);
        return;
      case PacketType.OPTION_RES:
        return;
      default:
        throw new Error(`submitter: unexpected ${packetName(p.type)} from ${link.key}`);
    }
  }

  private finish(link: Link, handle: string, outcome: Outcome, bytes: Uint8Array): void {
    const p = link.byHandle.get(handle);
    if (p === undefined) return;
    link.byHandle.delete(handle);
    const text = utf8.decode(bytes);
    p.resolve({
      server: link.key,
      handle,
      outcome,
      text,
      bytes: bytes.slice(),
      data: p.data,
      warnings: p.warnings,
      statuses: p.statuses,
    });
  }

  private failAll(link: Link, error: Error): void {
    for (const c of link.created.splice(0)) c.reject(error);
    for (const p of link.byHandle.values()) p.reject(error);
    link.byHandle.clear();
  }

  async close(): Promise<void> {
    await Promise.all(this.links.map((l) => l.conn.close()));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

if (import.meta.main) {
  const arg = (name: string, fallback?: string): string => {
    const i = process.argv.indexOf(`--${name}`);
    const v = i >= 0 ? process.argv[i + 1] : fallback;
    if (v === undefined) throw new Error(`submitter: --${name} is required`);
    return v;
  };
  const servers = arg("servers").split(",");
  const fn = arg("function");
  const count = Number(arg("count"));
  const prefix = arg("prefix", "");
  const s = await Submitter.open(servers);
  const jobs: Promise<[string, Outcome, string]>[] = [];
  for (let i = 0; i < count; i++) {
    const unique = `${prefix}${i}`;
    jobs.push(s.submit(fn, unique, { unique }).then((r) => [unique, r.outcome, r.text]));
  }
  const results = await Promise.all(jobs);
  await s.close();
  process.stdout.write(`${JSON.stringify({ results })}\n`);
}
