/**
 * What a job request asks for, read from its path, query and headers and checked: a refusal
 * here is a 400 that names the parameter, never an exception page. The body is read with a
 * running count and abandoned as soon as it passes the limit.
 */
import type { Priority } from "../options.ts";

/** Query parameters a job request may carry; anything else is a 400. */
const JOB_PARAMS = new Set(["unique", "priority", "timeout", "background", "payload", "access_token"]);

/** Longest function name or unique key taken (gearmand keeps 64 for names, 64 for uniques). */
export const MAX_NAME_BYTES = 255;

export interface JobRequest {
  readonly function: string;
  readonly unique: string;
  readonly priority: Priority;
  /** Milliseconds; 0: the gateway's requestTimeout. */
  readonly timeout: number;
  readonly background: boolean;
  readonly stream: boolean;
}

/** A parameter that could not be taken: the 400's message. */
export class BadRequest extends Error {}

/** Decodes one path segment; a bad escape is a BadRequest. */
export function pathSegment(raw: string, what: string): string {
  let text = raw;
  if (raw.includes("%")) {
    try {
      text = decodeURIComponent(raw);
    } catch {
      throw new BadRequest(`${what} is not valid percent-encoding: "${raw}"`);
    }
  }
  checkName(text, what);
  return text;
}

function checkName(text: string, what: string): void {
  if (text === "") throw new BadRequest(`${what} is empty`);
  // NUL separates packet arguments; other control characters have no place in a name either.
  if (/[\x00-\x1f\x7f]/.test(text)) throw new BadRequest(`${what} contains a control character`);
  if (Buffer.byteLength(text) > MAX_NAME_BYTES) throw new BadRequest(`${what} is over ${MAX_NAME_BYTES} bytes`);
}

const HEADER: Record<string, string> = {
  unique: "gearman-unique",
  priority: "gearman-priority",
  timeout: "gearman-timeout",
};

/** One value from the query or else a header (`Gearman-Unique`…); both given and different is a 400. */
function param(query: URLSearchParams, headers: Headers, name: string): string | null {
  let value: string | null = null;
  if (query.size > 0) {
    const all = query.getAll(name);
    if (all.length > 1) throw new BadRequest(`query parameter ${name} given ${all.length} times`);
    value = all[0] ?? null;
  }
  const header = headers.get(HEADER[name]!);
  if (value !== null && header !== null && value !== header) {
    throw new BadRequest(`${name} given as query parameter ("${value}") and Gearman-${name} header ("${header}")`);
  }
  return value ?? header;
}

function flag(value: string | null, name: string): boolean {
  if (value === null || value === "0" || value === "false") return false;
  if (value === "" || value === "1" || value === "true") return true;
  throw new BadRequest(`${name} must be 1, 0, true or false, got "${value}"`);
}

/** Reads a job request's parameters; `stream` from Accept, `background` from Prefer or the query. */
export function jobRequest(fn: string, query: URLSearchParams, headers: Headers, maxTimeout: number): JobRequest {
  for (const key of query.keys()) {
    if (!JOB_PARAMS.has(key)) {
      throw new BadRequest(`unknown query parameter "${key}" (known: ${[...JOB_PARAMS].join(", ")})`);
    }
  }
  const unique = param(query, headers, "unique") ?? "";
  if (unique !== "") checkName(unique, "unique");
  const priority = param(query, headers, "priority") ?? "normal";
  if (priority !== "high" && priority !== "normal" && priority !== "low") {
    throw new BadRequest(`priority must be high, normal or low, got "${priority}"`);
  }
  const rawTimeout = param(query, headers, "timeout");
  let timeout = 0;
  if (rawTimeout !== null) {
    timeout = /^[0-9]{1,10}$/.test(rawTimeout) ? Number(rawTimeout) : Number.NaN;
    if (!(timeout > 0)) throw new BadRequest(`timeout must be a whole number of milliseconds > 0, got "${rawTimeout}"`);
    if (maxTimeout > 0 && timeout > maxTimeout) {
      throw new BadRequest(`timeout ${timeout} is over this gateway's limit of ${maxTimeout} ms (requestTimeout)`);
    }
  }
  const prefer = headers.get("prefer") ?? "";
  const background = flag(query.get("background"), "background") || /(^|[,;\s])respond-async($|[,;\s])/i.test(prefer);
  const stream = (headers.get("accept") ?? "").toLowerCase().includes("text/event-stream");
  if (background && stream) throw new BadRequest("a background job has no event stream: ask for one or the other");
  return { function: fn, unique, priority, timeout, background, stream };
}

/**
 * The body, or null when it is over `limit` bytes (a declared Content-Length over it is refused
 * before a byte is read).
 */
export async function readBody(request: Request, limit: number): Promise<Uint8Array | null> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) return null;
  // A declared length is the length Bun reads: take it whole (a stream reader costs far more per
  // request); only a chunked body is counted as it comes.
  if (declared !== null) return new Uint8Array(await request.arrayBuffer());
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
