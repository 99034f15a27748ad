/**
 * Pool - log: with --log json every stdout line is one JSON object — one per job end with the
 * fields a log pipeline needs, and the lifecycle events — whole lines, nothing interleaved;
 * --log events is the same without the job lines.
 */
import { expect, test } from "bun:test";
import { describeGearmand, startGearmand } from "../support/gearmand.ts";
import { spawnGearbun } from "../support/processes.ts";
import { HANDLERS, matching, reversed, startLoad } from "./helpers.ts";

describeGearmand("pool - log", () => {
  test("pool - --log json under load: every line parses, one job line per job, with the documented fields", async () => {
    await using g = await startGearmand();
    const cli = spawnGearbun(["worker", HANDLERS, "--servers", g.address, "--processes", "2", "--concurrency", "4"]);
    try {
      await cli.waitLine(matching(/"event":"started"/), "the started line", 15_000);
      const load = await startLoad([g.address], "reverse", reversed, 8);
      await Bun.sleep(1500);
      const r = await load.stop();
      cli.proc.kill("SIGTERM");
      expect(await cli.proc.exited).toBe(0);
      await cli.ended;
      const records = cli.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      const jobs = records.filter((e) => e.event === "job");
      console.log(`pool - log: ${cli.lines.length} lines, ${jobs.length} job lines for ${r.done} jobs`);
      expect(r.failed).toBe(0);
      expect(jobs).toHaveLength(r.done);
      expect(new Set(jobs.map((j) => j.handle)).size).toBe(r.done);
      expect(Object.keys(jobs[0]!).sort()).toEqual(
        [
          "attempts",
          "child",
          "duration_ms",
          "error",
          "event",
          "function",
          "group",
          "handle",
          "outcome",
          "pid",
          "server",
          "time",
          "unique",
        ].sort(),
      );
      expect(jobs[0]).toMatchObject({ function: "reverse", outcome: "complete", attempts: 1, error: null });
      const lifecycle = records.map((e) => e.event).filter((e) => e !== "job");
      expect(lifecycle.filter((e) => e === "child:ready")).toHaveLength(2);
      expect(lifecycle.slice(-4)).toEqual(["stopping", "child:exit", "child:exit", "stopped"]);
    } finally {
      if (cli.proc.exitCode === null) cli.proc.kill("SIGKILL");
      await cli.proc.exited;
    }
  });

  test("pool - --log events under load: lifecycle lines only, no line per job", async () => {
    await using g = await startGearmand();
    const cli = spawnGearbun(["worker", HANDLERS, "--servers", g.address, "--processes", "2", "--log", "events"]);
    try {
      await cli.waitLine(matching(/"event":"started"/), "the started line", 15_000);
      const load = await startLoad([g.address], "reverse", reversed, 4);
      await Bun.sleep(1000);
      const r = await load.stop();
      cli.proc.kill("SIGTERM");
      expect(await cli.proc.exited).toBe(0);
      await cli.ended;
      const events = cli.lines.map((l) => (JSON.parse(l) as { event: string }).event);
      console.log(`pool - log events: ${cli.lines.length} lines for ${r.done} jobs`);
      expect(r.done).toBeGreaterThan(50);
      expect(r.failed).toBe(0);
      expect(events.filter((e) => e === "job")).toEqual([]);
      expect(events.filter((e) => e === "child:ready")).toHaveLength(2);
      expect(events.slice(-4)).toEqual(["stopping", "child:exit", "child:exit", "stopped"]);
    } finally {
      if (cli.proc.exitCode === null) cli.proc.kill("SIGKILL");
      await cli.proc.exited;
    }
  });
});
