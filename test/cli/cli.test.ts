/**
 * CLI - the `gearbun` command as a user runs it: real processes, real sockets, one-line errors.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { adminLine, describeGearmand, startGearmand } from "../support/gearmand.ts";
import { type Daemon, gearbun, gearbunDaemon } from "../support/processes.ts";

const HANDLERS = join(import.meta.dir, "fixtures/handlers.ts");
/** Long-running subcommands, stopped after the file's tests at the latest. */
const started: Daemon[] = [];
async function daemon(args: string[], ready: RegExp): Promise<Daemon> {
  const d = await gearbunDaemon(args, ready);
  started.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(started.map((d) => d.stop()));
});

describe("cli - usage", () => {
  test("cli - --help lists every command and exits 0", async () => {
    const r = await gearbun(["--help"]);
    expect(r.code).toBe(0);
    for (const c of ["server", "worker", "submit", "status", "demo"]) expect(r.out).toContain(`  ${c} `);
  });

  test("cli - each command has --help", async () => {
    for (const c of ["server", "worker", "submit", "status", "demo"]) {
      const r = await gearbun([c, "--help"]);
      expect(r.code).toBe(0);
      expect(r.out).toStartWith(`Usage: gearbun ${c}`);
    }
  });

  test("cli - an unknown command, a bad flag or a missing argument is one line and a non-zero exit", async () => {
    const cases: [string[], RegExp][] = [
      [["frobnicate"], /^gearbun: unknown command "frobnicate"/],
      [["submit"], /^gearbun submit: submit needs a function name/],
      [["submit", "f", "x", "--priority", "urgent"], /^gearbun submit: --priority must be high, normal or low/],
      [["worker", "--concurrency", "0", "x.ts"], /^gearbun worker: --concurrency must be an integer >= 1/],
      [["status", "--nope"], /^gearbun status: .*nope/],
      [
        ["submit", "f", "x", "--servers", "host:notaport"],
        /^gearbun submit: servers: bad server address "host:notaport"/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await gearbun(args);
      expect(r.code).not.toBe(0);
      expect(r.err.trim().split("\n")).toHaveLength(1);
      expect(r.err.trim()).toMatch(message);
    }
  });
});

describe("cli - bad input", () => {
  test("cli - bad input is one line and exit 2: an extra argument, an empty --servers, a bad port, a negative value", async () => {
    const cases: [string[], string][] = [
      [["status", "extra"], 'gearbun status: takes no arguments, got "extra" (see gearbun status --help)'],
      [
        ["status", "--servers", ""],
        "gearbun status: --servers is empty: give host:port[,host:port…], or leave it out for $GEARMAN_SERVERS or 127.0.0.1:4730",
      ],
      [
        ["status", "--servers", "127.0.0.1:notaport"],
        'gearbun status: servers: bad server address "127.0.0.1:notaport": port must be 1-65535',
      ],
      [["submit", "--timeout", "-5", "f", "x"], 'gearbun submit: --timeout must be an integer >= 0, got "-5"'],
      [["top", "--interval", "-1"], 'gearbun top: --interval must be a number of seconds >= 0.1, got "-1"'],
    ];
    for (const [args, line] of cases) {
      const r = await gearbun(args);
      expect([args.join(" "), r.code, r.err.trim(), r.out]).toEqual([args.join(" "), 2, line, ""]);
    }
  });

  test("cli - check's bad flag is a Nagios UNKNOWN status line on stdout, exit 3", async () => {
    const r = await gearbun(["check", "--frobnicate"]);
    expect([r.code, r.out.trim(), r.err]).toEqual([
      3,
      "GEARMAN UNKNOWN - Unknown option '--frobnicate' (see gearbun check --help)",
      "",
    ]);
  });
});

describe("cli - on the embedded server", () => {
  test("cli - server, worker, submit (argument, stdin, background) and status work together", async () => {
    const server = await daemon(["server", "--port", "0"], /listening on (127\.0\.0\.1:(\d+))/);
    const address = server.match[1]!;
    expect(await adminLine(Number(server.match[2]), "version")).toMatch(/^OK/);

    const worker = await daemon(
      ["worker", HANDLERS, "--servers", address, "--concurrency", "2", "--client-id", "cli-test"],
      /gearbun worker: reverse, shout, hold/,
    );

    const r1 = await gearbun(["submit", "reverse", "hello", "--servers", address]);
    expect(r1).toEqual({ code: 0, out: "olleh", err: "" });

    const r2 = await gearbun(["submit", "shout", "--servers", address, "--priority", "high"], { stdin: "from stdin" });
    expect(r2.out).toBe("FROM STDIN");

    const r3 = await gearbun(["submit", "reverse", "bg", "--background", "--servers", address]);
    expect(r3.code).toBe(0);
    expect(r3.out.trim()).toMatch(/^H:/);

    const st = await gearbun(["status", "--servers", address]);
    expect(st.code).toBe(0);
    expect(st.out).toContain(address);
    expect(st.out).toMatch(/FUNCTION\s+TOTAL\s+RUNNING\s+WAITING\s+WORKERS/);
    expect(st.out).toMatch(/reverse\s+\d+\s+\d+\s+\d+\s+1/);

    // TOTAL counts the running jobs too: three held jobs on a worker of concurrency 2 are
    // 3 in total, 2 running, 1 waiting. Polled, since the worker takes them a moment later.
    for (let i = 0; i < 3; i++) await gearbun(["submit", "hold", "3000", "--background", "--servers", address]);
    let held = "";
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
      held = (await gearbun(["status", "--servers", address])).out;
      if (/hold\s+3\s+2\s/.test(held)) break;
      await Bun.sleep(50);
    }
    expect(held).toMatch(/hold\s+3\s+2\s+1\s+1\n/);

    // SIGTERM: graceful stop, exit 0.
    worker.proc.kill("SIGTERM");
    expect(await worker.proc.exited).toBe(0);
    server.proc.kill("SIGTERM");
    expect(await server.proc.exited).toBe(0);
  });

  test("cli - status of a server that is down says so and exits 1", async () => {
    const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = probe.port;
    probe.stop(true);
    const r = await gearbun(["status", "--servers", `127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`127.0.0.1:${port}`);
    expect(r.out).toContain("unreachable");
  });
});

describeGearmand("cli - on real gearmand", () => {
  test("cli - a gearbun worker and gearbun submit through gearmand; status reads it", async () => {
    await using g = await startGearmand();
    const worker = await daemon(["worker", HANDLERS, "--servers", g.address], /gearbun worker:/);
    const r = await gearbun(["submit", "reverse", "gearmand", "--servers", g.address]);
    expect(r).toEqual({ code: 0, out: "dnamraeg", err: "" });
    const st = await gearbun(["status", "--servers", g.address]);
    expect(st.out).toMatch(/shout\s+0\s+0\s+0\s+1/);
    worker.proc.kill("SIGTERM");
    expect(await worker.proc.exited).toBe(0);
  });
});
