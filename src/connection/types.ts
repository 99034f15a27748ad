/**
 * The connection layer's types: its states and events, what its owner handles, and its resolved
 * settings (defaults in src/options).
 */
import type { GearmanError } from "../errors.ts";
import type { Packet } from "../protocol/packets.ts";
import type { ReconnectPolicy } from "./reconnect.ts";
import type { TlsSettings } from "./tls.ts";

export type ConnectionState = "idle" | "connecting" | "ready" | "reconnecting" | "closed";

/**
 * A connection's transitions, reported in this order:
 * - `connecting` (attempt n) when a dial starts; n counts dials since the last `ready` (from 1);
 * - `ready` once the socket is open (and, with `handshake`, the server echoed our probe);
 * - `disconnected` (error, wasReady) when a dial fails or a ready socket is lost — among the
 *   errors HEARTBEAT_TIMEOUT (nothing received within `heartbeatTimeout` of a ping) and
 *   TLS_FAILED (the handshake failed; the message says why in words);
 * - `reconnecting` (attempt, delay) when the reconnect policy schedules the next dial; attempt
 *   is the retry number since the last `ready` (1 for the first), the number the policy gets;
 * - `closed` once, after `close()` or when the policy gives up.
 *
 * So a lost connection reads: disconnected, reconnecting#1, connecting#1, [disconnected,
 * reconnecting#2, connecting#2, …] ready; a failed first dial: connecting#1, disconnected,
 * reconnecting#1, connecting#2 …
 */
export type ConnectionEvent =
  | { readonly type: "connecting"; readonly server: string; readonly attempt: number }
  | { readonly type: "ready"; readonly server: string }
  | {
      readonly type: "disconnected";
      readonly server: string;
      readonly error: GearmanError;
      /** True when the connection was ready (a lost connection), false for a failed dial. */
      readonly wasReady: boolean;
    }
  | { readonly type: "reconnecting"; readonly server: string; readonly attempt: number; readonly delay: number }
  | { readonly type: "closed"; readonly server: string };

export interface ConnectionHandlers {
  /** A packet from the server (argument views; copy what you keep). */
  packet(packet: Packet): void;
  /**
   * Optional, tried first for a packet with arguments: its body is `buf[from, to)`, valid only
   * during the call. True when it was handled from the bytes (no `packet` call follows, and it
   * is counted as received); false hands it to `packet`. For hot paths that read a few arguments
   * without a packet object and a view per argument (see DecoderHandlers.body).
   */
  body?(type: number, buf: Uint8Array, from: number, to: number): boolean;
  /** An admin text line, with `allowText`. */
  text?(line: string): void;
  /** State transitions. On `ready` the owner sends its handshake (CAN_DO, OPTION_REQ…). */
  event?(event: ConnectionEvent): void;
}

/** Resolved connection settings (see options.ts for defaults). */
export interface ConnectionConfig {
  readonly connectTimeout: number;
  readonly keepAlive: boolean;
  readonly keepAliveDelay: number;
  /** Idle ms before a heartbeat ECHO_REQ is sent; 0: no heartbeat. */
  readonly heartbeatInterval: number;
  /** Ms a heartbeat may go unanswered (nothing received at all) before the connection is dropped. */
  readonly heartbeatTimeout: number;
  readonly reconnect: ReconnectPolicy;
  readonly maxPacketSize: number;
  readonly highWaterMark: number;
  /** Wait for an ECHO round trip before `ready`: proves a live Gearman server answers. */
  readonly handshake: boolean;
  readonly allowText?: boolean;
  /** TLS settings for servers marked `tls` (default: Bun's trust store, verified). */
  readonly tls?: TlsSettings | null;
}
