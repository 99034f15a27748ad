/**
 * `--exec-per-job NAME=CMD`: a shell-style handler, one process per job. The payload is the
 * command's stdin, its stdout the result; exit code 0 is success, anything else a failure whose
 * text is the last lines of its stderr (all of which also go to the log). The job's function,
 * handle, unique and attempt are in its environment. A job's abort (its timeout, the stop
 * deadline) kills the command: SIGTERM, SIGKILL after a grace.
 */
import { HandlerError } from "../errors.ts";
import type { Job, JobHandler } from "../worker/handler.ts";
import { KILL_GRACE_MS, killGroup } from "./handler-process.ts";

/** stderr lines quoted in a failure. */
const TAIL_LINES = 5;

/** The environment variables a per-job command gets about its job. */
export const PER_JOB_ENV = {
  function: "GEARMAN_FUNCTION",
  handle: "GEARMAN_HANDLE",
  unique: "GEARMAN_UNIQUE",
  attempt: "GEARMAN_ATTEMPT",
} as const;

/** The handler of function `name` that runs `command` with `/bin/sh -c` for each job. */
export function perJobHandler(name: string, command: string): JobHandler {
  return (job) => runOnce(name, command, job);
}

async function runOnce(name: string, command: string, job: Job): Promise<Uint8Array> {
  const signal = job.signal;
  if (signal.aborted) throw signal.reason;
  const proc = Bun.spawn(["/bin/sh", "-c", command], {
    stdin: job.payload,
    stdout: "pipe",
    stderr: "pipe",
    // A process group of its own: a kill reaches what the shell started too.
    detached: true,
    env: {
      ...process.env,
      [PER_JOB_ENV.function]: job.function,
      [PER_JOB_ENV.handle]: job.handle,
      [PER_JOB_ENV.unique]: job.unique,
      [PER_JOB_ENV.attempt]: String(job.attempt),
    },
  });
  let killTimer: ReturnType<typeof setTimeout> | null = null;
  const onAbort = (): void => {
    killGroup(proc, "SIGTERM");
    killTimer = setTimeout(() => killGroup(proc, "SIGKILL"), KILL_GRACE_MS);
  };
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const [out, err] = await Promise.all([
      new Response(proc.stdout).bytes(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    if (err !== "") process.stderr.write(err.endsWith("\n") ? err : `${err}\n`);
    if (signal.aborted) throw signal.reason;
    if (proc.exitCode === 0) return out;
    const how = proc.signalCode !== null ? `was killed (${proc.signalCode})` : `exited with code ${proc.exitCode}`;
    const tail = err.trim().split("\n").slice(-TAIL_LINES).join(" | ");
    throw new HandlerError("HANDLER_EXIT", `${name}: \`${command}\` ${how}${tail === "" ? "" : `: ${tail}`}`);
  } finally {
    signal.removeEventListener("abort", onAbort);
    if (killTimer !== null) clearTimeout(killTimer);
  }
}
