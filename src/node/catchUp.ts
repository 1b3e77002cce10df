/**
 * Catch-up that does not wait for certificates (issue 10): a replica far behind its peers fetches committed ranges
 * from several peers at once instead of waiting for a QC or proposal to show it a missing block and then fetching
 * one range at a time from one peer (the core's `requestSync`, which still fills small gaps).
 *
 *   peers push their committed height (hello: on link-up and every `statusIntervalMs`)
 *   → behind by more than `behindBlocks`: ranges of `rangeBlocks` heights go out as sync requests, at most
 *     `perPeer` to one peer and `maxInFlight` in all, each to a peer that announced the range
 *   → answers are validated like any sync response (structure, tx roots, hash links, every QC — the precheck verifies
 *     them in the BLS pool), then buffered and handed to the core in height order (`certifiedBlocks` input), which
 *     inserts them under its tree, commits by the two-chain rule (one store transaction per step) and moves its view
 *     on: the replica is back in consensus as soon as it holds the blocks its peers' QCs certify.
 *
 * Lying or withholding peers: an answer that fails validation is penalised by the shell like any invalid message; an
 * answer that stops short of what the peer announced (or is empty), or no answer within `requestTimeoutMs`, costs the
 * peer a light penalty and a pause (`pauseMs`) before it is asked again; the range goes back to the queue for another
 * peer. A peer whose announced height it cannot serve is thus asked less and less.
 *
 * Request ids: the upper half of the u32 space (`CATCH_UP_ID_BASE`…) belongs to catch-up; the core numbers its own
 * requests from 1.
 */
import type { SyncRequest } from "../domain/types.js";
import type { Scheduler, TimerHandle } from "../util/clock.js";
import type { VerifiedCertifiedBlock } from "../consensus/types.js";

export const CATCH_UP_ID_BASE = 0x8000_0000;

export interface CatchUpPolicy {
  /** Catch-up starts when a peer announced a committed height more than this above ours. */
  readonly behindBlocks: number;
  /** Heights per request (the peer may answer fewer: its response size limits). */
  readonly rangeBlocks: number;
  /** Requests outstanding at once, in all. */
  readonly maxInFlight: number;
  /** Requests outstanding to one peer. */
  readonly perPeer: number;
  /** An unanswered request is given to another peer after this long. */
  readonly requestTimeoutMs: number;
  /** A peer that withheld or timed out is not asked again for this long. */
  readonly pauseMs: number;
  /** How often the node pushes its committed height to its peers. */
  readonly statusIntervalMs: number;
}

export const DEFAULT_CATCH_UP: CatchUpPolicy = {
  behindBlocks: 8,
  rangeBlocks: 128,
  maxInFlight: 6,
  perPeer: 2,
  requestTimeoutMs: 3_000,
  pauseMs: 2_000,
  statusIntervalMs: 1_000,
};

export interface CatchUpPorts {
  readonly scheduler: Scheduler;
  /** The store's committed height. */
  committedHeight(): number;
  /** The highest height worth asking for now (the end of the running validator-set epoch); default unbounded. */
  maxHeight?(): number;
  /** Sends a sync request; false when the transport refused it (queue full). */
  send(peer: number, req: SyncRequest): boolean;
  /** Hands verified consecutive blocks (from the core's tree root + 1 or below) to the core. */
  deliver(from: number, blocks: readonly VerifiedCertifiedBlock[]): void;
  /** A peer withheld a range it announced or did not answer: a light penalty. */
  withheld(peer: number, code: "CATCH_UP_SHORT" | "CATCH_UP_TIMEOUT"): void;
  count(code: string, n?: number): void;
}

interface Request {
  readonly id: number;
  readonly peer: number;
  readonly from: number;
  readonly to: number;
  readonly sentAt: number;
}

export class CatchUp {
  /** Committed heights peers announced. */
  readonly peerHeights = new Map<number, number>();
  private readonly inFlight = new Map<number, Request>();
  /** Ranges to (re)request, by first height. */
  private readonly todo = new Map<number, number>();
  /** Answers waiting for the heights below them, by first height. */
  private readonly buffered = new Map<number, { from: number; blocks: readonly VerifiedCertifiedBlock[] }>();
  private readonly pausedUntil = new Map<number, number>();
  /** The next height not yet queued for request. */
  private cursor = 0;
  /** The highest height handed to the core. */
  private applied = 0;
  private nextId = CATCH_UP_ID_BASE;
  private timer: TimerHandle | null = null;
  private stopped = false;
  /** The committed height last seen moving, and when: a catch-up whose blocks stop linking starts over from it. */
  private progressHeight = -1;
  private progressAt = 0;
  /** Blocks handed to the core since this catch-up began (for the log and metrics). */
  delivered = 0;
  /** Start at any distance behind, once (`nudge`). */
  private nudged = false;

  constructor(
    private readonly p: CatchUpPolicy,
    private readonly m: CatchUpPorts,
  ) {}

  /** Whether a sync response with this id answers one of our requests (else it is the core's). */
  static owns(requestId: number): boolean {
    return requestId >= CATCH_UP_ID_BASE;
  }

  get active(): boolean {
    return this.inFlight.size > 0 || this.todo.size > 0 || this.buffered.size > 0;
  }

  /** Highest committed height any peer announced, at most `maxHeight`. */
  get target(): number {
    let t = 0;
    for (const h of this.peerHeights.values()) if (h > t) t = h;
    return Math.min(t, this.m.maxHeight?.() ?? Infinity);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    this.inFlight.clear();
    this.todo.clear();
    this.buffered.clear();
  }

  onPeerHeight(peer: number, height: number): void {
    if (this.stopped) return;
    this.peerHeights.set(peer, height);
    this.pump();
  }

  /**
   * Catch up with whatever peers announced, however little it is ahead: a peer already talks in the next validator
   * set's epoch (node/epochShell.ts), so this node's epoch has ended without it — the blocks that ended it, with the
   * chain that committed them, are what it lacks, and no consensus message of its epoch will bring them any more.
   */
  nudge(): void {
    if (this.stopped || this.active) return;
    this.nudged = true;
    this.pump();
  }

  onPeerDown(peer: number): void {
    this.peerHeights.delete(peer);
    for (const r of [...this.inFlight.values()]) if (r.peer === peer) this.requeue(r);
    this.pump();
  }

  /** A validated answer to one of our requests. */
  onResponse(from: number, requestId: number, blocks: readonly VerifiedCertifiedBlock[]): void {
    const r = this.inFlight.get(requestId);
    if (r === undefined || r.peer !== from) {
      this.m.count("CATCH_UP_UNEXPECTED");
      return;
    }
    this.inFlight.delete(requestId);
    const first = blocks[0];
    const last = blocks[blocks.length - 1];
    // An answer may run past the range: a range that ends an epoch comes with the certified blocks that committed its
    // last block (node/epochShell.ts). They are kept; what is past `to` is not counted as received.
    const fits = first !== undefined && first.block.header.height === r.from;
    const got = fits ? Math.min(last!.block.header.height, r.to) : r.from - 1;
    if (fits) this.buffered.set(r.from, { from, blocks });
    if (got < r.to) {
      // What is left of the range goes back to the queue; a peer that had announced it and sent nothing withheld it.
      this.todo.set(got + 1, r.to);
      if (!fits && (this.peerHeights.get(from) ?? 0) >= r.from) this.misbehaved(from, "CATCH_UP_SHORT");
    }
    this.apply();
    this.pump();
  }

  /** One of our requests was answered with something validation refused (the shell penalised the peer already). */
  onInvalid(from: number, requestId: number): void {
    const r = this.inFlight.get(requestId);
    if (r === undefined || r.peer !== from) return;
    this.pausedUntil.set(from, this.m.scheduler.now() + this.p.pauseMs);
    this.requeue(r);
    this.pump();
  }

  /** Hands buffered answers to the core in height order, as far as they are contiguous. */
  private apply(): void {
    this.applied = Math.max(this.applied, this.m.committedHeight());
    for (;;) {
      let next: number | undefined;
      for (const start of this.buffered.keys()) if (start <= this.applied + 1 && (next === undefined || start < next)) next = start;
      if (next === undefined) return;
      const entry = this.buffered.get(next)!;
      this.buffered.delete(next);
      const fresh = entry.blocks.filter((b) => b.block.header.height > this.applied);
      if (fresh.length === 0) continue;
      this.applied = fresh[fresh.length - 1]!.block.header.height;
      this.delivered += fresh.length;
      this.m.deliver(entry.from, fresh);
      if (this.stopped) return;
      this.applied = Math.max(this.applied, this.m.committedHeight());
    }
  }

  /** Queues the ranges up to the peers' height and sends as many requests as the limits allow. */
  private pump(): void {
    if (this.stopped) return;
    const now = this.m.scheduler.now();
    const committed = this.m.committedHeight();
    this.applied = Math.max(this.applied, committed);
    const target = this.target;
    if (!this.active) {
      if (target <= committed + (this.nudged ? 0 : this.p.behindBlocks)) return;
      this.nudged = false;
      this.applied = committed;
      this.cursor = committed + 1;
      this.m.count("CATCH_UP_STARTED");
    }
    if (committed !== this.progressHeight) {
      this.progressHeight = committed;
      this.progressAt = now;
    } else if (this.applied > committed + 2 && now - this.progressAt > 2 * this.p.requestTimeoutMs) {
      // What we handed the core does not commit (it could not link it): start again from the committed head.
      this.m.count("CATCH_UP_RESTART");
      this.buffered.clear();
      this.todo.clear();
      this.applied = committed;
      this.cursor = committed + 1;
      this.progressAt = now;
    }
    // Drop what the chain already holds.
    for (const [from, to] of [...this.todo]) {
      if (to <= this.applied) this.todo.delete(from);
      else if (from <= this.applied) {
        this.todo.delete(from);
        this.todo.set(this.applied + 1, to);
      }
    }
    this.cursor = Math.max(this.cursor, this.applied + 1);
    // Ranges are queued at most 2·maxInFlight ranges above what the core holds: answers that wait for a lower, late
    // range stay bounded in memory whatever heights peers announce.
    const horizon = this.applied + 2 * this.p.maxInFlight * this.p.rangeBlocks;
    while (this.cursor <= Math.min(target, horizon) && this.todo.size < this.p.maxInFlight * 2) {
      const to = Math.min(target, horizon, this.cursor + this.p.rangeBlocks - 1);
      this.todo.set(this.cursor, to);
      this.cursor = to + 1;
    }
    const ranges = [...this.todo].sort((a, b) => a[0] - b[0]);
    for (const [from, to] of ranges) {
      if (this.inFlight.size >= this.p.maxInFlight) break;
      const peer = this.pickPeer(from, now);
      if (peer < 0) continue;
      const end = Math.min(to, this.peerHeights.get(peer)!);
      const id = this.nextId;
      this.nextId = this.nextId >= 0xffff_fffe ? CATCH_UP_ID_BASE : this.nextId + 1;
      if (!this.m.send(peer, { requestId: id, fromHeight: from, toHeight: end })) {
        this.pausedUntil.set(peer, now + this.p.pauseMs / 4);
        continue;
      }
      this.todo.delete(from);
      if (end < to) this.todo.set(end + 1, to);
      this.inFlight.set(id, { id, peer, from, to: end, sentAt: now });
    }
    this.armTimer();
  }

  /** The least busy peer that announced `height` and is not paused, or -1. */
  private pickPeer(height: number, now: number): number {
    let best = -1;
    let bestLoad = Infinity;
    for (const [peer, h] of this.peerHeights) {
      if (h < height || (this.pausedUntil.get(peer) ?? 0) > now) continue;
      let load = 0;
      for (const r of this.inFlight.values()) if (r.peer === peer) load++;
      if (load >= this.p.perPeer) continue;
      if (load < bestLoad) {
        best = peer;
        bestLoad = load;
      }
    }
    return best;
  }

  private requeue(r: Request): void {
    this.inFlight.delete(r.id);
    if (r.to > this.applied) this.todo.set(Math.max(r.from, this.applied + 1), r.to);
  }

  private misbehaved(peer: number, code: "CATCH_UP_SHORT" | "CATCH_UP_TIMEOUT"): void {
    this.pausedUntil.set(peer, this.m.scheduler.now() + this.p.pauseMs);
    this.m.withheld(peer, code);
  }

  /**
   * While requests are out: expire the late ones (another peer gets the range). A check that runs late means this
   * node's own loop was held (a catch-up commit of a few hundred blocks takes seconds): no answer could be read or
   * verified meanwhile, so that time is not counted against the peers. Without this, `quire bench catchup` (5,000
   * blocks) timed out 31-36 honest answers, paused their peers and fetched those ranges again.
   */
  private armTimer(): void {
    if (this.timer !== null || this.inFlight.size === 0 || this.stopped) return;
    const every = this.p.requestTimeoutMs / 4;
    const due = this.m.scheduler.now() + every;
    this.timer = this.m.scheduler.setTimeout(() => {
      this.timer = null;
      const now = this.m.scheduler.now();
      const held = now - due;
      if (held > 0) for (const [id, r] of this.inFlight) this.inFlight.set(id, { ...r, sentAt: r.sentAt + held });
      for (const r of [...this.inFlight.values()]) {
        if (now - r.sentAt < this.p.requestTimeoutMs) continue;
        this.requeue(r);
        this.misbehaved(r.peer, "CATCH_UP_TIMEOUT");
      }
      this.apply();
      this.pump();
    }, every);
  }
}
