/**
 * The `gearbun top` view: servers (up, down since when, version) and functions summed over the
 * cluster with a per-server breakdown, as plain text. The view keeps the previous refresh to
 * show how fast each queue changes and since when a server is down; it never waits on a
 * server (polling has its own deadline, see admin/cluster.ts).
 *
 * CONNS is what the servers report: worker connections, summed over the servers — one worker
 * process registered on two servers counts twice.
 */
import { sumFunctions, type ServerSnapshot } from "../admin/cluster.ts";
import { fitTable } from "./table.ts";

const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 19);

export interface TopRenderOptions {
  /** Lines are cut to this many characters, columns dropped first. @default 80 */
  width?: number;
  /** Down servers in red, functions with waiting jobs and no worker in yellow (a terminal). @default false */
  color?: boolean;
}

const RED = "\x1b[31m";
const YELLOW = "\x1b[33m";
const RESET = "\x1b[0m";

export class TopView {
  private previous: { at: number; totals: Map<string, number> } | null = null;
  private readonly downSince = new Map<string, number>();

  /** Renders one refresh; `now` is the refresh time (ms since epoch). */
  render(snapshots: readonly ServerSnapshot[], now: number = Date.now(), options: TopRenderOptions = {}): string {
    const width = options.width ?? 80;
    const paint = (line: string, colour: string | null): string =>
      options.color === true && colour !== null ? `${colour}${line}${RESET}` : line;
    for (const s of snapshots) {
      if (s.up) this.downSince.delete(s.server);
      else if (!this.downSince.has(s.server)) this.downSince.set(s.server, now);
    }
    const up = snapshots.filter((s) => s.up).length;
    const title = `gearbun top - ${snapshots.length} server(s), ${up} up, ${snapshots.length - up} down - ${clock(now)} UTC`;
    const lines = [title.length <= width ? title : `${title.slice(0, width - 1)}…`, ""];
    const servers = fitTable(
      [
        ["SERVER", "STATE", "VERSION", "FUNCTIONS", "ANSWER"],
        ...snapshots.map((s) =>
          s.up
            ? [s.server, "up", s.version, String(s.status.length), `${Math.round(s.elapsedMs)} ms`]
            : [s.server, `down since ${clock(this.downSince.get(s.server)!)}`, "-", "-", s.error ?? "no answer"],
        ),
      ],
      [false, false, false, true, false],
      width,
      // The widest cell is a down server's error, the last column: cut it, keep the others.
      [],
    );
    lines.push(servers[0]!, ...snapshots.map((s, i) => paint(servers[i + 1]!, s.up ? null : RED)));
    lines.push("");
    const functions = sumFunctions(snapshots);
    const seconds = this.previous === null ? 0 : (now - this.previous.at) / 1000;
    const rows = functions.map((f) => {
      const before = this.previous?.totals.get(f.function);
      const rate = seconds > 0 && before !== undefined ? ((f.total - before) / seconds).toFixed(1) : "-";
      const perServer = [...f.servers].map(([server, r]) => `${server} ${r.total}/${r.running}/${r.workers}`);
      return [
        f.function,
        String(f.total),
        String(f.running),
        String(f.waiting),
        String(f.workers),
        rate,
        perServer.join("  "),
      ];
    });
    const table = fitTable(
      [["FUNCTION", "TOTAL", "RUNNING", "WAITING", "CONNS", "CHANGE/S", "PER SERVER total/running/conns"], ...rows],
      [false, true, true, true, true, true, false],
      width,
      [6, 5, 1],
    );
    lines.push(
      table[0]!,
      ...functions.map((f, i) => paint(table[i + 1]!, f.waiting > 0 && f.workers === 0 ? YELLOW : null)),
    );
    if (functions.length === 0) lines.push("(no functions)");
    this.previous = { at: now, totals: new Map(functions.map((f) => [f.function, f.total])) };
    return `${lines.join("\n")}\n`;
  }
}

/** Terminal control: alternate screen and hidden cursor while the live view runs. */
export const TERMINAL = {
  enter: "\x1b[?1049h\x1b[?25l",
  leave: "\x1b[?25h\x1b[?1049l",
  home: "\x1b[H\x1b[2J",
} as const;
