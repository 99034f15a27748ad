/**
 * Polling for a condition the test cannot await directly (a stats field, a server's admin table).
 * No bun:test import here, so bench/ and scripts can use it too.
 */

/**
 * Resolves once `check` returns true, polling every `intervalMs`; throws naming `what` after
 * `timeoutMs`. The bound only limits a failure: a passing test waits just as long as it needs.
 */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
  intervalMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(intervalMs);
  }
}
