/**
 * Reputation scores (issue 15): each validator's 0–100 score, computed from committed history only, so every replica
 * that committed the same chain holds the same scores — leader election (`ScoreElection`, leaderElection.ts) and, later,
 * committee selection (`top`) may depend on them without replicas disagreeing.
 *
 * Inputs, block by block in height order: who signed the QC each block extends (its header's `parentSigners`, never a
 * QC a replica learnt: replicas hold different QCs for one block), who proposed it, and the views skipped between it
 * and the previous committed block (their leaders failed to get a block certified on the committed chain), plus
 * provable misbehaviour (`misbehaved`, fed from committed evidence). Integer arithmetic in milli-points, 0..100 000, so
 * the result is exact and the same on every platform.
 *
 * Rules, per committed block (the constants below):
 * - a validator not among the block's parent signers loses `missMilli` × its run of consecutive misses, at most
 *   `missCapMilli` (1, 2, 3 … 10 points): one late vote costs little, a validator that stopped voting is at 0 within
 *   about 15 blocks. A QC holds only 2f + 1 of n votes, so honest validators miss some blocks by construction;
 * - the leader of each skipped view loses `skippedLeaderMilli` × its run of failed views since its last committed
 *   proposal, at most `skippedCapMilli` (20, 40, 50 … points): an unlucky view costs 20, a leader that keeps failing
 *   is at 0 after three. At most `maxSkippedViews` views per block are charged: a long stall is everyone's problem
 *   and the rotation spreads it anyway;
 * - a signer gains `voteRecoverMilli` (0.5), the proposer `proposeRecoverMilli` (0.5) more: slow recovery, but more
 *   than the structural misses cost (n = 7, all live: 5 × 0.5 + 0.5 gained against 2 × 1 lost per block);
 * - provable misbehaviour costs `misbehaviourMilli`: each successful evidence tx of the evidence module
 *   (chain/app/evidence/: two signed proposals or votes of one view), counted in the block after it, whose
 *   `parentResults` certify that it succeeded;
 * - scores are capped to 0..100 000 after each step; everyone starts at 100 000;
 * - with a committee (chain/app/validators/: the top m by score sign, the rest follow passively), a block lists the
 *   validators that could sign it (`eligible`): the others are passive — they cannot vote, so they are charged no
 *   miss and no skipped view, and move `passiveRecoverMilli` (1 point) per committed block towards `passiveCapMilli`
 *   (90 points) instead: up from below, down from above. That is how a passive validator earns its way back in: from 0
 *   it reaches 90 within 90 blocks and re-enters at the first rotation where a member has fallen below it (a crashed
 *   member is at 0 within about 15 blocks; ties go to the lower index, as always); if it then does not vote it falls to
 *   0 again and leaves at the rotation after. The cap is below a voting member's range on purpose: a passive
 *   validator cannot prove it is live, so it should not outrank a member that votes.
 *   Known limit (measured): the member whose votes arrive last is left out of every QC, its miss run grows, and it
 *   falls to 0 although it is live — in the simulator's happy network (equal delays) that is always the highest index,
 *   so a committee of 5 of 7 sheds one member at nearly every rotation (13 rotations in 300 heights, E = 20,
 *   `quire sim --validators 7 --scenario committee,happy --committee 5`). Counting late votes (which no committed
 *   header records today) or a rotation margin would damp it.
 *
 * A block whose parent signers are empty (the child of the genesis or of an epoch's root) or unreadable counts no votes.
 */

export interface ReputationRules {
  readonly missMilli: number;
  readonly missCapMilli: number;
  readonly skippedLeaderMilli: number;
  readonly skippedCapMilli: number;
  readonly maxSkippedViews: number;
  readonly voteRecoverMilli: number;
  readonly proposeRecoverMilli: number;
  readonly misbehaviourMilli: number;
  /** Per committed block, a validator outside the block's `eligible` signers (a passive one) moves this much … */
  readonly passiveRecoverMilli: number;
  /** … towards this score. */
  readonly passiveCapMilli: number;
}

export const MAX_SCORE_MILLI = 100_000;

export const DEFAULT_REPUTATION_RULES: ReputationRules = {
  missMilli: 1_000,
  missCapMilli: 10_000,
  skippedLeaderMilli: 20_000,
  skippedCapMilli: 50_000,
  maxSkippedViews: 64,
  voteRecoverMilli: 500,
  proposeRecoverMilli: 500,
  misbehaviourMilli: 60_000,
  passiveRecoverMilli: 1_000,
  passiveCapMilli: 90_000,
};

/** What the tracker reads from one committed block's header. */
export interface ScoredBlock {
  readonly height: number;
  readonly view: number;
  readonly proposer: number;
  /** Indices of the parent QC's signers; null when the header records none (or they cannot be read). */
  readonly signers: readonly number[] | null;
  /** Validators the parent block's successful evidence txs proved misbehaving (one entry per tx; default none). */
  readonly misbehaved?: readonly number[];
  /**
   * The validators that could sign the block's parent QC and propose it (its epoch's members); the others are passive
   * (see the rules). Absent: every validator is eligible — a chain without committees.
   */
  readonly eligible?: readonly number[];
}

/** The tracker's whole state: restore it to continue without replaying history. */
export interface ReputationSnapshot {
  readonly lastHeight: number;
  /** View of the last observed block (-1: none yet; then the first block charges no skipped views). */
  readonly lastView: number;
  readonly milli: readonly number[];
  readonly streak: readonly number[];
  readonly failStreak: readonly number[];
}

export class ReputationTracker {
  private milliScores: Int32Array;
  private streak: Int32Array;
  /** Views each validator led and failed since its last committed proposal. */
  private failStreak: Int32Array;
  private lastHeight = -1;
  private lastView = -1;

  constructor(
    private readonly n: number,
    private readonly rules: ReputationRules = DEFAULT_REPUTATION_RULES,
    /** The leader of a (skipped) view under the election in force; null: skipped views are charged to nobody. */
    private readonly leaderOf: ((view: number) => number) | null = null,
  ) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`validator count must be a positive integer, got ${n}`);
    this.milliScores = new Int32Array(n).fill(MAX_SCORE_MILLI);
    this.streak = new Int32Array(n);
    this.failStreak = new Int32Array(n);
  }

  get height(): number {
    return this.lastHeight;
  }

  /**
   * Committed blocks in height order; heights already observed are ignored. Height 0 (a genesis) only sets the view
   * skipped views count from. Returns the leaders charged for skipped views (one entry per view).
   */
  observe(blocks: readonly ScoredBlock[]): number[] {
    const r = this.rules;
    const charged: number[] = [];
    for (const b of blocks) {
      if (b.height <= this.lastHeight) continue;
      this.lastHeight = b.height;
      const prevView = this.lastView;
      this.lastView = b.view;
      if (b.height === 0) continue;
      for (const v of b.misbehaved ?? []) this.misbehaved(v);
      let passive: Uint8Array | null = null;
      if (b.eligible !== undefined) {
        passive = new Uint8Array(this.n).fill(1);
        for (const e of b.eligible) if (e >= 0 && e < this.n) passive[e] = 0;
        for (let i = 0; i < this.n; i++) {
          if (passive[i] !== 1) continue;
          const s = this.milliScores[i]!;
          this.add(i, s < r.passiveCapMilli ? Math.min(r.passiveRecoverMilli, r.passiveCapMilli - s) : -Math.min(r.passiveRecoverMilli, s - r.passiveCapMilli));
        }
      }
      if (prevView >= 0 && this.leaderOf !== null) {
        const last = Math.min(b.view - 1, prevView + r.maxSkippedViews);
        for (let w = prevView + 1; w <= last; w++) {
          const l = this.leaderOf(w);
          charged.push(l);
          if (l < 0 || l >= this.n || passive?.[l] === 1) continue;
          this.failStreak[l] = Math.min(this.failStreak[l]! + 1, 1_000_000);
          this.add(l, -Math.min(r.skippedCapMilli, r.skippedLeaderMilli * this.failStreak[l]!));
        }
      }
      if (b.signers !== null) {
        const signed = new Uint8Array(this.n);
        for (const s of b.signers) if (s >= 0 && s < this.n) signed[s] = 1;
        for (let i = 0; i < this.n; i++) {
          if (passive?.[i] === 1) continue;
          if (signed[i] === 1) {
            this.streak[i] = 0;
            this.add(i, r.voteRecoverMilli);
          } else {
            this.streak[i] = Math.min(this.streak[i]! + 1, 1_000_000);
            this.add(i, -Math.min(r.missCapMilli, r.missMilli * this.streak[i]!));
          }
        }
      }
      this.add(b.proposer, r.proposeRecoverMilli);
      if (b.proposer >= 0 && b.proposer < this.n) this.failStreak[b.proposer] = 0;
    }
    return charged;
  }

  /** Provable misbehaviour by `validator`, read from committed history (a committed evidence tx). */
  misbehaved(validator: number): void {
    this.add(validator, -this.rules.misbehaviourMilli);
  }

  /** Milli-points, 0..100 000. */
  milli(validator: number): number {
    return this.milliScores[validator] ?? 0;
  }

  /** Scores 0..100 (whole points, rounded down), by index. */
  scores(): number[] {
    return Array.from(this.milliScores, (m) => Math.floor(m / 1000));
  }

  /** The `m` best validators by score, ties by lower index: the committee. */
  top(m: number): number[] {
    const order = Array.from({ length: this.n }, (_, i) => i);
    order.sort((a, b) => this.milliScores[b]! - this.milliScores[a]! || a - b);
    return order.slice(0, Math.max(0, Math.min(m, this.n)));
  }

  snapshot(): ReputationSnapshot {
    return { lastHeight: this.lastHeight, lastView: this.lastView, milli: Array.from(this.milliScores), streak: Array.from(this.streak), failStreak: Array.from(this.failStreak) };
  }

  restore(s: ReputationSnapshot): void {
    if (s.milli.length !== this.n || s.streak.length !== this.n || s.failStreak.length !== this.n) throw new RangeError(`reputation snapshot is for ${s.milli.length} validators, not ${this.n}`);
    for (const m of s.milli) if (!Number.isInteger(m) || m < 0 || m > MAX_SCORE_MILLI) throw new RangeError(`reputation snapshot score out of range: ${m}`);
    this.milliScores = Int32Array.from(s.milli);
    this.streak = Int32Array.from(s.streak);
    this.failStreak = Int32Array.from(s.failStreak);
    this.lastHeight = s.lastHeight;
    this.lastView = s.lastView;
  }

  private add(i: number, delta: number): void {
    if (i < 0 || i >= this.n) return;
    this.milliScores[i] = Math.max(0, Math.min(MAX_SCORE_MILLI, this.milliScores[i]! + delta));
  }
}
