/**
 * The ChainStore semantics, written once over a small table backend: LMDB (lmdbStore.ts) and plain maps
 * (memoryStore.ts) differ only in how six binary key/value tables are read, written atomically and closed. Both
 * store the same records (records.ts), so the memory store keeps no reference to caller-owned buffers and the
 * compliance suite checks the one set of rules on both backends.
 *
 * Tables (key → value):
 *   meta     "schemaVersion" → u32, "chainId" → bytes, "genesisHash" → 32 bytes, "head" → head, "safety" → bytes,
 *            "epochEnd/" u64 epoch → epoch-end record  (one per ended epoch; meta keys, so no schema change)
 *   blocks   block hash → block                        (committed blocks)
 *   heights  u64 height → commit record                (hash, state root, results, QC)
 *   txs      tx id → tx location
 *   pending  block hash → pending record               (the fork database)
 *   state    application key → value
 *   ptxs     tx id → pending-tx record                 (acknowledged client txs not committed yet; schema 2)
 *
 * The pending-tx table is bounded by the mempool: a record is written only for a tx the mempool admitted (whose
 * bounds cap the count and bytes of pending txs), and the commit that indexes a tx removes its record in the same
 * transaction. A record whose tx committed before the record was written (a group commit racing a block that carried
 * the same tx from another node) is dropped when the node replays the table at its next start.
 */
import { ChainStoreError } from "../errors.js";
import { bytesKey } from "../../util/bytes.js";
import { bytesEqual, toHex, utf8 } from "../../util/bytes.js";
import { HASH_BYTES } from "../../domain/limits.js";
import type { Block, Hash } from "../../domain/types.js";
import {
  decodeBlockRecord,
  decodeCommitRecord,
  decodeEpochEndRecord,
  decodeHead,
  decodePendingRecord,
  decodePendingTxRecord,
  decodeTxLocation,
  decodeU32,
  encodeBlockRecord,
  encodeCommitRecord,
  encodeEpochEndRecord,
  encodeHead,
  encodePendingRecord,
  encodePendingTxRecord,
  encodeTxLocation,
  encodeU32,
  heightKey,
} from "./records.js";
import { CHAIN_SCHEMA_MIN_VERSION, CHAIN_SCHEMA_VERSION } from "./interface.js";
import type {
  BlockCommit,
  ChainHead,
  ChainMeta,
  ChainStore,
  ChainStoreOptions,
  CommittedBlockRecord,
  EpochEndProof,
  EpochStart,
  PendingBlock,
  PendingTx,
  TxLocation,
} from "./interface.js";

export type TableName = "meta" | "blocks" | "heights" | "txs" | "pending" | "state" | "ptxs";
export const TABLE_NAMES: readonly TableName[] = ["meta", "blocks", "heights", "txs", "pending", "state", "ptxs"];

/** Keys of the meta table. */
export const META_KEYS = {
  schemaVersion: utf8("schemaVersion"),
  chainId: utf8("chainId"),
  genesisHash: utf8("genesisHash"),
  head: utf8("head"),
  safety: utf8("safety"),
} as const;

/** Meta key of the proof that ended `epoch`: "epochEnd/" then the epoch as u64 big-endian. */
export function epochEndKey(epoch: number): Uint8Array {
  const prefix = utf8("epochEnd/");
  const k = new Uint8Array(prefix.length + 8);
  k.set(prefix);
  k.set(heightKey(epoch), prefix.length);
  return k;
}

/**
 * Longest application-state key. LMDB's compiled key limit is larger (lmdb-js: 1,978 bytes); 511 is the classic
 * LMDB default, kept so that the data directory stays readable by any LMDB build.
 */
export const MAX_STATE_KEY_BYTES = 511;

/** Writes inside one atomic transaction. */
export interface TableWriter {
  put(table: TableName, key: Uint8Array, value: Uint8Array): void;
  remove(table: TableName, key: Uint8Array): void;
}

/** What a backend provides: seven binary tables, atomic durable transactions, close. */
export interface TableBackend {
  get(table: TableName, key: Uint8Array): Uint8Array | undefined;
  /** Every entry of a table in key order (only used on small tables: the pending blocks, and pending txs at start). */
  entries(table: TableName): Iterable<readonly [Uint8Array, Uint8Array]>;
  /**
   * Runs `fn` in one transaction: all its writes become visible and durable together when it returns, or none of
   * them if it throws (the exception propagates).
   */
  transaction(fn: (w: TableWriter) => void): void;
  close(): Promise<void>;
}

interface PendingIndexEntry {
  readonly hash: Hash;
  readonly height: number;
}

/** ChainStore over a TableBackend. Construct through `LmdbChainStore.open` or `MemoryChainStore.open`. */
export class TableChainStore implements ChainStore {
  private closed = false;
  private readonly chainMeta: { chainId: Uint8Array; schemaVersion: number; genesisHash: Hash | null };
  private currentHead: ChainHead | null;
  /** Heights of the pending blocks, so a commit can prune them without decoding whole blocks. */
  private readonly pendingIndex = new Map<string, PendingIndexEntry>();
  /**
   * Ids (bytesKey) of the stored pending-tx records, so a commit deletes only records that exist: most committed txs
   * came by gossip and have none, and a delete is a B-tree descent each. Bounded like the table (by the mempool).
   */
  private readonly pendingTxIds = new Set<string>();

  /** Opens (or creates) the store; throws the opening errors of ChainStoreErrorCode. Does not close `tables`. */
  protected constructor(
    readonly backend: "lmdb" | "memory",
    private readonly tables: TableBackend,
    opts: ChainStoreOptions,
  ) {
    checkChainId(opts.chainId);
    const storedVersion = tables.get("meta", META_KEYS.schemaVersion);
    if (storedVersion === undefined) {
      // A new store: claim it for this chain before anything else is written.
      tables.transaction((w) => {
        w.put("meta", META_KEYS.schemaVersion, encodeU32(CHAIN_SCHEMA_VERSION));
        w.put("meta", META_KEYS.chainId, opts.chainId.slice());
      });
    } else {
      const version = decodeU32(storedVersion, "schema version");
      if (version > CHAIN_SCHEMA_VERSION) {
        throw new ChainStoreError(
          "SCHEMA_TOO_NEW",
          `the data directory was written by a newer Quire (store schema ${version}, this build supports ${CHAIN_SCHEMA_VERSION}); upgrade Quire or use another directory`,
          { stored: version, supported: CHAIN_SCHEMA_VERSION },
        );
      }
      if (version < CHAIN_SCHEMA_MIN_VERSION) {
        throw new ChainStoreError(
          "SCHEMA_TOO_OLD",
          `the data directory uses store schema ${version}, this build reads ${CHAIN_SCHEMA_MIN_VERSION}..${CHAIN_SCHEMA_VERSION} and has no migration; use another directory`,
          { stored: version, supported: CHAIN_SCHEMA_VERSION },
        );
      }
      const storedChain = tables.get("meta", META_KEYS.chainId);
      if (storedChain === undefined) throw new ChainStoreError("CORRUPT", "the data directory has a schema version but no chain id");
      if (!bytesEqual(storedChain, opts.chainId)) {
        throw new ChainStoreError(
          "CHAIN_ID_MISMATCH",
          `the data directory belongs to chain ${describeId(storedChain)}, not ${describeId(opts.chainId)}; use another directory`,
          { stored: toHex(storedChain), expected: toHex(opts.chainId) },
        );
      }
      // 1 → 2 only added the (empty) pending-tx table: record the new version, nothing else to move.
      if (version < CHAIN_SCHEMA_VERSION) tables.transaction((w) => w.put("meta", META_KEYS.schemaVersion, encodeU32(CHAIN_SCHEMA_VERSION)));
    }
    const genesis = tables.get("meta", META_KEYS.genesisHash);
    if (genesis !== undefined && opts.genesisHash !== undefined && !bytesEqual(genesis, opts.genesisHash)) {
      throw new ChainStoreError(
        "GENESIS_MISMATCH",
        `the data directory holds genesis ${toHex(genesis)}, the configuration expects ${toHex(opts.genesisHash)}`,
        { stored: toHex(genesis), expected: toHex(opts.genesisHash) },
      );
    }
    this.chainMeta = { chainId: opts.chainId.slice(), schemaVersion: CHAIN_SCHEMA_VERSION, genesisHash: genesis === undefined ? null : genesis.slice() };
    const head = tables.get("meta", META_KEYS.head);
    this.currentHead = head === undefined ? null : decodeHead(head);
    for (const [key, value] of tables.entries("pending")) {
      const p = decodePendingRecord(key, value);
      this.pendingIndex.set(bytesKey(p.hash), { hash: p.hash, height: p.block.header.height });
    }
    for (const [key] of tables.entries("ptxs")) this.pendingTxIds.add(bytesKey(key));
  }

  meta(): ChainMeta {
    this.open();
    const m = this.chainMeta;
    return { chainId: m.chainId.slice(), schemaVersion: m.schemaVersion, genesisHash: m.genesisHash === null ? null : m.genesisHash.slice() };
  }

  head(): ChainHead | null {
    this.open();
    const h = this.currentHead;
    return h === null ? null : { height: h.height, hash: h.hash.slice() };
  }

  commit(commits: readonly BlockCommit[]): void {
    this.open();
    if (commits.length === 0) return;
    // Every check before the first write: a refused commit writes nothing.
    let prev = this.currentHead;
    for (const c of commits) {
      checkCommit(c);
      const h = c.block.header.height;
      const want = prev === null ? 0 : prev.height + 1;
      if (h !== want) {
        throw new ChainStoreError("NOT_NEXT_HEIGHT", `commit of height ${h}, expected ${want}`, { height: h, expected: want });
      }
      if (prev !== null && !bytesEqual(c.block.header.parent, prev.hash)) {
        throw new ChainStoreError("PARENT_MISMATCH", `block ${toHex(c.hash)} at height ${h} does not extend ${toHex(prev.hash)}`);
      }
      prev = { height: h, hash: c.hash };
    }
    const newHead = prev!;
    const pruned = [...this.pendingIndex.values()].filter((p) => p.height <= newHead.height);
    const ackedTxs: string[] = [];
    this.tables.transaction((w) => {
      for (const c of commits) {
        const height = c.block.header.height;
        w.put("blocks", c.hash, encodeBlockRecord(c.block));
        w.put("heights", heightKey(height), encodeCommitRecord({ hash: c.hash, stateRoot: c.stateRoot, results: c.results, qc: c.qc }));
        for (const t of c.txIndex) {
          w.put("txs", t.id, encodeTxLocation({ height, index: t.index, ok: t.ok }));
          // Committed: an acknowledged tx no longer needs replaying.
          const k = bytesKey(t.id);
          if (this.pendingTxIds.has(k)) {
            w.remove("ptxs", t.id);
            ackedTxs.push(k);
          }
        }
        for (const [key, value] of c.writes) {
          checkStateKey(key);
          if (value === null) w.remove("state", key);
          else w.put("state", key, value);
        }
        if (height === 0) w.put("meta", META_KEYS.genesisHash, c.hash);
      }
      for (const p of pruned) w.remove("pending", p.hash);
      w.put("meta", META_KEYS.head, encodeHead(newHead));
    });
    // Only after the transaction committed: the cached view follows the disk.
    this.currentHead = { height: newHead.height, hash: newHead.hash.slice() };
    if (this.chainMeta.genesisHash === null) this.chainMeta.genesisHash = commits[0]!.hash.slice();
    for (const p of pruned) this.pendingIndex.delete(bytesKey(p.hash));
    for (const k of ackedTxs) this.pendingTxIds.delete(k);
  }

  blockByHash(hash: Hash): Block | undefined {
    this.open();
    checkHash(hash, "hash");
    const b = this.tables.get("blocks", hash);
    if (b !== undefined) return decodeBlockRecord(b);
    const p = this.tables.get("pending", hash);
    return p === undefined ? undefined : decodePendingRecord(hash, p).block;
  }

  hashAt(height: number): Hash | undefined {
    this.open();
    const r = this.record(height);
    return r?.hash;
  }

  committedAt(height: number): CommittedBlockRecord | undefined {
    this.open();
    const r = this.record(height);
    if (r === undefined) return undefined;
    const b = this.tables.get("blocks", r.hash);
    if (b === undefined) throw new ChainStoreError("CORRUPT", `height ${height} names block ${toHex(r.hash)}, which is not stored`);
    return { height, hash: r.hash, block: decodeBlockRecord(b), qc: r.qc, stateRoot: r.stateRoot, results: r.results };
  }

  txLocation(id: Hash): TxLocation | undefined {
    this.open();
    checkHash(id, "tx id");
    const t = this.tables.get("txs", id);
    return t === undefined ? undefined : decodeTxLocation(t);
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.open();
    checkStateKey(key);
    return this.tables.get("state", key);
  }

  loadSafetyState(): Uint8Array | undefined {
    this.open();
    return this.tables.get("meta", META_KEYS.safety);
  }

  saveSafetyState(bytes: Uint8Array): void {
    this.saveConsensusState({ safety: bytes });
  }

  savePending(p: PendingBlock): void {
    this.saveConsensusState({ pending: [p] });
  }

  saveConsensusState(update: { readonly safety?: Uint8Array; readonly pending?: readonly PendingBlock[] }): void {
    this.open();
    const { safety } = update;
    if (safety !== undefined && !(safety instanceof Uint8Array)) throw new ChainStoreError("BAD_ARGUMENT", "safety state must be bytes");
    const head = this.currentHead;
    // Blocks at or below the head are committed or dead branches: nothing to keep.
    const pending = (update.pending ?? []).filter((p) => {
      checkHash(p.hash, "hash");
      return head === null || p.block.header.height > head.height;
    });
    if (safety === undefined && pending.length === 0) return;
    const records = pending.map((p) => encodePendingRecord(p));
    this.tables.transaction((w) => {
      pending.forEach((p, i) => w.put("pending", p.hash, records[i]!));
      if (safety !== undefined) w.put("meta", META_KEYS.safety, safety);
    });
    for (const p of pending) this.pendingIndex.set(bytesKey(p.hash), { hash: p.hash.slice(), height: p.block.header.height });
  }

  beginEpoch(update: EpochStart): void {
    this.open();
    const { epoch, endedBy, safety } = update;
    if (!Number.isSafeInteger(epoch) || epoch < 1) throw new ChainStoreError("BAD_ARGUMENT", `a new epoch must be a safe integer ≥ 1, got ${epoch}`);
    if (!(safety instanceof Uint8Array)) throw new ChainStoreError("BAD_ARGUMENT", "safety state must be bytes");
    const head = this.currentHead;
    if (head === null) throw new ChainStoreError("BAD_ARGUMENT", "an epoch can only end at a committed block; the store has none");
    // The proof must start at the committed head's child and link block to block.
    if (endedBy !== null) {
      let parent = { height: head.height, hash: head.hash };
      for (const c of endedBy) {
        const h = c.block.header;
        if (h.height !== parent.height + 1 || !bytesEqual(h.parent, parent.hash)) {
          throw new ChainStoreError("BAD_ARGUMENT", `the epoch-end block at height ${h.height} is not a child of ${toHex(parent.hash)} at height ${parent.height}`);
        }
        parent = { height: h.height, hash: c.qc.blockHash };
      }
      if (endedBy.length === 0) throw new ChainStoreError("BAD_ARGUMENT", "an epoch-end proof has at least one block");
    }
    const record = endedBy === null ? null : encodeEpochEndRecord(endedBy);
    const dropped = [...this.pendingIndex.values()];
    this.tables.transaction((w) => {
      if (record !== null) w.put("meta", epochEndKey(epoch - 1), record);
      for (const p of dropped) w.remove("pending", p.hash);
      w.put("meta", META_KEYS.safety, safety);
    });
    this.pendingIndex.clear();
  }

  epochEndProof(endedEpoch: number): EpochEndProof | undefined {
    this.open();
    if (!Number.isSafeInteger(endedEpoch) || endedEpoch < 0) throw new ChainStoreError("BAD_ARGUMENT", `epoch must be a non-negative safe integer, got ${endedEpoch}`);
    const e = this.tables.get("meta", epochEndKey(endedEpoch));
    return e === undefined ? undefined : decodeEpochEndRecord(e);
  }

  pendingBlocks(): PendingBlock[] {
    this.open();
    const out: PendingBlock[] = [];
    for (const [key, value] of this.tables.entries("pending")) out.push(decodePendingRecord(key, value));
    return out.sort((a, b) => a.block.header.height - b.block.header.height);
  }

  savePendingTxs(txs: readonly PendingTx[]): void {
    this.open();
    if (txs.length === 0) return;
    const records = txs.map((p) => {
      checkHash(p.id, "tx id");
      if (!Number.isSafeInteger(p.seq) || p.seq < 0) throw new ChainStoreError("BAD_ARGUMENT", `pending tx seq must be a non-negative safe integer, got ${p.seq}`);
      if (!(p.tx instanceof Uint8Array)) throw new ChainStoreError("BAD_ARGUMENT", "pending tx must be bytes");
      return encodePendingTxRecord(p);
    });
    this.tables.transaction((w) => txs.forEach((p, i) => w.put("ptxs", p.id, records[i]!)));
    for (const p of txs) this.pendingTxIds.add(bytesKey(p.id));
  }

  pendingTxs(): PendingTx[] {
    this.open();
    const out: PendingTx[] = [];
    for (const [key, value] of this.tables.entries("ptxs")) {
      if (key.length !== HASH_BYTES) throw new ChainStoreError("CORRUPT", `pending-tx key of ${key.length} bytes`);
      out.push(decodePendingTxRecord(key, value));
    }
    // Stable sort: equal seqs keep key order.
    return out.sort((a, b) => a.seq - b.seq);
  }

  removePendingTxs(ids: readonly Hash[]): void {
    this.open();
    if (ids.length === 0) return;
    for (const id of ids) checkHash(id, "tx id");
    this.tables.transaction((w) => {
      for (const id of ids) w.remove("ptxs", id);
    });
    for (const id of ids) this.pendingTxIds.delete(bytesKey(id));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tables.close();
  }

  private record(height: number): ReturnType<typeof decodeCommitRecord> | undefined {
    if (!Number.isSafeInteger(height) || height < 0) throw new ChainStoreError("BAD_ARGUMENT", `height must be a non-negative safe integer, got ${height}`);
    const r = this.tables.get("heights", heightKey(height));
    return r === undefined ? undefined : decodeCommitRecord(r);
  }

  private open(): void {
    if (this.closed) throw new ChainStoreError("CLOSED", "the chain store is closed");
  }
}

function describeId(id: Uint8Array): string {
  // Chain ids are usually printable names; show them as such, otherwise as hex.
  const printable = id.every((c) => c >= 0x20 && c < 0x7f);
  return printable ? `"${String.fromCharCode(...id)}"` : toHex(id);
}

function checkChainId(id: Uint8Array): void {
  if (!(id instanceof Uint8Array) || id.length === 0) throw new ChainStoreError("BAD_ARGUMENT", "chainId must be non-empty bytes");
}

function checkHash(h: Uint8Array, what: string): void {
  if (!(h instanceof Uint8Array) || h.length !== HASH_BYTES) throw new ChainStoreError("BAD_ARGUMENT", `${what} must be ${HASH_BYTES} bytes`);
}

function checkStateKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length === 0 || key.length > MAX_STATE_KEY_BYTES) {
    throw new ChainStoreError("BAD_ARGUMENT", `state keys must be 1..${MAX_STATE_KEY_BYTES} bytes`);
  }
}

function checkCommit(c: BlockCommit): void {
  checkHash(c.hash, "block hash");
  checkHash(c.stateRoot, "state root");
  if (!bytesEqual(c.qc.blockHash, c.hash)) {
    throw new ChainStoreError("QC_MISMATCH", `the QC certifies ${toHex(c.qc.blockHash)}, not ${toHex(c.hash)}`);
  }
  const h = c.block.header.height;
  if (!Number.isSafeInteger(h) || h < 0) throw new ChainStoreError("BAD_ARGUMENT", `block height ${h} is not a non-negative safe integer`);
  for (const t of c.txIndex) {
    checkHash(t.id, "tx id");
    if (!Number.isInteger(t.index) || t.index < 0 || t.index >= c.block.txs.length) {
      throw new ChainStoreError("BAD_ARGUMENT", `tx index ${t.index} is outside a block of ${c.block.txs.length} txs`);
    }
  }
}
