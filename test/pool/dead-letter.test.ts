/**
 * Pool - retries and dead letters, end to end: per-function retries from the config file, the
 * attempts in the job's log line, a job that exhausted its retries in the --dead-letter file
 * (and the client sees the failure), and `gearbun dead list|show|retry|purge` on that file.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { DeadLetterStore } from "../../src/pool/dead-letter.ts";
import { describeGearmand, startGearmand } from "../support/gearmand.ts";
import { Submitter } from "../support/submitter.ts";
import { gearbun, spawnGearbun } from "../support/processes.ts";
import { matching, tempDir } from "./helpers.ts";

const HANDLERS = `export default {
  flaky: (job) => {
    if (job.attempt < 3) throw new Error("not yet, attempt " + job.attempt);
    return "ok on attempt " + job.attempt;
  },
  doomed: (job) => {
    throw new Error("doomed " + job.text() + " attempt " + job.attempt);
  },
};
`;

const CONFIG = `handlers = "./handlers.ts"
dead-letter = "./dead.sqlite"
[functions.flaky]
retries = 2
backoff = { initial = 0.02, max = 0.1 }   # seconds
[functions.doomed]
retries = 1
backoff = { initial = 0.02 }
`;

/** `gearbun ARGS` to its end, stdout without its last newline. */
async function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const r = await gearbun(args);
  return { ...r, out: r.out.trimEnd() };
}

describeGearmand("pool - dead letters", () => {
  test("pool - retries from the config, exhausted jobs in the dead-letter file, gearbun dead resubmits them", async () => {
    await using g = await startGearmand();
    const dir = tempDir({ "handlers.ts": HANDLERS, "gearbun.toml": CONFIG });
    const deadFile = join(dir, "dead.sqlite");
    const cli = spawnGearbun([
      "worker",
      "--config",
      join(dir, "gearbun.toml"),
      "--servers",
      g.address,
      "--log",
      "json",
    ]);
    try {
      await cli.waitLine(matching(/"event":"started"/), "the started line", 15_000);
      await using s = await Submitter.open([g.address]);
      const ok = await s.submit("flaky", "x");
      expect(ok).toMatchObject({ outcome: "complete", text: "ok on attempt 3" });
      const bad = await s.submit("doomed", "d1", { unique: "u-d1" });
      expect(bad).toMatchObject({ outcome: "fail", warnings: ["doomed d1 attempt 2"] });

      // Each call finds the next job line of `fn` after the line the previous call returned.
      const jobLine = async (fn: string) =>
        JSON.parse(
          await cli.nextLine(matching(new RegExp(`"event":"job".*"function":"${fn}"`)), `a ${fn} job line`, 5000),
        );
      expect(await jobLine("flaky")).toMatchObject({ outcome: "complete", attempts: 3 });
      expect(await jobLine("doomed")).toMatchObject({ outcome: "exception", attempts: 2 });

      const list = await run(["dead", "list", "--dead-letter", deadFile]);
      expect(list.code).toBe(0);
      expect(list.out).toMatch(/^ID\s+FUNCTION\s+UNIQUE\s+OUTCOME\s+ATTEMPTS/);
      expect(list.out).toMatch(/\n1\s+doomed\s+u-d1\s+exception\s+2\s+.*doomed d1 attempt 2$/);
      // The pool's config file names the same file (relative to itself): no path to repeat.
      const viaConfig = await run(["dead", "list", "--config", join(dir, "gearbun.toml")]);
      expect(viaConfig).toEqual(list);
      const show = await run(["dead", "show", "1", "--dead-letter", deadFile]);
      expect(show.out).toContain("payload:     d1");

      // Resubmitted as a background job: it runs (and fails) again, and comes back as a new row.
      const retried = await run(["dead", "retry", "1", "--config", join(dir, "gearbun.toml"), "--servers", g.address]);
      expect(retried.code).toBe(0);
      expect(retried.out).toMatch(/^1 doomed resubmitted as H:/);
      await jobLine("doomed");
      {
        using store = new DeadLetterStore(deadFile);
        for (const deadline = Date.now() + 5000; store.list().length === 0 && Date.now() < deadline; )
          await Bun.sleep(20);
        expect(store.list().map((r) => [r.id, r.unique, r.attempts])).toEqual([[2, "u-d1", 2]]);
      }
      expect((await run(["dead", "purge", "--all", "--dead-letter", deadFile])).out).toBe("purged 1");
      const missing = await run(["dead", "show", "7", "--dead-letter", deadFile]);
      expect(missing.code).toBe(2);
      expect(missing.err.trim()).toBe(`gearbun dead: no dead-letter job 7 in ${deadFile}`);

      cli.proc.kill("SIGTERM");
      expect(await cli.proc.exited).toBe(0);
    } finally {
      if (cli.proc.exitCode === null) cli.proc.kill("SIGKILL");
      await cli.proc.exited;
    }
  });
});
