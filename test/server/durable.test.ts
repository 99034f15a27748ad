/**
 * Durable background jobs (`store`): written before JOB_CREATED is sent, so a server killed with
 * SIGKILL right after still has them; restarted on the same store, each runs once and is gone.
 * The server runs in a child process (fixtures/serve.ts) so it can be killed.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PacketType as T } from "../../src/protocol/packets.ts";
import { startServer } from "../../src/server/server.ts";
import { RawPeer } from "../support/raw-peer.ts";
import { spawnServe, type ServeProcess } from "../support/targets.ts";

const children = new Set<ServeProcess>();

async function serve(store: string): Promise<ServeProcess> {
  const child = await spawnServe(0, store);
  children.add(child);
  return child;
}

async function kill(child: ServeProcess): Promise<void> {
  child.proc.kill("SIGKILL");
  await child.proc.exited;
  children.delete(child);
}

const dirs: string[] = [];
function tempStore(): string {
  const dir = mkdtempSync(join(tmpdir(), "gearbun-store-"));
  dirs.push(dir);
  return join(dir, "queue.db");
}

afterEach(async () => {
  for (const c of [...children]) await kill(c);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("durable", () => {
  test("durable - background jobs survive SIGKILL and run once after the restart", async () => {
    const store = tempStore();
    let server = await serve(store);
    {
      using c = await RawPeer.connect(server.port);
      c.send(T.SUBMIT_JOB_BG, "f", "d1", "payload\0one");
      c.send(T.SUBMIT_JOB_HIGH_BG, "f", "", "urgent");
      c.send(T.SUBMIT_JOB_LOW_BG, "g", "", "later");
      c.send(T.SUBMIT_REDUCE_JOB_BACKGROUND, "g", "r", "reducer", "", "reduce me");
      c.send(T.SUBMIT_JOB, "f", "", "foreground: not durable");
      const created = (await c.syncItems()).map((i) => (i.type === T.JOB_CREATED ? i.args[0] : "?"));
      expect(created).toHaveLength(5);
      // SIGKILL right after the answers: nothing is flushed on the way out.
      await kill(server);
    }

    server = await serve(store);
    using admin = await RawPeer.connect(server.port);
    expect((await admin.admin("status")).sort()).toEqual(["f\t2\t0\t0", "g\t2\t0\t0"]);
    using w = await RawPeer.connect(server.port);
    w.send(T.CAN_DO, "f");
    w.send(T.CAN_DO, "g");
    for (let i = 0; i < 5; i++) w.send(T.GRAB_JOB_ALL);
    const assigned = await w.syncRendered();
    // Global priority; f, just served, lets g go first among the NORMAL jobs.
    expect(assigned).toEqual([
      "JOB_ASSIGN_UNIQ(H:2,f,,urgent)",
      "JOB_ASSIGN_ALL(H:4,g,r,reducer,reduce me)",
      "JOB_ASSIGN_UNIQ(H:1,f,d1,payload\\0one)",
      "JOB_ASSIGN_UNIQ(H:3,g,,later)",
      "NO_JOB",
    ]);
    // A restored unique still coalesces; new handles do not collide with restored ones.
    admin.send(T.SUBMIT_JOB_BG, "f", "d1", "again");
    admin.send(T.SUBMIT_JOB_BG, "f", "", "new");
    expect(await admin.syncRendered()).toEqual(["JOB_CREATED(H:1)", "JOB_CREATED(H:5)"]);
    for (const item of w.items) {
      if (item.type !== T.JOB_ASSIGN_UNIQ && item.type !== T.JOB_ASSIGN_ALL) continue;
      w.send(T.WORK_COMPLETE, item.args[0]!, "done");
    }
    w.send(T.GRAB_JOB);
    expect(await w.syncRendered()).toEqual(["JOB_ASSIGN(H:5,f,new)"]);
    w.send(T.WORK_FAIL, (w.items.at(-2) as { args: string[] }).args[0]!);
    await w.sync();
    expect(await admin.admin("show jobs")).toEqual([]);
    await kill(server);

    // Completed and failed jobs are gone for good.
    server = await serve(store);
    using admin2 = await RawPeer.connect(server.port);
    expect((await admin2.admin("status")).sort()).toEqual([]);
  });

  test("durable - a job running when the server dies runs again; cancelled jobs do not come back", async () => {
    const store = tempStore();
    let server = await serve(store);
    {
      using c = await RawPeer.connect(server.port);
      using w = await RawPeer.connect(server.port);
      c.send(T.SUBMIT_JOB_BG, "f", "", "in flight");
      c.send(T.SUBMIT_JOB_BG, "f", "", "cancelled");
      await c.sync();
      w.send(T.CAN_DO, "f");
      w.send(T.GRAB_JOB);
      expect(await w.syncRendered()).toEqual(["JOB_ASSIGN(H:1,f,in flight)"]);
      const rows = await c.admin("show jobs");
      expect(await c.admin(`cancel job ${rows[1]!.split("\t")[0]}`)).toEqual(["OK"]);
      await kill(server);
    }
    server = await serve(store);
    using w = await RawPeer.connect(server.port);
    w.send(T.CAN_DO, "f");
    w.send(T.GRAB_JOB);
    w.send(T.GRAB_JOB);
    expect(await w.syncRendered()).toEqual(["JOB_ASSIGN(H:1,f,in flight)", "NO_JOB"]);
  });

  test("durable - an epoch job keeps its time across a clean restart (in process)", async () => {
    const store = tempStore();
    // Due in the second after next: at least 1 s away, never the ~1 ms that "next second" can be,
    // so the restarted server is asked (below) well before the job is due.
    const at = Math.floor(Date.now() / 1000) + 2;
    {
      await using server = await startServer({ port: 0, store, firstHandle: 1 });
      using c = await RawPeer.connect(server.port);
      c.send(T.SUBMIT_JOB_EPOCH, "f", "", String(at), "timed");
      expect(await c.syncRendered()).toEqual(["JOB_CREATED(H:1)"]);
    }
    await using server = await startServer({ port: 0, store, firstHandle: 1 });
    using w = await RawPeer.connect(server.port);
    w.send(T.CAN_DO, "f");
    w.send(T.GRAB_JOB);
    expect(await w.syncRendered()).toEqual(["NO_JOB"]);
    expect(Date.now()).toBeLessThan(at * 1000); // the margin above held: the answer came before the due time
    w.send(T.PRE_SLEEP);
    await Bun.sleep(Math.max(0, at * 1000 - Date.now()) + 100);
    w.send(T.GRAB_JOB);
    const got = await w.syncRendered();
    expect(got.at(-1)).toBe("JOB_ASSIGN(H:1,f,timed)");
  });

  test("durable - stop() with a job in a worker's hand is no retry: the job stays in the store", async () => {
    const store = tempStore();
    {
      await using server = await startServer({ port: 0, store, jobRetries: 1, firstHandle: 1 });
      using c = await RawPeer.connect(server.port);
      using w = await RawPeer.connect(server.port);
      c.send(T.SUBMIT_JOB_BG, "f", "", "kept");
      await c.sync();
      w.send(T.CAN_DO, "f");
      w.send(T.GRAB_JOB);
      expect(await w.syncRendered()).toEqual(["JOB_ASSIGN(H:1,f,kept)"]);
    }
    await using server = await startServer({ port: 0, store, jobRetries: 1, firstHandle: 1 });
    using w = await RawPeer.connect(server.port);
    w.send(T.CAN_DO, "f");
    w.send(T.GRAB_JOB);
    expect(await w.syncRendered()).toEqual(["JOB_ASSIGN(H:1,f,kept)"]);
  });

  test("durable - a store that cannot be opened is a clear error", async () => {
    await expect(startServer({ port: 0, store: "/nonexistent-dir/x/queue.db" })).rejects.toThrow(
      /^store: cannot open \/nonexistent-dir\/x\/queue\.db/,
    );
  });
});
