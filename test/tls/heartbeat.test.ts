/**
 * The heartbeat over TLS: stunnel in front of the embedded server, SIGSTOPped, is a TLS peer
 * that holds its sockets open and forwards nothing. The client's waiting job rejects with
 * HEARTBEAT_TIMEOUT, the worker drops its link with HEARTBEAT_TIMEOUT, both redial (their
 * handshakes unanswered while it is stopped), and once it runs again both are back over TLS.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Client } from "../../src/client/client.ts";
import { ConnectionError, type GearmanError } from "../../src/errors.ts";
import type { TlsOptions } from "../../src/options.ts";
import { type EmbeddedServer, startServer } from "../../src/server/server.ts";
import { Worker } from "../../src/worker/worker.ts";
import { makeCerts, type TestCerts } from "../support/certs.ts";
import { eventually } from "../support/eventually.ts";
import { haveTerminator, startTerminator, type Terminator } from "../support/tls-terminator.ts";

const INTERVAL = 200;
const TIMEOUT = 300;
/** Detection takes interval + timeout; the rest is a generous allowance for a loaded machine. */
const DETECTION_BOUND = INTERVAL + TIMEOUT + 2000;
const LIVENESS = {
  heartbeatInterval: INTERVAL,
  heartbeatTimeout: TIMEOUT,
  connectTimeout: 300,
  reconnect: { initialDelay: 50, maxDelay: 200 },
};

describe.skipIf(!haveTerminator("stunnel"))("tls - heartbeat through a TLS terminator", () => {
  let certs: TestCerts;
  let server: EmbeddedServer;
  let terminator: Terminator;
  let tls: TlsOptions;

  beforeAll(async () => {
    certs = makeCerts();
    server = await startServer({ port: 0 });
    const files = { certFile: certs.server.certFile, keyFile: certs.server.keyFile, caFile: certs.ca.certFile };
    terminator = await startTerminator("stunnel", server.address, files);
    tls = { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key };
  });

  afterAll(async () => {
    await terminator?.stop();
    await server?.stop();
    certs?.[Symbol.dispose]();
  });

  test("tls - a silent TLS peer is detected by the heartbeat: HEARTBEAT_TIMEOUT, redial, and back once it answers", async () => {
    const entry = `tls://${terminator.address}`;
    await using worker = new Worker({ servers: entry, tls, ...LIVENESS });
    worker.register("hb", (job) => job.text());
    const drops: GearmanError[] = [];
    const connects: boolean[] = [];
    worker.on("disconnect", (e) => drops.push(e.error));
    worker.on("connect", (e) => connects.push(e.reconnect));
    await worker.start();
    await using client = new Client({ servers: entry, tls, ...LIVENESS });
    expect(await client.submit("hb", "before").text()).toBe("before");

    // A job nobody serves keeps the client waiting on the connection.
    const waiting = client.submit("nobody", "x");
    await waiting.handle;
    const silentFrom = performance.now();
    terminator.pause();
    try {
      const error = await waiting.then(
        () => null,
        (e: unknown) => e,
      );
      const detection = performance.now() - silentFrom;
      console.log(`heartbeat detection over TLS (client job): ${Math.round(detection)} ms`);
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as ConnectionError).code).toBe("HEARTBEAT_TIMEOUT");
      expect((error as ConnectionError).server).toBe(terminator.address);
      expect(detection).toBeLessThan(DETECTION_BOUND);
      await eventually(() => drops.length > 0, "the worker to drop its silent link");
      expect(drops[0]!.code).toBe("HEARTBEAT_TIMEOUT");
      expect(drops[0]!.message).toMatch(/silent for \d+ ms/);
      // Redials reach the stopped terminator's port but no handshake answer: never ready.
      await Bun.sleep(LIVENESS.connectTimeout * 2);
      expect(client.servers()[0]!.state).not.toBe("ready");
      expect(worker.stats().servers[0]!.state).not.toBe("ready");
    } finally {
      terminator.resume();
    }
    await eventually(() => client.servers()[0]!.state === "ready", "the client to be back over TLS");
    await eventually(() => worker.stats().servers[0]!.state === "ready", "the worker to be back over TLS");
    expect(connects[0]).toBe(false);
    expect(connects.at(-1)).toBe(true);
    expect(await client.submit("hb", "after").text()).toBe("after");
  }, 20_000);
});
