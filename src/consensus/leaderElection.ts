/**
 * Who leads a view. A contract so that a reputation-based election (DiemBFT leader reputation) can replace round
 * robin later; every implementation must be a pure function of the view (and of committed history, for reputation),
 * identical on every honest replica.
 */
export interface LeaderElection {
  /** The validator index that proposes in `view`. */
  leader(view: number): number;
}

/** `leader(v) = v mod n` (DESIGN §3). */
export class RoundRobinElection implements LeaderElection {
  constructor(private readonly validatorCount: number) {
    if (!Number.isInteger(validatorCount) || validatorCount < 1) throw new RangeError(`validatorCount must be a positive integer, got ${validatorCount}`);
  }

  leader(view: number): number {
    return view % this.validatorCount;
  }
}
