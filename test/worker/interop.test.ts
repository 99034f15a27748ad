/**
 * Interop with libgearman's `gearman` CLI client (gearman-tools 1.1.20) through each job server.
 */
import { expect, test } from "bun:test";
import { Worker } from "../../src/worker/worker.ts";
import { gearadminPath, gearmanCliPath, logsOnFailure } from "../support/gearmand.ts";
import { describeTargets, startTarget } from "../support/targets.ts";
import { eventually } from "../support/eventually.ts";
import { run } from "../support/processes.ts";

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Still running when `timeoutMs` passed (then killed). */
  readonly hung: boolean;
}

async function gearman(port: number, args: string[], timeoutMs = 5000): Promise<CliRun> {
  const r = await run([gearmanCliPath!, "-h", "127.0.0.1", "-p", String(port), ...args], { timeoutMs });
  return { code: r.code, stdout: r.out, stderr: r.err, hung: r.hung };
}

async function queued(port: number, fn: string): Promise<number> {
  const { out } = await run([gearadminPath!, "-h", "127.0.0.1", "-p", String(port), "--status"]);
  const row = out.split("\n").find((l) => l.split("\t")[0] === fn);
  return row === undefined ? 0 : Number(row.split("\t")[1]);
}

// The peers are the libgearman tools.
describeTargets("worker interop", { needs: "libgearman" }, (target) => {
  test(
    "interop - jobs submitted with the gearman CLI are processed (foreground, unique, background)",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using worker = new Worker({ servers: server.address });
      const seen: string[] = [];
      worker.register("reverse", (job) => {
        seen.push(`${job.unique}=${job.text()}`);
        return job.text().split("").reverse().join("");
      });
      await worker.start();
      expect(await gearman(server.port, ["-f", "reverse", "-s", "hello"])).toMatchObject({
        code: 0,
        stdout: "olleh",
        hung: false,
      });
      expect(await gearman(server.port, ["-f", "reverse", "-u", "my-unique", "-s", "abc"])).toMatchObject({
        code: 0,
        stdout: "cba",
      });
      expect(await gearman(server.port, ["-b", "-f", "reverse", "-u", "bg-1", "-s", "background"])).toMatchObject({
        code: 0,
      });
      await eventually(() => seen.length === 3, "the background job");
      expect(seen[1]).toBe("my-unique=abc");
      expect(seen[2]).toBe("bg-1=background");
    }),
  );

  test(
    "interop - WORK_DATA, WORK_STATUS and WORK_WARNING reach the gearman CLI before the result",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using worker = new Worker({ servers: server.address });
      worker.register("chatty", async (job) => {
        await job.data("chunk-1,");
        await job.status(1, 2);
        await job.warning("careful!");
        await job.data("chunk-2,");
        return `result(${job.text()})`;
      });
      await worker.start();
      const run = await gearman(server.port, ["-f", "chatty", "-s", "in"]);
      expect(run.code).toBe(0);
      // libgearman prints data as it arrives, then the result, and the status line.
      expect(run.stdout).toContain("chunk-1,chunk-2,result(in)");
      expect(run.stdout).toContain("50% Complete");
      expect(run.stderr).toContain("careful!");
    }),
  );

  test(
    "interop - an exception ends the job; the gearman CLI (no `exceptions` option) gets WORK_FAIL and libgearman 1.1.20 waits forever",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using worker = new Worker({ servers: server.address });
      const ends: string[] = [];
      worker.on("job:end", (e) => ends.push(`${e.outcome} ${e.delivered}`));
      worker.register("boom", () => {
        throw new Error("kaboom");
      });
      worker.register("nope", (job) => job.fail());
      await worker.start();
      // A plain WORK_FAIL: the CLI reports it and exits.
      expect(await gearman(server.port, ["-f", "nope", "-s", "x"])).toMatchObject({
        code: 1,
        stderr: "Job failed\n",
        hung: false,
      });
      // WORK_EXCEPTION: the server ends the job and forwards it to this client as WORK_FAIL
      // (gearmand-facts.test.ts); libgearman's CLI never finishes. Nothing is left on the server.
      const run = gearman(server.port, ["-f", "boom", "-s", "x"], 1500);
      await eventually(() => ends.length === 2, "the exception sent");
      await Bun.sleep(200);
      expect(await queued(server.port, "boom")).toBe(0);
      expect(await run).toMatchObject({ stdout: "", hung: true });
      expect(ends).toEqual(["fail true", "exception true"]);
    }),
  );
});
