/**
 * Pool - reload: SIGHUP (the CLI) and file changes (`watch`) replace the children one at a time
 * under load: no job fails, results switch to the new code, and an edit that does not load
 * keeps the old children serving and says why.
 */
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { PoolEvents } from "../../src/pool/events.ts";
import { describeGearmand, startGearmand } from "../support/gearmand.ts";
import { spawnGearbun } from "../support/processes.ts";
import { matching, memorySink, startLoad, tempDir, versionHandlers, waitFor, startChecked } from "./helpers.ts";

const BROKEN = "export default { version: () => ;\n";

/** Texts that arrived after the load has run on for a moment (old children may finish a job or two first). */
async function settledTexts(load: { result: { texts: string[] } }): Promise<string[]> {
  await Bun.sleep(200);
  const from = load.result.texts.length;
  await Bun.sleep(300);
  return load.result.texts.slice(from);
}

describeGearmand("pool - reload", () => {
  test("pool - SIGHUP under load: no failed job, new code served; a broken edit keeps the old children", async () => {
    await using g = await startGearmand();
    const dir = tempDir({ "handlers.ts": versionHandlers("v1") });
    const file = join(dir, "handlers.ts");
    const cli = spawnGearbun(["worker", file, "--servers", g.address, "--processes", "2", "--log", "json"]);
    try {
      await cli.waitLine(matching(/"event":"started"/), "the started line", 15_000);
      const load = await startLoad([g.address], "version", (_p, t) => /^v\d$/.test(t));
      await Bun.sleep(200);

      writeFileSync(file, versionHandlers("v2"));
      // Each reload line is the next one after the previous.
      const reloadLine = async () =>
        JSON.parse(await cli.nextLine(matching(/"event":"reload"/), "a reload line", 15_000));
      cli.proc.kill("SIGHUP");
      expect(await reloadLine()).toMatchObject({ ok: true, replaced: 2 });
      expect(new Set(await settledTexts(load))).toEqual(new Set(["v2"]));

      writeFileSync(file, BROKEN);
      cli.proc.kill("SIGHUP");
      const failed = await reloadLine();
      expect(failed).toMatchObject({ ok: false, replaced: 0 });
      expect(failed.error).toContain("handlers failed to load");
      expect(new Set(await settledTexts(load))).toEqual(new Set(["v2"]));

      const r = await load.stop();
      console.log(`pool - reload (SIGHUP): ${r.done} jobs, ${r.failed} failed`);
      expect(r.errors).toEqual([]);
      expect(r.failed + r.wrong).toBe(0);
      cli.proc.kill("SIGTERM");
      expect(await cli.proc.exited).toBe(0);
    } finally {
      if (cli.proc.exitCode === null) cli.proc.kill("SIGKILL");
      await cli.proc.exited;
    }
  });

  test("pool - watch: an edit reloads under load, a broken edit is logged and retried on the next change", async () => {
    await using g = await startGearmand();
    const dir = tempDir({ "handlers.ts": versionHandlers("v1") });
    const file = join(dir, "handlers.ts");
    const { pool, violations } = await startChecked(
      { handlers: file, servers: g.address, processes: 2, watch: true, stopDeadline: 2000 },
      { sink: memorySink() },
    );
    const reloaded = () =>
      waitFor<PoolEvents["reload"]>((done) => pool.on("reload", done), 15_000, "a reload after the edit");
    try {
      const load = await startLoad([g.address], "version", (_p, t) => /^v\d$/.test(t));
      await Bun.sleep(200);

      let next = reloaded();
      writeFileSync(file, versionHandlers("v2"));
      expect(await next).toMatchObject({ ok: true, replaced: 2 });
      expect(new Set(await settledTexts(load))).toEqual(new Set(["v2"]));

      next = reloaded();
      writeFileSync(file, BROKEN);
      const failed = await next;
      expect(failed.ok).toBe(false);
      expect(failed.error).toContain("handlers failed to load");
      expect(new Set(await settledTexts(load))).toEqual(new Set(["v2"]));

      next = reloaded();
      writeFileSync(file, versionHandlers("v3"));
      expect(await next).toMatchObject({ ok: true, replaced: 2 });
      expect(new Set(await settledTexts(load))).toEqual(new Set(["v3"]));

      const r = await load.stop();
      console.log(`pool - reload (watch): ${r.done} jobs, ${r.failed} failed`);
      expect(r.errors).toEqual([]);
      expect(r.failed + r.wrong).toBe(0);
    } finally {
      expect(await pool.stop({ deadline: 2000 })).toBe(true);
      expect(violations).toEqual([]);
    }
  });
});
