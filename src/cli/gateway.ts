/** `gearbun gateway`: Gearman jobs over HTTP (src/gateway), with bearer tokens reloaded on SIGHUP. */
import { serveGateway } from "../gateway/serve.ts";
import { GATEWAY_DEFAULTS, GATEWAY_SERVE_DEFAULTS } from "../options.ts";
import { type Command, flagLine, intFlag, SERVERS_FLAG, str, UsageError, untilSignal } from "./args.ts";
import { CLIENT_SSL_OPTIONS, CLIENT_SSL_USAGE, clientTlsFlags } from "./client-tls.ts";

export const gateway: Command = {
  usage: `Usage: gearbun gateway [--servers LIST] [--listen ${GATEWAY_SERVE_DEFAULTS.listen}] [--token-file F] [--cert F --key F]

Runs Gearman jobs for HTTP clients: POST /jobs/FUNCTION (body = payload) answers the result;
with "Accept: text/event-stream" the job's status, data and warnings stream as server-sent
events; "Prefer: respond-async" submits in the background (202 + handle); GET /jobs/HANDLE is its
status; also /healthz, /metrics, /openapi.json. SIGHUP reads --token-file again.
Without a token source it listens on loopback only (unless --allow-unauthenticated).
${SERVERS_FLAG}
${flagLine("--listen HOST:PORT", "where to serve HTTP (port 0 picks a free one)", GATEWAY_SERVE_DEFAULTS.listen)}
${flagLine("--cert F", "HTTPS: the listener's certificate (PEM file; needs --key)")}
${flagLine("--key F", "its private key (PEM file)")}
${flagLine("--token-file F", "bearer tokens, one per line: TOKEN [FUNCTION,...]")}
${flagLine("--token-env NAME", "bearer tokens from this environment variable (same format)")}
${flagLine("--allow-unauthenticated", "serve beyond loopback without tokens")}
${flagLine("--base-path P", 'prefix of every route, e.g. "/api"', '""')}
${flagLine("--max-body BYTES", "largest payload (413 past it)", GATEWAY_DEFAULTS.maxBodyBytes)}
${flagLine("--max-in-flight N", "job requests at once (429 past it; 0: no cap)", GATEWAY_DEFAULTS.maxInFlight)}
${flagLine("--request-timeout MS", "longest a job request waits (504; 0: no limit)", GATEWAY_DEFAULTS.requestTimeout)}
${CLIENT_SSL_USAGE}`,
  options: {
    servers: { type: "string" },
    listen: { type: "string" },
    cert: { type: "string" },
    key: { type: "string" },
    "token-file": { type: "string" },
    "token-env": { type: "string" },
    "allow-unauthenticated": { type: "boolean" },
    "base-path": { type: "string" },
    "max-body": { type: "string" },
    "max-in-flight": { type: "string" },
    "request-timeout": { type: "string" },
    ...CLIENT_SSL_OPTIONS,
  },
  async run(values) {
    const tokenEnv = str(values["token-env"]);
    let tokens: string | undefined;
    if (tokenEnv !== undefined) {
      tokens = process.env[tokenEnv];
      if (tokens === undefined) throw new UsageError(`--token-env ${tokenEnv}: the variable is not set`);
    }
    const served = serveGateway({
      client: { servers: str(values.servers), tls: clientTlsFlags(values) },
      listen: str(values.listen),
      cert: str(values.cert),
      key: str(values.key),
      tokens,
      tokenFile: str(values["token-file"]),
      allowUnauthenticated: values["allow-unauthenticated"] === true,
      basePath: str(values["base-path"]),
      maxBodyBytes: intFlag(values, "max-body", GATEWAY_DEFAULTS.maxBodyBytes, 0),
      maxInFlight: intFlag(values, "max-in-flight", GATEWAY_DEFAULTS.maxInFlight, 0),
      requestTimeout: intFlag(values, "request-timeout", GATEWAY_DEFAULTS.requestTimeout, 0),
    });
    const g = served.gateway;
    const servers = g.client.servers().map((s) => s.server);
    const auth = g.authenticated ? `${g.tokenCount} tokens` : "no tokens";
    console.log(`gearbun gateway: ${served.url}${g.options.basePath}/jobs/ for ${servers.join(", ")} (${auth})`);
    const onHup = (): void => {
      try {
        console.log(`SIGHUP: ${g.reloadTokens()} tokens loaded`);
      } catch (error) {
        console.error(`SIGHUP: tokens not reloaded, the previous ones stay: ${(error as Error).message}`);
      }
    };
    process.on("SIGHUP", onHup);
    const signal = await untilSignal();
    process.off("SIGHUP", onHup);
    console.log(`${signal}: stopping`);
    await served.stop();
    return 0;
  },
};
