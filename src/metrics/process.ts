/**
 * The standard `process_*` metrics every Prometheus client library exports, so the usual
 * process dashboards work: CPU seconds, resident memory, start time, and open file descriptors
 * where /proc exists.
 */
import { readdirSync } from "node:fs";
import type { Exposition } from "./exposition.ts";

/** Seconds since the epoch when this process started (stable across scrapes). */
const START_TIME_SECONDS = Math.round((Date.now() / 1000 - process.uptime()) * 1000) / 1000;

function openFds(): number | null {
  try {
    return readdirSync("/proc/self/fd").length;
  } catch {
    return null; // not Linux, or /proc not mounted
  }
}

/** Appends the process families to `out`. */
export function writeProcessMetrics(out: Exposition): void {
  const cpu = process.cpuUsage();
  out.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", [
    { value: (cpu.user + cpu.system) / 1e6 },
  ]);
  out.gauge("process_resident_memory_bytes", "Resident memory size in bytes.", [{ value: process.memoryUsage.rss() }]);
  out.gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", [
    { value: START_TIME_SECONDS },
  ]);
  const fds = openFds();
  if (fds !== null) out.gauge("process_open_fds", "Number of open file descriptors.", [{ value: fds }]);
}
