/**
 * TLS on a job server connection: the settings `Bun.connect` takes, and a failed handshake told
 * in words. Options are resolved (files read, defaults applied) in src/options.ts.
 *
 * What a failed handshake looks like from the client side, as Bun reports it:
 * - the server's certificate does not verify: the `handshake` callback gets an error with an
 *   OpenSSL verify code (`SELF_SIGNED_CERT_IN_CHAIN`, `CERT_HAS_EXPIRED`, …) or
 *   `ERR_TLS_CERT_ALTNAME_INVALID`, and Bun closes the socket;
 * - the server wants a client certificate and got none: an `EPROTO` error naming the
 *   `CERTIFICATE_REQUIRED` alert;
 * - the server does not trust our certificate: under TLS 1.3 our side of the handshake finishes
 *   first, so the server's refusal comes as an alert or as a close before it says anything;
 * - a plaintext peer: its bytes are not a TLS record (`WRONG_VERSION_NUMBER`), or — gearmand
 *   without --ssl — it closes at the ClientHello without a byte ("socket disconnected before
 *   secure TLS connection was established", ECONNRESET).
 */
import { ConnectionError, type GearmanError } from "../errors.ts";
import type { ServerAddress } from "./servers.ts";

/** Resolved TLS settings of a connection: PEM text (never file names) and the checks to make. */
export interface TlsSettings {
  /** Trusted CA certificates; none: Bun's default trust store. */
  readonly ca?: string;
  /** Client certificate and its key, for servers that ask for one. */
  readonly cert?: string;
  readonly key?: string;
  /** Name the server's certificate must carry; none: the host dialled. */
  readonly servername?: string;
  /** Refuse a server whose certificate does not verify. */
  readonly rejectUnauthorized: boolean;
}

/** `tls: true`: the server's certificate is checked against Bun's default trust store. */
export const SYSTEM_TLS: TlsSettings = { rejectUnauthorized: true };

/** The `tls` option of `Bun.connect` for a server. */
export function connectTlsOptions(settings: TlsSettings, host: string): Bun.TLSOptions {
  return {
    ...(settings.ca === undefined ? {} : { ca: settings.ca }),
    ...(settings.cert === undefined ? {} : { cert: settings.cert }),
    ...(settings.key === undefined ? {} : { key: settings.key }),
    // SNI carries names only: an IP address is checked against the certificate without it.
    ...(settings.servername !== undefined
      ? { serverName: settings.servername }
      : isIpAddress(host)
        ? {}
        : { serverName: host }),
    rejectUnauthorized: settings.rejectUnauthorized,
  };
}

function isIpAddress(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(":");
}

/** OpenSSL verify codes by what they mean to someone reading the error. */
const UNKNOWN_CA = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "CERT_SIGNATURE_FAILURE",
]);
const EXPIRED = new Set(["CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID", "CRL_HAS_EXPIRED"]);

/** The reason a handshake failed, in words, from the error Bun reported (or none). */
export function describeTlsFailure(error: (Error & { code?: string }) | undefined, name: string): string {
  const code = error?.code ?? "";
  const message = error?.message ?? "";
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    return `name mismatch: the server's certificate is not valid for "${name}" (${message})`;
  }
  if (UNKNOWN_CA.has(code)) return `unknown CA: the server's certificate is not signed by a trusted CA (${code})`;
  if (EXPIRED.has(code)) return `expired: the server's certificate is outside its validity period (${code})`;
  if (code !== "" && code !== "EPROTO" && code !== "ECONNRESET") return `certificate refused: ${message} (${code})`;
  if (/CERTIFICATE_REQUIRED/i.test(message))
    return "no client certificate: the server requires one (set tls.cert and tls.key)";
  if (/UNKNOWN_CA|BAD_CERTIFICATE|DECRYPT_ERROR/i.test(message)) {
    return `client certificate refused: the server does not trust it (${message})`;
  }
  if (/CERTIFICATE_EXPIRED/i.test(message))
    return `expired: the server says our client certificate has expired (${message})`;
  if (/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|HTTP_REQUEST|RECORD_LAYER/i.test(message)) {
    return "plaintext peer: the server does not speak TLS on this port";
  }
  // gearmand without --ssl reads the ClientHello as a bad packet and closes without a byte.
  if (/disconnected before secure TLS connection/i.test(message)) {
    return "plaintext peer, most likely: the server closed the connection at the ClientHello without answering (a gearmand without --ssl does)";
  }
  if (message !== "") return message;
  return "the server closed the connection during the TLS handshake";
}

/** A `TLS_FAILED` ConnectionError for a server. */
export function tlsFailed(
  server: string,
  name: string,
  error: (Error & { code?: string }) | undefined,
): ConnectionError {
  return new ConnectionError("TLS_FAILED", `TLS handshake failed: ${describeTlsFailure(error, name)}`, {
    server,
    cause: error,
  });
}

/**
 * The reason when a server that completed the handshake closes before answering the connect
 * probe: under TLS 1.3 a server checks our certificate after our side has finished, and a
 * server that refuses it may just hang up.
 */
export function tlsClosedAfterHandshake(server: string, hasCert: boolean): ConnectionError {
  return new ConnectionError(
    "TLS_FAILED",
    hasCert
      ? "TLS handshake failed: the server closed the connection before answering; it likely refused our client certificate (not signed by a CA it trusts)"
      : "TLS handshake failed: the server closed the connection before answering; it likely requires a client certificate (set tls.cert and tls.key)",
    { server },
  );
}

/**
 * When every server of a client or worker failed its TLS handshake, one `TLS_FAILED` naming each
 * server and reason (a settings problem, not an outage); otherwise null, and the caller reports
 * `NO_SERVERS`. One server: its own error; several: an AggregateError of theirs as `cause`.
 */
export function everyTlsFailed(failures: readonly { server: string; error: unknown }[]): ConnectionError | null {
  const errors: ConnectionError[] = [];
  for (const { error } of failures) {
    if (!(error instanceof ConnectionError) || error.code !== "TLS_FAILED") return null;
    errors.push(error);
  }
  if (errors.length === 0) return null;
  if (errors.length === 1) return errors[0]!;
  const reasons = failures.map(({ server, error }) => {
    const message = (error as ConnectionError).message;
    const reason = message.replace(/^TLS handshake failed: /, "").replace(` (server ${server})`, "");
    return `${server}: ${reason}`;
  });
  return new ConnectionError("TLS_FAILED", `TLS handshake failed with every server: ${reasons.join("; ")}`, {
    cause: new AggregateError(errors),
  });
}

/**
 * The error for a socket that closed before the connection became ready: over TLS, a refusal
 * (during the handshake, or of our client certificate right after it); otherwise CONNECT_FAILED.
 */
export function closedDuringConnect(
  server: ServerAddress,
  settings: TlsSettings | null,
  secured: boolean,
  cause: Error | undefined,
): GearmanError {
  if (server.tls === true) {
    return secured
      ? tlsClosedAfterHandshake(server.key, (settings ?? SYSTEM_TLS).cert !== undefined)
      : tlsFailed(server.key, settings?.servername ?? server.host, cause);
  }
  return new ConnectionError("CONNECT_FAILED", "server closed the connection during connect", {
    server: server.key,
    cause,
  });
}
