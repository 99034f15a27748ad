/**
 * Pool - link: when the gearmand a child is connected to dies, `--log json` has a `link` line
 * with `up: false` naming the server; when gearmand is back on the same port, the child
 * reconnects and a `link` line with `up: true` follows, and jobs run again.
 */
import { expect, test } from "bun:test";
import { describeGearmand, startGearmand } from "../support/gearmand.ts";
import { spawnGearbun } from "../support/processes.ts";
import { Submitter } from "../support/submitter.ts";
import { HANDLERS, matching } from "./helpers.ts";

interface LinkLine {
  event: string;
  child: number;
  pid: number;
  server: string;
  up: boolean;
  error: string | null;
}

describeGearmand("pool - link", () => {
  test("pool - gearmand killed and restarted on its port: a lost and a restored link line per child, jobs run again", async () => {
    await using g = await startGearmand();
    const cli = spawnGearbun(["worker", HANDLERS, "--servers", g.address, "--processes", "2", "--log", "json"]);
    try {
      await cli.waitLine(matching(/"event":"started"/), "the started line", 15_000);
      const linkLine = async (up: boolean): Promise<LinkLine> =>
        JSON.parse(
          await cli.nextLine(matching(new RegExp(`"event":"link".*"up":${up}`)), `a link line up:${up}`, 15_000),
        );

      const killedAt = Date.now();
      await g.kill();
      const lost = [await linkLine(false), await linkLine(false)];
      const lostMs = Date.now() - killedAt;
      for (const line of lost) {
        expect(line.server).toBe(g.address);
        expect(typeof line.error).toBe("string");
      }
      expect(lost.map((l) => l.child).sort()).toEqual([1, 2]);

      const restartedAt = Date.now();
      await g.restart();
      const restored = [await linkLine(true), await linkLine(true)];
      const restoredMs = Date.now() - restartedAt;
      console.log(`pool - link: lost lines ${lostMs} ms after kill -9, restored lines ${restoredMs} ms after restart`);
      for (const line of restored) expect(line).toMatchObject({ server: g.address, up: true, error: null });
      expect(restored.map((l) => l.child).sort()).toEqual([1, 2]);
      // The same children, reconnected (not respawned), serve again.
      expect(restored.map((l) => l.pid).sort()).toEqual(lost.map((l) => l.pid).sort());
      await using s = await Submitter.open([g.address]);
      expect(await s.submit("reverse", "abc")).toMatchObject({ outcome: "complete", text: "cba" });

      cli.proc.kill("SIGTERM");
      expect(await cli.proc.exited).toBe(0);
    } finally {
      await cli.stop(1000);
    }
  });
});
