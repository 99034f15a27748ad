/**
 * `gearbun server --ssl`: gearmand's TLS flags on the embedded server, mutual TLS with
 * --ssl-ca-file, refusals in the log, and one-line usage errors.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Admin } from "../../src/admin/admin.ts";
import type { ConnectionError } from "../../src/errors.ts";
import { makeCerts, type TestCerts } from "../support/certs.ts";
import { eventually } from "../support/eventually.ts";
import { gearbun, gearbunDaemon } from "../support/processes.ts";

describe("tls - gearbun server --ssl", () => {
  let certs: TestCerts;
  beforeAll(() => {
    certs = makeCerts();
  });
  afterAll(() => certs?.[Symbol.dispose]());

  test("tls - gearbun server --ssl --ssl-ca-file serves clients with certificates and logs refusals", async () => {
    await using server = await gearbunDaemon(
      [
        "server",
        "--port",
        "0",
        "--ssl",
        "--ssl-certificate",
        certs.server.certFile,
        "--ssl-key",
        certs.server.keyFile,
        "--ssl-ca-file",
        certs.ca.certFile,
      ],
      /listening on (\S+) /,
    );
    const address = `tls://${server.match[1]}`;
    const admin = new Admin(address, {
      tls: { ca: certs.ca.certFile, cert: certs.client.certFile, key: certs.client.keyFile },
    });
    try {
      expect(await admin.version()).toStartWith("gearbun");
    } finally {
      await admin.close();
    }
    const refused = new Admin(address, { tls: { ca: certs.ca.certFile } });
    try {
      const error = await refused.version().catch((e: unknown) => e);
      expect((error as ConnectionError).code).toBe("TLS_FAILED");
    } finally {
      await refused.close();
    }
    await eventually(
      () => /TLS handshake refused from 127\.0\.0\.1:\d+: no client certificate/.test(server.output()),
      "the refusal in the log",
    );
  });

  test("tls - --ssl flags: missing files and flags without --ssl are one-line usage errors", async () => {
    const cases: [string[], RegExp, number][] = [
      [["--ssl"], /--ssl needs --ssl-certificate FILE and --ssl-key FILE/, 2],
      [["--ssl-key", certs.server.keyFile], /--ssl-key needs --ssl/, 2],
      [
        ["--ssl", "--ssl-certificate", "/nonexistent/server.pem", "--ssl-key", certs.server.keyFile],
        /tls\.cert: cannot read file "\/nonexistent\/server\.pem"/,
        1,
      ],
    ];
    for (const [flags, message, code] of cases) {
      const r = await gearbun(["server", "--port", "0", ...flags]);
      expect(r.code).toBe(code);
      expect(r.err.trim().split("\n")).toHaveLength(1);
      expect(r.err.trim()).toMatch(message);
    }
  });
});
