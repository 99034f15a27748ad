/** Nagios perfdata parsing for the monitor tests; `gearbun` as a user runs it comes from test/support. */
export { gearbun, gearbunDaemon, type Run } from "../support/processes.ts";

/** Parses Nagios perfdata: label → value, warn, crit, min (strings as written). */
export function parsePerfdata(output: string): Map<string, { value: string; rest: string[] }> {
  const bar = output.indexOf(" | ");
  const perf = new Map<string, { value: string; rest: string[] }>();
  if (bar < 0) return perf;
  const re = /'((?:[^']|'')+)'=(\S+)/g;
  for (let m = re.exec(output.slice(bar + 3)); m !== null; m = re.exec(output.slice(bar + 3))) {
    const [value, ...rest] = m[2]!.split(";");
    perf.set(m[1]!.replace(/''/g, "'"), { value: value!, rest });
  }
  return perf;
}
