/**
 * CPU time and resident memory of a handler process, from /proc (Linux): a Bun child reports
 * its handler processes' with its own (per-child metrics, --max-memory).
 */
import { readFileSync } from "node:fs";

/** USER_HZ: the unit of /proc/PID/stat's CPU times on Linux. */
const CLOCK_TICKS = 100;
/** Bytes per page of /proc/PID/stat's rss field (x86-64 and arm64 defaults). */
const PAGE_BYTES = 4096;

export interface Usage {
  cpuSeconds: number;
  /** Resident memory, bytes. */
  rss: number;
}

/** The process's usage now, or null when it is gone (or there is no /proc). */
export function processUsage(pid: number): Usage | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // After the command name in parentheses: field 3 (state) first; utime 14, stime 15, rss 24.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { cpuSeconds: (Number(f[11]) + Number(f[12])) / CLOCK_TICKS, rss: Number(f[21]) * PAGE_BYTES };
  } catch {
    return null;
  }
}
