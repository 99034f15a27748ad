/**
 * The benchmark's tables as data (title, header, rows of cells) and their two renderings: aligned
 * text for the terminal and Markdown for bench/RESULTS.md. One builder per section of the bench.
 */
import type { CodecFigure } from "./codec.bench.ts";
import { serverRefCells } from "./server-ref.ts";
import { CLIENT_WORKER_PROCS } from "./cases.ts";
import type { Row } from "./rows.ts";

export const KiB = 1024;
export const MiB = 1024 * 1024;

export const int = (n: number): string => Math.round(n).toLocaleString("en");
export const num = (n: number | undefined, digits = 1): string =>
  n === undefined || !Number.isFinite(n) ? "–" : n >= 100 ? int(n) : n.toFixed(digits);
export const ratio = (n: number | undefined): string =>
  n === undefined || !Number.isFinite(n) ? "–" : `${n.toFixed(2)}×`;
export const mib = (kb: number | undefined): string =>
  kb === undefined || kb === 0 ? "–" : `${(kb / 1024).toFixed(1)} MiB`;

/** jobs/s (median), min – max, its ratio, CPU µs per job, its ratio: the cells every table shares. */
function figureCells(r: Row): string[] {
  const ok = r.jobsPerSecond !== undefined;
  return [
    ok ? int(r.jobsPerSecond!.median) : r.status,
    ok ? `${int(r.jobsPerSecond!.min)} – ${int(r.jobsPerSecond!.max)}` : "–",
    ratio(r.ratio?.jobsPerSecond),
    num(r.cpuUsPerJob),
    ratio(r.ratio?.cpu),
  ];
}

/** The workers' user / kernel CPU per job, or "–". */
const userSys = (r: Row): string =>
  r.workerUserUsPerJob === undefined ? "–" : `${num(r.workerUserUsPerJob)} / ${num(r.workerSysUsPerJob)}`;

/** "; --pin <describe()>" of a table's rows (each distinct one), or nothing when none says. */
function pinTitle(list: readonly Row[]): string {
  const pins = [...new Set(list.map((r) => r.pin).filter((p) => p !== undefined))];
  return pins.length > 0 ? `; --pin ${pins.join(" / ")}` : "";
}

export interface Table {
  title: string;
  header: string[];
  rows: string[][];
}

export function workerTables(rows: readonly Row[]): Table[] {
  const tables: Table[] = [];
  const byCase = groupBy(
    rows.filter((r) => r.section === "worker"),
    (r) => r.caseId,
  );
  for (const [, list] of byCase) {
    const first = list[0]!;
    const large = first.bytes >= 64 * KiB;
    const header = [
      "peer",
      "jobs/run",
      "jobs/s (median)",
      "min – max",
      "× C",
      "worker CPU µs/job",
      "× C",
      "worker user/sys µs/job",
    ];
    if (large) header.push("worker CPU ms/MiB");
    header.push("worker peak RSS", "server CPU µs/job", "server cores", "note");
    const body = list.map((r) => {
      const cells = [r.label, int(r.jobs), ...figureCells(r), userSys(r)];
      if (large)
        cells.push(r.workerCpuUsPerJob === undefined ? "–" : (r.workerCpuUsPerJob / (r.bytes / MiB) / 1000).toFixed(2));
      cells.push(mib(r.workerPeakRssKb), num(r.serverCpuUsPerJob), num(r.serverCores, 2), r.note ?? "");
      return cells;
    });
    tables.push({ title: `${first.caseId}: ${first.caseTitle}${pinTitle(list)}`, header, rows: body });
  }
  return tables;
}

export function clientTable(rows: readonly Row[]): Table | null {
  const list = rows.filter((r) => r.section === "client");
  if (list.length === 0) return null;
  return {
    title:
      `Clients as the load generator (same ${CLIENT_WORKER_PROCS} libgearman C worker processes, 1 gearmand, 16 B jobs; ` +
      `the Bun clients run as many jobs before their clock starts)${pinTitle(list)}`,
    header: [
      "case",
      "client",
      "jobs/run",
      "per second (median)",
      "min – max",
      "× libgearman",
      "client CPU µs/job",
      "× libgearman",
      "C workers CPU µs/job",
      "note",
    ],
    rows: list.map((r) => {
      return [r.caseTitle, r.label, int(r.jobs), ...figureCells(r), num(r.workerCpuUsPerJob), r.note ?? ""];
    }),
  };
}

/** bench/burst.ts's rows: a bulk enqueue's time and memory, libgearman the baseline of the ratios. */
export function burstTable(rows: readonly Row[]): Table | null {
  const list = rows.filter((r) => r.section === "burst");
  if (list.length === 0) return null;
  return {
    title: `Client burst: ${list[0]!.caseTitle}`,
    header: [
      "client",
      "submits",
      "seconds (median)",
      "submits/s",
      "min – max",
      "× libgearman",
      "client CPU µs/submit",
      "× libgearman",
      "peak RSS MiB",
      "RSS at start MiB",
      "RSS B/pending submit",
      "peak RSS B/submit",
      "note",
    ],
    rows: list.map((r) => [
      r.label,
      int(r.jobs),
      num(r.burstSeconds?.median, 2),
      ...figureCells(r).slice(0, 1),
      r.burstSeconds === undefined ? "–" : `${r.burstSeconds.min.toFixed(2)} – ${r.burstSeconds.max.toFixed(2)} s`,
      ...figureCells(r).slice(2),
      mib(r.clientPeakRssKb),
      mib(r.clientStartRssKb),
      r.pendingRssBytesPerSubmit === undefined ? "–" : int(r.pendingRssBytesPerSubmit),
      r.peakRssBytesPerSubmit === undefined ? "–" : int(r.peakRssBytesPerSubmit),
      r.note ?? "",
    ]),
  };
}

/** bench/gray.ts's rows: a frozen server's cost to the healthy one, worker and client. */
export function grayTables(rows: readonly Row[]): Table[] {
  const workers = rows.filter((r) => r.section === "gray" && r.caseId === "gray-worker");
  const clients = rows.filter((r) => r.section === "gray" && r.caseId === "gray-client");
  const out: Table[] = [];
  if (workers.length > 0) {
    out.push({
      title: `Gray failure, ${workers[0]!.caseTitle}`,
      header: [
        "worker",
        "before",
        "worst second",
        "mean",
        "after",
        "longest gap ms",
        "frozen one serves after",
        "note",
      ],
      rows: workers.map((r) => {
        const g = r.gray;
        return g === undefined
          ? [r.label, r.status, "–", "–", "–", "–", "–", r.note ?? ""]
          : [
              r.label,
              num(g.before),
              num(g.duringMin),
              num(g.duringMean),
              num(g.after),
              int(g.longestGapMs),
              g.resumedServes ? "yes" : "no",
              r.note ?? "",
            ];
      }),
    });
  }
  if (clients.length > 0) {
    out.push({
      title: `Gray failure, ${clients[0]!.caseTitle}`,
      header: ["client", "submits", "failed", "p50 ms", "p99 ms", "max ms", "note"],
      rows: clients.map((r) => {
        const g = r.grayClient;
        return g === undefined
          ? [r.label, r.status, "–", "–", "–", "–", r.note ?? ""]
          : [r.label, int(g.submits), int(g.failed), num(g.p50), num(g.p99), num(g.max), r.note ?? ""];
      }),
    });
  }
  return out;
}

/** bench/pool.ts's rows: one table, each case's first row the baseline of the ratios. */
export function poolTable(rows: readonly Row[]): Table | null {
  const list = rows.filter((r) => r.section === "pool");
  if (list.length === 0) return null;
  return {
    title: "Worker pool (gearbun worker): background queue drained, 1 gearmand",
    header: [
      "case",
      "workers",
      "jobs/run",
      "jobs/s (median)",
      "min – max",
      "× first row",
      "CPU µs/job (all processes)",
      "× first row",
      "supervisor CPU µs/job",
      "server CPU µs/job",
      "note",
    ],
    rows: list.map((r) => {
      return [
        r.caseId,
        r.label,
        int(r.jobs),
        ...figureCells(r),
        num(r.supervisorCpuUsPerJob, 2),
        num(r.serverCpuUsPerJob),
        r.note ?? "",
      ];
    }),
  };
}

/** bench/tls.ts's rows: plaintext, then TLS with its ratios to plaintext. */
export function tlsTable(rows: readonly Row[]): Table | null {
  const list = rows.filter((r) => r.section === "tls");
  if (list.length === 0) return null;
  return {
    title: `TLS against plaintext: ${list[0]!.caseTitle}`,
    header: [
      "row",
      "jobs/run",
      "jobs/s (median)",
      "min – max",
      "× plaintext",
      "worker+client CPU µs/job",
      "× plaintext",
      "server CPU µs/job",
    ],
    rows: list.map((r) => [r.label, int(r.jobs), ...figureCells(r), num(r.serverCpuUsPerJob)]),
  };
}

/** bench/idle.ts's rows: each process's CPU over the same idle seconds, the Bun floor the baseline. */
export function idleTable(rows: readonly Row[]): Table | null {
  const list = rows.filter((r) => r.section === "idle");
  if (list.length === 0) return null;
  return {
    title: `Idle: ${list[0]!.caseTitle}`,
    header: ["process", "seconds", "CPU ms (median)", "CPU µs per second", "× Bun floor", "note"],
    rows: list.map((r) => [
      r.label,
      String(r.idleSeconds ?? ""),
      num(r.idleCpuMs),
      r.idleCpuMs === undefined || !r.idleSeconds ? "–" : num((r.idleCpuMs * 1000) / r.idleSeconds),
      ratio(r.ratio?.cpu),
      r.note ?? "",
    ]),
  };
}

/** bench/gateway.ts's rows: the HTTP floor, the direct Client and the gateway, at each concurrency. */
export function gatewayTable(rows: readonly Row[]): Table | null {
  const list = rows.filter((r) => r.section === "gateway");
  if (list.length === 0) return null;
  return {
    title: `HTTP gateway: ${list[0]!.caseTitle}`,
    header: [
      "row",
      "concurrent",
      "requests/run",
      "req/s (median)",
      "min – max",
      "p50 ms",
      "p99 ms",
      "subject CPU µs/req",
      "worker CPU µs/req",
      "server CPU µs/req",
    ],
    rows: list.map((r) => [
      r.label,
      String(r.concurrency ?? ""),
      int(r.jobs),
      int(r.jobsPerSecond!.median),
      `${int(r.jobsPerSecond!.min)} – ${int(r.jobsPerSecond!.max)}`,
      num(r.latencyMs?.p50, 2),
      num(r.latencyMs?.p99, 2),
      num(r.cpuUsPerJob),
      r.workerCpuUsPerJob === undefined ? "–" : num(r.workerCpuUsPerJob),
      r.serverCpuUsPerJob === undefined ? "–" : num(r.serverCpuUsPerJob),
    ]),
  };
}

/** bench/server-ref.ts's rows: gearmand --threads 1 (the reference), default gearmand, the embedded server, the Bun floor. */
export function serverTable(rows: readonly Row[]): Table | null {
  if (!rows.some((r) => r.section === "server")) return null;
  const cells = serverRefCells(rows);
  return { title: "Job servers side by side: 16 B foreground, 1,000 in flight, 1 worker process", ...cells };
}

/** bench/scale.ts's rows: one table per axis, packets per job by type in each direction. */
export function scaleTables(rows: readonly Row[]): Table[] {
  const list = rows.filter((r) => r.section === "scale");
  const short = (counts: Record<string, number> | undefined): string =>
    counts === undefined
      ? "–"
      : Object.entries(counts)
          .filter(([, n]) => n >= 0.005)
          .sort((a, b) => b[1] - a[1])
          .map(([name, n]) => `${name} ${n.toFixed(2)}`)
          .join(", ");
  const tables: Table[] = [];
  for (const [axis, title] of [
    ["servers", "One worker process on many servers (16 B foreground, 1,000 in flight, round-robin)"],
    ["workers", "Many worker processes on one gearmand --threads 1 (16 B foreground, one job at a time)"],
  ] as const) {
    const part = list.filter((r) => r.caseId.startsWith(`${axis}-`));
    if (part.length === 0) continue;
    tables.push({
      title: `${title}${pinTitle(part)}`,
      header: [
        "case",
        "peer",
        "jobs/run",
        "jobs/s (median)",
        "min – max",
        "× C",
        "workers CPU µs/job",
        "× C",
        "workers user/sys µs/job",
        "of which JIT µs/job",
        "server CPU µs/job",
        "packets/job received",
        "packets/job sent",
        "note",
      ],
      rows: part.map((r) => [
        r.caseId,
        r.label,
        int(r.jobs),
        ...figureCells(r),
        userSys(r),
        num(r.workerJitUsPerJob),
        num(r.serverCpuUsPerJob),
        short(r.packetsPerJob?.received),
        short(r.packetsPerJob?.sent),
        r.note ?? "",
      ]),
    });
  }
  return tables;
}

export function codecTable(figures: readonly CodecFigure[]): Table | null {
  if (figures.length === 0) return null;
  return {
    title: "Codec micro-benchmarks (mitata, bench/codec.bench.ts)",
    header: ["benchmark", "packets/s", "MB/s"],
    rows: figures.map((f) => [f.name, int(f.packetsPerSecond), f.megabytesPerSecond.toFixed(1)]),
  };
}

export function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = m.get(k);
    if (list) list.push(it);
    else m.set(k, [it]);
  }
  return m;
}

const NUMERIC = /^[\d,.–× %/-]+(µs|MiB|×)?$|^[\d.]+ MiB$/;

export function textTable(t: Table): string {
  const widths = t.header.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (NUMERIC.test(c) && i > 0 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [t.title, line(t.header), widths.map((w) => "-".repeat(w)).join("  "), ...t.rows.map(line)].join("\n");
}

export function markdownTable(t: Table): string {
  const esc = (s: string): string => s.replaceAll("|", "\\|");
  const align = t.header.map((_, i) =>
    i === 0 ||
    t.header[i] === "peer" ||
    t.header[i] === "client" ||
    t.header[i] === "note" ||
    t.header[i] === "case" ||
    t.header[i] === "benchmark"
      ? "---"
      : "---:",
  );
  return [
    `| ${t.header.map(esc).join(" | ")} |`,
    `| ${align.join(" | ")} |`,
    ...t.rows.map((r) => `| ${r.map(esc).join(" | ")} |`),
  ].join("\n");
}
