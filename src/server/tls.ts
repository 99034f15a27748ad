/**
 * TLS on the embedded server's port: why a peer's handshake was refused, in words for the log.
 * Bun reports a refusal through the `handshake` callback: `success` false with an OpenSSL error
 * (no certificate, not TLS at all), or an authorization error naming a certificate that does not
 * verify against the CA.
 */

/** The reason a peer's TLS handshake failed, from the error Bun reported (or none). */
export function describePeerTlsFailure(error: (Error & { code?: string }) | null): string {
  const code = error?.code ?? "";
  const message = error?.message ?? "";
  if (/PEER_DID_NOT_RETURN_A_CERTIFICATE|CERTIFICATE_REQUIRED/i.test(message)) return "no client certificate";
  if (/WRONG_VERSION_NUMBER|HTTP_REQUEST|PACKET_LENGTH_TOO_LONG|RECORD_LAYER/i.test(message)) {
    return "plaintext peer (not TLS)";
  }
  if (code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID") return `client certificate expired (${code})`;
  if (code.includes("ISSUER") || code.includes("SELF_SIGNED") || code === "UNABLE_TO_VERIFY_LEAF_SIGNATURE") {
    return `client certificate not signed by the CA (${code})`;
  }
  if (code === "ECONNRESET") return "the peer hung up during the handshake (it may not trust our certificate)";
  if (message !== "") return code === "" ? message : `${message} (${code})`;
  return "handshake failed";
}
