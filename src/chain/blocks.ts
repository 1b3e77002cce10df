/**
 * Building and checking blocks (DESIGN §4): `txRoot` is the RFC 6962 root of the block's transactions, and the block
 * at height h+1 carries the state root and the encoded tx-result bitmap of block h (execution deferred by one block).
 *
 * A proposer asks the executor for the parent's execution (`Executor.parentExecution`), reaps the mempool excluding
 * the txs already in the uncommitted branch (`Executor.txIdsInBranch`), and calls `buildBlock`. A validator checks a
 * received block with `checkTxRoot` (the consensus validation layer does too) and `Executor.checkParentExecution`.
 */
import type { Hasher } from "../crypto/hasher.js";
import { merkleRoot } from "../crypto/merkle.js";
import { defaultHasher } from "../crypto/hash/backends.js";
import { bytesEqual } from "../util/bytes.js";
import { HASH_BYTES } from "../domain/limits.js";
import type { Block, Hash } from "../domain/types.js";

/** What executing a block produced: what its child carries in `parentStateRoot` and `parentResults`. */
export interface ExecutionOutcome {
  /** Application state root after the block (32 bytes). */
  readonly stateRoot: Hash;
  /** Encoded tx-result bitmap (src/crypto/bitmap codec): bit i set = tx i failed. */
  readonly results: Uint8Array;
}

export interface BuildBlockInput {
  readonly parentHash: Hash;
  readonly parentHeight: number;
  /** The signers of the QC the block's proposal carries (default none: chains without QCs, such as a para chain's). */
  readonly parentSigners?: Uint8Array;
  readonly view: number;
  readonly proposer: number;
  readonly timestampMs: number;
  readonly txs: readonly Uint8Array[];
  /** The parent's execution outcome (Executor.parentExecution). */
  readonly parentExecution: ExecutionOutcome;
}

/** The RFC 6962 Merkle tree hash of a block's transactions. */
export function txRoot(txs: readonly Uint8Array[], hasher: Hasher = defaultHasher()): Hash {
  return merkleRoot(txs, hasher);
}

/** A block extending `parentHash` with `txs`, carrying the parent's execution outcome. */
export function buildBlock(input: BuildBlockInput, hasher: Hasher = defaultHasher()): Block {
  return {
    header: {
      parent: input.parentHash,
      view: input.view,
      height: input.parentHeight + 1,
      proposer: input.proposer,
      timestampMs: input.timestampMs,
      txRoot: txRoot(input.txs, hasher),
      parentStateRoot: input.parentExecution.stateRoot,
      parentResults: input.parentExecution.results,
      parentSigners: input.parentSigners ?? new Uint8Array(0),
    },
    txs: input.txs,
  };
}

/**
 * The genesis block: height 0, view 0, proposer 0, an all-zero parent and parent state root, empty parent results
 * (it has no parent), and optional initial txs (executed like any block: they can seed the application state).
 */
export function buildGenesisBlock(input: { readonly timestampMs: number; readonly txs?: readonly Uint8Array[] }, hasher: Hasher = defaultHasher()): Block {
  const txs = input.txs ?? [];
  return {
    header: {
      parent: new Uint8Array(HASH_BYTES),
      view: 0,
      height: 0,
      proposer: 0,
      timestampMs: input.timestampMs,
      txRoot: txRoot(txs, hasher),
      parentStateRoot: new Uint8Array(HASH_BYTES),
      parentResults: new Uint8Array(0),
      parentSigners: new Uint8Array(0),
    },
    txs,
  };
}

/** Why a received block's content is wrong. */
export type BlockCheckCode = "BAD_TX_ROOT" | "BAD_PARENT_STATE_ROOT" | "BAD_PARENT_RESULTS";

/** null when `block.header.txRoot` is the RFC 6962 root of `block.txs`, otherwise "BAD_TX_ROOT". */
export function checkTxRoot(block: Block, hasher: Hasher = defaultHasher()): "BAD_TX_ROOT" | null {
  return bytesEqual(txRoot(block.txs, hasher), block.header.txRoot) ? null : "BAD_TX_ROOT";
}

/** null when the block carries exactly `parent`'s execution outcome, otherwise the field that differs. */
export function checkParentOutcome(block: Block, parent: ExecutionOutcome): "BAD_PARENT_STATE_ROOT" | "BAD_PARENT_RESULTS" | null {
  if (!bytesEqual(block.header.parentStateRoot, parent.stateRoot)) return "BAD_PARENT_STATE_ROOT";
  if (!bytesEqual(block.header.parentResults, parent.results)) return "BAD_PARENT_RESULTS";
  return null;
}
