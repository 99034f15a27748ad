/**
 * GET /openapi.json: the gateway's routes, parameters, answers and error codes as an OpenAPI 3.1
 * document, built from the same tables the gateway answers with (the error codes and statuses
 * of errors.ts), so the two cannot drift apart.
 */
import { GATEWAY_CODES, LIBRARY_STATUS } from "./errors.ts";

type Json = Record<string, unknown>;

/** Every code a response with `status` can carry: the gateway's own, then the library's. */
function codesFor(status: number): string[] {
  const own = Object.entries(GATEWAY_CODES)
    .filter(([, s]) => s === status)
    .map(([c]) => c);
  const lib = Object.entries(LIBRARY_STATUS)
    .filter(([, s]) => s === status)
    .map(([c]) => c);
  return [...own, ...lib];
}

function errorResponse(status: number, description: string): Json {
  return {
    description: `${description} Codes: ${codesFor(status).join(", ")}.`,
    content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
  };
}

const headerParam = (name: string, description: string, schema: Json): Json => ({
  name,
  in: "header",
  required: false,
  description,
  schema,
});
const queryParam = (name: string, description: string, schema: Json): Json => ({
  name,
  in: "query",
  required: false,
  description,
  schema,
});

const NAME_PARAM: Json = {
  name: "name",
  in: "path",
  required: true,
  description: "The Gearman function (POST, events) or a job handle (GET).",
  schema: { type: "string" },
};

const JOB_PARAMS: Json[] = [
  NAME_PARAM,
  queryParam("unique", "Unique key: jobs with the same key are coalesced (or header Gearman-Unique).", {
    type: "string",
  }),
  queryParam("priority", "Or header Gearman-Priority.", {
    type: "string",
    enum: ["high", "normal", "low"],
    default: "normal",
  }),
  queryParam("timeout", "Milliseconds until 504 TIMEOUT, up to the gateway's limit (or header Gearman-Timeout).", {
    type: "integer",
    minimum: 1,
  }),
];

/** Errors every job route can answer. */
function jobErrors(authenticated: boolean): Json {
  const out: Json = {
    "400": errorResponse(400, "A bad parameter or function name."),
    "413": errorResponse(413, "The payload is over the limit."),
    "429": errorResponse(429, "Too many job requests in flight; see Retry-After."),
    "502": errorResponse(502, "The job failed or raised an exception, or the job server answered an error."),
    "503": errorResponse(503, "No job server could take the job."),
    "504": errorResponse(504, "No result within the timeout (a queued job is cancelled, a running one runs on)."),
  };
  if (authenticated) {
    out["401"] = errorResponse(401, "No bearer token, or one not configured.");
    out["403"] = errorResponse(403, "The token may not run this function.");
  }
  return out;
}

export function openApiDocument(basePath: string, authenticated: boolean): Json {
  const security = authenticated ? [{ bearer: [] }] : [];
  const stream = {
    description:
      "Server-sent events: created {handle}; status {numerator, denominator}; data and warning {data, encoding}; then one of complete {data, encoding}, fail, exception, timeout, error (an Error object).",
    content: { "text/event-stream": { schema: { type: "string" } } },
  };
  return {
    openapi: "3.1.0",
    info: {
      title: "gearbun gateway",
      version: "1",
      description:
        "Gearman jobs over HTTP. A job the HTTP client stops waiting for is not cancelled at once: once running it runs to its end and its result is dropped; still queued at its timeout, it is cancelled unless it has a unique key.",
    },
    servers: [{ url: basePath === "" ? "/" : basePath }],
    security,
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        Error: {
          type: "object",
          required: ["code", "message"],
          properties: {
            code: { type: "string", enum: [...Object.keys(GATEWAY_CODES), ...Object.keys(LIBRARY_STATUS)] },
            message: { type: "string" },
            handle: { type: "string" },
            detail: {
              type: "string",
              description:
                "The reason a failed job gave (the WORK_WARNING before its WORK_FAIL), or a WORK_EXCEPTION's text.",
            },
          },
        },
        JobStatus: {
          type: "object",
          properties: {
            handle: { type: "string" },
            known: { type: "boolean" },
            running: { type: "boolean" },
            numerator: { type: "integer" },
            denominator: { type: "integer" },
            server: { type: "string" },
          },
        },
      },
    },
    paths: {
      "/jobs/{name}": {
        post: {
          summary: "Run a job; the body is its payload.",
          parameters: [
            ...JOB_PARAMS,
            queryParam("background", "1: a background job (or header Prefer: respond-async).", { type: "string" }),
            headerParam("Accept", "text/event-stream: stream the job's events.", { type: "string" }),
          ],
          requestBody: { content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } } },
          responses: {
            "200": {
              description: "The result (WORK_COMPLETE data), or the event stream with Accept: text/event-stream.",
              headers: { "Gearman-Handle": { schema: { type: "string" } } },
              content: {
                "application/octet-stream": { schema: { type: "string", format: "binary" } },
                ...stream.content,
              },
            },
            "202": {
              description: "A background job was created.",
              headers: { Location: { schema: { type: "string" } } },
              content: {
                "application/json": { schema: { type: "object", properties: { handle: { type: "string" } } } },
              },
            },
            ...jobErrors(authenticated),
          },
        },
        get: {
          summary: "The status of a job (GET_STATUS); a job that ended is not known.",
          parameters: [NAME_PARAM],
          responses: {
            "200": {
              description: "Its status.",
              content: { "application/json": { schema: { $ref: "#/components/schemas/JobStatus" } } },
            },
            "503": errorResponse(503, "No job server could be asked."),
          },
        },
      },
      "/jobs/{name}/events": {
        get: {
          summary: "Run a job and stream its events (for EventSource, which can only GET).",
          parameters: [
            ...JOB_PARAMS,
            queryParam("payload", "The payload as text.", { type: "string" }),
            queryParam("access_token", "The bearer token, for clients that cannot send headers.", { type: "string" }),
          ],
          responses: {
            "200": stream,
            "204": { description: "A reconnect (Last-Event-ID): the job is not run again." },
            ...jobErrors(authenticated),
          },
        },
      },
      "/healthz": {
        get: {
          summary: "Whether a job server is connected.",
          security: [],
          responses: { "200": { description: "ok" }, "503": { description: "No job server is reachable." } },
        },
      },
      "/metrics": {
        get: {
          summary: "Prometheus exposition (text format 0.0.4).",
          responses: {
            "200": { description: "The metrics.", content: { "text/plain": { schema: { type: "string" } } } },
          },
        },
      },
      "/openapi.json": {
        get: { summary: "This document.", security: [], responses: { "200": { description: "OpenAPI 3.1." } } },
      },
    },
  };
}
