/**
 * The dashboard's pool panel: a `gearbun worker --metrics` endpoint read on each poll — its
 * /metrics (Prometheus text) and /healthz — turned into per-group processes and per-function
 * outcomes. Only the families the panel shows are read; the rest of the text is skipped.
 */

export interface PoolPanel {
  /** "http://host:port" of the pool's metrics endpoint. */
  url: string;
  up: boolean;
  /** /healthz's line ("ok: …" or "unhealthy: …"), or why the endpoint could not be read. */
  health: string;
  healthy: boolean;
  groups: { group: string; configured: number; registered: number; serving: number }[];
  functions: {
    function: string;
    complete: number;
    /** fail + exception + timeout */
    failed: number;
    lost: number;
    retries: number;
    deadLetters: number;
  }[];
}

/** "HOST:PORT" or a URL → the endpoint's base URL. */
export function poolUrl(address: string): string {
  const base = /^https?:\/\//.test(address) ? address : `http://${address}`;
  return base.replace(/\/(metrics)?$/, "");
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
const FAMILIES = new Set([
  "gearman_worker_jobs_total",
  "gearman_worker_retries_total",
  "gearman_worker_dead_letters_total",
  "gearman_worker_group_processes",
]);

/** The panel's numbers from the exposition text. */
export function readPoolMetrics(text: string): Pick<PoolPanel, "groups" | "functions"> {
  const fns = new Map<string, PoolPanel["functions"][number]>();
  const groups = new Map<string, PoolPanel["groups"][number]>();
  const fn = (name: string): PoolPanel["functions"][number] => {
    let f = fns.get(name);
    if (f === undefined) {
      f = { function: name, complete: 0, failed: 0, lost: 0, retries: 0, deadLetters: 0 };
      fns.set(name, f);
    }
    return f;
  };
  for (const line of text.split("\n")) {
    const m = LINE.exec(line);
    if (m === null || !FAMILIES.has(m[1]!)) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, "$1");
    const value = Number(m[3]);
    switch (m[1]) {
      case "gearman_worker_jobs_total": {
        const f = fn(labels.function ?? "");
        if (labels.outcome === "complete") f.complete += value;
        else if (labels.outcome === "lost") f.lost += value;
        else f.failed += value;
        break;
      }
      case "gearman_worker_retries_total":
        fn(labels.function ?? "").retries += value;
        break;
      case "gearman_worker_dead_letters_total":
        fn(labels.function ?? "").deadLetters += value;
        break;
      default: {
        const name = labels.group ?? "";
        const g = groups.get(name) ?? { group: name, configured: 0, registered: 0, serving: 0 };
        if (labels.state === "configured" || labels.state === "registered" || labels.state === "serving") {
          g[labels.state] = value;
        }
        groups.set(name, g);
      }
    }
  }
  const byName =
    <T>(key: (t: T) => string) =>
    (a: T, b: T) =>
      key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
  return {
    groups: [...groups.values()].sort(byName((g) => g.group)),
    functions: [...fns.values()].sort(byName((f) => f.function)),
  };
}

/** Reads the pool's endpoint; never throws (a pool that does not answer is `up: false`). */
export async function pollPool(url: string, timeoutMs: number): Promise<PoolPanel> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const [metrics, health] = await Promise.all([
      fetch(`${url}/metrics`, { signal }),
      fetch(`${url}/healthz`, { signal }),
    ]);
    if (!metrics.ok) throw new Error(`/metrics answered HTTP ${metrics.status}`);
    const line = (await health.text()).trim();
    return { url, up: true, health: line, healthy: health.ok, ...readPoolMetrics(await metrics.text()) };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { url, up: false, health: `cannot read ${url}: ${why}`, healthy: false, groups: [], functions: [] };
  }
}
