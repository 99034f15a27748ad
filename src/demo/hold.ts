/**
 * The demo's held job, worker side. The demo forces the lost-wake-up race by keeping one worker
 * busy with a job from server A while a job on server B wakes it: that worker registers an extra
 * function whose handler prints "holding" and returns only when the demo writes "release" on
 * the worker's stdin.
 */

/** Returns `hold()`: resolves on the next "release" line on stdin (or one that came early). */
export function stdinReleases(): () => Promise<void> {
  const waiting: (() => void)[] = [];
  let early = 0;
  void (async () => {
    for await (const line of console) {
      if (line.trim() !== "release") continue;
      const next = waiting.shift();
      if (next) next();
      else early++;
    }
  })();
  return () => {
    if (early > 0) {
      early--;
      return Promise.resolve();
    }
    const { promise, resolve } = Promise.withResolvers<void>();
    waiting.push(resolve);
    return promise;
  };
}
