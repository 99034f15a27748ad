/**
 * The gateway on a listener of its own (`gearbun gateway`): Bun.serve over `createGateway`, HTTP
 * or HTTPS. With no token source it listens on loopback only, unless `allowUnauthenticated`:
 * anyone who reaches the port could run any job.
 */
import { readFileSync } from "node:fs";
import type { Server } from "bun";
import { ConfigError } from "../errors.ts";
import { parseListen } from "../metrics/http.ts";
import { type GatewayServeOptions, resolveGatewayServeOptions } from "../options.ts";
import { createGateway, type Gateway } from "./gateway.ts";

export interface GatewayServer extends AsyncDisposable {
  readonly gateway: Gateway;
  /** "host:port" actually listened on. */
  readonly address: string;
  readonly port: number;
  /** "http://host:port" or "https://host:port" */
  readonly url: string;
  /** Stops listening (requests in flight are cut) and closes the gateway's own Client. */
  stop(): Promise<void>;
}

/** 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function readPem(file: string, option: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(option, `cannot read ${file}: ${(error as Error).message}`);
  }
}

export function serveGateway(options: GatewayServeOptions = {}): GatewayServer {
  const s = resolveGatewayServeOptions(options);
  const at = parseListen(s.listen, "listen");
  const authenticated = options.tokens !== undefined || options.tokenFile !== undefined;
  if (!authenticated && !s.allowUnauthenticated && !isLoopback(at.host)) {
    throw new ConfigError(
      "listen",
      `refusing to serve jobs on ${s.listen} without bearer tokens: give tokenFile (--token-file) or tokens (--token-env), listen on 127.0.0.1, or set allowUnauthenticated (--allow-unauthenticated)`,
    );
  }
  const tls = s.tls === undefined ? undefined : { cert: readPem(s.tls.cert, "cert"), key: readPem(s.tls.key, "key") };
  const gateway = createGateway(options);
  let server: Server<undefined>;
  try {
    server = Bun.serve({
      hostname: at.host,
      port: at.port,
      tls,
      // Event streams send a comment every `heartbeat`; job requests lift the timeout themselves.
      idleTimeout: 30,
      fetch: (request, srv) => gateway.fetch(request, srv),
    });
  } catch (error) {
    void gateway.close();
    throw new ConfigError("listen", `cannot listen on ${s.listen}: ${(error as Error).message}`);
  }
  const port = server.port ?? at.port;
  const host = at.host.includes(":") ? `[${at.host}]` : at.host;
  const stop = async (): Promise<void> => {
    await server.stop(true);
    await gateway.close();
  };
  return {
    gateway,
    address: `${host}:${port}`,
    port,
    url: `${tls ? "https" : "http"}://${host}:${port}`,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
