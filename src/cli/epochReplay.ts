/**
 * The validator sets of a chain that changes them by epoch (issue 16), as `quire audit` derives them for one node: a
 * standalone replay of the validators module (module 0x40), fed the change blocks' top-level change txs.
 *
 * Why a replay is enough: a change is never a leg of another tx (`nestable = false`), so a block's top-level 0x40 txs
 * are the only ones that touch the module's state, and the module reads nothing but its own namespace, the block
 * height and its per-block counter. A `ModularApplication` holding the validators module alone, given those txs at
 * their heights in order, therefore reaches the node's own epochs and registry — whatever else the chain runs.
 *
 * Which heights to replay comes from the node's `GET /v1/epochs` (a hint, untrusted: the auditor checks each body
 * against its certified header's txRoot before it gets here, and a hint that omits or invents a change only makes
 * that node's QCs fail at the boundary — the replay decides the sets, never the hint).
 */
import { buildApplication } from "../chain/app/build.js";
import { MapState } from "../chain/app/mapState.js";
import { VALSET_TX_TAG } from "../chain/app/validators/format.js";
import type { Epoch, ValidatorsModule } from "../chain/app/validators/module.js";
import type { ModularApplication } from "../chain/app/modular.js";
import { epochDomain } from "../consensus/signing.js";
import type { CertCheck } from "../consensus/validation/verifier.js";
import type { BlsBackend } from "../crypto/bls/backend.js";
import type { QuorumCert } from "../domain/types.js";
import { setCertificates } from "../node/genesis.js";
import type { Genesis } from "../node/genesis.js";
import { toHex } from "../util/bytes.js";

/** What verifies QCs of one validator set, in batches (`SchemeCertificates`). */
export interface QcVerifier {
  verifyQcs(qcs: readonly QuorumCert[]): CertCheck[];
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
}

/** One node's epochs, from genesis through the change blocks replayed so far (in height order). */
export class EpochReplay {
  private readonly state = new MapState();
  private readonly app: ModularApplication;
  private readonly validators: ValidatorsModule;
  private lastHeight = 0;
  /** The replayed epochs (committed state), and each one's set once asked for: reread after each `apply`. */
  private epochs: readonly Epoch[];
  private readonly setOf = new Map<number, EpochSetAt>();

  constructor(
    private readonly sets: EpochSets,
    backend: BlsBackend,
  ) {
    const g = sets.genesis;
    const built = buildApplication({ bucketBits: g.app.bucketBits, modules: ["validators"], chainId: g.chainIdBytes, validators: g.validators.map((v) => v.publicKey) }, { committed: this.state, bls: backend });
    this.app = built.app;
    this.validators = built.validators!;
    this.epochs = this.validators.epochs();
  }

  /**
   * Executes the top-level change txs of block `height` (its other txs touch nothing the module reads). Heights must
   * ascend; a tx the module refuses changes nothing, as on the node.
   */
  apply(height: number, txs: readonly Uint8Array[]): void {
    if (height <= this.lastHeight) throw new RangeError(`replay heights must ascend: ${height} after ${this.lastHeight}`);
    this.lastHeight = height;
    const changes = txs.filter((tx) => tx[0] === VALSET_TX_TAG);
    this.app.beginBlock(this.state, { height, txCount: changes.length, txs: changes });
    changes.forEach((tx, i) => this.app.deliver(tx, i));
    this.app.commit();
    this.epochs = this.validators.epochs();
    this.setOf.clear();
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
