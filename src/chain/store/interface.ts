/**
 * The chain store contract: everything a node keeps on disk. Two implementations pass one compliance suite
 * (test/unit/chain/storeCompliance.ts): `LmdbChainStore` (one LMDB environment per node data directory, the
 * default) and `MemoryChainStore` (tests and the simulator).
 *
 * The API is synchronous: consensus effects are executed in order, and "durable before returning" is only
 * meaningful for a call that returns after the write. Only `close()` is asynchronous.
 *
 * What is kept:
 * - chain meta: chain id and schema version (written when the store is created), genesis hash (at the genesis commit);
 * - committed blocks by hash, the height index (height → hash, the QC certifying the block, the state root and the
 *   encoded tx-result bitmap produced by executing it), the tx index (tx id → height, index, ok);
 * - committed application state: opaque binary keys and values, laid out by the application;
 * - the consensus safety state: opaque bytes, written durably before `saveSafetyState` returns;
 * - uncommitted blocks the replica stored before voting (the fork database), durable as well, pruned by commits;
 * - client transactions the node acknowledged (202) and has not committed yet (`savePendingTxs`), so that an
 *   acknowledged transaction survives a crash; a commit drops those it indexes in the same transaction;
 * - per ended epoch, the proof that ended it (`beginEpoch`): the certified child C of the epoch's last block E. C
 *   commits E (two-chain rule) but is never committed itself, since the next epoch's first block replaces it, so it is
 *   kept apart from the chain for sync to serve right after E.
 *
 * Crash consistency: `commit` writes every record of every block it is given in one atomic transaction, so a crash
 * leaves either all of them or none. The safety state and pending blocks are separate transactions; the consensus
 * core copes with the store being ahead of the safety state (see Replica.restore).
 */
import type { Block, Hash, QuorumCert } from "../../domain/types.js";
import type { StateReader } from "../app/interface.js";

/**
 * Version of the on-disk layout (table names, key formats, records.ts). A store written by a newer version refuses
 * to open (`SCHEMA_TOO_NEW`); an older one too (`SCHEMA_TOO_OLD`) until a migration exists. Bump on any change.
 */
export const CHAIN_SCHEMA_VERSION = 3;

/**
 * Oldest schema this build opens, upgrading it in place. Version 2 added the pending-tx table only: a version-1 store
 * has no acknowledged txs to carry over, so the upgrade is rewriting the version number (the table starts empty).
 * Version 3 lets stored headers carry `parentSigners` (records.ts: a flag bit in the results length); every older
 * record reads unchanged, so the upgrade is again the version number alone — but a version-2 build must not read a
 * version-3 store, hence the bump.
 */
export const CHAIN_SCHEMA_MIN_VERSION = 1;

export interface ChainStoreOptions {
  /** The chain this node runs. A store created for another chain id refuses to open (`CHAIN_ID_MISMATCH`). */
  readonly chainId: Uint8Array;
  /** When given, a store whose genesis block has another hash refuses to open (`GENESIS_MISMATCH`). */
  readonly genesisHash?: Hash;
}

export interface ChainMeta {
  readonly chainId: Uint8Array;
  readonly schemaVersion: number;
  /** Null until the genesis block (height 0) is committed. */
  readonly genesisHash: Hash | null;
}

/** The last committed block. */
export interface ChainHead {
  readonly height: number;
  readonly hash: Hash;
}

/** Where a committed transaction is: `GET /v1/tx/:id` answers from this. */
export interface TxLocation {
  readonly height: number;
  /** Position of the tx in its block. */
  readonly index: number;
  /** False when the tx failed on execution (its bit in the block's result bitmap is set). */
  readonly ok: boolean;
}

/** One tx-index entry of a commit. */
export interface TxIndexEntry {
  /** SHA-256 of the tx (32 bytes). */
  readonly id: Hash;
  readonly index: number;
  readonly ok: boolean;
}

/** An application-state write: a value, or null to delete the key. */
export type StateWrite = readonly [key: Uint8Array, value: Uint8Array | null];

/** Everything one committed height writes (built by the executor). */
export interface BlockCommit {
  readonly block: Block;
  /** The block's hash (computed by the caller; the store does not hash). */
  readonly hash: Hash;
  /** A QC certifying `hash`. */
  readonly qc: QuorumCert;
  /** The application state root after executing this block. */
  readonly stateRoot: Hash;
  /** The encoded tx-result bitmap of this block (bit i set = tx i failed). */
  readonly results: Uint8Array;
  /**
   * Tx-index entries to add. The executor leaves out txs whose id is already indexed (a replayed tx keeps its first
   * location); the store overwrites nothing it is not given.
   */
  readonly txIndex: readonly TxIndexEntry[];
  /**
   * Application-state writes, applied in order (a later write to the same key wins). Only the state after the whole
   * commit is visible, so within one `commit` call the executor puts all of a batch's writes (the latest per key) on
   * its last block and none on the others.
   */
  readonly writes: Iterable<StateWrite>;
}

/** An acknowledged, not yet committed client transaction (the pending-tx table). */
export interface PendingTx {
  /** SHA-256 of the tx (the table key). */
  readonly id: Hash;
  /** Replay order: ascending in submission order (the node's journal assigns it). A safe integer. */
  readonly seq: number;
  /** The client that submitted it (the mempool's client id, e.g. an IP address). */
  readonly origin: string;
  readonly tx: Uint8Array;
}

/** A committed height as the store returns it. */
export interface CommittedBlockRecord {
  readonly height: number;
  readonly hash: Hash;
  readonly block: Block;
  readonly qc: QuorumCert;
  readonly stateRoot: Hash;
  readonly results: Uint8Array;
}

/** What `beginEpoch` writes: the proof that ended epoch `epoch − 1`, and the new epoch's first safety state. */
export interface EpochStart {
  /** The epoch that begins (≥ 1). */
  readonly epoch: number;
  /**
   * The certified child of the committed head (E): `block` at height E + 1 with E as its parent, and the quorum's QC
   * for it. The store does not hash: the caller has checked that `qc` certifies `block`. Null when the replica holds
   * none (it then serves ranges up to E only; its peers have the proof).
   */
  readonly endedBy: EpochEndProof | null;
  /** The new epoch's safety state (opaque bytes, as `saveSafetyState`). */
  readonly safety: Uint8Array;
}

/**
 * What committed an epoch's last block E: the certified blocks above E (heights E + 1, E + 2, …, each the parent of
 * the next, each with its QC) up to the two-chain that committed E — most often just E's child in E's next view.
 */
export type EpochEndProof = readonly { readonly block: Block; readonly qc: QuorumCert }[];

/** An uncommitted block of the fork database (the consensus core's `StoredBlock`, structurally). */
export interface PendingBlock {
  readonly block: Block;
  readonly hash: Hash;
  /** A QC certifying this block, when known. */
  readonly qc: QuorumCert | null;
  /** A QC certifying its parent (the proposal's justify QC), when known. */
  readonly parentQc: QuorumCert | null;
}

export interface ChainStore extends StateReader {
  /** Which implementation this is. */
  readonly backend: "lmdb" | "memory";

  meta(): ChainMeta;
  /** The last committed block, or null before genesis. */
  head(): ChainHead | null;

  /**
   * Commits consecutive blocks atomically: the first extends the head (or is the genesis block at height 0 on an
   * empty store), each next one extends the previous. Writes, per block: the block by hash, the height index (hash,
   * QC, state root, results), the tx index entries, the application-state writes, and the new head; prunes pending
   * blocks at or below the new head and the pending-tx records of every tx id in the commits' `txIndex`. Throws `NOT_NEXT_HEIGHT`, `PARENT_MISMATCH`, `QC_MISMATCH`, `BAD_ARGUMENT`
   * before writing anything; any exception (including one thrown by the `writes` iterables) leaves the store as it was.
   * Durable on return.
   */
  commit(commits: readonly BlockCommit[]): void;

  /** A block by hash: committed, or pending (the fork database). */
  blockByHash(hash: Hash): Block | undefined;
  /** Hash of the committed block at `height`. */
  hashAt(height: number): Hash | undefined;
  /** The committed block at `height` with its QC and execution results. */
  committedAt(height: number): CommittedBlockRecord | undefined;
  /** Location of a committed tx by id. */
  txLocation(id: Hash): TxLocation | undefined;

  /** Committed application state (StateReader): the value at `key`, or undefined. */
  get(key: Uint8Array): Uint8Array | undefined;

  /** The consensus safety state last saved, or undefined. */
  loadSafetyState(): Uint8Array | undefined;
  /** Replaces the safety state; durable (fsync'd) before it returns, so a vote may leave the node after it. */
  saveSafetyState(bytes: Uint8Array): void;

  /** Stores an uncommitted block durably (before the vote for it leaves). Ignored at or below the head height. */
  savePending(block: PendingBlock): void;
  /** Every stored uncommitted block above the head, in ascending height. */
  pendingBlocks(): PendingBlock[];

  /**
   * `savePending` of each block and `saveSafetyState` in one durable transaction: what one consensus step asks to
   * persist before its vote leaves (one fsync instead of two). Either part may be omitted.
   */
  saveConsensusState(update: { readonly safety?: Uint8Array; readonly pending?: readonly PendingBlock[] }): void;

  /**
   * Starts epoch `update.epoch` in one durable transaction: stores `update.endedBy` as the proof that ended epoch
   * `update.epoch − 1` (replacing any proof stored for it), deletes every pending block (all belong to the ended
   * epoch) and replaces the safety state with `update.safety`. Throws `BAD_ARGUMENT`, writing nothing, when the epoch
   * is below 1 or `endedBy.block` is not at the head's height + 1 with the head as its parent.
   */
  beginEpoch(update: EpochStart): void;
  /** The proof stored by `beginEpoch` for the end of `endedEpoch`, or undefined. */
  epochEndProof(endedEpoch: number): EpochEndProof | undefined;

  /**
   * Stores acknowledged client txs (replacing any record with the same id) in one durable transaction: on return they
   * survive a crash. The node calls it once per group of submissions, before their 202s go out.
   */
  savePendingTxs(txs: readonly PendingTx[]): void;
  /** Every stored pending tx, in ascending `seq` (then id). */
  pendingTxs(): PendingTx[];
  /** Drops pending-tx records by id (absent ids are ignored), in one durable transaction. */
  removePendingTxs(ids: readonly Hash[]): void;

  /** Releases the store. Every later call throws `CLOSED`; closing twice is allowed. */
  close(): Promise<void>;
}
