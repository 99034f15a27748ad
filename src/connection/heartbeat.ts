/**
 * Application-level liveness as a small pure policy: given when the connection became ready,
 * when it last received anything and what the one timer was waiting for, decide whether to wait
 * longer, send a ping (ECHO_REQ), or declare the server dead. The connection owns the socket and
 * the timer; this module owns only the decision and the ping's bytes.
 *
 * TCP keepalive cannot do this job: its probes start after the idle time, repeat for minutes, and
 * never run while sent data is unacknowledged, so a partitioned server, a dead host or a frozen
 * VM would hold the connection for a quarter of an hour. Any received byte counts as life, so a
 * busy connection never pings.
 */
import { encodePacket } from "../protocol/encode.ts";
import { Deadline } from "../util/deadline.ts";
import type { ConnectionConfig } from "./types.ts";
import { ConnectionError } from "../errors.ts";
import { PacketType } from "../protocol/packets.ts";

const PAYLOAD = "gearbun-heartbeat";
const PAYLOAD_BYTES = new TextEncoder().encode(PAYLOAD);

/** The ping: ECHO_REQ with our own payload, built once. */
export const HEARTBEAT_PACKET = encodePacket(PacketType.ECHO_REQ, [PAYLOAD]);

/** True for the payload of our own heartbeat's ECHO_RES (not handed to the connection's owner). */
export function isHeartbeat(payload: Uint8Array): boolean {
  if (payload.byteLength !== PAYLOAD_BYTES.byteLength) return false;
  for (let i = 0; i < payload.byteLength; i++) if (payload[i] !== PAYLOAD_BYTES[i]) return false;
  return true;
}

/** The error a connection is dropped with when its heartbeat went unanswered. */
export function heartbeatTimeout(server: string, silentMs: number, config: ConnectionConfig): ConnectionError {
  const { heartbeatInterval: interval, heartbeatTimeout: timeout } = config;
  return new ConnectionError(
    "HEARTBEAT_TIMEOUT",
    `server silent for ${silentMs} ms: nothing received within ${timeout} ms (heartbeatTimeout) of a heartbeat ECHO_REQ sent after ${interval} ms (heartbeatInterval) of silence`,
    { server },
  );
}

export type HeartbeatVerdict =
  /** Nothing to do yet: check again in `ms`. */
  | { readonly kind: "wait"; readonly ms: number }
  /** Send the ping now, and check again in `ms`. */
  | { readonly kind: "ping"; readonly ms: number }
  /** Nothing arrived within the timeout of the ping: the server has been silent `silentMs`. */
  | { readonly kind: "dead"; readonly silentMs: number };

/** A check finding the connection quiet for all but 1/PING_SLACK of the interval pings. */
const PING_SLACK = 10;

export class Heartbeat {
  private readonly interval: number;
  private readonly timeout: number;
  /** `performance.now()` of the unanswered ping, or 0 when none is out. */
  private pingAt = 0;

  /** A ping is out: the next check may declare the server dead. */
  get awaitingAnswer(): boolean {
    return this.pingAt > 0;
  }

  constructor(interval: number, timeout: number) {
    this.interval = interval;
    this.timeout = timeout;
  }

  /** The connection became ready: no ping is out; the first check is an interval away. */
  reset(): number {
    this.pingAt = 0;
    return this.interval;
  }

  /**
   * The timer ran out at `now`. `lifeAt` is the later of the last byte received and the moment
   * the connection became ready (all `performance.now()` times).
   */
  check(now: number, lifeAt: number): HeartbeatVerdict {
    if (this.pingAt > 0) {
      if (lifeAt > this.pingAt) {
        this.pingAt = 0; // answered (or anything else arrived): count the interval from then
      } else if (now - this.pingAt < this.timeout) {
        return { kind: "wait", ms: Math.max(1, this.timeout - (now - this.pingAt)) };
      } else {
        return { kind: "dead", silentMs: Math.round(now - lifeAt) };
      }
    }
    const quiet = now - lifeAt;
    // Quiet for most of the interval already (typically: the last ping's answer came a round
    // trip after it was sent): ping now rather than wake again for the rest, one timer per ping.
    if (quiet < this.interval - this.interval / PING_SLACK) {
      return { kind: "wait", ms: Math.max(1, this.interval - quiet) };
    }
    this.pingAt = now;
    // Checked again after one interval as well, so an answered ping is followed by the next one
    // an interval later even when the timeout is longer.
    return { kind: "ping", ms: Math.min(this.interval, this.timeout) };
  }
}

export interface ClockHooks {
  /** The connect timeout ran out on time (not because our own loop was busy). */
  connectExpired(): void;
  /** Queue the heartbeat ping now. */
  ping(): void;
  /** The heartbeat went unanswered: the server has been silent `silentMs`. */
  silent(silentMs: number): void;
}

/**
 * A connection's one timer: the connect timeout while dialling, the heartbeat while ready. It is
 * a Deadline, so a busy event loop on our side is never taken for a slow or silent server.
 */
export class ConnectionClock {
  private readonly timer: Deadline;
  private readonly heartbeat: Heartbeat | null;
  private readonly connectTimeout: number;
  private readonly dataAt: () => number;
  private readonly hooks: ClockHooks;
  private phase: "connect" | "heartbeat" = "connect";
  /** `performance.now()` of the last socket open and the last `ready`. */
  private openedAt = 0;
  private readyAt = 0;

  /** `dataAt`: `performance.now()` of the last data received (0: none). */
  constructor(config: ConnectionConfig, dataAt: () => number, hooks: ClockHooks) {
    this.connectTimeout = config.connectTimeout;
    this.heartbeat =
      config.heartbeatInterval > 0 ? new Heartbeat(config.heartbeatInterval, config.heartbeatTimeout) : null;
    this.dataAt = dataAt;
    this.hooks = hooks;
    this.timer = new Deadline(
      () => Math.max(this.dataAt(), this.openedAt),
      (arrivedLate) => this.expired(arrivedLate),
      // Only the connect timeout and an unanswered ping end in a verdict on the server; the
      // check that merely decides to ping needs no wait for the arrived I/O.
      () => this.phase === "connect" || this.heartbeat?.awaitingAnswer === true,
    );
  }

  /** A dial starts: the connect timeout runs. */
  dialing(): void {
    this.phase = "connect";
    this.timer.start(this.connectTimeout);
  }

  /** The socket opened (counts as the server's progress for the connect deadline). */
  opened(): void {
    this.openedAt = performance.now();
  }

  /** The connection is ready: the heartbeat runs (when on). */
  ready(): void {
    this.timer.stop();
    this.readyAt = performance.now();
    if (this.heartbeat === null) return;
    this.phase = "heartbeat";
    this.timer.start(this.heartbeat.reset());
  }

  stop(): void {
    this.timer.stop();
  }

  private expired(arrivedLate: boolean): void {
    if (this.phase === "connect") {
      // The socket opened or answered while our own loop was busy: the server was on time.
      if (arrivedLate) this.timer.start(this.connectTimeout);
      else this.hooks.connectExpired();
      return;
    }
    if (this.heartbeat === null) return;
    const verdict = this.heartbeat.check(performance.now(), Math.max(this.dataAt(), this.readyAt));
    if (verdict.kind === "dead") {
      this.hooks.silent(verdict.silentMs);
      return;
    }
    if (verdict.kind === "ping") this.hooks.ping();
    this.timer.start(verdict.ms);
  }
}
