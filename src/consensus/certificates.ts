/**
 * The one piece of cryptography the core needs besides signing: turning 2f+1 votes (timeouts) into a QC (TC).
 * Injected, so the core stays free of BLS and bitmap code; the implementation (scheme.ts) encodes the signer bitmap
 * and aggregates the signatures with the configured signature scheme.
 */
import type { QuorumCert, Timeout, TimeoutCert, Vote } from "../domain/types.js";

/** The outcome of assembling a QC from votes. */
export interface QcAssembly {
  /** The certificate, or null when fewer than 2f+1 votes with valid signatures remain. */
  readonly qc: QuorumCert | null;
  /** Voters whose signature failed (only in optimistic mode, where validation left vote signatures unchecked). */
  readonly invalidVoters: readonly number[];
}

export interface CertificateAggregator {
  /**
   * A QC over `votes`: all for the same (view, blockHash), distinct validators (a breach of that throws
   * `ConsensusError("INVARIANT")`). When validation verified every vote the
   * signatures are just aggregated; in optimistic mode (DESIGN §3) the aggregate is checked once and, only if that
   * fails, bisected to find and drop the bad votes. Deterministic: the same votes in any order give the same result.
   */
  assembleQc(votes: readonly Vote[]): QcAssembly;
  /**
   * A TC over `timeouts`: all for the same view, distinct validators (else `INVARIANT`), each verified by validation.
   * `highQcViews` lists each signer's reported high-QC view in ascending signer order; `highQc` is the highest of the
   * timeouts' QCs (so its view is the largest of `highQcViews`).
   */
  aggregateTc(timeouts: readonly Timeout[]): TimeoutCert;
}
