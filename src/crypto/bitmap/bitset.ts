import { BitmapError } from "./errors.js";
import { WASM_MIN_WORDS_OPS, WASM_MIN_WORDS_SCAN, useWasm, wasmCount, wasmIndices, wasmWordOp } from "./wasmBitset.js";

/**
 * Hard upper bound on a bitset's length: 2^31 bits (256 MiB). Positions therefore fit a non-negative int32,
 * which keeps the TS and WASM index arithmetic simple. Quire indexes validators and transactions, far below it;
 * Roaring bitmaps holding values >= 2^31 are refused on import with `TOO_LARGE`.
 */
export const MAX_BITS = 2 ** 31;

/** Number of 32-bit words backing `length` bits: rounded up to whole 64-bit words, the unit of the WASM core. */
export function wordsFor(length: number): number {
  return Math.ceil(length / 64) * 2;
}

/** Population count of a 32-bit word (SWAR). */
export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Index of the lowest set bit of a non-zero 32-bit word. */
export function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

function checkLength(length: number): void {
  if (!Number.isSafeInteger(length) || length < 0 || length > MAX_BITS) {
    throw new BitmapError("BAD_ARGUMENT", `bitset length ${length} is not an integer in [0, ${MAX_BITS}]`, { length });
  }
}

/**
 * A fixed-length set of bit positions `[0, length)`, e.g. the signers of a quorum certificate (bit i = validator i
 * signed) or a block's tx-result bitmap (bit i = tx i failed).
 *
 * Storage is a `Uint32Array` of little-endian words (bit i is `words[i >>> 5] >>> (i & 31) & 1`), padded to whole
 * 64-bit words so the same bytes are the WASM core's u64 word array. Bits at or beyond `length` are always zero;
 * every method keeps that invariant, which is what lets `count`, `equals` and the codecs work word by word.
 */
export class Bitset {
  /** Number of positions, fixed at construction. */
  readonly length: number;
  /** The backing words (read-only by convention: writing bits at or beyond `length` breaks the invariant). */
  readonly words: Uint32Array;

  /**
   * An empty bitset of `length` bits (0 <= length <= MAX_BITS), or, with `words`, a view over existing words
   * without copying: `words.length` must be `wordsFor(length)` and bits at or beyond `length` must be zero
   * (`BAD_ARGUMENT` otherwise).
   */
  constructor(length: number, words?: Uint32Array) {
    checkLength(length);
    const need = wordsFor(length);
    if (words === undefined) words = new Uint32Array(need);
    else {
      if (words.length !== need) throw new BitmapError("BAD_ARGUMENT", `a ${length}-bit set needs ${need} words, got ${words.length}`);
      if (!tailIsZero(words, length)) throw new BitmapError("BAD_ARGUMENT", `bits at or beyond ${length} are set`);
    }
    this.length = length;
    this.words = words;
  }

  /** A bitset of `length` bits with the given positions set (duplicates allowed, order irrelevant). */
  static fromIndices(length: number, indices: Iterable<number> | ArrayLike<number>): Bitset {
    const b = new Bitset(length);
    const w = b.words;
    const add = (i: number): void => {
      if (!Number.isInteger(i) || i < 0 || i >= length) {
        throw new BitmapError("OUT_OF_RANGE", `index ${i} is outside [0, ${length})`, { index: i, length });
      }
      w[i >>> 5]! |= 1 << (i & 31);
    };
    if (Symbol.iterator in Object(indices)) for (const i of indices as Iterable<number>) add(i);
    else {
      const a = indices as ArrayLike<number>;
      for (let k = 0; k < a.length; k++) add(a[k]!);
    }
    return b;
  }

  private check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new BitmapError("OUT_OF_RANGE", `index ${i} is outside [0, ${this.length})`, { index: i, length: this.length });
    }
  }

  private same(other: Bitset): void {
    if (other.length !== this.length) {
      throw new BitmapError("BAD_ARGUMENT", `bitset lengths differ: ${this.length} vs ${other.length}`);
    }
  }

  /** True when position `i` is set. Throws `OUT_OF_RANGE` for i outside [0, length). */
  get(i: number): boolean {
    this.check(i);
    return ((this.words[i >>> 5]! >>> (i & 31)) & 1) === 1;
  }

  /** Sets position `i` (or clears it when `value` is false). Returns this. */
  set(i: number, value = true): this {
    this.check(i);
    if (value) this.words[i >>> 5]! |= 1 << (i & 31);
    else this.words[i >>> 5]! &= ~(1 << (i & 31));
    return this;
  }

  /** Clears position `i`. Returns this. */
  clear(i: number): this {
    return this.set(i, false);
  }

  /** Clears every position. Returns this. */
  clearAll(): this {
    this.words.fill(0);
    return this;
  }

  /** Sets every position in [from, to). Returns this. */
  setRange(from: number, to: number): this {
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > this.length || from > to) {
      throw new BitmapError("OUT_OF_RANGE", `range [${from}, ${to}) is outside [0, ${this.length}]`, { from, to, length: this.length });
    }
    setRangeWords(this.words, from, to);
    return this;
  }

  /** Number of set positions (i64.popcnt in the WASM core for large sets). */
  count(): number {
    const w = this.words;
    if (useWasm(w.length, WASM_MIN_WORDS_SCAN)) return wasmCount(w);
    let n = 0;
    for (let k = 0; k < w.length; k++) {
      const x = w[k]!;
      if (x !== 0) n += popcount32(x);
    }
    return n;
  }

  /** True when no position is set. */
  isEmpty(): boolean {
    const w = this.words;
    for (let k = 0; k < w.length; k++) if (w[k] !== 0) return false;
    return true;
  }

  /** A new bitset: positions set in both. Lengths must match (`BAD_ARGUMENT`). */
  and(other: Bitset): Bitset {
    return this.clone().andInPlace(other);
  }

  /** A new bitset: positions set in either. */
  or(other: Bitset): Bitset {
    return this.clone().orInPlace(other);
  }

  /** A new bitset: positions set in exactly one. */
  xor(other: Bitset): Bitset {
    return this.clone().xorInPlace(other);
  }

  /** A new bitset: positions set here and not in `other`. */
  andNot(other: Bitset): Bitset {
    return this.clone().andNotInPlace(other);
  }

  /** this &= other. Returns this. */
  andInPlace(other: Bitset): this {
    this.same(other);
    const a = this.words;
    const b = other.words;
    if (useWasm(a.length, WASM_MIN_WORDS_OPS)) wasmWordOp("and", a, b);
    else for (let k = 0; k < a.length; k++) a[k]! &= b[k]!;
    return this;
  }

  /** this |= other. Returns this. */
  orInPlace(other: Bitset): this {
    this.same(other);
    const a = this.words;
    const b = other.words;
    if (useWasm(a.length, WASM_MIN_WORDS_OPS)) wasmWordOp("or", a, b);
    else for (let k = 0; k < a.length; k++) a[k]! |= b[k]!;
    return this;
  }

  /** this ^= other. Returns this. */
  xorInPlace(other: Bitset): this {
    this.same(other);
    const a = this.words;
    const b = other.words;
    if (useWasm(a.length, WASM_MIN_WORDS_OPS)) wasmWordOp("xor", a, b);
    else for (let k = 0; k < a.length; k++) a[k]! ^= b[k]!;
    return this;
  }

  /** this &= ~other. Returns this. */
  andNotInPlace(other: Bitset): this {
    this.same(other);
    const a = this.words;
    const b = other.words;
    if (useWasm(a.length, WASM_MIN_WORDS_OPS)) wasmWordOp("andNot", a, b);
    else for (let k = 0; k < a.length; k++) a[k]! &= ~b[k]!;
    return this;
  }

  /** Same length and same positions. */
  equals(other: Bitset): boolean {
    if (other.length !== this.length) return false;
    const a = this.words;
    const b = other.words;
    for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
    return true;
  }

  /** An independent copy. */
  clone(): Bitset {
    return new Bitset(this.length, this.words.slice());
  }

  /** The set positions in increasing order. */
  toIndices(): Uint32Array {
    const w = this.words;
    if (useWasm(w.length, WASM_MIN_WORDS_SCAN)) return wasmIndices(w, this.count());
    const out = new Uint32Array(this.count());
    let n = 0;
    for (let k = 0; k < w.length; k++) {
      let x = w[k]!;
      while (x !== 0) {
        out[n++] = (k << 5) + ctz32(x);
        x &= x - 1;
      }
    }
    return out;
  }

  /** The lowest set position >= `from`, or -1. */
  nextSetBit(from: number): number {
    if (from < 0) from = 0;
    if (from >= this.length) return -1;
    const w = this.words;
    let k = from >>> 5;
    let x = w[k]! & (~0 << (from & 31));
    for (;;) {
      if (x !== 0) return (k << 5) + ctz32(x);
      if (++k >= w.length) return -1;
      x = w[k]!;
    }
  }

  /** Calls `fn` for each set position in increasing order. */
  forEach(fn: (index: number) => void): void {
    const w = this.words;
    for (let k = 0; k < w.length; k++) {
      let x = w[k]!;
      while (x !== 0) {
        fn((k << 5) + ctz32(x));
        x &= x - 1;
      }
    }
  }

  /** Iterates the set positions in increasing order. */
  *[Symbol.iterator](): IterableIterator<number> {
    const w = this.words;
    for (let k = 0; k < w.length; k++) {
      let x = w[k]!;
      while (x !== 0) {
        yield (k << 5) + ctz32(x);
        x &= x - 1;
      }
    }
  }

  /** A short description for logs: `Bitset(1024: 683 set)`. */
  toString(): string {
    return `Bitset(${this.length}: ${this.count()} set)`;
  }
}

/**
 * Checks that `indices` is a valid sorted position list of a `length`-bit set (the input of the list codecs):
 * `length` in [0, MAX_BITS] (BAD_ARGUMENT), and, position by position, each below `length` (OUT_OF_RANGE) and
 * above the one before it (NOT_INCREASING). The payload names the first offending index.
 */
export function checkSortedIndices(length: number, indices: Uint32Array): void {
  checkLength(length);
  let prev = -1;
  for (let i = 0; i < indices.length; i++) {
    const v = indices[i]!;
    if (v >= length) throw new BitmapError("OUT_OF_RANGE", `position ${v} at index ${i} is outside [0, ${length})`, { index: i, value: v, length });
    if (v <= prev) throw new BitmapError("NOT_INCREASING", `position ${v} at index ${i} does not exceed ${prev}`, { index: i, value: v, previous: prev });
    prev = v;
  }
}

/** BAD_ARGUMENT unless `out` holds `count` positions (the output of the list decoders' `Into` forms). */
export function checkIndicesRoom(out: Uint32Array, count: number): void {
  if (count > out.length) throw new BitmapError("BAD_ARGUMENT", `the bitmap has ${count} positions, the output holds ${out.length}`, { count, room: out.length });
}

/** Sets bits [from, to) of little-endian 32-bit words (no bounds checks: callers validate). */
export function setRangeWords(w: Uint32Array, from: number, to: number): void {
  if (from >= to) return;
  const first = from >>> 5;
  const last = (to - 1) >>> 5;
  const lo = ~0 << (from & 31);
  const hi = ~0 >>> (31 - ((to - 1) & 31));
  if (first === last) {
    w[first]! |= lo & hi;
    return;
  }
  w[first]! |= lo;
  w.fill(0xffffffff, first + 1, last);
  w[last]! |= hi;
}

/** True when every bit at or beyond `length` in `w` is zero. */
export function tailIsZero(w: Uint32Array, length: number): boolean {
  const full = length >>> 5;
  const rem = length & 31;
  let k = full;
  if (rem !== 0) {
    if ((w[k]! & (~0 << rem)) !== 0) return false;
    k++;
  }
  for (; k < w.length; k++) if (w[k] !== 0) return false;
  return true;
}
