/**
 * The evidence module (tag 0x41): equivocation proofs on chain (format.ts), so that "provable misbehaviour" is
 * committed history — every replica's reputation tracker reads the same successful evidence txs (issue 15).
 *
 * A tx succeeds when its proof verifies against the genesis validator set (`verifyEquivocationEvidence` /
 * `verifyVoteEquivocationEvidence`, over the chain id) and no earlier tx proved the same (validator, view, kind):
 *   state (the module's namespace): "D" ‖ u8 kind ‖ u32 validator ‖ u64 view → [1]
 * so a validator is punished once per view and kind however many replicas submit the proof. A forged proof fails and
 * writes nothing. Signature checks cost two pairings each with no fee: at most MAX_CHECKED_EVIDENCE_PER_BLOCK txs per
 * block reach them (as the validators module caps its changes).
 *
 * Admission (`check`) verifies the signatures too, so forged proofs never reach an honest leader's block: otherwise
 * MAX_CHECKED_EVIDENCE_PER_BLOCK forged txs ahead of a genuine one would fail it TOO_MANY_EVIDENCE, and a failed tx id
 * never runs again. Those checks are local work on the submitting node (never part of execution), bounded by a token
 * bucket of `admissionChecksPerSecond` (burst the same): past it, `check` answers `EVIDENCE_BUSY` with `retryAfterMs`,
 * which the mempool reports as "full, retry after" (HTTP 503 + Retry-After), not as invalid. A Byzantine leader can
 * still put forged proofs in its own block; it could as well leave the genuine one out.
 *
 * The genesis set only: a chain that changes its set by epoch (the validators module) signs under per-epoch domains
 * and positions; genesis.ts refuses the two modules together until evidence names its epoch.
 */
import type { SignatureScheme } from "../../../consensus/scheme.js";
import { verifyEquivocationEvidence, verifyVoteEquivocationEvidence } from "../../../consensus/validation/evidence.js";
import type { EvidenceVerdict } from "../../../consensus/validation/evidence.js";
import { TokenBucket } from "../../../util/tokenBucket.js";
import type { CheckResult, DeliverResult } from "../interface.js";
import type { NamespacedState } from "../keyedState.js";
import type { AppModule } from "../modular.js";
import { decodeEvidenceTx, EVIDENCE_TX_TAG } from "./format.js";
import type { EvidenceTx } from "./format.js";

/** Evidence txs per block whose signatures are checked; later ones fail `TOO_MANY_EVIDENCE` without BLS work. */
export const MAX_CHECKED_EVIDENCE_PER_BLOCK = 8;

/** Default admission budget: signature checks of submitted evidence per second (two pairings each, ≈ 3 ms here). */
export const DEFAULT_EVIDENCE_ADMISSION_CHECKS_PER_SECOND = 20;

export interface EvidenceModuleOptions {
  readonly chainId: Uint8Array;
  readonly validatorCount: number;
  /** Admission signature checks per second (and burst); DEFAULT_EVIDENCE_ADMISSION_CHECKS_PER_SECOND if absent. */
  readonly admissionChecksPerSecond?: number;
}

export interface EvidenceModuleModules {
  readonly state: NamespacedState;
  /** The genesis validators' keys (`BlsScheme` in the node, the test scheme in tests). */
  readonly scheme: Pick<SignatureScheme, "verify">;
  /** A monotonic clock in ms for the admission budget (`performance.now` if absent); never read by `deliver`. */
  readonly now?: () => number;
}

export class EvidenceModule implements AppModule {
  readonly name = "evidence";
  readonly txTags = [EVIDENCE_TX_TAG] as const;
  readonly nestable = false;
  private checkedThisBlock = 0;
  private readonly admissionRate: number;
  private readonly admission: TokenBucket;
  private readonly now: () => number;

  constructor(
    private readonly o: EvidenceModuleOptions,
    private readonly m: EvidenceModuleModules,
  ) {
    this.admissionRate = o.admissionChecksPerSecond ?? DEFAULT_EVIDENCE_ADMISSION_CHECKS_PER_SECOND;
    this.admission = new TokenBucket(this.admissionRate);
    this.now = m.now ?? (() => performance.now());
  }

  /** Admission: the format, the validator index, then (within the budget) the signatures. */
  check(tx: Uint8Array): CheckResult {
    const d = decodeEvidenceTx(tx);
    if (!d.ok) return { ok: false, code: "MALFORMED", reason: `${d.code}: ${d.reason}` };
    const e = d.tx;
    if (e.validator >= this.o.validatorCount) return { ok: false, code: "UNKNOWN_VALIDATOR", reason: `validator ${e.validator} of ${this.o.validatorCount}` };
    const now = this.now();
    if (!this.admission.take(now)) {
      return { ok: false, code: "EVIDENCE_BUSY", reason: `evidence signature checks are at their budget of ${this.admissionRate}/s`, retryAfterMs: this.admission.retryAfterMs(now) };
    }
    const verdict = this.verify(e);
    return verdict === "ok" ? { ok: true } : { ok: false, code: verdict, reason: `the proof does not hold: ${verdict}` };
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
    const verdict = this.verify(e);
    if (verdict !== "ok") return { ok: false, code: verdict };
    this.m.state.put(key, ONE);
    return { ok: true };
  }

  private verify(e: EvidenceTx): EvidenceVerdict {
    const ctx = { chainId: this.o.chainId, scheme: this.m.scheme, validatorCount: this.o.validatorCount };
    const part = (p: EvidenceTx["first"]) => ({ view: e.view, blockHash: p.blockHash, signature: p.signature });
    return e.kind === "proposal"
      ? verifyEquivocationEvidence(ctx, { first: { ...part(e.first), proposer: e.validator }, second: { ...part(e.second), proposer: e.validator } })
      : verifyVoteEquivocationEvidence(ctx, { first: { ...part(e.first), voter: e.validator }, second: { ...part(e.second), voter: e.validator } });
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
