/**
 * Gateway - bearer tokens refused, accepted and limited to functions; the token file reloaded on
 * SIGHUP by `gearbun gateway` (a bad file keeps the tokens in use); no tokens → loopback only;
 * HTTPS on the listener, as a shell user calls it with curl.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isLoopback, serveGateway } from "../../src/gateway/serve.ts";
import { allows, bearerToken, matchToken, parseTokens } from "../../src/gateway/tokens.ts";
import { makeCerts } from "../support/certs.ts";
import { eventually } from "../support/eventually.ts";
import { gearbun, gearbunDaemon, run } from "../support/processes.ts";
import { startServer } from "../../src/server/server.ts";
import { Worker } from "../../src/worker/worker.ts";
import { startScene } from "./fixture.ts";

const A = "token-a-0123456789abcdef";
const B = "token-b-0123456789abcdef";
const LIMITED = "token-l-0123456789abcdef";

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** curl's status line and body for a POST with an optional token. */
async function curl(url: string, token: string | null, extra: string[] = []): Promise<string> {
  const auth = token === null ? [] : ["-H", `Authorization: Bearer ${token}`];
  const { out } = await run(["curl", "-sS", "-w", " %{http_code}", ...auth, ...extra, "--data-binary", "hi", url], {
    timeoutMs: 10_000,
  });
  return out;
}

describe("gateway auth", () => {
  test("gateway - token file format: functions, wildcards, comments; errors name file and line", () => {
    const entries = parseTokens(`# comment\n${A}\n${LIMITED} echo,report_*  # trailing\n`, "t.txt", "tokenFile");
    expect(entries.map((e) => e.functions)).toEqual([null, ["echo", "report_*"]]);
    expect(matchToken(entries, A)).toBe(entries[0]!);
    expect(matchToken(entries, `${A}x`)).toBeNull();
    expect([allows(entries[1]!, "echo"), allows(entries[1]!, "report_daily"), allows(entries[1]!, "fail")]).toEqual([
      true,
      true,
      false,
    ]);
    expect(() => parseTokens(`${A}\nshort\n`, "t.txt", "tokenFile")).toThrow(
      "tokenFile: t.txt:2: a token is at least 16 printable ASCII characters",
    );
    expect(() => parseTokens(`${A} a b`, "t.txt", "tokenFile")).toThrow(/t\.txt:1: expected "TOKEN \[FUNCTION,...\]"/);
    expect([
      bearerToken(`Bearer ${A}`),
      bearerToken(`bearer  ${A} `),
      bearerToken(`Basic ${A}`),
      bearerToken(null),
    ]).toEqual([A, A, null, null]);
  });

  test("gateway - 401 without or with a wrong token, 200 with one, 403 for a function the token may not run", async () => {
    await using s = await startScene({ tokens: `${A}\n${LIMITED} echo\n` });
    const none = await fetch(`${s.url}/jobs/echo`, { method: "POST", body: "x" });
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe('Bearer realm="gearbun"');
    expect(((await none.json()) as { code: string }).code).toBe("UNAUTHORIZED");
    const wrong = await fetch(`${s.url}/jobs/echo`, { method: "POST", body: "x", headers: bearer(B) });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toContain('error="invalid_token"');
    const ok = await fetch(`${s.url}/jobs/echo`, { method: "POST", body: "x", headers: bearer(A) });
    expect([ok.status, await ok.text()]).toEqual([200, "x"]);
    const limitedOk = await fetch(`${s.url}/jobs/echo`, { method: "POST", body: "y", headers: bearer(LIMITED) });
    expect(limitedOk.status).toBe(200);
    const forbidden = await fetch(`${s.url}/jobs/fail`, { method: "POST", body: "y", headers: bearer(LIMITED) });
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toEqual({ code: "FORBIDDEN", message: 'this token may not run function "fail"' });
    // An EventSource cannot send headers: access_token in the query.
    const es = await fetch(`${s.url}/jobs/echo/events?payload=e&access_token=${A}`);
    expect(es.status).toBe(200);
    expect(await es.text()).toContain("event: complete");
    // Open: health and the document; closed: metrics and status.
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${s.url}/openapi.json`)).status).toBe(200);
    expect((await fetch(`${s.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${s.url}/metrics`, { headers: bearer(A) })).status).toBe(200);
    expect((await fetch(`${s.url}/jobs/H%3Ax%3A1`)).status).toBe(401);
  });

  test("gateway - gearbun gateway reloads its token file on SIGHUP; a bad file keeps the tokens in use", async () => {
    await using s = await startScene();
    const dir = mkdtempSync(join(tmpdir(), "gearbun-gateway-"));
    try {
      const file = join(dir, "tokens");
      writeFileSync(file, `${A}\n`);
      await using d = await gearbunDaemon(
        ["gateway", "--servers", s.target.address, "--listen", "127.0.0.1:0", "--token-file", file],
        /gearbun gateway: (http:\/\/127\.0\.0\.1:\d+)\/jobs\/ for \S+ \(1 tokens\)/,
      );
      const url = `${d.match[1]}/jobs/echo`;
      expect(await curl(url, A)).toBe("hi 200");
      expect(await curl(url, B)).toMatch(/"code":"UNAUTHORIZED".* 401$/);
      writeFileSync(file, `# A revoked\n${B} echo\n`);
      d.proc.kill("SIGHUP");
      await eventually(() => d.output().includes("SIGHUP: 1 tokens loaded"), "the reload line");
      expect(await curl(url, A)).toMatch(/ 401$/);
      expect(await curl(url, B)).toBe("hi 200");
      writeFileSync(file, "not-a-token\n");
      d.proc.kill("SIGHUP");
      await eventually(() => d.errors().includes("SIGHUP: tokens not reloaded"), "the refused reload");
      expect(d.errors()).toContain(`${file}:1: a token is at least 16`);
      expect(await curl(url, B)).toBe("hi 200");
      expect(await d.stop()).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("gateway - without tokens only loopback: gearbun gateway on 0.0.0.0 exits 1 with one line", async () => {
    const r = await gearbun(["gateway", "--servers", "127.0.0.1:1", "--listen", "0.0.0.0:0"]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      "gearbun gateway: listen: refusing to serve jobs on 0.0.0.0:0 without bearer tokens: give tokenFile (--token-file) or tokens (--token-env), listen on 127.0.0.1, or set allowUnauthenticated (--allow-unauthenticated)\n",
    );
    expect([isLoopback("127.0.0.1"), isLoopback("127.8.0.2"), isLoopback("::1"), isLoopback("0.0.0.0")]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(() => serveGateway({ listen: "[::]:0", client: { servers: "127.0.0.1:1" } })).toThrow(/refusing to serve/);
    const missing = await gearbun(["gateway", "--token-env", "GEARBUN_TEST_NO_SUCH_VAR"]);
    expect([missing.code, missing.err]).toEqual([
      2,
      "gearbun gateway: --token-env GEARBUN_TEST_NO_SUCH_VAR: the variable is not set\n",
    ]);
  });

  test("gateway - HTTPS on the listener (--cert/--key) and mutual TLS to the job server (--ssl…), called with curl", async () => {
    using certs = makeCerts();
    await using server = await startServer({
      port: 0,
      tls: { cert: certs.server.certFile, key: certs.server.keyFile, ca: certs.ca.certFile },
      log: () => {},
    });
    const tls = { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key };
    await using worker = new Worker({ servers: server.address, tls });
    worker.register("shout", (job) => job.text().toUpperCase());
    await worker.start();
    await using d = await gearbunDaemon(
      [
        "gateway",
        "--servers",
        server.address,
        "--ssl",
        "--ssl-ca-file",
        certs.ca.certFile,
        "--ssl-certificate",
        certs.client.certFile,
        "--ssl-key",
        certs.client.keyFile,
        "--listen",
        "127.0.0.1:0",
        "--cert",
        certs.server.certFile,
        "--key",
        certs.server.keyFile,
      ],
      /gearbun gateway: (https:\/\/127\.0\.0\.1:\d+)\/jobs\//,
    );
    expect(await curl(`${d.match[1]}/jobs/shout`, null, ["--cacert", certs.ca.certFile])).toBe("HI 200");
    // Without the CA, curl refuses the listener's certificate: the listener really is TLS.
    const { code } = await run(["curl", "-sS", "--data-binary", "x", `${d.match[1]}/jobs/shout`], {
      timeoutMs: 10_000,
    });
    expect(code).toBe(60);
  });
});
