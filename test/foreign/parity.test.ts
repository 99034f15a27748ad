/**
 * Foreign handlers - parity: the same handlers written in TypeScript, Python and PHP, each run
 * by `gearbun worker`, give a gearbun Client and libgearman's `gearman` CLI the same results:
 * echo, reverse, status updates with data chunks, a failure, an exception, a slow job past its
 * timeout. What the TypeScript handlers give is the reference. A crash of the handler process
 * mid-job, which a TypeScript handler (run in the Bun child itself) has no equivalent of, gives
 * the same failure from Python and PHP.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { describeGearmand, startGearmand } from "../support/gearmand.ts";
import { tempDir } from "../pool/helpers.ts";
import { type CliSees, Client, cliSees, clientSees, FIXTURES, startWorkerCli, stopWorkerCli } from "./helpers.ts";

const CASES: readonly (readonly [string, string])[] = [
  ["echo", "hello world"],
  ["reverse", "stressed"],
  ["chunks", "a,b,c"],
  ["failing", "x"],
  ["raising", "x"],
  ["slow", "x"],
];

interface Seen {
  client: Record<string, string[]>;
  cli: Record<string, CliSees>;
  /** A handler process that kills itself mid-job (Python and PHP: a TypeScript handler has none of its own). */
  crash?: { client: string[]; cli: CliSees };
}

/** Runs every case against `gearbun worker FILE` on a gearmand of its own. */
async function observe(file: string): Promise<Seen> {
  await using g = await startGearmand();
  // Short, so the slow case costs little: the worker's own clock ends the job.
  const dir = tempDir({ "pool.toml": "[functions.slow]\ntimeout = 0.3   # seconds\n" });
  const cli = await startWorkerCli([
    file,
    "--config",
    join(dir, "pool.toml"),
    "--servers",
    g.address,
    "--processes",
    "1",
    "--concurrency",
    "3",
  ]);
  try {
    await using client = new Client({ servers: g.address });
    const seen: Seen = { client: {}, cli: {} };
    for (const [fn, payload] of CASES) seen.client[fn] = await clientSees(client, fn, payload);
    const clis = await Promise.all(CASES.map(([fn, payload]) => cliSees(g.port, fn, payload)));
    CASES.forEach(([fn], i) => {
      seen.cli[fn] = clis[i]!;
    });
    if (!file.endsWith(".ts"))
      seen.crash = { client: await clientSees(client, "crash", "x"), cli: await cliSees(g.port, "crash", "x") };
    return seen;
  } finally {
    expect(await stopWorkerCli(cli)).toBe(0);
  }
}

describeGearmand("foreign handlers - parity", () => {
  test("parity - TypeScript, Python and PHP handlers give a Client and the gearman CLI the same results", async () => {
    const ts = await observe(join(FIXTURES, "handlers.ts"));
    // The reference itself, so a change that breaks every language alike still fails here.
    expect(ts.client.echo).toEqual(["complete hello world"]);
    expect(ts.client.reverse).toEqual(["complete desserts"]);
    expect(ts.client.chunks).toEqual([
      "status 1/3",
      "data A",
      "status 2/3",
      "data B",
      "status 3/3",
      "data C",
      "warning last chunk sent",
      "complete done:3",
    ]);
    expect(ts.client.failing!.at(-1)).toBe("fail");
    expect(ts.client.raising!.join("\n")).toContain("bad input: x");
    expect(ts.client.slow!.at(-1)).toBe("fail");
    expect(ts.cli.reverse).toMatchObject({ code: 0, stdout: "desserts" });
    expect(ts.cli.chunks!.stdout).toContain("ABCdone:3");
    expect(ts.cli.failing).toMatchObject({ code: 1, hung: false });
    expect(ts.cli.failing!.stderr).toContain("Job failed");

    for (const file of ["handlers.py", "handlers.php"]) {
      const other = await observe(join(FIXTURES, file));
      expect({ file, ...other.client }).toEqual({ file, ...ts.client });
      expect({ file, ...other.cli }).toEqual({ file, ...ts.cli });
      // The crash: a failure with the same kind of text through both callers.
      const crash = other.crash!;
      expect(crash.client.at(-1)).toBe("fail");
      const died = new RegExp(
        `handler process \\d+ \\(.*${file.replace(".", "\\.")}\\) died \\(signal SIGKILL\\) while running job H:\\*`,
      );
      expect(crash.client.join("\n")).toMatch(died);
      expect(crash.cli).toMatchObject({ code: 1, hung: false });
      expect(crash.cli.stderr).toMatch(died);
    }
  }, 90_000);
});
