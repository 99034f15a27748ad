/**
 * Demo worker processes: spawned with `Bun.spawn`, watched through the lines they print
 * ("ready", "holding"), driven through stdin ("release"), stopped by PID.
 */
import { spawnLines, type LineProcess } from "../util/lines.ts";

export interface SpawnOptions {
  /** The worker script (worker-process.ts or naive-worker-process.ts). */
  script: string;
  servers: string[];
  workMs: number;
  /** The function the jobs are submitted to. */
  functionName: string;
  /** This worker also registers the held-job function (see hold.ts). */
  holdFunction?: string;
  /** The process's environment (e.g. TLS files in libgearman's variables). @default inherited */
  env?: Record<string, string | undefined>;
}

export class WorkerProcess {
  readonly id: string;
  private readonly child: LineProcess;

  constructor(id: string, options: SpawnOptions) {
    this.id = id;
    const args = [options.servers.join(","), id, String(options.workMs), options.functionName];
    if (options.holdFunction !== undefined) args.push(options.holdFunction);
    this.child = spawnLines([process.execPath, options.script, ...args], {
      name: `worker ${id}`,
      stdin: options.holdFunction === undefined ? "ignore" : "pipe",
      ...(options.env === undefined ? {} : { env: options.env }),
    });
  }

  /** Waits until the process has printed `want` (on a line of its own) since the last wait for it. */
  async waitFor(want: string, timeoutMs: number): Promise<void> {
    await this.child.nextLine((line) => line.trim() === want, `"${want}"`, timeoutMs);
  }

  /** Ends the held job (see hold.ts). */
  release(): void {
    this.child.write("release\n");
  }

  /** SIGTERM, then SIGKILL if it is still running after 3 s. */
  async stop(): Promise<void> {
    await this.child.stop(3000);
  }
}

export function spawnWorkers(count: number, options: SpawnOptions, holder?: string): WorkerProcess[] {
  return Array.from({ length: count }, (_, i) => {
    const id = `W${i + 1}`;
    return new WorkerProcess(id, { ...options, holdFunction: id === holder ? options.holdFunction : undefined });
  });
}

export async function stopWorkers(workers: WorkerProcess[]): Promise<void> {
  await Promise.all(workers.map((w) => w.stop()));
}
