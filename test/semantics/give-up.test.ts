/**
 * A caller that gives up leaves nothing behind (docs/semantics.md, "The caller gives up"): a
 * foreground job whose `timeout` passed is cancelled on its server, so it never runs for nobody —
 * whether the caller stays connected (a long-lived Client) or exits (`gearbun submit --timeout`,
 * `gearbun check --job`, one Nagios run each). A job with a unique key is left to run: other
 * callers may be waiting for it.
 */
import { expect, test } from "bun:test";
import { Admin } from "../../src/admin/admin.ts";
import { Client } from "../../src/client/client.ts";
import { TimeoutError } from "../../src/errors.ts";
import { Worker } from "../../src/worker/worker.ts";
import { logsOnFailure } from "../support/gearmand.ts";
import { gearbun } from "../support/processes.ts";
import { describeTargets, startTarget } from "../support/targets.ts";

/** Starts a worker for `fns`, lets it drain the queues, and returns how many jobs each ran. */
async function runsOnceAWorkerComes(address: string, fns: string[]): Promise<Record<string, number>> {
  const runs: Record<string, number> = Object.fromEntries(fns.map((f) => [f, 0]));
  await using worker = new Worker({ servers: address });
  for (const f of fns) {
    worker.register(f, () => {
      runs[f]!++;
      return "ran";
    });
  }
  await worker.start();
  await Bun.sleep(600);
  return runs;
}

async function queued(address: string, fn: string): Promise<number> {
  await using admin = new Admin(address);
  return (await admin.status()).find((r) => r.function === fn)?.total ?? 0;
}

describeTargets("give up", (target) => {
  test(
    "give up - a Client that stays connected: a timed-out job without a unique key is cancelled, one with a key still runs",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using client = new Client({ servers: server.address });
      const plain = client.submit("later", "x", { timeout: 300 });
      const keyed = client.submit("later_keyed", "x", { timeout: 300, unique: "shared-key" });
      for (const task of [plain, keyed]) {
        expect(await task.then(() => null).catch((e: unknown) => e)).toBeInstanceOf(TimeoutError);
      }
      await Bun.sleep(100); // the cancel goes out on its own connection
      expect(await runsOnceAWorkerComes(server.address, ["later", "later_keyed"])).toEqual({
        later: 0,
        later_keyed: 1,
      });
      expect(await queued(server.address, "later")).toBe(0);
    }),
  );

  test(
    "give up - gearbun submit --timeout and check --job exit with their error and leave no job to run",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      const submitted = await gearbun(["submit", "cli_later", "x", "--timeout", "300", "--servers", server.address]);
      expect(submitted.code).not.toBe(0);
      expect(submitted.err).toContain("got no result in 300 ms");
      const checked = await gearbun([
        "check",
        "--servers",
        server.address,
        "--job",
        "check_later:x",
        "--timeout",
        "300",
      ]);
      expect(checked.code).toBe(2);
      expect(checked.out).toContain("GEARMAN CRITICAL");
      expect(await runsOnceAWorkerComes(server.address, ["cli_later", "check_later"])).toEqual({
        cli_later: 0,
        check_later: 0,
      });
      expect(await queued(server.address, "cli_later")).toBe(0);
      expect(await queued(server.address, "check_later")).toBe(0);
    }),
  );
});
