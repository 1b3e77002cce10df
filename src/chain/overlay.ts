import { bytesKey } from "../util/bytes.js";
import type { StateReader, StateWriter } from "./app/interface.js";
import type { StateWrite } from "./store/interface.js";

/**
 * The post-state of one executed, not yet committed block: its own writes over its parent's overlay, down to the
 * committed state. Reads walk the chain (a few blocks deep in practice: execution runs at most a couple of blocks
 * ahead of the commit rule); when the parent block commits, the executor detaches the overlay (`parent = null`)
 * because the parent's writes are then in the store.
 *
 * Written arrays are kept as given (the application builds fresh ones); callers must not mutate them afterwards.
 */
export class StateOverlay implements StateWriter {
  /** This block's writes by bytesKey(key), in first-write order; value null = deleted. */
  readonly writes = new Map<string, { key: Uint8Array; value: Uint8Array | null }>();

  constructor(
    public parent: StateOverlay | null,
    private readonly base: StateReader,
  ) {}

  get(key: Uint8Array): Uint8Array | undefined {
    const k = bytesKey(key);
    for (let o: StateOverlay | null = this; o !== null; o = o.parent) {
      const w = o.writes.get(k);
      if (w !== undefined) return w.value ?? undefined;
    }
    return this.base.get(key);
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.writes.set(bytesKey(key), { key, value });
  }

  delete(key: Uint8Array): void {
    this.writes.set(bytesKey(key), { key, value: null });
  }

  /** This block's own writes, as the store's commit takes them. */
  *entries(): IterableIterator<StateWrite> {
    for (const w of this.writes.values()) yield [w.key, w.value];
  }
}
