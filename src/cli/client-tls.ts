/**
 * TLS flags of the commands that connect to job servers (status, submit, worker, top, check,
 * exporter, dashboard, dead, demo), with the names `gearbun server` and gearmand use: --ssl turns
 * TLS on for every server, --ssl-ca-file names the CA the servers' certificates must be signed
 * by, --ssl-certificate and --ssl-key a client certificate for servers that require one.
 * Without --ssl only "tls://" servers use TLS; libgearman's environment variables
 * (GEARMAND_CA_CERTIFICATE, GEARMAN_CLIENT_PEM, GEARMAN_CLIENT_KEY) supply files not given.
 */
import { parseServers } from "../connection/servers.ts";
import type { TlsOptions } from "../options.ts";
import { type Flags, flagLine, str, UsageError } from "./args.ts";
import { SSL_OPTIONS } from "./server-tls.ts";

/** The flags, for a command's parseArgs options. */
export const CLIENT_SSL_OPTIONS = SSL_OPTIONS;

export const CLIENT_SSL_USAGE = [
  flagLine("--ssl", 'TLS to every server (else only to "tls://host:port" ones)'),
  flagLine(
    "--ssl-ca-file F",
    "CA the servers' certificates are signed by",
    "$GEARMAND_CA_CERTIFICATE, else system CAs",
  ),
  flagLine("--ssl-certificate F", "client certificate (PEM file)", "$GEARMAN_CLIENT_PEM"),
  flagLine("--ssl-key F", "its private key (PEM file)", "$GEARMAN_CLIENT_KEY"),
].join("\n");

/**
 * The `tls` option from the flags: undefined without any (only "tls://" servers use TLS, with
 * the environment's files). A file flag without --ssl is taken when every server is "tls://";
 * otherwise it is a usage error, as for `gearbun server`.
 */
export function clientTlsFlags(values: Flags): TlsOptions | undefined {
  const ca = str(values["ssl-ca-file"]);
  const cert = str(values["ssl-certificate"]);
  const key = str(values["ssl-key"]);
  if (values.ssl !== true) {
    const given =
      ca !== undefined
        ? "--ssl-ca-file"
        : cert !== undefined
          ? "--ssl-certificate"
          : key !== undefined
            ? "--ssl-key"
            : null;
    if (given === null) return undefined;
    // Without --ssl the files are for "tls://" servers: a plaintext one would get TLS too.
    const plaintext = parseServers(str(values.servers)).find((s) => s.tls !== true);
    if (plaintext !== undefined) {
      throw new UsageError(`${given} needs --ssl, or every server written tls://host:port (${plaintext.key} is not)`);
    }
  }
  return {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
  };
}
