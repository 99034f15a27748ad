/**
 * Submits made right after `new Client()`, while the servers are still connecting: spread as
 * they will be later (round-robin, unique keys by their hash), and not lost to a connect timer
 * when our own code keeps the event loop busy for longer than `connectTimeout`.
 */
import { expect, test } from "bun:test";
import { Client, pickByUnique } from "../../src/client/client.ts";
import type { Task } from "../../src/client/task.ts";
import { startEchoWorker } from "../support/echo-worker.ts";
import { logsOnFailure } from "../support/gearmand.ts";
import { describeTargets, startTarget } from "../support/targets.ts";

describeTargets("client start-up", (target) => {
  test(
    "client start-up - 1,000 jobs submitted right after construction are spread over both servers, unique keys by their hash",
    logsOnFailure(async () => {
      await using a = await startTarget(target);
      await using b = await startTarget(target);
      const client = new Client({ servers: [a.address, b.address] });
      try {
        const plain: Task[] = Array.from({ length: 1000 }, (_, i) => client.submit("spread", `${i}`));
        const keyed: Task[] = Array.from({ length: 1000 }, (_, i) =>
          client.submit("spread", `${i}`, { unique: `u-${i}` }),
        );
        await Promise.all([...plain, ...keyed].map((t) => t.handle));

        const onA = plain.filter((t) => t.server === a.address).length;
        const onB = plain.filter((t) => t.server === b.address).length;
        console.log(`client start-up spread (${target}): ${onA} / ${onB} of 1000 plain jobs`);
        expect(onA + onB).toBe(1000);
        expect(onA).toBeGreaterThanOrEqual(400);
        expect(onA).toBeLessThanOrEqual(600);

        const seeds = [a.address, b.address].map((key) => ({ key, seed: Bun.hash.murmur32v3(key) }));
        const wrong = keyed.filter((t) => t.server !== pickByUnique(t.unique, seeds).key);
        const keyedOnA = keyed.filter((t) => t.server === a.address).length;
        console.log(
          `client start-up unique keys (${target}): ${keyedOnA} / ${1000 - keyedOnA}, ${wrong.length} off their hash`,
        );
        expect(wrong.map((t) => t.unique)).toEqual([]);
        expect(keyedOnA).toBeGreaterThan(0);
        expect(keyedOnA).toBeLessThan(1000);
      } finally {
        await client.close();
      }
    }),
    30_000,
  );

  test(
    "client start-up - a 6 s synchronous busy loop right after construction: the connection comes up and the jobs go through",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using _worker = await startEchoWorker({ server: server.address, functions: ["busy"], grabs: 8 });
      await using client = new Client({ servers: server.address }); // connectTimeout 5000 by default
      const tasks: Task[] = [];
      const handles: Promise<string>[] = [];
      const end = performance.now() + 6000;
      let i = 0;
      while (performance.now() < end) {
        // A bulk import loop of our own, holding the event loop past connectTimeout.
        if (i < 200) tasks.push(client.submit("busy", `job-${i}`));
        else if (i < 1200) handles.push(client.submitBackground("busy-bg", `bg-${i}`));
        i++;
      }
      expect(await Promise.all(tasks.map((t) => t.text()))).toEqual(tasks.map((_, n) => `job-${n}`));
      expect((await Promise.all(handles)).length).toBe(1000);
      expect(client.servers()[0]!.state).toBe("ready");
    }),
    30_000,
  );
});
