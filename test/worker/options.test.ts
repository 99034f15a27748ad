/** Worker options and register() arguments: defaults, and errors that name what to change. */
import { expect, test } from "bun:test";
import { ConfigError } from "../../src/errors.ts";
import { resolveWorkerOptions, WORKER_DEFAULTS, type WorkerOptions } from "../../src/options.ts";
import { Worker } from "../../src/worker/worker.ts";

test("options - defaults", () => {
  const o = resolveWorkerOptions({ servers: "127.0.0.1:4730" });
  expect(o).toMatchObject({
    concurrency: 1,
    clientId: undefined,
    idleRegrabInterval: 30_000,
    idleRegrabJitter: 0.1,
    grab: "GRAB_JOB_UNIQ",
    grabTimeout: 10_000,
    stopDeadline: 30_000,
  });
  expect(WORKER_DEFAULTS.concurrency).toBe(1);
  expect(o.servers.map((s) => s.key)).toEqual(["127.0.0.1:4730"]);
});

test("options - bad values are rejected with a ConfigError naming the option", () => {
  const cases: [WorkerOptions, string][] = [
    [{ concurrency: 0 }, "concurrency"],
    [{ concurrency: 1.5 }, "concurrency"],
    [{ idleRegrabInterval: 1 }, "idleRegrabInterval"],
    [{ idleRegrabJitter: 2 }, "idleRegrabJitter"],
    [{ grab: "GRAB_SOMETHING" as "GRAB_JOB" }, "grab"],
    [{ clientId: "a\0b" }, "clientId"],
    [{ stopDeadline: -1 }, "stopDeadline"],
    [{ grabTimeout: 0 }, "grabTimeout"],
    [{ servers: "host:99999" }, "servers"],
  ];
  for (const [options, option] of cases) {
    let error: unknown;
    try {
      new Worker({ servers: "127.0.0.1:4730", ...options });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).option).toBe(option);
  }
});

test("register - bad function names, handlers and timeouts are rejected", () => {
  const worker = new Worker({ servers: "127.0.0.1:4730" });
  expect(() => worker.register("", () => "")).toThrow(ConfigError);
  expect(() => worker.register("a\0b", () => "")).toThrow(ConfigError);
  expect(() => worker.register("x".repeat(600), () => "")).toThrow(ConfigError);
  expect(() => worker.register("f", "nope" as unknown as () => string)).toThrow(ConfigError);
  expect(() => worker.register("f", () => "", { timeout: -5 })).toThrow(/timeout/);
  expect(() => worker.register("f", () => "", { timeout: 1.5 })).toThrow(/timeout/);
  expect(worker.register("f", () => "", { timeout: 1000 })).toBe(worker);
  expect(worker.stats().functions.f).toMatchObject({ registered: true, timeout: 1000 });
});

test("worker options - Infinity is refused for a time option (as a timer delay it would fire at once)", () => {
  expect(() => new Worker({ servers: "127.0.0.1:1", stopDeadline: Number.POSITIVE_INFINITY })).toThrow(
    /stopDeadline: must be a finite number/,
  );
  expect(() => new Worker({ servers: "127.0.0.1:1", connectTimeout: Number.POSITIVE_INFINITY })).toThrow(
    /connectTimeout: must be a finite number/,
  );
});
