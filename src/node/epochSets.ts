/**
 * The validator sets of a chain that changes them by epoch (issue 16), as `quire audit` (cli/auditor.ts) derives them
 * for one node and a follower (node/follow/) for the blocks it verifies: a standalone replay of the validators module
 * (module 0x40), fed the change blocks' top-level change txs.
 *
 * Why a replay is enough: a change is never a leg of another tx (`nestable = false`), so a block's top-level 0x40 txs
 * are the only ones that touch the module's state, and the module reads nothing but its own namespace, the block
 * height and its per-block counter. A `ModularApplication` holding the validators module alone, given those txs at
 * their heights in order, therefore reaches the node's own epochs and registry — whatever else the chain runs.
 *
 * Which heights to replay comes from the node's `GET /v1/epochs` (a hint, untrusted: the auditor checks each body
 * against its certified header's txRoot before it gets here, and a hint that omits or invents a change only makes
 * that node's QCs fail at the boundary — the replay decides the sets, never the hint). A follower feeds it the change
 * blocks it commits, and verifies blocks above them with a copy advanced over the verified, uncommitted blocks below
 * (`EpochVerifiers`): a change starts its epoch two blocks after its own, so the set of a height can depend on blocks
 * that are only certified yet — and a copy makes an orphaned one cost nothing.
 *
 * **Committees** (genesis `consensus.committee`): the module also schedules epochs itself from the reputation it
 * reads in every header, so a committee chain's replay is fed every block, in order, with its header
 * (`everyBlock`); the module, not a second implementation, decides each rotation exactly as the node did.
 */
import { buildApplication } from "../chain/app/build.js";
import { MapState } from "../chain/app/mapState.js";
import { decodeBitmapIndices } from "../crypto/bitmap/index.js";
import { VALSET_TX_TAG } from "../chain/app/validators/format.js";
import type { Epoch, ValidatorsModule } from "../chain/app/validators/module.js";
import type { ModularApplication } from "../chain/app/modular.js";
import type { QcVerifier } from "../consensus/certifiedChain.js";
import { epochDomain } from "../consensus/signing.js";
import type { BlsBackend } from "../crypto/bls/backend.js";
import type { Block, BlockHeader } from "../domain/types.js";
import { toHex } from "../util/bytes.js";
import { setCertificates } from "./genesis.js";
import type { Genesis } from "./genesis.js";

export type { QcVerifier };

/** Whether a block's txs hold a top-level validator-set change (the only txs that move the replay). */
export function carriesChange(txs: readonly Uint8Array[]): boolean {
  return txs.some((tx) => tx[0] === VALSET_TX_TAG);
}

/** The set that certifies one height, as a replay sees it. */
export interface EpochSetAt {
  readonly epoch: number;
  /** Equal for equal sets (epoch, domain and keys): certificates of nodes whose replays agree are checked together. */
  readonly key: string;
  readonly certificates: QcVerifier;
}

/**
 * The certificates of every distinct set the audit meets, shared by the replays of all its nodes (one `BlsScheme`,
 * with its key cache, per set).
 */
export class EpochSets {
  private readonly byKey = new Map<string, QcVerifier>();

  constructor(
    readonly genesis: Genesis,
    private readonly backend: BlsBackend,
  ) {}

  /** The set of `epoch` with `publicKeys` by position. */
  of(epoch: number, publicKeys: readonly Uint8Array[]): EpochSetAt {
    const key = `${epoch}/${publicKeys.map(toHex).join(",")}`;
    let certificates = this.byKey.get(key);
    if (certificates === undefined) {
      certificates = setCertificates(epochDomain(this.genesis.chainIdBytes, epoch), publicKeys, this.backend);
      this.byKey.set(key, certificates);
    }
    return { epoch, key, certificates };
  }

  /** A fresh replay from genesis (one per audited node). */
  replay(): EpochReplay {
    return new EpochReplay(this, this.backend);
  }

  /**
   * A replay caught up with a committed chain whose own state lists `epochs` (a follower's store at start): each epoch
   * ≥ 1 was scheduled by a change in block startHeight − 2, whose txs `txsAt` reads.
   */
  replayCommitted(
    epochs: readonly { readonly startHeight: number }[],
    head: number,
    blockAt: (height: number) => { readonly header: BlockHeader; readonly txs: readonly Uint8Array[]; readonly results: Uint8Array },
  ): EpochReplay {
    const replay = this.replay();
    // A committee chain: every committed block (its header moves the scores); otherwise the change blocks alone.
    const heights = replay.everyBlock ? Array.from({ length: head }, (_, i) => i + 1) : new Set(epochs.slice(1).map((e) => e.startHeight - 2));
    for (const h of heights) {
      const b = blockAt(h);
      replay.apply(h, b.txs, b.results, b.header);
    }
    return replay;
  }
}

/** One node's epochs, from genesis through the change blocks replayed so far (in height order). */
export class EpochReplay {
  private readonly app: ModularApplication;
  private readonly validators: ValidatorsModule;
  /** The replayed epochs (committed state), and each one's set once asked for: reread after each `apply`. */
  private epochs: readonly Epoch[];
  private readonly setOf = new Map<number, EpochSetAt>();
  /** A committee chain: every block moves the replay (`apply` each height in turn, with its header). */
  readonly everyBlock: boolean;

  constructor(
    private readonly sets: EpochSets,
    private readonly backend: BlsBackend,
    private readonly state = new MapState(),
    private lastHeight = 0,
  ) {
    const g = sets.genesis;
    const committee = g.consensus.committee;
    const built = buildApplication(
      { bucketBits: g.app.bucketBits, modules: ["validators"], chainId: g.chainIdBytes, validators: g.validators.map((v) => v.publicKey), ...(committee !== undefined ? { committee } : {}) },
      { committed: this.state, bls: backend },
    );
    this.everyBlock = committee !== undefined;
    this.app = built.app;
    this.validators = built.validators!;
    this.epochs = this.validators.epochs();
  }

  /**
   * Executes the top-level change txs of block `height` that succeeded on the chain (its other txs touch nothing the
   * module reads). `results` is the block's certified result bitmap (bit i set: tx i failed; the next header's
   * `parentResults`, or the store's record): the executor skips a duplicate tx without delivering it, and a failed
   * change still counts against the module's per-block check budget, so delivering every change would drift from the
   * chain (review finding: `[F, F, G]` with F forged made the replay refuse the genuine G). Delivering only the
   * successful ones reaches the same state, and the module still checks each of them: a bitmap that lies cannot forge
   * a set. Heights must ascend.
   */
  apply(height: number, txs: readonly Uint8Array[], results: Uint8Array, header?: BlockHeader): void {
    if (height <= this.lastHeight) throw new RangeError(`replay heights must ascend: ${height} after ${this.lastHeight}`);
    if (this.everyBlock && (height !== this.lastHeight + 1 || header === undefined)) throw new RangeError(`a committee chain's replay takes every block with its header: ${height} after ${this.lastHeight}`);
    this.lastHeight = height;
    let failed: ReadonlySet<number>;
    try {
      failed = new Set(decodeBitmapIndices(results, { maxBits: txs.length }));
    } catch {
      // A bitmap that does not decode (it is certified, so only a dishonest quorum could make one): nothing succeeded
      // as far as the replay knows; if that is wrong, the next epoch's QCs fail to verify and the chain is refused.
      failed = new Set(txs.map((_, i) => i));
    }
    const changes = txs.filter((tx, i) => tx[0] === VALSET_TX_TAG && !failed.has(i));
    this.app.beginBlock(this.state, { height, txCount: changes.length, txs: changes, ...(header !== undefined ? { header } : {}) });
    changes.forEach((tx, i) => this.app.deliver(tx, i));
    this.app.commit();
    this.epochs = this.validators.epochs();
    this.setOf.clear();
  }

  /** An independent replay at the same point (its state copied): advancing it leaves this one as it is. */
  clone(): EpochReplay {
    return new EpochReplay(this.sets, this.backend, this.state.clone(), this.lastHeight);
  }

  /** The set that certifies block `height` (≥ 1), per the changes replayed so far. */
  at(height: number): EpochSetAt {
    let k = this.epochs.length - 1;
    while (k > 0 && this.epochs[k]!.startHeight > height) k--;
    let set = this.setOf.get(k);
    if (set === undefined) {
      const e = this.epochs[k]!;
      const registry = this.validators.registry();
      set = this.sets.of(e.epoch, e.members.map((i) => registry[i]!.publicKey));
      this.setOf.set(k, set);
    }
    return set;
  }
}

/**
 * A follower's certificates by height (`CertifiedChainContext.certificatesFor`): one replay kept at the committed head
 * (`committed` with each block the follower commits), and for a height above certified, uncommitted blocks that carry
 * changes, a throw-away copy advanced over them (kept while the same blocks are asked about).
 */
export class EpochVerifiers {
  private last: { readonly changes: readonly Block[]; readonly replay: EpochReplay } | null = null;

  constructor(private readonly replay: EpochReplay) {}

  /** A block committed (heights ascending) with its result bitmap: its successful changes (and, with committees, its header) move the committed replay. */
  committed(header: BlockHeader, txs: readonly Uint8Array[], results: Uint8Array): void {
    if (!this.replay.everyBlock && !carriesChange(txs)) return;
    this.replay.apply(header.height, txs, results, header);
    this.last = null;
  }

  /** The QC verifier of the set that certifies `height`, given the verified uncommitted blocks `below` it (ascending). */
  certificatesFor(height: number, below: readonly Block[]): QcVerifier {
    // A change block's results are certified by the next header; without one below `height`, its changes start at
    // height + 1 or later and cannot bear on it. So only blocks with their next one below count (and key the cache).
    const applied: { readonly block: Block; readonly results: Uint8Array }[] = [];
    for (const b of below) {
      if (!this.replay.everyBlock && !carriesChange(b.txs)) continue;
      const next = below.find((x) => x.header.height === b.header.height + 1);
      if (next !== undefined) applied.push({ block: b, results: next.header.parentResults });
    }
    if (applied.length === 0) return this.replay.at(height).certificates;
    const changes = applied.map((a) => a.block);
    const last = this.last;
    if (last !== null && last.changes.length === changes.length && last.changes.every((b, i) => b === changes[i])) return last.replay.at(height).certificates;
    const copy = this.replay.clone();
    for (const a of applied) copy.apply(a.block.header.height, a.block.txs, a.results, a.block.header);
    this.last = { changes, replay: copy };
    return copy.at(height).certificates;
  }

}
