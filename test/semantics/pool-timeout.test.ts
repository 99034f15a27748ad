/**
 * The first repro, end to end as an operator runs it: a `gearbun worker` pool whose
 * config gives `[functions.slow] timeout`, a handler that outlives it, `gearbun submit` against
 * real gearmand and against `gearbun server`. The job runs once, the caller is answered at the
 * timeout with the reason, and the dead-letter file gets one row (docs/semantics.md).
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { startGearmand } from "../support/gearmand.ts";
import { gearbun, gearbunDaemon, spawnGearbun } from "../support/processes.ts";
import { matching, tempDir } from "../pool/helpers.ts";

const HANDLERS = `export default {
  slow: async () => {
    await Bun.sleep(2500); // ignores its signal
    return "too late";
  },
};
`;

const CONFIG = `handlers = "./handlers.ts"
dead-letter = "./dead.sqlite"
processes = 2
concurrency = 2
[functions.slow]
timeout = 1   # seconds
`;

for (const target of ["gearmand", "gearbun server"] as const) {
  test(`semantics - a pool function's timeout on ${target}: one run, the CLI caller answered at the timeout, one dead-letter row`, async () => {
    await using g = target === "gearmand" ? await startGearmand() : null;
    await using e = target === "gearmand" ? null : await gearbunDaemon(["server", "-p", "0"], /listening on (\S+)/);
    const address = g?.address ?? e!.match[1]!;
    const dir = tempDir({ "handlers.ts": HANDLERS, "gearbun.toml": CONFIG });
    const pool = spawnGearbun(["worker", "--config", join(dir, "gearbun.toml"), "--servers", address, "--log", "json"]);
    try {
      await pool.waitLine(matching(/"event":"started"/), "the started line", 15_000);
      const t0 = Date.now();
      const submitted = await gearbun(["submit", "slow", "x", "--servers", address]);
      const took = Date.now() - t0;
      expect(submitted.code).toBe(1);
      expect(submitted.err).toContain("timed out after 1000 ms");
      expect(took).toBeGreaterThanOrEqual(900);
      expect(took).toBeLessThan(2400); // before the handler would have returned
      await Bun.sleep(3000); // past the handler's end and past any re-queue a server timer could make
      const jobs = pool.lines.filter((l) => l.includes('"event":"job"'));
      expect(jobs).toHaveLength(1);
      expect(jobs[0]).toContain('"outcome":"timeout"');
      const list = await gearbun(["dead", "list", "--dead-letter", join(dir, "dead.sqlite")]);
      expect(list.code).toBe(0);
      expect(list.out.trimEnd().split("\n").slice(1)).toHaveLength(1);
      expect(list.out).toContain("timeout");
    } finally {
      await pool.stop(5000);
    }
  });
}
