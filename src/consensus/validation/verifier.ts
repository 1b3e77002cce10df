/**
 * The signature checks validation needs, behind a contract: `SchemeCertificates` (scheme.ts) implements it over the
 * fast test scheme or BLS, and `CachingVerifier` wraps any implementation so that each QC and TC is checked once.
 */
import { bytesKey } from "../../util/bytes.js";
import type { QuorumCert, Timeout, TimeoutCert, Vote } from "../../domain/types.js";

/** Result of a certificate check. */
export type CertCheck = "ok" | "BAD_SIGNERS" | "BELOW_QUORUM" | "BAD_AGGREGATE" | "BAD_HIGH_QC_VIEWS";

export interface CertificateVerifier {
  /** The voter's signature over (chainId, view, blockHash). */
  verifyVote(vote: Vote): boolean;
  /** The voter's signature over (chainId, view, highQc.view); the high QC itself is checked separately. */
  verifyTimeout(timeout: Timeout): boolean;
  /** Signers decode to a quorum of validators, and the aggregate is theirs over the QC's vote message. */
  verifyQc(qc: QuorumCert): CertCheck;
  /** Signers decode to a quorum, one high-QC view per signer (each below the TC's view), and the aggregate checks. */
  verifyTc(tc: TimeoutCert): CertCheck;
}

/**
 * Remembers certificates that verified, so a QC that arrives in a proposal, then in several timeouts, then in a sync
 * response costs one aggregate check. Only successes are cached (a failure costs the sender its reputation, not us
 * memory); the cache is bounded and forgets the oldest entries first.
 */
export class CachingVerifier implements CertificateVerifier {
  private readonly qcs = new Map<string, true>();
  private readonly tcs = new Map<string, true>();
  /** Certificate checks that went to the inner verifier (for tests and metrics). */
  qcChecks = 0;
  tcChecks = 0;

  constructor(
    private readonly inner: CertificateVerifier,
    /** Each cache's bound; a few views' worth of certificates is what is ever re-seen. */
    private readonly capacity = 1024,
  ) {}

  verifyVote(vote: Vote): boolean {
    return this.inner.verifyVote(vote);
  }

  verifyTimeout(timeout: Timeout): boolean {
    return this.inner.verifyTimeout(timeout);
  }

  verifyQc(qc: QuorumCert): CertCheck {
    // The key covers every field, each variable one after its length (so one key is one QC): a cached aggregate must
    // never vouch for a QC that differs in any byte.
    const key = `${qc.view}:${qc.blockHash.length}:${qc.signers.length}:${bytesKey(qc.blockHash)}${bytesKey(qc.signers)}${bytesKey(qc.aggregateSignature)}`;
    if (this.qcs.has(key)) return "ok";
    this.qcChecks++;
    const r = this.inner.verifyQc(qc);
    if (r === "ok") remember(this.qcs, key, this.capacity);
    return r;
  }

  verifyTc(tc: TimeoutCert): CertCheck {
    const key = `${tc.view}:${tc.highQcViews.join(",")}:${tc.signers.length}:${bytesKey(tc.signers)}${bytesKey(tc.aggregateSignature)}`;
    if (this.tcs.has(key)) return "ok";
    this.tcChecks++;
    const r = this.inner.verifyTc(tc);
    if (r === "ok") remember(this.tcs, key, this.capacity);
    return r;
  }
}

function remember(m: Map<string, true>, key: string, capacity: number): void {
  if (m.size >= capacity) {
    const oldest = m.keys().next();
    if (oldest.done !== true) m.delete(oldest.value);
  }
  m.set(key, true);
}
