import { ChainStoreError } from "../errors.js";
import { bytesKey } from "../../util/bytes.js";
import { compareBytes } from "../../util/bytes.js";
import type { ChainStoreOptions } from "./interface.js";
import { TABLE_NAMES, TableChainStore } from "./tableStore.js";
import type { TableBackend, TableName, TableWriter } from "./tableStore.js";

/**
 * The tables of a memory store. Keep one and open a new `MemoryChainStore` over it to model a restart (the
 * simulator's crash-restart scenarios and the compliance suite's reopen tests do that).
 */
export class MemoryChainData {
  /** Per table: bytesKey(key) → [key, value]. Values are private copies. */
  readonly tables = new Map<TableName, Map<string, readonly [Uint8Array, Uint8Array]>>(TABLE_NAMES.map((t) => [t, new Map()]));
  /** Whether a store is open over this data (two open stores would diverge silently). */
  inUse = false;
}

class MemoryTables implements TableBackend {
  constructor(private readonly data: MemoryChainData) {}

  private table(t: TableName): Map<string, readonly [Uint8Array, Uint8Array]> {
    return this.data.tables.get(t)!;
  }

  get(t: TableName, key: Uint8Array): Uint8Array | undefined {
    // A copy, like LMDB's reads: a caller that mutates what it read cannot damage the store.
    return this.table(t).get(bytesKey(key))?.[1].slice();
  }

  entries(t: TableName): Iterable<readonly [Uint8Array, Uint8Array]> {
    return [...this.table(t).values()].sort((a, b) => compareBytes(a[0], b[0])).map(([k, v]) => [k.slice(), v.slice()] as const);
  }

  transaction(fn: (w: TableWriter) => void): void {
    // Stage every write, apply only when fn returned: an exception leaves the tables untouched.
    const staged: { t: TableName; key: Uint8Array; value: Uint8Array | null }[] = [];
    fn({
      put: (t, key, value) => staged.push({ t, key: key.slice(), value: value.slice() }),
      remove: (t, key) => staged.push({ t, key: key.slice(), value: null }),
    });
    for (const s of staged) {
      const k = bytesKey(s.key);
      if (s.value === null) this.table(s.t).delete(k);
      else this.table(s.t).set(k, [s.key, s.value]);
    }
  }

  close(): Promise<void> {
    this.data.inUse = false;
    return Promise.resolve();
  }
}

/** The in-memory ChainStore (tests, simulator): the same rules and records as LmdbChainStore, kept in maps. */
export class MemoryChainStore extends TableChainStore {
  /** Opens a store over `data` (a fresh one by default). Throws the opening errors of ChainStoreErrorCode. */
  static open(opts: ChainStoreOptions, data: MemoryChainData = new MemoryChainData()): MemoryChainStore {
    if (data.inUse) throw new ChainStoreError("IN_USE", "this MemoryChainData is already open in another store");
    const store = new MemoryChainStore("memory", new MemoryTables(data), opts);
    data.inUse = true;
    return store;
  }
}
