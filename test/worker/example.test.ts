/** examples/worker.ts runs as documented: `bun run examples/worker.ts`, jobs answered, Ctrl-C stops it. */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { logsOnFailure } from "../support/gearmand.ts";
import { describeTargets, startTarget } from "../support/targets.ts";
import { Submitter } from "../support/submitter.ts";
import { spawnLines } from "../../src/util/lines.ts";

describeTargets("worker example", (target) => {
  test(
    "example - examples/worker.ts answers reverse and count, and stops on SIGINT with exit code 0",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      const root = join(import.meta.dir, "..", "..");
      const proc = spawnLines([
        "env",
        `GEARMAN_SERVERS=${server.address}`,
        process.execPath,
        "run",
        join(root, "examples", "worker.ts"),
      ]);
      await using _p = proc;
      await proc.waitLine((l) => l.startsWith("worker ready"), "worker ready");
      await using s = await Submitter.open([server.address]);
      expect(await s.submit("reverse", "hello")).toMatchObject({ outcome: "complete", text: "olleh" });
      expect(await s.submit("count", "3")).toMatchObject({
        outcome: "complete",
        text: "done\n",
        data: ["1\n", "2\n", "3\n"],
        statuses: [
          [1, 3],
          [2, 3],
          [3, 3],
        ],
      });
      expect(await s.submit("count", "1000")).toMatchObject({ outcome: "fail" });
      proc.proc.kill("SIGINT");
      expect(await proc.proc.exited).toBe(0);
      await proc.ended;
      expect(proc.lines).toContain("stopping: finishing running jobs…");
    }),
  );
});
