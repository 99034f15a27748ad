/**
 * Pool - backoff: a handlers module that throws at import makes every child die at start-up;
 * the supervisor respawns with a growing delay (never a busy loop), says why with the child's
 * last stderr lines, and still stops promptly on SIGTERM.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { spawnGearbun } from "../support/processes.ts";
import { FIXTURES } from "./helpers.ts";

test("pool - a handlers file that throws at import: spawns back off, the reason is logged, SIGTERM exits promptly", async () => {
  // No server is needed: the children die before they connect.
  const cli = spawnGearbun(["worker", join(FIXTURES, "broken.ts"), "--servers", "127.0.0.1:1", "--log", "json"]);
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
    expect(deaths[0]!.reason).toContain("broken on purpose: the database URL is missing");
    expect(deaths[0]!.stderr!.join("\n")).toContain("broken on purpose");

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
