/**
 * The connection layer's types: its states and events (the order they come in is described in
 * connection.ts), what its owner handles, and its resolved settings (defaults in src/options).
 */
import type { GearmanError } from "../errors.ts";
import type { Packet } from "../protocol/packets.ts";
import type { ReconnectPolicy } from "./reconnect.ts";
import type { TlsSettings } from "./tls.ts";

export type ConnectionState = "idle" | "connecting" | "ready" | "reconnecting" | "closed";

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
