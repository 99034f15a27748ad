/**
 * A submit over the packet size limit is refused before it reaches the socket: the server would
 * drop the connection, and every other job waiting on it with it.
 */
import { expect, test } from "bun:test";
import { Client } from "../../src/client/client.ts";
import { ProtocolError } from "../../src/errors.ts";
import { startEchoWorker } from "../support/echo-worker.ts";
import { logsOnFailure } from "../support/gearmand.ts";
import { describeTargets, startTarget } from "../support/targets.ts";

const LIMIT = 64 * 1024;

describeTargets("client oversize", (target) => {
  test(
    "oversize - a submit over maxPacketSize rejects alone with PACKET_TOO_LARGE; the connection and its other jobs carry on",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using client = new Client({ servers: server.address, maxPacketSize: LIMIT });
      const waiting = client.submit("later", "waits for a worker");
      await waiting.handle;
      const big = client.submit("later", new Uint8Array(LIMIT + 1));
      const error = await big.then(() => null).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProtocolError);
      expect((error as ProtocolError).code).toBe("PACKET_TOO_LARGE");
      expect((error as ProtocolError).message).toContain(`over the ${LIMIT}-byte limit (maxPacketSize)`);
      const bg = await client.submitBackground("later", "x".repeat(LIMIT + 1)).catch((e: unknown) => e);
      expect((bg as ProtocolError).code).toBe("PACKET_TOO_LARGE");

      await using _worker = await startEchoWorker({ server: server.address, functions: ["later"] });
      expect(await waiting.text()).toBe("waits for a worker");
      expect(await client.submit("later", "after").text()).toBe("after");
      expect(client.servers()[0]!.state).toBe("ready");
      expect(client.servers()[0]!.lastError).toBeNull();
    }),
  );
});
