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
    'interop - a throw reaches the gearman CLI (no `exceptions` option) as its text and "Job failed": WORK_WARNING then WORK_FAIL',
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
      const failed = await gearman(server.port, ["-f", "nope", "-s", "x"]);
      expect(failed).toMatchObject({ code: 1, hung: false });
      expect(failed.stderr).toContain("Job failed");
      // Before, a throw went out as WORK_EXCEPTION: the server ended the job and handed this
      // client a WORK_FAIL with a stray NUL, and libgearman's CLI waited for ever.
      const threw = await gearman(server.port, ["-f", "boom", "-s", "x"], 5000);
      expect(threw).toMatchObject({ code: 1, hung: false });
      expect(threw.stdout + threw.stderr).toContain("kaboom");
      expect(threw.stderr).toContain("Job failed");
      expect(await queued(server.port, "boom")).toBe(0);
      expect(ends).toEqual(["fail true", "exception true"]);
    }),
  );
});
