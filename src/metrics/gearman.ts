/**
 * The job-server families under the names the community gearman exporter established, so
 * existing Grafana dashboards read them unchanged: gearman_up, gearman_version_info{version},
 * gearman_jobs / gearman_jobs_running / gearman_jobs_waiting / gearman_workers {function}.
 * An exporter over several servers adds a `server` label to every sample.
 */
import type { ServerSnapshot } from "../admin/cluster.ts";
import type { Exposition, Labels, Sample } from "./exposition.ts";

/** Appends the gearman_* families for `snapshots`; `serverLabel` adds server="host:port". */
export function writeGearmanMetrics(out: Exposition, snapshots: readonly ServerSnapshot[], serverLabel: boolean): void {
  const at = (snap: ServerSnapshot, labels: Record<string, string> = {}): Labels =>
    serverLabel ? { server: snap.server, ...labels } : labels;
  const up: Sample[] = [];
  const version: Sample[] = [];
  const jobs: Sample[] = [];
  const running: Sample[] = [];
  const waiting: Sample[] = [];
  const workers: Sample[] = [];
  const duration: Sample[] = [];
  for (const snap of snapshots) {
    up.push({ labels: at(snap), value: snap.up ? 1 : 0 });
    duration.push({ labels: at(snap), value: snap.elapsedMs / 1000 });
    if (!snap.up) continue;
    version.push({ labels: at(snap, { version: snap.version }), value: 1 });
    for (const row of snap.status) {
      const labels = at(snap, { function: row.function });
      jobs.push({ labels, value: row.total });
      running.push({ labels, value: row.running });
      waiting.push({ labels, value: Math.max(0, row.total - row.running) });
      workers.push({ labels, value: row.workers });
    }
  }
  out.gauge("gearman_up", "1 when the job server answered the admin status and version commands.", up);
  out.gauge("gearman_version_info", "The job server's version (value 1).", version);
  out.gauge("gearman_jobs", "Jobs queued or running, per function.", jobs);
  out.gauge("gearman_jobs_running", "Jobs running, per function.", running);
  out.gauge("gearman_jobs_waiting", "Jobs waiting for a worker (queued minus running), per function.", waiting);
  out.gauge("gearman_workers", "Workers that can do the function.", workers);
  if (serverLabel) {
    out.gauge("gearman_scrape_duration_seconds", "Seconds the admin poll of the server took.", duration);
  }
}
