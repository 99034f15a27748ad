/**
 * Real libgearman tools against the embedded server: the `gearman` CLI as worker and client
 * completes jobs through it, and `gearadmin` reads its admin replies.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startServer, type EmbeddedServer } from "../../src/server/server.ts";
import { gearadminPath, gearmanCliPath } from "../support/gearmand.ts";
import { type PeerProcess, startCliWorker } from "../support/peers.ts";
import { run as runToEnd } from "../support/processes.ts";
import { RawPeer } from "../support/raw-peer.ts";

const haveTools = gearmanCliPath !== null && gearadminPath !== null;
if (!haveTools) console.warn("SKIP: gearman / gearadmin (gearman-tools) not installed");

const run = (cmd: string[]) => runToEnd(cmd, { timeoutMs: 5000 });

describe.skipIf(!haveTools)("libgearman tools - against the embedded server", () => {
  let server: EmbeddedServer;
  let worker: PeerProcess;
  let h: string[];

  beforeAll(async () => {
    server = await startServer({ port: 0 });
    h = ["-h", "127.0.0.1", "-p", String(server.port)];
    // `rev` reverses each line of the job's data.
    worker = await startCliWorker(`127.0.0.1:${server.port}`, "rev", ["rev"]);
  });

  afterAll(async () => {
    await worker?.stop();
    await server?.stop();
  });

  test("libgearman tools - gearman client and gearman -w worker complete a job", async () => {
    const r = await run([gearmanCliPath!, ...h, "-f", "rev", "hello world"]);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe("dlrow olleh");
  });

  test("libgearman tools - concurrent clients, high and low priority, with uniques", async () => {
    const jobs = Array.from({ length: 12 }, (_, i) => {
      const flags = i % 3 === 0 ? ["-I"] : i % 3 === 1 ? ["-L"] : ["-u", `u${i}`];
      return run([gearmanCliPath!, ...h, ...flags, "-f", "rev", `job-${i}`]);
    });
    const results = await Promise.all(jobs);
    results.forEach((r, i) => {
      expect(r.code).toBe(0);
      expect(r.out.trim()).toBe(`job-${i}`.split("").reverse().join(""));
    });
  });

  test("libgearman tools - a background job runs and leaves the queue", async () => {
    const r = await run([gearmanCliPath!, ...h, "-b", "-f", "rev", "in the background"]);
    expect(r.code).toBe(0);
    using admin = await RawPeer.connect(server.port);
    const deadline = Date.now() + 5000;
    let row = "";
    while (Date.now() < deadline) {
      row = (await admin.admin("status")).find((l) => l.startsWith("rev\t")) ?? "";
      if (row === "rev\t0\t0\t1") break;
      await Bun.sleep(20);
    }
    expect(row).toBe("rev\t0\t0\t1");
  });

  test("libgearman tools - gearadmin --status and --workers read the server", async () => {
    const status = await run([gearadminPath!, ...h, "--status"]);
    expect(status.code).toBe(0);
    expect(status.out.split("\n")).toContain("rev\t0\t0\t1");
    expect(status.out.trimEnd().endsWith(".")).toBe(true);

    const workers = await run([gearadminPath!, ...h, "--workers"]);
    expect(workers.code).toBe(0);
    const rows = workers.out.split("\n").filter((l) => / : ?/.test(l) || l.endsWith(":"));
    // "FD IP CLIENT-ID : FUNCTIONS" — the gearman -w worker and gearadmin's own connection
    expect(rows.some((l) => /^\d+ 127\.0\.0\.1 \S+ : rev$/.test(l))).toBe(true);
  });

  test("libgearman tools - gearadmin's other commands", async () => {
    expect((await run([gearadminPath!, ...h, "--priority-status"])).out.split("\n")).toContain("rev\t0\t0\t0\t1");
    expect((await run([gearadminPath!, ...h, "--getpid"])).out.trim()).toBe(String(process.pid));
    expect((await run([gearadminPath!, ...h, "--server-version"])).out.trim()).toMatch(/^gearbun-/);
    expect((await run([gearadminPath!, ...h, "--create-function", "made"])).code).toBe(0);
    expect((await run([gearadminPath!, ...h, "--status"])).out.split("\n")).toContain("made\t0\t0\t0");
    expect((await run([gearadminPath!, ...h, "--drop-function", "made"])).code).toBe(0);
    expect((await run([gearadminPath!, ...h, "--status"])).out).not.toContain("made\t");
    expect((await run([gearadminPath!, ...h, "--show-jobs"])).out.trim()).toBe(".");
  });
});
