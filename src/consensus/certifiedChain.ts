/**
 * Following a certified chain without voting (a follower node, src/node/follow/): what a node that knows only the
 * genesis (chain id, validator keys) checks before it applies a block some upstream served it. The upstream is not
 * trusted — neither for the bytes nor for the claim that a block is committed.
 *
 * Per block, in height order from the follower's tip (no signature needed):
 *   - the header hashes to the hash the upstream reports (`WRONG_HASH`);
 *   - it extends the tip: height = tip + 1 and parent = the tip's hash (`BAD_LINK`);
 *   - it carries a QC (`MISSING_QC`) that certifies exactly that header — its hash and its view (`QC_MISMATCH`);
 *   - its transactions hash to the header's txRoot (`BAD_TX_ROOT`);
 * then every QC of the offer in one batch (`verifyQcs`, the `SchemeCertificates` of the node, `quire audit` and
 * commit proofs): signer set ≥ quorum of the genesis validators, aggregate signature valid (`BAD_QC`).
 * Any failure refuses the whole offer: nothing of it is kept.
 *
 * On a chain that changes its validator set by epoch (chain/app/validators/README.md) the set depends on the height:
 * `certificatesFor(height, below)` gives it (node/epochSets.ts `EpochVerifiers`), where `below` are the verified,
 * uncommitted blocks under that height in this run (a change committed in block h starts its epoch at h + 2, so h may
 * still be pending). The QCs are then verified in one batch per set. Each block's OWN QC is checked, never its
 * justify: the first block F of an epoch extends the last block E of the one before through a signer-less root QC,
 * and is itself certified by the new set. The release rule is unchanged across the boundary: a pair (E, F) with
 * consecutive views proves E committed, since F's set exists only once E is committed.
 *
 * Commitment (the core's two-chain rule, consensus/core.ts): a verified block is only certified. Block k is committed
 * once its child k + 1, linked to it, is certified in view(k) + 1; committing k commits every ancestor. So verified
 * blocks wait in `pending` and are released — handed to the caller to execute and store — up to the highest k for
 * which a pair (k, k + 1) with consecutive views has been verified. Headers k+1.. stay pending until a later pair
 * arrives. This is the commit proof of consensus/commitProof.ts walked incrementally: the pending run h..k+1 with the
 * QCs of k and k+1 is exactly the proof `verifyCommitProof` accepts for h, with every intermediate QC verified too
 * (the follower serves them). Upstreams serve only committed blocks, so their highest block waits for the next one:
 * a follower trails its upstream by one block at least (src/node/follow/README.md).
 *
 * Pending blocks are certified, not committed: a Byzantine upstream can serve a certified block that the chain then
 * orphaned (a timeout certificate whose high QC is lower). So an offer may start below the tip — right above the
 * committed head or above a pending block — and, once verified, replaces the pending blocks above its link point.
 * Safety is the two-chain rule's: a consecutive-view pair exists only on the committed branch, so discarding a
 * pending block never discards a committed one. The caller refetches from `committedHead + 1` when an offer from the
 * tip does not link (chainFollower.ts).
 */
import type { Block, BlockHeader, Hash, QuorumCert } from "../domain/types.js";
import { bytesEqual, toHex } from "../util/bytes.js";
import type { BlockHasher } from "./blockHash.js";
import type { CertCheck } from "./validation/verifier.js";

export type CertifiedChainCode =
  /** The header does not hash to the hash the source reported. */
  | "WRONG_HASH"
  /** Not the next height above the tip, or its parent is not the tip's hash. */
  | "BAD_LINK"
  /** A block above genesis without a QC. */
  | "MISSING_QC"
  /** The QC names another block hash or view than the header's. */
  | "QC_MISMATCH"
  /** The transactions' RFC 6962 root is not the header's txRoot. */
  | "BAD_TX_ROOT"
  /** The QC does not verify against the genesis validators (below quorum, bad aggregate, bad signer set). */
  | "BAD_QC"
  /** More verified blocks wait for commit evidence than the follower keeps: a run of timeouts longer than the bound. */
  | "TOO_MANY_PENDING";

/** A block as an upstream serves it: header and transactions, the hash it claims, the QC it stores for it. */
export interface ServedBlock {
  readonly block: Block;
  readonly hash: Hash;
  readonly qc: QuorumCert | null;
}

/** A block that passed every check, with its own hash and QC: what the executor commits. */
export interface CertifiedBlock {
  readonly block: Block;
  readonly hash: Hash;
  readonly qc: QuorumCert;
}

/** What verifies QCs of one validator set, in batches (`SchemeCertificates`). */
export interface QcVerifier {
  verifyQcs(qcs: readonly QuorumCert[]): CertCheck[];
}

export interface CertifiedChainContext {
  readonly hashBlock: BlockHasher;
  /** The genesis set's: every height's, unless `certificatesFor` is given. */
  readonly certificates: QcVerifier;
  /**
   * The verifier of the set that certifies `height`, given the verified uncommitted blocks `below` it (ascending; they
   * may carry changes). Absent on a chain whose set never changes: then every QC goes to `certificates`, one batch.
   */
  readonly certificatesFor?: (height: number, below: readonly Block[]) => QcVerifier;
  /** RFC 6962 root of a block's transactions (crypto/merkle.ts), as validation computes it. */
  readonly txRoot: (txs: readonly Uint8Array[]) => Hash;
}

export interface ChainTip {
  readonly height: number;
  readonly hash: Hash;
}

export type OfferResult =
  /** `committed`: the blocks now proven committed, in height order (possibly none); `pending`: verified, waiting. */
  | { readonly ok: true; readonly committed: readonly CertifiedBlock[]; readonly pending: number }
  | { readonly ok: false; readonly code: CertifiedChainCode; readonly height: number; readonly reason: string };

/**
 * Verified blocks waiting for commit evidence, at most this many. A pair with consecutive views comes with the first
 * view that did not time out, so a healthy chain keeps one or two here; 1,024 is minutes of back-to-back timeouts.
 */
export const DEFAULT_MAX_PENDING = 1_024;

/** The follower's view of a certified chain: its committed head, and the verified blocks above it (see the header). */
export class CertifiedChain {
  private head: ChainTip;
  private readonly pendingBlocks: CertifiedBlock[] = [];
  private readonly maxPending: number;

  constructor(
    private readonly ctx: CertifiedChainContext,
    committedHead: ChainTip,
    opts: { readonly maxPending?: number } = {},
  ) {
    this.head = committedHead;
    this.maxPending = opts.maxPending ?? DEFAULT_MAX_PENDING;
  }

  /** The highest block released as committed (the store's head once the caller applied it). */
  get committedHead(): ChainTip {
    return this.head;
  }

  /** The highest verified block: the next offer starts right above it. */
  get tip(): ChainTip {
    const last = this.pendingBlocks[this.pendingBlocks.length - 1];
    return last === undefined ? this.head : { height: last.block.header.height, hash: last.hash };
  }

  /** Verified blocks waiting for commit evidence, ascending. */
  get pending(): readonly CertifiedBlock[] {
    return this.pendingBlocks;
  }

  /**
   * Checks `blocks` (consecutive); on success keeps them and releases what is now committed. The offer extends the
   * verified tip, or — pending blocks are only certified and may be orphaned — the committed head or a pending block
   * below the tip: then the pending blocks above that point are replaced by the offer once it passed every check (see
   * the header: a certified block another branch left behind must not block the chain).
   */
  offer(blocks: readonly ServedBlock[]): OfferResult {
    const checked: CertifiedBlock[] = [];
    const keep = this.linkPoint(blocks[0]?.block.header);
    let prev = keep === 0 ? this.head : this.blockTip(this.pendingBlocks[keep - 1]!);
    for (const b of blocks) {
      const h = b.block.header;
      const hash = this.ctx.hashBlock(h);
      if (!bytesEqual(hash, b.hash)) return refuse("WRONG_HASH", h.height, `reported hash ${toHex(b.hash)}, the header hashes to ${toHex(hash)}`);
      if (h.height !== prev.height + 1 || !bytesEqual(h.parent, prev.hash)) return refuse("BAD_LINK", h.height, `header ${h.height} (parent ${toHex(h.parent)}) does not extend ${prev.height} (${toHex(prev.hash)})`);
      if (b.qc === null) return refuse("MISSING_QC", h.height, "no certificate");
      if (b.qc.view !== h.view || !bytesEqual(b.qc.blockHash, hash)) return refuse("QC_MISMATCH", h.height, `the QC certifies ${toHex(b.qc.blockHash)} in view ${b.qc.view}, the block is ${toHex(hash)} in view ${h.view}`);
      if (!bytesEqual(this.ctx.txRoot(b.block.txs), h.txRoot)) return refuse("BAD_TX_ROOT", h.height, `the ${b.block.txs.length} transactions do not hash to the header's txRoot`);
      checked.push({ block: b.block, hash, qc: b.qc });
      prev = { height: h.height, hash };
    }
    const verdicts = this.verifyQcs(checked, keep);
    const bad = verdicts.findIndex((v) => v !== "ok");
    if (bad >= 0) return refuse("BAD_QC", checked[bad]!.block.header.height, `certificate refused: ${verdicts[bad]}`);

    const all = [...this.pendingBlocks.slice(0, keep), ...checked];
    // The highest pair (k, k + 1) with consecutive views: k and everything below it is committed.
    let commitTo = -1;
    for (let i = all.length - 1; i >= 1; i--) {
      if (all[i]!.block.header.view === all[i - 1]!.block.header.view + 1) {
        commitTo = i - 1;
        break;
      }
    }
    const committed = all.slice(0, commitTo + 1);
    const waiting = all.length - committed.length;
    if (waiting > this.maxPending) return refuse("TOO_MANY_PENDING", all[all.length - 1]!.block.header.height, `${waiting} verified blocks without commit evidence (at most ${this.maxPending} are kept)`);
    this.pendingBlocks.length = 0;
    this.pendingBlocks.push(...all.slice(commitTo + 1));
    const last = committed[committed.length - 1];
    if (last !== undefined) this.head = { height: last.block.header.height, hash: last.hash };
    return { ok: true, committed, pending: this.pendingBlocks.length };
  }

  /**
   * Whether a header alone (no link to the tip, no transactions) is certified: it hashes to `hash` and carries a QC
   * for it that verifies against the genesis validators (with `certificatesFor`: the set of its height as the verified
   * blocks know it; a header of an epoch not known yet does not verify, and the tip stays the target). What a follower
   * needs to believe an upstream's announced head: a quorum certified a block at that height (health's catch-up
   * target; src/node/follow/README.md).
   */
  certifiesHeader(header: BlockHeader, hash: Hash, qc: QuorumCert | null): boolean {
    if (qc === null || qc.view !== header.view || !bytesEqual(qc.blockHash, hash)) return false;
    if (!bytesEqual(this.ctx.hashBlock(header), hash)) return false;
    const certificates = this.ctx.certificatesFor?.(header.height, this.pendingBlocks.map((p) => p.block)) ?? this.ctx.certificates;
    return certificates.verifyQcs([qc])[0] === "ok";
  }

  /**
   * The verdicts of the QCs of `checked` (which extend the first `keep` pending blocks), in order: one batch, or with
   * `certificatesFor` one batch per set (the blocks below each are the kept pending ones and the offer's before it).
   */
  private verifyQcs(checked: readonly CertifiedBlock[], keep: number): CertCheck[] {
    const forHeight = this.ctx.certificatesFor;
    if (forHeight === undefined) return this.ctx.certificates.verifyQcs(checked.map((c) => c.qc));
    const below = this.pendingBlocks.slice(0, keep).map((p) => p.block);
    const batches = new Map<QcVerifier, number[]>();
    checked.forEach((c, i) => {
      const v = forHeight(c.block.header.height, below.slice());
      below.push(c.block);
      const batch = batches.get(v);
      if (batch === undefined) batches.set(v, [i]);
      else batch.push(i);
    });
    const verdicts = new Array<CertCheck>(checked.length);
    for (const [v, indices] of batches) {
      const out = v.verifyQcs(indices.map((i) => checked[i]!.qc));
      indices.forEach((i, j) => (verdicts[i] = out[j]!));
    }
    return verdicts;
  }

  /**
   * How many pending blocks an offer starting with `first` keeps below it: all of them when it extends the tip (or
   * links nowhere: the link check then refuses it against the tip), j + 1 when its parent is pending[j], 0 when it is
   * the committed head.
   */
  private linkPoint(first: BlockHeader | undefined): number {
    const n = this.pendingBlocks.length;
    if (first === undefined || n === 0) return n;
    const links = (t: ChainTip) => first.height === t.height + 1 && bytesEqual(first.parent, t.hash);
    if (links(this.tip)) return n;
    if (links(this.head)) return 0;
    for (let j = n - 2; j >= 0; j--) if (links(this.blockTip(this.pendingBlocks[j]!))) return j + 1;
    return n;
  }

  private blockTip(b: CertifiedBlock): ChainTip {
    return { height: b.block.header.height, hash: b.hash };
  }
}

function refuse(code: CertifiedChainCode, height: number, reason: string): OfferResult {
  return { ok: false, code, height, reason };
}
