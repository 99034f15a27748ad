/**
 * Foreign handlers - Python: handlers written for python-gearman run unchanged under the pool;
 * a handler process that crashes, is killed -9 or runs past its timeout fails only its job with
 * a clear text and is respawned while the Bun child keeps its connections; a file that does not
 * load stops nothing that runs; a stopped pool leaves no handler process behind.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { Admin } from "../../src/admin/admin.ts";
import { startPool } from "../../src/pool/supervisor.ts";
import { describeGearmand, startGearmand } from "../support/gearmand.ts";
import { eventually } from "../support/eventually.ts";
import { alive, memorySink, tempDir } from "../pool/helpers.ts";
import { Client, clientSees, FIXTURES, FOREIGN_ENV, watchTask } from "./helpers.ts";

Object.assign(process.env, FOREIGN_ENV);
const HANDLERS = join(FIXTURES, "handlers.py");

const DECORATED = `
import json, sys
from gearbun_handler import handler

print("printed at import: must not break the protocol")

@handler("upper")
def upper(job):
    print("printed in a job")
    sys.stdout.write("written to stdout\\n")
    return job.text().upper()

@handler
def as_json(job):
    return {"got": job.json(), "unique": job.unique, "function": job.function}

handlers = {"echo_bytes": lambda job: job.data}
`;

/** The Bun child's connection as gearmand lists it: client id and fd. */
async function registered(address: string): Promise<string[]> {
  const admin = new Admin(address);
  try {
    return (await admin.workers())
      .filter((w) => w.clientId.startsWith("gearbun:"))
      .map((w) => `${w.clientId} fd ${w.fd}`);
  } finally {
    await admin.close();
  }
}

describeGearmand("foreign handlers - python", () => {
  test("python - the decorator, python-gearman (worker, job) handlers, JSON and binary results, print() at import and in a job", async () => {
    await using g = await startGearmand();
    const dir = tempDir({ "tasks.py": DECORATED });
    const pool = await startPool(
      { handlers: [join(dir, "tasks.py"), HANDLERS], servers: g.address, processes: 1, concurrency: 2 },
      { sink: memorySink() },
    );
    try {
      await using client = new Client({ servers: g.address });
      expect(await clientSees(client, "upper", "shout")).toEqual(["complete SHOUT"]);
      expect(JSON.parse(await client.submit("as_json", '{"a":[1,2]}', { unique: "u-7" }).text())).toEqual({
        got: { a: [1, 2] },
        unique: "u-7",
        function: "as_json",
      });
      const every = Uint8Array.from({ length: 256 }, (_, i) => i);
      expect(await client.submit("echo_bytes", every)).toEqual(every);
      expect(await client.submit("echo", every)).toEqual(every);
      // python-gearman's fn(gearman_worker, gearman_job) with .task, .unique, .data, send_job_status.
      expect(await clientSees(client, "legacy", "abc")).toEqual(["status 1/1", "complete legacy::cba"]);
    } finally {
      expect(await pool.stop({ deadline: 2000 })).toBe(true);
    }
  }, 30_000);

  test("python - a crash and a kill -9 mid-job fail only that job, with a clear text; the handler process is respawned, the Bun child keeps its connection", async () => {
    await using g = await startGearmand();
    const pool = await startPool(
      {
        handlers: HANDLERS,
        servers: g.address,
        processes: 1,
        concurrency: 1,
        functions: { slow: { timeout: 20_000 } },
      },
      { sink: memorySink() },
    );
    try {
      await using client = new Client({ servers: g.address });
      const before = await registered(g.address);
      expect(before.length).toBe(1);
      const first = Number(await client.submit("pid", "").text());

      // The handler kills itself.
      const crashed = await clientSees(client, "crash", "x");
      expect(crashed.at(-1)).toBe("fail");
      expect(crashed.join("\n")).toMatch(
        /handler process \d+ \(.*handlers\.py\) died \(signal SIGKILL\) while running job H:/,
      );
      const second = Number(await client.submit("pid", "").text());
      expect(second).not.toBe(first);
      expect(alive(first)).toBe(false);

      // Killed from outside while it runs a job.
      const slow = watchTask(client.submit("slow", "x"));
      await eventually(() => slow.events.includes("data started"), "the slow job running");
      process.kill(second, "SIGKILL");
      const killed = (await slow.done).join("\n");
      expect(killed).toContain(`handler process ${second} `);
      expect(killed).toContain("died (signal SIGKILL) while running job");
      const third = Number(await client.submit("pid", "").text());
      expect(third).not.toBe(second);
      expect(await clientSees(client, "reverse", "abc")).toEqual(["complete cba"]);

      // The same Bun child, on the same connection, all along.
      expect(await registered(g.address)).toEqual(before);
      expect(pool.children().length).toBe(1);
    } finally {
      expect(await pool.stop({ deadline: 2000 })).toBe(true);
    }
  }, 30_000);

  test("python - a job past its timeout fails, its handler process is killed and replaced, the next job runs", async () => {
    await using g = await startGearmand();
    const pool = await startPool(
      { handlers: HANDLERS, servers: g.address, processes: 1, concurrency: 1, functions: { slow: { timeout: 300 } } },
      { sink: memorySink() },
    );
    try {
      await using client = new Client({ servers: g.address });
      const first = Number(await client.submit("pid", "").text());
      const began = Date.now();
      const slow = await clientSees(client, "slow", "x");
      expect(slow.at(-1)).toBe("fail");
      expect(slow.join("\n")).toContain("timed out after 300 ms");
      // The handler sleeps 30 s: the job ended at its timeout, not at the handler's end.
      expect(Date.now() - began).toBeLessThan(10_000);
      await eventually(() => !alive(first), "the timed-out handler process killed");
      const second = Number(await client.submit("pid", "").text());
      expect(second).not.toBe(first);
      expect(await clientSees(client, "reverse", "ok")).toEqual(["complete ko"]);
    } finally {
      expect(await pool.stop({ deadline: 2000 })).toBe(true);
    }
  }, 30_000);

  test("python - a file that does not load stops the pool from starting, with Python's error", async () => {
    await using g = await startGearmand();
    const dir = tempDir({ "broken.py": "handlers = {'x': lambda job: job.data\n" });
    const sink = memorySink();
    const started = startPool(
      { handlers: join(dir, "broken.py"), servers: g.address, processes: 1, startTimeout: 3000 },
      { sink },
    );
    await expect(started).rejects.toThrow(/broken\.py: SyntaxError: '\{' was never closed \(broken\.py, line 1\)/);
    expect(sink.lines.join("\n")).toContain("SyntaxError");
    expect(sink.lines.join("\n")).toContain("broken.py");
  }, 30_000);

  test("python - a stopped pool leaves no handler process behind, idle or busy", async () => {
    await using g = await startGearmand();
    const pool = await startPool(
      { handlers: HANDLERS, servers: g.address, processes: 1, concurrency: 2 },
      { sink: memorySink() },
    );
    await using client = new Client({ servers: g.address });
    const pids = new Set<number>();
    for (let i = 0; i < 6; i++) pids.add(Number(await client.submit("pid", "").text()));
    expect(pids.size).toBeGreaterThanOrEqual(1);
    // One busy in a 30 s job when the stop deadline passes.
    const busy = watchTask(client.submit("slow", "x"));
    await eventually(() => busy.events.includes("data started"), "the slow job running");
    await pool.stop({ deadline: 500 });
    await eventually(() => [...pids].every((p) => !alive(p)), "every handler process gone");
  }, 30_000);

  test("python - the handler processes' CPU and memory count in their Bun child's usage (per-child metrics, --max-memory)", async () => {
    await using g = await startGearmand();
    const pool = await startPool(
      { handlers: HANDLERS, servers: g.address, processes: 1, concurrency: 1 },
      { sink: memorySink() },
    );
    try {
      await using client = new Client({ servers: g.address });
      const child = pool.children()[0]!;
      const usage = () => pool.children().find((c) => c.pid === child.pid)?.usage ?? undefined;
      const before = await eventually(usage, "a first heartbeat with usage");
      await client.submit("hog", "").text();
      await client.submit("burn", "").text();
      // The Bun child itself waited meanwhile: the growth is the Python process's.
      const after = await eventually(() => {
        const u = usage();
        return u !== undefined && u.rss - before.rss > 50 * 2 ** 20 && u.cpuSeconds - before.cpuSeconds > 0.4 && u;
      }, "a heartbeat with the handler process's 64 MiB and 0.5 s of CPU");
      console.log(
        `python - usage: rss ${Math.round(before.rss / 2 ** 20)} → ${Math.round(after.rss / 2 ** 20)} MiB, ` +
          `cpu ${before.cpuSeconds.toFixed(2)} → ${after.cpuSeconds.toFixed(2)} s`,
      );
    } finally {
      expect(await pool.stop({ deadline: 2000 })).toBe(true);
    }
  }, 30_000);

  test("python - a Bun child killed -9 leaves no handler process behind: it exits at the end of its input (its socket closes with the Bun child)", async () => {
    await using g = await startGearmand();
    const pool = await startPool(
      { handlers: HANDLERS, servers: g.address, processes: 1, concurrency: 2 },
      { sink: memorySink() },
    );
    try {
      await using client = new Client({ servers: g.address });
      const pids = new Set<number>();
      for (let i = 0; i < 6; i++) pids.add(Number(await client.submit("pid", "").text()));
      process.kill(pool.children()[0]!.pid, "SIGKILL");
      await eventually(() => [...pids].every((p) => !alive(p)), "the handler processes gone with their Bun child");
      // The respawned child has handler processes of its own.
      const next = Number(await client.submit("pid", "").text());
      expect(pids.has(next)).toBe(false);
    } finally {
      await pool.stop({ deadline: 2000 });
    }
  }, 30_000);
});
