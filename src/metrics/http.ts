/**
 * The HTTP side of a metrics endpoint (Bun.serve): GET /metrics answers the exposition,
 * GET /healthz answers 200 "ok" or 503 with a one-line reason. A collector that throws gives a
 * 500 with the reason, never a crashed process.
 */
import type { Server } from "bun";
import { ConfigError } from "../errors.ts";
import { CONTENT_TYPE } from "./exposition.ts";

export interface Health {
  readonly ok: boolean;
  /** One line: why it is not ok, or a short summary when it is. */
  readonly reason: string;
}

export interface HttpEndpointOptions {
  /** "host:port" to listen on; port 0 picks a free one. */
  listen: string;
  /** The option name shown in errors (e.g. "--metrics"). @default "listen" */
  option?: string;
  /** Builds the exposition text for one scrape. */
  metrics?: () => Promise<string> | string;
  health?: () => Promise<Health> | Health;
  /** Further routes: path → handler (the dashboard's page and data). */
  routes?: Record<string, (request: Request) => Response | Promise<Response>>;
}

export interface HttpEndpoint extends AsyncDisposable {
  /** "host:port" actually listened on. */
  readonly address: string;
  readonly port: number;
  /** "http://host:port" */
  readonly url: string;
  stop(): Promise<void>;
}

function text(body: string, status = 200, type = "text/plain; charset=utf-8"): Response {
  return new Response(body, { status, headers: { "content-type": type, "cache-control": "no-store" } });
}

function reason(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0]!;
}

/** "host:port" or "[v6]:port" to listen on; port 0 picks a free one. */
export function parseListen(text: string, option = "listen"): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(text.trim());
  const port = m === null ? Number.NaN : Number(m[3]);
  if (m === null || !Number.isInteger(port) || port > 65535) {
    throw new ConfigError(option, `expected HOST:PORT (port 0-65535; 0 picks a free one), got "${text}"`);
  }
  return { host: m[1] ?? m[2]!, port };
}

/** Listens for HTTP; resolves once it does. Throws ConfigError naming `option` when it cannot. */
export function serveHttp(options: HttpEndpointOptions): HttpEndpoint {
  const option = options.option ?? "listen";
  const at = parseListen(options.listen, option);
  const routes = options.routes ?? {};
  let server: Server<undefined>;
  try {
    server = Bun.serve({
      hostname: at.host,
      port: at.port,
      idleTimeout: 0,
      async fetch(request) {
        const path = new URL(request.url).pathname;
        try {
          if (path === "/metrics" && options.metrics !== undefined) {
            return text(await options.metrics(), 200, CONTENT_TYPE);
          }
          if (path === "/healthz") {
            const h = options.health === undefined ? { ok: true, reason: "ok" } : await options.health();
            return text(`${h.ok ? "ok" : "unhealthy"}: ${h.reason}\n`, h.ok ? 200 : 503);
          }
          const route = routes[path];
          if (route !== undefined) return await route(request);
          return text("not found\n", 404);
        } catch (error) {
          return text(`error: ${reason(error)}\n`, 500);
        }
      },
    });
  } catch (error) {
    throw new ConfigError(option, `cannot listen on ${options.listen}: ${reason(error)}`);
  }
  const port = server.port ?? at.port;
  const host = at.host.includes(":") ? `[${at.host}]` : at.host;
  return {
    address: `${host}:${port}`,
    port,
    url: `http://${host}:${port}`,
    stop: async () => {
      await server.stop(true);
    },
    [Symbol.asyncDispose]: async () => {
      await server.stop(true);
    },
  };
}
