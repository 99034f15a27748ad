/**
 * TLS options: "tls://" server entries, the `tls` option (true, settings, PEM text or files),
 * libgearman's environment variables, and errors that name the option or the file.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parseServers } from "../../src/connection/servers.ts";
import { ConfigError } from "../../src/errors.ts";
import {
  resolveAdminOptions,
  resolveClientOptions,
  resolveServerOptions,
  resolveTlsOptions,
  resolveWorkerOptions,
} from "../../src/options.ts";
import { makeCerts, type TestCerts } from "../support/certs.ts";

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("tls options", () => {
  let certs: TestCerts;
  beforeAll(() => {
    certs = makeCerts();
  });
  afterAll(() => certs?.[Symbol.dispose]());

  test("tls options - tls:// marks one server; the key stays host:port", () => {
    const servers = parseServers("tls://a:4731, b:4732,TLS://[::1]:4733", "");
    expect(servers).toEqual([
      { host: "a", port: 4731, key: "a:4731", tls: true },
      { host: "b", port: 4732, key: "b:4732" },
      { host: "::1", port: 4733, key: "[::1]:4733", tls: true },
    ]);
    expect(configError(() => parseServers("tls://", "")).option).toBe("servers");
  });

  test("tls options - without tls and tls:// servers, no TLS and no file is read", () => {
    const r = resolveClientOptions({ servers: "a:1", tls: false });
    expect(r.connection.tls).toBeNull();
    expect(r.servers[0]!.tls).toBeUndefined();
    expect(resolveTlsOptions(undefined, false, { GEARMAND_CA_CERTIFICATE: "/nonexistent" })).toBeNull();
  });

  test("tls options - tls: true puts every server on TLS, verified against the default trust store", () => {
    const r = resolveWorkerOptions({ servers: "a:1,b:2", tls: true });
    expect(r.servers.every((s) => s.tls === true)).toBe(true);
    expect(r.connection.tls).toEqual({ rejectUnauthorized: true });
  });

  test("tls options - PEM text and file paths give the same settings", () => {
    const fromFiles = resolveTlsOptions(
      { ca: certs.ca.certFile, cert: certs.client.certFile, key: certs.client.keyFile, servername: "localhost" },
      false,
      {},
    );
    const fromText = resolveTlsOptions(
      { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key, servername: "localhost" },
      false,
      {},
    );
    expect(fromFiles).toEqual(fromText);
    expect(fromFiles).toEqual({
      ca: certs.ca.cert,
      cert: certs.client.cert,
      key: certs.client.key,
      servername: "localhost",
      rejectUnauthorized: true,
    });
  });

  test("tls options - libgearman's environment variables supply the files not given", () => {
    const env = {
      GEARMAND_CA_CERTIFICATE: certs.ca.certFile,
      GEARMAN_CLIENT_PEM: certs.client.certFile,
      GEARMAN_CLIENT_KEY: certs.client.keyFile,
    };
    expect(resolveTlsOptions(true, false, env)).toEqual({
      ca: certs.ca.cert,
      cert: certs.client.cert,
      key: certs.client.key,
      rejectUnauthorized: true,
    });
    // Given settings win over the environment; a tls:// server turns TLS on by itself.
    expect(resolveTlsOptions({ ca: certs.otherCa.cert }, false, env)?.ca).toBe(certs.otherCa.cert);
    expect(resolveTlsOptions(undefined, true, env)?.cert).toBe(certs.client.cert);
  });

  test("tls options - a file that cannot be read is a ConfigError naming the option and the file", () => {
    const e = configError(() => resolveTlsOptions({ ca: "/nonexistent/ca.pem" }, false, {}));
    expect(e.option).toBe("tls.ca");
    expect(e.message).toContain("/nonexistent/ca.pem");
    const fromEnv = configError(() => resolveTlsOptions(true, false, { GEARMAN_CLIENT_PEM: "/nope/client.pem" }));
    expect(fromEnv.option).toBe("GEARMAN_CLIENT_PEM");
    expect(fromEnv.message).toContain("/nope/client.pem");
    const notPem = configError(() => resolveTlsOptions({ ca: `${certs.dir}/server.ext` }, false, {}));
    expect(notPem.message).toContain("holds no PEM");
  });

  test("tls options - bad settings name the option to change", () => {
    expect(configError(() => resolveTlsOptions({ cert: certs.client.cert }, false, {})).option).toBe("tls.key");
    expect(configError(() => resolveTlsOptions({ key: certs.client.key }, false, {})).option).toBe("tls.cert");
    expect(configError(() => resolveTlsOptions({ servername: "" }, false, {})).option).toBe("tls.servername");
    expect(
      configError(() => resolveTlsOptions({ rejectUnauthorized: "no" as unknown as boolean }, false, {})).option,
    ).toBe("tls.rejectUnauthorized");
    expect(configError(() => resolveTlsOptions("yes" as unknown as boolean, false, {})).option).toBe("tls");
  });

  test("tls options - an Admin keeps the tls:// of its server", () => {
    const r = resolveAdminOptions("tls://127.0.0.1:4730", { tls: { ca: certs.ca.cert } });
    expect(r.server).toEqual({ host: "127.0.0.1", port: 4730, key: "127.0.0.1:4730", tls: true });
    expect(r.connection.tls?.ca).toBe(certs.ca.cert);
  });

  test("tls options - the embedded server needs cert and key, read from files or text", () => {
    const r = resolveServerOptions({ tls: { cert: certs.server.certFile, key: certs.server.key } });
    expect(r.tls).toEqual({ cert: certs.server.cert, key: certs.server.key });
    expect(resolveServerOptions({}).tls).toBeNull();
    expect(configError(() => resolveServerOptions({ tls: { cert: certs.server.cert } as never })).option).toBe(
      "tls.key",
    );
    const missing = configError(() =>
      resolveServerOptions({ tls: { cert: certs.server.cert, key: certs.server.key, ca: "/no/ca.pem" } }),
    );
    expect(missing.option).toBe("tls.ca");
    expect(missing.message).toContain("/no/ca.pem");
  });
});
