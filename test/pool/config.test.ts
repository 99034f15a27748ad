/**
 * Pool - config: the TOML file's keys are checked before anything starts (an unknown key, a
 * wrong type or a bad value is one line naming the file and key, exit 2); `[functions.NAME]`
 * with processes gives that function dedicated children; flags override the file.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ConfigError } from "../../src/errors.ts";
import { parseConfig } from "../../src/pool/config.ts";
import { describeGearmand, startGearmand } from "../support/gearmand.ts";
import { gearbun, spawnGearbun } from "../support/processes.ts";
import { HANDLERS, matching, poolWorkers, tempDir } from "./helpers.ts";

function configError(text: string): string {
  try {
    parseConfig(text, "gearbun.toml");
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("no error");
}

describe("pool - config file", () => {
  test("pool - config: keys become pool options, seconds (a function's timeout too) become milliseconds, handlers are relative to the file", () => {
    const options = parseConfig(
      `handlers = ["./h.ts"]\nprocesses = "auto"\nmax-jobs = 100\nmax-lifetime = 1.5\nstop-deadline = 10\nlog = "json"\n` +
        `[functions.resize]\nprocesses = 2\nconcurrency = 1\ntimeout = 30\n`,
      "/etc/gearbun/gearbun.toml",
    );
    expect(options).toEqual({
      handlers: ["/etc/gearbun/h.ts"],
      processes: "auto",
      maxJobs: 100,
      maxLifetime: 1500,
      stopDeadline: 10_000,
      log: "json",
      functions: { resize: { processes: 2, concurrency: 1, timeout: 30000 } },
    });
  });

  test("pool - config: unknown key, wrong type and bad value each name the file and the key", () => {
    expect(configError("proceses = 2")).toBe("gearbun.toml: proceses: unknown key");
    expect(configError("[functions.resize]\nprocesess = 2")).toBe(
      "gearbun.toml: functions.resize.procesess: unknown key",
    );
    expect(configError('max-jobs = "10"')).toBe('gearbun.toml: max-jobs: must be a whole number, got "10"');
    expect(configError("watch = 1")).toBe("gearbun.toml: watch: must be true or false, got 1");
    expect(configError("max-jobs = -1")).toMatch(/^gearbun\.toml: max-jobs: must be a finite number >= 0, got -1/);
    expect(configError('log = "loud"')).toMatch(/^gearbun\.toml: log: must be "pretty", "json", "events" or "off"/);
    expect(configError("[functions.resize]\nconcurrency = 0\nprocesses = 1")).toMatch(
      /^gearbun\.toml: functions\.resize\.concurrency: must be a finite number >= 1/,
    );
    expect(configError("processes = [")).toMatch(/^gearbun\.toml: not valid TOML/);
    expect(configError("[functions.f]\nbackoff = { initail = 5 }")).toBe(
      "gearbun.toml: functions.f.backoff.initail: unknown key",
    );
    expect(configError("[functions.f]\nretries = -1")).toMatch(
      /^gearbun\.toml: functions\.f\.retries: must be a finite number >= 0/,
    );
    expect(configError("[functions.f]\nbackoff = { jitter = 2 }")).toMatch(
      /^gearbun\.toml: functions\.f\.backoff\.jitter: must be between 0 and 1/,
    );
  });

  test("pool - config: the CLI prints one line naming the key and file and exits 2 before anything starts", async () => {
    const dir = tempDir({ "gearbun.toml": `handlers = "${HANDLERS}"\nprocesses = 1\nmax-job = 5\n` });
    const cli = await gearbun(["worker", "--config", join(dir, "gearbun.toml")]);
    expect(cli.code).toBe(2);
    const err = cli.err.trim();
    expect(err.split("\n")).toHaveLength(1);
    expect(err).toBe(`gearbun worker: ${join(dir, "gearbun.toml")}: max-job: unknown key`);
    expect(cli.out).toBe("");
  });
});

describeGearmand("pool - config file on gearmand", () => {
  test("pool - config: a dedicated pool registers only its function, the general children the rest; flags override", async () => {
    await using g = await startGearmand();
    const dir = tempDir({
      "gearbun.toml":
        `handlers = "${HANDLERS}"\nservers = "127.0.0.1:1"\nprocesses = 3\nclient-id = "cfg"\n` +
        `[functions.shout]\nprocesses = 1\nconcurrency = 2\n`,
    });
    // --servers and --processes override the file (which names a dead server and 3 processes).
    const cli = spawnGearbun([
      "worker",
      "--config",
      join(dir, "gearbun.toml"),
      "--servers",
      g.address,
      "--processes",
      "1",
      "--log",
      "json",
    ]);
    try {
      await cli.waitLine(matching(/"event":"started"/), "the started line", 15_000);
      const rows = await poolWorkers(g.address, "cfg:");
      const byIndex = Object.fromEntries(rows.map((r) => [r.id.split(":").at(-1), r.functions.sort()]));
      expect(byIndex).toEqual({ "1": ["pid", "reverse"], "2": ["shout"] });
      cli.proc.kill("SIGTERM");
      expect(await cli.proc.exited).toBe(0);
    } finally {
      if (cli.proc.exitCode === null) cli.proc.kill("SIGKILL");
      await cli.proc.exited;
    }
  });
});
