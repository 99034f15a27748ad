/**
 * A first-in first-out queue on a growable ring buffer: push and shift are O(1), and the slots
 * of shifted items are cleared so nothing is kept alive by the queue, and a queue a burst grew
 * large shrinks back once it is empty.
 */
/** Capacity above which an emptied queue goes back to its first size. */
const SHRINK_ABOVE = 4096;

export class Fifo<T> {
  private items: (T | undefined)[];
  private head = 0;
  private count = 0;
  private readonly initial: number;

  constructor(capacity = 16) {
    let size = 4;
    while (size < capacity) size *= 2;
    this.initial = size;
    this.items = new Array<T | undefined>(size);
  }

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) & (this.items.length - 1)] = item;
    this.count++;
  }

  /** The oldest item, or undefined when empty. */
  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head];
  }

  /** Removes and returns the oldest item, or undefined when empty. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & (this.items.length - 1);
    this.count--;
    // A burst grew it far past its start: give the memory back once it is empty.
    if (this.count === 0 && this.items.length > SHRINK_ABOVE) {
      this.items = new Array<T | undefined>(this.initial);
      this.head = 0;
    }
    return item;
  }

  /** Removes every item and returns them oldest first. */
  drain(): T[] {
    const out: T[] = [];
    for (let item = this.shift(); item !== undefined; item = this.shift()) out.push(item);
    return out;
  }

  private grow(): void {
    const old = this.items;
    const next = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) & (old.length - 1)];
    this.items = next;
    this.head = 0;
  }
}
