/**
 * What a load run needs to remember per transaction, sized for millions of them: an id → index table and a few
 * packed per-index arrays. A run of 60 s at 30,000 tx/s sends 1.8 M txs; a JS `Map` from hex ids would cost
 * ~150 B per entry, this table 12 B per slot (at most half full: 24 B per tx).
 *
 * Ids are SHA-256 digests, so their first 64 bits are already uniformly spread: they are the key and the slot
 * index alike. Two different ids that share those 64 bits would be confused; among N sent ids the chance that a
 * given block id matches a wrong one is N / 2^64 (1e-13 for 2 M txs), which the checks accept.
 */

/** id (first 64 bits) → tx index, open addressing with linear probing. */
export class TxIdIndex {
  private hi: Uint32Array;
  private lo: Uint32Array;
  /** index + 1; 0 marks an empty slot. */
  private val: Int32Array;
  private mask: number;
  private count = 0;

  constructor(expected = 1024) {
    let cap = 1024;
    while (cap < 2 * expected) cap *= 2;
    this.hi = new Uint32Array(cap);
    this.lo = new Uint32Array(cap);
    this.val = new Int32Array(cap);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Remembers `id` (at least 8 bytes, read from `offset`) as tx `index`. A repeated id keeps its first index. */
  add(id: Uint8Array, index: number, offset = 0): void {
    if (2 * (this.count + 1) > this.val.length) this.grow();
    this.insert(readU32(id, offset), readU32(id, offset + 4), index + 1);
  }

  /** The index of `id` (its 8 bytes at `offset`), or -1. */
  get(id: Uint8Array, offset = 0): number {
    const h = readU32(id, offset);
    const l = readU32(id, offset + 4);
    for (let s = l & this.mask; ; s = (s + 1) & this.mask) {
      const v = this.val[s]!;
      if (v === 0) return -1;
      if (this.lo[s] === l && this.hi[s] === h) return v - 1;
    }
  }

  private insert(h: number, l: number, v: number): void {
    for (let s = l & this.mask; ; s = (s + 1) & this.mask) {
      if (this.val[s] === 0) {
        this.hi[s] = h;
        this.lo[s] = l;
        this.val[s] = v;
        this.count++;
        return;
      }
      if (this.lo[s] === l && this.hi[s] === h) return;
    }
  }

  private grow(): void {
    const { hi, lo, val } = this;
    this.hi = new Uint32Array(hi.length * 2);
    this.lo = new Uint32Array(hi.length * 2);
    this.val = new Int32Array(hi.length * 2);
    this.mask = this.val.length - 1;
    this.count = 0;
    for (let s = 0; s < val.length; s++) if (val[s] !== 0) this.insert(hi[s]!, lo[s]!, val[s]!);
  }
}

function readU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

type NumberArray = Uint8Array | Float64Array;

/** A per-index typed array that grows as indices arrive; unset entries read 0. */
class GrowableArray<A extends NumberArray> {
  private buf: A;
  constructor(
    private readonly make: (n: number) => A,
    initial: number,
  ) {
    this.buf = make(Math.max(16, initial));
  }
  get(i: number): number {
    return i < this.buf.length ? this.buf[i]! : 0;
  }
  set(i: number, v: number): void {
    if (i >= this.buf.length) {
      let n = this.buf.length;
      while (n <= i) n *= 2;
      const next = this.make(n);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[i] = v;
  }
}

/** Per-index flags (accepted, committed on node k). */
export class GrowableBytes extends GrowableArray<Uint8Array> {
  constructor(initial = 1024) {
    super((n) => new Uint8Array(n), initial);
  }
}

/** Per-index times in ms. */
export class GrowableTimes extends GrowableArray<Float64Array> {
  constructor(initial = 1024) {
    super((n) => new Float64Array(n), initial);
  }
}

/**
 * Latencies in 1 ms buckets up to 10 minutes (2.4 MB), exact max: percentiles at any moment without keeping or
 * sorting every sample (the live progress line asks for p50 once a second over millions of txs).
 */
export class LatencyHistogram {
  private readonly buckets = new Uint32Array(600_001);
  private n = 0;
  private maxMs = 0;

  get count(): number {
    return this.n;
  }

  add(ms: number): void {
    const v = Math.max(0, ms);
    this.buckets[Math.min(this.buckets.length - 1, Math.floor(v))]!++;
    this.n++;
    if (v > this.maxMs) this.maxMs = v;
  }

  /** The p-th percentile (0 < p ≤ 100) in ms, to the bucket's upper edge; the exact max at 100; NaN when empty. */
  percentile(p: number): number {
    if (this.n === 0) return NaN;
    if (p >= 100) return this.maxMs;
    const rank = Math.max(1, Math.ceil((p / 100) * this.n));
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i]!;
      if (seen >= rank) return Math.min(i + 1, this.maxMs);
    }
    return this.maxMs;
  }
}
