/**
 * The rolling reload: each slot in turn gets a replacement running the handlers as they are now;
 * the first replacement that cannot start ends the reload and the old children keep serving.
 * Asked again while one runs (SIGHUP twice, --watch), it runs once more after it, so the last
 * edit is always loaded.
 */
import type { PoolEvents } from "./events.ts";
import type { Slot } from "./slot.ts";

export interface ReloadHost {
  slots(): readonly Slot[];
  running(): boolean;
  /** Resolves once no replacement of `slot` is under way. */
  settled(slot: Slot): Promise<void>;
  /** Replaces the slot's child; resolves null when swapped, else why not. */
  replace(slot: Slot): Promise<string | null>;
  emit(event: PoolEvents["reload"]): void;
}

export class RollingReload {
  private reloading: Promise<boolean> | null = null;
  private again = false;

  constructor(private readonly host: ReloadHost) {}

  /** Resolves true when every child was replaced. */
  run(): Promise<boolean> {
    if (!this.host.running()) return Promise.resolve(false);
    if (this.reloading !== null) {
      this.again = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      let ok = false;
      do {
        this.again = false;
        ok = await this.once();
      } while (this.again && this.host.running());
      return ok;
    })().finally(() => {
      this.reloading = null;
    });
    return this.reloading;
  }

  private async once(): Promise<boolean> {
    const began = Date.now();
    let replaced = 0;
    for (const slot of this.host.slots()) {
      await this.host.settled(slot);
      if (!this.host.running()) return false;
      // A slot waiting for its respawn will load the new code anyway.
      if (slot.current === null) continue;
      const error = await this.host.replace(slot);
      if (error !== null) {
        this.host.emit({ ok: false, replaced, error, ms: Date.now() - began });
        return false;
      }
      replaced++;
    }
    this.host.emit({ ok: true, replaced, error: null, ms: Date.now() - began });
    return true;
  }
}
