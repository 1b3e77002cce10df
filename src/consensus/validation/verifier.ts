/**
 * The signature checks validation needs, behind a contract: `SchemeCertificates` (scheme.ts) implements it over the
 * fast test scheme or BLS. `CachingVerifier` is the one verdict cache in front of any implementation: the node's
 * precheck (src/node/precheck.ts) fills it ahead of validation, off the main thread or inline, and validation reads it.
 */
import { bytesKey } from "../../util/bytes.js";
import type { QuorumCert, SignedProposalHash, Timeout, TimeoutCert, Vote } from "../../domain/types.js";

/** Result of a certificate check. */
export type CertCheck = "ok" | "BAD_SIGNERS" | "BELOW_QUORUM" | "BAD_AGGREGATE" | "BAD_HIGH_QC_VIEWS" | "HIGH_QC_MISMATCH";

export interface CertificateVerifier {
  /** The voter's signature over (chainId, view, blockHash). */
  verifyVote(vote: Vote): boolean;
  /** The voter's signature over (chainId, view, highQc.view); the high QC itself is checked separately. */
  verifyTimeout(timeout: Timeout): boolean;
  /** The proposer's signature over (chainId, view, blockHash): the proposal message, not the vote one. */
  verifyProposal(p: SignedProposalHash): boolean;
  /** Signers decode to a quorum of validators, and the aggregate is theirs over the QC's vote message. */
  verifyQc(qc: QuorumCert): CertCheck;
  /**
   * Signers decode to a quorum, one high-QC view per signer (each below the TC's view), the carried QC's view is the
   * largest of them, and the aggregate checks. The carried QC itself is checked separately (validation's `checkQc`,
   * which knows the genesis certificate), as a timeout's high QC is.
   */
  verifyTc(tc: TimeoutCert): CertCheck;
}

// Cache keys, one per kind. Each covers every byte its verdict depends on — numbers as decimal strings ended by ':',
// each byte field's length before all the bytes — so two values share a key only if they are equal: a cached verdict
// never vouches for a certificate that differs in any byte (nor for bytes shifted from one field into the next).

/** A vote's key: voter, view, block hash and signature. */
export function voteKey(v: Vote): string {
  return `v${v.voter}:${v.view}:${v.blockHash.length}:${v.signature.length}:${bytesKey(v.blockHash)}${bytesKey(v.signature)}`;
}

/** A timeout's key: voter, view, high-QC view and signature (what it signs; its high QC is checked, and keyed, apart). */
export function timeoutKey(t: Timeout): string {
  return `t${t.voter}:${t.view}:${t.highQc.view}:${t.signature.length}:${bytesKey(t.signature)}`;
}

/** A proposal signature's key: proposer, view, block hash and signature (the 'p' keeps it apart from a vote's). */
export function proposalKey(p: SignedProposalHash): string {
  return `p${p.proposer}:${p.view}:${p.blockHash.length}:${p.signature.length}:${bytesKey(p.blockHash)}${bytesKey(p.signature)}`;
}

/** A QC's key: every field. */
export function qcKey(qc: QuorumCert): string {
  return `q${qc.view}:${qc.blockHash.length}:${qc.signers.length}:${qc.aggregateSignature.length}:${bytesKey(qc.blockHash)}${bytesKey(qc.signers)}${bytesKey(qc.aggregateSignature)}`;
}

/**
 * A TC's key: every field of its own (the high-QC views comma-separated after their count) and its carried QC's view
 * (what `verifyTc` compares; the carried QC is checked, and keyed, apart).
 */
export function tcKey(tc: TimeoutCert): string {
  return `c${tc.view}:${tc.highQc.view}:${tc.highQcViews.length}:${tc.highQcViews.join(",")}:${tc.signers.length}:${tc.aggregateSignature.length}:${bytesKey(tc.signers)}${bytesKey(tc.aggregateSignature)}`;
}

type Verdict = boolean | CertCheck;

export interface CachingVerifierOptions {
  /**
   * Verdicts kept at most (default 16,384), the oldest forgotten first. It must outlast the precheck's lead over
   * validation: up to 4,096 queued messages (the shell's MAX_INBOUND), a sync response carrying up to 256 QCs.
   * Keys are ≈ 100–250 bytes, so the bound is a few MB.
   */
  readonly capacity?: number;
}

/**
 * A `CertificateVerifier` that answers from cached verdicts when it has them and asks `inner` otherwise.
 *
 * - A success is kept until evicted, whoever found it: a QC that arrives in a proposal, then in several timeouts, then
 *   in a sync response costs one aggregate check.
 * - A failure is kept only when the precheck records it, and answers once: it was recorded to spare validation the
 *   inline check of the message it came with. Validation's own failures are not kept (a failure costs the sender its
 *   reputation, not us memory).
 * - One bound for all five kinds, oldest first (insertion order; a hit does not refresh an entry).
 */
export class CachingVerifier implements CertificateVerifier {
  private readonly verdicts = new Map<string, Verdict>();
  private readonly capacity: number;
  /** Answers found in the cache / asked of the inner verifier (for metrics and tests). */
  hits = 0;
  misses = 0;

  constructor(
    private readonly inner: CertificateVerifier,
    opts: CachingVerifierOptions = {},
  ) {
    this.capacity = opts.capacity ?? 16_384;
    if (!Number.isInteger(this.capacity) || this.capacity < 1) throw new RangeError(`CachingVerifier: capacity ${this.capacity} is not a positive integer`);
  }

  /** Records a vote verdict found ahead of validation (the precheck). */
  recordVote(vote: Vote, valid: boolean): void {
    this.record(voteKey(vote), valid);
  }

  recordTimeout(timeout: Timeout, valid: boolean): void {
    this.record(timeoutKey(timeout), valid);
  }

  recordProposal(p: SignedProposalHash, valid: boolean): void {
    this.record(proposalKey(p), valid);
  }

  recordQc(qc: QuorumCert, check: CertCheck): void {
    this.record(qcKey(qc), check);
  }

  recordTc(tc: TimeoutCert, check: CertCheck): void {
    this.record(tcKey(tc), check);
  }

  /** Whether a success for exactly this QC is cached (the precheck skips checking it again). Counts nothing. */
  knowsQc(qc: QuorumCert): boolean {
    return this.verdicts.get(qcKey(qc)) === "ok";
  }

  verifyVote(vote: Vote): boolean {
    return this.answer(voteKey(vote), true, () => this.inner.verifyVote(vote));
  }

  verifyTimeout(timeout: Timeout): boolean {
    return this.answer(timeoutKey(timeout), true, () => this.inner.verifyTimeout(timeout));
  }

  verifyProposal(p: SignedProposalHash): boolean {
    return this.answer(proposalKey(p), true, () => this.inner.verifyProposal(p));
  }

  verifyQc(qc: QuorumCert): CertCheck {
    return this.answer<CertCheck>(qcKey(qc), "ok", () => this.inner.verifyQc(qc));
  }

  verifyTc(tc: TimeoutCert): CertCheck {
    return this.answer<CertCheck>(tcKey(tc), "ok", () => this.inner.verifyTc(tc));
  }

  /** The cached verdict for `key` (a failure is used up), or `check()`'s, kept if it is `success`. */
  private answer<V extends Verdict>(key: string, success: V, check: () => V): V {
    const cached = this.verdicts.get(key) as V | undefined;
    if (cached !== undefined) {
      this.hits++;
      if (cached !== success) this.verdicts.delete(key);
      return cached;
    }
    this.misses++;
    const v = check();
    if (v === success) this.record(key, v);
    return v;
  }

  private record(key: string, v: Verdict): void {
    if (!this.verdicts.has(key) && this.verdicts.size >= this.capacity) this.verdicts.delete(this.verdicts.keys().next().value!);
    this.verdicts.set(key, v);
  }
}
