/**
 * Peer penalties: a peer whose bytes do not decode or whose messages fail checks no honest validator fails (bad
 * signatures, wrong tx roots, equivocation) accumulates points; past a threshold its messages are ignored for a while
 * (counted, never processed), which caps what a faulty validator can make this node spend. Points decay, so a peer
 * that misbehaved once — or an honest one hit by a transient bug — comes back on its own.
 *
 * Benign rejections (duplicates, stale or far-ahead views: a lagging or restarted honest peer sends those) cost
 * nothing: muting an honest peer would only hurt liveness.
 */

export interface PenaltyOptions {
  /** Points at which a peer is muted. */
  readonly threshold: number;
  /** Points halve every this many ms. */
  readonly halfLifeMs: number;
  /** How long a muted peer stays muted. */
  readonly muteMs: number;
}

/** 10 undecodable messages or 20 bad signatures within a few seconds mute a peer for 30 s. */
export const DEFAULT_PENALTIES: PenaltyOptions = { threshold: 100, halfLifeMs: 10_000, muteMs: 30_000 };

/** Points per offence. */
/**
 * `withheld`: a catch-up range the peer announced but did not serve, or did not serve in time (node/catchUp.ts). Light:
 * an overloaded honest peer can be late; fifty in a row within a half-life mute it.
 */
export const PENALTY = { undecodable: 10, invalid: 5, withheld: 2 } as const;

interface Score {
  points: number;
  at: number;
  mutedUntil: number;
}

export class PeerPenalties {
  private readonly scores = new Map<number, Score>();
  /** Times any peer was muted. */
  mutes = 0;

  constructor(
    private readonly opts: PenaltyOptions,
    private readonly now: () => number,
  ) {}

  add(peer: number, points: number): void {
    if (points <= 0) return;
    const t = this.now();
    const s = this.scores.get(peer) ?? { points: 0, at: t, mutedUntil: 0 };
    s.points = s.points * Math.pow(0.5, Math.max(0, t - s.at) / this.opts.halfLifeMs) + points;
    s.at = t;
    if (s.points >= this.opts.threshold && s.mutedUntil <= t) {
      s.mutedUntil = t + this.opts.muteMs;
      s.points = 0;
      this.mutes++;
    }
    this.scores.set(peer, s);
  }

  muted(peer: number): boolean {
    const s = this.scores.get(peer);
    return s !== undefined && s.mutedUntil > this.now();
  }

  /** Current points of a peer (decayed to now). */
  points(peer: number): number {
    const s = this.scores.get(peer);
    if (s === undefined) return 0;
    return s.points * Math.pow(0.5, Math.max(0, this.now() - s.at) / this.opts.halfLifeMs);
  }
}
