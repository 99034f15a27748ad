/**
 * The HTTP gateway: Gearman jobs from any HTTP client, built on a Client.
 *
 *   const gateway = createGateway({ client: { servers: "127.0.0.1:4730" } });
 *   Bun.serve({ fetch: gateway.fetch });
 *   // curl -d hello http://127.0.0.1:3000/jobs/reverse
 *
 * Routes (under `basePath`):
 *   POST /jobs/:function          run a job; 200 with the result bytes, or a JSON error
 *        Prefer: respond-async    (or ?background=1) a background job: 202, its handle, Location
 *        Accept: text/event-stream  the job's events as they come, then one terminal event
 *   GET  /jobs/:function/events   the same stream for EventSource (payload in ?payload=)
 *   GET  /jobs/:handle            GET_STATUS: known, running, numerator, denominator
 *   GET  /healthz                 200 while a job server is connected, else 503
 *   GET  /metrics                 Prometheus exposition
 *   GET  /openapi.json            this API as an OpenAPI 3.1 document
 * errors.ts says which status each error gets; request.ts which parameters are taken.
 */
import type { Server } from "bun";
import { Client } from "../client/client.ts";
import { CONTENT_TYPE } from "../metrics/exposition.ts";
import { type GatewayOptions, type ResolvedGatewayOptions, resolveGatewayOptions } from "../options.ts";
import { errorBody, failure, refuse } from "./errors.ts";
import { GatewayMetrics, type RouteName } from "./metrics.ts";
import { openApiDocument } from "./openapi.ts";
import { BadRequest, type JobRequest, jobRequest, pathSegment, readBody } from "./request.ts";
import { eventStream, SSE_HEADERS } from "./sse.ts";
import { TurnBatch } from "./batch.ts";
import { allows, bearerToken, loadTokens, matchToken, type TokenEntry } from "./tokens.ts";

export interface Gateway extends AsyncDisposable {
  /** Answers one request; give it to Bun.serve, or call it from a route of your own. */
  readonly fetch: (request: Request, server?: Server<undefined>) => Promise<Response>;
  readonly client: Client;
  readonly options: ResolvedGatewayOptions;
  /** Whether requests need a bearer token (a token source is configured). */
  readonly authenticated: boolean;
  /** Tokens loaded now (0 with authentication off). */
  readonly tokenCount: number;
  /** Reads the token sources again; on an error the tokens in use stay and the error is thrown. */
  reloadTokens(): number;
  /** The exposition GET /metrics answers. */
  metricsText(): string;
  /** Closes the Client if the gateway made it. */
  close(): Promise<void>;
}

const HEALTH_WAIT_MS = 1000;

/** What a request's URL is read for: its path as sent (not normalised) and its query. */
interface SplitUrl {
  readonly pathname: string;
  readonly searchParams: URLSearchParams;
}

const NO_QUERY = new URLSearchParams();

/** Splits an absolute request URL without a URL object per request (most have no query). */
function splitUrl(raw: string): SplitUrl {
  const start = raw.indexOf("/", raw.indexOf("//") + 2);
  if (start < 0) return { pathname: "/", searchParams: NO_QUERY };
  const q = raw.indexOf("?", start);
  if (q < 0) return { pathname: raw.slice(start), searchParams: NO_QUERY };
  return { pathname: raw.slice(start, q), searchParams: new URLSearchParams(raw.slice(q + 1)) };
}

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers: { "cache-control": "no-store", ...headers } });
}

/** Splits "/jobs/a/events" into its route; null for a path the gateway does not serve. */
function route(path: string): { name: RouteName; arg: string } | null {
  if (path === "/healthz") return { name: "healthz", arg: "" };
  if (path === "/metrics") return { name: "metrics", arg: "" };
  if (path === "/openapi.json") return { name: "openapi", arg: "" };
  const m = /^\/jobs\/([^/]+)(\/events)?$/.exec(path);
  if (m === null) return null;
  return { name: m[2] === undefined ? "job" : "events", arg: m[1]! };
}

const METHODS: Record<RouteName, readonly string[]> = {
  job: ["POST", "GET"],
  events: ["GET"],
  status: ["GET"],
  healthz: ["GET", "HEAD"],
  metrics: ["GET", "HEAD"],
  openapi: ["GET", "HEAD"],
  none: [],
};

export function createGateway(options: GatewayOptions = {}): Gateway {
  const o = resolveGatewayOptions(options);
  const owned = !(options.client instanceof Client);
  const client = options.client instanceof Client ? options.client : new Client(options.client ?? {});
  const metrics = new GatewayMetrics();
  const batch = new TurnBatch();
  const authenticated = o.tokens !== undefined || o.tokenFile !== undefined;
  let tokens: readonly TokenEntry[] = [];
  const reloadTokens = (): number => {
    try {
      tokens = loadTokens(o);
    } catch (error) {
      metrics.reloads.error++;
      throw error;
    }
    metrics.reloads.ok++;
    metrics.tokens = tokens.length;
    return tokens.length;
  };
  if (authenticated) {
    try {
      reloadTokens();
    } catch (error) {
      if (owned) void client.close();
      throw error;
    }
    metrics.reloads.ok = 0;
  }

  /** The refusal for a request without a usable token, or null when it may go on. */
  const authorize = (request: Request, url: SplitUrl, fn: string | null): Response | null => {
    if (!authenticated) return null;
    const token = bearerToken(request.headers.get("authorization")) ?? url.searchParams.get("access_token");
    if (token === null) {
      return refuse("UNAUTHORIZED", "a bearer token is required (Authorization: Bearer TOKEN)", {
        "www-authenticate": 'Bearer realm="gearbun"',
      });
    }
    const entry = matchToken(tokens, token);
    if (entry === null) {
      return refuse("UNAUTHORIZED", "the bearer token is not valid", {
        "www-authenticate": 'Bearer realm="gearbun", error="invalid_token"',
      });
    }
    if (fn !== null && !allows(entry, fn)) return refuse("FORBIDDEN", `this token may not run function "${fn}"`);
    return null;
  };

  const health = async (): Promise<Response> => {
    const ready = (): boolean => client.servers().some((s) => s.state === "ready");
    if (!ready()) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const bound = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, HEALTH_WAIT_MS);
      });
      await Promise.race([client.connect().catch(() => {}), bound]);
      clearTimeout(timer);
    }
    const servers = client.servers().map((s) => ({
      server: s.server,
      state: s.state,
      error: s.lastError === null ? null : s.lastError.message,
    }));
    const ok = ready();
    return json(
      ok ? { status: "ok", servers } : { status: "unavailable", code: "NO_SERVERS", servers },
      ok ? 200 : 503,
    );
  };

  const status = async (handle: string): Promise<Response> => {
    try {
      const s = await client.status(handle);
      return json({
        handle: s.handle,
        known: s.known,
        running: s.running,
        numerator: s.numerator,
        denominator: s.denominator,
        server: s.server,
      });
    } catch (error) {
      return failure(error);
    }
  };

  /** Runs one job request: a result, a handle, or an event stream. */
  const job = async (
    request: Request,
    server: Server<undefined> | undefined,
    req: JobRequest,
    payload: Uint8Array | string | null,
    started: number,
    record: (status: number) => void,
  ): Promise<Response> => {
    if (o.maxInFlight > 0 && metrics.inFlight >= o.maxInFlight) {
      return refuse("TOO_MANY_REQUESTS", `${o.maxInFlight} job requests in flight already (maxInFlight)`, {
        "retry-after": String(o.retryAfter),
      });
    }
    metrics.inFlight++;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      metrics.inFlight--;
    };
    try {
      const body = payload ?? (await readBody(request, o.maxBodyBytes));
      if (body === null) {
        release();
        return refuse("BODY_TOO_LARGE", `the body is over ${o.maxBodyBytes} bytes (maxBodyBytes)`);
      }
      const submit = { unique: req.unique, priority: req.priority, timeout: req.timeout || o.requestTimeout };
      if (req.background) {
        const handle = await client.submitBackground(req.function, body, submit);
        release();
        return json({ handle }, 202, { location: `${o.basePath}/jobs/${encodeURIComponent(handle)}` });
      }
      // The job's own timeout bounds this request: Bun's idle timeout must not cut it short.
      server?.timeout(request, 0);
      // With other requests in flight, submits wait for the end of this turn of the event loop:
      // the requests that arrived together then leave in one write to the job server (measured
      // at 64 concurrent requests: about half the gateway's and the job server's CPU per job).
      if (metrics.inFlight > 1) await batch.turn();
      const task = client.submit(req.function, body, submit);
      if (!req.stream) {
        let result: Uint8Array;
        try {
          result = await task;
        } finally {
          release();
        }
        return new Response(result, {
          headers: {
            "content-type": "application/octet-stream",
            "cache-control": "no-store",
            "gearman-handle": task.handleNow ?? "",
          },
        });
      }
      task.then(release, release);
      const events = task.events();
      let handle: string;
      try {
        handle = await task.handle;
      } catch (error) {
        await events.return?.();
        throw error;
      }
      record(200);
      const stream = eventStream({
        task,
        events,
        handle,
        heartbeat: o.heartbeat,
        signal: request.signal,
        onEnd: (end) => {
          if (end === "abandoned") metrics.streamsAbandoned++;
          metrics.observe(req.function, (performance.now() - started) / 1000);
        },
      });
      return new Response(stream, { headers: SSE_HEADERS });
    } catch (error) {
      release();
      return failure(error);
    }
  };

  const fetch = async (request: Request, server?: Server<undefined>): Promise<Response> => {
    const started = performance.now();
    const url = splitUrl(request.url);
    let path = url.pathname;
    if (o.basePath !== "") {
      path = path.startsWith(`${o.basePath}/`) ? path.slice(o.basePath.length) : "";
    }
    const r = route(path);
    let name: RouteName = r?.name ?? "none";
    let fn = "";
    let recorded = false;
    const record = (status: number): void => {
      if (recorded) return;
      recorded = true;
      metrics.request(name, fn, status);
    };
    const answer = (response: Response): Response => {
      record(response.status);
      return response;
    };
    try {
      if (r === null) return answer(refuse("NOT_FOUND", `no route for ${request.method} ${url.pathname}`));
      if (!METHODS[r.name].includes(request.method)) {
        return answer(
          refuse("METHOD_NOT_ALLOWED", `${request.method} is not allowed on ${url.pathname}`, {
            allow: METHODS[r.name].join(", "),
          }),
        );
      }
      if (name === "healthz") return answer(await health());
      if (name === "openapi") return answer(json(openApiDocument(o.basePath, authenticated)));
      if (name === "metrics") {
        const denied = authorize(request, url, null);
        if (denied !== null) return answer(denied);
        return answer(new Response(metrics.text(), { headers: { "content-type": CONTENT_TYPE } }));
      }
      if (name === "job" && request.method === "GET") {
        name = "status";
        const handle = pathSegment(r.arg, "job handle");
        const denied = authorize(request, url, null);
        return answer(denied ?? (await status(handle)));
      }
      fn = pathSegment(r.arg, "function name");
      const denied = authorize(request, url, fn);
      if (denied !== null) return answer(denied);
      const req = jobRequest(fn, url.searchParams, request.headers, o.requestTimeout);
      let payload: string | null = null;
      if (name === "events") {
        // EventSource reconnects after the stream ends; a reconnect must not run the job again.
        if (request.headers.get("last-event-id") !== null) return answer(new Response(null, { status: 204 }));
        if (req.background) throw new BadRequest("the events route streams a foreground job: drop background");
        payload = url.searchParams.get("payload") ?? "";
        if (Buffer.byteLength(payload) > o.maxBodyBytes) {
          return answer(refuse("BODY_TOO_LARGE", `the payload is over ${o.maxBodyBytes} bytes (maxBodyBytes)`));
        }
      } else if (url.searchParams.has("payload")) {
        throw new BadRequest("POST takes its payload as the body, not ?payload=");
      }
      const stream = name === "events" ? { ...req, stream: true } : req;
      const response = await job(request, server, stream, payload, started, record);
      if (response.status !== 200 || !stream.stream) {
        metrics.observe(fn, (performance.now() - started) / 1000);
      }
      return answer(response);
    } catch (error) {
      if (error instanceof BadRequest) return answer(refuse("BAD_REQUEST", error.message));
      const body = errorBody(error);
      return answer(refuse("INTERNAL", body.message));
    }
  };

  const close = async (): Promise<void> => {
    if (owned) await client.close();
  };
  return {
    fetch,
    client,
    options: o,
    authenticated,
    get tokenCount() {
      return tokens.length;
    },
    reloadTokens,
    metricsText: () => metrics.text(),
    close,
    [Symbol.asyncDispose]: close,
  };
}
