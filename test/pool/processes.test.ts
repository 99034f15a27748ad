/**
 * Pool - processes: `--processes auto` starts one child per CPU core of the machine (what
 * `os.availableParallelism()` reports), each registered on the server.
 */
import { expect, test } from "bun:test";
import { availableParallelism } from "node:os";
import { describeGearmand, startGearmand } from "../support/gearmand.ts";
import { spawnGearbun } from "../support/processes.ts";
import { HANDLERS, matching, poolWorkers } from "./helpers.ts";

describeGearmand("pool - processes", () => {
  test("pool - --processes auto: one child per core, each registered", async () => {
    await using g = await startGearmand();
    const cores = availableParallelism();
    const cli = spawnGearbun(["worker", HANDLERS, "--servers", g.address, "--processes", "auto", "--log", "json"]);
    try {
      const banner = await cli.waitLine(matching(/"event":"started"/), "the started line", 30_000);
      const ready = cli.lines
        .map((l) => JSON.parse(l) as { event: string; child?: number })
        .filter((e) => e.event === "child:ready");
      console.log(`pool - processes auto: ${ready.length} children on ${cores} cores`);
      expect(ready.map((e) => e.child).sort((a, b) => a! - b!)).toEqual(Array.from({ length: cores }, (_, i) => i + 1));
      expect(JSON.parse(banner).message).toContain(`(${cores} process${cores === 1 ? "" : "es"},`);
      expect(await poolWorkers(g.address)).toHaveLength(cores);
      cli.proc.kill("SIGTERM");
      expect(await cli.proc.exited).toBe(0);
    } finally {
      await cli.stop(1000);
    }
  });
});
