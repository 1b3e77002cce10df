/**
 * Peer penalties: a peer whose bytes do not decode or whose messages fail checks no honest validator fails (bad
 * signatures, wrong tx roots, equivocation) accumulates points; past a threshold its messages are ignored for a while
 * (counted, never processed), which caps what a faulty validator can make this node spend. Points decay, so a peer
 * that misbehaved once — or an honest one hit by a transient bug — comes back on its own.
 *
 * A peer that keeps earning penalties is also banned (issue 11): disconnected and refused by the transport
 * (`Transport.ban`), so it stops costing us decoding, signature checks and bandwidth too. Policy:
 *   - strike 1 (points reach the threshold): muted for `muteMs` (30 s); the link stays — a transient fault, or an
 *     honest peer tripped by a bug of ours, costs nothing more;
 *   - strike 2 and later, while the previous strike is less than `strikeMemoryMs` (10 min) old: muted and banned for
 *     `banMs · 2^(strike − 2)` (60 s, 120 s, 240 s, …) capped at `maxBanMs` (15 min). A peer must misbehave again
 *     after its mute ended (muted peers earn nothing: their messages are not processed) to get there.
 *   - 10 min without a strike: the count starts over.
 * With the defaults a validator flooding garbage non-stop costs about 30 s of muted traffic, then at most one
 * threshold's worth of messages per ban period.
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
  /** First ban (strike 2); doubles per further strike. */
  readonly banMs: number;
  readonly maxBanMs: number;
  /** A strike this long after the previous one counts as a first strike again. */
  readonly strikeMemoryMs: number;
}

/** 10 undecodable messages or 20 bad signatures within a few seconds mute a peer for 30 s; doing it again bans it. */
export const DEFAULT_PENALTIES: PenaltyOptions = { threshold: 100, halfLifeMs: 10_000, muteMs: 30_000, banMs: 60_000, maxBanMs: 900_000, strikeMemoryMs: 600_000 };

/** Points per offence. */
/**
 * `withheld`: a catch-up range the peer announced but did not serve, or did not serve in time (node/catchUp.ts). Light:
 * an overloaded honest peer can be late; fifty in a row within a half-life mute it.
 */
export const PENALTY = { undecodable: 10, invalid: 5, withheld: 2 } as const;

/** Disconnects and refuses a peer for `ms` (the node passes `Transport.ban`). */
export type BanFn = (peer: number, ms: number) => void;

interface Score {
  points: number;
  at: number;
  mutedUntil: number;
  strikes: number;
  lastStrike: number;
}

export class PeerPenalties {
  private readonly scores = new Map<number, Score>();
  /** Times any peer was muted. */
  mutes = 0;
  /** Times any peer was banned. */
  bans = 0;

  constructor(
    private readonly opts: PenaltyOptions,
    private readonly now: () => number,
    /** Without it, peers are only muted (tests, and transports that cannot refuse a peer). */
    private readonly ban?: BanFn,
  ) {}

  add(peer: number, points: number): void {
    if (points <= 0) return;
    const t = this.now();
    const s = this.scores.get(peer) ?? { points: 0, at: t, mutedUntil: 0, strikes: 0, lastStrike: -Infinity };
    s.points = s.points * Math.pow(0.5, Math.max(0, t - s.at) / this.opts.halfLifeMs) + points;
    s.at = t;
    this.scores.set(peer, s);
    if (s.points >= this.opts.threshold && s.mutedUntil <= t) this.strike(peer, s, t);
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

  /** Strikes a peer has on record (0 once `strikeMemoryMs` passed since its last). */
  strikes(peer: number): number {
    const s = this.scores.get(peer);
    return s === undefined || this.now() - s.lastStrike >= this.opts.strikeMemoryMs ? 0 : s.strikes;
  }

  private strike(peer: number, s: Score, t: number): void {
    s.strikes = t - s.lastStrike < this.opts.strikeMemoryMs ? s.strikes + 1 : 1;
    s.lastStrike = t;
    s.points = 0;
    this.mutes++;
    if (s.strikes < 2 || this.ban === undefined) {
      s.mutedUntil = t + this.opts.muteMs;
      return;
    }
    const ms = Math.min(this.opts.maxBanMs, this.opts.banMs * 2 ** Math.min(s.strikes - 2, 30));
    // Muted as long as banned: messages already in flight or queued when the link closes are not processed either.
    s.mutedUntil = t + Math.max(ms, this.opts.muteMs);
    this.bans++;
    this.ban(peer, ms);
  }
}
