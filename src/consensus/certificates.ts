/**
 * The one piece of cryptography the core needs besides signing: turning 2f+1 verified votes (timeouts) into a QC (TC).
 * Injected, so the core stays free of BLS and bitmap code; the implementation (scheme.ts) encodes the signer bitmap
 * and aggregates the signatures with the configured signature scheme.
 */
import type { QuorumCert, Timeout, TimeoutCert, Vote } from "../wire/types.js";

export interface CertificateAggregator {
  /**
   * A QC over `votes`: all for the same (view, blockHash), distinct voters, each signature already verified by
   * validation. Must be deterministic (the same votes in any order give the same QC).
   */
  aggregateQc(votes: readonly Vote[]): QuorumCert;
  /**
   * A TC over `timeouts`: all for the same view, distinct voters, each verified. `highQcViews` lists each signer's
   * reported high-QC view in ascending signer order.
   */
  aggregateTc(timeouts: readonly Timeout[]): TimeoutCert;
}

/** Quorum size 2f+1 for n = 3f+1 validators (and ⌊2n/3⌋+1 in general, which tolerates f = ⌊(n−1)/3⌋). */
export function quorumSize(n: number): number {
  return Math.floor((2 * n) / 3) + 1;
}

/** The number of faults n validators tolerate: f = ⌊(n−1)/3⌋. */
export function maxFaulty(n: number): number {
  return Math.floor((n - 1) / 3);
}
