// Public surface of the chain layer: stores, mempool, application contract and the KV app, executor, block helpers.
export type {
  BlockCommit,
  ChainHead,
  ChainMeta,
  ChainStore,
  ChainStoreOptions,
  CommittedBlockRecord,
  PendingBlock,
  StateWrite,
  TxIndexEntry,
  TxLocation,
} from "./store/interface.js";
export { CHAIN_SCHEMA_VERSION } from "./store/interface.js";
export { MAX_STATE_KEY_BYTES } from "./store/tableStore.js";
export { decodeSafetyRecord, encodeSafetyRecord } from "./store/records.js";
export type { SafetyRecord } from "./store/records.js";
export { LmdbChainStore } from "./store/lmdbStore.js";
export type { LmdbChainStoreOptions } from "./store/lmdbStore.js";
export { MemoryChainData, MemoryChainStore } from "./store/memoryStore.js";
export { ChainStoreError, ExecutionError } from "./errors.js";
export type { ChainStoreErrorCode, ExecutionErrorCode } from "./errors.js";

export type { Application, BlockInfo, CheckResult, DeliverResult, StateReader, StateWriter } from "./app/interface.js";
export { KvApplication } from "./app/kvApp.js";
export type { KvApplicationModules, KvApplicationOptions, KvDeliverCode } from "./app/kvApp.js";
export { decodeKvTx, encodeKvTx, KV_OP, KV_TX_VERSION, KvTxError, MAX_KEY_BYTES, KV_NONCE_BYTES } from "./app/kvTx.js";
export type { KvDecodeResult, KvOpName, KvTx, KvTxErrorCode, KvTxInput } from "./app/kvTx.js";
export { BucketStateTree, DEFAULT_BUCKET_BITS, StateTreeError } from "./app/stateTree.js";

export { Mempool, MempoolError } from "./mempool.js";
export type { AddOptions, AddResult, MempoolMetrics, MempoolModules, MempoolOptions } from "./mempool.js";

export { Executor } from "./executor.js";
export type { CertifiedBlockInput, CommittedSummary, ExecutionResult, ExecutorModules, ExecutorOptions } from "./executor.js";
export { buildBlock, buildGenesisBlock, checkParentOutcome, checkTxRoot, txRoot } from "./blocks.js";
export type { BlockCheckCode, BuildBlockInput, ExecutionOutcome } from "./blocks.js";
export { bytesKey, keyBytes } from "./keys.js";
