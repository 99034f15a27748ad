/**
 * Where a client's jobs and status calls go: the rendezvous hash that gives a unique key the same
 * server in every process, and the memory of which server created each background handle.
 */

/** The link that scores highest for `unique` (rendezvous hashing): stable while it is up. */
export function pickByUnique<L extends { readonly seed: number }>(unique: string, links: readonly L[]): L {
  let best = links[0]!;
  let bestScore = -1;
  for (let i = 0; i < links.length; i++) {
    const link = links[i]!;
    const score = Bun.hash.murmur32v3(unique, link.seed);
    if (score > bestScore) {
      best = link;
      bestScore = score;
    }
  }
  return best;
}

/**
 * Which server created each background handle, for `status(handle)`; the oldest are forgotten
 * past `limit`. The order lives in a ring rather than in the Map's insertion order: finding a
 * Map's oldest key walks past every deleted entry, which made each submit O(n).
 */
export class HandleMemory<L> {
  private readonly limit: number;
  /** Handle → link; null when two servers gave out the same handle (it names no one server). */
  private readonly handles = new Map<string, L | null>();
  /** Handles in `handles`, oldest at `ringAt` once the ring is full. */
  private ring: (string | undefined)[] = [];
  private ringAt = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  remember(handle: string, link: L): void {
    if (this.limit <= 0) return;
    const known = this.handles.get(handle);
    if (known !== undefined) {
      if (known !== link) this.handles.set(handle, null);
      return;
    }
    const oldest = this.ring[this.ringAt];
    if (oldest !== undefined) this.handles.delete(oldest);
    this.ring[this.ringAt] = handle;
    this.ringAt = this.ringAt + 1 === this.limit ? 0 : this.ringAt + 1;
    this.handles.set(handle, link);
  }

  /** The server that created `handle`, if exactly one is known. */
  lookup(handle: string): L | undefined {
    return this.handles.get(handle) ?? undefined;
  }

  clear(): void {
    this.handles.clear();
    this.ring = [];
    this.ringAt = 0;
  }
}
