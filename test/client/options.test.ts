/** Client options and per-submit options: one resolver, and errors that name what to change. */
import { expect, test } from "bun:test";
import { Client } from "../../src/client/client.ts";
import { ConfigError } from "../../src/errors.ts";
import { CLIENT_DEFAULTS, resolveClientOptions, resolveSubmitOptions, SUBMIT_DEFAULTS } from "../../src/options.ts";
import { Worker } from "../../src/worker/worker.ts";

/** The option a ConfigError names, or what else was thrown. */
function optionOf(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error instanceof ConfigError ? error.option : error;
  }
  return "no error";
}

test("client options - per-submit defaults come from the client's options", () => {
  const client = resolveClientOptions({ servers: "127.0.0.1:4730" });
  expect(resolveSubmitOptions({}, client)).toEqual({
    priority: SUBMIT_DEFAULTS.priority,
    unique: SUBMIT_DEFAULTS.unique,
    reducer: undefined,
    timeout: CLIENT_DEFAULTS.timeout,
    retryOnDisconnect: CLIENT_DEFAULTS.retryOnDisconnect,
    epoch: undefined,
  });
  const strict = resolveClientOptions({ servers: "127.0.0.1:4730", timeout: 250, retryOnDisconnect: true });
  expect(resolveSubmitOptions({}, strict)).toMatchObject({ timeout: 250, retryOnDisconnect: true });
  expect(resolveSubmitOptions({ timeout: 0, retryOnDisconnect: false }, strict)).toMatchObject({
    timeout: 0,
    retryOnDisconnect: false,
  });
  // runAt rounds up to gearmand's whole seconds, so the job never runs early.
  expect(resolveSubmitOptions({ runAt: 1_500 }, client).epoch).toBe(2);
});

test("client options - a per-submit timeout of Infinity is refused (as a timer delay it would fire at once)", async () => {
  await using client = new Client({ servers: "127.0.0.1:1", reconnect: () => null });
  expect(() => client.submit("f", "x", { timeout: Number.POSITIVE_INFINITY })).toThrow(
    /timeout: must be a finite number/,
  );
  expect(() => client.submit("f", "x", { timeout: Number.NaN })).toThrow(/timeout: must be a finite number/);
  const background = await client
    .submitBackground("f", "x", { timeout: Number.POSITIVE_INFINITY })
    .catch((e: unknown) => e);
  expect(background).toBeInstanceOf(ConfigError);
  expect((background as ConfigError).option).toBe("timeout");
});

test("client options - bad per-submit options are a ConfigError naming the option", () => {
  const client = resolveClientOptions({ servers: "127.0.0.1:4730" });
  const cases: [Parameters<typeof resolveSubmitOptions>[0], string][] = [
    [{ timeout: -1 }, "timeout"],
    [{ priority: "urgent" as "high" }, "priority"],
    [{ unique: "a\0b" }, "unique"],
    [{ reducer: "" }, "reducer"],
    [{ reducer: "r", priority: "high" }, "priority"],
    [{ runAt: Number.NaN }, "runAt"],
    [{ runAt: 1000, priority: "low" }, "runAt"],
    [{ retryOnDisconnect: "yes" as unknown as boolean }, "retryOnDisconnect"],
  ];
  for (const [options, option] of cases) expect(optionOf(() => resolveSubmitOptions(options, client))).toBe(option);
});

test("client options - clientId is checked by one rule for Client and Worker", () => {
  const servers = "127.0.0.1:4730";
  for (const clientId of ["", "a\0b", "two words", "tab\there", 7 as unknown as string]) {
    expect(optionOf(() => resolveClientOptions({ servers, clientId }))).toBe("clientId");
    expect(optionOf(() => new Worker({ servers, clientId }))).toBe("clientId");
  }
  for (const clientId of ["w-1", "host:123/worker", "ü"]) {
    expect(resolveClientOptions({ servers, clientId }).clientId).toBe(clientId);
    expect(optionOf(() => new Worker({ servers, clientId }))).toBe("no error");
  }
});

test("client options - retryOnDisconnect and keepAlive must be booleans", () => {
  const servers = "127.0.0.1:4730";
  expect(optionOf(() => resolveClientOptions({ servers, retryOnDisconnect: 1 as unknown as boolean }))).toBe(
    "retryOnDisconnect",
  );
  expect(optionOf(() => resolveClientOptions({ servers, keepAlive: "no" as unknown as boolean }))).toBe("keepAlive");
});
