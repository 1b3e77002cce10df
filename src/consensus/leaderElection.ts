/**
 * Who leads a view. Every implementation must be a function of the view and of committed history only — the committed
 * blocks themselves, not the certificates a replica happens to hold for them, which differ between replicas — identical
 * on every honest replica that has committed that history; a disagreement (a replica that lags behind) costs liveness
 * for that replica's view, never safety: voting and the certificates never depend on who the leader is.
 */
import { maxFaulty } from "../domain/quorum.js";
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
}

/** `leader(v) = v mod n` (DESIGN §3). */
export class RoundRobinElection implements LeaderElection {
  readonly historyBlocks = 0;

  constructor(private readonly validatorCount: number) {
    if (!Number.isInteger(validatorCount) || validatorCount < 1) throw new RangeError(`validatorCount must be a positive integer, got ${validatorCount}`);
  }

  leader(view: number): number {
    return view % this.validatorCount;
  }
}

export interface ReputationOptions {
  /** How many views of recent committed history make up the window (the views whose outcome counts). */
  readonly windowViews: number;
  /**
   * Only views <= v - lagViews decide the leader of view v: by then every replica in view v has normally committed
   * the blocks that settle them (the two-chain rule commits a block about two views after it, a few more after
   * timeouts), so replicas agree on the window although their committed heights differ by a few blocks.
   */
  readonly lagViews: number;
}

/** A 12-view window, decided 8 views back: a crashed validator stops being chosen about 20 views after it went. */
export const DEFAULT_REPUTATION: ReputationOptions = { windowViews: 12, lagViews: 8 };

/**
 * Leaders that missed their recent views are skipped (issue 10; the reputation issue generalises it into scores).
 *
 * The rule reads only the committed chain's headers — each committed block's view and proposer — so every replica
 * that has committed the same blocks computes the same leaders. Take the anchor, the committed block of highest height
 * among those whose view is <= v - `lagViews`; the window is the `windowViews` views up to the anchor's. A view of the
 * window that holds no committed block failed, and its round-robin owner (`u mod n`) is excluded — unless it proposed
 * a committed block of the window (it is alive: its failed view had another cause, say a down vote collector) — newest
 * failures first and at most f validators, so that at least 2f + 1 stay in the rotation whatever happened before GST
 * (with no cap, failures before GST once excluded every honest validator and left a Byzantine one leading every view
 * until the stale fallback: sim n = 7 seed 1308). The leader of v is its own round-robin owner `v mod n` when not
 * excluded, else the next validator in index order that is not. With no history (the first views of a chain), or once
 * the anchor is stale — no block committed for `windowViews` views below the lag: commits stopped, and round robin
 * guarantees runs of live leaders again — it is round robin over everyone. A crashed validator's view fails, so its
 * views go to the next validator from about `lagViews` views later until that failure has left the window; then it is
 * tried again: about one short view per window instead of one per rotation. A restarted validator is back as soon as
 * its failed views have left the window.
 *
 * Why not who signed the QCs (the first version): a block's QC is not part of the committed chain. Each replica keeps
 * the QC it happened to receive, and two QCs for one block with different signers exist as soon as a collector is
 * Byzantine (a twin pair each aggregating the first 2f + 1 votes it got, or one collector handing out different
 * subsets), so replicas held different signer sets, computed different leaders, and split their votes between two
 * "next leaders" view after view until the stale-anchor fallback (sim seed n = 7, 1369808434: 36 s without a commit
 * after GST).
 */
export class ReputationElection implements LeaderElection {
  readonly historyBlocks: number;
  /** Views of the committed blocks observed, ascending (genesis, view 0, included when observed). */
  private readonly views: number[] = [];
  /** The proposer of each entry of `views` (-1 for genesis). */
  private readonly proposers: number[] = [];
  /** Absolute index of `views[0]` (entries are dropped from the front once no anchor can need them). */
  private base = 0;
  private lastHeight = -1;
  private cacheAnchor = -2;
  private cacheExcluded: readonly number[] = [];
  /** `cacheExcluded` as a mask: 1 at each excluded validator. */
  private cacheMask: Uint8Array;

  constructor(
    private readonly n: number,
    private readonly o: ReputationOptions,
  ) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`validator count must be a positive integer, got ${n}`);
    if (!(o.windowViews >= 1) || !(o.lagViews >= 1)) throw new RangeError(`reputation window and lag must be >= 1, got ${JSON.stringify(o)}`);
    // The anchor of the current view lies at most lagViews blocks below the head (views rise by at least one a block),
    // and the window needs the anchor plus the windowViews blocks below it (the last one bounds the window's first gap).
    this.historyBlocks = o.windowViews + o.lagViews + 1;
    this.cacheMask = new Uint8Array(n);
  }

  observe(blocks: readonly CommittedBlock[]): void {
    for (const b of blocks) {
      const h = b.block.header;
      if (h.height <= this.lastHeight) continue;
      this.lastHeight = h.height;
      this.views.push(h.view);
      this.proposers.push(h.height === 0 ? -1 : h.proposer);
    }
    // Keep a generous tail: anchors only move forward with the view, and the newest blocks may still be above one.
    const keep = 4 * this.historyBlocks + 64;
    if (this.views.length > 2 * keep) {
      const drop = this.views.length - keep;
      this.views.splice(0, drop);
      this.proposers.splice(0, drop);
      this.base += drop;
    }
  }

  leader(view: number): number {
    const own = view % this.n;
    if (this.excludedAt(view).length === 0) return own;
    const mask = this.cacheMask; // excludedAt just filled it for this view's anchor
    for (let k = 0; k < this.n; k++) {
      const c = (own + k) % this.n;
      if (mask[c] === 0) return c;
    }
    return own; // unreachable: excludedAt excludes at most f of the n validators
  }

  /** The validators excluded for `view`, ascending; empty when the leader is round robin (no history, stale, none). */
  excludedAt(view: number): readonly number[] {
    let anchor = this.anchorIndex(view - this.o.lagViews);
    // A stale anchor — no block committed for windowViews views below the lag — means commits stopped: back to round
    // robin over everyone. Otherwise a window that excludes a live validator while a candidate dies could keep the
    // dead one in every run of three consecutive views (proposer, its vote collector, the next collector) and no block
    // could commit again to move the window.
    if (anchor >= 0 && view - this.o.lagViews - this.views[anchor]! > this.o.windowViews) anchor = -1;
    // Keyed by absolute position: the views up to a committed block never change.
    const key = anchor < 0 ? -1 : this.base + anchor;
    if (key === this.cacheAnchor) return this.cacheExcluded;
    const excluded: number[] = [];
    const mask = new Uint8Array(this.n);
    if (anchor >= 0) {
      const lo = this.views[anchor]! - this.o.windowViews; // the window is (lo, anchor's view]
      const proposed = new Uint8Array(this.n);
      for (let i = anchor; i >= 0 && this.views[i]! > lo; i--) {
        const p = this.proposers[i]!;
        if (p >= 0 && p < this.n) proposed[p] = 1;
      }
      // Each gap between two consecutive committed views is a run of failed views, newest first. Before the first
      // block observed nothing is known (a restart loads historyBlocks blocks, enough for the window of its view).
      const budget = maxFaulty(this.n);
      for (let i = anchor; i >= 1 && this.views[i]! > lo + 1 && excluded.length < budget; i--) {
        for (let u = this.views[i]! - 1; u > Math.max(this.views[i - 1]!, lo) && excluded.length < budget; u--) {
          const owner = u % this.n;
          if (proposed[owner] === 0 && mask[owner] === 0) {
            mask[owner] = 1;
            excluded.push(owner);
          }
        }
      }
      excluded.sort((a, b) => a - b);
    }
    this.cacheAnchor = key;
    this.cacheExcluded = excluded;
    this.cacheMask = mask;
    return excluded;
  }

  /** Index in `views` of the last block with view <= `maxView`, or -1. */
  private anchorIndex(maxView: number): number {
    let lo = 0;
    let hi = this.views.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.views[mid]! <= maxView) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }
}
