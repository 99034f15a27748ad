/**
 * A job's events as a server-sent event stream (text/event-stream): `created` with the handle,
 * then `status`, `data` and `warning` in the order the worker sent them, then one terminal event
 * — `complete` with the result, `fail`, `exception`, `timeout`, or `error` (the connection to
 * the job server was lost…) — and the stream ends. Each event has an `id`; the data is JSON.
 * Bytes are sent as UTF-8 text when they are valid UTF-8, else base64 (`encoding` says which).
 *
 * When the HTTP client goes away the stream stops reading the task's events and says so through
 * `onEnd("abandoned")`. The job is not cancelled then — Gearman cannot stop a running job: one a
 * worker took runs to its end and its result is dropped; one still queued when its timeout
 * passes is given up by the Client (cancelled on its server unless it has a unique key).
 */
import type { Task, TaskEvent } from "../client/task.ts";
import { errorBody } from "./errors.ts";

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

export const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-store",
  "x-accel-buffering": "no",
} as const;

/** Bytes as JSON-friendly text. */
export function encodeBytes(data: Uint8Array): { data: string; encoding: "utf8" | "base64" } {
  try {
    return { data: fatalUtf8.decode(data), encoding: "utf8" };
  } catch {
    return { data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64"), encoding: "base64" };
  }
}

/** One event block; JSON has no raw line ends, so one `data:` line is enough. */
export function sseEvent(id: number, event: string, data: unknown): string {
  return `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The name and JSON of one task event. */
export function taskEvent(event: TaskEvent): [string, unknown] {
  switch (event.type) {
    case "status":
      return ["status", { numerator: event.numerator, denominator: event.denominator }];
    case "data":
    case "warning":
    case "complete":
      return [event.type, encodeBytes(event.data)];
    case "fail":
    case "exception":
      return [event.type, errorBody(event.error)];
  }
}

export type StreamEnd = "done" | "abandoned";

export interface EventStreamOptions {
  readonly task: Task;
  /** `task.events()`, taken right after the submit so nothing is missed. */
  readonly events: AsyncIterableIterator<TaskEvent>;
  readonly handle: string;
  /** Milliseconds between comment lines while nothing else is sent. */
  readonly heartbeat: number;
  /** Aborts when the HTTP client goes away. */
  readonly signal: AbortSignal;
  onEnd(end: StreamEnd): void;
}

export function eventStream(o: EventStreamOptions): ReadableStream<Uint8Array> {
  let id = 0;
  let ended = false;
  let timer: ReturnType<typeof setInterval> | null = null;
  const finish = (end: StreamEnd): void => {
    if (ended) return;
    ended = true;
    if (timer !== null) clearInterval(timer);
    o.signal.removeEventListener("abort", abandon);
    if (end === "abandoned") void o.events.return?.();
    o.onEnd(end);
  };
  const abandon = (): void => finish("abandoned");
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (text: string): void => {
        if (!ended) controller.enqueue(encoder.encode(text));
      };
      o.signal.addEventListener("abort", abandon);
      timer = setInterval(() => send(": keep-alive\n\n"), o.heartbeat);
      send(`retry: 86400000\n${sseEvent(++id, "created", { handle: o.handle })}`);
      void (async () => {
        try {
          for await (const event of o.events) {
            const [name, data] = taskEvent(event);
            send(sseEvent(++id, name, data));
          }
        } catch (error) {
          const body = errorBody(error);
          send(sseEvent(++id, body.code === "TIMEOUT" ? "timeout" : "error", body));
        }
        if (ended) return;
        finish("done");
        controller.close();
      })();
    },
    cancel() {
      abandon();
    },
  });
}
