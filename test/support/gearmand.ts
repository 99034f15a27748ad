/**
 * Real gearmand processes for integration tests: each on a free loopback port, waited for until
 * it answers the admin `version` command, stopped by PID, its log printed when a test fails.
 *
 * Without gearmand on PATH, tests are skipped with a clear message, unless
 * GEARBUN_REQUIRE_GEARMAND=1 (as in CI): then a missing gearmand is a failure.
 */
import { describe } from "bun:test";
import { haveGearmand } from "./gearmand-process.ts";

export * from "./gearmand-process.ts";

/** `describe` for suites that need real gearmand (and the libgearman tools). */
export function describeGearmand(name: string, fn: () => void): void {
  if (haveGearmand()) describe(name, fn);
  else describe.skip(name, fn);
}
