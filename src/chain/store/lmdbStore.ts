import { resolve } from "node:path";
import { open } from "lmdb";
import type { Database, RootDatabase } from "lmdb";
import { ChainStoreError } from "../errors.js";
import type { ChainStoreOptions } from "./interface.js";
import { TABLE_NAMES, TableChainStore } from "./tableStore.js";
import type { TableBackend, TableName, TableWriter } from "./tableStore.js";

export interface LmdbChainStoreOptions extends ChainStoreOptions {
  /** The LMDB environment directory (created if missing): one per node, e.g. `<dataDir>/chain`. */
  readonly path: string;
}

/**
 * Options of the LMDB environment, chosen for durability:
 * - `overlappingSync: false`: plain LMDB commits. Every `transactionSync` with default flags fsyncs the data pages,
 *   then writes the meta page through the O_DSYNC descriptor, before it returns (lmdb-js only skips the flush for
 *   the `NO_SYNC_FLUSH` flag, which `putSync` uses and this store never does). So a safety-state write is on disk
 *   when `saveSafetyState` returns. With lmdb-js's default overlapping sync the flush is decoupled from the commit
 *   and a crash after the return could roll back to the previous flushed snapshot.
 * - `noSync` stays false (the default) for the same reason.
 * - `noSubdir: false`: the path is always a directory, even if its name has a dot (lmdb-js guesses otherwise).
 * - no value cache, no compression: every read decodes fresh bytes, records are already compact.
 */
export const LMDB_ENV_OPTIONS = { overlappingSync: false, noSync: false, noSubdir: false, maxDbs: TABLE_NAMES.length, cache: false, compression: false } as const;
const DB_OPTIONS = { encoding: "binary", keyEncoding: "binary", cache: false, compression: false } as const;

/**
 * A plain Uint8Array view of a Buffer lmdb-js returned: both stores hand out the same type, and Buffer's `slice`
 * (a view, where Uint8Array's copies) cannot surprise a caller.
 */
function plain(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Directories open in this process: lmdb-js would share one environment between two stores, which must not happen. */
const openPaths = new Set<string>();

class LmdbTables implements TableBackend {
  private readonly dbs: Map<TableName, Database<Uint8Array, Uint8Array>>;

  constructor(
    private readonly env: RootDatabase<Uint8Array, Uint8Array>,
    private readonly path: string,
  ) {
    this.dbs = new Map(TABLE_NAMES.map((t) => [t, env.openDB<Uint8Array, Uint8Array>({ name: t, ...DB_OPTIONS })]));
  }

  private db(t: TableName): Database<Uint8Array, Uint8Array> {
    return this.dbs.get(t)!;
  }

  get(t: TableName, key: Uint8Array): Uint8Array | undefined {
    // `get` with binary encoding returns a fresh Buffer copy (getBinaryFast would return a reused one).
    const v = this.db(t).get(key);
    return v === undefined ? undefined : plain(v);
  }

  entries(t: TableName): Iterable<readonly [Uint8Array, Uint8Array]> {
    return this.db(t)
      .getRange({})
      .map(({ key, value }) => [plain(key), plain(value)] as const);
  }

  transaction(fn: (w: TableWriter) => void): void {
    // Default flags (abortable, synchronous commit, flushed before returning); a throw inside aborts the transaction.
    this.env.transactionSync(() => {
      fn({
        put: (t, key, value) => {
          this.db(t).putSync(key, value);
        },
        remove: (t, key) => {
          this.db(t).removeSync(key);
        },
      });
    });
  }

  async close(): Promise<void> {
    try {
      await this.env.close();
    } finally {
      openPaths.delete(this.path);
    }
  }
}

/** The LMDB ChainStore: the node's default, one environment directory per node. */
export class LmdbChainStore extends TableChainStore {
  /**
   * Opens or creates the store at `opts.path`. Throws ChainStoreError: `IN_USE` when the directory is already open in
   * this process, the opening errors (`CHAIN_ID_MISMATCH`, `SCHEMA_TOO_NEW`, `SCHEMA_TOO_OLD`, `GENESIS_MISMATCH`,
   * `CORRUPT`); the environment is closed again before the error is thrown.
   */
  static async open(opts: LmdbChainStoreOptions): Promise<LmdbChainStore> {
    const path = resolve(opts.path);
    if (openPaths.has(path)) throw new ChainStoreError("IN_USE", `the chain store at ${path} is already open in this process`);
    openPaths.add(path);
    let env: RootDatabase<Uint8Array, Uint8Array> | undefined;
    try {
      env = open<Uint8Array, Uint8Array>({ path, ...LMDB_ENV_OPTIONS });
      return new LmdbChainStore("lmdb", new LmdbTables(env, path), opts);
    } catch (e) {
      if (env !== undefined) await env.close();
      openPaths.delete(path);
      throw e;
    }
  }
}
