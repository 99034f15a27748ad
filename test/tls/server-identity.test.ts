/**
 * The client's checks of the server: name, CA, validity, and a server that does not speak TLS.
 * Each refusal is a ConnectionError TLS_FAILED that says why in words; `rejectUnauthorized:
 * false` connects anyway (unsafe, for tests).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Admin } from "../../src/admin/admin.ts";
import { Client } from "../../src/client/client.ts";
import { ConnectionError } from "../../src/errors.ts";
import type { TlsOptions } from "../../src/options.ts";
import { type EmbeddedServer, startServer } from "../../src/server/server.ts";
import { makeCerts, type TestCerts } from "../support/certs.ts";

/** The error of an admin `version` over TLS (an Admin rejects with the connect error itself). */
async function versionError(server: string, tls: boolean | TlsOptions): Promise<ConnectionError> {
  const admin = new Admin(server, { tls, connectTimeout: 3000 });
  try {
    const error = await admin.version().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).code).toBe("TLS_FAILED");
    expect((error as ConnectionError).server).toBe(server.replace("tls://", ""));
    return error as ConnectionError;
  } finally {
    await admin.close();
  }
}

describe("tls - the server's identity", () => {
  let certs: TestCerts;
  let server: EmbeddedServer;
  let expired: EmbeddedServer;
  let plain: EmbeddedServer;

  beforeAll(async () => {
    certs = makeCerts();
    server = await startServer({ port: 0, tls: { cert: certs.server.cert, key: certs.server.key } });
    expired = await startServer({ port: 0, tls: { cert: certs.expired.cert, key: certs.expired.key } });
    plain = await startServer({ port: 0 });
  });

  afterAll(async () => {
    await server?.stop();
    await expired?.stop();
    await plain?.stop();
    certs?.[Symbol.dispose]();
  });

  test("tls - the right CA and name connect, by IP address and by host name", async () => {
    for (const address of [`tls://127.0.0.1:${server.port}`, `tls://localhost:${server.port}`]) {
      const admin = new Admin(address, { tls: { ca: certs.ca.cert } });
      expect((await admin.version()).length).toBeGreaterThan(0);
      await admin.close();
    }
  });

  test("tls - a wrong server name is TLS_FAILED naming the mismatch and the name", async () => {
    const error = await versionError(server.address, { ca: certs.ca.cert, servername: "gearman.example" });
    expect(error.message).toContain("name mismatch");
    expect(error.message).toContain('"gearman.example"');
  });

  test("tls - rejectUnauthorized: false connects despite the wrong name and an unknown CA", async () => {
    await using client = new Client({
      servers: `tls://${server.address}`,
      tls: { servername: "gearman.example", rejectUnauthorized: false },
    });
    const handle = await client.submitBackground("unsafe", "x");
    expect(handle).toStartWith("H:");
  });

  test("tls - a CA the client does not trust is TLS_FAILED: unknown CA", async () => {
    expect((await versionError(server.address, true)).message).toContain("unknown CA");
    expect((await versionError(server.address, { ca: certs.otherCa.cert })).message).toContain("unknown CA");
  });

  test("tls - an expired server certificate is TLS_FAILED: expired", async () => {
    const error = await versionError(expired.address, { ca: certs.ca.cert });
    expect(error.message).toContain("expired");
  });

  test("tls - a plaintext server is TLS_FAILED: plaintext peer", async () => {
    const error = await versionError(`tls://${plain.address}`, { ca: certs.ca.cert });
    expect(error.message).toContain("plaintext peer");
  });
});
