/** Connection options: the reconnect backoff settings go through the one resolver. */
import { expect, test } from "bun:test";
import type { BackoffOptions } from "../../src/connection/reconnect.ts";
import { ConfigError } from "../../src/errors.ts";
import { resolveBackoffOptions, resolveConnectionOptions } from "../../src/options.ts";
import { Client } from "../../src/client/client.ts";
import { Worker } from "../../src/worker/worker.ts";

test("connection options - bad backoff settings are a ConfigError naming the setting", () => {
  const cases: [BackoffOptions, string][] = [
    [{ initialDelay: -1 }, "reconnect.initialDelay"],
    [{ initialDelay: Number.POSITIVE_INFINITY }, "reconnect.initialDelay"],
    [{ maxDelay: Number.NaN }, "reconnect.maxDelay"],
    [{ initialDelay: 500, maxDelay: 100 }, "reconnect.maxDelay"],
    [{ factor: 0.5 }, "reconnect.factor"],
    [{ jitter: -0.1 }, "reconnect.jitter"],
    [{ jitter: 1.5 }, "reconnect.jitter"],
    [{ maxAttempts: -1 }, "reconnect.maxAttempts"],
    [{ maxAttempts: 2.5 }, "reconnect.maxAttempts"],
    [{ random: 0.5 as unknown as () => number }, "reconnect.random"],
  ];
  for (const [reconnect, option] of cases) {
    for (const make of [
      () => resolveConnectionOptions({ servers: "127.0.0.1:4730", reconnect }),
      () => new Client({ servers: "127.0.0.1:4730", reconnect }),
      () => new Worker({ servers: "127.0.0.1:4730", reconnect }),
    ]) {
      let error: unknown;
      try {
        make();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).option).toBe(option);
    }
  }
});

test("connection options - reconnect must be a policy function or backoff settings", () => {
  expect(() => resolveConnectionOptions({ reconnect: 100 as unknown as BackoffOptions })).toThrow(/reconnect: must be/);
  const policy = () => null;
  expect(resolveConnectionOptions({ reconnect: policy }).connection.reconnect).toBe(policy);
});

test("connection options - backoff settings default to BACKOFF_DEFAULTS; maxAttempts may be Infinity", () => {
  const d = resolveBackoffOptions({});
  expect(d).toMatchObject({ initialDelay: 100, maxDelay: 5000, factor: 2, jitter: 0.2, maxAttempts: Infinity });
  expect(resolveBackoffOptions({ maxAttempts: Number.POSITIVE_INFINITY }).maxAttempts).toBe(Infinity);
  // A large initial delay lifts the default cap instead of being cut to it.
  expect(resolveBackoffOptions({ initialDelay: 8000 }).maxDelay).toBe(8000);
  const policy = resolveConnectionOptions({ reconnect: { initialDelay: 10, jitter: 0, maxAttempts: 2 } }).connection
    .reconnect;
  expect([1, 2, 3].map(policy)).toEqual([10, 20, null]);
});
