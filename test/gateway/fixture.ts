/**
 * A gateway in front of a live job server (gearbun's embedded one in this process, or gearmand;
 * port 0) with
 * a gearbun Worker that knows the functions the gateway tests call:
 *
 *   echo      the payload back
 *   progress  WORK_STATUS i/n, WORK_DATA "part i", a WORK_WARNING half way, for n = payload
 *   fail      JobFailure → WORK_FAIL
 *   throw     a plain throw (the exception's text reaches the caller)
 *   hold      waits until `release()`; records each job it took in `held`, and in `finished` once done
 */
import { serveGateway, type GatewayServer } from "../../src/gateway/serve.ts";
import type { GatewayServeOptions } from "../../src/options.ts";
import { JobFailure } from "../../src/worker/job.ts";
import { Worker } from "../../src/worker/worker.ts";
import { startTarget, type Target, type TargetName } from "../support/targets.ts";

export interface Scene extends AsyncDisposable {
  readonly target: Target;
  readonly worker: Worker;
  readonly served: GatewayServer;
  /** "http://127.0.0.1:PORT" */
  readonly url: string;
  /** Payloads of the `hold` jobs taken so far, and of those that ended. */
  readonly held: string[];
  readonly finished: string[];
  /** Lets every held job (and later ones) end. */
  release(): void;
}

export async function startScene(options: GatewayServeOptions = {}, server: TargetName = "embedded"): Promise<Scene> {
  const target = await startTarget(server);
  const worker = new Worker({ servers: target.address, concurrency: 8 });
  const held: string[] = [];
  const finished: string[] = [];
  const gate = Promise.withResolvers<void>();
  worker.register("echo", (job) => job.payload);
  worker.register("progress", async (job) => {
    const n = Number(job.text()) || 3;
    for (let i = 1; i <= n; i++) {
      await job.status(i, n);
      await job.data(`part ${i}`);
      if (i === Math.ceil(n / 2)) await job.warning(`half way`);
      await Bun.sleep(20);
    }
    return `done ${n}`;
  });
  worker.register("fail", () => {
    throw new JobFailure("no can do");
  });
  worker.register("throw", () => {
    throw new Error("kaboom");
  });
  worker.register("hold", async (job) => {
    held.push(job.text());
    await job.status(1, 2);
    await gate.promise;
    finished.push(job.text());
    return `released ${job.text()}`;
  });
  await worker.start();
  let served: GatewayServer;
  try {
    served = serveGateway({ listen: "127.0.0.1:0", client: { servers: target.address }, ...options });
  } catch (error) {
    await worker.stop();
    await target.stop();
    throw error;
  }
  return {
    target,
    worker,
    served,
    url: served.url,
    held,
    finished,
    release: () => gate.resolve(),
    async [Symbol.asyncDispose]() {
      gate.resolve();
      await served.stop();
      await worker.stop();
      await target.stop();
    },
  };
}

/** The named samples of an exposition: `name{labels} value` → value. */
export function metric(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) {
    const at = line.lastIndexOf(" ");
    if (at > 0 && line.slice(0, at) === series) return Number(line.slice(at + 1));
  }
  return undefined;
}

/** One parsed server-sent event. */
export interface SseEvent {
  event: string;
  id: string;
  data: unknown;
}

/** Parses a text/event-stream body (comments and `retry:` skipped). */
export function parseSse(text: string): SseEvent[] {
  const out: SseEvent[] = [];
  for (const block of text.split("\n\n")) {
    const fields = new Map<string, string>();
    for (const line of block.split("\n")) {
      const m = /^(\w+): ?(.*)$/.exec(line);
      if (m !== null) fields.set(m[1]!, m[2]!);
    }
    if (fields.has("event")) {
      out.push({ event: fields.get("event")!, id: fields.get("id") ?? "", data: JSON.parse(fields.get("data")!) });
    }
  }
  return out;
}
