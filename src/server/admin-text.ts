/**
 * The admin text protocol of the embedded server: one command per line on the Gearman port,
 * replies formatted as gearmand 1.1 formats them (libgearman-server text.cc), so `gearadmin`
 * and existing monitoring read them. Checked line by line against gearmand 1.1.20 in
 * test/server/admin.test.ts.
 *
 * Strings here are latin1 ("binary") strings: one char per byte, so names round-trip.
 */
import type { JobQueues } from "./queues.ts";
import { type Job, Priority } from "./records.ts";

/** What the admin commands need from the server. */
export interface AdminContext {
  readonly queues: JobQueues;
  /** Live connections in connection order: id, peer address, client id, functions. */
  connections(): Iterable<{ id: number; ip: string; clientId: string; functions: string[] }>;
  /** `cancel job` of a job that exists: its clients get WORK_FAIL and it will not run. */
  cancel(job: Job): void;
  readonly version: string;
  readonly verbose: string;
}

const INCOMPLETE = "ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+";

/** Non-negative atoi, as gearmand reads maxqueue sizes. */
function count(text: string | undefined): number {
  const n = Number.parseInt(text ?? "", 10);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/**
 * Names, uniques and client ids come from peers and may hold any byte: control characters
 * (a line end or NUL would break the reply's framing) are shown as \xNN. gearmand prints them raw.
 */
function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** gearmand lists functions (and unique jobs) newest first. */
function newestFirst<T>(items: Iterable<T>): T[] {
  return [...items].reverse();
}

/** Runs one admin line; returns the reply, every line ending in "\n". */
export function runAdminCommand(ctx: AdminContext, line: string): string {
  const words = line.split(" ").filter((w) => w !== "");
  const command = (words[0] ?? "").toLowerCase();
  const q = ctx.queues;
  switch (command) {
    case "status": {
      let out = "";
      for (const fn of newestFirst(q.functions.values()))
        out += `${printable(fn.name)}\t${fn.total}\t${fn.running}\t${fn.workers.length}\n`;
      return `${out}.\n`;
    }
    case "prioritystatus": {
      let out = "";
      for (const fn of newestFirst(q.functions.values())) {
        out += `${printable(fn.name)}\t${fn.queued(Priority.HIGH)}\t${fn.queued(Priority.NORMAL)}\t${fn.queued(Priority.LOW)}\t${fn.workers.length}\n`;
      }
      return `${out}.\n`;
    }
    case "workers": {
      let out = "";
      for (const c of ctx.connections()) {
        out += `${c.id} ${c.ip} ${printable(c.clientId)} :`;
        // gearmand lists a connection's functions newest first
        for (let i = c.functions.length - 1; i >= 0; i--) out += ` ${printable(c.functions[i]!)}`;
        out += "\n";
      }
      return `${out}.\n`;
    }
    case "version":
      return `OK ${ctx.version}\n`;
    case "getpid":
      return `OK ${process.pid}\n`;
    case "verbose":
      return `OK ${ctx.verbose}\n`;
    case "maxqueue": {
      if (words.length < 2) return `${INCOMPLETE}maxqueue\n`;
      const fn = q.functions.get(words[1]!);
      if (fn !== undefined) {
        // maxqueue F → unlimited; maxqueue F N → N for all; maxqueue F H N L → per priority
        const sizes: [number, number, number] = [count(words[2]), count(words[3]), count(words[4])];
        fn.maxQueue = words.length <= 3 ? [sizes[0], sizes[0], sizes[0]] : sizes;
      }
      return "OK\n";
    }
    case "show": {
      const what = (words[1] ?? "").toLowerCase();
      if (words.length === 1) return "ERR UNKNOWN_COMMAND Unknown+server+commandshow\n";
      if (what === "jobs") {
        let out = "";
        for (const job of q.jobs.values()) {
          out += `${job.handle}\t${job.retries}\t${job.ignored ? 1 : 0}\t${job.background && !job.ignored ? 1 : 0}\n`;
        }
        return `${out}.\n`;
      }
      if (what === "unique" && (words[2] ?? "").toLowerCase() === "jobs") {
        let out = "";
        for (const job of newestFirst(q.jobs.values())) out += `${printable(job.unique)}\n`;
        return `${out}.\n`;
      }
      return "ERR UNKNOWN_SHOW_ARGUMENTS\n";
    }
    case "cancel": {
      if ((words[1] ?? "").toLowerCase() !== "job" || words.length < 3) {
        return "ERR UNKNOWN_COMMAND Unknown+server+commandcancel\n";
      }
      if (words.length > 3) return "ERR UNKNOWN_ERROR\n";
      const job = q.jobs.get(words[2]!);
      if (job === undefined) return "ERR UNKNOWN_JOB\n";
      ctx.cancel(job);
      return "OK\n";
    }
    case "create": {
      if ((words[1] ?? "").toLowerCase() !== "function") return "ERR UNKNOWN_COMMAND Unknown+server+commandcreate\n";
      if (words.length < 3) return `${INCOMPLETE}create\n`;
      q.fn(words[2]!);
      return "OK\n";
    }
    case "drop": {
      if ((words[1] ?? "").toLowerCase() !== "function") return "ERR UNKNOWN_COMMAND Unknown+server+commanddrop\n";
      if (words.length < 3) return `${INCOMPLETE}drop\n`;
      const result = q.dropFunction(words[2]!);
      if (result === "missing") return "ERR function not found\n";
      if (result === "busy") return "ERR there are still connected workers or executing clients\n";
      return "OK\n";
    }
    default:
      return `ERR UNKNOWN_COMMAND Unknown+server+command${words[0] ?? ""}\n`;
  }
}
