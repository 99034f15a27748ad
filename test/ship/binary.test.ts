/**
 * Binary - `bun run build` makes dist/gearbun, one file that runs every command from a folder
 * with no node_modules: a job server, a pool of two children (the binary started as its own
 * child) loading a TypeScript and a JavaScript handlers file, submit, status, the pool's
 * /metrics, and the demo (whose worker processes are the binary too). A handlers file that
 * imports "gearbun" gets the binary's own classes: its JobFailure ends the job with WORK_FAIL.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { eventually } from "../support/eventually.ts";
import { parseExposition, sampleValue } from "../support/operator-tools.ts";
import { gearbunDaemon, run } from "../support/processes.ts";

const root = join(import.meta.dir, "..", "..");
const BINARY = join(root, "dist", "gearbun");
let dir = "";

const HANDLERS_TS = `import { JobFailure, type Job } from "gearbun";
export default {
  reverse: (job: Job) => job.text().split("").reverse().join(""),
  refuse: (job: Job) => {
    throw new JobFailure(\`no \${job.text()}\`);
  },
};
`;
const HANDLERS_JS = `export default { shout: (job) => job.text().toUpperCase() };
`;

/** The binary to its end, from the temporary folder, with no servers from the environment. */
const gearbun = (args: string[]) =>
  run([BINARY, ...args], { env: { ...process.env, GEARMAN_SERVERS: "", PWD: dir }, timeoutMs: 30_000 });

beforeAll(async () => {
  const build = await run([process.execPath, "run", "build"], { timeoutMs: 180_000 });
  if (build.code !== 0) throw new Error(`bun run build failed: ${build.err}`);
  dir = mkdtempSync(join(tmpdir(), "gearbun-binary-"));
  writeFileSync(join(dir, "handlers.ts"), HANDLERS_TS);
  writeFileSync(join(dir, "more.js"), HANDLERS_JS);
}, 180_000);

afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

test("binary - bun run build writes one executable that prints its version and its help", async () => {
  expect(statSync(BINARY).mode & 0o111).not.toBe(0);
  expect(await gearbun(["--version"])).toEqual({ code: 0, out: `gearbun ${pkg.version}\n`, err: "", hung: false });
  const help = await gearbun(["--help"]);
  expect(help.code).toBe(0);
  expect(help.out).toContain("Usage: gearbun <command>");
});

test("binary - server, a pool of 2, submit, status and a metrics scrape, all from the binary", async () => {
  const command = [BINARY];
  await using server = await gearbunDaemon(["server", "-p", "0", "-L", "127.0.0.1"], /listening on (\S+)/, {
    command,
  });
  const address = server.match[1]!;
  await using pool = await gearbunDaemon(
    [
      "worker",
      join(dir, "handlers.ts"),
      join(dir, "more.js"),
      "--servers",
      address,
      "--processes",
      "2",
      "--log",
      "json",
      "--metrics",
      "127.0.0.1:0",
    ],
    /"event":"started"/,
    { command, cwd: dir },
  );
  const ready = pool
    .output()
    .split("\n")
    .filter((l) => l.includes('"child:ready"'));
  expect(ready).toHaveLength(2);

  expect(await gearbun(["submit", "reverse", "hello", "--servers", address])).toMatchObject({ code: 0, out: "olleh" });
  expect(await gearbun(["submit", "shout", "hi", "--servers", address])).toMatchObject({ code: 0, out: "HI" });
  // WORK_FAIL, not WORK_EXCEPTION: the handler's JobFailure is the runner's class.
  const refused = await gearbun(["submit", "refuse", "x", "--servers", address]);
  expect(refused.code).toBe(1);
  expect(refused.err).toMatch(/^gearbun submit: job \S+ failed/);

  const status = await gearbun(["status", "--servers", address]);
  expect(status.code).toBe(0);
  for (const fn of ["reverse", "refuse", "shout"])
    expect(status.out).toMatch(new RegExp(`^\\s+${fn}\\s+0\\s+0\\s+0\\s+2$`, "m"));

  const url = /metrics on (http:\/\/\S+)\/metrics/.exec(pool.errors())![1]!;
  const samples = await eventually(
    async () => {
      const s = parseExposition(await (await fetch(`${url}/metrics`)).text()).samples;
      const done = (fn: string, outcome: string) =>
        sampleValue(s, "gearman_worker_jobs_total", { function: fn, outcome });
      return done("reverse", "complete") === 1 && done("shout", "complete") === 1 && done("refuse", "fail") === 1
        ? s
        : undefined;
    },
    "the three jobs in the pool's /metrics",
    10_000,
    100,
  );
  expect(sampleValue(samples, "gearman_worker_processes")).toBe(2);
  expect(await pool.stop()).toBe(0);
  expect(pool.output()).toContain('"event":"stopped"');
}, 60_000);

test("binary - a Python handlers file runs under the binary's pool: the adapter is embedded and copied out", async () => {
  const command = [BINARY];
  writeFileSync(join(dir, "tasks.py"), 'handlers = {"greet": lambda job: "hi " + job.text()}\n');
  await using server = await gearbunDaemon(["server", "-p", "0", "-L", "127.0.0.1"], /listening on (\S+)/, {
    command,
  });
  const address = server.match[1]!;
  await using _pool = await gearbunDaemon(
    ["worker", join(dir, "tasks.py"), "--servers", address, "--log", "json"],
    /"event":"started"/,
    { command, cwd: dir, env: { GEARBUN_PYTHON: "/usr/bin/python3" } },
  );
  expect(await gearbun(["submit", "greet", "binary", "--servers", address])).toMatchObject({
    code: 0,
    out: "hi binary",
  });
});

test("binary - the demo runs its worker processes as the binary", async () => {
  const demo = await gearbun(["demo", "--workers", "2", "--clients", "1", "--jobs", "20", "--rounds", "2"]);
  expect(demo.err).toBe("");
  expect(demo.code).toBe(0);
  expect(demo.out).toContain("verdict: gearbun: every worker received jobs in every round");
}, 60_000);
