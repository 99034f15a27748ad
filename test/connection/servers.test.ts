/** Server address lists: formats, defaults from GEARMAN_SERVERS, duplicates, and bad input. */
import { describe, expect, test } from "bun:test";
import { DEFAULT_SERVER, parseAddress, parseServers } from "../../src/connection/servers.ts";
import { ConfigError } from "../../src/errors.ts";
import { resolveConnectionOptions } from "../../src/options.ts";

const keys = (input: Parameters<typeof parseServers>[0], env?: string) => parseServers(input, env).map((s) => s.key);

describe("servers - parsing", () => {
  test("servers - host:port, host alone (port 4730), IPv4 and names", () => {
    expect(parseAddress("127.0.0.1:4731")).toEqual({ host: "127.0.0.1", port: 4731, key: "127.0.0.1:4731" });
    expect(parseAddress("gearman.example")).toEqual({
      host: "gearman.example",
      port: 4730,
      key: "gearman.example:4730",
    });
    expect(parseAddress("  localhost:1  ")).toEqual({ host: "localhost", port: 1, key: "localhost:1" });
    expect(parseAddress("h:65535").port).toBe(65535);
  });

  test("servers - IPv6 in brackets, with and without a port; bare IPv6 gets 4730", () => {
    expect(parseAddress("[::1]:4740")).toEqual({ host: "::1", port: 4740, key: "[::1]:4740" });
    expect(parseAddress("[::1]")).toEqual({ host: "::1", port: 4730, key: "[::1]:4730" });
    expect(parseAddress("[fe80::1%eth0]:5")).toMatchObject({ host: "fe80::1%eth0", port: 5 });
    expect(parseAddress("::1")).toEqual({ host: "::1", port: 4730, key: "[::1]:4730" });
    expect(parseAddress("fe80::a:1%eth0").host).toBe("fe80::a:1%eth0");
    expect(parseAddress("::ffff:10.0.0.1").key).toBe("[::ffff:10.0.0.1]:4730");
  });

  test("servers - comma-separated strings and arrays (which may hold lists)", () => {
    expect(keys("a:1,b:2 , c")).toEqual(["a:1", "b:2", "c:4730"]);
    expect(keys(["a:1", "[::1]:2"])).toEqual(["a:1", "[::1]:2"]);
    expect(keys(["a:1,b:2", "c:3"])).toEqual(["a:1", "b:2", "c:3"]);
    expect(keys("a:1,,b:2,")).toEqual(["a:1", "b:2"]); // empty items are skipped
  });

  test("servers - duplicates are dropped, keeping the first (host alone equals host:4730)", () => {
    expect(keys("a:1,b:2,a:1")).toEqual(["a:1", "b:2"]);
    expect(keys(["h", "h:4730", "[::1]", "::1", "[::1]:4730"])).toEqual(["h:4730", "[::1]:4730"]);
  });

  test("servers - GEARMAN_SERVERS is the default; explicit input wins; else 127.0.0.1:4730", () => {
    expect(keys(undefined, "g1:10,g2")).toEqual(["g1:10", "g2:4730"]);
    expect(keys("x:1", "g1:10")).toEqual(["x:1"]);
    expect(keys([], "g1:10")).toEqual(["g1:10"]);
    expect(keys("  ", "g1:10")).toEqual(["g1:10"]);
    expect(keys(undefined, "")).toEqual([DEFAULT_SERVER]);
    expect(DEFAULT_SERVER).toBe("127.0.0.1:4730");
  });

  test("servers - the process environment is read when no env is passed", () => {
    const saved = process.env.GEARMAN_SERVERS;
    try {
      process.env.GEARMAN_SERVERS = "envhost:4999";
      expect(parseServers(undefined).map((s) => s.key)).toEqual(["envhost:4999"]);
      expect(resolveConnectionOptions().servers.map((s) => s.key)).toEqual(["envhost:4999"]);
      delete process.env.GEARMAN_SERVERS;
      expect(resolveConnectionOptions().servers.map((s) => s.key)).toEqual([DEFAULT_SERVER]);
    } finally {
      if (saved === undefined) delete process.env.GEARMAN_SERVERS;
      else process.env.GEARMAN_SERVERS = saved;
    }
  });
});

describe("servers - bad addresses", () => {
  const bad = (input: string | string[], env?: string): ConfigError => {
    try {
      parseServers(input, env);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return e as ConfigError;
    }
    throw new Error(`no error for ${JSON.stringify(input)}`);
  };

  for (const address of [
    "host:",
    "host:0",
    "host:65536",
    "host:12x",
    "host:-1",
    ":4730",
    "[::1",
    "[::1]x",
    "[::1]:",
    "a b:1",
    "host:99999999",
    "host:1:2",
    "1.2.3.4:80:90",
    "bad:1:2",
  ]) {
    test(`servers - "${address}" is a ConfigError naming the address`, () => {
      const e = bad(`good:1,${address}`);
      expect(e.code).toBe("BAD_OPTION");
      expect(e.option).toBe("servers");
      expect(e.message).toContain(`"${address}"`);
      expect(e.message).toStartWith("servers:");
    });
  }

  test("servers - a bad address from GEARMAN_SERVERS names that variable", () => {
    const e = bad([], "ok:1,nope:port");
    expect(e.option).toBe("GEARMAN_SERVERS");
    expect(e.message).toContain('"nope:port"');
  });

  test("servers - a list with no addresses at all is an error", () => {
    expect(bad(",,").message).toContain("no server address");
    expect(bad([",", " "], "").option).toBe("servers");
  });
});
