/**
 * Gray failures, client side: one of two job servers is frozen (SIGSTOP) under a steady stream
 * of foreground submits without unique keys. The client notices its JOB_CREATED answers are
 * overdue (500 ms to 2 s: util/answer-times.ts) and routes new submits to the healthy server long
 * before the heartbeat drops the frozen one; submits written to it before that follow the
 * contract: a HEARTBEAT_TIMEOUT with `sent: true` (outcome unknown), or, with
 * `retryOnDisconnect`, a resubmission to the healthy server at the heartbeat timeout.
 *
 * The clients' heartbeat is 1 s + 2 s so the test stays short; the freeze (5 s) outlasts it.
 */
import { describe, expect, test } from "bun:test";
import { Client } from "../../src/client/client.ts";
import { ConnectionError } from "../../src/errors.ts";
import { PacketType } from "../../src/protocol/packets.ts";
import { Worker } from "../../src/worker/worker.ts";
import { startFaultServer } from "../support/fault-server.ts";
import { logsOnFailure } from "../support/gearmand.ts";
import { TARGETS, startTarget } from "../support/targets.ts";
import { eventually } from "../support/eventually.ts";

const FREEZE_MS = 5000;
const SUBMIT_EVERY_MS = 25;
const HEARTBEAT = { heartbeatInterval: 1000, heartbeatTimeout: 2000 };

interface Outcome {
  at: number;
  retry: boolean;
  ok: boolean;
  server: string | undefined;
  ms: number;
  error: unknown;
}

for (const target of TARGETS) {
  describe(`client gray failures [${target}]`, () => {
    test(
      "client gray - one server frozen: new submits go to the other within ~1 s; those sent before follow the contract",
      logsOnFailure(async () => {
        await using a = await startTarget(target, { process: true });
        await using b = await startTarget(target, { process: true });
        const servers = [a.address, b.address];
        await using worker = new Worker({ servers, concurrency: 8 });
        worker.register("gray_echo", (job) => job.text());
        await worker.start();
        await using plain = new Client({ servers, ...HEARTBEAT });
        await using retrying = new Client({ servers, ...HEARTBEAT, retryOnDisconnect: true });
        await Promise.all([plain.connect(), retrying.connect()]);
        await eventually(
          () =>
            plain.servers().every((s) => s.state === "ready") && retrying.servers().every((s) => s.state === "ready"),
          "both clients connected to both servers",
        );

        const outcomes: Promise<Outcome>[] = [];
        const submit = (client: Client, retry: boolean, i: number): void => {
          const at = performance.now();
          const task = client.submit("gray_echo", String(i));
          outcomes.push(
            task.then(
              (): Outcome => ({ at, retry, ok: true, server: task.server, ms: performance.now() - at, error: null }),
              (error: unknown): Outcome => ({
                at,
                retry,
                ok: false,
                server: task.server,
                ms: performance.now() - at,
                error,
              }),
            ),
          );
        };
        let frozen = false;
        let freezeAt = 0;
        let noticedAt = 0;
        try {
          let i = 0;
          const until = async (end: number): Promise<void> => {
            while (performance.now() < end) {
              submit(plain, false, i);
              submit(retrying, true, i);
              i++;
              if (noticedAt === 0 && frozen && plain.servers()[0]!.silent) noticedAt = performance.now();
              await Bun.sleep(SUBMIT_EVERY_MS);
            }
          };
          await until(performance.now() + 1000);
          freezeAt = performance.now();
          process.kill(a.pid, "SIGSTOP");
          frozen = true;
          await until(freezeAt + FREEZE_MS - 1000);
          await Bun.sleep(Math.max(0, freezeAt + FREEZE_MS - performance.now()));
          process.kill(a.pid, "SIGCONT");
          frozen = false;
        } finally {
          if (frozen) process.kill(a.pid, "SIGCONT");
        }
        const all = await Promise.all(outcomes);
        const noticed = noticedAt - freezeAt;

        // From 1.5 s after the freeze began: every submit completes on the healthy server within 2 s.
        const late = all.filter((o) => o.at >= freezeAt + 1500 && o.at < freezeAt + FREEZE_MS - 1000);
        expect(late.length).toBeGreaterThan(50);
        const bad = late.filter((o) => !o.ok || o.server !== b.address || o.ms >= 2000);
        expect(bad.map((o) => ({ ok: o.ok, server: o.server, ms: Math.round(o.ms) }))).toEqual([]);

        // Those that went to the frozen server first: without retry, HEARTBEAT_TIMEOUT, sent: true;
        // with retry, completed on the healthy server after the heartbeat timeout.
        const failed = all.filter((o) => !o.ok);
        for (const o of failed) {
          expect(o.retry).toBe(false);
          expect(o.error).toBeInstanceOf(ConnectionError);
          const e = o.error as ConnectionError;
          expect({ code: e.code, sent: e.sent, server: e.server }).toEqual({
            code: "HEARTBEAT_TIMEOUT",
            sent: true,
            server: a.address,
          });
        }
        const resubmitted = all.filter((o) => o.retry && o.ok && o.at >= freezeAt - 500 && o.ms >= 2000);
        for (const o of all.filter((x) => x.retry)) expect(o.ok).toBe(true);
        for (const o of resubmitted) expect(o.server).toBe(b.address);
        const lostAt = failed.map((o) => o.at + o.ms - freezeAt);
        console.log(
          `client gray [${target}]: silent server noticed ${Math.round(noticed)} ms after the freeze; ` +
            `${failed.length} submits without retry ended HEARTBEAT_TIMEOUT (sent: true) ${Math.round(Math.min(...lostAt))}–${Math.round(Math.max(...lostAt))} ms after the freeze; ` +
            `${resubmitted.length} with retryOnDisconnect completed on the healthy server after ${Math.round(Math.min(...resubmitted.map((o) => o.ms)))}–${Math.round(Math.max(...resubmitted.map((o) => o.ms)))} ms; ` +
            `p99 of submits from 1.5 s: ${Math.round(late.map((o) => o.ms).sort((x, y) => x - y)[Math.floor(late.length * 0.99)]!)} ms`,
        );
        expect(noticedAt).toBeGreaterThan(0);
        expect(noticed).toBeLessThan(1500);
        expect(failed.length).toBeGreaterThan(0); // some were written before the client could notice
        expect(resubmitted.length).toBeGreaterThan(0);

        // After SIGCONT the resumed server takes submits again.
        await eventually(
          async () => {
            const task = plain.submit("gray_echo", "after");
            await task;
            return task.server === a.address;
          },
          "a submit completed by the resumed server",
          15_000,
        );
      }),
      60_000,
    );
  });
}

describe("client outcome unknown", () => {
  test("outcome unknown - a submit lost before it was written says sent: false; one written says sent: true", async () => {
    // A server that accepts, answers the connect probe, and never answers a submit.
    await using server = await startFaultServer({ reply: (p) => (p.type === PacketType.ECHO_REQ ? undefined : []) });
    const client = new Client({ servers: server.address, maxInFlight: 1 });
    const written = client.submit("gray_unknown", "one");
    const waiting = client.submit("gray_unknown", "two"); // held back by maxInFlight: never written
    await server.waitFor(PacketType.SUBMIT_JOB);
    await client.close();
    const [e1, e2] = await Promise.all([written.catch((e: unknown) => e), waiting.catch((e: unknown) => e)]);
    expect(e1).toBeInstanceOf(ConnectionError);
    expect(e2).toBeInstanceOf(ConnectionError);
    expect({ code: (e1 as ConnectionError).code, sent: (e1 as ConnectionError).sent }).toEqual({
      code: "CLOSED",
      sent: true,
    });
    expect({ code: (e2 as ConnectionError).code, sent: (e2 as ConnectionError).sent }).toEqual({
      code: "CLOSED",
      sent: false,
    });
    expect(server.received.filter((p) => p.type === PacketType.SUBMIT_JOB).length).toBe(1);
  });

  test("outcome unknown - a submit whose connection is lost after it was written: CONNECTION_LOST, sent: true", async () => {
    await using server = await startFaultServer({ reply: (p) => (p.type === PacketType.ECHO_REQ ? undefined : []) });
    await using client = new Client({ servers: server.address, reconnect: { initialDelay: 5000, maxDelay: 5000 } });
    const task = client.submit("gray_unknown", "one");
    const packet = await server.waitFor(PacketType.SUBMIT_JOB);
    packet.peer.close();
    const error = await task.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect({ code: (error as ConnectionError).code, sent: (error as ConnectionError).sent }).toEqual({
      code: "CONNECTION_LOST",
      sent: true,
    });
  });
});
