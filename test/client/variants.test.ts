import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "../../src/client/client.ts";
import { ConfigError } from "../../src/errors.ts";
import { PacketType } from "../../src/protocol/packets.ts";
import { startEchoWorker } from "../support/echo-worker.ts";
import { logsOnFailure } from "../support/gearmand.ts";
import { eventually } from "../support/eventually.ts";
import { describeTargets, startTarget } from "../support/targets.ts";
import { startCliWorker } from "../support/peers.ts";

const PRIORITIES = ["high", "normal", "low"] as const;

describeTargets("client variants - libgearman worker", { needs: "libgearman" }, (target) => {
  test(
    "client variants - foreground high/normal/low round-trip through `gearman -w -- rev`",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using _w = await startCliWorker(server.address, "rev", ["rev"]);
      await using client = new Client({ servers: server.address });
      for (const priority of PRIORITIES) {
        const text = `hello ${priority}`;
        expect(await client.submit("rev", text, { priority }).text()).toBe([...text].reverse().join(""));
        expect(await client.submit("rev", new TextEncoder().encode("bytes"), { priority }).text()).toBe("setyb");
      }
      expect(await client.submit("rev", "with unique", { unique: "v-1" }).text()).toBe("euqinu htiw");
    }),
  );

  test(
    "client variants - background high/normal/low run on `gearman -w -- tee`",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      const file = join(mkdtempSync(join(tmpdir(), "gearbun-bg-")), "out.txt");
      await using _w = await startCliWorker(server.address, "bg", ["tee", "-a", file]);
      await using client = new Client({ servers: server.address });
      const handles = await Promise.all(
        PRIORITIES.map((priority) => client.submitBackground("bg", `bg-${priority}\n`, { priority })),
      );
      expect(new Set(handles).size).toBe(3);
      for (const h of handles) expect(h).toMatch(/^H:/);
      const read = (): string => (existsSync(file) ? readFileSync(file, "utf8") : "");
      await eventually(() => PRIORITIES.every((p) => read().includes(`bg-${p}\n`)), "background jobs to run");
      // Done jobs are unknown to the server.
      for (const h of handles) expect((await client.status(h)).known).toBe(false);
    }),
  );
});

describeTargets("client variants - codec worker", (target) => {
  test(
    "client variants - every submit packet reaches a worker with its function, unique and payload",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using worker = await startEchoWorker({
        server: server.address,
        functions: ["echo"],
        grab: "all",
        regrab: 100,
      });
      await using client = new Client({ servers: server.address });

      for (const priority of PRIORITIES) {
        expect(await client.submit("echo", `fg-${priority}`, { priority, unique: `fg-${priority}` }).text()).toBe(
          `fg-${priority}`,
        );
        await client.submitBackground("echo", `bg-${priority}`, { priority, unique: `bg-${priority}` });
      }
      // Reduce jobs (37/38): a GRAB_JOB_ALL worker sees the reducer in JOB_ASSIGN_ALL.
      expect(await client.submit("echo", "reduce-fg", { reducer: "sum" }).text()).toBe("reduce-fg");
      await client.submitBackground("echo", "reduce-bg", { reducer: "sum" });
      // An epoch job due now runs at the next grab once its second has come.
      await client.submitBackground("echo", "epoch-now", { runAt: new Date(), unique: "ep" });

      await eventually(() => worker.jobs.length === 9, "9 jobs at the worker");
      const seen = worker.jobs.map((j) => [new TextDecoder().decode(j.payload), j.unique, j.reducer]);
      for (const p of PRIORITIES) {
        expect(seen).toContainEqual([`fg-${p}`, `fg-${p}`, ""]);
        expect(seen).toContainEqual([`bg-${p}`, `bg-${p}`, ""]);
      }
      expect(seen).toContainEqual(["reduce-fg", "", "sum"]);
      expect(seen).toContainEqual(["reduce-bg", "", "sum"]);
      expect(seen).toContainEqual(["epoch-now", "ep", ""]);
      const reduce = worker.jobs.filter((j) => j.reducer === "sum");
      for (const j of reduce) expect(j.type).toBe(PacketType.JOB_ASSIGN_ALL);
    }),
  );

  test(
    "client variants - payloads with NUL bytes, UTF-8 text and 1 MiB arrive byte for byte",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using _worker = await startEchoWorker({ server: server.address, functions: ["echo"] });
      await using client = new Client({ servers: server.address });
      const nul = new Uint8Array([0, 1, 0, 255, 0]);
      expect(await client.submit("echo", nul)).toEqual(nul);
      expect(await client.submit("echo", "").text()).toBe("");
      expect(await client.submit("echo", "héllo ✓ 日本").text()).toBe("héllo ✓ 日本");
      const big = new Uint8Array(1024 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
      expect(await client.submit("echo", big)).toEqual(big);
    }),
  );
});

test("client variants - options gearmand does not accept are refused before sending", async () => {
  const client = new Client({ servers: "127.0.0.1:1", reconnect: () => null });
  try {
    expect(() => client.submit("f", "x", { reducer: "r", priority: "high" })).toThrow(ConfigError);
    expect(() => client.submit("", "x")).toThrow(ConfigError);
    expect(() => client.submit("f\0g", "x")).toThrow(ConfigError);
    expect(() => client.submit("f", "x", { unique: "a\0b" })).toThrow(ConfigError);
    expect(() => client.submit("f", "x", { priority: "urgent" as "high" })).toThrow(ConfigError);
    expect(() => client.submit("f", "x", { timeout: -1 })).toThrow(ConfigError);
    const bad = [
      client.submitBackground("f", "x", { runAt: new Date(), priority: "low" }),
      client.submitBackground("f", "x", { runAt: new Date(), reducer: "r" }),
      client.submitBackground("f", "x", { runAt: new Date(Number.NaN) }),
    ];
    for (const p of bad) expect(await p.catch((e: unknown) => e)).toBeInstanceOf(ConfigError);
  } finally {
    await client.close();
  }
});
