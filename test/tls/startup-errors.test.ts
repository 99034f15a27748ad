/**
 * A Client or Worker whose every server failed the TLS handshake rejects with TLS_FAILED naming
 * each server and reason (a settings problem); when some server failed otherwise it is
 * NO_SERVERS as before.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Client } from "../../src/client/client.ts";
import { ConnectionError } from "../../src/errors.ts";
import { type EmbeddedServer, startServer } from "../../src/server/server.ts";
import { Worker } from "../../src/worker/worker.ts";
import { makeCerts, type TestCerts } from "../support/certs.ts";

/** A port nothing listens on: opened on port 0, then closed. */
function closedPort(): string {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const address = `127.0.0.1:${listener.port}`;
  listener.stop(true);
  return address;
}

async function submitError(client: Client): Promise<ConnectionError> {
  const error = await client.submit("f", "x").catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConnectionError);
  return error as ConnectionError;
}

async function startError(worker: Worker): Promise<ConnectionError> {
  worker.register("f", () => "x");
  const error = await worker.start().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConnectionError);
  return error as ConnectionError;
}

describe("tls - start-up errors", () => {
  let certs: TestCerts;
  let mutual: EmbeddedServer;
  let plain: EmbeddedServer;

  beforeAll(async () => {
    certs = makeCerts();
    mutual = await startServer({
      port: 0,
      tls: { cert: certs.server.cert, key: certs.server.key, ca: certs.ca.cert },
      log: () => {},
    });
    plain = await startServer({ port: 0 });
  });

  afterAll(async () => {
    await Promise.all([mutual?.stop(), plain?.stop()]);
    certs?.[Symbol.dispose]();
  });

  test("tls - a client whose one server fails the handshake rejects with that server's TLS_FAILED", async () => {
    await using client = new Client({
      servers: mutual.address,
      tls: { ca: certs.otherCa.cert },
      reconnect: () => null,
    });
    const error = await submitError(client);
    expect(error.code).toBe("TLS_FAILED");
    expect(error.server).toBe(mutual.address);
    expect(error.message).toContain("unknown CA");
    expect(error.message).toContain(mutual.address);
  });

  test("tls - every server failing the handshake: TLS_FAILED lists each server and reason", async () => {
    const servers = [mutual.address, `tls://${plain.address}`];
    await using client = new Client({ servers, tls: { ca: certs.ca.cert }, reconnect: () => null });
    const error = await submitError(client);
    expect(error.code).toBe("TLS_FAILED");
    expect(error.message).toStartWith("TLS handshake failed with every server: ");
    expect(error.message).toContain(`${mutual.address}: no client certificate`);
    expect(error.message).toContain(`${plain.address}: plaintext peer`);
    expect((error.cause as AggregateError).errors.map((e: ConnectionError) => e.code)).toEqual([
      "TLS_FAILED",
      "TLS_FAILED",
    ]);

    await using worker = new Worker({ servers, tls: { ca: certs.ca.cert }, reconnect: () => null });
    const started = await startError(worker);
    expect(started.code).toBe("TLS_FAILED");
    expect(started.message).toContain(`${mutual.address}: no client certificate`);
    expect(started.message).toContain(`${plain.address}: plaintext peer`);
  });

  test("tls - a server down for another reason keeps NO_SERVERS, listing the TLS failure too", async () => {
    const down = closedPort();
    const servers = [mutual.address, down];
    await using client = new Client({
      servers: `tls://${mutual.address},${down}`,
      tls: { ca: certs.otherCa.cert },
      reconnect: () => null,
    });
    const error = await submitError(client);
    expect(error.code).toBe("NO_SERVERS");
    expect(error.message).toContain("unknown CA");
    expect(error.message).toContain(down);

    await using worker = new Worker({ servers, tls: { ca: certs.ca.cert }, reconnect: () => null });
    const started = await startError(worker);
    expect(started.code).toBe("NO_SERVERS");
    expect(started.message).toContain("no client certificate");
    expect(started.message).toContain(down);
  });
});
