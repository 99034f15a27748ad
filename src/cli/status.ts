/**
 * `gearbun status`: the admin `status` of every server as a table. gearmand's second column
 * counts every job it holds for the function, running ones included, so it is shown as TOTAL
 * and the jobs still waiting for a worker as WAITING (TOTAL − RUNNING).
 */
import { Admin } from "../admin/admin.ts";
import { formatAddress, parseServers } from "../connection/servers.ts";
import { type Command, SERVERS_FLAG, str } from "./args.ts";
import { CLIENT_SSL_OPTIONS, CLIENT_SSL_USAGE, clientTlsFlags } from "./client-tls.ts";

export const status: Command = {
  usage: `Usage: gearbun status [--servers LIST] [--ssl [--ssl-ca-file F] [--ssl-certificate F --ssl-key F]]

Prints the admin status of every server, one row per function:
  TOTAL    jobs the server holds (waiting and running)
  RUNNING  jobs a worker is running
  WAITING  jobs waiting for a worker (TOTAL - RUNNING)
  WORKERS  workers that can run the function
${SERVERS_FLAG}
${CLIENT_SSL_USAGE}`,
  options: { servers: { type: "string" }, ...CLIENT_SSL_OPTIONS },
  async run(values) {
    let failed = 0;
    const tls = clientTlsFlags(values);
    for (const server of parseServers(str(values.servers))) {
      const address = formatAddress(server);
      const admin = new Admin(address, { tls });
      try {
        const rows = await admin.status();
        console.log(address);
        const table = [["FUNCTION", "TOTAL", "RUNNING", "WAITING", "WORKERS"]].concat(
          rows.map((r) => [
            r.function,
            String(r.total),
            String(r.running),
            String(Math.max(0, r.total - r.running)),
            String(r.workers),
          ]),
        );
        const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
        for (const row of table) console.log(`  ${row.map((cell, c) => cell.padEnd(widths[c]!)).join("  ")}`.trimEnd());
      } catch (error) {
        failed++;
        console.log(`${address}\n  unreachable: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        await admin.close();
      }
    }
    return failed > 0 ? 1 : 0;
  },
};
