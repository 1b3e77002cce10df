/**
 * The application contract (DESIGN §4): what the chain executes. Transactions are opaque bytes to consensus; the
 * application defines their format, checks them at submission and applies them at execution.
 *
 * Lifecycle, driven by the executor (one block at a time, synchronously):
 *
 *   check(tx)                 at submission, stateless: malformed txs never reach a block (the node answers 400)
 *   beginBlock(state, info)   `state` reads the parent block's post-state and collects this block's writes
 *   deliver(tx, i)            for each tx in order: ok, or failed (bit i of the block's result bitmap)
 *   commit()                  finishes the block's writes (e.g. its state tree) into `state`, returns the state root
 *   query(key)                reads the committed state (RPC `GET /v1/kv/:key`)
 *
 * Determinism: deliver and commit must depend only on the state they read and the tx bytes, never on time, randomness
 * or local configuration; every node computes the same results and state root. A proposer may include txs that were
 * never checked (a Byzantine one may include garbage), so `deliver` must handle malformed txs by failing them.
 */

import type { BlockHeader } from "../../domain/types.js";

/** Read access to one version of the application state (committed, or a block's speculative post-state). */
export interface StateReader {
  /** The value at `key`, or undefined. The caller must not mutate the returned bytes. */
  get(key: Uint8Array): Uint8Array | undefined;
}

/** Read-write access during one block's execution. Writes are visible to later reads of the same block. */
export interface StateWriter extends StateReader {
  put(key: Uint8Array, value: Uint8Array): void;
  delete(key: Uint8Array): void;
}

/**
 * Outcome of `check`: accepted into the mempool, or refused with a stable code and a human-readable reason. A refusal
 * with `retryAfterMs` is "not now" (a local admission budget is spent), not "never": the mempool answers it as full
 * (HTTP 503 + Retry-After), and the same bytes may be offered again.
 */
export type CheckResult = { readonly ok: true } | { readonly ok: false; readonly code: string; readonly reason: string; readonly retryAfterMs?: number };

/** Outcome of `deliver`: a failed tx is still committed, with its result bit set. */
export type DeliverResult = { readonly ok: true } | { readonly ok: false; readonly code: string };

/** The block being executed. */
export interface BlockInfo {
  readonly height: number;
  readonly txCount: number;
  /** The block's transactions, in order (the executor passes them; modules may prepare work for all of them). */
  readonly txs: readonly Uint8Array[];
  /**
   * The block's header: the executor always passes it (the validators module's committee reads who proposed and who
   * signed the parent QC). Absent only where no header exists: tests, a geo network's global order (its heights are
   * not any chain's), and a replay that only moves the validator-set epochs of a chain without committees.
   */
  readonly header?: BlockHeader;
}

export interface Application {
  /** Short name for logs and status. */
  readonly name: string;
  /** Stateless validation of a submitted tx. Must not throw for any bytes. */
  check(tx: Uint8Array): CheckResult;
  /** Starts executing a block on `state` (the parent's post-state). */
  beginBlock(state: StateWriter, info: BlockInfo): void;
  /** Applies tx `index` of the current block. Must not throw for any bytes. */
  deliver(tx: Uint8Array, index: number): DeliverResult;
  /** Ends the current block: writes derived state (e.g. the state tree) and returns the 32-byte state root. */
  commit(): Uint8Array;
  /** The state root of `state` without executing anything (e.g. to check a store against its last commit record). */
  stateRoot(state: StateReader): Uint8Array;
  /** The committed value of an application key (what a client asked to read), or undefined. */
  query(key: Uint8Array): Uint8Array | undefined;
}
