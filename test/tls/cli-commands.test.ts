/**
 * The commands that connect to job servers speak TLS: with --ssl and the CA and client
 * certificate flags they work against a mutual-TLS embedded server; without a client certificate
 * they fail and say why in one line; a "tls://" server is never spoken to in plaintext (against a
 * plaintext-only server every command fails, and the server sees no worker and no job).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Admin } from "../../src/admin/admin.ts";
import { scrapeCluster } from "../../src/metrics/exporter.ts";
import { type EmbeddedServer, startServer } from "../../src/server/server.ts";
import { makeCerts, type TestCerts } from "../support/certs.ts";
import { gearbun, gearbunDaemon } from "../support/processes.ts";

const HANDLERS = join(import.meta.dir, "..", "cli", "fixtures", "handlers.ts");

describe("tls - gearbun commands with --ssl", () => {
  let certs: TestCerts;
  let server: EmbeddedServer;
  let plain: EmbeddedServer;
  let ssl: string[];
  let noCert: string[];

  beforeAll(async () => {
    certs = makeCerts();
    server = await startServer({
      port: 0,
      tls: { cert: certs.server.certFile, key: certs.server.keyFile, ca: certs.ca.certFile },
      log: () => {},
    });
    plain = await startServer({ port: 0 });
    ssl = ["--ssl", "--ssl-ca-file", certs.ca.certFile];
    ssl.push("--ssl-certificate", certs.client.certFile, "--ssl-key", certs.client.keyFile);
    noCert = ["--ssl", "--ssl-ca-file", certs.ca.certFile];
  });

  afterAll(async () => {
    await Promise.all([server?.stop(), plain?.stop()]);
    certs?.[Symbol.dispose]();
  });

  test("tls - gearbun worker, submit, status and check work with --ssl and a client certificate", async () => {
    const at = server.address;
    await using worker = await gearbunDaemon(
      ["worker", HANDLERS, "--servers", at, "--log", "off", ...ssl],
      /gearbun worker: reverse/,
    );
    expect(worker.output()).toContain(`on ${at}`);
    const submitted = await gearbun(["submit", "reverse", "gearbun", "--servers", at, ...ssl]);
    expect(submitted).toEqual({ code: 0, out: "nubraeg", err: "" });
    const status = await gearbun(["status", "--servers", at, ...ssl]);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/^ {2}reverse +\d+ +\d+ +\d+ +1$/m);
    const check = await gearbun(["check", "--servers", at, ...ssl, "--job", "shout:tls", "--expect", "TLS"]);
    expect(check.code).toBe(0);
    expect(check.out).toStartWith("GEARMAN OK");
    // tls:// entries take the file flags without --ssl.
    const files = ssl.slice(1);
    const tlsEntry = await gearbun(["submit", "reverse", "ab", "--servers", `tls://${at}`, ...files]);
    expect(tlsEntry).toEqual({ code: 0, out: "ba", err: "" });
  });

  test("tls - without a client certificate each command fails and says why in one line", async () => {
    const at = server.address;
    const submitted = await gearbun(["submit", "reverse", "x", "--servers", at, ...noCert]);
    expect(submitted.code).toBe(1);
    expect(submitted.err.trim().split("\n")).toHaveLength(1);
    expect(submitted.err).toMatch(
      /^gearbun submit: TLS handshake failed: no client certificate: .*\(server 127\.0\.0\.1:\d+\)\n$/,
    );
    const status = await gearbun(["status", "--servers", at, ...noCert]);
    expect(status.code).toBe(1);
    expect(status.out).toBe(
      `${at}\n  unreachable: TLS handshake failed: no client certificate: the server requires one (set tls.cert and tls.key) (server ${at})\n`,
    );
    const check = await gearbun(["check", "--servers", at, ...noCert]);
    expect(check.code).toBe(2);
    expect(check.out.trim().split("\n")).toHaveLength(1);
    expect(check.out).toMatch(/^GEARMAN CRITICAL - .* down \(TLS handshake failed: no client certificate/);
    // The pool's child cannot register and exits saying why; the supervisor keeps respawning it.
    await using worker = await gearbunDaemon(
      ["worker", HANDLERS, "--servers", at, "--log", "json", ...noCert],
      /"event":"child:exit".*TLS handshake failed: no client certificate/,
    );
    expect(worker.output()).not.toContain('"event":"started"');
    await using admin = new Admin(server.address, {
      tls: { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key },
    });
    expect((await admin.workers()).filter((w) => w.functions.includes("reverse"))).toHaveLength(0);
  });

  test("tls - a tls:// server is never spoken to in plaintext: every command fails on a plaintext server", async () => {
    const entry = `tls://${plain.address}`;
    const why = `TLS handshake failed: plaintext peer: the server does not speak TLS on this port (server ${plain.address})`;
    expect(await gearbun(["submit", "reverse", "x", "--servers", entry, "--background"])).toEqual({
      code: 1,
      out: "",
      err: `gearbun submit: ${why}\n`,
    });
    expect(await gearbun(["status", "--servers", entry])).toEqual({
      code: 1,
      out: `${entry}\n  unreachable: ${why}\n`,
      err: "",
    });
    const check = await gearbun(["check", "--servers", entry, "--job", "reverse:x"]);
    expect(check.code).toBe(2);
    expect(check.out).toContain(why);
    const top = await gearbun(["top", "--once", "--servers", entry]);
    expect(top.code).toBe(1);
    expect(top.out).toContain("plaintext peer");
    expect(await scrapeCluster(entry, 2000)).toContain(`gearman_up{server="${plain.address}"} 0`);
    const demo = await gearbun(["demo", "--servers", entry, "--workers", "1", "--clients", "1", "--jobs", "1"]);
    expect(demo.code).toBe(1);
    expect(demo.err).toContain("plaintext peer");
    await using worker = await gearbunDaemon(
      ["worker", HANDLERS, "--servers", entry, "--log", "json"],
      /"event":"child:exit".*plaintext peer/,
    );
    expect(worker.output()).not.toContain('"event":"started"');
    // The server never saw a job or a registered worker.
    await using admin = new Admin(plain.address);
    expect(await admin.status()).toEqual([]);
    expect((await admin.workers()).filter((w) => w.functions.length > 0)).toHaveLength(0);
  });

  test("tls - file flags without --ssl on a plaintext server list are a one-line usage error", async () => {
    for (const command of [["status"], ["submit", "f", "x"], ["top", "--once"], ["check"], ["worker", HANDLERS]]) {
      const r = await gearbun([...command, "--servers", plain.address, "--ssl-ca-file", certs.ca.certFile]);
      const name = command[0]!;
      const message = `--ssl-ca-file needs --ssl, or every server written tls://host:port (${plain.address} is not)`;
      // A Nagios plugin answers UNKNOWN (3) on stdout.
      if (name === "check") expect(r).toEqual({ code: 3, out: `GEARMAN UNKNOWN - ${message}\n`, err: "" });
      else expect(r).toEqual({ code: 2, out: "", err: `gearbun ${name}: ${message}\n` });
    }
  });
});
