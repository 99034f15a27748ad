/**
 * Job handles stay unique across restarts of the embedded server (option `firstHandle`):
 * gearmand numbers from 1 on every start, so after a restart `status(handle)` of an old job can
 * answer for a new one. Durable jobs keep their handles, and new ones never take theirs.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "../../src/client/client.ts";
import { ConfigError } from "../../src/errors.ts";
import { startServer } from "../../src/server/server.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("handles", () => {
  test("handles - a restarted server gives new jobs handles no earlier run gave; status of an old handle says unknown", async () => {
    const seen = new Set<string>();
    let port = 0;
    let old = "";
    for (let run = 0; run < 3; run++) {
      await using server = await startServer({ port, host: "127.0.0.1" });
      port = server.port;
      await using client = new Client({ servers: server.address });
      if (old !== "") {
        const status = await client.status(old, server.address);
        expect(status.known).toBe(false); // not another job's status
      }
      for (let i = 0; i < 5; i++) {
        const handle = await client.submitBackground("handles_f", `run ${run} job ${i}`);
        expect(handle).toMatch(/^H:[^:]+:\d+$/); // gearmand's shape
        expect(seen.has(handle)).toBe(false);
        seen.add(handle);
        old = handle;
      }
    }
    expect(seen.size).toBe(15);
  });

  test("handles - durable jobs keep their handles across a restart; new handles never take theirs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gearbun-handles-"));
    dirs.push(dir);
    const store = join(dir, "queue.db");
    const before: string[] = [];
    let port = 0;
    {
      await using server = await startServer({ port, host: "127.0.0.1", store });
      port = server.port;
      await using client = new Client({ servers: server.address });
      for (let i = 0; i < 3; i++) before.push(await client.submitBackground("handles_d", `kept ${i}`));
    }
    await using server = await startServer({ port, host: "127.0.0.1", store });
    await using client = new Client({ servers: server.address });
    for (const handle of before) expect((await client.status(handle, server.address)).known).toBe(true);
    const fresh = await client.submitBackground("handles_d", "new");
    expect(before).not.toContain(fresh);
    expect(server.stats().jobs).toBeGreaterThanOrEqual(4);
  });

  test("handles - firstHandle: 1 numbers as gearmand does; a bad value names the option", async () => {
    await using server = await startServer({ port: 0, host: "127.0.0.1", firstHandle: 1, handlePrefix: "T:" });
    await using client = new Client({ servers: server.address });
    expect(await client.submitBackground("handles_g", "x")).toBe("T:1");
    expect(await client.submitBackground("handles_g", "y")).toBe("T:2");
    await expect(startServer({ port: 0, firstHandle: 0 })).rejects.toThrow(ConfigError);
  });
});
