/**
 * Foreign handlers - reload: SIGHUP to `gearbun worker tasks.py` under load replaces the Bun
 * children and their Python handler processes with the edited code, no job failing; an edit
 * with a syntax error is refused and the old handlers keep serving.
 */
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describeGearmand, startGearmand } from "../support/gearmand.ts";
import { matching, startLoad, tempDir } from "../pool/helpers.ts";
import { startWorkerCli, stopWorkerCli } from "./helpers.ts";

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
    try {
      const load = await startLoad([g.address], "version", (_p, t) => /^v\d$/.test(t));
      await Bun.sleep(300);
      const reloadLine = async () =>
        JSON.parse(await cli.nextLine(matching(/"event":"reload"/), "a reload line", 20_000));

      writeFileSync(file, version("v2"));
      cli.proc.kill("SIGHUP");
      expect(await reloadLine()).toMatchObject({ ok: true, replaced: 2 });
      expect(new Set(await settledTexts(load))).toEqual(new Set(["v2"]));

      writeFileSync(file, BROKEN);
      cli.proc.kill("SIGHUP");
      const refused = await reloadLine();
      expect(refused).toMatchObject({ ok: false, replaced: 0 });
      expect(refused.error).toContain("SyntaxError");
      expect(new Set(await settledTexts(load))).toEqual(new Set(["v2"]));

      const r = await load.stop();
      console.log(`foreign - reload (SIGHUP, Python): ${r.done} jobs, ${r.failed} failed`);
      expect(r.errors).toEqual([]);
      expect(r.failed + r.wrong).toBe(0);
      expect(r.done).toBeGreaterThan(0);
    } finally {
      expect(await stopWorkerCli(cli)).toBe(0);
    }
  }, 60_000);
});
