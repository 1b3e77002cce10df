/**
 * How many of n validators a certificate needs, for every layer that counts signers: the crypto layer's
 * `ValidatorKeys`, the consensus core's vote and timeout collectors, validation, the node's precheck and the
 * simulator's fault budget. One definition, so a QC that one layer builds is never short by another's count.
 */

/** The faults n validators tolerate: the largest f with 3f < n, i.e. f = ⌊(n − 1)/3⌋ (n = 3f + 1 gives f). */
export function maxFaulty(n: number): number {
  return Math.floor((n - 1) / 3);
}

/**
 * The quorum, n − f: 2f + 1 for n = 3f + 1 (3 of 4, 43 of 64, 171 of 256). It is the largest count that f silent
 * validators cannot block (liveness), and any two quorums share n − 2f ≥ f + 1 validators, so at least one honest
 * one (safety). Equal to ⌊2n/3⌋ + 1 for every n.
 */
export function quorumSize(n: number): number {
  return n - maxFaulty(n);
}
