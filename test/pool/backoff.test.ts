/**
 * Pool - backoff: children that die at start-up (no job server reachable) are respawned with a
 * growing delay (never a busy loop); the supervisor says why with the child's last stderr lines,
 * and still stops promptly on SIGTERM. (Handlers that do not load end the start instead: see
 * health.test.ts.)
 */
import { expect, test } from "bun:test";
import { spawnGearbun } from "../support/processes.ts";
import { HANDLERS } from "./helpers.ts";

test("pool - children that cannot reach a server: spawns back off, the reason is logged, SIGTERM exits promptly", async () => {
  // Nothing listens on port 1: each child dies as it starts.
  const cli = spawnGearbun(["worker", HANDLERS, "--servers", "127.0.0.1:1", "--log", "json"]);
  try {
    await Bun.sleep(5000);
    const events = cli.lines.map(
      (l) => JSON.parse(l) as { event: string; delay?: number; reason?: string; stderr?: string[] },
    );
    const spawns = events.filter((e) => e.event === "child:start").length;
    const delays = events.filter((e) => e.event === "child:respawn").map((e) => e.delay!);
    const deaths = events.filter((e) => e.event === "child:exit");
    console.log(`pool - backoff: ${spawns} spawns in 5 s; respawn delays ${delays.join(", ")} ms`);
    // 100 ms doubling: about 6 spawns in 5 s; a busy loop would be hundreds.
    expect(spawns).toBeGreaterThanOrEqual(3);
    expect(spawns).toBeLessThanOrEqual(10);
    for (let i = 1; i < delays.length; i++) expect(delays[i]!).toBeGreaterThan(delays[i - 1]!);
    expect(deaths[0]!.reason).toBe("no job server could be reached");
    expect(deaths[0]!.stderr!.join("\n")).toContain("no job server could be reached: 127.0.0.1:1");

    const signalledAt = Date.now();
    cli.proc.kill("SIGTERM");
    const code = await cli.proc.exited;
    const exitMs = Date.now() - signalledAt;
    console.log(`pool - backoff: exit ${code} ${exitMs} ms after SIGTERM`);
    expect(code).toBe(0);
    expect(exitMs).toBeLessThan(2000);
  } finally {
    if (cli.proc.exitCode === null) cli.proc.kill("SIGKILL");
    await cli.proc.exited;
  }
}, 20_000);
