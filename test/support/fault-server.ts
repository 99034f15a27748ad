/**
 * A socket-level fault server for the faults real gearmand cannot produce. It listens on
 * 127.0.0.1, port 0, decodes what clients and workers send with gearbun's own PacketDecoder
 * (REQ magic, admin text lines allowed) and answers ECHO_REQ with ECHO_RES; everything else is
 * up to the test's script.
 *
 *   await using server = await startFaultServer({
 *     reply(packet, peer) {                      // return replies, or undefined for the default
 *       if (packet.type === PacketType.GRAB_JOB) return [[PacketType.NO_JOB]];
 *     },
 *   });
 *   server.faults.hang = true;                       // accept and read, never write anything
 *   server.faults.silent = true;                     // a partition: discard everything, send nothing
 *   server.faults.dropOn.add(PacketType.PRE_SLEEP);  // close the socket when one arrives
 *   server.faults.garbleOn.add(PacketType.GRAB_JOB); // answer it with `faults.garbage` bytes
 *   server.faults.withhold.add(PacketType.NOOP);     // never send NOOP (replies and peer.send)
 *   const grab = await server.waitFor(PacketType.GRAB_JOB); // next GRAB_JOB not yet waited for
 *   server.peers[0]!.send(PacketType.NOOP);          // push a packet to a connected peer
 *
 * Faults can be switched at any time and apply to every peer. Received packets are copies, kept
 * in `server.received` (and `peer.received`) in arrival order. Stop it with `await using`
 * or `stop()`.
 */
import type { Socket, TCPSocketListener } from "bun";
import type { ProtocolError } from "../../src/errors.ts";
import { PacketDecoder } from "../../src/protocol/decode.ts";
import { encodePacket, type Arg } from "../../src/protocol/encode.ts";
import { PacketType, REQ_MAGIC, RES_MAGIC, type Packet } from "../../src/protocol/packets.ts";
import { WriteQueue } from "../../src/util/write-queue.ts";

/** A reply: already encoded bytes, or `[type, ...args]` to encode with RES magic. */
export type Reply = Uint8Array | readonly [type: number, ...args: Arg[]];

/** A packet the server received; `args` are copies, safe to keep. */
export interface FaultPacket extends Packet {
  readonly peer: FaultPeer;
  /** Argument `i` as UTF-8 text. */
  arg(i: number): string;
}

export interface FaultScript {
  /**
   * Called for every packet before the default answer. Return the replies to send (an empty
   * array for none), or undefined for the default (ECHO_REQ → ECHO_RES, others: nothing).
   */
  reply?(packet: FaultPacket, peer: FaultPeer): readonly Reply[] | undefined | void;
  /** An admin text line; return reply lines (a line end is added to each). */
  text?(line: string, peer: FaultPeer): readonly string[] | undefined | void;
  /** A new connection was accepted. */
  connect?(peer: FaultPeer): void;
}

export interface Faults {
  /** Accept and read, but write nothing at all (not even ECHO_RES). */
  hang: boolean;
  /**
   * A network partition: sockets stay open, everything received is discarded (not decoded, not
   * recorded) and nothing is sent. Setting it back to false ends the silence for new connections;
   * a socket that existed during the silence stays deaf for good (its stream lost bytes).
   */
  silent: boolean;
  /** Packet types that make the server close that socket when one arrives (before replying). */
  readonly dropOn: Set<number>;
  /** Packet types answered with `garbage` instead of their replies. */
  readonly garbleOn: Set<number>;
  /** Packet types never sent, by replies or by `peer.send`. */
  readonly withhold: Set<number>;
  /** The bad bytes a garbled answer sends. @default a header with magic "\0BAD" */
  garbage: Uint8Array;
}

export interface FaultPeer {
  /** 1 for the first accepted connection, 2 for the next… */
  readonly id: number;
  readonly received: FaultPacket[];
  /** True until the socket closed. */
  readonly open: boolean;
  /** Sends one response packet (subject to `hang` and `withhold`). */
  send(type: number, ...args: Arg[]): void;
  /** Sends raw bytes, bypassing every fault switch. */
  write(bytes: Uint8Array | string): void;
  /** Ends the socket (FIN). */
  close(): void;
  /** Stops reading from this socket (the kernel buffers fill, the peer sees backpressure). */
  pause(): void;
  resume(): void;
}

export interface FaultServer {
  readonly port: number;
  /** "127.0.0.1:PORT" */
  readonly address: string;
  readonly faults: Faults;
  /** Every connection accepted so far, open or closed. */
  readonly peers: FaultPeer[];
  /** Every packet received, in order, from all peers. */
  readonly received: FaultPacket[];
  /** Protocol errors in what peers sent (the peer is then disconnected). */
  readonly errors: ProtocolError[];
  /**
   * The first received packet matching `match` (a type or a predicate) that no earlier
   * `waitFor` returned; waits for it if it has not arrived yet. Rejects after `timeoutMs`.
   */
  waitFor(match: number | ((p: FaultPacket) => boolean), timeoutMs?: number): Promise<FaultPacket>;
  /** The next accepted connection no earlier `nextPeer` returned. Rejects after `timeoutMs`. */
  nextPeer(timeoutMs?: number): Promise<FaultPeer>;
  /** Closes the listener and every open socket. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** What the listener keeps per socket. */
interface PeerState {
  peer: FaultPeer;
  decoder: PacketDecoder;
  queue: WriteQueue;
  /** Opened or spoken to during a silence: discards and sends nothing from then on. */
  deaf: boolean;
  closed(): void;
}

const utf8 = new TextDecoder();
const DEFAULT_GARBAGE = new Uint8Array([0, 0x42, 0x41, 0x44, 0, 0, 0, 16, 0, 0, 0, 0]);

export async function startFaultServer(script: FaultScript = {}): Promise<FaultServer> {
  const faults: Faults = {
    hang: false,
    silent: false,
    dropOn: new Set(),
    garbleOn: new Set(),
    withhold: new Set(),
    garbage: DEFAULT_GARBAGE,
  };
  const peers: FaultPeer[] = [];
  const received: FaultPacket[] = [];
  const errors: ProtocolError[] = [];
  const sockets = new Set<Socket<PeerState>>();
  const taken = new Set<FaultPacket>();
  let peersTaken = 0;
  let packetWaiters: (() => void)[] = [];
  let peerWaiters: (() => void)[] = [];
  const notify = (list: (() => void)[]): void => {
    for (const w of list) w();
  };

  const makePeer = (socket: Socket<PeerState>): PeerState => {
    const queue = new WriteQueue(Number.POSITIVE_INFINITY);
    queue.attach(socket);
    let open = true;
    let state: PeerState | null = null;
    const peer: FaultPeer = {
      id: peers.length + 1,
      received: [],
      get open() {
        return open;
      },
      send(type, ...args) {
        if (faults.hang || faults.silent || state?.deaf || faults.withhold.has(type) || !open) return;
        queue.push(encodePacket(type, args, RES_MAGIC));
      },
      write(bytes) {
        if (!open) return;
        queue.push(typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes);
      },
      close() {
        if (!open) return;
        queue.flush();
        socket.end();
      },
      pause() {
        socket.pause();
      },
      resume() {
        socket.resume();
      },
    };
    const decoder = new PacketDecoder(
      {
        packet: (p) => onPacket(peer, socket, p),
        text: (line) => {
          if (faults.hang) return;
          const lines = script.text?.(line, peer);
          if (lines) for (const l of lines) peer.write(`${l}\n`);
        },
        error: (e) => {
          errors.push(e);
          socket.terminate();
        },
      },
      { magic: REQ_MAGIC, allowText: true, server: "fault-server" },
    );
    const closed = (): void => {
      open = false;
      queue.detach(new Error("fault server: socket closed"));
    };
    state = { peer, decoder, queue, deaf: faults.silent, closed };
    return state;
  };

  const onPacket = (peer: FaultPeer, socket: Socket<PeerState>, p: Packet): void => {
    const args = p.args.map((a) => a.slice());
    const packet: FaultPacket = { type: p.type, args, peer, arg: (i) => utf8.decode(args[i] ?? new Uint8Array(0)) };
    peer.received.push(packet);
    received.push(packet);
    const waiters = packetWaiters;
    packetWaiters = [];
    notify(waiters);
    if (faults.dropOn.has(p.type)) {
      socket.end();
      return;
    }
    if (faults.hang) return;
    if (faults.garbleOn.has(p.type)) {
      peer.write(faults.garbage);
      return;
    }
    let replies = script.reply?.(packet, peer) ?? undefined;
    if (replies === undefined && p.type === PacketType.ECHO_REQ) replies = [[PacketType.ECHO_RES, args[0]!]];
    for (const r of replies ?? []) {
      if (r instanceof Uint8Array) {
        if (r.length >= 8 && faults.withhold.has(new DataView(r.buffer, r.byteOffset).getUint32(4))) continue;
        peer.write(r);
      } else {
        const [type, ...rest] = r;
        peer.send(type, ...rest);
      }
    }
  };

  const listener: TCPSocketListener<PeerState> = Bun.listen<PeerState>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      binaryType: "uint8array",
      open(socket) {
        sockets.add(socket);
        socket.data = makePeer(socket);
        const peer = socket.data.peer;
        peers.push(peer);
        script.connect?.(peer);
        const waiters = peerWaiters;
        peerWaiters = [];
        notify(waiters);
      },
      data(socket, data) {
        if (faults.silent) socket.data.deaf = true;
        if (socket.data.deaf) return;
        socket.data.decoder.push(data);
      },
      drain(socket) {
        socket.data.queue.flush();
      },
      close(socket) {
        sockets.delete(socket);
        socket.data.closed();
      },
      error() {},
    },
  });

  const withTimeout = <T>(find: () => T | undefined, subscribe: (w: () => void) => void, what: string, ms: number) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fault server: no ${what} within ${ms} ms`)), ms);
      const check = (): void => {
        const found = find();
        if (found !== undefined) {
          clearTimeout(timer);
          resolve(found);
        } else {
          subscribe(check);
        }
      };
      check();
    });

  const server: FaultServer = {
    port: listener.port,
    address: `127.0.0.1:${listener.port}`,
    faults,
    peers,
    received,
    errors,
    waitFor(match, timeoutMs = 5000) {
      const test = typeof match === "number" ? (p: FaultPacket) => p.type === match : match;
      return withTimeout(
        () => {
          const p = received.find((r) => !taken.has(r) && test(r));
          if (p) taken.add(p);
          return p;
        },
        (w) => packetWaiters.push(w),
        typeof match === "number" ? `packet type ${match}` : "matching packet",
        timeoutMs,
      );
    },
    nextPeer(timeoutMs = 5000) {
      return withTimeout(
        () => (peersTaken < peers.length ? peers[peersTaken++] : undefined),
        (w) => peerWaiters.push(w),
        "connection",
        timeoutMs,
      );
    },
    async stop() {
      listener.stop(true);
      for (const s of sockets) s.terminate();
      sockets.clear();
    },
    [Symbol.asyncDispose]() {
      return server.stop();
    },
  };
  return server;
}

// ---------------------------------------------------------------------------------------------
// A tiny job server as a script, for worker tests that need a server with a switch real
// gearmand lacks (never send NOOP, a chosen JOB_ASSIGN variant) or a server-side view
// (jobs assigned to a worker and not yet answered).

export interface MiniJob {
  readonly handle: string;
  readonly fn: string;
  readonly unique: string;
  readonly payload: string;
}

export interface MiniJobResult {
  readonly handle: string;
  /** WORK_COMPLETE, WORK_FAIL or WORK_EXCEPTION. */
  readonly type: number;
  readonly data: string;
  readonly peer: number;
}

export interface MiniJobServer {
  /** Pass to `startFaultServer`. */
  readonly script: FaultScript;
  /** Queues a job; sleeping workers that can do it get a NOOP (unless NOOP is withheld). */
  queue(fn: string, payload?: string, unique?: string): MiniJob;
  /** Jobs waiting to be grabbed. */
  readonly queued: MiniJob[];
  /** Results received, in order. */
  readonly results: MiniJobResult[];
  /** Jobs assigned to a peer and not yet answered, per peer id. */
  readonly assigned: Map<number, Set<string>>;
  /** The most jobs ever assigned to one peer at once and not yet answered. */
  maxAssigned: number;
  /** Force the JOB_ASSIGN variant (11, 31 or 40); default: the one matching the grab. */
  assignType: number | undefined;
}

export function miniJobServer(): MiniJobServer {
  const abilities = new Map<FaultPeer, Set<string>>();
  const sleeping = new Set<FaultPeer>();
  const peers = new Set<FaultPeer>();
  let next = 1;
  const can = (peer: FaultPeer): Set<string> => {
    let set = abilities.get(peer);
    if (set === undefined) abilities.set(peer, (set = new Set()));
    return set;
  };
  const server: MiniJobServer = {
    queued: [],
    results: [],
    assigned: new Map(),
    maxAssigned: 0,
    assignType: undefined,
    queue(fn, payload = "", unique = "") {
      const job: MiniJob = { handle: `H:mini:${next++}`, fn, unique, payload };
      server.queued.push(job);
      for (const peer of peers) {
        if (peer.open && sleeping.has(peer) && can(peer).has(fn)) {
          sleeping.delete(peer);
          peer.send(PacketType.NOOP);
        }
      }
      return job;
    },
    script: {
      connect(peer) {
        peers.add(peer);
      },
      reply(packet, peer) {
        const T = PacketType;
        switch (packet.type) {
          case T.CAN_DO:
          case T.CAN_DO_TIMEOUT:
            can(peer).add(packet.arg(0));
            return [];
          case T.CANT_DO:
            can(peer).delete(packet.arg(0));
            return [];
          case T.RESET_ABILITIES:
            can(peer).clear();
            return [];
          case T.SET_CLIENT_ID:
            return [];
          case T.PRE_SLEEP:
            if (server.queued.some((j) => can(peer).has(j.fn))) return [[T.NOOP]];
            sleeping.add(peer);
            return [];
          case T.GRAB_JOB:
          case T.GRAB_JOB_UNIQ:
          case T.GRAB_JOB_ALL: {
            sleeping.delete(peer);
            const i = server.queued.findIndex((j) => can(peer).has(j.fn));
            if (i < 0) return [[T.NO_JOB]];
            const job = server.queued.splice(i, 1)[0]!;
            let set = server.assigned.get(peer.id);
            if (set === undefined) server.assigned.set(peer.id, (set = new Set()));
            set.add(job.handle);
            server.maxAssigned = Math.max(server.maxAssigned, set.size);
            const type =
              server.assignType ??
              (packet.type === T.GRAB_JOB
                ? T.JOB_ASSIGN
                : packet.type === T.GRAB_JOB_UNIQ
                  ? T.JOB_ASSIGN_UNIQ
                  : T.JOB_ASSIGN_ALL);
            if (type === T.JOB_ASSIGN) return [[type, job.handle, job.fn, job.payload]];
            if (type === T.JOB_ASSIGN_UNIQ) return [[type, job.handle, job.fn, job.unique, job.payload]];
            return [[type, job.handle, job.fn, job.unique, "reducer", job.payload]];
          }
          case T.WORK_COMPLETE:
          case T.WORK_FAIL:
          case T.WORK_EXCEPTION:
            server.assigned.get(peer.id)?.delete(packet.arg(0));
            server.results.push({ handle: packet.arg(0), type: packet.type, data: packet.arg(1), peer: peer.id });
            return [];
          default:
            return undefined;
        }
      },
    },
  };
  return server;
}
