/**
 * Validator-set changes in the simulator (issue 16): `quire sim --scenario reconfig`.
 *
 * The run's chain has the validators module (src/chain/app/validators/) next to the KV module, and its registry holds
 * the n genesis validators plus `spares` more keys, each with an instance of its own that starts as an observer. An
 * operator holding every key submits a change each time the highest honest view passes another multiple of
 * `everyViews`: it adds a registry entry that is not a member while the set has n members, and removes a random
 * member once it has n + 1 — so the set keeps n or n + 1 members, f is the same for both when n = 3f + 1, and no epoch
 * ever holds more faulty members than the plan made. Changes go through everything the node runs: a change tx in the
 * mempools, the module's quorum check (real BLS: the operator signs with blst), the epoch switch of every replica
 * (src/node/epochShell.ts), sync across epoch ends, and the safety checker over the whole committed chain.
 *
 * The consensus signatures stay the run's scheme (the insecure test scheme by default), indexed by registry entry:
 * each epoch's instance counts positions in its member list, and `remapScheme` turns a position into the registry
 * index the scheme knows.
 */
import { hash } from "node:crypto";
import type { BlsBackend, SecretKey } from "../crypto/bls/backend.js";
import { keyGen } from "../crypto/bls/keygen.js";
import { addChange, buildChangeTx } from "../chain/app/validators/module.js";
import type { ValsetChange } from "../chain/app/validators/format.js";
import type { CommitteeConfig } from "../chain/app/validators/module.js";
import type { SignatureScheme } from "../consensus/scheme.js";
import { observerSigner } from "../consensus/signing.js";
import type { ConsensusSigner } from "../consensus/signing.js";
import type { EpochReader, EpochSet } from "../node/epochShell.js";
import { concatBytes, utf8 } from "../util/bytes.js";
import type { Scheduler } from "../util/clock.js";
import type { SeededRng } from "../util/rng.js";

const IKM_DOMAIN = utf8("QUIRE-SIM-VALSET");

export interface ReconfigOptions {
  readonly bls: BlsBackend;
  /** Registry entries beyond the genesis set, which join and leave (default 1). */
  readonly spares?: number;
  /** A change is submitted each time the highest honest view passes another multiple of this (default 20). */
  readonly everyViews?: number;
  /**
   * Committees by reputation instead of operator changes (`quire sim --scenario committee`): the module rotates the
   * top `size` of the genesis validators every `everyHeights` heights; no spares (default 0) and no operator.
   */
  readonly committee?: CommitteeConfig;
}

/** A committee run, read from the epochs of the honest replica that committed the most. */
export interface CommitteeSummary {
  /** Epochs after the genesis one (each a rotation that changed the members). */
  readonly rotations: number;
  /** Members that were not in the next epoch, summed over rotations. */
  readonly leaves: number;
  /** Validators that entered an epoch after having left an earlier one: "earned their way back in". */
  readonly returns: number;
  readonly epochs: readonly { readonly startHeight: number; readonly members: readonly number[] }[];
}

/** The registry's BLS keys (the validators module's), one per genesis validator and spare, from the run's seed. */
export function registryKeys(bls: BlsBackend, count: number, seed: number): { readonly secrets: readonly SecretKey[]; readonly publicKeys: readonly Uint8Array[] } {
  const secrets = Array.from({ length: count }, (_, i) => {
    const id = new Uint8Array(8);
    new DataView(id.buffer).setUint32(0, seed >>> 0);
    new DataView(id.buffer).setUint32(4, i);
    return bls.secretKeyFromBytes(keyGen(hash("sha256", concatBytes(IKM_DOMAIN, id), "buffer")));
  });
  return { secrets, publicKeys: secrets.map((sk) => bls.publicKeyToBytes(bls.publicKeyOf(sk), "compressed")) };
}

/** `base` (indexed by registry entry) as an epoch's instance sees it: signer i is the member at position i. */
export function remapScheme(base: SignatureScheme, members: readonly number[]): SignatureScheme {
  const reg = (p: number): number => (Number.isInteger(p) && p >= 0 && p < members.length ? members[p]! : -1);
  return {
    name: base.name,
    verify: (signer, message, signature) => reg(signer) >= 0 && base.verify(reg(signer), message, signature),
    aggregate: (parts) => base.aggregate(parts.map((x) => ({ signer: reg(x.signer), signature: x.signature }))),
    verifyAggregate: (signers, message, aggregate) => signers.every((s) => reg(s) >= 0) && base.verifyAggregate(signers.map(reg), message, aggregate),
    verifyAggregateMulti: (signers, messages, aggregate) => signers.every((s) => reg(s) >= 0) && base.verifyAggregateMulti(signers.map(reg), messages, aggregate),
  };
}

/** The signer of an epoch's instance: the member's registry signer at its position, or an observer's (never signs). */
export function epochSigner(set: EpochSet, registrySigner: (registryIndex: number) => ConsensusSigner): ConsensusSigner {
  if (set.self >= set.members.length) return observerSigner(set.self);
  const s = registrySigner(set.members[set.self]!);
  return { index: set.self, sign: (m) => s.sign(m) };
}

/** A target of the operator's changes: an instance's committed reads and its mempool. */
export interface ReconfigTarget {
  /** The instance's committed height and epoch reads; null while it is down. */
  reads(): { readonly height: number; readonly reader: EpochReader } | null;
  submit(tx: Uint8Array): boolean;
}

/** The operator of a reconfig run (see the module comment). */
export class SimOperator {
  /** Changes submitted, in order (for reports and tests). */
  readonly submitted: { readonly atMs: number; readonly epoch: number; readonly change: string }[] = [];
  private nextView: number;
  private readonly everyViews: number;
  private readonly chainId: Uint8Array;
  private readonly genesisCount: number;

  constructor(
    opts: { readonly chainId: Uint8Array; readonly everyViews: number; readonly genesisCount: number },
    private readonly m: {
      readonly bls: BlsBackend;
      readonly secrets: readonly SecretKey[];
      readonly scheduler: Scheduler;
      readonly rng: SeededRng;
      readonly targets: readonly ReconfigTarget[];
      /** The highest view of an honest replica. */
      readonly maxView: () => number;
    },
  ) {
    this.everyViews = opts.everyViews;
    this.nextView = opts.everyViews;
    this.chainId = opts.chainId;
    this.genesisCount = opts.genesisCount;
  }

  /** Checks every `periodMs` (virtual) whether a change is due, until `untilMs`. */
  start(periodMs: number, untilMs: number): void {
    const tick = (): void => {
      this.tick();
      if (this.m.scheduler.now() + periodMs <= untilMs) this.m.scheduler.setTimeout(tick, periodMs);
    };
    this.m.scheduler.setTimeout(tick, periodMs);
  }

  private tick(): void {
    if (this.m.maxView() < this.nextView) return;
    this.nextView += this.everyViews;
    // The committed state of the instance that has committed the most.
    let best: { height: number; reader: EpochReader } | null = null;
    for (const t of this.m.targets) {
      const r = t.reads();
      if (r !== null && (best === null || r.height > best.height)) best = r;
    }
    if (best === null) return;
    const epochs = best.reader.epochs();
    const latest = epochs[epochs.length - 1]!;
    // A change already scheduled and not started: the next one names the epoch after it, later.
    if (latest.startHeight > best.height + 1) return;
    const registrySize = this.m.secrets.length;
    const members = latest.members;
    const outside = Array.from({ length: registrySize }, (_, i) => i).filter((i) => !members.includes(i));
    let change: ValsetChange;
    if (members.length <= this.genesisCount && outside.length > 0) {
      const r = outside[this.m.rng.int(outside.length)]!;
      change = addChange(this.m.bls, this.chainId, this.m.secrets[r]!, `sim-${r}`, 1_000 + r);
    } else {
      change = { kind: "remove", index: members[this.m.rng.int(members.length)]! };
    }
    const signers = members.map((reg, position) => ({ position, secretKey: this.m.secrets[reg]! }));
    const tx = buildChangeTx(this.m.bls, this.chainId, latest.epoch, members.length, change, signers);
    for (const t of this.m.targets) t.submit(tx);
    this.submitted.push({ atMs: this.m.scheduler.now(), epoch: latest.epoch, change: change.kind === "remove" ? `remove ${change.index}` : `add ${change.host}` });
  }
}
