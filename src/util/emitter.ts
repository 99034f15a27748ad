/**
 * A minimal typed event emitter over an event map `{ name: payload }`. A listener that throws
 * must not break the emitter's caller mid-transition: its error is rethrown on a later microtask.
 */
export type EventListener<T> = (event: T) => void;

export class TypedEmitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<EventListener<never>>>();

  /** True when `name` has listeners (check before building an event on a hot path). */
  has(name: keyof Events): boolean {
    const set = this.listeners.get(name);
    return set !== undefined && set.size > 0;
  }

  on<K extends keyof Events>(name: K, fn: EventListener<Events[K]>): () => void {
    let set = this.listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(fn);
    return () => this.off(name, fn);
  }

  off<K extends keyof Events>(name: K, fn: EventListener<Events[K]>): void {
    this.listeners.get(name)?.delete(fn);
  }

  once<K extends keyof Events>(name: K, fn: EventListener<Events[K]>): () => void {
    const off = this.on(name, (event) => {
      off();
      fn(event);
    });
    return off;
  }

  emit<K extends keyof Events>(name: K, event: Events[K]): void {
    const set = this.listeners.get(name);
    if (set === undefined || set.size === 0) return;
    for (const fn of set) {
      try {
        (fn as EventListener<Events[K]>)(event);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
