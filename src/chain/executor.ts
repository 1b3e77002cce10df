/**
 * The executor runs blocks through the Application and commits them to the ChainStore.
 *
 * Execution is speculative. With pipelined two-chain HotStuff a leader proposes block h+1 on top of a block h that is
 * certified but not yet committed, and h+1 must carry h's state root and result bitmap; so blocks are executed when
 * first needed (to build or to check a child), on top of their parent's post-state, and the outcome is kept with the
 * block's writes in a StateOverlay until the commit rule decides. Committing a block reuses that outcome and writes
 * everything of the height in one store transaction; blocks that no longer descend from the committed head are
 * dropped. Nothing speculative is persisted: after a restart, uncommitted blocks are re-executed from the committed
 * state when needed (execution is deterministic).
 *
 * Replay rule: a tx id commits at most once. A tx whose id is already committed, already in an uncommitted ancestor,
 * or earlier in the same block is not delivered, is marked failed in the result bitmap and keeps its first location in
 * the tx index. (The mempool and the proposer avoid this case; a Byzantine proposer cannot use it to replay a tx.)
 */
import { Bitset, encodeBitmap } from "../crypto/bitmap/index.js";
import type { Hasher } from "../crypto/hasher.js";
import { DIGEST_LENGTH } from "../crypto/hasher.js";
import { defaultHasher } from "../crypto/hash/backends.js";
import { bytesEqual, toHex } from "../util/bytes.js";
import type { Block, BlockHeader, Hash, QuorumCert } from "../domain/types.js";
import type { Application } from "./app/interface.js";
import { checkParentOutcome } from "./blocks.js";
import type { ExecutionOutcome } from "./blocks.js";
import { ExecutionError } from "./errors.js";
import { bytesKey } from "../util/bytes.js";
import { StateOverlay } from "./overlay.js";
import type { BlockCommit, ChainHead, ChainStore, StateWrite, TxIndexEntry } from "./store/interface.js";
import type { ExecutionCheck } from "../consensus/types.js";

/** A block to commit with the QC that certifies it (the consensus core's `CommittedBlock`, structurally). */
/** Uncommitted blocks known elsewhere than in the store (the consensus core's block tree). */
export type AncestorLookup = (hash: Hash) => Block | undefined;

export interface CertifiedBlockInput {
  readonly block: Block;
  readonly hash: Hash;
  readonly qc: QuorumCert;
}

/** Everything executing one block produced. */
export interface ExecutionResult extends ExecutionOutcome {
  readonly hash: Hash;
  readonly height: number;
  /** SHA-256 of each tx, in block order. */
  readonly txIds: readonly Hash[];
  /** Per tx: true when it succeeded (the negation of its result bit). */
  readonly ok: readonly boolean[];
}

/** A block the executor just committed (what the node needs: mempool removal, the block stream, logs). */
export interface CommittedSummary extends ExecutionResult {
  readonly block: Block;
  readonly qc: QuorumCert;
}

export interface ExecutorOptions {
  /** Bitmap codec backend for result bitmaps (identical bytes either way); default wasm. */
  readonly bitmapBackend?: "wasm" | "ts";
}

export interface ExecutorModules {
  readonly store: ChainStore;
  readonly app: Application;
  /** SHA-256 for tx ids; default: the WASM core. */
  readonly hasher?: Hasher;
}

/** The blocks of a commit batch executed within the commit: their writes and tx keys, accumulated. */
interface BatchRun {
  /** The block the run extends (null: the committed head). */
  readonly base: Speculative | null;
  /** Over `base`'s overlay: every write of the run so far, the latest per key. */
  readonly overlay: StateOverlay;
  /** bytesKey of every tx id the run delivered so far. */
  readonly txKeys: Set<string>;
}

/** An executed, uncommitted block. */
interface Speculative {
  readonly result: ExecutionResult;
  readonly block: Block;
  readonly key: string;
  readonly parentKey: string;
  readonly overlay: StateOverlay;
  readonly txIndex: readonly TxIndexEntry[];
  /** bytesKey of every tx id delivered in this block (duplicates excluded). */
  readonly txKeys: ReadonlySet<string>;
}

export class Executor {
  private readonly store: ChainStore;
  private readonly app: Application;
  private readonly hasher: Hasher;
  private readonly bitmapBackend: "wasm" | "ts";
  private readonly speculative = new Map<string, Speculative>();
  private committedHead: ChainHead | null;
  private cachedHeadOutcome: ExecutionOutcome | null = null;

  constructor(opts: ExecutorOptions, modules: ExecutorModules) {
    this.store = modules.store;
    this.app = modules.app;
    this.hasher = modules.hasher ?? defaultHasher();
    this.bitmapBackend = opts.bitmapBackend ?? "wasm";
    this.committedHead = this.store.head();
  }

  /** The committed head (from the store), or null before genesis. */
  head(): ChainHead | null {
    const h = this.committedHead;
    return h === null ? null : { height: h.height, hash: h.hash.slice() };
  }

  /** Number of executed uncommitted blocks held in memory. */
  get speculativeCount(): number {
    return this.speculative.size;
  }

  /**
   * Executes and commits the genesis block (height 0) on an empty store: its txs, if any, seed the state. Throws
   * `BAD_GENESIS` when the store already has a head or the block is not at height 0.
   */
  commitGenesis(genesis: CertifiedBlockInput): CommittedSummary {
    if (this.committedHead !== null) throw new ExecutionError("BAD_GENESIS", "the store already has a committed chain");
    if (genesis.block.header.height !== 0) throw new ExecutionError("BAD_GENESIS", `the genesis block has height ${genesis.block.header.height}`);
    const s = this.run(genesis.block, genesis.hash, null);
    this.persist([{ input: genesis, s }]);
    return { ...s.result, block: genesis.block, qc: genesis.qc };
  }

  /**
   * Executes `block` (speculatively, if it is not committed) and returns its outcome; cached, so a second call is
   * free. Executes uncommitted ancestors first when needed, loading them from the store's pending blocks. Throws
   * `UNKNOWN_PARENT` (an ancestor is nowhere), `NOT_EXTENDING_HEAD` (the block forks below the committed head),
   * `BAD_HEIGHT`, `NO_GENESIS`.
   */
  execute(block: Block, hash: Hash): ExecutionResult {
    const key = bytesKey(hash);
    const cached = this.speculative.get(key);
    if (cached !== undefined) return cached.result;
    const head = this.requireHead();
    if (block.header.height <= head.height) {
      const committed = this.committedResult(hash, block.header.height);
      if (committed !== undefined) return committed;
      throw new ExecutionError("NOT_EXTENDING_HEAD", `block ${toHex(hash)} at height ${block.header.height} is not on the committed chain (head ${head.height})`);
    }
    return this.executeChain(block, hash).result;
  }

  /**
   * The execution outcome of the block `parentHash` — what a block extending it must carry (proposer: put it in the
   * header; validator: compare). Executes the parent (and its uncommitted ancestors) if needed.
   */
  parentExecution(parentHash: Hash, ancestor?: AncestorLookup): ExecutionOutcome {
    const r = this.outcomeByHash(parentHash, ancestor);
    return { stateRoot: r.stateRoot, results: r.results };
  }

  /**
   * Checks that a received block carries its parent's execution outcome. Returns null when it does, the differing
   * field otherwise, "UNKNOWN_PARENT" when an ancestor is neither executed, committed nor stored (fetch it first), or
   * "PARENT_NOT_ON_CHAIN" when the block descends from a branch that forks below the committed head.
   */
  checkParentExecution(block: Block, ancestor?: AncestorLookup): "BAD_PARENT_STATE_ROOT" | "BAD_PARENT_RESULTS" | "UNKNOWN_PARENT" | "PARENT_NOT_ON_CHAIN" | null {
    let parent: ExecutionOutcome;
    try {
      parent = this.parentExecution(block.header.parent, ancestor);
    } catch (e) {
      if (e instanceof ExecutionError && e.code === "UNKNOWN_PARENT") return "UNKNOWN_PARENT";
      if (e instanceof ExecutionError && e.code === "NOT_EXTENDING_HEAD") return "PARENT_NOT_ON_CHAIN";
      throw e;
    }
    return checkParentOutcome(block, parent);
  }

  /**
   * Ids (as bytesKey strings) of the txs in the uncommitted blocks from `tipHash` back to the committed head: a
   * proposer extending `tipHash` leaves these out of its block. Empty when `tipHash` is the head.
   */
  txIdsInBranch(tipHash: Hash): Set<string> {
    const out = new Set<string>();
    const head = this.requireHead();
    if (bytesEqual(tipHash, head.hash)) return out;
    let s = this.speculative.get(bytesKey(tipHash));
    if (s === undefined) {
      this.outcomeByHash(tipHash);
      s = this.speculative.get(bytesKey(tipHash));
    }
    for (; s !== undefined; s = this.speculative.get(s.parentKey)) for (const k of s.txKeys) out.add(k);
    return out;
  }

  /**
   * Commits blocks in ascending height, each extending the previous and the first extending the committed head
   * (what the consensus `commit` effect lists). Executes those not executed yet, writes all of them in one store
   * transaction, then drops speculative blocks that no longer descend from the new head.
   *
   * With `verify` (a follower, which executes blocks it did not vote on), each block's header is checked against its
   * parent's outcome — the first against the committed head's — and the last block's outcome against `verify.above`
   * (the certified header above it, if known), all before anything is written: `EXECUTION_MISMATCH` stores nothing.
   */
  commit(blocks: readonly CertifiedBlockInput[], verify?: { readonly above: BlockHeader | undefined }): CommittedSummary[] {
    if (blocks.length === 0) return [];
    let head = this.requireHead();
    const batch: { input: CertifiedBlockInput; s: Speculative }[] = [];
    let run: BatchRun | null = null;
    for (const input of blocks) {
      if (!bytesEqual(input.block.header.parent, head.hash)) {
        throw new ExecutionError("NOT_EXTENDING_HEAD", `block ${toHex(input.hash)} does not extend ${toHex(head.hash)} (height ${head.height})`);
      }
      if (input.block.header.height !== head.height + 1) {
        throw new ExecutionError("BAD_HEIGHT", `block at height ${input.block.header.height} extends height ${head.height}`);
      }
      let s = this.speculative.get(bytesKey(input.hash));
      if (s === undefined) {
        // Blocks not executed yet (a catch-up batch: up to a few hundred) run on top of each other through one
        // accumulated overlay and tx-key set, so that a read or a replay check costs the same at the end of the batch
        // as at its start (a chain of per-block overlays made both linear in the batch's length). They are not
        // registered as speculative: nothing can extend them before they are committed, just below.
        if (run === null) {
          const base = batch.length === 0 ? null : batch[batch.length - 1]!.s;
          run = { base, overlay: new StateOverlay(base?.overlay ?? null, this.store), txKeys: new Set() };
        }
        s = this.run(input.block, input.hash, run.base, run);
      }
      batch.push({ input, s });
      head = { height: input.block.header.height, hash: input.hash };
    }
    if (verify !== undefined) {
      let parent: ExecutionOutcome = this.headOutcome(this.requireHead());
      const headers = [...blocks.map((b) => b.block.header), ...(verify.above !== undefined ? [verify.above] : [])];
      for (const [i, header] of headers.entries()) {
        const c = checkParentOutcome({ header, txs: [] }, parent);
        if (c !== null) {
          throw new ExecutionError("EXECUTION_MISMATCH", `${c}: block ${header.height} certifies parent state root ${toHex(header.parentStateRoot)}, executing block ${header.height - 1} gave ${toHex(parent.stateRoot)} (or other results)`);
        }
        const s = batch[i]?.s;
        if (s !== undefined) parent = s.result;
      }
    }
    this.persist(batch);
    return batch.map(({ input, s }) => ({ ...s.result, block: input.block, qc: input.qc }));
  }

  // ---------------------------------------------------------------------------------------------------------------

  private requireHead(): ChainHead {
    if (this.committedHead === null) throw new ExecutionError("NO_GENESIS", "no committed head: commit the genesis block first");
    return this.committedHead;
  }

  /**
   * Writes the batch in one store transaction and moves the executor's head. The state writes of a batch go in once,
   * the latest per key, with its last block: consecutive blocks rewrite the same state-tree pages (the upper ones in
   * every block), so a 128-block catch-up batch of 100-tx blocks puts about a third fewer records this way.
   */
  private persist(batch: readonly { input: CertifiedBlockInput; s: Speculative }[]): void {
    let writes: Iterable<StateWrite>;
    if (batch.length === 1) writes = batch[0]!.s.overlay.entries();
    else {
      const latest = new Map<string, { key: Uint8Array; value: Uint8Array | null }>();
      for (const { s } of batch) for (const [k, w] of s.overlay.writes) latest.set(k, w);
      writes = Array.from(latest.values(), (w): StateWrite => [w.key, w.value]);
    }
    const last = batch.length - 1;
    const commits: BlockCommit[] = batch.map(({ input, s }, i) => ({
      block: input.block,
      hash: input.hash,
      qc: input.qc,
      stateRoot: s.result.stateRoot,
      results: s.result.results,
      txIndex: s.txIndex,
      writes: i === last ? writes : [],
    }));
    this.store.commit(commits);
    const head = batch[last]!.input;
    this.committedHead = { height: head.block.header.height, hash: head.hash.slice() };
    const lastResult = batch[last]!.s.result;
    this.cachedHeadOutcome = { stateRoot: lastResult.stateRoot, results: lastResult.results };
    for (const { s } of batch) this.speculative.delete(s.key);
    this.prune(bytesKey(head.hash));
  }

  /** Keeps only speculative blocks descending from the head `headKey`; detaches the overlays of its children. */
  private prune(headKey: string): void {
    const byHeight = [...this.speculative.values()].sort((a, b) => a.block.header.height - b.block.header.height);
    const kept = new Set<string>([headKey]);
    for (const s of byHeight) {
      if (!kept.has(s.parentKey)) {
        this.speculative.delete(s.key);
        continue;
      }
      kept.add(s.key);
      // The parent's writes are in the store now.
      if (s.parentKey === headKey) s.overlay.parent = null;
    }
  }

  /** The outcome of any block known by hash: committed (from the store's height index) or executed / executable. */
  private outcomeByHash(hash: Hash, ancestor?: AncestorLookup): ExecutionOutcome {
    const s = this.speculative.get(bytesKey(hash));
    if (s !== undefined) return s.result;
    const head = this.requireHead();
    if (bytesEqual(hash, head.hash)) return this.headOutcome(head);
    const block = this.store.blockByHash(hash) ?? ancestor?.(hash);
    if (block === undefined) throw new ExecutionError("UNKNOWN_PARENT", `block ${toHex(hash)} is neither committed, executed nor stored`);
    if (block.header.height <= head.height) {
      const rec = this.store.committedAt(block.header.height);
      if (rec === undefined || !bytesEqual(rec.hash, hash)) {
        throw new ExecutionError("NOT_EXTENDING_HEAD", `block ${toHex(hash)} is below the committed head on another branch`);
      }
      return { stateRoot: rec.stateRoot, results: rec.results };
    }
    return this.executeChain(block, hash, ancestor).result;
  }

  /** The head's outcome, cached: every proposal extending the head asks for it. */
  private headOutcome(head: ChainHead): ExecutionOutcome {
    if (this.cachedHeadOutcome === null) {
      const rec = this.store.committedAt(head.height);
      if (rec === undefined) throw new ExecutionError("NO_GENESIS", `the store has no record for committed height ${head.height}`);
      this.cachedHeadOutcome = { stateRoot: rec.stateRoot, results: rec.results };
    }
    return this.cachedHeadOutcome;
  }

  /** The outcome of a committed block, from the store (tx ids and ok flags recomputed from the block and bitmap). */
  private committedResult(hash: Hash, height: number): ExecutionResult | undefined {
    const rec = this.store.committedAt(height);
    if (rec === undefined || !bytesEqual(rec.hash, hash)) return undefined;
    const ids = this.txIds(rec.block.txs);
    const ok = ids.map((id) => this.store.txLocation(id)).map((loc, i) => loc !== undefined && loc.height === height && loc.index === i && loc.ok);
    return { hash: rec.hash, height, stateRoot: rec.stateRoot, results: rec.results, txIds: ids, ok };
  }

  /** Executes `block` after its unexecuted uncommitted ancestors (loaded from the store), oldest first. */
  private executeChain(block: Block, hash: Hash, ancestor?: AncestorLookup): Speculative {
    const head = this.requireHead();
    const headKey = bytesKey(head.hash);
    const chain: { block: Block; hash: Hash }[] = [{ block, hash }];
    let parentKey = bytesKey(block.header.parent);
    while (parentKey !== headKey && !this.speculative.has(parentKey)) {
      const child = chain[chain.length - 1]!.block;
      const parentHash = child.header.parent;
      const parent = this.store.blockByHash(parentHash) ?? ancestor?.(parentHash);
      if (parent === undefined) throw new ExecutionError("UNKNOWN_PARENT", `block ${toHex(parentHash)} is neither committed, executed nor stored`);
      if (parent.header.height <= head.height) {
        throw new ExecutionError("NOT_EXTENDING_HEAD", `block ${toHex(hash)} descends from ${toHex(parentHash)}, which forks below the committed head`);
      }
      chain.push({ block: parent, hash: parentHash });
      parentKey = bytesKey(parent.header.parent);
    }
    let s: Speculative | undefined;
    for (let i = chain.length - 1; i >= 0; i--) {
      const c = chain[i]!;
      const parent = parentKey === headKey ? null : this.speculative.get(parentKey)!;
      const parentHeight = parent === null ? head.height : parent.block.header.height;
      if (c.block.header.height !== parentHeight + 1) {
        throw new ExecutionError("BAD_HEIGHT", `block ${toHex(c.hash)} at height ${c.block.header.height} extends height ${parentHeight}`);
      }
      s = this.run(c.block, c.hash, parent);
      this.speculative.set(s.key, s);
      parentKey = s.key;
    }
    return s!;
  }

  /**
   * Executes one block on top of `parent`'s overlay (null: the committed state). Does not register it. Within a
   * commit batch (`batch`), `parent` is the last block before the batch's unexecuted run, and the run's earlier
   * blocks are reached through `batch` instead; their writes and tx keys are added to it.
   */
  private run(block: Block, hash: Hash, parent: Speculative | null, batch?: BatchRun): Speculative {
    const txs = block.txs;
    const n = txs.length;
    const ids = this.txIds(txs);
    const failed = new Bitset(n);
    const ok: boolean[] = new Array<boolean>(n);
    const txIndex: TxIndexEntry[] = [];
    const txKeys = new Set<string>();
    const overlay = new StateOverlay(batch !== undefined ? batch.overlay : parent === null ? null : parent.overlay, this.store);
    this.app.beginBlock(overlay, { height: block.header.height, txCount: n, txs, header: block.header });
    for (let i = 0; i < n; i++) {
      const id = ids[i]!;
      const k = bytesKey(id);
      if (txKeys.has(k) || batch?.txKeys.has(k) === true || this.inBranch(k, parent) || this.store.txLocation(id) !== undefined) {
        ok[i] = false;
        failed.set(i);
        continue;
      }
      txKeys.add(k);
      const r = this.app.deliver(txs[i]!, i);
      ok[i] = r.ok;
      if (!r.ok) failed.set(i);
      txIndex.push({ id, index: i, ok: r.ok });
    }
    const stateRoot = this.app.commit();
    if (batch !== undefined) {
      for (const [k, w] of overlay.writes) batch.overlay.writes.set(k, w);
      for (const k of txKeys) batch.txKeys.add(k);
    }
    const results = encodeBitmap(failed, { backend: this.bitmapBackend });
    return {
      result: { hash: hash.slice(), height: block.header.height, stateRoot, results, txIds: ids, ok },
      block,
      key: bytesKey(hash),
      parentKey: bytesKey(block.header.parent),
      overlay,
      txIndex,
      txKeys,
    };
  }

  private inBranch(k: string, from: Speculative | null): boolean {
    for (let s = from; s !== null; s = this.speculative.get(s.parentKey) ?? null) if (s.txKeys.has(k)) return true;
    return false;
  }

  private txIds(txs: readonly Uint8Array[]): Hash[] {
    if (txs.length === 0) return [];
    const packed = this.hasher.digestMany(txs);
    const out: Hash[] = [];
    for (let i = 0; i < txs.length; i++) out.push(packed.subarray(i * DIGEST_LENGTH, (i + 1) * DIGEST_LENGTH));
    return out;
  }
}

/**
 * The consensus core's execution check over an executor: a proposed block must carry its parent's outcome. An
 * ancestor that cannot be found or executed (`ExecutionError`) makes the block unavailable — not voted for, the
 * sender not blamed (the core counts it as EXECUTION_UNAVAILABLE). Any other exception is a bug and propagates.
 */
export function executionCheck(executor: Executor): ExecutionCheck {
  return {
    check(block, ancestor) {
      let c: ReturnType<Executor["checkParentExecution"]>;
      try {
        c = executor.checkParentExecution(block, ancestor);
      } catch (e) {
        if (!(e instanceof ExecutionError)) throw e;
        return "UNAVAILABLE";
      }
      if (c === null) return "ok";
      if (c === "UNKNOWN_PARENT" || c === "PARENT_NOT_ON_CHAIN") return "UNAVAILABLE";
      return c;
    },
  };
}
