// Shared by the npm-library echo peers (run under Node and under Bun): arguments, the job
// counter, and the report printed on SIGTERM/SIGINT: one JSON line {"jobs","cpu_us","maxrss_kb"}.
import net from "node:net";
import { parseArgs } from "node:util";

// Node leaves Nagle's algorithm on (Bun's sockets do not): a library that writes WORK_COMPLETE and
// GRAB_JOB separately then waits ~40 ms per job for the delayed ACK. That measures the kernel, not
// the library, so every socket these peers open gets TCP_NODELAY (each library's best case).
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  this.setNoDelay(true);
  return connect.apply(this, args);
};

/** `--servers h:p,h:p --fn echo --concurrency N` → { servers: [{ host, port }], fn, concurrency }. */
export function peerArgs() {
  const { values } = parseArgs({
    options: {
      servers: { type: "string", default: "127.0.0.1:4730" },
      fn: { type: "string", default: "echo" },
      concurrency: { type: "string", default: "1" },
    },
  });
  const servers = values.servers.split(",").map((s) => {
    const i = s.lastIndexOf(":");
    return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
  });
  const concurrency = Math.max(1, Number(values.concurrency) || 1);
  return { servers, fn: values.fn, concurrency };
}

export const counter = { jobs: 0 };

/** Prints the report and exits on SIGTERM/SIGINT; a fatal library error exits 1 with a message. */
export function reportOnExit(name) {
  let done = false;
  const finish = (code) => {
    if (done) return;
    done = true;
    const cpu = process.cpuUsage();
    const line = JSON.stringify({
      jobs: counter.jobs,
      cpu_us: cpu.user + cpu.system,
      maxrss_kb: Math.round(process.resourceUsage().maxRSS),
    });
    process.stdout.write(`${line}\n`, () => process.exit(code));
  };
  process.on("SIGTERM", () => finish(0));
  process.on("SIGINT", () => finish(0));
  process.on("uncaughtException", (error) => {
    process.stderr.write(`${name}: ${error?.stack ?? error}\n`);
    finish(1);
  });
}
