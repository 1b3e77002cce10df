/**
 * Builds a chain's application from its specification (the genesis's `app` section, plus what the modules need):
 * the one place that knows which module classes exist. The node, the para node and the tools call it; the KV-only
 * `KvApplication` is what the simulator and the KV benches build directly.
 */
import type { BlsBackend } from "../../crypto/bls/backend.js";
import type { Hasher } from "../../crypto/hasher.js";
import type { StateReader } from "./interface.js";
import { AccountsModule } from "./accounts/module.js";
import { ACCOUNT_TX_TAG } from "./accounts/accountTx.js";
import { KvModule } from "./kvApp.js";
import { ModularApplication } from "./modular.js";
import { ParacrossModule } from "./paracross/module.js";
import type { EscrowLedger } from "./paracross/module.js";
import { COMMIT_TX_TAG } from "./paracross/format.js";
import { StateTreeError } from "./stateTree.js";
import { defaultHasher } from "../../crypto/hash/backends.js";
import { ValidatorsModule } from "./validators/module.js";
import type { CommitteeConfig } from "./validators/module.js";
import { EvidenceModule } from "./evidence/module.js";
import { EVIDENCE_TX_TAG } from "./evidence/format.js";
import { BlsScheme } from "../../consensus/adapters/blsScheme.js";
import { VALSET_TX_TAG } from "./validators/format.js";
import { XShardModule } from "./xshard/module.js";
import { XSHARD_TX_TAG } from "./xshard/format.js";
import { shardOf } from "./xshard/network.js";
import type { ShardNetwork } from "./xshard/network.js";

export type ModuleName = "kv" | "accounts" | "paracross" | "xshard" | "validators" | "evidence";

/** A para chain the main chain's paracross module counts commits for. */
export interface ParaRegistration {
  readonly title: string;
  /** The para nodes' BLS public keys (48 bytes compressed), in para-genesis order; each came with a verified proof of possession. */
  readonly nodes: readonly Uint8Array[];
}

export interface AppSpec {
  readonly bucketBits: number;
  readonly modules: readonly ModuleName[];
  /** The chain's id: what account signatures are bound to. */
  readonly chainId: Uint8Array;
  /** Set on a para chain: its title (deposits of this title are credited, withdrawals burn). Absent on a main chain. */
  readonly paraTitle?: string;
  /** Main chain: the registered para chains. */
  readonly paras?: readonly ParaRegistration[];
  /** Set on a shard of a sharded network (required by the xshard module): accounts then live on their own shard. */
  readonly network?: ShardNetwork;
  /** The genesis validators' BLS public keys, in genesis order (required by the validators module). */
  readonly validators?: readonly Uint8Array[];
  /** A geo cluster's chain: orders transactions, executes nothing (ModularApplicationOptions.orderOnly). */
  readonly orderOnly?: boolean;
  /** Committees by reputation (genesis `consensus.committee`; needs the validators module). */
  readonly committee?: CommitteeConfig;
}

export interface AppDeps {
  readonly committed: StateReader;
  readonly hasher?: Hasher;
  /** The BLS backend the paracross module verifies commit signatures with (required with that module). */
  readonly bls?: BlsBackend;
  /**
   * Where the paracross module credits withdrawals from. The accounts module is the ledger when the chain runs it
   * (built before paracross); this dep stands in until then. Without either, a credit throws.
   */
  readonly escrow?: EscrowLedger;
  /** A monotonic ms clock for admission budgets (the evidence module's `check`); `performance.now` if absent. */
  readonly now?: () => number;
}

/** The application and handles on its modules (for RPC queries). */
export interface BuiltApplication {
  readonly app: ModularApplication;
  readonly kv: KvModule | null;
  readonly accounts: AccountsModule | null;
  readonly paracross: ParacrossModule | null;
  readonly xshard: XShardModule | null;
  readonly validators: ValidatorsModule | null;
  readonly evidence: EvidenceModule | null;
}

export function buildApplication(spec: AppSpec, deps: AppDeps): BuiltApplication {
  const app = new ModularApplication({ bucketBits: spec.bucketBits, orderOnly: spec.orderOnly }, { committed: deps.committed, hasher: deps.hasher });
  let kv: KvModule | null = null;
  let accounts: AccountsModule | null = null;
  let paracross: ParacrossModule | null = null;
  let validators: ValidatorsModule | null = null;
  let evidence: EvidenceModule | null = null;
  // Whichever order the genesis lists the modules in, withdrawals are credited by the accounts module.
  if (spec.modules.includes("paracross") && !spec.modules.includes("accounts") && deps.escrow === undefined) {
    throw new StateTreeError("BAD_ARGUMENT", "the paracross module credits withdrawals through the accounts module: list both");
  }
  if (spec.modules.includes("xshard") && (!spec.modules.includes("accounts") || spec.network === undefined || deps.bls === undefined)) {
    throw new StateTreeError("BAD_ARGUMENT", "the xshard module needs the accounts module, the network (spec.network) and a BLS backend (deps.bls)");
  }
  const hasher = deps.hasher ?? defaultHasher();
  const network = spec.network;
  const ledger: EscrowLedger = { releaseEscrow: (title, to, amount) => accounts!.releaseEscrow(title, to, amount) };
  if (spec.committee !== undefined && !spec.modules.includes("validators")) throw new StateTreeError("BAD_ARGUMENT", "a committee needs the validators module");
  for (const name of spec.modules) {
    switch (name) {
      case "kv":
        kv = app.use(new KvModule(app.state));
        break;
      case "accounts": {
        const opts = {
          chainId: spec.chainId,
          titles: (spec.paras ?? []).map((p) => p.title),
          ...(network === undefined ? {} : { inShard: (pub: Uint8Array) => shardOf(pub, network.shards.length, hasher) === network.self }),
        };
        accounts = app.use(new AccountsModule(spec.paraTitle === undefined ? opts : { ...opts, paraTitle: spec.paraTitle }, { state: app.namespace(ACCOUNT_TX_TAG) }));
        break;
      }
      case "paracross": {
        if (deps.bls === undefined) throw new StateTreeError("BAD_ARGUMENT", "the paracross module needs a BLS backend (deps.bls)");
        paracross = app.use(
          new ParacrossModule({ paras: spec.paras ?? [] }, { state: app.namespace(COMMIT_TX_TAG), bls: deps.bls, hasher: deps.hasher, escrow: deps.escrow ?? ledger }),
        );
        break;
      }
      case "validators":
        if (deps.bls === undefined || spec.validators === undefined) throw new StateTreeError("BAD_ARGUMENT", "the validators module needs a BLS backend (deps.bls) and the genesis validators (spec.validators)");
        validators = app.use(
          new ValidatorsModule(
            { chainId: spec.chainId, genesisValidators: spec.validators, ...(spec.committee !== undefined ? { committee: spec.committee } : {}) },
            { state: app.namespace(VALSET_TX_TAG), bls: deps.bls },
          ),
        );
        break;
      case "evidence":
        if (deps.bls === undefined || spec.validators === undefined) throw new StateTreeError("BAD_ARGUMENT", "the evidence module needs a BLS backend (deps.bls) and the genesis validators (spec.validators)");
        evidence = app.use(
          new EvidenceModule({ chainId: spec.chainId, validatorCount: spec.validators.length }, { state: app.namespace(EVIDENCE_TX_TAG), scheme: new BlsScheme(deps.bls, spec.validators), ...(deps.now !== undefined ? { now: deps.now } : {}) }),
        );
        break;
      case "xshard":
        break; // below, once the accounts module exists
      default:
        throw new StateTreeError("BAD_ARGUMENT", `module ${name} is not built yet`);
    }
  }
  let xshard: XShardModule | null = null;
  if (spec.modules.includes("xshard")) {
    xshard = app.use(new XShardModule({ network: network! }, { state: app.namespace(XSHARD_TX_TAG), committed: deps.committed, accounts: accounts!, hasher, bls: deps.bls! }));
    app.sealWith(xshard);
  }
  return { app, kv, accounts, paracross, xshard, validators, evidence };
}
