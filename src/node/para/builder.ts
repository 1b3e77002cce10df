/**
 * The para block builder: turns each committed main block `H ≥ startHeight`, in order, into at most one para block
 * (paracross README, "Para blocks"), executes and commits it with the ordinary `Executor`, and makes the commit message
 * this node signs for it.
 *
 * Nothing is kept beside the chain store. Everything a commit message says is in the committed para block's record
 * (hash, post-state root, result bitmap, the packed txs for the cross-tx bitmap, and `view` = the main height), which
 * the store writes atomically with the block; so a commit is re-made (and re-signed: BLS signing is deterministic) from
 * the store whenever the sender needs it, and a crash can never leave a block without its commit or a commit without
 * its block. The last processed main height is likewise the head's `view`: with an empty-block interval k > 1 up to
 * k − 1 main blocks after it made no para block and are processed again after a restart, which is deterministic and
 * makes nothing.
 */
import { decodeBitmap, encodeBitmapIndices } from "../../crypto/bitmap/index.js";
import type { Hasher } from "../../crypto/hasher.js";
import { defaultHasher } from "../../crypto/hash/backends.js";
import { buildBlock } from "../../chain/blocks.js";
import type { Executor } from "../../chain/executor.js";
import type { ChainStore } from "../../chain/store/interface.js";
import { commitSigningBytes, encodeCommitMessage } from "../../chain/app/paracross/format.js";
import { crossIndices, packParaTxs } from "../../chain/app/paracross/packing.js";
import type { BlockHasher } from "../../consensus/blockHash.js";
import { blockHasher } from "../../consensus/blockHash.js";
import type { QuorumCert } from "../../domain/types.js";
import { ParaNodeError } from "./errors.js";
import type { MainBlock } from "./mainChain.js";

export interface ParaBuilderOptions {
  readonly title: string;
  /** The first main height the para chain takes blocks from (para genesis `startHeight`). */
  readonly startHeight: number;
  /** Make a para block every k main blocks even when nothing was packed (block policy `emptyBlockInterval`). */
  readonly emptyBlockInterval: number;
}

export interface ParaBuilderModules {
  readonly store: ChainStore;
  readonly executor: Executor;
  /** BLS-signs `commitSigningBytes(message)` with this node's key; returns the 96-byte compressed signature. */
  readonly sign: (signingBytes: Uint8Array) => Uint8Array;
  readonly hasher?: Hasher;
  readonly blockHasher?: BlockHasher;
}

/** A signed commit message for one para height: what the sender puts into a 0x20 commit tx. */
export interface OwnCommit {
  readonly height: number;
  readonly mainHeight: number;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

/** An empty signer bitmap (0 bits): the anchor QC's `signers`. */
const NO_SIGNERS = encodeBitmapIndices(0, new Uint32Array(0));
const ZERO_SIGNATURE = new Uint8Array(96);
/** Signed commits kept for resends: a sending queue (20) plus what a resend may need again. */
const COMMIT_CACHE = 64;

export class ParaBuilder {
  private readonly opts: ParaBuilderOptions;
  private readonly store: ChainStore;
  private readonly executor: Executor;
  private readonly sign: (b: Uint8Array) => Uint8Array;
  private readonly hasher: Hasher;
  private readonly hashBlock: BlockHasher;
  private last: number;
  private readonly cache = new Map<number, OwnCommit>();

  constructor(opts: ParaBuilderOptions, modules: ParaBuilderModules) {
    if (!Number.isSafeInteger(opts.emptyBlockInterval) || opts.emptyBlockInterval < 1) throw new ParaNodeError("BAD_OPTION", "emptyBlockInterval must be an integer ≥ 1");
    this.opts = opts;
    this.store = modules.store;
    this.executor = modules.executor;
    this.sign = modules.sign;
    this.hasher = modules.hasher ?? defaultHasher();
    this.hashBlock = modules.blockHasher ?? blockHasher();
    const head = this.store.head();
    if (head === null) throw new ParaNodeError("BAD_OPTION", "the para store has no genesis: commit the para genesis block first");
    this.last = head.height === 0 ? opts.startHeight - 1 : this.store.committedAt(head.height)!.block.header.view;
  }

  /** The last main height processed (startHeight − 1 before the first). */
  get lastMainHeight(): number {
    return this.last;
  }

  /** The para head height. */
  get paraHeight(): number {
    return this.store.head()?.height ?? 0;
  }

  /**
   * Processes main block `main` (must be `lastMainHeight + 1`; an already processed height is ignored). Returns the
   * para height made, or null when this main block makes none. Throws `ParaNodeError` BAD_MAIN_BLOCK on a gap.
   */
  apply(main: MainBlock): number | null {
    const H = main.height;
    if (H <= this.last) return null;
    if (H !== this.last + 1) throw new ParaNodeError("BAD_MAIN_BLOCK", `main block ${H} given after ${this.last}: main blocks are processed in order`);
    // The main block's own result bitmap decides which txs succeeded (a para leg of a failed group is not packed).
    const failed = decodeBitmap(main.results, { length: main.txs.length });
    const packed = packParaTxs(this.opts.title, main.txs, (i) => !failed.get(i));
    if (packed.length === 0 && (H - this.opts.startHeight) % this.opts.emptyBlockInterval !== 0) {
      this.last = H;
      return null;
    }
    const head = this.store.head()!;
    const block = buildBlock(
      { parentHash: head.hash, parentHeight: head.height, view: H, proposer: 0, timestampMs: main.timestampMs, txs: packed, parentExecution: this.executor.parentExecution(head.hash) },
      this.hasher,
    );
    const hash = this.hashBlock(block.header);
    // An anchor, not a certificate: a para chain has no votes; its block's certificate is the done commit on the main
    // chain. The store's QC slot records the main height it was made from and the block's hash, with no signers.
    const anchor: QuorumCert = { view: H, blockHash: hash, signers: NO_SIGNERS, aggregateSignature: ZERO_SIGNATURE };
    this.executor.commit([{ block, hash, qc: anchor }]);
    // Only once the block is stored: a commit that throws (a full disk) leaves H to be processed again, not skipped
    // (review finding, Dec 3: setting it first made the retry start at H + 1 and this node's chain diverge).
    this.last = H;
    return block.header.height;
  }

  /** This node's signed commit for para height `p` (1..head), made from the store; undefined above the head. */
  commit(p: number): OwnCommit | undefined {
    const cached = this.cache.get(p);
    if (cached !== undefined) return cached;
    if (p < 1) return undefined;
    const rec = this.store.committedAt(p);
    if (rec === undefined) return undefined;
    const txs = rec.block.txs;
    const cross = encodeBitmapIndices(txs.length, Uint32Array.from(crossIndices(txs)));
    const message = encodeCommitMessage({
      title: this.opts.title,
      height: p,
      mainHeight: rec.block.header.view,
      blockHash: rec.hash,
      stateRoot: rec.stateRoot,
      results: rec.results,
      crossTxs: cross,
    });
    const c: OwnCommit = { height: p, mainHeight: rec.block.header.view, message, signature: this.sign(commitSigningBytes(message, this.hasher)) };
    if (this.cache.size >= COMMIT_CACHE) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(p, c);
    return c;
  }
}
