import { describe, expect, test } from "bun:test";
import type { ServerSnapshot } from "../../src/admin/cluster.ts";
import { alerts, CheckState, evaluateCheck, parseRange, parseThresholds } from "../../src/monitor/check.ts";
import { Worker } from "../../src/worker/worker.ts";
import { freePort } from "../support/gearmand.ts";
import { startScene } from "../support/operator-tools.ts";
import { describeTargets, startTarget } from "../support/targets.ts";
import { gearbun, parsePerfdata } from "./cli.ts";

function snap(server: string, rows: [string, number, number, number][], up = true): ServerSnapshot {
  return {
    server,
    up,
    version: up ? "1.1.20" : "",
    status: rows.map(([f, total, running, workers]) => ({ function: f, total, running, workers })),
    workers: [],
    error: up ? null : "connect failed",
    elapsedMs: 1,
    at: 0,
  };
}

describe("check", () => {
  test("check - Nagios ranges: N, N:, ~:N, A:B, @A:B", () => {
    const cases: [string, number, boolean][] = [
      ["10", 10, false],
      ["10", 11, true],
      ["10", -1, true],
      ["2:", 1, true],
      ["2:", 5, false],
      ["~:3", -100, false],
      ["~:3", 4, true],
      ["2:4", 3, false],
      ["2:4", 5, true],
      ["@2:4", 3, true],
      ["@2:4", 1, false],
    ];
    expect(cases.map(([r, v]) => alerts(parseRange(r, "-w"), v))).toEqual(cases.map((c) => c[2]));
    for (const bad of ["", "x", "5:1", "1:y"]) expect(() => parseRange(bad, "-w")).toThrow(/-w: bad threshold/);
  });

  test("check - sums functions over servers; worst state wins; perfdata per function", () => {
    const t = parseThresholds({});
    const ok = evaluateCheck([snap("a:1", [["f", 3, 1, 2]]), snap("b:1", [["f", 2, 0, 1]])], t);
    expect(ok.state).toBe(CheckState.OK);
    expect(ok.output).toBe(
      "GEARMAN OK - 2/2 servers up, 1 functions, 4 waiting, 3 worker conns | 'f_waiting'=4;10;100;0 'f_running'=1 'f_worker'=3;25;50;0",
    );
    const warn = evaluateCheck([snap("a:1", [["f", 12, 0, 1]])], t);
    expect([warn.state, warn.output.split(" | ")[0]]).toEqual([
      CheckState.WARNING,
      "GEARMAN WARNING - f 12 waiting; 1/1 servers up, 1 functions, 12 waiting, 1 worker conns",
    ]);
    const down = evaluateCheck([snap("a:1", [["f", 12, 0, 1]]), snap("b:1", [], false)], t);
    expect(down.state).toBe(CheckState.CRITICAL);
    expect(down.output).toStartWith("GEARMAN CRITICAL - b:1 down (connect failed); 1/2 servers up");
    const orphan = evaluateCheck([snap("a:1", [["f", 1, 0, 0]])], t);
    expect(orphan.output).toStartWith("GEARMAN CRITICAL - f has jobs waiting and no worker;");
    const unknownFn = evaluateCheck([snap("a:1", [["f", 0, 0, 1]])], t, ["g"]);
    expect(unknownFn.output).toStartWith("GEARMAN CRITICAL - g unknown to every server;");
    const quoted = evaluateCheck([snap("a:1", [["it's", 0, 0, 1]])], t);
    expect(parsePerfdata(quoted.output).get("it's_worker")?.value).toBe("1");
  });
});

describeTargets("check CLI", (target) => {
  test("check - exit codes OK, WARNING, CRITICAL and UNKNOWN; perfdata parses", async () => {
    await using server = await startTarget(target);
    await using _scene = await startScene(server.address, "ops_check", 4);
    const s = ["--servers", server.address, "-f", "ops_check"];

    const ok = await gearbun(["check", ...s]);
    expect([ok.code, ok.out]).toEqual([
      0,
      "GEARMAN OK - 1/1 servers up, 1 functions, 3 waiting, 1 worker conns | 'ops_check_waiting'=3;10;100;0 'ops_check_running'=1 'ops_check_worker'=1;25;50;0\n",
    ]);
    const perf = parsePerfdata(ok.out);
    expect(perf.get("ops_check_waiting")).toEqual({ value: "3", rest: ["10", "100", "0"] });
    expect(perf.get("ops_check_running")).toEqual({ value: "1", rest: [] });

    const warn = await gearbun(["check", ...s, "-w", "2"]);
    expect([warn.code, warn.out.split(" | ")[0]]).toEqual([
      1,
      "GEARMAN WARNING - ops_check 3 waiting; 1/1 servers up, 1 functions, 3 waiting, 1 worker conns",
    ]);
    const crit = await gearbun(["check", ...s, "-w", "1", "-c", "2"]);
    expect(crit.code).toBe(2);
    expect(crit.out).toStartWith("GEARMAN CRITICAL - ops_check 3 waiting;");
    const fewWorkers = await gearbun(["check", ...s, "-W", "2:", "-C", "1:"]);
    expect([fewWorkers.code, fewWorkers.out]).toMatchObject([1, expect.stringContaining("ops_check 1 worker conns")]);

    const badRange = await gearbun(["check", ...s, "-w", "ten"]);
    expect([badRange.code, badRange.out.trim()]).toEqual([
      3,
      'GEARMAN UNKNOWN - -w: bad threshold "ten" (Nagios range: N, N:, ~:N, A:B, @A:B)',
    ]);
    const badFlag = await gearbun(["check", "--nope"]);
    expect(badFlag.code).toBe(3);
  });

  test("check - a server that does not answer is CRITICAL, the other still counted", async () => {
    await using server = await startTarget(target);
    await using _scene = await startScene(server.address, "ops_check_down", 1);
    const dead = `127.0.0.1:${freePort()}`;
    const r = await gearbun(["check", "--servers", `${server.address},${dead}`, "-t", "1000"]);
    expect(r.code).toBe(2);
    expect(r.out).toStartWith(`GEARMAN CRITICAL - ${dead} down (`);
    expect(r.out).toContain("1/2 servers up");
    expect(parsePerfdata(r.out).get("ops_check_down_worker")?.value).toBe("1");
  });

  test("check - --job submits a test job and reports its round trip; --expect checks the result", async () => {
    await using server = await startTarget(target);
    await using worker = new Worker({ servers: server.address });
    worker.register("ops_ping", (job) => `pong ${new TextDecoder().decode(job.payload)}`);
    await worker.start();
    const s = ["--servers", server.address, "-f", "ops_ping"];
    const ok = await gearbun(["check", ...s, "--job", "ops_ping:hi", "--expect", "pong hi"]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^GEARMAN OK - .*, job ops_ping in \d+\.\d ms \| /);
    const rtt = parsePerfdata(ok.out).get("ops_ping_rtt")!.value;
    expect(rtt).toMatch(/^\d+\.\d{6}s$/);
    expect(Number.parseFloat(rtt)).toBeLessThan(5);
    const wrong = await gearbun(["check", ...s, "--job", "ops_ping:hi", "--expect", "nope"]);
    expect([wrong.code, wrong.out]).toMatchObject([
      2,
      expect.stringContaining(`job ops_ping: result "pong hi" lacks "nope"`),
    ]);
    const nobody = await gearbun(["check", "--servers", server.address, "--job", "ops_nobody:x", "-t", "500"]);
    expect(nobody.code).toBe(2);
    expect(nobody.out).toContain("job ops_nobody: ");
  });
});
