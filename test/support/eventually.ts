/**
 * Polling for a condition the test cannot await directly (a stats field, a server's admin table,
 * a process coming up). No bun:test import here, so bench/ and scripts can use it too.
 */

/**
 * Polls `probe` every `intervalMs` until it returns something other than false or undefined, and
 * resolves with that (`true` for a plain condition, or the value a test goes on to check). A
 * probe that throws counts as "not yet" (a server still starting refuses connections); after
 * `timeoutMs` the error names `what` and the probe's last error. The bound only limits a failure:
 * a passing test waits just as long as it needs.
 */
export async function eventually<T>(
  probe: () => T | false | undefined | Promise<T | false | undefined>,
  what: string,
  timeoutMs = 5000,
  intervalMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== false && value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError === undefined ? "" : ` (last error: ${String(lastError)})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await Bun.sleep(intervalMs);
  }
}
