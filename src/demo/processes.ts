/**
 * Demo worker processes: spawned with `Bun.spawn`, watched through the lines they print
 * ("ready", "holding"), driven through stdin ("release"), stopped by PID.
 */

export interface SpawnOptions {
  /** The worker script (worker-process.ts or naive-worker-process.ts). */
  script: string;
  servers: string[];
  workMs: number;
  /** The function the jobs are submitted to. */
  functionName: string;
  /** This worker also registers the held-job function (see hold.ts). */
  holdFunction?: string;
}

export class WorkerProcess {
  readonly id: string;
  readonly proc: ReturnType<typeof Bun.spawn>;
  private readonly lines: string[] = [];
  private waiter: (() => void) | null = null;
  private ended = false;

  constructor(id: string, options: SpawnOptions) {
    this.id = id;
    const args = [options.servers.join(","), id, String(options.workMs), options.functionName];
    if (options.holdFunction !== undefined) args.push(options.holdFunction);
    this.proc = Bun.spawn([process.execPath, options.script, ...args], {
      stdout: "pipe",
      stderr: "inherit",
      stdin: options.holdFunction === undefined ? "ignore" : "pipe",
    });
    void this.read();
  }

  /** Waits until the process has printed `want` (on a line of its own) since the last wait for it. */
  async waitFor(want: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.lines.indexOf(want);
      if (i >= 0) {
        this.lines.splice(0, i + 1);
        return;
      }
      if (this.ended) throw new Error(`worker ${this.id} exited before printing "${want}"`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`worker ${this.id} did not print "${want}" within ${timeoutMs} ms`);
      const { promise, resolve } = Promise.withResolvers<void>();
      this.waiter = resolve;
      const timer = setTimeout(resolve, left);
      await promise;
      clearTimeout(timer);
    }
  }

  /** Ends the held job (see hold.ts). */
  release(): void {
    const stdin = this.proc.stdin;
    if (stdin === undefined || typeof stdin === "number") throw new Error(`worker ${this.id} holds no job`);
    stdin.write("release\n");
    void stdin.flush();
  }

  /** SIGTERM, then SIGKILL if it is still running after 3 s. */
  async stop(): Promise<void> {
    this.proc.kill("SIGTERM");
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), 3000);
    await this.proc.exited;
    clearTimeout(timer);
  }

  private async read(): Promise<void> {
    const stdout = this.proc.stdout;
    if (!(stdout instanceof ReadableStream)) return;
    const decoder = new TextDecoder();
    let text = "";
    try {
      for await (const chunk of stdout) {
        text += decoder.decode(chunk, { stream: true });
        const parts = text.split("\n");
        text = parts.pop() ?? "";
        this.lines.push(...parts.map((l) => l.trim()));
        this.waiter?.();
      }
    } finally {
      this.ended = true;
      this.waiter?.();
    }
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
