/**
 * TLS on the embedded server with a CA (mutual TLS): gearbun's worker, client and admin with
 * client certificates do everything they do in plaintext; peers without a certificate, with one
 * from another CA, or speaking plaintext are refused in the handshake, never answered, and the
 * refusal is logged with the peer's address.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Admin } from "../../src/admin/admin.ts";
import { Client } from "../../src/client/client.ts";
import type { Task } from "../../src/client/task.ts";
import { ConnectionError, JobFailedError } from "../../src/errors.ts";
import { type EmbeddedServer, startServer } from "../../src/server/server.ts";
import { Worker } from "../../src/worker/worker.ts";
import { makeCerts, type TestCerts } from "../support/certs.ts";
import { eventually } from "../support/eventually.ts";
import { gearadminPath } from "../support/gearmand.ts";
import { showEvent } from "../support/task-events.ts";

async function events(task: Task): Promise<string[]> {
  const out: string[] = [];
  for await (const e of task.events()) out.push(showEvent(e));
  return out;
}

/**
 * The TLS_FAILED error behind a refused first connect: Admin, Client and Worker reject with it
 * when every server failed its handshake; a NO_SERVERS (some other server down) carries it as
 * `cause` (a Worker's in an AggregateError).
 */
function tlsError(error: unknown): ConnectionError {
  let e = error;
  for (let depth = 0; depth < 3 && !(e instanceof ConnectionError && e.code === "TLS_FAILED"); depth++) {
    if (e instanceof AggregateError) e = e.errors[0];
    else if (e instanceof Error) e = e.cause;
  }
  expect(e).toBeInstanceOf(ConnectionError);
  expect((e as ConnectionError).code).toBe("TLS_FAILED");
  return e as ConnectionError;
}

describe("tls - embedded server with a CA", () => {
  let certs: TestCerts;
  let server: EmbeddedServer;
  const log: string[] = [];
  let clientTls: { ca: string; cert: string; key: string };

  beforeAll(async () => {
    certs = makeCerts();
    // File paths on the server side, PEM text on the client side: both forms are taken.
    server = await startServer({
      port: 0,
      tls: { cert: certs.server.certFile, key: certs.server.keyFile, ca: certs.ca.certFile },
      log: (line) => log.push(line),
    });
    clientTls = { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key };
  });

  afterAll(async () => {
    await server?.stop();
    certs?.[Symbol.dispose]();
  });

  test("tls - worker and client with client certificates run jobs: data, status, failures with their reason", async () => {
    await using worker = new Worker({ servers: server.address, tls: clientTls, concurrency: 4 });
    worker.register("steps", async (job) => {
      await job.data("d1");
      await job.status(1, 2);
      return job.text().toUpperCase();
    });
    worker.register("boom", () => {
      throw new Error("it broke");
    });
    await worker.start();
    await using client = new Client({ servers: `tls://localhost:${server.port}`, tls: clientTls });
    const task = client.submit("steps", "hello");
    expect(await events(task)).toEqual(["data:d1", "status:1/2", "complete:HELLO"]);
    const error = await client.submit("boom", "x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobFailedError);
    expect((error as JobFailedError).detail).toBe("it broke");
    // A payload larger than a TLS record (16 KiB) and the socket buffers, both ways.
    const big = "x".repeat(3 * 1024 * 1024);
    expect((await client.submit("steps", big).text()).length).toBe(big.length);
    const many = await Promise.all(Array.from({ length: 200 }, (_, i) => client.submit("steps", `j${i}`).text()));
    expect(many[199]).toBe("J199");
  });

  test("tls - background jobs and their status over TLS", async () => {
    await using client = new Client({ servers: server.address, tls: clientTls });
    const handle = await client.submitBackground("nobody-runs-this", "x");
    const status = await client.status(handle);
    expect(status).toMatchObject({ known: true, running: false });
  });

  test("tls - admin commands ride the same TLS port", async () => {
    await using worker = new Worker({ servers: server.address, tls: clientTls, clientId: "tls-worker" });
    worker.register("admin-fn", () => "ok");
    await worker.start();
    const admin = new Admin(`tls://127.0.0.1:${server.port}`, { tls: clientTls });
    try {
      expect((await admin.version()).length).toBeGreaterThan(0);
      const status = await admin.status();
      expect(status.find((s) => s.function === "admin-fn")?.workers).toBe(1);
      const workers = await admin.workers();
      expect(workers.some((w) => w.clientId === "tls-worker" && w.functions.includes("admin-fn"))).toBe(true);
    } finally {
      await admin.close();
    }
  });

  test("tls - a client without a certificate is refused: TLS_FAILED, no client certificate, logged", async () => {
    log.length = 0;
    await using client = new Client({ servers: server.address, tls: { ca: certs.ca.cert }, reconnect: () => null });
    const error = tlsError(await client.submit("steps", "x").catch((e: unknown) => e));
    expect(error.message).toContain("no client certificate");
    expect(error.server).toBe(server.address);
    await eventually(
      () => /TLS handshake refused from 127\.0\.0\.1:\d+: no client certificate/.test(log.join("\n")),
      "the refusal in the log",
    );
  });

  test("tls - a client certificate from another CA is refused: TLS_FAILED, logged", async () => {
    log.length = 0;
    const admin = new Admin(server.address, {
      tls: { ca: certs.ca.cert, cert: certs.otherClient.certFile, key: certs.otherClient.keyFile },
    });
    try {
      const error = tlsError(await admin.version().catch((e: unknown) => e));
      expect(error.message).toContain("refused our client certificate");
    } finally {
      await admin.close();
    }
    await eventually(
      () => /TLS handshake refused from 127\.0\.0\.1:\d+: client certificate not signed by the CA/.test(log.join("\n")),
      "the refusal in the log",
    );
  });

  test("tls - a worker with no certificate never registers, and says why", async () => {
    await using worker = new Worker({ servers: server.address, tls: { ca: certs.ca.cert }, reconnect: () => null });
    worker.register("never", () => "x");
    const error = tlsError(await worker.start().catch((e: unknown) => e));
    expect(error.message).toContain("no client certificate");
  });

  test("tls - a plaintext peer gets no byte of Gearman and is closed; the refusal is logged", async () => {
    log.length = 0;
    const received: Uint8Array[] = [];
    const closed = Promise.withResolvers<void>();
    const socket = await Bun.connect({
      hostname: "127.0.0.1",
      port: server.port,
      socket: {
        data: (_s, d) => void received.push(new Uint8Array(d)),
        close: () => closed.resolve(),
        error: () => closed.resolve(),
      },
    });
    socket.write("status\n");
    socket.write(new Uint8Array([0, 0x52, 0x45, 0x51, 0, 0, 0, 16, 0, 0, 0, 1, 0x78])); // ECHO_REQ "x"
    await closed.promise;
    const bytes = Buffer.concat(received);
    // At most a TLS alert record (content type 21): never a reply line or a RES packet.
    if (bytes.length > 0) expect(bytes[0]).toBe(21);
    expect(bytes.includes(Buffer.from("\0RES"))).toBe(false);
    expect(bytes.toString("latin1")).not.toContain("\n");
    await eventually(
      () => /refused from 127\.0\.0\.1:\d+: plaintext peer/.test(log.join("\n")),
      "the refusal in the log",
    );
  });

  test("tls - gearadmin (plaintext) gets no answer and the refusal is logged", async () => {
    if (gearadminPath === null) {
      if (process.env.GEARBUN_REQUIRE_GEARMAND === "1") throw new Error("gearadmin (gearman-tools) is not installed");
      console.warn("SKIP: gearadmin not installed");
      return;
    }
    log.length = 0;
    const proc = Bun.spawn([gearadminPath, "-h", "127.0.0.1", "-p", String(server.port), "--status"], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
    const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    await proc.exited;
    clearTimeout(timer);
    expect(out).toBe("");
    expect(err).toContain("Error");
    expect(proc.exitCode).not.toBe(0);
    await eventually(
      () => /refused from 127\.0\.0\.1:\d+: plaintext peer/.test(log.join("\n")),
      "the refusal in the log",
    );
  });
});
