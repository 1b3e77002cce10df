import { QuireError } from "../util/errors.js";

/**
 * Why a chain store refused to open or to write. Opening errors (`CHAIN_ID_MISMATCH`, `SCHEMA_TOO_NEW`, ...) are
 * configuration mistakes the operator must fix; the others are invariant breaks of the caller (a commit that does not
 * extend the head) or of the disk (`CORRUPT`): the node stops on them rather than limp on.
 */
export type ChainStoreErrorCode =
  /** The data directory belongs to another chain (payload: `stored`, `expected` as hex). */
  | "CHAIN_ID_MISMATCH"
  /** The data directory was written by a newer Quire (payload: `stored`, `supported` schema versions). */
  | "SCHEMA_TOO_NEW"
  /** The data directory was written by an older schema this version cannot read (no migration exists yet). */
  | "SCHEMA_TOO_OLD"
  /** The stored genesis block is not the expected one (same chain id, different genesis). */
  | "GENESIS_MISMATCH"
  /** A commit whose height is not head + 1 (or 0 on an empty store). */
  | "NOT_NEXT_HEIGHT"
  /** A commit whose block does not name the head as its parent. */
  | "PARENT_MISMATCH"
  /** A commit whose QC certifies another block. */
  | "QC_MISMATCH"
  /** Stored bytes that do not decode: the data directory is damaged. */
  | "CORRUPT"
  /** The data directory (or memory store data) is already open in this process. */
  | "IN_USE"
  /** Use after close(). */
  | "CLOSED"
  /** A malformed argument (wrong hash length, a non-integer height...). */
  | "BAD_ARGUMENT";

/** The typed error of the ChainStore contract (store/interface.ts). */
export class ChainStoreError extends QuireError<ChainStoreErrorCode> {}

/** Why the executor refused a block. All of these are invariant breaks of the caller except where noted. */
export type ExecutionErrorCode =
  /** The block's parent is neither the committed head nor a block the executor has executed or can find in the store. */
  | "UNKNOWN_PARENT"
  /** A commit that does not extend the committed head (a fork below the head, or a gap). */
  | "NOT_EXTENDING_HEAD"
  /** The block's height is not its parent's height + 1. */
  | "BAD_HEIGHT"
  /** The executor has no committed head: commit the genesis block first. */
  | "NO_GENESIS"
  /** A genesis block that is not at height 0, or a second genesis. */
  | "BAD_GENESIS"
  /** A verified commit (a follower's): an execution outcome differs from the one the certified header above carries. */
  | "EXECUTION_MISMATCH";

/** The typed error of the executor (executor.ts). */
export class ExecutionError extends QuireError<ExecutionErrorCode> {}
