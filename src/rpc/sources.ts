/**
 * Per-source accounting: who a request comes from, and how much of the server that source may hold at once.
 *
 * A *source* is the client's IP address; IPv6 addresses are grouped by their /64 prefix (one subscriber line or
 * host usually owns a whole /64, so counting single IPv6 addresses would let one attacker be 2^64 sources), and an
 * IPv4-mapped IPv6 address counts as its IPv4 address. Each source has:
 *
 * - a token bucket for requests per second (`requestsPerSecPerSource` tokens a second, up to `requestBurstPerSource`):
 *   every HTTP request and every stream upgrade takes one token; with none left the answer is 429 RATE_LIMITED with
 *   Retry-After. Expensive work can be charged after the fact (`charge`), which may put the bucket in debt: reading
 *   a large block costs tokens in proportion to its transactions (server.ts, `txsPerToken`);
 * - counts of what it holds: request bodies being received (slots and bytes) and stream subscriptions, each capped
 *   per source below the server's global cap, so one source can never take all of a global resource and new
 *   sources always find room (the shares and their reasons are in server.ts, DEFAULT_RPC_LIMITS).
 *
 * The table is bounded (`maxSources`) and forgets idle entries: an entry holding nothing whose bucket has refilled is
 * deleted by the once-a-second sweep. When the table is full, a new source evicts the oldest entry that holds
 * nothing (it may lose some bucket debt: the price of a bounded table). Entries that hold something are bounded by
 * the global caps (bodies in flight plus subscribers), which `maxSources` must exceed, so there is always one to evict.
 *
 * Time is the server's sweep tick (one a second): buckets refill by whole seconds and no clock is read per request.
 */
import { sourceKey as addressSourceKey } from "../net/admission.js";

/** One source's bucket and holdings. */
export interface SourceEntry {
  readonly key: string;
  /** Tokens left at `tick` (negative: in debt after a `charge`). */
  tokens: number;
  tick: number;
  /** Request bodies being received, and the body bytes they hold. */
  uploads: number;
  uploadBytes: number;
  /** Open `/v1/stream` subscriptions. */
  subscribers: number;
}

export interface SourceTableOptions {
  readonly requestsPerSec: number;
  readonly burst: number;
  readonly maxSources: number;
}

/** The source key of a remote address as uWS gives it (`getRemoteAddress()`: 4 or 16 bytes). */
export function sourceKey(addr: ArrayBuffer): string {
  // One keying rule for the p2p listener and the RPC (IPv4 as is, IPv4-mapped as IPv4, IPv6 by /64).
  return addressSourceKey(new Uint8Array(addr));
}

export class SourceTable {
  private readonly entries = new Map<string, SourceEntry>();
  /** Entries dropped to make room while the table was full. */
  evicted = 0;

  constructor(private readonly opts: SourceTableOptions) {}

  get size(): number {
    return this.entries.size;
  }

  /** The entry of `key`, created (with a full bucket) if absent. */
  get(key: string, tick: number): SourceEntry {
    const e = this.entries.get(key);
    if (e !== undefined) return e;
    if (this.entries.size >= this.opts.maxSources) this.evictOne();
    const fresh: SourceEntry = { key, tokens: this.opts.burst, tick, uploads: 0, uploadBytes: 0, subscribers: 0 };
    this.entries.set(key, fresh);
    return fresh;
  }

  /** Takes one token; false (nothing taken) when the bucket is empty or in debt. */
  take(e: SourceEntry, tick: number): boolean {
    this.refill(e, tick);
    if (e.tokens < 1) return false;
    e.tokens -= 1;
    return true;
  }

  /** Charges `cost` more tokens for work already done (the bucket may go into debt, at most one burst deep). */
  charge(e: SourceEntry, cost: number, tick: number): void {
    this.refill(e, tick);
    e.tokens = Math.max(-this.opts.burst, e.tokens - cost);
  }

  /** Whole seconds until `e` has a token again (at least 1). */
  retryAfterSec(e: SourceEntry): number {
    return Math.max(1, Math.ceil((1 - e.tokens) / this.opts.requestsPerSec));
  }

  /** Forgets entries that hold nothing and whose bucket is full again. Runs once a tick. */
  sweep(tick: number): void {
    for (const e of this.entries.values()) {
      if (holds(e)) continue;
      this.refill(e, tick);
      if (e.tokens >= this.opts.burst) this.entries.delete(e.key);
    }
  }

  private refill(e: SourceEntry, tick: number): void {
    if (tick <= e.tick) return;
    e.tokens = Math.min(this.opts.burst, e.tokens + (tick - e.tick) * this.opts.requestsPerSec);
    e.tick = tick;
  }

  private evictOne(): void {
    for (const e of this.entries.values()) {
      if (holds(e)) continue;
      this.entries.delete(e.key);
      this.evicted++;
      return;
    }
  }
}

/** The entry accounts for something still held (a body being received or answered, a subscription). */
function holds(e: SourceEntry): boolean {
  return e.uploads > 0 || e.uploadBytes > 0 || e.subscribers > 0;
}

/**
 * Slots of a global cap kept for sources that hold none: an eighth (32 of 256 uploads or stream subscribers). Without
 * it, 8 sources at their per-source share (1/8 each) fill the whole cap — easy with IPv6 (many /64s) or 127/8 locally.
 */
export function reservedForNewSources(cap: number): number {
  return Math.floor(cap / 8);
}
