/**
 * Who leads a view. Every implementation must be a function of the view and of committed history only, identical on
 * every honest replica that has committed that history; a disagreement (a replica that lags behind) costs liveness
 * for that replica's view, never safety: voting and the certificates never depend on who the leader is.
 */
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
  private readonly evidence: Evidence[] = [];
  /** Absolute index of `evidence[0]` (entries are dropped from the front once no anchor can need them). */
  private base = 0;
  private lastHeight = -1;
  private cacheAnchor = -2;
  private cacheActive: readonly number[] = [];

  constructor(
    private readonly n: number,
    private readonly o: ReputationOptions,
    /** The indices of an encoded signer set (null when it cannot be read: the block then counts only its proposer). */
    private readonly signersOf: (signers: Uint8Array) => readonly number[] | null,
  ) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`validator count must be a positive integer, got ${n}`);
    if (!(o.windowBlocks >= 1) || !(o.lagViews >= 1)) throw new RangeError(`reputation window and lag must be >= 1, got ${JSON.stringify(o)}`);
    // The anchor of the current view lies at most lagViews blocks below the head (views rise by at least one a block).
    this.historyBlocks = o.windowBlocks + o.lagViews + 1;
  }

  observe(blocks: readonly CommittedBlock[]): void {
    for (const b of blocks) {
      const h = b.block.header;
      if (h.height <= this.lastHeight) continue;
      this.lastHeight = h.height;
      if (h.height === 0) continue; // genesis: nobody proposed or signed it
      const active = new Uint8Array(this.n);
      if (h.proposer >= 0 && h.proposer < this.n) active[h.proposer] = 1;
      const bits = h.parentSigners;
      if (bits.length > 0) for (const s of this.signersOf(bits) ?? []) if (s >= 0 && s < this.n) active[s] = 1;
      this.evidence.push({ view: h.view, active });
    }
    // Keep a generous tail: anchors only move forward with the view, and the newest blocks may still be above one.
    const keep = 4 * this.historyBlocks + 64;
    if (this.evidence.length > 2 * keep) {
      const drop = this.evidence.length - keep;
      this.evidence.splice(0, drop);
      this.base += drop;
    }
  }

  leader(view: number): number {
    const active = this.activeAt(view);
    return active.length === 0 ? view % this.n : active[view % active.length]!;
  }

  /** The active validators for `view`, ascending; empty when there is no history to decide by. */
  activeAt(view: number): readonly number[] {
    let anchor = this.anchorIndex(view - this.o.lagViews);
    // A stale anchor — no block committed for windowBlocks views below the lag — means commits stopped: back to round
    // robin over everyone. Otherwise a window of exactly 2f + 1 active validators, one of which then dies, would put
    // the dead one in every run of three consecutive views (proposer, its vote collector, the next collector) and no
    // block could commit again to move the window (a live validator outside it signs only blocks that never commit).
    if (anchor >= 0 && view - this.o.lagViews - this.evidence[anchor]!.view > this.o.windowBlocks) anchor = -1;
    // Keyed by absolute position: a window's blocks never change once committed.
    const key = anchor < 0 ? -1 : this.base + anchor;
    if (key === this.cacheAnchor) return this.cacheActive;
    let active: number[] = [];
    if (anchor >= 0) {
      const seen = new Uint8Array(this.n);
      const from = Math.max(0, anchor - this.o.windowBlocks + 1);
      for (let i = from; i <= anchor; i++) {
        const a = this.evidence[i]!.active;
        for (let v = 0; v < this.n; v++) seen[v]! |= a[v]!;
      }
      for (let v = 0; v < this.n; v++) if (seen[v] === 1) active.push(v);
      if (active.length === this.n) active = [];
    }
    this.cacheAnchor = key;
    this.cacheActive = active;
    return active;
  }

  /** Index in `evidence` of the last block with view <= `maxView`, or -1. */
  private anchorIndex(maxView: number): number {
    let lo = 0;
    let hi = this.evidence.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.evidence[mid]!.view <= maxView) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }
}
