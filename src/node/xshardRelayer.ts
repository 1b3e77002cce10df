/**
 * The cross-shard relayer: carries each committed block's outbox records (LD and CL, chain/app/xshard) to their
 * destination shards as import txs. No trusted relayer: every node of the source shard runs one, the destination
 * verifies each import from its genesis and applies each record once, so a lying or silent relayer costs time, never
 * correctness.
 *
 * Who sends: for height h, validator h mod n of the source shard at once, every other one after `fallbackMs` × its
 * distance from that validator (so a crashed primary is covered within a few seconds, without n copies in the
 * normal case).
 *
 * When it is done: an import that the destination accepted into its mempool may still be lost (a crash before its
 * block), so the relayer sends it again after `confirmMs`; the destination's check answers REPLAYED once every record
 * of the import was applied, which is the confirmation. An import the destination refuses for another reason is
 * dropped and logged (a bug or a forgery: resending would not help). An unreachable destination node is retried on
 * the next of that shard's nodes, with backoff.
 *
 * Restarts: the relayer keeps no state of its own. On start it scans the last `rescanHeights` committed heights for
 * outboxes (the records are derived state, written with their block) and resends what the destinations do not
 * confirm — so a node killed mid-transfer resumes it. Older unconfirmed records are covered by the other nodes'
 * relayers; a whole shard restarting after more than `rescanHeights` blocks would need a larger rescan (a limit, see
 * the README).
 *
 * Driven by `tick(now)` (the node calls it on a timer, the simulator on its virtual clock): one implementation.
 */
import type { Outbox } from "../chain/app/xshard/outbox.js";
import { buildImports } from "../chain/app/xshard/outbox.js";
import type { Hasher } from "../crypto/hasher.js";
import type { Logger } from "./logger.js";

/** What a destination shard answered for one import. */
export type RelayAnswer = "accepted" | "applied" | "refused" | "unreachable";

export interface RelaySource {
  /** The committed outbox of height h, or null (no records, or not committed). */
  outboxAt(height: number): Outbox | null;
  /** The encoded commit proof of height h (store/records.ts encodeCommitProofRecord), or null when not provable yet. */
  commitProof(height: number): Uint8Array | null;
  /** The committed head height. */
  head(): number;
}

export interface RelaySink {
  /** Submits an import to one node of shard `dest` (the sink picks which, and moves on after `unreachable`). */
  submit(dest: number, tx: Uint8Array): Promise<{ readonly answer: RelayAnswer; readonly reason?: string }>;
}

export interface RelayerOptions {
  readonly shard: number;
  readonly validatorIndex: number;
  readonly validatorCount: number;
  /** Delay per rank before a non-primary validator relays a height; default 2,000 ms. */
  readonly fallbackMs?: number;
  /** Resend interval of an accepted, unconfirmed import; default 5,000 ms. */
  readonly confirmMs?: number;
  /** Heights scanned for outboxes on start; default 2,000. */
  readonly rescanHeights?: number;
  /** Heights in flight at most (oldest dropped, counted); default 10,000. */
  readonly maxPending?: number;
}

export interface RelayerStats {
  /** Imports submitted (first sends and resends). */
  submitted: number;
  /** Imports the destination confirmed (REPLAYED). */
  confirmed: number;
  refused: number;
  unreachable: number;
  /** Heights dropped because more than maxPending were in flight. */
  dropped: number;
}

const SCAN_PER_TICK = 512;

interface Delivery {
  readonly dest: number;
  readonly tx: Uint8Array;
  /** When to send next (ms); Infinity while a send is in flight. */
  nextAt: number;
  attempts: number;
}

interface PendingHeight {
  readonly height: number;
  /** When this node may start relaying it. */
  readonly notBefore: number;
  /** Built once the commit proof exists. */
  deliveries: Delivery[] | null;
}

export class XShardRelayer {
  readonly stats: RelayerStats = { submitted: 0, confirmed: 0, refused: 0, unreachable: 0, dropped: 0 };
  private readonly pending = new Map<number, PendingHeight>();
  private readonly fallbackMs: number;
  private readonly confirmMs: number;
  private readonly maxPending: number;
  private scannedTo = 0;

  constructor(
    private readonly opts: RelayerOptions,
    private readonly source: RelaySource,
    private readonly sink: RelaySink,
    private readonly hasher: Hasher,
    private readonly logger?: Logger,
  ) {
    this.fallbackMs = opts.fallbackMs ?? 2_000;
    this.confirmMs = opts.confirmMs ?? 5_000;
    this.maxPending = opts.maxPending ?? 10_000;
    this.scannedTo = Math.max(0, source.head() - (opts.rescanHeights ?? 2_000));
  }

  /** Heights with records not yet confirmed everywhere. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Picks up newly committed heights and sends what is due. Call it often (every 100–500 ms). */
  tick(now: number): void {
    // At most SCAN_PER_TICK heights a tick: a relayer far behind (a rescan, a node catching up) catches up over ticks.
    const head = Math.min(this.source.head(), this.scannedTo + SCAN_PER_TICK);
    for (let h = this.scannedTo + 1; h <= head; h++) {
      if (this.source.outboxAt(h) === null) continue;
      const n = this.opts.validatorCount;
      const rank = (((this.opts.validatorIndex - (h % n)) % n) + n) % n;
      this.pending.set(h, { height: h, notBefore: now + rank * this.fallbackMs, deliveries: null });
      if (this.pending.size > this.maxPending) {
        const oldest = this.pending.keys().next().value as number;
        this.pending.delete(oldest);
        this.stats.dropped++;
      }
    }
    this.scannedTo = Math.max(this.scannedTo, head);
    for (const p of this.pending.values()) {
      if (now < p.notBefore) continue;
      if (p.deliveries === null && !this.build(p)) continue;
      for (const d of p.deliveries!) if (d.nextAt <= now) this.send(p, d, now);
      if (p.deliveries!.length === 0) this.pending.delete(p.height);
    }
  }

  private build(p: PendingHeight): boolean {
    const outbox = this.source.outboxAt(p.height);
    if (outbox === null) {
      this.pending.delete(p.height);
      return false;
    }
    const proof = this.source.commitProof(p.height);
    if (proof === null) return false;
    const deliveries: Delivery[] = [];
    outbox.records.forEach((records, dest) => {
      if (dest === this.opts.shard || records.length === 0) return;
      for (const tx of buildImports(outbox, this.opts.shard, dest, proof, this.hasher)) deliveries.push({ dest, tx, nextAt: 0, attempts: 0 });
    });
    p.deliveries = deliveries;
    return true;
  }

  private send(p: PendingHeight, d: Delivery, now: number): void {
    d.nextAt = Infinity;
    d.attempts++;
    this.stats.submitted++;
    void this.sink.submit(d.dest, d.tx).then(
      (r) => this.answered(p, d, r.answer, r.reason, now),
      (e: unknown) => this.answered(p, d, "unreachable", String(e), now),
    );
  }

  private answered(p: PendingHeight, d: Delivery, answer: RelayAnswer, reason: string | undefined, sentAt: number): void {
    switch (answer) {
      case "applied":
        this.stats.confirmed++;
        this.remove(p, d);
        return;
      case "refused":
        this.stats.refused++;
        this.logger?.warn("cross-shard import refused", { height: p.height, dest: d.dest, reason });
        this.remove(p, d);
        return;
      case "accepted":
        d.nextAt = sentAt + this.confirmMs;
        return;
      case "unreachable":
        this.stats.unreachable++;
        d.nextAt = sentAt + Math.min(this.confirmMs, 250 * 2 ** Math.min(d.attempts, 5));
        return;
    }
  }

  private remove(p: PendingHeight, d: Delivery): void {
    const list = p.deliveries!;
    const i = list.indexOf(d);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.pending.delete(p.height);
  }
}
