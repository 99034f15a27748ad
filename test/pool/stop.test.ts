/**
 * Pool - stop: SIGTERM stops gracefully (running jobs get the stop deadline); a second signal
 * while it waits stops at once — the children are killed and the exit code is 1, as the CLI's
 * help documents.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { Admin } from "../../src/admin/admin.ts";
import { eventually } from "../support/eventually.ts";
import { describeGearmand, startGearmand } from "../support/gearmand.ts";
import { spawnGearbun } from "../support/processes.ts";
import { Submitter } from "../support/submitter.ts";
import { alive, matching, tempDir } from "./helpers.ts";

/**
 * The shapes of handler a deploy meets at the stop deadline: one that rejects when its signal
 * aborts (fetch with a signal), one that returns after the abort, one that ignores it.
 */
const DEPLOY = `export default {
  honours: (job) =>
    new Promise((_, reject) => job.signal.addEventListener("abort", () => reject(job.signal.reason), { once: true })),
  returns: (job) =>
    new Promise((resolve) => job.signal.addEventListener("abort", () => resolve("partial result"), { once: true })),
  ignores: async () => {
    await Bun.sleep(8000);
    return "result after the deadline";
  },
};
`;

/** A job that runs for a minute: far longer than the test. */
const SLOW = `export default {
  slow: async () => {
    await Bun.sleep(60_000);
    return "done";
  },
};
`;

describeGearmand("pool - stop", () => {
  for (const [first, second] of [
    ["SIGTERM", "SIGTERM"],
    ["SIGINT", "SIGTERM"],
  ] as const) {
    test(`pool - ${first} waits for a running job; a second signal (${second}) kills the children at once, exit 1`, async () => {
      await using g = await startGearmand();
      const dir = tempDir({ "handlers.ts": SLOW });
      const cli = spawnGearbun([
        "worker",
        join(dir, "handlers.ts"),
        "--servers",
        g.address,
        "--processes",
        "2",
        "--stop-deadline",
        "30",
        "--log",
        "json",
      ]);
      await using s = await Submitter.open([g.address]);
      await using admin = new Admin(g.address);
      try {
        await cli.waitLine(matching(/"event":"started"/), "the started line", 15_000);
        const children = cli.lines
          .map((l) => JSON.parse(l) as { event: string; pid?: number })
          .filter((e) => e.event === "child:ready")
          .map((e) => e.pid!);
        expect(children).toHaveLength(2);
        const job = s.submit("slow", "x").then(
          () => "settled",
          () => "failed",
        );
        await eventually(
          async () => (await admin.status()).find((r) => r.function === "slow")?.running === 1,
          "the slow job running",
          10_000,
        );

        cli.proc.kill(first);
        await cli.waitLine(matching(/"event":"stopping"/), "the stopping line", 5000);
        // The idle child exits; the busy one has 30 s for its job, and the supervisor waits for it.
        await eventually(() => children.filter(alive).length === 1, "the idle child's exit", 5000);
        await Bun.sleep(500);
        expect(cli.exited()).toBe(false);
        expect(children.filter(alive)).toHaveLength(1);

        const signalledAt = Date.now();
        cli.proc.kill(second);
        const code = await cli.proc.exited;
        const exitMs = Date.now() - signalledAt;
        console.log(`pool - stop: exit ${code} ${exitMs} ms after the second signal (${first}, ${second})`);
        expect(code).toBe(1);
        expect(exitMs).toBeLessThan(5000);
        expect(children.filter(alive)).toEqual([]);
        await cli.ended;
        const events = cli.lines.map((l) => JSON.parse(l) as { event: string; deadline?: number; graceful?: boolean });
        expect(events.filter((e) => e.event === "stopping").map((e) => e.deadline)).toEqual([30_000]);
        expect(events.at(-1)).toMatchObject({ event: "stopped", graceful: false });
        // The killed child's job is gearmand's again; the client is still waiting for it.
        expect(await Promise.race([job, Bun.sleep(100).then(() => "pending")])).toBe("pending");
      } finally {
        await cli.stop(1000);
      }
    });
  }

  test("pool - at the stop deadline running jobs go back to the server, whatever their handlers do; the log counts them; another pool answers their callers", async () => {
    await using g = await startGearmand();
    const dir = tempDir({
      "handlers.ts": DEPLOY,
      "next.ts": 'export default { honours: () => "next", returns: () => "next", ignores: () => "next" };\n',
    });
    const cli = spawnGearbun([
      "worker",
      join(dir, "handlers.ts"),
      "--servers",
      g.address,
      "--processes",
      "1",
      "--concurrency",
      "3",
      "--stop-deadline",
      "1",
      "--log",
      "json",
    ]);
    await using s = await Submitter.open([g.address]);
    await using admin = new Admin(g.address);
    let next: ReturnType<typeof spawnGearbun> | null = null;
    try {
      await cli.waitLine(matching(/"event":"started"/), "the started line", 15_000);
      const answers = ["honours", "returns", "ignores"].map((f) => s.submit(f, f));
      await eventually(
        async () => (await admin.status()).reduce((n, r) => n + r.running, 0) === 3,
        "three jobs running",
        10_000,
      );
      const t0 = Date.now();
      cli.proc.kill("SIGTERM");
      expect(await cli.proc.exited).toBe(0);
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(900);
      expect(took).toBeLessThan(5000); // not the 8 s the stubborn handler would take
      await cli.ended;
      const events = cli.lines.map(
        (l) => JSON.parse(l) as { event: string; jobs?: number; handed_back?: number; handedBack?: number },
      );
      expect(events.find((e) => e.event === "child:handed-back")?.jobs).toBe(3);
      expect(events.at(-1)).toMatchObject({ event: "stopped", graceful: true, handedBack: 3 });
      // Nothing reached the callers from the stopped pool; the jobs are queued again.
      expect(await Promise.race([Promise.all(answers), Bun.sleep(300).then(() => "pending")])).toBe("pending");
      next = spawnGearbun(["worker", join(dir, "next.ts"), "--servers", g.address, "--concurrency", "3"]);
      const done = await Promise.all(answers);
      expect(done.map((r) => [r.outcome, r.text])).toEqual([
        ["complete", "next"],
        ["complete", "next"],
        ["complete", "next"],
      ]);
    } finally {
      await cli.stop(1000);
      await next?.stop(2000);
    }
  });
});
