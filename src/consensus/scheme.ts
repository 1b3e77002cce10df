/**
 * Certificates over a pluggable signature scheme: one implementation of QC/TC building (`CertificateAggregator`, used
 * by the core) and checking (`CertificateVerifier`, used by validation) for every scheme, so the simulator's fast test
 * scheme and real BLS run the same code path — only `SignatureScheme` differs. It is the one QC/TC builder: the node,
 * the simulator, `quire bench bls` (over `BlsScheme`) and the tests all exercise it.
 *
 * Message construction (signing.ts) and the signer bitmap (a `SignerSetCodec`, the crypto layer's bitmap codec in the
 * node) live here; the scheme only answers "did these signers sign these bytes".
 */
import type { QuorumCert, SignedProposalHash, Timeout, TimeoutCert, Vote } from "../domain/types.js";
import { SIGNATURE_BYTES } from "../domain/limits.js";
import { quorumSize } from "../domain/quorum.js";
import { bytesEqual } from "../util/bytes.js";
import type { CertificateAggregator, QcAssembly } from "./certificates.js";
import { ConsensusError } from "./errors.js";
import { maxHighQcView } from "./safetyRules.js";
import { proposalMessage, timeoutMessage, voteMessage } from "./signing.js";
import type { CertCheck, CertificateVerifier } from "./validation/verifier.js";

/** "Did these validators sign these bytes": BLS in the node, `InsecureTestScheme` in the simulator. */
export interface SignatureScheme {
  readonly name: string;
  /** `signature` is validator `signer`'s signature over `message`. False for anything malformed. */
  verify(signer: number, message: Uint8Array, signature: Uint8Array): boolean;
  /** Aggregates signatures, given in ascending signer order (distinct signers). */
  aggregate(parts: readonly { readonly signer: number; readonly signature: Uint8Array }[]): Uint8Array;
  /** Every signer in `signers` (ascending, distinct, non-empty) signed `message`, and `aggregate` combines them. */
  verifyAggregate(signers: readonly number[], message: Uint8Array, aggregate: Uint8Array): boolean;
  /** `signers[i]` signed `messages[i]` (ascending signers; messages may repeat), and `aggregate` combines them. */
  verifyAggregateMulti(signers: readonly number[], messages: readonly Uint8Array[], aggregate: Uint8Array): boolean;
  /**
   * `verifyAggregate` of each item, answered together where the scheme can batch (BLS: one random-linear-combination
   * check). Optional: without it, `SchemeCertificates.verifyQcs` asks `verifyAggregate` item by item.
   */
  verifyAggregates?(items: readonly AggregateToVerify[]): boolean[];
}

/** One item of `SignatureScheme.verifyAggregates`: the arguments of one `verifyAggregate` call. */
export interface AggregateToVerify {
  readonly signers: readonly number[];
  readonly message: Uint8Array;
  readonly aggregate: Uint8Array;
}

/** Encodes the set of signer indices of a certificate (the crypto layer's bitmap codec in the node). */
export interface SignerSetCodec {
  /** `indices` ascending and distinct, each < n. */
  encode(indices: readonly number[], n: number): Uint8Array;
  /**
   * The ascending signer indices in `bytes`, or null when the bytes are malformed or name an index >= n (a bitmap
   * longer than the validator set). Must never throw on hostile input.
   */
  decode(bytes: Uint8Array, n: number): number[] | null;
}

export interface SchemeCertificatesOptions {
  readonly chainId: Uint8Array;
  readonly validatorCount: number;
  /**
   * Votes reach the collector with unchecked signatures (validation's `voteSignatures: "defer"`): check the aggregate
   * once, bisect only when it fails. Default false: validation verified every vote, the aggregate needs no check.
   */
  readonly optimisticVotes?: boolean;
  /**
   * TEST ONLY — a demonstration of the weakness protocol version 2 removed, for test/sim/forgedTc.test.ts. "claimed"
   * makes `verifyTc` skip its check that the carried QC reaches the largest claimed high-QC view, which is how a TC
   * was accepted before it carried a QC: a signer could then claim a QC that nobody holds and stall the next leader.
   * The node never sets it (no config field reaches it). Default "carried".
   */
  readonly tcRule?: "carried" | "claimed";
}

type Part = { readonly signer: number; readonly signature: Uint8Array };

/** QC/TC aggregation and verification over a `SignatureScheme` and a `SignerSetCodec`. */
export class SchemeCertificates implements CertificateAggregator, CertificateVerifier {
  private readonly chainId: Uint8Array;
  private readonly n: number;
  private readonly quorum: number;
  private readonly optimistic: boolean;
  private readonly tcRule: "carried" | "claimed";

  constructor(
    opts: SchemeCertificatesOptions,
    private readonly scheme: SignatureScheme,
    private readonly signerSets: SignerSetCodec,
  ) {
    if (!Number.isInteger(opts.validatorCount) || opts.validatorCount < 1) throw new ConsensusError("BAD_CONFIG", "validatorCount must be a positive integer");
    this.chainId = opts.chainId;
    this.n = opts.validatorCount;
    this.quorum = quorumSize(opts.validatorCount);
    this.optimistic = opts.optimisticVotes ?? false;
    this.tcRule = opts.tcRule ?? "carried";
  }

  assembleQc(votes: readonly Vote[]): QcAssembly {
    const first = votes[0];
    if (first === undefined) throw new ConsensusError("INVARIANT", "assembleQc needs at least one vote");
    for (const v of votes) {
      if (v.view !== first.view || !bytesEqual(v.blockHash, first.blockHash)) throw new ConsensusError("INVARIANT", `assembleQc: votes for view ${first.view} and view ${v.view} (or two blocks) mixed`);
    }
    const sorted = [...votes].sort((a, b) => a.voter - b.voter);
    this.checkVoters(sorted, "assembleQc");
    let parts: Part[] = sorted.map((v) => ({ signer: v.voter, signature: v.signature }));
    let aggregate = this.scheme.aggregate(parts);
    const invalidVoters: number[] = [];
    if (this.optimistic) {
      const message = voteMessage(this.chainId, first.view, first.blockHash);
      if (!this.scheme.verifyAggregate(
        parts.map((p) => p.signer),
        message,
        aggregate,
      )) {
        const good: Part[] = [];
        this.bisect(parts, message, good, invalidVoters);
        parts = good.sort((a, b) => a.signer - b.signer);
        invalidVoters.sort((a, b) => a - b);
        if (parts.length < this.quorum) return { qc: null, invalidVoters };
        // The aggregate of parts that each verified (in verified subsets) is valid: no further check.
        aggregate = this.scheme.aggregate(parts);
      }
    }
    const qc: QuorumCert = {
      view: first.view,
      blockHash: first.blockHash,
      signers: this.signerSets.encode(
        parts.map((p) => p.signer),
        this.n,
      ),
      aggregateSignature: aggregate,
    };
    return { qc, invalidVoters };
  }

  /**
   * `set` fails as a whole: split it, keep halves whose aggregate verifies, recurse into the others down to single
   * votes, which are named. When the left half verifies, the right one must fail (the whole did), so it is not
   * checked again — k bad votes among m cost O(k log m) aggregate checks.
   */
  private bisect(set: Part[], message: Uint8Array, good: Part[], bad: number[]): void {
    if (set.length === 1) {
      bad.push(set[0]!.signer);
      return;
    }
    const mid = set.length >> 1;
    const left = set.slice(0, mid);
    const right = set.slice(mid);
    if (this.verifies(left, message)) {
      good.push(...left);
      this.bisect(right, message, good, bad);
      return;
    }
    this.bisect(left, message, good, bad);
    if (this.verifies(right, message)) good.push(...right);
    else this.bisect(right, message, good, bad);
  }

  private verifies(parts: Part[], message: Uint8Array): boolean {
    return this.scheme.verifyAggregate(
      parts.map((p) => p.signer),
      message,
      this.scheme.aggregate(parts),
    );
  }

  aggregateTc(timeouts: readonly Timeout[]): TimeoutCert {
    const first = timeouts[0];
    if (first === undefined) throw new ConsensusError("INVARIANT", "aggregateTc needs at least one timeout");
    for (const t of timeouts) {
      if (t.view !== first.view) throw new ConsensusError("INVARIANT", `aggregateTc: timeouts for views ${first.view} and ${t.view} mixed`);
    }
    const sorted = [...timeouts].sort((a, b) => a.voter - b.voter);
    this.checkVoters(sorted, "aggregateTc");
    // The carried QC: the highest among the timeouts (the lowest voter's on a tie, so the result is deterministic).
    let highQc = sorted[0]!.highQc;
    for (const t of sorted) if (t.highQc.view > highQc.view) highQc = t.highQc;
    return {
      view: first.view,
      signers: this.signerSets.encode(
        sorted.map((t) => t.voter),
        this.n,
      ),
      highQcViews: sorted.map((t) => t.highQc.view),
      aggregateSignature: this.scheme.aggregate(sorted.map((t) => ({ signer: t.voter, signature: t.signature }))),
      highQc,
    };
  }

  verifyVote(vote: Vote): boolean {
    return this.validSigner(vote.voter) && this.scheme.verify(vote.voter, voteMessage(this.chainId, vote.view, vote.blockHash), vote.signature);
  }

  verifyTimeout(t: Timeout): boolean {
    return this.validSigner(t.voter) && this.scheme.verify(t.voter, timeoutMessage(this.chainId, t.view, t.highQc.view), t.signature);
  }

  verifyProposal(p: SignedProposalHash): boolean {
    return this.validSigner(p.proposer) && this.scheme.verify(p.proposer, proposalMessage(this.chainId, p.view, p.blockHash), p.signature);
  }

  verifyQc(qc: QuorumCert): CertCheck {
    const item = this.qcItem(qc);
    if (typeof item === "string") return item;
    return this.scheme.verifyAggregate(item.signers, item.message, item.aggregate) ? "ok" : "BAD_AGGREGATE";
  }

  /**
   * `verifyQc` of each certificate, the signature checks batched when the scheme can (`verifyAggregates`): for bulk
   * checks of committed history such as `quire audit`. Same verdicts as `verifyQc`, one per certificate, in order.
   */
  verifyQcs(qcs: readonly QuorumCert[]): CertCheck[] {
    const out: CertCheck[] = [];
    const items: AggregateToVerify[] = [];
    const at: number[] = [];
    for (const qc of qcs) {
      const item = this.qcItem(qc);
      if (typeof item === "string") {
        out.push(item);
        continue;
      }
      at.push(out.length);
      out.push("ok");
      items.push(item);
    }
    const valid = this.scheme.verifyAggregates?.(items) ?? items.map((i) => this.scheme.verifyAggregate(i.signers, i.message, i.aggregate));
    valid.forEach((ok, k) => {
      if (!ok) out[at[k]!] = "BAD_AGGREGATE";
    });
    return out;
  }

  /** What a QC's signature check needs, or the verdict when its signers or aggregate are refused before that. */
  private qcItem(qc: QuorumCert): AggregateToVerify | Exclude<CertCheck, "ok"> {
    const signers = this.signerSets.decode(qc.signers, this.n);
    if (signers === null) return "BAD_SIGNERS";
    if (signers.length < this.quorum) return "BELOW_QUORUM";
    if (qc.aggregateSignature.length !== SIGNATURE_BYTES) return "BAD_AGGREGATE";
    return { signers, message: voteMessage(this.chainId, qc.view, qc.blockHash), aggregate: qc.aggregateSignature };
  }

  verifyTc(tc: TimeoutCert): CertCheck {
    const signers = this.signerSets.decode(tc.signers, this.n);
    if (signers === null) return "BAD_SIGNERS";
    if (signers.length < this.quorum) return "BELOW_QUORUM";
    if (tc.highQcViews.length !== signers.length) return "BAD_HIGH_QC_VIEWS";
    for (const v of tc.highQcViews) if (v >= tc.view) return "BAD_HIGH_QC_VIEWS";
    // The claims set the bar for the next proposal; the carried QC shows that the bar can be met (see TimeoutCert).
    if (this.tcRule === "carried" && tc.highQc.view !== maxHighQcView(tc)) return "HIGH_QC_MISMATCH";
    if (tc.aggregateSignature.length !== SIGNATURE_BYTES) return "BAD_AGGREGATE";
    const messages = tc.highQcViews.map((v) => timeoutMessage(this.chainId, tc.view, v));
    return this.scheme.verifyAggregateMulti(signers, messages, tc.aggregateSignature) ? "ok" : "BAD_AGGREGATE";
  }

  /**
   * The caller's side of the contract (validation refuses unknown validators, the core keeps one vote per voter): a
   * duplicate would otherwise be summed twice into an aggregate that its bitmap names once — an invalid certificate.
   */
  private checkVoters(sorted: readonly { readonly voter: number }[], what: string): void {
    sorted.forEach((x, k) => {
      if (!this.validSigner(x.voter)) throw new ConsensusError("INVARIANT", `${what}: voter ${x.voter} is not in [0, ${this.n})`);
      if (k > 0 && x.voter === sorted[k - 1]!.voter) throw new ConsensusError("INVARIANT", `${what}: voter ${x.voter} appears twice`);
    });
  }

  private validSigner(i: number): boolean {
    return Number.isInteger(i) && i >= 0 && i < this.n;
  }
}
