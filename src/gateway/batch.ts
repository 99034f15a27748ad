/**
 * Waiting for the end of the event loop's current turn, shared: every `turn()` asked during one
 * turn resolves from one setImmediate, in the order asked. Requests read from several sockets in
 * one turn then submit together, and the Client's per-microtask write coalescing sends their
 * packets in one write instead of one each.
 */
export class TurnBatch {
  private waiting: (() => void)[] = [];
  private scheduled = false;
  private readonly run = (): void => {
    const ready = this.waiting;
    this.waiting = [];
    this.scheduled = false;
    for (const resolve of ready) resolve();
  };

  turn(): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.waiting.push(resolve);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
    return promise;
  }
}
