/**
 * Foreign handlers - the seed scenario with Python handlers: two gearmand, `gearbun worker
 * tasks.py --processes 8` connected to both, two clients submitting foreground jobs in rounds.
 * The multi-server stall that python-gearman's workers suffer does not happen: every worker
 * receives jobs from both servers in every round. The size of `bun run demo`'s rounds (a few
 * seconds here).
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { describeGearmand, startGearmand } from "../support/gearmand.ts";
import { tempDir } from "../pool/helpers.ts";
import { Client, startWorkerCli, stopWorkerCli } from "./helpers.ts";

const WORKERS = 8;
const CLIENTS = 2;
const JOBS = 500;
const ROUNDS = 6;

// A little work per job, as the demo's workers do, so jobs queue on both servers.
const TASKS = `import os, time

def demo(job):
    time.sleep(0.001)
    return "%d|%s" % (os.getpid(), job.text())

handlers = {"demo": demo}
`;

describeGearmand("foreign handlers - seed scenario", () => {
  test("seed - 2 gearmand, 8 Python worker processes on both, 2 clients x 500 jobs x 6 rounds: every worker gets jobs from both servers in every round", async () => {
    await using a = await startGearmand();
    await using b = await startGearmand();
    const dir = tempDir({ "tasks.py": TASKS });
    const cli = await startWorkerCli([
      join(dir, "tasks.py"),
      "--servers",
      `${a.address},${b.address}`,
      "--processes",
      String(WORKERS),
    ]);
    const clients = Array.from({ length: CLIENTS }, () => new Client({ servers: [a.address, b.address] }));
    try {
      const workers = new Set<string>();
      const perRound: Map<string, number>[] = [];
      let wrong = 0;
      for (let r = 1; r <= ROUNDS; r++) {
        const counts = new Map<string, number>();
        const jobs: Promise<void>[] = [];
        clients.forEach((client, c) => {
          for (let i = 0; i < JOBS; i++) {
            const payload = `${r}:${c}:${i}`;
            const task = client.submit("demo", payload, { unique: `r${r}-c${c}-j${i}` });
            jobs.push(
              task.text().then((text) => {
                const [pid, echoed] = text.split("|");
                if (echoed !== payload) wrong++;
                workers.add(pid!);
                const key = `${pid} ${task.server}`;
                counts.set(key, (counts.get(key) ?? 0) + 1);
              }),
            );
          }
        });
        await Promise.all(jobs);
        perRound.push(counts);
      }
      expect(wrong).toBe(0);
      expect(workers.size).toBe(WORKERS);
      const missing: string[] = [];
      perRound.forEach((counts, r) => {
        for (const pid of workers) {
          for (const server of [a.address, b.address]) {
            if ((counts.get(`${pid} ${server}`) ?? 0) === 0)
              missing.push(`round ${r + 1}: ${pid} got nothing from ${server}`);
          }
        }
        expect([...counts.values()].reduce((x, y) => x + y, 0)).toBe(CLIENTS * JOBS);
      });
      expect(missing).toEqual([]);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      expect(await stopWorkerCli(cli)).toBe(0);
    }
  }, 90_000);
});
