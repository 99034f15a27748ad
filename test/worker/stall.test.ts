/**
 * The multi-server stall scenario (docs/protocol.md, "Wake-ups"): two gearmand servers, 8 worker PROCESSES (concurrency 1, each
 * connected to both), 2 submitter processes x 500 foreground jobs with distinct uniques spread
 * over both servers, 6 rounds with a pause between them (the workers go to sleep). Every job
 * completes exactly once with the right result, and every worker takes jobs in every round after
 * the first — from BOTH servers, so a worker stalled on one of its two connections (the classic
 * lost wake-up) fails the test even while the other connection keeps it busy. The idle re-grab guard is 10 minutes in the workers: only wake-ups can keep them
 * busy. Run against default gearmand, `--worker-wakeup 1`, and the embedded server with the same
 * two settings (it follows gearmand's wake-up rules).
 */
import { describe, expect, test } from "bun:test";
import { logsOnFailure } from "../support/gearmand.ts";
import { TARGETS, startTarget, type TargetName, type TargetSettings } from "../support/targets.ts";
import type { LineProcess } from "../../src/util/lines.ts";
import { reverse, spawnSubmitter, spawnWorkerProcess } from "./helpers.ts";

const WORKERS = 8;
const SUBMITTERS = 2;
const JOBS_PER_SUBMITTER = 500;
const ROUNDS = 6;
const PAUSE_MS = 300;

const VARIANTS: readonly { target: TargetName; settings: TargetSettings; label: string }[] = [
  { target: "gearmand", settings: {}, label: "default gearmand" },
  { target: "gearmand", settings: { workerWakeup: 1 }, label: "gearmand --worker-wakeup 1" },
  { target: "embedded", settings: {}, label: "embedded server" },
  { target: "embedded", settings: { workerWakeup: 1 }, label: "embedded server, workerWakeup 1" },
];

for (const { target, settings, label } of VARIANTS) {
  (TARGETS.includes(target) ? describe : describe.skip)(`stall [${label}]`, () => {
    test(
      `stall - ${WORKERS} worker processes on two servers take jobs in every round`,
      logsOnFailure(async () => {
        await using a = await startTarget(target, settings);
        await using b = await startTarget(target, settings);
        const servers = [a.address, b.address];
        const workers: LineProcess[] = [];
        try {
          for (let i = 0; i < WORKERS; i++) workers.push(spawnWorkerProcess(servers, `w${i}`));
          await Promise.all(workers.map((w, i) => w.waitLine((l) => l === "ready", `worker w${i} ready`, 15_000)));

          const seen = new Set<string>();
          for (let round = 1; round <= ROUNDS; round++) {
            /** "worker@server" → jobs taken. Job i of a submitter went to servers[i % 2]. */
            const perWorker = new Map<string, number>();
            const submitters = Array.from({ length: SUBMITTERS }, (_, c) =>
              spawnSubmitter(servers, "f", JOBS_PER_SUBMITTER, `r${round}-c${c}-`),
            );
            for (const s of submitters) {
              const line = await s.waitLine((l) => l.startsWith("{"), `round ${round} results`, 20_000);
              const { results } = JSON.parse(line) as { results: [string, string, string][] };
              expect(results.length).toBe(JOBS_PER_SUBMITTER);
              for (const [unique, outcome, text] of results) {
                expect(outcome).toBe("complete");
                const colon = text.indexOf(":");
                expect(text.slice(colon + 1)).toBe(reverse(unique));
                expect(seen.has(unique)).toBe(false);
                seen.add(unique);
                const index = Number(unique.slice(unique.lastIndexOf("-") + 1));
                const key = `${text.slice(0, colon)}@${servers[index % servers.length]}`;
                perWorker.set(key, (perWorker.get(key) ?? 0) + 1);
              }
              expect(await s.proc.exited).toBe(0);
            }
            if (round > 1) {
              const idle = workers.flatMap((_, i) => servers.map((s) => `w${i}@${s}`)).filter((k) => !perWorker.has(k));
              expect({ round, idle }).toEqual({ round, idle: [] });
            }
            await Bun.sleep(PAUSE_MS);
          }
          expect(seen.size).toBe(ROUNDS * SUBMITTERS * JOBS_PER_SUBMITTER);

          // Exactly once: the workers ran as many jobs as completed, no more.
          let ran = 0;
          for (const [i, w] of workers.entries()) {
            expect(await w.stop()).toBe(0);
            await w.ended;
            const last = w.lines.findLast((l) => l.startsWith("{"));
            expect(last).toBeDefined();
            const { id, done } = JSON.parse(last!) as { id: string; done: number };
            expect(id).toBe(`w${i}`);
            ran += done;
          }
          expect(ran).toBe(seen.size);
        } finally {
          await Promise.all(workers.map((w) => w.stop(1000)));
        }
      }),
      60_000,
    );
  });
}
