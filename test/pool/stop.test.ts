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
});
