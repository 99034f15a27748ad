/**
 * Foreign handlers - reload: SIGHUP to `gearbun worker tasks.py` under load replaces the Bun
 * children and their Python handler processes with the edited code, no job failing; an edit
 * with a syntax error is refused and the old handlers keep serving.
 */
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describeGearmand, startGearmand } from "../support/gearmand.ts";
import type { PoolEvents } from "../../src/pool/events.ts";
import { startPool } from "../../src/pool/supervisor.ts";
import { matching, memorySink, startLoad, tempDir, waitFor } from "../pool/helpers.ts";
import { FOREIGN_ENV, startWorkerCli, stopWorkerCli } from "./helpers.ts";

const version = (v: string): string =>
  `import time\n\ndef version(job):\n    time.sleep(0.002)\n    return ${JSON.stringify(v)}\n\nhandlers = {"version": version}\n`;
const BROKEN = "def version(job)\n    return 'v3'\n\nhandlers = {'version': version}\n";

/** Texts that arrived after the load has run on for a moment (old processes may finish a job or two first). */
async function settledTexts(load: { result: { texts: string[] } }): Promise<string[]> {
  await Bun.sleep(300);
  const from = load.result.texts.length;
  await Bun.sleep(400);
  return load.result.texts.slice(from);
}

describeGearmand("foreign handlers - reload", () => {
  test("reload - SIGHUP with an edited Python file under load: no failed job, new code served; a syntax error is refused, the old handlers keep serving", async () => {
    await using g = await startGearmand();
    const dir = tempDir({ "tasks.py": version("v1") });
    const file = join(dir, "tasks.py");
    const cli = await startWorkerCli([file, "--servers", g.address, "--processes", "2", "--concurrency", "2"]);
    let load: Awaited<ReturnType<typeof startLoad>> | null = null;
    try {
      const running = await startLoad([g.address], "version", (_p, t) => /^v\d$/.test(t));
      load = running;
      await Bun.sleep(300);
      const reloadLine = async () =>
        JSON.parse(await cli.nextLine(matching(/"event":"reload"/), "a reload line", 20_000));

      writeFileSync(file, version("v2"));
      cli.proc.kill("SIGHUP");
      expect(await reloadLine()).toMatchObject({ ok: true, replaced: 2 });
      expect(new Set(await settledTexts(running))).toEqual(new Set(["v2"]));

      writeFileSync(file, BROKEN);
      cli.proc.kill("SIGHUP");
      const refused = await reloadLine();
      expect(refused).toMatchObject({ ok: false, replaced: 0 });
      expect(refused.error).toContain("SyntaxError");
      expect(new Set(await settledTexts(running))).toEqual(new Set(["v2"]));

      load = null;
      const r = await running.stop();
      console.log(`foreign - reload (SIGHUP, Python): ${r.done} jobs, ${r.failed} failed`);
      expect(r.errors).toEqual([]);
      expect(r.failed + r.wrong).toBe(0);
      expect(r.done).toBeGreaterThan(0);
    } finally {
      await load?.stop();
      expect(await stopWorkerCli(cli)).toBe(0);
    }
  }, 60_000);

  test("reload - watch: an edit to a PHP file reloads under load; a parse error is refused and the old handlers keep serving", async () => {
    Object.assign(process.env, FOREIGN_ENV);
    await using g = await startGearmand();
    const php = (v: string): string =>
      `<?php\nreturn ['version' => function ($job) { usleep(2000); return '${v}'; }];\n`;
    const dir = tempDir({ "tasks.php": php("v1") });
    const file = join(dir, "tasks.php");
    const pool = await startPool(
      { handlers: file, servers: g.address, processes: 2, watch: true, stopDeadline: 2000 },
      { sink: memorySink() },
    );
    const reloaded = () =>
      waitFor<PoolEvents["reload"]>((done) => pool.on("reload", done), 20_000, "a reload after the edit");
    let load: Awaited<ReturnType<typeof startLoad>> | null = null;
    try {
      const running = await startLoad([g.address], "version", (_p, t) => /^v\d$/.test(t));
      load = running;
      await Bun.sleep(300);
      let next = reloaded();
      writeFileSync(file, php("v2"));
      expect(await next).toMatchObject({ ok: true, replaced: 2 });
      expect(new Set(await settledTexts(running))).toEqual(new Set(["v2"]));

      next = reloaded();
      writeFileSync(file, "<?php\nreturn ['version' => function ($job) { return 'v3' }];\n");
      const refused = await next;
      expect(refused.ok).toBe(false);
      expect(refused.error).toContain("ParseError");
      expect(new Set(await settledTexts(running))).toEqual(new Set(["v2"]));

      load = null;
      const r = await running.stop();
      console.log(`foreign - reload (watch, PHP): ${r.done} jobs, ${r.failed} failed`);
      expect(r.errors).toEqual([]);
      expect(r.failed + r.wrong).toBe(0);
    } finally {
      await load?.stop();
      expect(await pool.stop({ deadline: 2000 })).toBe(true);
    }
  }, 60_000);
});
