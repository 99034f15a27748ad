/** `gearbun exporter`: Prometheus metrics for a gearmand cluster, asked on every scrape. */
import { formatAddress, parseServers } from "../connection/servers.ts";
import { startExporter } from "../metrics/exporter.ts";
import { EXPORTER_DEFAULTS } from "../options.ts";
import { type Command, flagLine, intFlag, SERVERS_FLAG, str, untilSignal } from "./args.ts";
import { CLIENT_SSL_OPTIONS, CLIENT_SSL_USAGE, clientTlsFlags } from "./client-tls.ts";

export const exporter: Command = {
  usage: `Usage: gearbun exporter [--servers LIST] [--listen ${EXPORTER_DEFAULTS.listen}] [--timeout MS]

Serves /metrics (Prometheus text format) and /healthz. Every scrape asks each server's admin
"status" and "version"; a server that does not answer is gearman_up{server="…"} 0.
${SERVERS_FLAG}
${flagLine("--listen HOST:PORT", "where to serve HTTP (port 0 picks a free one)", EXPORTER_DEFAULTS.listen)}
${flagLine("--timeout MS", "how long each server may take to answer", EXPORTER_DEFAULTS.timeout)}
${CLIENT_SSL_USAGE}`,
  options: {
    servers: { type: "string" },
    listen: { type: "string" },
    timeout: { type: "string" },
    ...CLIENT_SSL_OPTIONS,
  },
  async run(values) {
    const servers = parseServers(str(values.servers)).map(formatAddress);
    const endpoint = startExporter({
      servers,
      tls: clientTlsFlags(values),
      listen: str(values.listen) ?? EXPORTER_DEFAULTS.listen,
      timeout: intFlag(values, "timeout", EXPORTER_DEFAULTS.timeout),
    });
    console.log(`gearbun exporter: ${endpoint.url}/metrics for ${servers.join(", ")}`);
    const signal = await untilSignal();
    console.log(`${signal}: stopping`);
    await endpoint.stop();
    return 0;
  },
};
