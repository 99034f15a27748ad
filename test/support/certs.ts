/**
 * Certificates for TLS tests, made with the `openssl` command into a temporary directory: a test
 * CA, a server certificate for "localhost" and 127.0.0.1 (subjectAltName), a client certificate
 * from the same CA, a second CA with its own client certificate, and an expired server
 * certificate. P-256 keys, so making them all takes well under a second.
 *
 * ```ts
 * using certs = makeCerts();
 * certs.server.certFile; certs.client.cert; // a path, PEM text
 * ```
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const opensslPath: string | null = Bun.which("openssl");

export interface CertPair {
  /** PEM text. */
  readonly cert: string;
  readonly key: string;
  /** Paths of the same PEM files. */
  readonly certFile: string;
  readonly keyFile: string;
}

export interface TestCerts extends Disposable {
  readonly dir: string;
  /** The test CA that signed `server`, `client` and `expired`. */
  readonly ca: CertPair;
  /** Server certificate: CN and subjectAltName localhost, IP 127.0.0.1. */
  readonly server: CertPair;
  /** Client certificate signed by `ca`. */
  readonly client: CertPair;
  /** A second, unrelated CA, and a client certificate it signed. */
  readonly otherCa: CertPair;
  readonly otherClient: CertPair;
  /** A server certificate (localhost, 127.0.0.1) whose validity ended a day ago. */
  readonly expired: CertPair;
}

function openssl(dir: string, args: string[]): void {
  if (opensslPath === null) throw new Error("openssl is not installed (apt-get install openssl)");
  const result = Bun.spawnSync([opensslPath, ...args], { cwd: dir, stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${result.stderr.toString()}`);
}

function pair(dir: string, name: string): CertPair {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  return { cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8"), certFile, keyFile };
}

/** Makes a fresh set of certificates; dispose (or `remove()`) deletes the directory. */
export function makeCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), "gearbun-certs-"));
  const key = (name: string) =>
    openssl(dir, ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`]);
  const selfSigned = (name: string, cn: string) => {
    key(name);
    openssl(dir, [
      "req",
      "-x509",
      "-new",
      "-key",
      `${name}.key`,
      "-subj",
      `/CN=${cn}`,
      "-days",
      "2",
      "-out",
      `${name}.pem`,
    ]);
  };
  const signed = (name: string, cn: string, ca: string, days: string, ext?: string) => {
    key(name);
    openssl(dir, ["req", "-new", "-key", `${name}.key`, "-subj", `/CN=${cn}`, "-out", `${name}.csr`]);
    const extArgs = ext === undefined ? [] : ["-extfile", ext];
    openssl(dir, [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${ca}.pem`,
      "-CAkey",
      `${ca}.key`,
      "-CAcreateserial",
      "-days",
      days,
      "-out",
      `${name}.pem`,
      ...extArgs,
    ]);
  };
  writeFileSync(join(dir, "server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  selfSigned("ca", "gearbun test CA");
  selfSigned("other-ca", "gearbun other CA");
  signed("server", "localhost", "ca", "2", "server.ext");
  signed("client", "gearbun test client", "ca", "2");
  signed("other-client", "gearbun other client", "other-ca", "2");
  // A negative validity: notAfter a day before notBefore (now), so the certificate has expired.
  signed("expired", "localhost", "ca", "-1", "server.ext");
  return {
    dir,
    ca: pair(dir, "ca"),
    server: pair(dir, "server"),
    client: pair(dir, "client"),
    otherCa: pair(dir, "other-ca"),
    otherClient: pair(dir, "other-client"),
    expired: pair(dir, "expired"),
    [Symbol.dispose]() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
