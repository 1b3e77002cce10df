/**
 * Who leads a view. Every implementation must be a function of the view and of committed history only, identical on
 * every honest replica that has committed that history; a disagreement (a replica that lags behind) costs liveness
 * for that replica's view, never safety: voting and the certificates never depend on who the leader is.
 */
import { ReputationTracker } from "./reputation.js";
import type { ScoredBlock } from "./reputation.js";
import type { CommittedBlock } from "./types.js";

export interface LeaderElection {
  /** The validator index that proposes in `view`. */
  leader(view: number): number;
  /**
   * Committed blocks, ascending by height, as the replica commits them (and, at a restart, the last
   * `historyBlocks` ones from the store). Blocks at or below a height already observed are ignored.
   */
  observe?(blocks: readonly CommittedBlock[]): void;
  /** How many of the newest committed blocks `observe` needs after a restart to answer as before it (0: none). */
  readonly historyBlocks: number;
  /** Reputation scores 0..100 by index (consensus/reputation.ts), when the election keeps them. */
  scores?(): readonly number[];
}

function checkCount(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`validator count must be a positive integer, got ${n}`);
}

function checkWindow(n: number, o: ReputationOptions): void {
  checkCount(n);
  if (!(o.windowBlocks >= 1) || !(o.lagViews >= 1)) throw new RangeError(`reputation window and lag must be >= 1, got ${JSON.stringify(o)}`);
}

/** `leader(v) = v mod n` (DESIGN §3). */
export class RoundRobinElection implements LeaderElection {
  readonly historyBlocks = 0;

  constructor(private readonly validatorCount: number) {
    checkCount(validatorCount);
  }

  leader(view: number): number {
    return view % this.validatorCount;
  }
}

export interface ReputationOptions {
  /** How many committed blocks make up the window of recent history (the "active" evidence). */
  readonly windowBlocks: number;
  /**
   * Only blocks of views <= v - lagViews decide the leader of view v: by then every replica in view v has normally
   * committed them (the two-chain rule commits a block about two views after it, a few more after timeouts), so
   * replicas agree on the window although their committed heights differ by a few blocks.
   */
  readonly lagViews: number;
}

/** A 12-block window, decided 8 views back: a crashed validator stops being chosen about 20 views after it went. */
export const DEFAULT_REPUTATION: ReputationOptions = { windowBlocks: 12, lagViews: 8 };

/** What one committed block tells about activity: its view, and who proposed it or signed the QC it extends. */
interface Evidence {
  readonly view: number;
  /** Bit i set: validator i proposed the block or signed the QC its header names (`parentSigners`). */
  readonly active: Uint8Array;
}

/**
 * Leaders that missed their recent views are skipped (issue 10; the reputation issue generalises it into scores).
 *
 * The rule, over committed history only: take the `windowBlocks` committed blocks of highest height among those whose
 * view is <= v - `lagViews` (the anchor); a validator is active when it proposed one of them or is among the signers
 * its header records (`parentSigners`: the QC it extends). The header, not the QC a replica happened to learn for the
 * block, because replicas may hold different QCs for one block (any 2f+1 of the votes) — with the header every replica
 * computes the same leaders from the same committed chain.
 * The leader of v is `active[v mod |active|]` with `active` in index order; with no such history (the first views of
 * a chain, or once no block has been committed for `windowBlocks` views below the lag: commits stopped, and round robin
 * guarantees runs of live leaders again) it is round robin, `v mod n`. A crashed validator signs no QC and proposes nothing, so once the window has
 * moved past its crash it is never chosen again and its views stop costing a timeout each; as soon as it signs a QC
 * again (it restarted and caught up) it is back in the rotation. Every QC has a quorum of signers, so `active` always
 * holds at least 2f + 1 validators and some honest one leads regularly.
 *
 * Known limit: a validator whose votes are always the last to arrive is never in a QC and so never leads (fair to
 * liveness, not to it); scores with slow decay (the reputation issue) soften that.
 */
export class ReputationElection implements LeaderElection {
  readonly historyBlocks: number;
  private readonly evidence: ViewHistory<Evidence>;
  private lastHeight = -1;
  private cacheAnchor = -2;
  private cacheActive: readonly number[] = [];

  constructor(
    private readonly n: number,
    private readonly o: ReputationOptions,
    /** The indices of an encoded signer set (null when it cannot be read: the block then counts only its proposer). */
    private readonly signersOf: (signers: Uint8Array) => readonly number[] | null,
  ) {
    checkWindow(n, o);
    // The anchor of the current view lies at most lagViews blocks below the head (views rise by at least one a block).
    this.historyBlocks = o.windowBlocks + o.lagViews + 1;
    this.evidence = new ViewHistory(this.historyBlocks);
  }

  observe(blocks: readonly CommittedBlock[]): void {
    for (const b of blocks) {
      const h = b.block.header;
      if (h.height <= this.lastHeight) continue;
      this.lastHeight = h.height;
      if (h.height === 0) continue; // genesis: nobody proposed or signed it
      this.evidence.push({ view: h.view, active: participants(scoredBlock(b, this.n, (bits) => this.signersOf(bits)), this.n) });
    }
  }

  leader(view: number): number {
    const active = this.activeAt(view);
    return active.length === 0 ? view % this.n : active[view % active.length]!;
  }

  /** The active validators for `view`, ascending; empty when there is no history to decide by. */
  activeAt(view: number): readonly number[] {
    // A stale anchor — no block committed for windowBlocks views below the lag — means commits stopped: back to round
    // robin over everyone. Otherwise a window of exactly 2f + 1 active validators, one of which then dies, would put
    // the dead one in every run of three consecutive views (proposer, its vote collector, the next collector) and no
    // block could commit again to move the window (a live validator outside it signs only blocks that never commit).
    const key = this.evidence.anchor(view - this.o.lagViews, this.o.windowBlocks);
    // Keyed by absolute position: a window's blocks never change once committed.
    if (key === this.cacheAnchor) return this.cacheActive;
    let active: number[] = [];
    if (key >= 0) {
      const seen = new Uint8Array(this.n);
      for (let i = Math.max(this.evidence.base, key - this.o.windowBlocks + 1); i <= key; i++) {
        const a = this.evidence.at(i).active;
        for (let v = 0; v < this.n; v++) seen[v]! |= a[v]!;
      }
      for (let v = 0; v < this.n; v++) if (seen[v] === 1) active.push(v);
      if (active.length === this.n) active = [];
    }
    this.cacheAnchor = key;
    this.cacheActive = active;
    return active;
  }
}

/**
 * Committed blocks' per-block facts in height order, addressed by absolute position (stable while the front is
 * dropped), with the anchor rule every history-based election shares: the last block of view <= v - lag decides view v.
 */
class ViewHistory<T extends { readonly view: number }> {
  private readonly items: T[] = [];
  /** Absolute position of `items[0]` (entries are dropped from the front once no anchor can need them). */
  base = 0;

  constructor(private readonly historyBlocks: number) {}

  push(item: T): void {
    this.items.push(item);
    // Keep a generous tail: anchors only move forward with the view, and the newest blocks may still be above one.
    const keep = 4 * this.historyBlocks + 64;
    if (this.items.length > 2 * keep) {
      const drop = this.items.length - keep;
      this.items.splice(0, drop);
      this.base += drop;
    }
  }

  at(position: number): T {
    return this.items[position - this.base]!;
  }

  /**
   * Absolute position of the last block with view <= `maxView`, or -1 when there is none or (with `staleViews`) when
   * it lies more than `staleViews` views below `maxView`: commits stopped.
   */
  anchor(maxView: number, staleViews = Infinity): number {
    let lo = 0;
    let hi = this.items.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.items[mid]!.view <= maxView) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0 || maxView - this.items[found]!.view > staleViews) return -1;
    return this.base + found;
  }
}

/** Bit i set: validator i proposed the block or signed the QC its header names (`parentSigners`). */
function participants(b: ScoredBlock, n: number): Uint8Array {
  const active = new Uint8Array(n);
  if (b.proposer >= 0 && b.proposer < n) active[b.proposer] = 1;
  for (const s of b.signers ?? []) if (s >= 0 && s < n) active[s] = 1;
  return active;
}

/** What the elections read of a committed block: its header only. */
export function scoredBlock(b: CommittedBlock, n: number, signersOf: SignersOf): ScoredBlock {
  const h = b.block.header;
  return { height: h.height, view: h.view, proposer: h.proposer, signers: h.parentSigners.length === 0 ? null : signersOf(h.parentSigners, n) };
}

/**
 * The validators a committed block's successful evidence txs prove misbehaving, given its certified result bitmap
 * (the next header's `parentResults`): the evidence module's reading (chain/app/evidence/format.ts
 * `provenMisbehaviour`), injected since consensus sits below the chain.
 */
export type MisbehaviourOf = (txs: readonly Uint8Array[], results: Uint8Array) => readonly number[];

/**
 * Committed blocks as the tracker takes them: the header's facts, plus the misbehaviour its parent's evidence txs
 * proved — known only now, from this header's `parentResults`. The parent must have been read just before (heights
 * consecutive): the first block an election sees (after its epoch's root) carries none, on every replica alike.
 */
class TrackerFeed {
  private prev: CommittedBlock | null = null;

  constructor(
    private readonly n: number,
    private readonly signersOf: SignersOf,
    private readonly misbehaviourOf: MisbehaviourOf | undefined,
  ) {}

  read(b: CommittedBlock): ScoredBlock {
    const s = scoredBlock(b, this.n, this.signersOf);
    const prev = this.prev;
    this.prev = b;
    if (this.misbehaviourOf === undefined || prev === null || prev.block.header.height !== s.height - 1) return s;
    const proven = this.misbehaviourOf(prev.block.txs, b.block.header.parentResults);
    return proven.length === 0 ? s : { ...s, misbehaved: proven };
  }
}

/** The indices of an encoded signer set of `n` validators (null when it cannot be read). */
export type SignersOf = (signers: Uint8Array, n: number) => readonly number[] | null;

/** A 32-bit mix of the view (murmur3's finaliser): the same pseudo-random draw on every replica. */
function viewDraw(view: number): number {
  let h = (view >>> 0) ^ Math.floor(view / 0x1_0000_0000);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The index whose cumulative weight range holds `draw mod total`; -1 when every weight is 0. */
function pickWeighted(draw: number, weights: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < weights.length; i++) total += weights[i]!;
  if (total <= 0) return -1;
  let x = draw % total;
  for (let i = 0; i < weights.length; i++) {
    x -= weights[i]!;
    if (x < 0) return i;
  }
  return weights.length - 1;
}

/**
 * `weighted`: a stake-like rotation, no history. View v's leader is drawn from the genesis weights by a hash of v, so
 * validator i leads weights[i] / Σ weights of the views in the long run, in an order nobody can steer. Weights of
 * another length than the set (a later epoch's set) count as equal weights.
 */
export class WeightedElection implements LeaderElection {
  readonly historyBlocks = 0;
  private readonly weights: readonly number[];

  constructor(n: number, weights: readonly number[] | undefined) {
    checkCount(n);
    this.weights = weights !== undefined && weights.length === n ? [...weights] : new Array<number>(n).fill(1);
    for (const w of this.weights) if (!Number.isInteger(w) || w < 1) throw new RangeError(`leader weights must be positive integers, got ${w}`);
  }

  leader(view: number): number {
    return pickWeighted(viewDraw(view), this.weights);
  }
}

/** Views a stalled sticky leader keeps after its last committed block's view (beyond the lag) before rotating. */
export const STICKY_GRACE_VIEWS = 2;

/**
 * `sticky`: the proposer of the last committed block keeps leading. Precisely, with `lagViews` as in
 * `ReputationElection` (so replicas agree): let A be the last committed block of view <= v - lag and
 * s = (v - lag) - A.view, the views the chain has gone without a commit. While s <= STICKY_GRACE_VIEWS, A's proposer
 * leads v; after that the lead rotates one index a view from it, `(A.proposer + s - STICKY_GRACE_VIEWS) mod n`, until
 * someone's block commits and becomes the new anchor. No anchor (the chain's first views): round robin.
 */
export class StickyElection implements LeaderElection {
  readonly historyBlocks: number;
  private readonly history: ViewHistory<{ readonly view: number; readonly proposer: number }>;
  private lastHeight = -1;

  constructor(
    private readonly n: number,
    private readonly lagViews: number = DEFAULT_REPUTATION.lagViews,
  ) {
    checkCount(n);
    this.historyBlocks = lagViews + 2;
    this.history = new ViewHistory(this.historyBlocks);
  }

  observe(blocks: readonly CommittedBlock[]): void {
    for (const b of blocks) {
      const h = b.block.header;
      if (h.height <= this.lastHeight) continue;
      this.lastHeight = h.height;
      if (h.height > 0 && h.proposer >= 0 && h.proposer < this.n) this.history.push({ view: h.view, proposer: h.proposer });
    }
  }

  leader(view: number): number {
    const at = this.history.anchor(view - this.lagViews);
    if (at < 0) return view % this.n;
    const a = this.history.at(at);
    const stalled = view - this.lagViews - a.view;
    return (a.proposer + Math.max(0, stalled - STICKY_GRACE_VIEWS)) % this.n;
  }
}

/** Below this score a validator leads only when nobody reputable is active (see `ScoreElection`). */
export const REPUTABLE_SCORE = 95;

/** What one committed block leaves for `ScoreElection`: everyone's score after it, who took part, who failed. */
interface ScoredEvidence {
  readonly view: number;
  readonly active: Uint8Array;
  /** Bit i set: i led a view skipped just before this block. */
  readonly failed: Uint8Array;
  readonly milli: Int32Array;
}

/**
 * `reputation` (issue 15, as Aptos's leader reputation): the most reputable recent performers lead. For view v, with
 * the anchor and window of `ReputationElection` (the `windowBlocks` committed blocks up to the last of view
 * <= v - lag), each validator's weight is
 *   0 if it neither proposed nor signed in the window (crashed or cut off: it leads no view once the window passed),
 *   1 if it led a view skipped in the window, or its score s (0..100 after the anchor block, consensus/reputation.ts)
 *     is below REPUTABLE_SCORE (a failed proposer stays there for a while: one skipped view costs 20 points, more
 *     when it keeps failing, and correct voting wins back half a point a block) — ~0 next to the others,
 *   1 + s² otherwise (8 101..10 001),
 * and the leader is drawn by a hash of v over the weights. With no anchor, a stale one (commits stopped for
 * `windowBlocks` views) or every weight 0 it is round robin, `v mod n`: ReputationElection's anti-stall fallback.
 *
 * The scores are cumulative over the epoch, so after a restart the election replays the epoch's committed blocks
 * (`historyBlocks` unbounded); `ReputationTracker.snapshot` is there to bound that later.
 */
export class ScoreElection implements LeaderElection {
  readonly historyBlocks = Number.MAX_SAFE_INTEGER;
  private readonly tracker: ReputationTracker;
  private readonly feed: TrackerFeed;
  private readonly history: ViewHistory<ScoredEvidence>;
  private cacheKey = -2;
  private cacheWeights: Int32Array = new Int32Array(0);

  constructor(
    private readonly n: number,
    private readonly o: ReputationOptions,
    signersOf: SignersOf,
    misbehaviourOf?: MisbehaviourOf,
  ) {
    checkWindow(n, o);
    this.tracker = new ReputationTracker(n, undefined, (view) => this.leader(view));
    this.feed = new TrackerFeed(n, signersOf, misbehaviourOf);
    this.history = new ViewHistory(o.windowBlocks + o.lagViews + 1);
  }

  observe(blocks: readonly CommittedBlock[]): void {
    for (const b of blocks) {
      if (b.block.header.height <= this.tracker.height) continue;
      const s = this.feed.read(b);
      // One block at a time: the leaders of its skipped views are decided by the blocks before it.
      const charged = this.tracker.observe([s]);
      if (s.height === 0) continue;
      const failed = new Uint8Array(this.n);
      for (const l of charged) if (l >= 0 && l < this.n) failed[l] = 1;
      this.history.push({ view: s.view, active: participants(s, this.n), failed, milli: Int32Array.from({ length: this.n }, (_, i) => this.tracker.milli(i)) });
    }
  }

  scores(): readonly number[] {
    return this.tracker.scores();
  }

  leader(view: number): number {
    const picked = pickWeighted(viewDraw(view), this.weightsAt(view));
    return picked < 0 ? view % this.n : picked;
  }

  /** Each validator's weight for `view` (all 0: no history to decide by). */
  weightsAt(view: number): Int32Array {
    const key = this.history.anchor(view - this.o.lagViews, this.o.windowBlocks);
    if (key === this.cacheKey) return this.cacheWeights;
    const weights = new Int32Array(this.n);
    if (key >= 0) {
      const active = new Uint8Array(this.n);
      const failed = new Uint8Array(this.n);
      for (let i = Math.max(this.history.base, key - this.o.windowBlocks + 1); i <= key; i++) {
        const e = this.history.at(i);
        for (let v = 0; v < this.n; v++) {
          active[v]! |= e.active[v]!;
          failed[v]! |= e.failed[v]!;
        }
      }
      const milli = this.history.at(key).milli;
      for (let v = 0; v < this.n; v++) {
        const s = Math.floor(milli[v]! / 1000);
        weights[v] = active[v] === 0 ? 0 : failed[v] === 1 || s < REPUTABLE_SCORE ? 1 : 1 + s * s;
      }
    }
    this.cacheKey = key;
    this.cacheWeights = weights;
    return weights;
  }
}

/**
 * Any election plus a `ReputationTracker` fed the same committed blocks, charging skipped views to that election's
 * leaders: scores for the metrics and the RPC in every mode. After a restart it sees only the election's
 * `historyBlocks`, so there its scores restart from that tail (the `reputation` mode replays its whole epoch).
 */
export class TrackedElection implements LeaderElection {
  readonly historyBlocks: number;
  private readonly tracker: ReputationTracker;
  private readonly feed: TrackerFeed;

  constructor(
    private readonly inner: LeaderElection,
    n: number,
    signersOf: SignersOf,
    misbehaviourOf?: MisbehaviourOf,
  ) {
    this.historyBlocks = inner.historyBlocks;
    this.tracker = new ReputationTracker(n, undefined, (view) => inner.leader(view));
    this.feed = new TrackerFeed(n, signersOf, misbehaviourOf);
  }

  leader(view: number): number {
    return this.inner.leader(view);
  }

  observe(blocks: readonly CommittedBlock[]): void {
    // One block at a time, the tracker first: a block's skipped views were led by the election as it stood before
    // the block (what it answers for them depends only on earlier blocks), however the blocks arrive in chunks.
    for (const b of blocks) {
      if (b.block.header.height > this.tracker.height) this.tracker.observe([this.feed.read(b)]);
      this.inner.observe?.([b]);
    }
  }

  scores(): readonly number[] {
    return this.tracker.scores();
  }
}

/**
 * The genesis's leader mode (`consensus.leaderMode`). `skip-inactive` — `ReputationElection`, the rule of issue 10 —
 * is the default, what networks ran before the modes existed.
 */
export const LEADER_MODES = ["skip-inactive", "round-robin", "sticky", "weighted", "reputation"] as const;
export type LeaderMode = (typeof LEADER_MODES)[number];

export interface LeaderConfig {
  readonly leaderMode?: LeaderMode;
  /** `weighted` only: one positive integer per genesis validator. */
  readonly leaderWeights?: readonly number[];
}

/** The election of a set of `n` under `config`, scores included (misbehaviour read from evidence txs when given). */
export function buildLeaderElection(config: LeaderConfig, n: number, signersOf: SignersOf, misbehaviourOf?: MisbehaviourOf): LeaderElection {
  const mode = config.leaderMode ?? "skip-inactive";
  switch (mode) {
    case "reputation":
      return new ScoreElection(n, DEFAULT_REPUTATION, signersOf, misbehaviourOf);
    case "round-robin":
      return new TrackedElection(new RoundRobinElection(n), n, signersOf, misbehaviourOf);
    case "sticky":
      return new TrackedElection(new StickyElection(n), n, signersOf, misbehaviourOf);
    case "weighted":
      return new TrackedElection(new WeightedElection(n, config.leaderWeights), n, signersOf, misbehaviourOf);
    case "skip-inactive":
      return new TrackedElection(new ReputationElection(n, DEFAULT_REPUTATION, (bits) => signersOf(bits, n)), n, signersOf, misbehaviourOf);
  }
}
