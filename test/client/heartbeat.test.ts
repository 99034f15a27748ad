/**
 * A server that goes silent (socket open, nothing answered: a partition, a dead host, a frozen
 * VM) is noticed by the client's heartbeat: the jobs waiting on it reject with
 * HEARTBEAT_TIMEOUT or, with retryOnDisconnect, are resubmitted once to a live server; new
 * submits skip it until it is back.
 */
import { expect, test } from "bun:test";
import { Client } from "../../src/client/client.ts";
import type { Task } from "../../src/client/task.ts";
import { ConnectionError } from "../../src/errors.ts";
import { PacketType } from "../../src/protocol/packets.ts";
import { startEchoWorker } from "../support/echo-worker.ts";
import { eventually } from "../support/eventually.ts";
import { startFaultServer, type FaultServer } from "../support/fault-server.ts";
import { logsOnFailure } from "../support/gearmand.ts";
import { describeTargets, startTarget } from "../support/targets.ts";

const INTERVAL = 200;
const TIMEOUT = 300;
/** Detection may take interval + timeout, plus a generous allowance for a loaded machine. */
const DETECTION_BOUND = INTERVAL + TIMEOUT + 1500;
const LIVENESS = {
  heartbeatInterval: INTERVAL,
  heartbeatTimeout: TIMEOUT,
  connectTimeout: 300,
  reconnect: { initialDelay: 50, maxDelay: 100 },
};

/** A fault server that accepts the client's options, creates every submitted job and never finishes one. */
function jobTaker(prefix: string): Promise<FaultServer> {
  let n = 0;
  return startFaultServer({
    reply(packet) {
      if (packet.type === PacketType.SUBMIT_JOB || packet.type === PacketType.SUBMIT_JOB_BG) {
        return [[PacketType.JOB_CREATED, `H:${prefix}:${++n}`]];
      }
      if (packet.type === PacketType.OPTION_REQ) return [[PacketType.OPTION_RES, packet.arg(0)]];
    },
  });
}

function submitsAt(server: FaultServer): string[] {
  return server.received.filter((p) => p.type === PacketType.SUBMIT_JOB).map((p) => p.arg(2));
}

const stateOf = (client: Client, server: string) => client.servers().find((s) => s.server === server)?.state;

describeTargets("client heartbeat", (target) => {
  test(
    "client heartbeat - a job on a silent server rejects with HEARTBEAT_TIMEOUT, new submits go to the live one, and the server is used again once back",
    logsOnFailure(async () => {
      await using silent = await jobTaker("silent");
      await using live = await startTarget(target);
      await using _worker = await startEchoWorker({ server: live.address, functions: ["hb"], grabs: 4 });
      await using client = new Client({ servers: [silent.address, live.address], ...LIVENESS });
      await client.connect();
      await eventually(() => client.servers().every((s) => s.state === "ready"), "both servers ready");

      const first = [client.submit("hb", "a"), client.submit("hb", "b")];
      await Promise.all(first.map((t) => t.handle));
      const onSilent = first.find((t) => t.server === silent.address)!;
      const onLive = first.find((t) => t.server === live.address)!;
      expect(await onLive.text()).toBe(onLive === first[0] ? "a" : "b");
      const silentPayload = onSilent === first[0] ? "a" : "b";

      const silentFrom = performance.now();
      silent.faults.silent = true;
      const error = await onSilent.then(
        () => null,
        (e: unknown) => e,
      );
      const detection = performance.now() - silentFrom;
      console.log(`heartbeat detection (client job, ${target}): ${Math.round(detection)} ms`);
      expect(error).toBeInstanceOf(ConnectionError);
      const e = error as ConnectionError;
      expect(e.code).toBe("HEARTBEAT_TIMEOUT");
      expect(e.server).toBe(silent.address);
      expect(e.message).toContain(silent.address);
      expect(e.message).toMatch(/silent for \d+ ms/);
      expect(detection).toBeLessThan(DETECTION_BOUND);

      // New submits skip the silent server (its redials get no answer to the connect probe).
      const later = Array.from({ length: 10 }, (_, i) => client.submit("hb", `later-${i}`));
      expect(await Promise.all(later.map((t) => t.text()))).toEqual(later.map((_, i) => `later-${i}`));
      for (const t of later) expect(t.server).toBe(live.address);
      expect(submitsAt(silent)).toEqual([silentPayload]);

      silent.faults.silent = false;
      await eventually(() => stateOf(client, silent.address) === "ready", "the silent server to be redialled");
      const back = [client.submit("hb", "c"), client.submit("hb", "d")];
      await Promise.all(back.map((t) => t.handle));
      expect(back.map((t) => t.server).sort()).toEqual([live.address, silent.address].sort());
    }),
    20_000,
  );

  test(
    "client heartbeat - with retryOnDisconnect a job on a silent server completes on the live one",
    logsOnFailure(async () => {
      await using silent = await jobTaker("silent");
      await using live = await startTarget(target);
      await using _worker = await startEchoWorker({ server: live.address, functions: ["hb"], grabs: 4 });
      await using client = new Client({
        servers: [silent.address, live.address],
        retryOnDisconnect: true,
        ...LIVENESS,
      });
      await eventually(() => client.servers().every((s) => s.state === "ready"), "both servers ready");
      const tasks = [client.submit("hb", "a"), client.submit("hb", "b")];
      await Promise.all(tasks.map((t) => t.handle));
      const onSilent = tasks.find((t) => t.server === silent.address)!;
      const silentFrom = performance.now();
      silent.faults.silent = true;
      expect(await Promise.all(tasks.map((t) => t.text()))).toEqual(["a", "b"]);
      const moved = performance.now() - silentFrom;
      console.log(`heartbeat detection + resubmit (client retryOnDisconnect, ${target}): ${Math.round(moved)} ms`);
      expect(onSilent.server).toBe(live.address);
      expect(moved).toBeLessThan(DETECTION_BOUND);
    }),
    20_000,
  );
});

test("client heartbeat - with retryOnDisconnect each waiting job is resubmitted once, not once per loss", async () => {
  await using a = await jobTaker("a");
  await using b = await jobTaker("b");
  await using client = new Client({ servers: [a.address, b.address], retryOnDisconnect: true, ...LIVENESS });
  await eventually(() => client.servers().every((s) => s.state === "ready"), "both servers ready");
  const tasks: Task[] = Array.from({ length: 10 }, (_, i) => client.submit("f", `job-${i}`));
  await Promise.all(tasks.map((t) => t.handle));
  const firstOnA = tasks.filter((t) => t.server === a.address);
  expect(firstOnA.length).toBe(5);
  const outcomes = tasks.map((t) =>
    t.then(
      () => "complete",
      (e: unknown) => (e as ConnectionError).code,
    ),
  );

  // A goes silent: its five jobs move to B.
  a.faults.silent = true;
  await eventually(() => submitsAt(b).length === 10, "A's jobs resubmitted to B");
  a.faults.silent = false;
  await eventually(() => stateOf(client, a.address) === "ready", "A redialled");

  // B goes silent: its own five move to A; the five that moved once already reject.
  b.faults.silent = true;
  const ends = await Promise.race([
    Promise.all(firstOnA.map((t) => t.catch((e: unknown) => (e as ConnectionError).code))),
    Bun.sleep(5000).then(() => ["still pending"]),
  ]);
  expect(ends).toEqual(Array(5).fill("HEARTBEAT_TIMEOUT"));
  await eventually(() => submitsAt(a).length === 10, "B's own jobs resubmitted to A");
  await Bun.sleep(2 * (INTERVAL + TIMEOUT)); // time for any further (wrong) resubmission
  const sent = [...submitsAt(a), ...submitsAt(b)];
  for (let i = 0; i < 10; i++) expect(sent.filter((p) => p === `job-${i}`).length).toBe(2);
  expect(sent.length).toBe(20);
  await client.close();
  const codes = await Promise.all(outcomes);
  expect(codes.filter((c) => c === "HEARTBEAT_TIMEOUT").length).toBe(5);
  expect(codes.filter((c) => c === "CLOSED").length).toBe(5);
});

test("client heartbeat - without retryOnDisconnect nothing is resubmitted", async () => {
  await using a = await jobTaker("a");
  await using b = await jobTaker("b");
  await using client = new Client({ servers: [a.address, b.address], ...LIVENESS });
  await eventually(() => client.servers().every((s) => s.state === "ready"), "both servers ready");
  const tasks = Array.from({ length: 10 }, (_, i) => client.submit("f", `job-${i}`));
  await Promise.all(tasks.map((t) => t.handle));
  const onA = tasks.filter((t) => t.server === a.address);
  a.faults.silent = true;
  const codes = await Promise.all(onA.map((t) => t.catch((e: unknown) => (e as ConnectionError).code)));
  expect(codes).toEqual(Array(5).fill("HEARTBEAT_TIMEOUT"));
  await Bun.sleep(INTERVAL + TIMEOUT);
  expect(submitsAt(b).length).toBe(5);
  expect(tasks.filter((t) => t.server === b.address).every((t) => t.state === "pending")).toBe(true);
});

test("client heartbeat - a busy connection never pings; an idle one pings once per interval", async () => {
  await using server = await jobTaker("busy");
  await using client = new Client({ servers: server.address, heartbeatInterval: 100, heartbeatTimeout: 1000 });
  await client.connect();
  const pings = () => server.received.filter((p) => p.type === PacketType.ECHO_REQ && p.arg(0) !== "gearbun-hello");
  for (let i = 0; i < 30; i++) {
    await client.submitBackground("bg", `${i}`);
    await Bun.sleep(20);
  }
  expect(pings().length).toBe(0);
  const idleFrom = performance.now();
  await Bun.sleep(550);
  const idle = performance.now() - idleFrom;
  expect(pings().length).toBeGreaterThanOrEqual(2);
  expect(pings().length).toBeLessThanOrEqual(Math.ceil(idle / 100));
});
