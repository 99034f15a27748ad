/**
 * Gray failures: one of a worker's two job servers goes silent — SIGSTOPped (real gearmand, the
 * embedded server in its own process), or a fault server that takes GRABs and never answers —
 * and the worker keeps taking jobs from the healthy one at full pace: the silent server's GRABs
 * go overdue (Link.overdueAfter: 500 ms to 2 s here) and their slots move to the healthy server,
 * long before the heartbeat (10 s) drops the connection. A server that answers every packet
 * 300 ms late is slow, not silent: it keeps getting GRABs.
 *
 * Jobs take 100 ms, so rates are a few dozen jobs per second per slot group: the per-second
 * bound (no second of the freeze under half the second before it) has room on a loaded machine.
 * Every worker checks its invariants after every event (`checkInvariants`) and the test asserts
 * them every 100 ms through the freeze.
 */
import { describe, expect, test } from "bun:test";
import { Client } from "../../src/client/client.ts";
import type { Arg } from "../../src/protocol/encode.ts";
import { PacketType as T } from "../../src/protocol/packets.ts";
import { Worker } from "../../src/worker/worker.ts";
import { miniJobServer, startFaultServer, type FaultPeer, type Reply } from "../support/fault-server.ts";
import { logsOnFailure } from "../support/gearmand.ts";
import { TARGETS, startTarget } from "../support/targets.ts";
import { eventually } from "./helpers.ts";

const JOB_MS = 100;
const WARM_MS = 3000;
const FREEZE_MS = 12_000;

interface Start {
  server: string;
  at: number;
  unique: string;
}

/** A worker whose one function sleeps JOB_MS and records which server each job came from, and when. */
function recordingWorker(servers: string[], concurrency: number): { worker: Worker; starts: Start[] } {
  const worker = new Worker({ servers, concurrency, checkInvariants: true });
  const starts: Start[] = [];
  worker.register("gray", async (job) => {
    starts.push({ server: job.server, at: performance.now(), unique: job.unique });
    await Bun.sleep(JOB_MS);
    return "ok";
  });
  return { worker, starts };
}

/** Jobs from `server` started in each second [from + k s, from + (k+1) s), k = 0…n-1. */
function perSecond(starts: readonly Start[], server: string, from: number, n: number): number[] {
  const counts = new Array<number>(n).fill(0);
  for (const s of starts) {
    if (s.server !== server) continue;
    const k = Math.floor((s.at - from) / 1000);
    if (k >= 0 && k < n) counts[k]!++;
  }
  return counts;
}

/** Polls the worker's invariants every 100 ms for `ms`. */
async function watch(worker: Worker, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    worker.assertInvariants();
    await Bun.sleep(Math.min(100, Math.max(0, end - performance.now())));
  }
  worker.assertInvariants();
}

async function enqueue(address: string, count: number, tag: string): Promise<void> {
  await using client = new Client({ servers: address });
  const created: Promise<string>[] = [];
  for (let i = 0; i < count; i++) created.push(client.submitBackground("gray", "", { unique: `${tag}-${i}` }));
  await Promise.all(created);
}

for (const target of TARGETS) {
  describe(`gray failures [${target}]`, () => {
    for (const concurrency of [4, 16]) {
      test(
        `gray - concurrency ${concurrency}, one of two servers SIGSTOPped 12 s: the other keeps its pace every second; after SIGCONT both serve, nothing ran twice`,
        logsOnFailure(async () => {
          await using a = await startTarget(target, { process: true });
          await using b = await startTarget(target, { process: true });
          // Enough on each that neither runs dry: the worker takes at most concurrency × 10 jobs/s.
          const perServer = (concurrency * 10 * (WARM_MS + FREEZE_MS + 6000)) / 1000;
          await Promise.all([enqueue(a.address, perServer, "a"), enqueue(b.address, perServer, "b")]);
          const { worker, starts } = recordingWorker([a.address, b.address], concurrency);
          let frozen = false;
          try {
            await worker.start();
            await watch(worker, WARM_MS);
            const freezeAt = performance.now();
            process.kill(a.pid, "SIGSTOP");
            frozen = true;
            await watch(worker, FREEZE_MS);
            process.kill(a.pid, "SIGCONT");
            frozen = false;
            const contAt = performance.now();

            const before = perSecond(starts, b.address, freezeAt - 1000, 1)[0]!;
            const during = perSecond(starts, b.address, freezeAt, FREEZE_MS / 1000);
            const statsB = worker.stats().servers[1]!;
            console.log(
              `gray [${target}, concurrency ${concurrency}]: jobs/s from the healthy server, the second before: ${before}; during the freeze: ${during.join(" ")}; its slowest recent GRAB answer ${statsB.slowestAnswerMs} ms, stalls ${statsB.stalls}`,
            );
            expect(before).toBeGreaterThan(0);
            const slow = during.map((n, k) => ({ second: k, jobs: n })).filter((s) => s.jobs < before / 2);
            expect(slow).toEqual([]);

            // After SIGCONT both serve: the frozen server's jobs are taken again.
            await eventually(
              () => {
                worker.assertInvariants();
                return starts.some((s) => s.server === a.address && s.at > contAt);
              },
              "a job from the resumed server",
              20_000,
            );
            await watch(worker, 500);
            expect(starts.some((s) => s.server === b.address && s.at > contAt)).toBe(true);
          } finally {
            if (frozen) process.kill(a.pid, "SIGCONT");
            await worker.stop({ deadline: 5000 });
          }
          // Nothing ran twice.
          const uniques = starts.map((s) => s.unique);
          expect(new Set(uniques).size).toBe(uniques.length);
        }),
        60_000,
      );
    }
  });
}

describe("gray failures [fault server]", () => {
  test("gray - a server that goes on taking GRABs but never answers one gets none once overdue; the healthy one keeps its pace every second", async () => {
    // Both serve queued jobs; then A goes mute: it reads GRABs and answers none (ECHO still).
    const jobsA = miniJobServer();
    let mute = false;
    let grabsWhileMute = 0;
    await using a = await startFaultServer({
      connect: (peer) => jobsA.script.connect?.(peer),
      reply(p, peer) {
        if (mute && p.type === T.GRAB_JOB_UNIQ) {
          grabsWhileMute++;
          return [];
        }
        return jobsA.script.reply?.(p, peer);
      },
    });
    const jobsB = miniJobServer();
    await using b = await startFaultServer(jobsB.script);
    const concurrency = 4;
    for (let i = 0; i < 300; i++) jobsA.queue("gray", "", `a-${i}`);
    for (let i = 0; i < 300; i++) jobsB.queue("gray", "", `b-${i}`);
    const { worker, starts } = recordingWorker([a.address, b.address], concurrency);
    try {
      await worker.start();
      await watch(worker, 2000);
      const muteAt = performance.now();
      mute = true;
      await eventually(() => worker.stats().servers[0]!.stalled, "the mute server's GRABs overdue", 3000);
      const stalledAfter = performance.now() - muteAt;
      const grabsAtStall = grabsWhileMute;
      const written = worker.stats().servers[0]!.grabsWrittenOff;
      await watch(worker, 3000);
      const before = perSecond(starts, b.address, muteAt - 1000, 1)[0]!;
      const during = perSecond(starts, b.address, muteAt, 3);
      const s = worker.stats().servers[0]!;
      console.log(
        `gray [fault server]: mute server stalled ${Math.round(stalledAfter)} ms after it went mute, ${written} GRABs written off; jobs/s from the healthy one: before ${before}, after ${during.join(" ")}`,
      );
      expect(stalledAfter).toBeLessThan(2500);
      expect(written).toBeGreaterThan(0);
      expect(written).toBeLessThanOrEqual(concurrency);
      expect(grabsWhileMute).toBe(grabsAtStall); // no GRAB after the stall
      expect(s.grabsWrittenOff).toBe(written);
      expect(s.grabsInFlight).toBe(0);
      expect(during.filter((n) => n < before / 2)).toEqual([]);
      // The jobs the mute server had handed out before it went mute were answered, and none ran twice.
      expect(jobsA.assigned.get(1)?.size ?? 0).toBe(0);
      const uniques = starts.map((x) => x.unique);
      expect(new Set(uniques).size).toBe(uniques.length);
    } finally {
      await worker.stop({ deadline: 2000 });
    }
  }, 20_000);

  test("gray - a server that answers every packet 300 ms late keeps getting GRABs and serving jobs; it is never taken for silent", async () => {
    const DELAY = 300;
    const mini = miniJobServer();
    const send = (peer: FaultPeer, r: Reply): void => {
      if (r instanceof Uint8Array) peer.write(r);
      else peer.send(r[0], ...(r.slice(1) as Arg[]));
    };
    await using slow = await startFaultServer({
      connect: (peer) => mini.script.connect?.(peer),
      reply(p, peer) {
        const replies: readonly Reply[] =
          p.type === T.ECHO_REQ ? [[T.ECHO_RES, p.args[0] ?? new Uint8Array()]] : (mini.script.reply?.(p, peer) ?? []);
        if (replies.length > 0) {
          setTimeout(() => {
            for (const r of replies) send(peer, r);
          }, DELAY);
        }
        return [];
      },
    });
    const fast = miniJobServer();
    await using healthy = await startFaultServer(fast.script);
    const concurrency = 4;
    for (let i = 0; i < 300; i++) mini.queue("gray", "", `s-${i}`);
    for (let i = 0; i < 300; i++) fast.queue("gray", "", `f-${i}`);
    const { worker, starts } = recordingWorker([slow.address, healthy.address], concurrency);
    try {
      await worker.start();
      const t0 = performance.now();
      await watch(worker, 4000);
      const s = worker.stats().servers[0]!;
      const fromSlow = perSecond(starts, slow.address, t0, 4);
      console.log(
        `gray [slow server]: jobs/s from the 300 ms server ${fromSlow.join(" ")}; slowest answer ${s.slowestAnswerMs} ms, overdue after ${s.overdueAfterMs} ms, stalls ${s.stalls}`,
      );
      expect(s.stalls).toBe(0);
      expect(s.stalled).toBe(false);
      expect(fromSlow.every((n) => n > 0)).toBe(true); // served every second
      expect(s.overdueAfterMs).toBeGreaterThan(DELAY);
      expect(perSecond(starts, healthy.address, t0, 4).every((n) => n > 0)).toBe(true);
    } finally {
      await worker.stop({ deadline: 2000 });
    }
  }, 20_000);
});
