/**
 * Real gearmand behind a TLS terminator from the distribution (stunnel4, socat), each verifying
 * client certificates against the test CA: the way to run gearmand 1.1.20 (built without SSL)
 * with TLS. gearbun's worker and client with client certificates run jobs through two such
 * servers; a client without a certificate is refused; killing and restarting the terminator is a
 * lost connection that the worker and client reconnect after.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Admin } from "../../src/admin/admin.ts";
import { Client } from "../../src/client/client.ts";
import type { Task } from "../../src/client/task.ts";
import { ConnectionError, JobFailedError } from "../../src/errors.ts";
import type { TlsOptions } from "../../src/options.ts";
import { Worker } from "../../src/worker/worker.ts";
import { makeCerts, type TestCerts } from "../support/certs.ts";
import { eventually } from "../support/eventually.ts";
import { adminLine, type Gearmand, haveGearmand, startGearmand } from "../support/gearmand.ts";
import { showEvent } from "../support/task-events.ts";
import { haveTerminator, startTerminator, type Terminator, type TerminatorKind } from "../support/tls-terminator.ts";

async function events(task: Task): Promise<string[]> {
  const out: string[] = [];
  for await (const e of task.events()) out.push(showEvent(e));
  return out;
}

const KINDS: readonly TerminatorKind[] = ["stunnel", "socat"];
const ready = haveGearmand() && KINDS.every((k) => haveTerminator(k));

describe.skipIf(!ready)("tls - gearmand behind a TLS terminator", () => {
  let certs: TestCerts;
  let tls: TlsOptions;
  const gearmands: Gearmand[] = [];
  const terminators = new Map<TerminatorKind, Terminator>();

  beforeAll(async () => {
    certs = makeCerts();
    tls = { ca: certs.ca.certFile, cert: certs.client.certFile, key: certs.client.keyFile };
    for (const kind of KINDS) {
      const gearmand = await startGearmand();
      gearmands.push(gearmand);
      const files = { certFile: certs.server.certFile, keyFile: certs.server.keyFile, caFile: certs.ca.certFile };
      terminators.set(kind, await startTerminator(kind, gearmand.address, files));
    }
  });

  afterAll(async () => {
    for (const t of terminators.values()) await t.stop();
    for (const g of gearmands) await g.stop();
    certs?.[Symbol.dispose]();
  });

  const servers = (): string[] => KINDS.map((k) => `tls://${terminators.get(k)!.address}`);

  test("tls - worker and client on two terminated gearmands run jobs: data, status, failures with their reason", async () => {
    await using worker = new Worker({ servers: servers(), tls, concurrency: 4 });
    worker.register("steps", async (job) => {
      await job.data("d1");
      await job.status(1, 2);
      return job.text().toUpperCase();
    });
    worker.register("boom", () => {
      throw new Error("it broke");
    });
    await worker.start();
    // Registered on both before the client submits, so either server has a worker.
    await eventually(() => worker.stats().servers.filter((s) => s.state === "ready").length === 2, "both links");
    await using client = new Client({ servers: servers(), tls });
    expect(await events(client.submit("steps", "hello"))).toEqual(["data:d1", "status:1/2", "complete:HELLO"]);
    const error = await client.submit("boom", "x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobFailedError);
    expect((error as JobFailedError).detail).toBe("it broke");
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => client.submit("steps", `j${i}`).text()));
    expect(results[99]).toBe("J99");
    const big = "y".repeat(1024 * 1024);
    expect(await client.submit("steps", big).text()).toBe(big.toUpperCase());
    // Both gearmands ran jobs: the client spreads submits round-robin.
    for (const kind of KINDS) {
      const admin = new Admin(`tls://${terminators.get(kind)!.address}`, { tls });
      try {
        const status = await admin.status();
        expect(status.find((s) => s.function === "steps")?.workers).toBe(1);
      } finally {
        await admin.close();
      }
    }
  });

  test("tls - without a certificate, or with one from another CA, the terminator refuses: TLS_FAILED", async () => {
    const cases: [TlsOptions, string][] = [
      [{ ca: certs.ca.cert }, "no client certificate"],
      [{ ca: certs.ca.cert, cert: certs.otherClient.cert, key: certs.otherClient.key }, "client certificate refused"],
    ];
    for (const kind of KINDS) {
      for (const [settings, reason] of cases) {
        const admin = new Admin(`tls://${terminators.get(kind)!.address}`, { tls: settings });
        try {
          const error = await admin.version().catch((e: unknown) => e);
          expect(error).toBeInstanceOf(ConnectionError);
          expect((error as ConnectionError).code).toBe("TLS_FAILED");
          expect((error as ConnectionError).message).toContain(reason);
        } finally {
          await admin.close();
        }
      }
    }
  });

  test("tls - the terminator killed and restarted: worker and client reconnect and jobs run again", async () => {
    const terminator = terminators.get("stunnel")!;
    const address = `tls://${terminator.address}`;
    const fast = { initialDelay: 50, maxDelay: 200 };
    await using worker = new Worker({ servers: address, tls, reconnect: fast });
    worker.register("echo", (job) => job.text());
    await worker.start();
    await using client = new Client({ servers: address, tls, reconnect: fast });
    expect(await client.submit("echo", "before").text()).toBe("before");
    const readyBefore = worker.stats().servers[0]!.connects;

    await terminator.kill();
    await eventually(() => worker.stats().servers[0]!.state !== "ready", "the worker to notice the loss");
    await eventually(() => client.servers()[0]!.state !== "ready", "the client to notice the loss");
    await terminator.restart();

    await eventually(() => worker.stats().servers[0]!.connects > readyBefore, "the worker to reconnect", 10_000);
    // The client saw the loss too (a submit meanwhile fails fast); it redials in the background.
    await eventually(() => client.servers()[0]!.state === "ready", "the client to reconnect", 10_000);
    expect(await client.submit("echo", "after").text()).toBe("after");
  });

  test("tls - Debian's gearmand 1.1.20 given --ssl logs 'SSL: true' and still serves plaintext (why the terminator)", async () => {
    await using gearmand = await startGearmand({
      args: ["--ssl", "--ssl-certificate", certs.server.certFile, "--ssl-key", certs.server.keyFile],
    });
    expect(gearmand.log()).toContain("SSL: true");
    expect(await adminLine(gearmand.port, "version")).toStartWith("OK ");
  });
});
