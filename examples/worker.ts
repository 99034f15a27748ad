/**
 * A gearbun worker: reverses text, reports progress, stops gracefully on Ctrl-C / SIGTERM.
 *
 *   bun run examples/worker.ts                      # servers from GEARMAN_SERVERS, else 127.0.0.1:4730
 *   GEARMAN_SERVERS=127.0.0.1:4730,127.0.0.1:4731 bun run examples/worker.ts
 *
 * Try it with libgearman's CLI client:  gearman -f reverse -s "hello world"
 */
import { JobFailure, Worker } from "../src/index.ts";

const worker = new Worker({
  concurrency: 8, // jobs running at once in this process, across all servers
  clientId: `example-${process.pid}`, // shown by `gearadmin --workers`
});

// The result (a string or bytes) goes back with WORK_COMPLETE.
worker.register("reverse", (job) => job.text().split("").reverse().join(""));

// A slower job: progress and partial data reach the client; `signal` aborts at the timeout.
worker.register(
  "count",
  async (job) => {
    const n = Number(job.text()) || 5;
    if (n > 100) throw new JobFailure("too many"); // → WORK_FAIL (a plain `throw` → WORK_EXCEPTION)
    for (let i = 1; i <= n; i++) {
      if (job.signal.aborted) return;
      await Bun.sleep(100);
      await job.data(`${i}\n`); // waits if the socket is backed up
      await job.status(i, n);
    }
    return "done\n";
  },
  { timeout: 30_000 },
);

worker.on("connect", (e) => console.log(`registered on ${e.server}${e.reconnect ? " (reconnected)" : ""}`));
worker.on("disconnect", (e) => console.log(`lost ${e.server}: ${e.error.message}`));
worker.on("error", (e) => console.error(e.error.message));
worker.on("stopping", () => console.log("stopping: finishing running jobs…"));

worker.handleSignals(); // SIGINT / SIGTERM → graceful stop, then exit

try {
  await worker.start(); // resolves once registered on at least one server; the others keep being retried
  console.log(`worker ready (concurrency ${worker.concurrency}); Ctrl-C to stop`);
} catch (error) {
  console.error((error as Error).message); // e.g. NO_SERVERS: no job server could be reached: …
  process.exit(1);
}
