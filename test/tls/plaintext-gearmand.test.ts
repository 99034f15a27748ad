/**
 * TLS - a TLS client on a plaintext gearmand: gearmand reads the ClientHello as a bad packet and
 * closes without a byte; the error says "plaintext peer", as for a plaintext peer that answers.
 */
import { expect, test } from "bun:test";
import { Admin } from "../../src/admin/admin.ts";
import { ConnectionError } from "../../src/errors.ts";
import { describeGearmand, startGearmand } from "../support/gearmand.ts";

describeGearmand("tls - plaintext gearmand", () => {
  test("tls - a TLS client on a plaintext gearmand is TLS_FAILED: plaintext peer", async () => {
    await using g = await startGearmand();
    const admin = new Admin(`tls://${g.address}`);
    try {
      const error = await admin.version().then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as ConnectionError).code).toBe("TLS_FAILED");
      expect((error as Error).message).toStartWith("TLS handshake failed: plaintext peer");
      expect((error as Error).message).toContain(g.address);
    } finally {
      await admin.close();
    }
  });
});
