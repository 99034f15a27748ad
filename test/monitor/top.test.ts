import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { pollCluster } from "../../src/admin/cluster.ts";
import { TopView } from "../../src/monitor/top.ts";
import { freePort } from "../support/gearmand.ts";
import { reportedVersion } from "../support/gearmand-version.ts";
import { startScene } from "../support/operator-tools.ts";
import { describeTargets, startTarget } from "../support/targets.ts";
import { gearbun, gearbunDaemon } from "./cli.ts";

/** The FUNCTION table's row for `fn`, split on runs of two or more spaces. */
function row(out: string, fn: string): string[] {
  const line = out.split("\n").find((l) => l.startsWith(`${fn} `));
  if (line === undefined) throw new Error(`no row for ${fn} in:\n${out}`);
  return line.split(/ {2,}/);
}

describeTargets("top", (target) => {
  test("top - --once prints servers and per function totals, running, waiting, workers", async () => {
    await using server = await startTarget(target);
    await using _scene = await startScene(server.address, "ops_top", 5);
    const dead = `127.0.0.1:${freePort()}`;
    const r = await gearbun(["top", "--once", "--servers", `${server.address},${dead}`, "--timeout", "1000"]);
    expect(r.code).toBe(1); // a server is down
    expect(r.out).toMatch(/^gearbun top - 2 server\(s\), 1 up, 1 down - \d\d:\d\d:\d\d UTC\n/);
    const lines = r.out.split("\n");
    const up = lines.find((l) => l.startsWith(server.address))!;
    const columns = new RegExp(`^${server.address} +up +(\\S*) +1 +\\d+ ms$`).exec(up);
    expect(columns).not.toBeNull();
    // The version column: gearmand's own ("" for a build from a tree without git metadata).
    expect(columns![1]).toEqual(target === "gearmand" ? reportedVersion() : expect.stringMatching(/^gearbun-/));
    expect(lines.find((l) => l.startsWith(dead))).toMatch(/down since \d\d:\d\d:\d\d/);
    expect(row(r.out, "ops_top")).toEqual(["ops_top", "5", "1", "4", "1", "-", `${server.address} 5/1/1`]);

    const one = await gearbun(["top", "--once", "--servers", server.address]);
    expect(one.code).toBe(0);
  });
});

describe("top", () => {
  test("top - the view shows the change per second between refreshes and since when a server is down", async () => {
    await using server = await startTarget("embedded");
    await using scene = await startScene(server.address, "ops_rate", 2);
    const view = new TopView();
    const first = view.render(await pollCluster(server.address), 1_000_000);
    expect(row(first, "ops_rate")[5]).toBe("-");
    await scene.submit(4);
    const second = view.render(await pollCluster(server.address), 1_002_000);
    expect(row(second, "ops_rate").slice(1, 6)).toEqual(["6", "1", "5", "1", "2.0"]);
    await server.stop();
    const down1 = view.render(await pollCluster(server.address, { timeout: 500 }), 1_004_000);
    const down2 = view.render(await pollCluster(server.address, { timeout: 500 }), 1_009_000);
    for (const d of [down1, down2]) expect(d).toContain("down since 00:16:44");
    expect(down2).toContain("(no functions)");
  });

  test("top - a bad interval is a usage error", async () => {
    const r = await gearbun(["top", "--interval", "0"]);
    expect([r.code, r.err.trim()]).toEqual([2, 'gearbun top: --interval must be a number of seconds >= 0.1, got "0"']);
  });
});

describe("top live", () => {
  test("top - piped, it prints a table per refresh until SIGINT, then exits 0", async () => {
    await using server = await startTarget("embedded");
    await using _scene = await startScene(server.address, "ops_live", 3);
    await using top = await gearbunDaemon(
      ["top", "--servers", server.address, "--interval", "0.2"],
      /(gearbun top - [\s\S]*){3}/,
    );
    expect(await top.stop()).toBe(0);
    const tables = top.output().split("gearbun top - ").slice(1);
    expect(tables.length).toBeGreaterThanOrEqual(3);
    expect(row(tables[2]!, "ops_live").slice(1, 6)).toEqual(["3", "1", "2", "1", "0.0"]);
    expect(top.output()).not.toContain("\x1b["); // no terminal control codes into a pipe
  });

  test("top - gearbun top | head -3 exits within 2 s, quietly", async () => {
    await using server = await startTarget("embedded");
    const main = join(import.meta.dir, "../../src/cli/main.ts");
    const began = Date.now();
    const proc = Bun.spawn(
      [
        "sh",
        "-c",
        `"${process.execPath}" "${main}" top --servers ${server.address} --interval 0.5 | head -3; echo "top exit \${PIPESTATUS:-?}" >&2`,
      ],
      { stdout: "pipe", stderr: "pipe", env: { ...process.env, GEARMAN_SERVERS: "" } },
    );
    const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
    const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    await proc.exited;
    clearTimeout(timer);
    const ms = Date.now() - began;
    console.log(`top - | head -3: the pipeline ended after ${ms} ms`);
    expect(out.split("\n").slice(0, 3)[0]).toMatch(/^gearbun top - 1 server\(s\), 1 up, 0 down/);
    expect(err).not.toContain("EPIPE");
    expect(err).not.toContain("error");
    expect(ms).toBeLessThan(2000);
  });

  test("top - q quits the live view on a terminal", async () => {
    await using server = await startTarget("embedded");
    const main = join(import.meta.dir, "../../src/cli/main.ts");
    // script(1) gives it a pseudo-terminal; the q arrives after the first refresh.
    const proc = Bun.spawn(
      ["script", "-qec", `"${process.execPath}" "${main}" top --servers ${server.address} --interval 0.3`, "/dev/null"],
      { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: { ...process.env, GEARMAN_SERVERS: "" } },
    );
    const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
    const out = new Response(proc.stdout).text();
    await Bun.sleep(1000);
    proc.stdin.write("q");
    await proc.stdin.flush();
    const code = await proc.exited;
    clearTimeout(timer);
    expect(code).toBe(0);
    const text = await out;
    expect(text).toContain("gearbun top - 1 server(s), 1 up");
    expect(text.endsWith("\x1b[?25h\x1b[?1049l")).toBe(true); // the screen restored
  });

  test("top - the table fits 80 columns: the per-server column goes first, nothing wraps", async () => {
    await using a = await startTarget("embedded");
    await using b = await startTarget("embedded");
    await using _s1 = await startScene(a.address, "a_function_with_a_rather_long_name", 3);
    await using _s2 = await startScene(b.address, "a_function_with_a_rather_long_name", 2);
    const dead = `127.0.0.1:${freePort()}`;
    const snaps = await pollCluster([a.address, b.address, dead], { timeout: 500 });
    const wide = new TopView().render(snaps, 1_000_000, { width: 300 });
    expect(wide).toContain("PER SERVER");
    const narrow = new TopView().render(snaps, 1_000_000, { width: 80 });
    for (const line of narrow.trimEnd().split("\n")) expect(line.length).toBeLessThanOrEqual(80);
    expect(narrow).not.toContain("PER SERVER");
    expect(row(narrow, "a_function_with_a_rather_long_name").slice(1, 5)).toEqual(["5", "2", "3", "2"]);
    const coloured = new TopView().render(snaps, 1_000_000, { width: 80, color: true });
    expect(coloured.split("\n").find((l) => l.includes(dead))).toMatch(/^\x1b\[31m.*\x1b\[0m$/);
  });
});
