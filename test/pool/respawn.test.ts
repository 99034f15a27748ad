/**
 * Pool - respawn: a child killed with SIGKILL under a steady foreground load is replaced
 * promptly, gearmand re-queues the job it held, and no job fails.
 */
import { expect, test } from "bun:test";
import { describeGearmand, startGearmand } from "../support/gearmand.ts";
import { HANDLERS, memorySink, poolWorkers, reversed, startLoad, waitFor, startChecked } from "./helpers.ts";

describeGearmand("pool - respawn", () => {
  test("pool - two children on two servers; kill -9 of one under load: a new child within 2 s, no job fails", async () => {
    await using a = await startGearmand();
    await using b = await startGearmand();
    const sink = memorySink();
    const { pool, violations } = await startChecked(
      { handlers: HANDLERS, servers: [a.address, b.address], processes: 2 },
      { sink },
    );
    try {
      for (const g of [a, b]) {
        const rows = await poolWorkers(g.address);
        expect(rows.map((r) => r.id.split(":").at(-1)).sort()).toEqual(["1", "2"]);
        for (const r of rows) expect(r.functions.sort()).toEqual(["pid", "reverse", "shout"]);
      }
      const load = await startLoad([a.address, b.address], "reverse", reversed);
      await Bun.sleep(300);
      const victim = pool.children()[0]!;
      const killedAt = Date.now();
      const ready = waitFor<number>(
        (done) => pool.on("child:ready", (e) => e.index === victim.index && done(Date.now())),
        5000,
        "the respawned child",
      );
      process.kill(victim.pid, "SIGKILL");
      const respawnMs = (await ready) - killedAt;
      await Bun.sleep(300);
      const r = await load.stop();
      console.log(
        `pool - respawn: new child registered ${respawnMs} ms after kill -9; ${r.done} jobs, ${r.failed} failed`,
      );
      expect(respawnMs).toBeLessThan(2000);
      expect(r.errors).toEqual([]);
      expect(r.failed).toBe(0);
      expect(r.wrong).toBe(0);
      expect(r.done).toBeGreaterThan(50);
      expect(pool.children().filter((c) => c.current)).toHaveLength(2);
      expect(sink.lines.join("\n")).toMatch(/child 1 pid \d+ died: killed by SIGKILL/);
    } finally {
      expect(await pool.stop({ deadline: 2000 })).toBe(true);
      expect(violations).toEqual([]);
    }
  });
});
