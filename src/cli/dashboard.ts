/** `gearbun dashboard`: a live web page over one or many job servers. */
import { formatAddress, parseServers } from "../connection/servers.ts";
import { serveDashboard } from "../dashboard/serve.ts";
import { DASHBOARD_DEFAULTS } from "../options.ts";
import { type Command, flagLine, intFlag, SERVERS_FLAG, str, untilSignal } from "./args.ts";
import { CLIENT_SSL_OPTIONS, CLIENT_SSL_USAGE, clientTlsFlags } from "./client-tls.ts";

export const dashboard: Command = {
  usage: `Usage: gearbun dashboard [--servers LIST] [--listen ${DASHBOARD_DEFAULTS.listen}] [--interval MS]

Serves one self-contained page: servers (up/down, version), functions (total, running, waiting,
workers; per server; sortable), the workers list, and charts of queue depth and its rate of
change over the last minutes. It polls each server's admin protocol every --interval.
${SERVERS_FLAG}
${flagLine("--listen HOST:PORT", "where to serve the page (port 0 picks a free one)", DASHBOARD_DEFAULTS.listen)}
${flagLine("--interval MS", "milliseconds between polls of the servers", DASHBOARD_DEFAULTS.interval)}
${CLIENT_SSL_USAGE}`,
  options: {
    servers: { type: "string" },
    listen: { type: "string" },
    interval: { type: "string" },
    ...CLIENT_SSL_OPTIONS,
  },
  async run(values) {
    const servers = parseServers(str(values.servers)).map(formatAddress);
    const endpoint = serveDashboard({
      servers,
      tls: clientTlsFlags(values),
      listen: str(values.listen) ?? DASHBOARD_DEFAULTS.listen,
      interval: intFlag(values, "interval", DASHBOARD_DEFAULTS.interval, 100),
    });
    console.log(`gearbun dashboard: ${endpoint.url}/ for ${servers.join(", ")}`);
    const signal = await untilSignal();
    console.log(`${signal}: stopping`);
    await endpoint.stop();
    return 0;
  },
};
