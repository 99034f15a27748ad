/**
 * What gearmand (1.1 and 2.0) actually does where the Worker's design depends on it, found by
 * experiment and kept as tests (raw protocol peers, no gearbun Worker involved). Each runs
 * against the embedded server too, which does the same except where marked:
 *
 * - CAN_DO_TIMEOUT expiry re-queues the job (no NOOP, no message to the timed-out worker);
 *   that worker's late WORK_COMPLETE then gets ERROR JOB_NOT_FOUND.
 * - The timer is ONE per worker connection, for one job assigned on it: each assignment
 *   restarts it, for the first job in gearmand 1.1 (the other is never timed) and for the newest
 *   in gearmand 2.0 (the earlier one is never timed), and a PRE_SLEEP on the connection (which a
 *   worker with free slots sends while a job runs) cancels it. A worker running several jobs per
 *   connection cannot rely on it, so gearbun's Worker enforces the timeout itself (WORK_FAIL).
 *   (Embedded server, deliberately: one timer per job, which PRE_SLEEP does not cancel.)
 * - Timeouts under 1000 ms are raised to 1000 ms.
 * - WORK_EXCEPTION ends the job: a WORK_FAIL after it gets ERROR JOB_NOT_FOUND.
 * - A client that did not send OPTION_REQ `exceptions` receives an exception as WORK_FAIL.
 */
import { expect, test } from "bun:test";
import { PacketType as T } from "../../src/protocol/packets.ts";
import { logsOnFailure } from "../support/gearmand.ts";
import { gearmandBehaviour } from "../support/gearmand-version.ts";
import { describeTargets, startTarget } from "../support/targets.ts";
import { RawPeer } from "../support/raw-peer.ts";

describeTargets("gearmand facts", (target) => {
  test(
    "gearmand - CAN_DO_TIMEOUT expiry re-queues the job; the timed-out worker's late WORK_COMPLETE gets ERROR JOB_NOT_FOUND",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using w1 = await RawPeer.open(server.address);
      await using w2 = await RawPeer.open(server.address);
      await using client = await RawPeer.open(server.address);
      w1.send(T.CAN_DO_TIMEOUT, "f", "1000");
      w2.send(T.CAN_DO, "f");
      client.send(T.SUBMIT_JOB, "f", "u1", "data");
      const [handle] = await client.expect(T.JOB_CREATED);
      w1.send(T.GRAB_JOB_UNIQ);
      expect((await w1.expect(T.JOB_ASSIGN_UNIQ))[0]).toBe(handle!);
      await Bun.sleep(1600);
      expect(await w1.next(50)).toBeNull(); // nothing tells the timed-out worker
      w2.send(T.GRAB_JOB_UNIQ);
      expect((await w2.expect(T.JOB_ASSIGN_UNIQ))[0]).toBe(handle!); // re-queued, same handle
      w1.send(T.WORK_COMPLETE, handle!, "late");
      expect((await w1.expect(T.ERROR))[0]).toBe("JOB_NOT_FOUND");
      w2.send(T.WORK_COMPLETE, handle!, "from w2");
      expect(await client.expect(T.WORK_COMPLETE)).toEqual([handle!, "from w2"]);
      if (target === "gearmand") expect(server.log()).toContain("Worker timeout reached on job, requeueing"); // the embedded server keeps no log
    }),
  );

  test(
    "gearmand - CAN_DO_TIMEOUT is one timer per connection: of two jobs on it one is never timed (1.1: the second, 2.0: the first), and PRE_SLEEP cancels the timer (embedded: one per job)",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using sleeper = await RawPeer.open(server.address);
      await using twoJobs = await RawPeer.open(server.address);
      await using client = await RawPeer.open(server.address);
      sleeper.send(T.CAN_DO_TIMEOUT, "f", "1000");
      twoJobs.send(T.CAN_DO_TIMEOUT, "g", "1000");
      client.send(T.SUBMIT_JOB, "f", "f1", "data");
      client.send(T.SUBMIT_JOB, "g", "g1", "data");
      client.send(T.SUBMIT_JOB, "g", "g2", "data");
      const [f1] = await client.expect(T.JOB_CREATED);
      const [g1] = await client.expect(T.JOB_CREATED);
      const [g2] = await client.expect(T.JOB_CREATED);
      // What a worker with free slots does: grab again, NO_JOB, PRE_SLEEP — while f1 runs.
      sleeper.send(T.GRAB_JOB_UNIQ);
      await sleeper.expect(T.JOB_ASSIGN_UNIQ);
      sleeper.send(T.GRAB_JOB_UNIQ);
      await sleeper.expect(T.NO_JOB);
      sleeper.send(T.PRE_SLEEP);
      // Two jobs on one connection.
      twoJobs.send(T.GRAB_JOB_UNIQ);
      twoJobs.send(T.GRAB_JOB_UNIQ);
      expect((await twoJobs.expect(T.JOB_ASSIGN_UNIQ))[0]).toBe(g1!);
      expect((await twoJobs.expect(T.JOB_ASSIGN_UNIQ))[0]).toBe(g2!);
      await Bun.sleep(1600);
      sleeper.send(T.WORK_COMPLETE, f1!, "f1 after 1.6 s");
      if (target === "gearmand") {
        // Timed: 1.1 re-arms the time but keeps the first job; 2.0 re-arms it for the newest.
        const [timed, untimed] = (await gearmandBehaviour(server.port)) === "1.1" ? [g1!, g2!] : [g2!, g1!];
        expect(await client.expect(T.WORK_COMPLETE)).toEqual([f1!, "f1 after 1.6 s"]); // never re-queued
        twoJobs.send(T.WORK_COMPLETE, untimed, "after 1.6 s");
        expect(await client.expect(T.WORK_COMPLETE)).toEqual([untimed, "after 1.6 s"]); // never timed
        twoJobs.send(T.WORK_COMPLETE, timed, "after 1.6 s");
        expect((await twoJobs.expect(T.ERROR))[0]).toBe("JOB_NOT_FOUND"); // it was: re-queued
        const log = server.log();
        expect(log).toContain(`requeueing: ${timed}`);
        expect(log).not.toContain(`requeueing: ${f1}`);
        expect(log).not.toContain(`requeueing: ${untimed}`);
      } else {
        // The embedded server deliberately times every job, and PRE_SLEEP cancels nothing: all
        // three were re-queued after a second, so every late result is refused. The re-queued f1
        // woke its sleeping worker first (NOOP).
        expect(await sleeper.expect(T.NOOP)).toEqual([]);
        expect((await sleeper.expect(T.ERROR))[0]).toBe("JOB_NOT_FOUND");
        twoJobs.send(T.WORK_COMPLETE, g2!, "g2 after 1.6 s");
        expect((await twoJobs.expect(T.ERROR))[0]).toBe("JOB_NOT_FOUND");
        twoJobs.send(T.WORK_COMPLETE, g1!, "g1 after 1.6 s");
        expect((await twoJobs.expect(T.ERROR))[0]).toBe("JOB_NOT_FOUND");
        expect(await client.next(100)).toBeNull();
      }
    }),
  );

  test(
    "gearmand - CAN_DO_TIMEOUT under 1000 ms is raised to 1000 ms",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using w1 = await RawPeer.open(server.address);
      await using w2 = await RawPeer.open(server.address);
      await using client = await RawPeer.open(server.address);
      w1.send(T.CAN_DO_TIMEOUT, "f", "100");
      w2.send(T.CAN_DO, "f");
      client.send(T.SUBMIT_JOB, "f", "u1", "data");
      await client.expect(T.JOB_CREATED);
      w1.send(T.GRAB_JOB_UNIQ);
      await w1.expect(T.JOB_ASSIGN_UNIQ);
      await Bun.sleep(500); // five times the 100 ms asked for
      w2.send(T.GRAB_JOB_UNIQ);
      await w2.expect(T.NO_JOB); // still assigned to w1
      await Bun.sleep(1000);
      w2.send(T.GRAB_JOB_UNIQ);
      await w2.expect(T.JOB_ASSIGN_UNIQ); // re-queued after about a second
    }),
  );

  test(
    "gearmand - WORK_EXCEPTION ends the job: a WORK_FAIL after it gets ERROR JOB_NOT_FOUND; a client without the exceptions option gets WORK_FAIL",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using w = await RawPeer.open(server.address);
      await using withOption = await RawPeer.open(server.address);
      await using without = await RawPeer.open(server.address);
      w.send(T.CAN_DO, "f");
      withOption.send(T.OPTION_REQ, "exceptions");
      await withOption.expect(T.OPTION_RES);
      withOption.send(T.SUBMIT_JOB, "f", "u1", "a");
      const [h1] = await withOption.expect(T.JOB_CREATED);
      without.send(T.SUBMIT_JOB, "f", "u2", "b");
      const [h2] = await without.expect(T.JOB_CREATED);
      for (const h of [h1!, h2!]) {
        w.send(T.GRAB_JOB_UNIQ);
        expect((await w.expect(T.JOB_ASSIGN_UNIQ))[0]).toBe(h);
        w.send(T.WORK_EXCEPTION, h, "boom");
        w.send(T.WORK_FAIL, h);
        expect((await w.expect(T.ERROR))[0]).toBe("JOB_NOT_FOUND");
      }
      expect(await withOption.expect(T.WORK_EXCEPTION)).toEqual([h1!, "boom"]);
      expect(await without.expect(T.WORK_FAIL)).toEqual([h2!]);
      expect(await withOption.next(100)).toBeNull(); // the WORK_FAIL after it never reaches a client
      expect(await without.next(100)).toBeNull();
    }),
  );
});
