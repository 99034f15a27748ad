/** `gearbun server`: the embedded job server until SIGINT/SIGTERM. */
import { SERVER_DEFAULTS } from "../options.ts";
import { startServer } from "../server/server.ts";
import { type Command, flagLine, intFlag, str, untilSignal } from "./args.ts";

export const server: Command = {
  usage: `Usage: gearbun server [--port ${SERVER_DEFAULTS.port}] [--host ${SERVER_DEFAULTS.host}] [--store FILE]

Runs an embedded job server that speaks gearmand's binary and admin protocols.
${flagLine("--port N", "port to listen on (0 picks a free one)", SERVER_DEFAULTS.port)}
${flagLine("--host H", "address to listen on", SERVER_DEFAULTS.host)}
${flagLine("--store FILE", "keep background jobs in this SQLite file, so they survive a restart")}`,
  options: { port: { type: "string" }, host: { type: "string" }, store: { type: "string" } },
  async run(values) {
    const server = await startServer({
      port: intFlag(values, "port", SERVER_DEFAULTS.port, 0),
      host: str(values.host) ?? SERVER_DEFAULTS.host,
      store: str(values.store),
    });
    console.log(`gearbun server listening on ${server.address} (pid ${process.pid})`);
    const signal = await untilSignal();
    console.log(`${signal}: stopping`);
    await server.stop();
    return 0;
  },
};
