import { expect, test } from "bun:test";
import { Client } from "../../src/client/client.ts";
import { ConfigError, ConnectionError, ServerError, TimeoutError } from "../../src/errors.ts";
import { resolveClientOptions } from "../../src/options.ts";
import { PacketType } from "../../src/protocol/packets.ts";
import { startEchoWorker } from "../support/echo-worker.ts";
import { startFaultServer, type FaultPacket } from "../support/fault-server.ts";
import { freePort, logsOnFailure } from "../support/gearmand.ts";
import { describeTargets, startTarget } from "../support/targets.ts";

const SUBMITS: ReadonlySet<number> = new Set([PacketType.SUBMIT_JOB, PacketType.SUBMIT_JOB_BG]);

describeTargets("client errors", (target) => {
  test(
    "client errors - a server ERROR rejects that submit with ServerError and its code; the rest go on",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using _w = await startEchoWorker({ server: server.address, functions: ["echo"] });
      await using client = new Client({ servers: server.address });
      const before = client.submit("echo", "before");
      const bad = client.submit("echo", "x", { unique: "u".repeat(100) }); // both servers: at most 64 bytes
      const after = client.submit("echo", "after");
      const error = await bad.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ServerError);
      expect((error as ServerError).serverCode).toBe("ARGUMENT_TOO_LARGE");
      expect((error as ServerError).message).toContain(server.address);
      expect(await bad.handle.catch((e: unknown) => e)).toBe(error);
      expect(await before.text()).toBe("before");
      expect(await after.text()).toBe("after");
      const bg = await client.submitBackground("echo", "x", { unique: "u".repeat(65) }).catch((e: unknown) => e);
      expect(bg).toBeInstanceOf(ServerError);
    }),
  );

  test(
    "client errors - a timed-out job rejects with TimeoutError and leaves nothing behind",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using client = new Client({ servers: server.address });
      const task = client.submit("nobody", "x", { timeout: 200 });
      const handle = await task.handle;
      const error = await task.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TimeoutError);
      expect((error as TimeoutError).message).toContain("200 ms");
      expect(client.servers()[0]!.inFlight).toEqual({ requests: 0, jobs: 0 });
      // The job is still queued on the server; its late result is ignored.
      await using _w = await startEchoWorker({ server: server.address, functions: ["nobody"] });
      await Bun.sleep(100);
      expect((await client.status(handle)).known).toBe(false);
      expect(task.state).toBe("failed");
      // The client-wide default applies too.
      await using short = new Client({ servers: server.address, timeout: 100 });
      expect(await short.submit("nobody-else", "x").catch((e: unknown) => e)).toBeInstanceOf(TimeoutError);
    }),
  );

  test(
    "client errors - a lost connection rejects waiting jobs with ConnectionError naming the server",
    logsOnFailure(async () => {
      await using server = await startTarget(target, { process: true }); // killed below
      await using client = new Client({ servers: server.address, reconnect: { initialDelay: 50, maxDelay: 100 } });
      const tasks = Array.from({ length: 10 }, (_, i) => client.submit("nobody", `${i}`));
      await Promise.all(tasks.map((t) => t.handle));
      await server.kill();
      for (const t of tasks) {
        const error = await t.catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConnectionError);
        expect((error as ConnectionError).code).toBe("CONNECTION_LOST");
        expect((error as ConnectionError).message).toContain(server.address);
      }
      expect(client.servers()[0]!.inFlight).toEqual({ requests: 0, jobs: 0 });
    }),
  );
});

test("client errors - ERROR answers the oldest request on the connection", async () => {
  let submits = 0;
  await using server = await startFaultServer({
    reply(p: FaultPacket) {
      if (p.type === PacketType.OPTION_REQ) return [[PacketType.OPTION_RES, p.arg(0)]];
      if (SUBMITS.has(p.type)) {
        submits++;
        if (submits === 2) return [[PacketType.ERROR, "QUEUE_ERROR", "queue full"]];
        return [[PacketType.JOB_CREATED, `H:fault:${submits}`]];
      }
      if (p.type === PacketType.GET_STATUS) return [[PacketType.STATUS_RES, p.arg(0), "1", "0", "0", "0"]];
    },
  });
  await using client = new Client({ servers: server.address });
  const a = client.submitBackground("f", "a");
  const b = client.submitBackground("f", "b");
  const s = client.status("H:fault:1", server.address);
  const c = client.submit("f", "c");
  expect(await a).toBe("H:fault:1");
  const error = await b.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ServerError);
  expect((error as ServerError).serverCode).toBe("QUEUE_ERROR");
  expect((await s).known).toBe(true);
  expect(await c.handle).toBe("H:fault:3");
});

test("client errors - a job that times out before JOB_CREATED is skipped when the reply comes", async () => {
  let hold = true;
  const held: FaultPacket[] = [];
  await using server = await startFaultServer({
    reply(p: FaultPacket) {
      if (p.type === PacketType.OPTION_REQ) return [[PacketType.OPTION_RES, p.arg(0)]];
      if (p.type === PacketType.SUBMIT_JOB && hold) {
        held.push(p);
        return [];
      }
      if (p.type === PacketType.SUBMIT_JOB) return [[PacketType.JOB_CREATED, "H:fault:2"]];
    },
  });
  await using client = new Client({ servers: server.address });
  const late = client.submit("f", "late", { timeout: 100 });
  expect(await late.catch((e: unknown) => e)).toBeInstanceOf(TimeoutError);
  expect(client.servers()[0]!.inFlight.requests).toBe(1); // the reply is still owed
  hold = false;
  held[0]!.peer.send(PacketType.JOB_CREATED, "H:fault:1");
  const next = client.submit("f", "next");
  expect(await next.handle).toBe("H:fault:2");
  server.peers[0]!.send(PacketType.WORK_COMPLETE, "H:fault:1", "ignored");
  server.peers[0]!.send(PacketType.WORK_COMPLETE, "H:fault:2", "done");
  expect(await next.text()).toBe("done");
  expect(late.state).toBe("failed");
  expect(client.servers()[0]!.inFlight).toEqual({ requests: 0, jobs: 0 });
});

test("client errors - with no server reachable, submits fail listing each server and why", async () => {
  const a = `127.0.0.1:${freePort()}`;
  const b = `127.0.0.1:${freePort()}`;
  await using client = new Client({ servers: [a, b], reconnect: { initialDelay: 1000 } });
  const error = await client.submit("f", "x").catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConnectionError);
  expect((error as ConnectionError).code).toBe("NO_SERVERS");
  expect((error as ConnectionError).message).toContain(`${a}: cannot connect`);
  expect((error as ConnectionError).message).toContain(`${b}: cannot connect`);
  // Later submits fail at once, without waiting for the background redials.
  const started = Date.now();
  expect(await client.submitBackground("f", "x").catch((e: unknown) => e)).toBeInstanceOf(ConnectionError);
  expect(await client.statusUnique("u").catch((e: unknown) => e)).toBeInstanceOf(ConnectionError);
  expect(Date.now() - started).toBeLessThan(900);
});

test("client errors - close rejects waiting jobs with ConnectionError CLOSED", async () => {
  await using server = await startFaultServer({
    reply(p: FaultPacket) {
      if (p.type === PacketType.OPTION_REQ) return [[PacketType.OPTION_RES, p.arg(0)]];
      if (p.type === PacketType.SUBMIT_JOB) return [[PacketType.JOB_CREATED, "H:fault:1"]];
    },
  });
  const client = new Client({ servers: server.address });
  const waiting = client.submit("f", "x");
  await waiting.handle;
  await client.close();
  const error = await waiting.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConnectionError);
  expect((error as ConnectionError).code).toBe("CLOSED");
  expect(await client.submit("f", "y").catch((e: unknown) => (e as ConnectionError).code)).toBe("CLOSED");
});

test("client errors - rememberHandles must be a whole number (a fraction never wrapped the handle ring)", () => {
  expect(() => resolveClientOptions({ rememberHandles: 2.5 })).toThrow(ConfigError);
  expect(() => resolveClientOptions({ rememberHandles: 2.5 })).toThrow(/rememberHandles/);
  expect(resolveClientOptions({ rememberHandles: 3 }).rememberHandles).toBe(3);
});
