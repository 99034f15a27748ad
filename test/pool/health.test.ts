/**
 * Pool - health: a real `gearbun worker` says the truth about itself. A config section naming a
 * function no module exports, or handlers that do not load, end the start with exit 2 and one
 * line; a process that keeps dying ends it with exit 3 past --crash-limit; a SIGSTOPped child
 * makes /healthz answer 503, then is killed and replaced; --processes has an upper bound.
 */
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { MAX_PROCESSES } from "../../src/options.ts";
import { eventually } from "../support/eventually.ts";
import { describeGearmand, startGearmand } from "../support/gearmand.ts";
import { gearbun, spawnGearbun } from "../support/processes.ts";
import { alive, FIXTURES, HANDLERS, matching, tempDir } from "./helpers.ts";

test("pool - health: a [functions.NAME] section no module exports ends the start with exit 2 and one line", async () => {
  const dir = tempDir({});
  const config = join(dir, "pool.toml");
  writeFileSync(config, `handlers = ${JSON.stringify(HANDLERS)}\n[functions.revrse]\ntimeout = 1000\n`);
  const began = Date.now();
  const r = await gearbun(["worker", "--config", config, "--servers", "127.0.0.1:1", "--log", "off"]);
  const ms = Date.now() - began;
  console.log(`pool - health: typo'd section: exit ${r.code} after ${ms} ms: ${r.err.trim()}`);
  expect(r.code).toBe(2);
  expect(r.err.trim()).toBe(
    'gearbun worker: handlers failed to load: [functions.revrse] names a function no handlers module exports (did you mean "reverse"?)',
  );
  expect(ms).toBeLessThan(10_000);
});

test("pool - health: handlers that do not load at the first start: exit 2 and one line, no respawn loop", async () => {
  const r = await gearbun([
    "worker",
    join(FIXTURES, "broken.ts"),
    "--servers",
    "127.0.0.1:1",
    "--processes",
    "2",
    "--log",
    "json",
  ]);
  const events = r.out
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { event: string });
  expect(r.code).toBe(2);
  expect(r.err.trim().split("\n").at(-1)).toMatch(
    /^gearbun worker: handlers failed to load: .*broken on purpose: the database URL is missing$/,
  );
  expect(events.filter((e) => e.event === "child:respawn")).toEqual([]);
  expect(events.at(-1)).toMatchObject({ event: "stopped" });
});

test("pool - health: --processes above the bound is one line naming the bound, exit 2; so is the config key", async () => {
  const r = await gearbun(["worker", HANDLERS, "--processes", "1000000000"]);
  expect(r.code).toBe(2);
  expect(r.err.trim()).toBe(
    `gearbun worker: processes: must be at most ${MAX_PROCESSES} in all (each is a Bun process), got 1000000000`,
  );
  const dir = tempDir({ "pool.toml": `handlers = ${JSON.stringify(HANDLERS)}\nprocesses = 1e9\n` });
  const f = await gearbun(["worker", "--config", join(dir, "pool.toml")]);
  expect(f.code).toBe(2);
  expect(f.err.trim()).toBe(
    `gearbun worker: ${join(dir, "pool.toml")}: processes: must be at most ${MAX_PROCESSES} in all (each is a Bun process), got 1000000000`,
  );
});

describeGearmand("pool - health on gearmand", () => {
  test("pool - health: a child that keeps dying after it registered: exit 3 past --crash-limit 3", async () => {
    await using g = await startGearmand();
    const began = Date.now();
    const r = await gearbun(
      ["worker", join(FIXTURES, "crash.ts"), "--servers", g.address, "--crash-limit", "3", "--log", "json"],
      { timeoutMs: 30_000 },
    );
    const ms = Date.now() - began;
    const events = r.out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { event: string; code?: string; error?: string });
    console.log(`pool - health: crash loop: exit ${r.code} after ${ms} ms`);
    expect(r.code).toBe(3);
    expect(events.filter((e) => e.event === "child:ready").length).toBeGreaterThanOrEqual(1);
    expect(events.filter((e) => e.event === "child:exit")).toHaveLength(3);
    const failed = events.find((e) => e.event === "failed")!;
    expect(failed.code).toBe("CRASH_LOOP");
    expect(failed.error).toBe("child 1 (general) failed 3 times in a row (crashLimit 3); the last: exited with code 1");
  }, 40_000);

  test("pool - health: a SIGSTOPped child makes /healthz 503 within 5 s, then is killed and replaced", async () => {
    await using g = await startGearmand();
    const cli = spawnGearbun([
      "worker",
      HANDLERS,
      "--servers",
      g.address,
      "--processes",
      "2",
      "--metrics",
      "127.0.0.1:0",
      "--heartbeat-timeout",
      "4",
      "--log",
      "json",
    ]);
    try {
      await cli.waitLine(matching(/"event":"started"/), "the started line", 30_000);
      const url = await cli.waitFor(
        () => cli.errorLines.map((l) => /metrics on (http:\S+)\/metrics/.exec(l)?.[1]).find((u) => u !== undefined),
        "the metrics address",
      );
      const health = async (): Promise<{ status: number; text: string }> => {
        const res = await fetch(`${url}/healthz`);
        return { status: res.status, text: (await res.text()).trim() };
      };
      expect(await eventually(async () => (await health()).status === 200, "healthy")).toBe(true);
      expect((await health()).text).toBe("ok: general: 2 of 2 registered");
      const ready = cli.lines
        .map((l) => JSON.parse(l) as { event: string; child?: number; pid?: number })
        .filter((e) => e.event === "child:ready");
      const victim = ready.find((e) => e.child === 1)!;
      const stoppedAt = Date.now();
      process.kill(victim.pid!, "SIGSTOP");
      const unhealthy = await eventually(
        async () => {
          const h = await health();
          return h.status === 503 ? h : undefined;
        },
        "/healthz 503",
        6000,
        100,
      );
      const unhealthyMs = Date.now() - stoppedAt;
      const line = await cli.waitLine(matching(/"event":"child:unresponsive"/), "the unresponsive line", 10_000);
      const replaced = await cli.waitLine(
        (l) => l.includes('"event":"child:ready"') && l.includes('"child":1,') && !l.includes(`"pid":${victim.pid},`),
        "the replacement ready",
        10_000,
      );
      const replacedMs = Date.now() - stoppedAt;
      console.log(
        `pool - health: SIGSTOP: 503 after ${unhealthyMs} ms (${unhealthy.text}); replaced after ${replacedMs} ms`,
      );
      expect(unhealthy.text).toMatch(/^unhealthy: process 1 \(pid \d+\) has sent nothing for \d+ ms$/);
      expect(unhealthyMs).toBeLessThan(5000);
      expect(JSON.parse(line)).toMatchObject({ child: 1, pid: victim.pid });
      expect(JSON.parse(replaced).pid).not.toBe(victim.pid);
      await eventually(() => !alive(victim.pid!), "the stopped child gone");
      expect(await eventually(async () => (await health()).status === 200, "healthy again")).toBe(true);
      cli.proc.kill("SIGTERM");
      expect(await cli.proc.exited).toBe(0);
    } finally {
      await cli.stop(1000);
    }
  }, 60_000);
});
