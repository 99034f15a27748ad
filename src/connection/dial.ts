/**
 * One `Bun.connect` dial, plain or TLS, with its socket events handed to the connection as plain
 * callbacks. The connection decides what each event means (and ignores events of a dial it has
 * given up on); this module only opens the socket with the right options.
 */
import type { Socket } from "bun";
import type { ServerAddress } from "./servers.ts";
import { connectTlsOptions, type TlsSettings } from "./tls.ts";

export type Sock = Socket<undefined>;

export interface DialHandlers {
  /** The TCP socket is open (over TLS the handshake is still to come: wait for `secured`). */
  opened(socket: Sock): void;
  /** The TLS handshake ended; `error` says why the peer's certificate was not accepted, or null. */
  secured(socket: Sock, error: Error | null): void;
  data(bytes: Uint8Array): void;
  drain(): void;
  closed(error: Error | undefined): void;
  /** A socket error; `closed` follows. */
  error(error: Error): void;
  /** The dial itself failed (refused, unreachable, bad address). */
  failed(error: unknown): void;
}

export function dialSocket(server: ServerAddress, tls: TlsSettings | null, on: DialHandlers): void {
  Bun.connect({
    hostname: server.host,
    port: server.port,
    ...(tls === null ? {} : { tls: connectTlsOptions(tls, server.host) }),
    socket: {
      binaryType: "uint8array",
      open: (socket) => on.opened(socket),
      handshake: (socket, _authorized, error) => on.secured(socket, error),
      data: (_socket, data) => on.data(data),
      drain: () => on.drain(),
      close: (_socket, error) => on.closed(error),
      error: (_socket, error) => on.error(error),
      connectError: (_socket, error) => on.failed(error),
    },
  }).catch((error: unknown) => on.failed(error));
}
