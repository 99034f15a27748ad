/**
 * Operators' tools the monitoring tests drive: promtool and Prometheus (Debian `prometheus`),
 * Chromium (Debian `chromium`), and a scene to look at: a worker holding jobs and a queue.
 *
 * A missing tool skips its tests with a warning, unless GEARBUN_REQUIRE_GEARMAND=1 (as in CI):
 * then it is a failure, like a missing gearmand.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Admin } from "../../src/admin/admin.ts";
import { Client } from "../../src/client/client.ts";
import { Worker } from "../../src/worker/worker.ts";
import { eventually } from "./eventually.ts";
import { freePort } from "./gearmand-process.ts";

const required = process.env.GEARBUN_REQUIRE_GEARMAND === "1";

function tool(names: readonly string[], pkg: string): string | null {
  for (const name of names) {
    const path = Bun.which(name) ?? Bun.which(name, { PATH: "/usr/bin:/usr/sbin:/usr/local/bin" });
    if (path !== null) return path;
  }
  if (required) throw new Error(`${names[0]} is not installed but GEARBUN_REQUIRE_GEARMAND=1: install ${pkg}`);
  console.warn(`SKIP: ${names[0]} not found; install the Debian package ${pkg} to run its tests`);
  return null;
}

export const promtoolPath = tool(["promtool"], "prometheus");
export const prometheusPath = tool(["prometheus"], "prometheus");
export const chromiumPath = tool(["chromium", "chromium-browser", "google-chrome"], "chromium");

/** `promtool check metrics` on `text`: exit code and what it printed (lint problems). */
export async function promtoolCheck(text: string): Promise<{ exitCode: number; output: string }> {
  const proc = Bun.spawn([promtoolPath!, "check", "metrics"], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  proc.stdin.write(text);
  await proc.stdin.end();
  const [out, err, exitCode] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { exitCode, output: (out + err).trim() };
}

/** One sample of a parsed exposition. */
export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses exposition text (enough of the format to read back what gearbun writes). */
export function parseExposition(text: string): { samples: ParsedSample[]; types: Map<string, string> } {
  const samples: ParsedSample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const typed = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (typed) types.set(typed[1]!, typed[2]!);
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    for (let l = re.exec(m[2] ?? ""); l !== null; l = re.exec(m[2] ?? "")) {
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    }
    const v = m[3]!;
    samples.push({ name: m[1]!, labels, value: v === "+Inf" ? Infinity : v === "-Inf" ? -Infinity : Number(v) });
  }
  return { samples, types };
}

/** The value of the one sample named `name` whose labels include `labels`, or undefined. */
export function sampleValue(
  samples: readonly ParsedSample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (hits.length > 1) throw new Error(`${hits.length} samples match ${name} ${JSON.stringify(labels)}`);
  return hits[0]?.value;
}

export interface Prometheus extends AsyncDisposable {
  readonly url: string;
  /** An instant query's vector result: labels and value of each series. */
  query(promql: string): Promise<{ metric: Record<string, string>; value: number }[]>;
}

/** A real Prometheus on a free port with a temp storage dir, scraping `targets` every second. */
export async function startPrometheus(targets: readonly string[]): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), "gearbun-prom-"));
  const config = join(dir, "prometheus.yml");
  writeFileSync(
    config,
    [
      "global:",
      "  scrape_interval: 1s",
      "  scrape_timeout: 900ms",
      "scrape_configs:",
      "  - job_name: gearbun",
      "    static_configs:",
      `      - targets: [${targets.map((t) => `"${t}"`).join(", ")}]`,
      "",
    ].join("\n"),
  );
  const port = freePort();
  const proc = Bun.spawn(
    [
      prometheusPath!,
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdout: "ignore", stderr: "pipe", stdin: "ignore" },
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await proc.exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await eventually(async () => (await fetch(`${url}/-/ready`)).ok, "prometheus ready", 20_000, 100);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    async query(promql) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await res.json()) as {
        status: string;
        data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
        error?: string;
      };
      if (body.status !== "success") throw new Error(`prometheus query ${promql}: ${body.error}`);
      return body.data!.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    [Symbol.asyncDispose]: stop,
  };
}

export interface Scene extends AsyncDisposable {
  /** Jobs the worker holds right now. */
  readonly held: number;
  /** Submits `n` more background jobs for `fn`. */
  submit(n: number): Promise<void>;
  /** Lets every held job complete, and later ones complete at once. */
  release(): void;
}

/**
 * A job server in a known state: a worker (client id "ops-worker") that can do `fn` and holds
 * each job it takes (concurrency `hold`), and `queued` background jobs submitted. Resolves once
 * admin `status` shows them: total `queued`, running min(hold, queued), 1 worker.
 */
export async function startScene(address: string, fn: string, queued: number, hold = 1): Promise<Scene> {
  const gates: (() => void)[] = [];
  let released = false;
  const worker = new Worker({ servers: address, concurrency: hold, clientId: "ops-worker" });
  worker.register(fn, async () => {
    if (released) return "done";
    const { promise, resolve } = Promise.withResolvers<void>();
    gates.push(resolve);
    await promise;
    return "done";
  });
  await worker.start();
  const client = new Client({ servers: address });
  const submit = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) await client.submitBackground(fn, `job ${i}`);
  };
  await submit(queued);
  await using admin = new Admin(address);
  await eventually(
    async () => {
      const row = (await admin.status()).find((r) => r.function === fn);
      return row && row.total === queued && row.running === Math.min(hold, queued) && row.workers === 1;
    },
    "scene in admin status",
    15_000,
    100,
  );
  return {
    get held() {
      return gates.length;
    },
    submit,
    release() {
      released = true;
      for (const open of gates.splice(0)) open();
    },
    async [Symbol.asyncDispose]() {
      released = true;
      for (const open of gates.splice(0)) open();
      await client.close();
      await worker.stop({ deadline: 2000 }).catch(() => {});
    },
  };
}
