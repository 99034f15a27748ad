/**
 * Foreign handlers - exec: `--exec CMD` runs a long-lived handler process of any language (here
 * one written from docs/handler-protocol.md alone), `--exec-per-job NAME=CMD` one process per
 * job; a bad frame, a crash, a non-zero exit and a timeout each fail only their job, with a
 * clear text, and the next job runs.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { describeGearmand, startGearmand } from "../support/gearmand.ts";
import { gearbun } from "../support/processes.ts";
import { tempDir } from "../pool/helpers.ts";
import { Client, clientSees, FIXTURES, startWorkerCli, stopWorkerCli } from "./helpers.ts";

const EXEC = `${process.execPath} ${join(FIXTURES, "exec-handler.js")}`;

describeGearmand("foreign handlers - exec", () => {
  test("exec - a handler process written from the protocol document serves jobs; a bad frame and a crash fail their job and the process is replaced", async () => {
    await using g = await startGearmand();
    const cli = await startWorkerCli(["--exec", EXEC, "--servers", g.address, "--concurrency", "1"]);
    try {
      await using client = new Client({ servers: g.address });
      expect(await clientSees(client, "upper", "shout")).toEqual(["complete SHOUT"]);
      expect(await clientSees(client, "chunks", "a,b")).toEqual([
        "status 1/2",
        "data a",
        "status 2/2",
        "data b",
        "complete done:2",
      ]);
      const raised = await clientSees(client, "raising", "x");
      expect(raised.at(-1)).toBe("fail");
      expect(raised.join("\n")).toContain("bad input: x");

      const first = await client.submit("pid", "").text();
      const garbage = await clientSees(client, "garbage", "");
      expect(garbage.at(-1)).toBe("fail");
      expect(garbage.join("\n")).toContain("bad frame from the handler: unknown frame type 0x5a at byte");
      const second = await client.submit("pid", "").text();
      expect(second).not.toBe(first);

      const bad = await clientSees(client, "badstatus", "");
      expect(bad.at(-1)).toBe("fail");
      expect(bad.join("\n")).toContain('sent STATUS "one"/"3": not decimal integers');

      const crashed = await clientSees(client, "crash", "");
      expect(crashed.join("\n")).toMatch(/handler process \d+ \(--exec .*exec-handler\.js\) died \(exit code 7\)/);
      expect(await client.submit("pid", "").text()).not.toBe(second);
      expect(await clientSees(client, "upper", "again")).toEqual(["complete AGAIN"]);
    } finally {
      expect(await stopWorkerCli(cli)).toBe(0);
    }
  }, 30_000);

  test("exec - per job: payload on stdin, stdout the result, the job in the environment; a non-zero exit fails with stderr's last lines; a timeout kills it", async () => {
    await using g = await startGearmand();
    const dir = tempDir({
      "pool.toml": [
        "exec-per-job = [",
        '  "count=wc -c",',
        '  "copy=cat",',
        '  "about=printf %s \\"$GEARMAN_FUNCTION $GEARMAN_UNIQUE $GEARMAN_ATTEMPT\\"",',
        '  "refuse=echo first >&2; echo oops >&2; exit 3",',
        '  "sleepy=sleep 30",',
        "]",
        "[functions.sleepy]",
        "timeout = 0.3",
        "",
      ].join("\n"),
    });
    const cli = await startWorkerCli([
      "--config",
      join(dir, "pool.toml"),
      "--servers",
      g.address,
      "--concurrency",
      "2",
    ]);
    try {
      await using client = new Client({ servers: g.address });
      expect((await client.submit("count", "12345").text()).trim()).toBe("5");
      const every = Uint8Array.from({ length: 256 }, (_, i) => i);
      expect(await client.submit("copy", every)).toEqual(every);
      expect(await client.submit("about", "", { unique: "u-9" }).text()).toBe("about u-9 1");
      const refused = await clientSees(client, "refuse", "x");
      expect(refused.at(-1)).toBe("fail");
      expect(refused.join("\n")).toContain(
        "refuse: `echo first >&2; echo oops >&2; exit 3` exited with code 3: first | oops",
      );
      const began = Date.now();
      const sleepy = await clientSees(client, "sleepy", "x");
      expect(sleepy.at(-1)).toBe("fail");
      expect(sleepy.join("\n")).toContain("timed out after 300 ms");
      expect(Date.now() - began).toBeLessThan(10_000);
      expect((await client.submit("count", "abc").text()).trim()).toBe("3");
    } finally {
      expect(await stopWorkerCli(cli)).toBe(0);
    }
  }, 30_000);

  test("exec - a malformed --exec-per-job is one line and exit 2", async () => {
    const r = await gearbun(["worker", "--exec-per-job", "no-equals-sign", "--servers", "127.0.0.1:1"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('execPerJob: must be NAME=CMD entries, got "no-equals-sign"');
    expect(r.err.trim().split("\n").length).toBe(1);
  });
});
