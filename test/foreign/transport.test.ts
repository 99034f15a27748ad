/**
 * Foreign handlers - transport: the adapters' frames travel on an inherited socket, so whatever
 * a handler writes to its stdout is log and never a frame; an `--exec` command speaks stdio and
 * is not told of a socket; and handler processes started and stopped leave no file descriptor
 * behind in the Bun process.
 */
import { expect, test } from "bun:test";
import { readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { HANDLER_FD_ENV } from "../../src/foreign/channel.ts";
import { type HandlerCommand, HandlerProcess } from "../../src/foreign/handler-process.ts";
import { execCommand, foreignCommand } from "../../src/foreign/loader.ts";
import { HandlerSet } from "../../src/foreign/supervisor.ts";
import type { Job } from "../../src/worker/handler.ts";
import { eventually } from "../support/eventually.ts";
import { FIXTURES, FOREIGN_ENV } from "./helpers.ts";

const utf8 = new TextDecoder();

/** A job as a handler process takes it: what the frames carry, and a signal nobody aborts. */
function job(fn: string, payload: string): Job {
  const bytes = new TextEncoder().encode(payload);
  return {
    handle: "H:test:1",
    function: fn,
    payload: bytes,
    server: "127.0.0.1:0",
    startedAt: Date.now(),
    attempt: 1,
    unique: "",
    reducer: "",
    text: () => payload,
    json: <T>() => JSON.parse(payload) as T,
    signal: new AbortController().signal,
    active: true,
    data: async () => true,
    warning: async () => true,
    status: async () => true,
    fail: () => {
      throw new Error("not used");
    },
  };
}

async function runOne(
  command: HandlerCommand,
  fn: string,
  payload: string,
): Promise<{ result: string; output: string }> {
  const proc = new HandlerProcess(command);
  try {
    await proc.ready;
    const result = utf8.decode(await proc.run(job(fn, payload)));
    return { result, output: proc.stderrTail() };
  } finally {
    proc.close();
    await proc.exited;
  }
}

for (const file of ["printing.py", "printing.php"]) {
  test(`transport - ${file}: what a handler writes to its stdout is logged and never read as a frame`, async () => {
    const command = await foreignCommand(join(FIXTURES, file), FOREIGN_ENV);
    expect(command.transport).toBe("socket");
    const proc = new HandlerProcess(command);
    try {
      expect(await proc.ready).toEqual(["noisy", "env"]);
      // The variable is for the adapter: what the handlers start does not inherit it.
      expect(utf8.decode(await proc.run(job("env", "")))).toBe("unset");
      for (const payload of ["abc", "second job"]) {
        expect(utf8.decode(await proc.run(job("noisy", payload)))).toBe([...payload].reverse().join(""));
      }
      expect(proc.state).toBe("idle");
      expect(proc.killed).toBe(false);
      // The output is read beside the frames, and may come after the job's result.
      const [stdout, stderr] = file.endsWith(".py")
        ? ["written to fd 1", "written to stderr"]
        : ["written to STDOUT", "written to STDERR"];
      await eventually(
        () => proc.stderrTail().includes(stdout) && proc.stderrTail().includes(stderr),
        `"${stdout}" and "${stderr}" in the output (${proc.stderrTail()})`,
      );
    } finally {
      proc.close();
      await proc.exited;
    }
    expect(proc.exitReason).toBe("exit code 0");
  }, 20_000);
}

test("transport - an --exec command speaks stdio and is told of no socket, even when the Bun process has the variable", async () => {
  const before = process.env[HANDLER_FD_ENV];
  process.env[HANDLER_FD_ENV] = "3";
  try {
    // The Python adapter under --exec: its stdio fallback, as any command written from the document.
    const adapter = (await foreignCommand(join(FIXTURES, "printing.py"), FOREIGN_ENV)).argv[1]!;
    const command = execCommand(`${FOREIGN_ENV.GEARBUN_PYTHON} ${adapter} ${join(FIXTURES, "printing.py")}`);
    expect(command.transport).toBeUndefined();
    expect((await runOne(command, "env", "")).result).toBe("unset");
    const noisy = await runOne(command, "noisy", "stdio");
    expect(noisy.result).toBe("oidts");
    // Over stdio the adapter turns the handler's stdout to stderr: still logged.
    expect(noisy.output).toContain("written to fd 1");
  } finally {
    if (before === undefined) delete process.env[HANDLER_FD_ENV];
    else process.env[HANDLER_FD_ENV] = before;
  }
}, 20_000);

test("transport - handler processes started, respawned and stopped leave no file descriptor open", async () => {
  const command = await foreignCommand(join(FIXTURES, "printing.py"), FOREIGN_ENV);
  const cycle = async (): Promise<void> => {
    const set = new HandlerSet(command, 2);
    await set.start();
    expect(utf8.decode(await set.run(job("noisy", "ab")))).toBe("ba");
    const [first, second] = set.pids();
    process.kill(first!, "SIGKILL");
    await eventually(() => set.spawned === 3 && set.pids().length === 2, "a respawned handler process");
    // The respawned one has said HELLO once it is handed a job (both are busy, then idle).
    const results = await Promise.all([set.run(job("noisy", "cd")), set.run(job("noisy", "ef"))]);
    expect(results.map((r) => utf8.decode(r))).toEqual(["dc", "fe"]);
    expect(set.pids()).toContain(second!);
    await set.close();
  };
  const fds = (): string[] =>
    readdirSync("/proc/self/fd").map((fd) => {
      try {
        return `${fd} ${readlinkSync(`/proc/self/fd/${fd}`)}`;
      } catch {
        return fd; // the directory's own descriptor, closed by now
      }
    });
  await cycle(); // whatever Bun opens once for its first child
  const open = fds().length;
  for (let i = 0; i < 5; i++) await cycle();
  // Five cycles of three processes: a descriptor left per process or per socket would be 15.
  await eventually(() => fds().length <= open, `at most ${open} open descriptors, not: ${fds().join(", ")}`);
}, 30_000);
