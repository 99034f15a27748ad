/** Runs `gearbun …` as a user does (a real process) and collects its exit code and output. */
import { join } from "node:path";

const MAIN = join(import.meta.dir, "../../src/cli/main.ts");

export interface Run {
  code: number;
  out: string;
  err: string;
}

export async function gearbun(args: string[], timeoutMs = 20_000): Promise<Run> {
  const proc = Bun.spawn([process.execPath, MAIN, ...args], {
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
    env: { ...process.env, GEARMAN_SERVERS: "" },
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { code, out, err };
}

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

/** A long-running `gearbun …`: waits for stdout to match `ready`; stop() sends SIGINT and returns the exit code. */
export async function gearbunDaemon(
  args: string[],
  ready: RegExp,
): Promise<{ match: RegExpMatchArray; output(): string; errors(): string; stop(): Promise<number> } & AsyncDisposable> {
  const proc = Bun.spawn([process.execPath, MAIN, ...args], {
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
    env: { ...process.env, GEARMAN_SERVERS: "" },
  });
  let text = "";
  let errors = "";
  const stderr = new Response(proc.stderr).text().then((t) => {
    errors = t;
  });
  const { promise: matched, resolve } = Promise.withResolvers<RegExpMatchArray | null>();
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true });
      const m = text.match(ready);
      if (m) resolve(m);
    }
    resolve(null);
  })();
  const timer = setTimeout(() => resolve(null), 15_000);
  const match = await matched;
  clearTimeout(timer);
  const stop = async (): Promise<number> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGINT");
      const kill = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await proc.exited;
      clearTimeout(kill);
    }
    await stderr;
    return proc.exitCode ?? -1;
  };
  if (match === null) {
    await stop();
    throw new Error(`gearbun ${args.join(" ")} did not print ${ready}: ${JSON.stringify(text)} ${errors}`);
  }
  return {
    match,
    output: () => text,
    errors: () => errors,
    stop,
    [Symbol.asyncDispose]: async () => void (await stop()),
  };
}
