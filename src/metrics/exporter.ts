/**
 * An exporter for gearmand clusters: on every scrape it asks each server's admin `status` and
 * `version` (in parallel, each within `timeout`) and answers the gearman_* families with a
 * `server` label. A server that does not answer is `gearman_up{server=…} 0`; the scrape itself
 * always succeeds.
 */
import { pollCluster } from "../admin/cluster.ts";
import { formatAddress, parseServers, type ServersInput } from "../connection/servers.ts";
import { EXPORTER_DEFAULTS, type ExporterOptions, numberOption, type TlsOptions } from "../options.ts";
import { Exposition } from "./exposition.ts";
import { writeGearmanMetrics } from "./gearman.ts";
import { serveHttp, type HttpEndpoint } from "./http.ts";
import { writeProcessMetrics } from "./process.ts";

/** The exposition for one scrape of `servers`. */
export async function scrapeCluster(
  servers: ServersInput,
  timeout: number = EXPORTER_DEFAULTS.timeout,
  tls?: boolean | TlsOptions,
): Promise<string> {
  const out = new Exposition();
  writeGearmanMetrics(out, await pollCluster(servers, { timeout, tls }), true);
  writeProcessMetrics(out);
  return out.text();
}

/** Starts the exporter's HTTP endpoint; /healthz is 200 while at least one server answers. */
export function startExporter(options: ExporterOptions = {}): HttpEndpoint {
  const servers = parseServers(options.servers).map(formatAddress);
  const timeout = numberOption("timeout", options.timeout, EXPORTER_DEFAULTS.timeout, 1);
  return serveHttp({
    listen: options.listen ?? EXPORTER_DEFAULTS.listen,
    option: "listen",
    metrics: () => scrapeCluster(servers, timeout, options.tls),
    health: async () => {
      const snaps = await pollCluster(servers, { timeout, tls: options.tls });
      const down = snaps.filter((s) => !s.up);
      if (down.length === snaps.length)
        return { ok: false, reason: `no server answers (${down.map((s) => s.server).join(", ")})` };
      // The exporter works (gearman_up says which server is down): healthy, and it says so plainly.
      const answering = `${snaps.length - down.length} of ${snaps.length} servers answer`;
      return {
        ok: true,
        reason: down.length === 0 ? answering : `${answering}; not answering: ${down.map((s) => s.server).join(", ")}`,
      };
    },
  });
}
