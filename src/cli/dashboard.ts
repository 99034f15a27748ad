/** `gearbun dashboard`: a live web page over one or many job servers. */
import { formatAddress, parseServers } from "../connection/servers.ts";
import { serveDashboard } from "../dashboard/serve.ts";
import { DASHBOARD_DEFAULTS } from "../options.ts";
import { type Command, flagLine, SERVERS_FLAG, str, UsageError, untilSignal } from "./args.ts";
import { CLIENT_SSL_OPTIONS, CLIENT_SSL_USAGE, clientTlsFlags } from "./client-tls.ts";

export const dashboard: Command = {
  usage: `Usage: gearbun dashboard [--servers LIST] [--listen ${DASHBOARD_DEFAULTS.listen}] [--interval S] [--pool HOST:PORT]

Serves one self-contained page: servers (up/down, version), functions (total, running, waiting,
worker connections; per server; sortable), the workers list, and charts of queue depth and its
rate of change over the last minutes. It polls each server's admin protocol every --interval.
With --pool, a panel for a gearbun worker pool from its --metrics endpoint: processes per group
and done / failed / retries / dead letters per function.
${SERVERS_FLAG}
${flagLine("--listen HOST:PORT", "where to serve the page (port 0 picks a free one)", DASHBOARD_DEFAULTS.listen)}
${flagLine("--interval S", "seconds between polls of the servers", DASHBOARD_DEFAULTS.interval / 1000)}
${flagLine("--pool HOST:PORT", "a gearbun worker --metrics address: the pool panel")}
${CLIENT_SSL_USAGE}`,
  options: {
    servers: { type: "string" },
    listen: { type: "string" },
    interval: { type: "string" },
    pool: { type: "string" },
    ...CLIENT_SSL_OPTIONS,
  },
  async run(values) {
    const servers = parseServers(str(values.servers)).map(formatAddress);
    const raw = str(values.interval);
    const seconds = raw === undefined ? DASHBOARD_DEFAULTS.interval / 1000 : Number(raw);
    if (!Number.isFinite(seconds) || seconds < 0.1) {
      throw new UsageError(`--interval must be a number of seconds >= 0.1, got "${raw}"`);
    }
    const endpoint = serveDashboard(
      {
        servers,
        tls: clientTlsFlags(values),
        listen: str(values.listen) ?? DASHBOARD_DEFAULTS.listen,
        interval: Math.round(seconds * 1000),
      },
      { pool: str(values.pool), option: "--listen" },
    );
    console.log(`gearbun dashboard: ${endpoint.url}/ for ${servers.join(", ")}`);
    const signal = await untilSignal();
    console.log(`${signal}: stopping`);
    await endpoint.stop();
    return 0;
  },
};
