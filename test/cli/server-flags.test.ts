/**
 * CLI - `gearbun server` takes gearmand's flags (names and short forms); flags that do not apply
 * are accepted with a one-line notice, unknown ones are a one-line error with exit code 2 (a bad address, like any configuration
 * error, exits 1).
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Admin } from "../../src/admin/admin.ts";
import { Client } from "../../src/client/client.ts";
import { gearbun, gearbunDaemon } from "../monitor/cli.ts";
import { eventually } from "../support/eventually.ts";
import { describeGearmand, startGearmand } from "../support/gearmand.ts";

const READY = /listening on (127\.0\.0\.1:\d+) \(pid (\d+)\)/;

describe("cli - server flags", () => {
  test("cli - server: -p 0 -L, --job-handle-prefix, -w, -j, -P, -l and --verbose work together", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gearbun-flags-"));
    try {
      const pidFile = join(dir, "gearbun.pid");
      const logFile = join(dir, "gearbun.log");
      const s = await gearbunDaemon(
        ["server", "-p", "0", "-L", "127.0.0.1", "--job-handle-prefix", "OPS", "-w", "1", "-j", "2"].concat([
          "-P",
          pidFile,
          "-l",
          logFile,
          "--verbose",
          "INFO",
        ]),
        READY,
      );
      const address = s.match[1]!;
      expect(readFileSync(pidFile, "utf8")).toBe(`${s.match[2]}\n`);
      await using client = new Client({ servers: address });
      expect(await client.submitBackground("ops_flags", "x")).toMatch(/^OPS:\d+$/); // numbered from the start time (firstHandle)
      await using admin = new Admin(address);
      expect(await admin.version()).toBe("gearbun-0.1.0");
      expect(await s.stop()).toBe(0);
      expect(existsSync(pidFile)).toBe(false);
      const log = readFileSync(logFile, "utf8");
      expect(log).toMatch(new RegExp(`Z listening on ${address} \\(pid \\d+, gearbun-0.1.0, verbose INFO\\)\\n`));
      expect(log).toContain("worker-wakeup 1, job-retries 2");
      expect(log).toMatch(/Z SIGINT: stopping\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("cli - server: -q libsqlite3 --libsqlite3-db keeps background jobs across a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gearbun-flags-"));
    try {
      const db = join(dir, "queue.db");
      const first = await gearbunDaemon(["server", "-p", "0", "-q", "libsqlite3", "--libsqlite3-db", db], READY);
      const address = first.match[1]!;
      {
        await using client = new Client({ servers: address });
        await client.submitBackground("ops_durable", "kept");
      }
      expect(await first.stop()).toBe(0);
      const port = address.split(":")[1]!;
      await using second = await gearbunDaemon(["server", "--port", port, "--store", db], READY);
      await using admin = new Admin(second.match[1]!);
      expect((await admin.status()).find((r) => r.function === "ops_durable")?.total).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("cli - server: gearmand flags that do not apply are accepted with a one-line notice each", async () => {
    await using s = await gearbunDaemon(
      [
        "server",
        "-p",
        "0",
        "--threads",
        "8",
        "-R",
        "--keepalive",
        "--keepalive-idle",
        "30",
        "--keepalive-count",
        "3",
        "-d",
        "-v",
        "-v",
      ],
      READY,
    );
    await using admin = new Admin(s.match[1]!);
    expect(await admin.version()).toBe("gearbun-0.1.0");
    // --keepalive-idle 30 is the accepted connection's keepalive idle time (ss shows its timer).
    const port = s.match[1]!.split(":").at(-1);
    // (Until the last reply is acknowledged, ss shows the retransmit timer instead.)
    const timer = await eventually(
      () =>
        /timer:\(keepalive,(\d+)sec/.exec(
          Bun.spawnSync(["ss", "-tno", "state", "established", `( sport = :${port} )`]).stdout.toString(),
        ) ?? undefined,
      "the keepalive timer in ss",
      5000,
      100,
    );
    expect(Number(timer![1])).toBeGreaterThan(20);
    expect(Number(timer![1])).toBeLessThanOrEqual(30);
    await s.stop();
    const notices = s.errors().trim().split("\n");
    expect(notices).toEqual([
      "gearbun server: --threads ignored: one event loop serves every connection",
      "gearbun server: --daemon ignored: stays in the foreground; run it under a supervisor",
      "gearbun server: --round-robin ignored: work is handed out in the order workers ask",
      "gearbun server: --keepalive-count ignored: Bun sets only the idle time (--keepalive-idle); the system's count applies",
    ]);
    expect(s.output()).toContain("verbose NOTICE"); // ERROR raised two steps (WARNING, NOTICE) by -v -v
  });

  test("cli - server: unknown flags and bad values are one-line errors with exit code 2", async () => {
    const cases: [string[], RegExp][] = [
      [["--no-such-flag"], /^gearbun server: Unknown option '--no-such-flag' \(see gearbun server --help\)$/],
      [["-q", "libpq"], /^gearbun server: --queue-type libpq is not available \(builtin or libsqlite3\)$/],
      [["-q", "libsqlite3"], /^gearbun server: -q libsqlite3 needs --libsqlite3-db FILE$/],
      [["--libsqlite3-db", "x.db"], /^gearbun server: --libsqlite3-db needs -q libsqlite3/],
      [["--verbose", "LOUD"], /^gearbun server: --verbose must be one of FATAL, .*DEBUG, got "LOUD"$/],
      [["-p", "x"], /^gearbun server: --port must be an integer >= 0, got "x"$/],
    ];
    for (const [args, error] of cases) {
      const r = await gearbun(["server", ...args]);
      expect([r.code, r.err.trim()]).toEqual([2, expect.stringMatching(error)]);
    }
    // a bad address is a configuration error (exit 1), as for --servers
    const metrics = await gearbun(["server", "-p", "0", "--metrics", "nowhere"]);
    expect([metrics.code, metrics.err.trim()]).toEqual([
      1,
      'gearbun server: --metrics: expected HOST:PORT (port 0-65535; 0 picks a free one), got "nowhere"',
    ]);
    const version = await gearbun(["server", "-V"]);
    expect([version.code, version.out]).toEqual([0, "gearbun server gearbun-0.1.0\n"]);
  });
});

describeGearmand("cli - server flags like gearmand's", () => {
  test("cli - server: --job-handle-prefix makes the handles gearmand makes", async () => {
    await using g = await startGearmand({ args: ["--job-handle-prefix", "OPS"] });
    await using s = await gearbunDaemon(["server", "-p", "0", "--job-handle-prefix", "OPS"], READY);
    const handles: string[] = [];
    for (const address of [g.address, s.match[1]!]) {
      await using client = new Client({ servers: address });
      handles.push(await client.submitBackground("ops_prefix", "x"));
    }
    expect(handles[0]).toMatch(/^OPS:\d+$/);
    expect(handles[1]).toMatch(/^OPS:\d+$/);
  });
});
