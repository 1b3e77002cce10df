/**
 * The evidence module (tag 0x41): equivocation proofs on chain (format.ts), so that "provable misbehaviour" is
 * committed history — every replica's reputation tracker reads the same successful evidence txs (issue 15).
 *
 * A tx succeeds when its proof verifies against the genesis validator set (`verifyEquivocationEvidence` /
 * `verifyVoteEquivocationEvidence`, over the chain id) and no earlier tx proved the same (validator, view, kind):
 *   state (the module's namespace): "D" ‖ u8 kind ‖ u32 validator ‖ u64 view → [1]
 * so a validator is punished once per view and kind however many replicas submit the proof. A forged proof fails and
 * writes nothing, so it cannot crowd out the genuine one. Signature checks cost two pairings each with no fee: at most
 * MAX_CHECKED_EVIDENCE_PER_BLOCK txs per block reach them (as the validators module caps its changes).
 *
 * The genesis set only: a chain that changes its set by epoch (the validators module) signs under per-epoch domains
 * and positions; genesis.ts refuses the two modules together until evidence names its epoch.
 */
import type { SignatureScheme } from "../../../consensus/scheme.js";
import { verifyEquivocationEvidence, verifyVoteEquivocationEvidence } from "../../../consensus/validation/evidence.js";
import type { CheckResult, DeliverResult } from "../interface.js";
import type { NamespacedState } from "../keyedState.js";
import type { AppModule } from "../modular.js";
import { decodeEvidenceTx, EVIDENCE_TX_TAG } from "./format.js";
import type { EvidenceTx } from "./format.js";

/** Evidence txs per block whose signatures are checked; later ones fail `TOO_MANY_EVIDENCE` without BLS work. */
export const MAX_CHECKED_EVIDENCE_PER_BLOCK = 8;

export interface EvidenceModuleOptions {
  readonly chainId: Uint8Array;
  readonly validatorCount: number;
}

export interface EvidenceModuleModules {
  readonly state: NamespacedState;
  /** The genesis validators' keys (`BlsScheme` in the node, the test scheme in tests). */
  readonly scheme: Pick<SignatureScheme, "verify">;
}

export class EvidenceModule implements AppModule {
  readonly name = "evidence";
  readonly txTags = [EVIDENCE_TX_TAG] as const;
  readonly nestable = false;
  private checkedThisBlock = 0;

  constructor(
    private readonly o: EvidenceModuleOptions,
    private readonly m: EvidenceModuleModules,
  ) {}

  check(tx: Uint8Array): CheckResult {
    const d = decodeEvidenceTx(tx);
    return d.ok ? { ok: true } : { ok: false, code: "MALFORMED", reason: `${d.code}: ${d.reason}` };
  }

  beginBlock(): void {
    this.checkedThisBlock = 0;
  }

  deliver(tx: Uint8Array): DeliverResult {
    const d = decodeEvidenceTx(tx);
    if (!d.ok) return { ok: false, code: "MALFORMED" };
    const e = d.tx;
    if (e.validator >= this.o.validatorCount) return { ok: false, code: "UNKNOWN_VALIDATOR" };
    const key = recordKey(e);
    if (this.m.state.get(key) !== undefined) return { ok: false, code: "DUPLICATE" };
    if (this.checkedThisBlock >= MAX_CHECKED_EVIDENCE_PER_BLOCK) return { ok: false, code: "TOO_MANY_EVIDENCE" };
    this.checkedThisBlock++;
    const ctx = { chainId: this.o.chainId, scheme: this.m.scheme, validatorCount: this.o.validatorCount };
    const part = (p: EvidenceTx["first"]) => ({ view: e.view, blockHash: p.blockHash, signature: p.signature });
    const verdict =
      e.kind === "proposal"
        ? verifyEquivocationEvidence(ctx, { first: { ...part(e.first), proposer: e.validator }, second: { ...part(e.second), proposer: e.validator } })
        : verifyVoteEquivocationEvidence(ctx, { first: { ...part(e.first), voter: e.validator }, second: { ...part(e.second), voter: e.validator } });
    if (verdict !== "ok") return { ok: false, code: verdict };
    this.m.state.put(key, ONE);
    return { ok: true };
  }

  /** Whether a committed tx already proved (validator, view, kind). */
  proven(kind: EvidenceTx["kind"], validator: number, view: number): boolean {
    return this.m.state.query(recordKey({ kind, validator, view })) !== undefined;
  }
}

const ONE = Uint8Array.of(1);

function recordKey(e: Pick<EvidenceTx, "kind" | "validator" | "view">): Uint8Array {
  const k = new Uint8Array(14);
  const dv = new DataView(k.buffer);
  k[0] = 0x44; // "D"
  k[1] = e.kind === "proposal" ? 1 : 2;
  dv.setUint32(2, e.validator);
  dv.setBigUint64(6, BigInt(e.view));
  return k;
}
