/**
 * `gearbun server`'s TLS flags, with gearmand's names: --ssl turns TLS on, --ssl-certificate and
 * --ssl-key name the server's PEM files, --ssl-ca-file the CA whose client certificates are let
 * in (mutual TLS). Unlike gearmand, which falls back to compiled-in paths, the files are required.
 */
import type { ServerTlsOptions } from "../options.ts";
import { flagLine, type Flags, str, UsageError } from "./args.ts";

export const SSL_OPTIONS = {
  ssl: { type: "boolean" },
  "ssl-certificate": { type: "string" },
  "ssl-key": { type: "string" },
  "ssl-ca-file": { type: "string" },
} as const;

export const SSL_USAGE = [
  flagLine("--ssl", "serve TLS only (needs --ssl-certificate and --ssl-key)"),
  flagLine("--ssl-certificate F", "the server's certificate (PEM file)"),
  flagLine("--ssl-key F", "its private key (PEM file)"),
  flagLine("--ssl-ca-file F", "let in only peers with a certificate signed by this CA"),
].join("\n");

/** The server's `tls` option from the flags, or undefined without --ssl. */
export function sslFlags(values: Flags): ServerTlsOptions | undefined {
  const cert = str(values["ssl-certificate"]);
  const key = str(values["ssl-key"]);
  const ca = str(values["ssl-ca-file"]);
  if (values.ssl !== true) {
    const given =
      cert !== undefined
        ? "--ssl-certificate"
        : key !== undefined
          ? "--ssl-key"
          : ca !== undefined
            ? "--ssl-ca-file"
            : null;
    if (given !== null) throw new UsageError(`${given} needs --ssl`);
    return undefined;
  }
  if (cert === undefined || key === undefined)
    throw new UsageError("--ssl needs --ssl-certificate FILE and --ssl-key FILE");
  return ca === undefined ? { cert, key } : { cert, key, ca };
}
