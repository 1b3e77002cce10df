// Bitmaps: dense bitset operations over u64 word arrays, the compact Quire codec (DENSE / Elias-Fano SPARSE /
// Elias-Fano RUNS — the byte format is specified in src/crypto/bitmap/format.ts), and the Roaring portable format.
//
// Every pointer is an offset into the scratch arena (arena.ts) that the TS side filled. Word arrays are little-endian
// u64 words, bit i = (word[i >> 6] >> (i & 63)) & 1, with bits at or beyond the length zero. No managed allocation.
//
// Error reporting: decoders return 0 on success or a negative code (the table below, mirrored by
// src/crypto/bitmap/wasmCodec.ts) and leave the failing byte offset in `bitmapErrorOffset()`. They check every
// field in the same order as the TS reference decoder, so both report the same code for the same bytes.

const E_TRUNCATED: i32 = -1;
const E_TRAILING_BYTES: i32 = -2;
const E_BAD_TAG: i32 = -3;
const E_BAD_VARINT: i32 = -4;
const E_TOO_LARGE: i32 = -5;
const E_OUT_OF_RANGE: i32 = -7;
const E_NOT_INCREASING: i32 = -8;
const E_BAD_COUNT: i32 = -9;
const E_BAD_PADDING: i32 = -10;
const E_BAD_PARAMETER: i32 = -11;
const E_BAD_ROARING: i32 = -12;

const TAG_DENSE_MAX: u32 = 0x07;
const TAG_SPARSE: u32 = 0x10;
const TAG_RUNS: u32 = 0x11;
const MAX_EF_WIDTH: u32 = 31;

let errOffset: u32 = 0;

/** Byte offset of the last decode error. */
export function bitmapErrorOffset(): u32 {
  return errOffset;
}

@inline function fail(code: i32, offset: u32): i32 {
  errOffset = offset;
  return code;
}

// ---------------------------------------------------------------------------------------------------------------
// Dense bitset operations

/** Number of set bits in `nWords` u64 words. */
export function bitsetCount(words: usize, nWords: u32): u32 {
  let n: u64 = 0;
  const end = words + (<usize>nWords << 3);
  for (let p = words; p < end; p += 8) n += popcnt<u64>(load<u64>(p));
  return <u32>n;
}

/** dst = a & b over `nWords` words (dst may alias a or b). */
export function bitsetAnd(dst: usize, a: usize, b: usize, nWords: u32): void {
  for (let k: usize = 0; k < <usize>nWords << 3; k += 8) store<u64>(dst + k, load<u64>(a + k) & load<u64>(b + k));
}

/** dst = a | b. */
export function bitsetOr(dst: usize, a: usize, b: usize, nWords: u32): void {
  for (let k: usize = 0; k < <usize>nWords << 3; k += 8) store<u64>(dst + k, load<u64>(a + k) | load<u64>(b + k));
}

/** dst = a ^ b. */
export function bitsetXor(dst: usize, a: usize, b: usize, nWords: u32): void {
  for (let k: usize = 0; k < <usize>nWords << 3; k += 8) store<u64>(dst + k, load<u64>(a + k) ^ load<u64>(b + k));
}

/** dst = a & ~b. */
export function bitsetAndNot(dst: usize, a: usize, b: usize, nWords: u32): void {
  for (let k: usize = 0; k < <usize>nWords << 3; k += 8) store<u64>(dst + k, load<u64>(a + k) & ~load<u64>(b + k));
}

/** Bit i (the caller checks i against the length). */
export function bitsetGet(words: usize, i: u32): u32 {
  return <u32>((load<u64>(words + ((<usize>i >> 6) << 3)) >> (<u64>i & 63)) & 1);
}

/** Sets bit i. */
export function bitsetSet(words: usize, i: u32): void {
  const p = words + ((<usize>i >> 6) << 3);
  store<u64>(p, load<u64>(p) | (<u64>1 << (<u64>i & 63)));
}

/** Clears bit i. */
export function bitsetClear(words: usize, i: u32): void {
  const p = words + ((<usize>i >> 6) << 3);
  store<u64>(p, load<u64>(p) & ~(<u64>1 << (<u64>i & 63)));
}

/** Writes the set positions as u32 values at `out` in increasing order; returns how many. */
export function bitsetIndices(words: usize, nWords: u32, out: usize): u32 {
  let n: u32 = 0;
  for (let k: u32 = 0; k < nWords; k++) {
    let x = load<u64>(words + (<usize>k << 3));
    const base = k << 6;
    while (x != 0) {
      store<u32>(out + (<usize>n << 2), base + <u32>ctz<u64>(x));
      n++;
      x &= x - 1;
    }
  }
  return n;
}

/** Sets bits [from, to) (from <= to, both within the words). */
function setRange(words: usize, from: u32, to: u32): void {
  if (from >= to) return;
  const first = from >> 6;
  const last = (to - 1) >> 6;
  const lo = <u64>-1 << (<u64>from & 63);
  const hi = <u64>-1 >> (63 - (<u64>(to - 1) & 63));
  const pf = words + (<usize>first << 3);
  if (first == last) {
    store<u64>(pf, load<u64>(pf) | (lo & hi));
    return;
  }
  store<u64>(pf, load<u64>(pf) | lo);
  if (last > first + 1) memory.fill(pf + 8, 0xff, <usize>(last - first - 1) << 3);
  const pl = words + (<usize>last << 3);
  store<u64>(pl, load<u64>(pl) | hi);
}

/** Exported for tests: sets bits [from, to). */
export function bitsetSetRange(words: usize, from: u32, to: u32): void {
  setRange(words, from, to);
}

// ---------------------------------------------------------------------------------------------------------------
// Compact codec: sizes and the canonical choice (mirrors chooseKind in format.ts exactly)

@inline function varintSize(v: u32): u32 {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

@inline function efBytes(m: u32, last: u32, l: u32): u64 {
  if (m == 0) return 0;
  return ((<u64>m * l + 7) >> 3) + ((<u64>(last >> l) + m + 7) >> 3);
}

function efWidth(m: u32, last: u32): u32 {
  if (m == 0) return 0;
  let best: u32 = 0;
  let bestBytes = efBytes(m, last, 0);
  for (let l: u32 = 1; l <= MAX_EF_WIDTH; l++) {
    const b = efBytes(m, last, l);
    if (b < bestBytes) {
      best = l;
      bestBytes = b;
    }
  }
  return best;
}

@inline function efEncodingSize(n: u32, m: u32, last: u32): u64 {
  return 2 + <u64>varintSize(n) + varintSize(m) + efBytes(m, last, efWidth(m, last));
}

// Encoder statistics of the last scan (module globals: the stub runtime has no tuples).
let stCount: u32 = 0;
let stLastSet: u32 = 0;
let stTransitions: u32 = 0;
let stLastTransition: u32 = 0;

// The transitions word k of the set: bit t set where bit t != bit t-1 (bit -1 = 0), cut at n. `carryIn` is bit 63
// of the previous word.
@inline function transitions(x: u64, carryIn: u64, k: u32, used: u32, n: u32): u64 {
  const tr = x ^ ((x << 1) | carryIn);
  return k == used - 1 && (n & 63) != 0 ? tr & ((<u64>1 << <u64>(n & 63)) - 1) : tr;
}

/** One pass: set bits, last set bit, transitions below n, last transition. */
function scanStats(words: usize, n: u32): void {
  stCount = 0;
  stTransitions = 0;
  stLastSet = 0;
  stLastTransition = 0;
  const used = (n + 63) >> 6;
  if (used == 0) return;
  // The loop body has no branches: at a 1% density about half of all 64-bit words are non-zero, so tracking the
  // last set word with a branch mispredicted on every other word (this scan of 100,000 bits at 1%: 1.8 us with
  // the branches, 0.84 us without; best of 30 batches). The last positions are found afterwards, scanning back.
  let count: u64 = 0;
  let trs: u64 = 0;
  let carry: u64 = 0;
  const lastK = used - 1;
  for (let p = words, end = words + (<usize>lastK << 3); p < end; p += 8) {
    const x = load<u64>(p);
    count += popcnt<u64>(x);
    trs += popcnt<u64>(x ^ ((x << 1) | carry));
    carry = x >> 63;
  }
  const xl = load<u64>(words + (<usize>lastK << 3));
  count += popcnt<u64>(xl);
  trs += popcnt<u64>(transitions(xl, carry, lastK, used, n));
  stCount = <u32>count;
  stTransitions = <u32>trs;
  if (count != 0) {
    let k = lastK;
    while (load<u64>(words + (<usize>k << 3)) == 0) k--;
    stLastSet = (k << 6) + 63 - <u32>clz<u64>(load<u64>(words + (<usize>k << 3)));
  }
  if (trs != 0) {
    let k = lastK;
    for (;;) {
      const prev = k == 0 ? <u64>0 : load<u64>(words + (<usize>(k - 1) << 3)) >> 63;
      const tr = transitions(load<u64>(words + (<usize>k << 3)), prev, k, used, n);
      if (tr != 0) {
        stLastTransition = (k << 6) + 63 - <u32>clz<u64>(tr);
        break;
      }
      k--;
    }
  }
}

// Positions of one block of FLAT_WORDS words, flattened before they are Elias-Fano coded: a static buffer keeps
// the encoder's scratch constant (16 KiB) whatever the bitset's size.
const FLAT_WORDS: u32 = 64;
const FLAT = memory.data((FLAT_WORDS * 64 + 4) * 4, 16);

/**
 * Writes the positions of the set bits of words [k0, k1) (or of their transitions when `runs`; `carry` is bit 63
 * of word k0-1) as u32 at FLAT; returns the count. Branch-light: every word stores two candidate positions
 * unconditionally and advances the cursor by its popcount, so only words with more than two set bits take the
 * data-dependent loop (2.6% of words at a 1% density, and predictably most words of dense sets); a branch per
 * word or per bit would mispredict on about every other word of a sparse set.
 */
function flatten(words: usize, k0: u32, k1: u32, used: u32, n: u32, runs: bool, carry: u64): u32 {
  let o = FLAT;
  for (let k = k0; k < k1; k++) {
    let x = load<u64>(words + (<usize>k << 3));
    if (runs) {
      const tr = transitions(x, carry, k, used, n);
      carry = x >> 63;
      x = tr;
    }
    const base = k << 6;
    const c = <u32>popcnt<u64>(x);
    store<u32>(o, base + <u32>ctz<u64>(x));
    x &= x - 1;
    store<u32>(o, base + <u32>ctz<u64>(x), 4);
    x &= x - 1;
    if (c > 2) {
      let q = o + 8;
      while (x != 0) {
        store<u32>(q, base + <u32>ctz<u64>(x));
        q += 4;
        x &= x - 1;
      }
    }
    o += <usize>c << 2;
  }
  return <u32>((o - FLAT) >> 2);
}

/** Upper bound on an encoding's size for n bits: the encoder never writes more than DENSE. */
export function bitmapMaxEncodedSize(n: u32): u32 {
  return 1 + ((n + 7) >> 3);
}

@inline function writeVarint(p: usize, v: u32): usize {
  while (v >= 0x80) {
    store<u8>(p++, <u8>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  store<u8>(p++, <u8>v);
  return p;
}

// ---------------------------------------------------------------------------------------------------------------
// Compact codec: the fast encoder for sparse sets
//
// The general encoder (bitmapEncode below) scans every word twice: once for the statistics (count, transitions,
// last positions; 0.87 us for 100,000 bits) and once to flatten the positions block by block for the Elias-Fano
// writer. For a sparse set most words are zero (52% at a 1% density) and the statistics follow from the
// positions themselves, so the fast path flattens once, straight into the arena, and derives everything from the
// list: count and last set position directly; runs = count - (adjacent pairs); transitions = 2 runs, minus one
// when the last run reaches n. When the list outgrows its room (a dense set) or RUNS wins, the general path runs.
// Measured (core call alone, 100,000 bits, 965 positions, l = 6, best of 30 x 20,000): general path 3.6 us; this
// path 1.95 us = flatten 1.08 + statistics 0.12 + LOW 0.26 + HIGH 0.5. The flatten is bound by the ~30
// instructions spent per non-zero word (750 of them); LOW went from 0.79 us (one value at a time, a branch-free
// accumulator) to 0.26 us with eight values per step at a constant width; HIGH from 0.91 to 0.5 us with the
// positions turned into HIGH positions four at a time first.

/** Sets of fewer words take the general path: it is already short there, and a dense set would pay twice. */
const FAST_ENCODE_MIN_WORDS: u32 = 128;

/**
 * Flattens the set positions of words [0, nWords) to u32 values at `out`, in order. Returns their number, or -1
 * once they pass `cap` (the buffer holds cap + 66 values: a word may write 64 past the check, plus two).
 * The SIMD build finds the non-zero words of each 64-word block with vector compares and visits only those; the
 * scalar build visits every word. A word stores two positions unconditionally and only words with more than two
 * set bits take a data-dependent loop (2.6% of the words at a 1% density).
 */
function flattenAll(words: usize, nWords: u32, out: usize, cap: u32): i32 {
  let o = out;
  const capEnd = out + (<usize>cap << 2);
  for (let k0: u32 = 0; k0 < nWords; k0 += 64) {
    const kn = min(64, nWords - k0);
    const block = words + (<usize>k0 << 3);
    let mask: u64 = 0;
    if (ASC_FEATURE_SIMD && kn == 64) {
      const zero = i64x2.splat(0);
      let zeros: u64 = 0;
      for (let j: u32 = 0; j < 64; j += 8) {
        // Eight words -> eight mask bits: compare, keep one i32 lane per word, narrow to i16 lanes, one bitmask.
        const p = block + (<usize>j << 3);
        const e0 = i64x2.eq(v128.load(p), zero);
        const e1 = i64x2.eq(v128.load(p, 16), zero);
        const e2 = i64x2.eq(v128.load(p, 32), zero);
        const e3 = i64x2.eq(v128.load(p, 48), zero);
        const a = i8x16.shuffle(e0, e1, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
        const b = i8x16.shuffle(e2, e3, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
        zeros |= <u64>i16x8.bitmask(i16x8.narrow_i32x4_s(a, b)) << <u64>j;
      }
      mask = ~zeros;
    } else {
      mask = kn == 64 ? <u64>-1 : (<u64>1 << <u64>kn) - 1;
    }
    while (mask != 0) {
      const k = <u32>ctz<u64>(mask);
      mask &= mask - 1;
      let x = load<u64>(block + (<usize>k << 3));
      const base = (k0 + k) << 6;
      const c = <u32>popcnt<u64>(x);
      store<u32>(o, base + <u32>ctz<u64>(x));
      x &= x - 1;
      store<u32>(o, base + <u32>ctz<u64>(x), 4);
      x &= x - 1;
      if (c > 2) {
        let q = o + 8;
        while (x != 0) {
          store<u32>(q, base + <u32>ctz<u64>(x));
          q += 4;
          x &= x - 1;
        }
      }
      o += <usize>c << 2;
      if (o > capEnd) return -1;
    }
  }
  return <i32>((o - out) >> 2);
}

/** Writes the DENSE encoding of the n bits at `words` to `out`; returns its size. */
function writeDense(words: usize, n: u32, out: usize): u32 {
  const body = (n + 7) >> 3;
  store<u8>(out, <u8>((body << 3) - n));
  memory.copy(out + 1, words, body);
  return 1 + body;
}

/**
 * LOW bits of the 8 values at `e` (l = L, a constant after inlining: every shift below is an immediate and every
 * branch folds away) as L bytes at `q`, written as one or two unaligned u64 stores that may run past the L bytes
 * (the next group, or HIGH written afterwards, overwrites them).
 */
@inline function low8(q: usize, e: usize, L: u32): void {
  const mask: u32 = (<u32>1 << L) - 1;
  let lo: u64 = 0;
  let hi: u64 = 0;
  let f: u64;
  f = <u64>(load<u32>(e, 0) & mask);
  if (L * 0 < 64) {
    lo |= f << <u64>(L * 0);
    if (L * 0 + L > 64) hi |= f >> <u64>(64 - L * 0);
  } else hi |= f << <u64>(L * 0 - 64);
  f = <u64>(load<u32>(e, 4) & mask);
  if (L * 1 < 64) {
    lo |= f << <u64>(L * 1);
    if (L * 1 + L > 64) hi |= f >> <u64>(64 - L * 1);
  } else hi |= f << <u64>(L * 1 - 64);
  f = <u64>(load<u32>(e, 8) & mask);
  if (L * 2 < 64) {
    lo |= f << <u64>(L * 2);
    if (L * 2 + L > 64) hi |= f >> <u64>(64 - L * 2);
  } else hi |= f << <u64>(L * 2 - 64);
  f = <u64>(load<u32>(e, 12) & mask);
  if (L * 3 < 64) {
    lo |= f << <u64>(L * 3);
    if (L * 3 + L > 64) hi |= f >> <u64>(64 - L * 3);
  } else hi |= f << <u64>(L * 3 - 64);
  f = <u64>(load<u32>(e, 16) & mask);
  if (L * 4 < 64) {
    lo |= f << <u64>(L * 4);
    if (L * 4 + L > 64) hi |= f >> <u64>(64 - L * 4);
  } else hi |= f << <u64>(L * 4 - 64);
  f = <u64>(load<u32>(e, 20) & mask);
  if (L * 5 < 64) {
    lo |= f << <u64>(L * 5);
    if (L * 5 + L > 64) hi |= f >> <u64>(64 - L * 5);
  } else hi |= f << <u64>(L * 5 - 64);
  f = <u64>(load<u32>(e, 24) & mask);
  if (L * 6 < 64) {
    lo |= f << <u64>(L * 6);
    if (L * 6 + L > 64) hi |= f >> <u64>(64 - L * 6);
  } else hi |= f << <u64>(L * 6 - 64);
  f = <u64>(load<u32>(e, 28) & mask);
  if (L * 7 < 64) {
    lo |= f << <u64>(L * 7);
    if (L * 7 + L > 64) hi |= f >> <u64>(64 - L * 7);
  } else hi |= f << <u64>(L * 7 - 64);
  store<u64>(q, lo);
  if (L > 8) store<u64>(q, hi, 8);
}

/**
 * Writes the SPARSE encoding of the m positions at `list` (sorted, below n) with width l to `out` (zeroed
 * beforehand for size + 8 bytes; `out` has 16 more bytes of room).
 */
function writeSparseList(out: usize, n: u32, m: u32, l: u32, list: usize): void {
  store<u8>(out, <u8>TAG_SPARSE);
  let p = writeVarint(out + 1, n);
  p = writeVarint(p, m);
  store<u8>(p++, <u8>l);
  const low = p;
  const high = low + <usize>((<u64>m * l + 7) >> 3);
  const end = list + (<usize>m << 2);
  // LOW, eight values (l bytes) at a time for l <= 16 (about 4 instructions per value), then one at a time.
  let e = list;
  let q = low;
  if (l <= 16) {
    const end8 = list + (<usize>(m & ~7) << 2);
    switch (l) {
        case 1: for (; e < end8; e += 32, q += 1) low8(q, e, 1); break;
        case 2: for (; e < end8; e += 32, q += 2) low8(q, e, 2); break;
        case 3: for (; e < end8; e += 32, q += 3) low8(q, e, 3); break;
        case 4: for (; e < end8; e += 32, q += 4) low8(q, e, 4); break;
        case 5: for (; e < end8; e += 32, q += 5) low8(q, e, 5); break;
        case 6: for (; e < end8; e += 32, q += 6) low8(q, e, 6); break;
        case 7: for (; e < end8; e += 32, q += 7) low8(q, e, 7); break;
        case 8: for (; e < end8; e += 32, q += 8) low8(q, e, 8); break;
        case 9: for (; e < end8; e += 32, q += 9) low8(q, e, 9); break;
        case 10: for (; e < end8; e += 32, q += 10) low8(q, e, 10); break;
        case 11: for (; e < end8; e += 32, q += 11) low8(q, e, 11); break;
        case 12: for (; e < end8; e += 32, q += 12) low8(q, e, 12); break;
        case 13: for (; e < end8; e += 32, q += 13) low8(q, e, 13); break;
        case 14: for (; e < end8; e += 32, q += 14) low8(q, e, 14); break;
        case 15: for (; e < end8; e += 32, q += 15) low8(q, e, 15); break;
        case 16: for (; e < end8; e += 32, q += 16) low8(q, e, 16); break;
    }
  }
  const lowMask: u32 = (<u32>1 << l) - 1;
  let acc: u64 = 0;
  let bits: u32 = 0;
  for (; e < end; e += 4) {
    acc |= <u64>(load<u32>(e) & lowMask) << <u64>bits;
    bits += l;
    if (bits >= 32) {
      store<u32>(q, <u32>acc);
      q += 4;
      acc >>= 32;
      bits -= 32;
    }
  }
  store<u64>(q, acc); // the last partial bytes (bits past LOW are zero)
  // HIGH: bit (v >> l) + i per value, through a register word stored when the next value leaves it. The LOW stores
  // may have run into HIGH's first bytes: clear them first.
  memory.fill(high, 0, 16);
  // The list becomes the HIGH positions (v >> l) + i, in place (LOW is written).
  let i: u32 = 0;
  if (ASC_FEATURE_SIMD) {
    let iv = i32x4(0, 1, 2, 3);
    const four = i32x4.splat(4);
    for (; i + 4 <= m; i += 4, iv = i32x4.add(iv, four)) {
      const at = list + (<usize>i << 2);
      v128.store(at, i32x4.add(i32x4.shr_u(v128.load(at), l), iv));
    }
  }
  for (; i < m; i++) {
    const at = list + (<usize>i << 2);
    store<u32>(at, (load<u32>(at) >> l) + i);
  }
  let hacc: u64 = 0;
  let hw: u32 = 0;
  for (e = list; e < end; e += 4) {
    const h = load<u32>(e);
    if ((h >> 6) != hw) {
      store<u64>(high + (<usize>hw << 3), hacc);
      hacc = 0;
      hw = h >> 6;
    }
    hacc |= <u64>1 << <u64>h;
  }
  store<u64>(high + (<usize>hw << 3), hacc);
}

/** The number of i in [1, m) with list[i] = list[i - 1] + 1 (runs = m - this). */
function adjacentPairs(list: usize, m: u32): u32 {
  let adjacent: u32 = 0;
  let i: u32 = 1;
  if (ASC_FEATURE_SIMD) {
    // Four at a time (0.47 us -> 0.06 us for 965 positions): lanes equal to their predecessor + 1 count -1 each.
    let acc = i32x4.splat(0);
    const one = i32x4.splat(1);
    for (; i + 4 <= m; i += 4) {
      const at = list + (<usize>i << 2);
      acc = i32x4.sub(acc, i32x4.eq(v128.load(at), i32x4.add(v128.load(at - 4), one)));
    }
    adjacent = <u32>(i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3));
  }
  let prev = load<u32>(list + (<usize>(i - 1) << 2));
  for (; i < m; i++) {
    const v = load<u32>(list + (<usize>i << 2));
    adjacent += <u32>(v == prev + 1);
    prev = v;
  }
  return adjacent;
}

// The canonical choice for a sorted position list (listKind), shared by the fast path and bitmapEncodeList.
let listSize: u64 = 0; // size of the encoding listKind chose
let listLast: u32 = 0; // largest position (0 when m = 0)

/**
 * The kind the encoder writes for the m sorted positions at `list` over n bits (0 DENSE, 1 SPARSE, 2 RUNS, exactly
 * as chooseKind in format.ts), from the list alone: count and last position directly; runs = count - (adjacent
 * pairs); transitions = 2 runs, minus one when the last run reaches n. Its size goes to listSize.
 */
function listKind(n: u32, list: usize, m: u32): u32 {
  let lastSet: u32 = 0;
  let transitions: u32 = 0;
  let lastTransition: u32 = 0;
  if (m > 0) {
    lastSet = load<u32>(list + (<usize>(m - 1) << 2));
    const adjacent = adjacentPairs(list, m);
    const toEnd = lastSet == n - 1;
    transitions = 2 * (m - adjacent) - <u32>toEnd;
    if (toEnd) {
      // The last transition starts the last run.
      let j = m - 1;
      while (j > 0 && load<u32>(list + (<usize>(j - 1) << 2)) + 1 == load<u32>(list + (<usize>j << 2))) j--;
      lastTransition = load<u32>(list + (<usize>j << 2));
    } else {
      lastTransition = lastSet + 1;
    }
  }
  listLast = lastSet;
  const dense: u64 = 1 + ((<u64>n + 7) >> 3);
  const sparse = efEncodingSize(n, m, lastSet);
  const runs = efEncodingSize(n, transitions, lastTransition);
  if (runs < min(dense, sparse)) {
    listSize = runs;
    return 2;
  }
  if (dense <= sparse) {
    listSize = dense;
    return 0;
  }
  listSize = sparse;
  return 1;
}

/** Writes the SPARSE encoding listKind chose for the m positions at `list` (consumed) to `out`; returns its size. */
function writeListed(out: usize, n: u32, m: u32, list: usize): u32 {
  memory.fill(out, 0, <usize>listSize + 8);
  writeSparseList(out, n, m, efWidth(m, listLast), list);
  return <u32>listSize;
}

/**
 * The fast path: the encoding's size, or 0 when the general path must encode (too many positions for `cap`, or
 * RUNS is the smallest kind). `list` has room for cap + 66 u32 values.
 */
function encodeSparseFast(words: usize, n: u32, out: usize, list: usize, cap: u32): u32 {
  const nWords = (n + 63) >> 6;
  const got = flattenAll(words, nWords, list, cap);
  if (got < 0) return 0;
  const m = <u32>got;
  const kind = listKind(n, list, m);
  if (kind == 2) return 0;
  if (kind == 0) return writeDense(words, n, out);
  return writeListed(out, n, m, list);
}

/** True when the m values at `list` strictly increase and stay below n (i32x4.gt_u four at a time). */
function listValid(list: usize, m: u32, n: u32): bool {
  if (m == 0) return true;
  if (load<u32>(list + (<usize>(m - 1) << 2)) >= n) return false;
  let i: u32 = 1;
  let ok = true;
  if (ASC_FEATURE_SIMD) {
    let all = i32x4.splat(-1);
    for (; i + 4 <= m; i += 4) {
      const at = list + (<usize>i << 2);
      all = v128.and(all, i32x4.gt_u(v128.load(at), v128.load(at - 4)));
    }
    ok = i32x4.all_true(all);
  }
  for (; i < m; i++) ok = ok && load<u32>(list + (<usize>i << 2)) > load<u32>(list + (<usize>(i - 1) << 2));
  return ok;
}

/**
 * Encodes the set given as its m positions at `list` (u32, meant to be strictly increasing and below n; the list
 * is overwritten) in the canonical compact format at `out` (room as for bitmapEncode) and returns the size, the
 * same bytes bitmapEncode writes for the same set. Returns -1 when the list is not strictly increasing or reaches
 * n: the caller finds and reports the offending position. A SPARSE result is written from the list directly
 * (nothing of size n is touched); DENSE and RUNS set the positions in `words` (room for n bits, zeroed here) and
 * take the general encoder.
 */
export function bitmapEncodeList(list: usize, m: u32, n: u32, out: usize, words: usize): i32 {
  if (!listValid(list, m, n)) return -1;
  const kind = listKind(n, list, m);
  if (kind == 1) return <i32>writeListed(out, n, m, list);
  memory.fill(words, 0, <usize>((n + 63) >> 6) << 3);
  for (let e = list, end = list + (<usize>m << 2); e < end; e += 4) {
    const v = load<u32>(e);
    const wp = words + (<usize>(v >> 6) << 3);
    store<u64>(wp, load<u64>(wp) | (<u64>1 << <u64>(v & 63)));
  }
  return <i32>bitmapEncode(words, n, out, 0, 0);
}

/**
 * Encodes the n-bit set at `words` in the canonical compact format at `out` and returns the size. `out` must hold
 * bitmapMaxEncodedSize(n) + 8 bytes (the Elias-Fano writer stores whole u64 words of HIGH, the last one may
 * reach 7 bytes past the encoding). With `cap` > 0, `list` has room for cap + 66 u32 values and sparse sets take
 * the fast path (cap bounds the positions it flattens before giving up).
 */
export function bitmapEncode(words: usize, n: u32, out: usize, list: usize, cap: u32): u32 {
  if (cap > 0 && (n + 63) >> 6 >= FAST_ENCODE_MIN_WORDS) {
    const size = encodeSparseFast(words, n, out, list, cap);
    if (size != 0) return size;
  }
  scanStats(words, n);
  const dense: u64 = 1 + ((<u64>n + 7) >> 3);
  let size = dense;
  let kind: u32 = 0;
  const sparse = efEncodingSize(n, stCount, stLastSet);
  if (sparse < size) {
    size = sparse;
    kind = 1;
  }
  const runs = efEncodingSize(n, stTransitions, stLastTransition);
  if (runs < size) {
    size = runs;
    kind = 2;
  }
  if (kind == 0) return writeDense(words, n, out);
  memory.fill(out, 0, <usize>size + 8);
  const m = kind == 1 ? stCount : stTransitions;
  const l = efWidth(m, kind == 1 ? stLastSet : stLastTransition);
  store<u8>(out, <u8>(kind == 1 ? TAG_SPARSE : TAG_RUNS));
  let p = writeVarint(out + 1, n);
  p = writeVarint(p, m);
  store<u8>(p++, <u8>l);
  const low = p;
  const high = low + <usize>((<u64>m * l + 7) >> 3);
  const lowMask: u32 = (<u32>1 << l) - 1;
  const used = (n + 63) >> 6;
  const runs2 = kind == 2;
  // LOW and HIGH are written through register accumulators, each output word stored once: read-modify-write of
  // overlapping unaligned words defeated store-to-load forwarding (~3 ns per value that way, ~1.1 ns now).
  let lowAcc: u64 = 0;
  let lowAccBits: u32 = 0;
  let lowOut = low;
  let highAcc: u64 = 0;
  let highWord: u32 = 0; // index of the u64 word of HIGH that highAcc holds
  let i: u32 = 0;
  for (let k0: u32 = 0; k0 < used; k0 += FLAT_WORDS) {
    const k1 = min(k0 + FLAT_WORDS, used);
    const carry = runs2 && k0 > 0 ? load<u64>(words + (<usize>(k0 - 1) << 3)) >> 63 : 0;
    const c = flatten(words, k0, k1, used, n, runs2, carry);
    for (let j: u32 = 0; j < c; j++, i++) {
      const v = load<u32>(FLAT + (<usize>j << 2));
      lowAcc |= <u64>(v & lowMask) << <u64>lowAccBits;
      lowAccBits += l;
      if (lowAccBits >= 32) {
        store<u32>(lowOut, <u32>lowAcc);
        lowOut += 4;
        lowAcc >>= 32;
        lowAccBits -= 32;
      }
      const h = (v >> l) + i;
      if ((h >> 6) != highWord) {
        store<u64>(high + (<usize>highWord << 3), highAcc);
        highAcc = 0;
        highWord = h >> 6;
      }
      highAcc |= <u64>1 << <u64>(h & 63);
    }
  }
  // The last LOW bits: whole bytes only, so HIGH (already zeroed, written below) is not touched.
  for (; lowAccBits > 0; lowAccBits = lowAccBits > 8 ? lowAccBits - 8 : 0) {
    store<u8>(lowOut++, <u8>lowAcc);
    lowAcc >>= 8;
  }
  // HIGH's last word may extend past the encoding's end into the 8 spare bytes; those bits are zero.
  store<u64>(high + (<usize>highWord << 3), highAcc);
  return <u32>size;
}

// ---------------------------------------------------------------------------------------------------------------
// Compact codec: decoder

let rdPos: usize = 0; // read cursor of readVarint (absolute address)

/** Reads a minimal LEB128 varint (<= 5 bytes) at rdPos below `end`; returns the value or a negative code. */
function readVarint(start: usize, end: usize): i64 {
  let v: u64 = 0;
  const at = rdPos;
  for (let i: u32 = 0; i < 5; i++) {
    if (rdPos >= end) return <i64>fail(E_TRUNCATED, <u32>(at - start));
    const b = <u64>load<u8>(rdPos++);
    v |= (b & 0x7f) << (7 * <u64>i);
    if ((b & 0x80) == 0) {
      if (b == 0 && i > 0) return <i64>fail(E_BAD_VARINT, <u32>(at - start));
      return <i64>v;
    }
  }
  return <i64>fail(E_BAD_VARINT, <u32>(at - start));
}

// Elias-Fano value loops. HIGH is read a u64 word at a time (the zeroed 8 bytes past the input end make the last
// read safe and inert); the loop runs exactly m times, then checks that HIGH has no further set bit. A value must
// exceed the previous one and stay below n: one unsigned compare covers both, the error path tells them apart.
// Measured (100,000 bits, 965 values): ~2 ns per value, close to the throughput of its ~20 instructions.

@inline function efFail(v: i64, prev: i64, at: u32): i32 {
  return fail(v <= prev ? E_NOT_INCREASING : E_OUT_OF_RANGE, at);
}

/** After m values: BAD_COUNT at the next set bit of HIGH, if any. `x` is what is left of the word at `q`. */
function efNoMore(input: usize, end: usize, q: usize, x: u64): i32 {
  while (x == 0) {
    q += 8;
    if (q >= end) return 0;
    x = load<u64>(q);
  }
  return fail(E_BAD_COUNT, <u32>(q - input) + <u32>(ctz<u64>(x) >> 3));
}

function efDecodeSparse(input: usize, len: u32, words: usize, n: u32, m: u32, l: u32, low: usize, high: usize): i32 {
  const end = input + len;
  const lowMask: u64 = (<u64>1 << <u64>l) - 1;
  const l64 = <u64>l;
  let q = high;
  let x = load<u64>(q);
  let lowBit: u64 = 0;
  let prev: i64 = -1;
  // hb = (bit offset of the word at q) - i: the high part of value i is hb + (bit index in the word).
  let hb: i64 = 0;
  for (let i: u32 = 0; i < m; i++, hb--) {
    while (x == 0) {
      q += 8;
      hb += 64;
      if (q >= end) return fail(E_TRUNCATED, len);
      x = load<u64>(q);
    }
    const t = ctz<u64>(x);
    x &= x - 1;
    // l == 0 reads LOW with a zero mask: no branch needed.
    const v = ((hb + <i64>t) << l64) | <i64>((load<u64>(low + <usize>(lowBit >> 3)) >> (lowBit & 7)) & lowMask);
    lowBit += l64;
    if (<u64>(v - prev - 1) >= <u64>(<i64>n - prev - 1)) return efFail(v, prev, <u32>(q - input) + <u32>(t >> 3));
    const wp = words + (<usize>(v >> 6) << 3);
    store<u64>(wp, load<u64>(wp) | (<u64>1 << (<u64>v & 63)));
    prev = v;
  }
  return efNoMore(input, end, q, x);
}

function efDecodeRuns(input: usize, len: u32, words: usize, n: u32, m: u32, l: u32, low: usize, high: usize): i32 {
  const end = input + len;
  const lowMask: u64 = (<u64>1 << <u64>l) - 1;
  const l64 = <u64>l;
  let q = high;
  let x = load<u64>(q);
  let lowBit: u64 = 0;
  let prev: i64 = -1;
  let runStart: u32 = 0;
  let hb: i64 = 0;
  for (let i: u32 = 0; i < m; i++, hb--) {
    while (x == 0) {
      q += 8;
      hb += 64;
      if (q >= end) return fail(E_TRUNCATED, len);
      x = load<u64>(q);
    }
    const t = ctz<u64>(x);
    x &= x - 1;
    const v = ((hb + <i64>t) << l64) | <i64>((load<u64>(low + <usize>(lowBit >> 3)) >> (lowBit & 7)) & lowMask);
    lowBit += l64;
    if (<u64>(v - prev - 1) >= <u64>(<i64>n - prev - 1)) return efFail(v, prev, <u32>(q - input) + <u32>(t >> 3));
    if ((i & 1) == 0) runStart = <u32>v;
    else setRange(words, runStart, <u32>v);
    prev = v;
  }
  if ((m & 1) == 1) setRange(words, runStart, n);
  return efNoMore(input, end, q, x);
}

// ---------------------------------------------------------------------------------------------------------------
// Compact codec: the fast SPARSE decoder (SIMD build)
//
// The checked loops above spend ~2.3 ns per value (100,000 bits, 965 values: 2.26 us per call), about 40
// instructions per value with spills: the HIGH cursor, the LOW cursor, both checks and the store share one loop.
// The fast path splits the work into passes that each keep few values live, and moves the checks out of the loop:
//
// 1. Before anything: HIGH must hold exactly m set bits (one popcount pass over ~m/4 bytes), and the last value's
//    high part h_{m-1} (from HIGH's last set bit; its last byte is non-zero) must satisfy h_{m-1} << l < n and
//    (h_{m-1} + 1) << l <= 2^31 - 1. Elias-Fano high parts never decrease, so every value is then below
//    2^31 - 1: the lanes are i32 and signed compares (one x64 instruction each, unsigned ones take four) work.
// 2. HIGH -> high parts, a byte at a time: a 256-entry table gives, for each set bit j of a byte, its position
//    minus j; adding (8 * byte index - values so far) to all 8 lanes gives the high parts of that byte's values.
// 3. Eight values at a time (8 * l bits = l bytes of LOW): a swizzle puts the 4 bytes holding each value's low
//    part into its lane, a multiply by 2^(7 - shift) and a shift by 7 align it (wasm SIMD has no per-lane
//    shift), then v = high << l | low. Strict increase is checked lane-wise against the previous lane, values
//    are clamped to n (only an invalid input has one above n; the word array has a spare word for bit n).
// 4. The values set their bits in the zeroed word array (a scalar read-modify-write per value).
//
// The result is kept only if every lane increased and the last value is below n; otherwise the words are
// cleared and the checked loop decodes again and reports the exact error (code and offset). Measured (this
// machine, the core call alone, 100,000 bits, 965 values, l = 6, best of 30 batches of 20,000): the checked loop
// 2.26 us; this path 1.03-1.05 us = pre-checks and zeroing 0.10 + HIGH 0.27 + LOW and checks 0.36 + bits 0.30.
// Tried and dropped: extracting lanes to set bits straight from the vectors (1.23 us; the store and reload is
// cheaper), and 64-bit read-modify-writes instead of bytes (no faster; bytes need no shift count in rcx).

/** Values per block: the high parts and values of one block live in static buffers (8 KiB each). */
const DEC_BLOCK: u32 = 2048;
// + 8 entries: a HIGH byte writes 8 lanes whatever its bit count.
const DEC_HI = memory.data((DEC_BLOCK + 16) << 2, 16);
const DEC_V = memory.data((DEC_BLOCK + 16) << 3, 16); // byte addresses, then (at DEC_M_OFF) bit masks
const DEC_M_OFF: usize = (DEC_BLOCK + 16) << 2;
/** For byte b: 8 bytes, entry j = (position of the j-th set bit of b) - j. */
const HIGH_TAB = memory.data(256 * 8, 16);
/** For byte b: its number of set bits. */
const HIGH_CNT = memory.data(256, 16);
/** The widest l the SIMD LOW reader handles: a lane holds 4 bytes, the value starts at bit <= 7 of them. */
const FAST_MAX_WIDTH: u32 = 25;
/** Per width l: swizzle indices (lanes 0-3 from the group's first byte, lanes 4-7 from byte (4l >> 3)). */
const LOW_SWZ = memory.data((FAST_MAX_WIDTH + 1) * 32, 16);
/** Per width l: per-lane multipliers 2^(7 - bit offset within the first byte). */
const LOW_MUL = memory.data((FAST_MAX_WIDTH + 1) * 32, 16);

if (ASC_FEATURE_SIMD) {
  for (let b: u32 = 0; b < 256; b++) {
    let j: u32 = 0;
    for (let t: u32 = 0; t < 8; t++) {
      if (((b >> t) & 1) != 0) {
        store<u8>(HIGH_TAB + (b << 3) + j, <u8>(t - j));
        j++;
      }
    }
    store<u8>(HIGH_CNT + b, <u8>j);
  }
  for (let l: u32 = 0; l <= FAST_MAX_WIDTH; l++) {
    for (let j: u32 = 0; j < 8; j++) {
      const bit = j < 4 ? j * l : j * l - (((4 * l) >> 3) << 3);
      const at = <usize>(l * 32 + (j >> 2) * 16 + (j & 3) * 4);
      for (let k: u32 = 0; k < 4; k++) store<u8>(LOW_SWZ + at + k, <u8>((bit >> 3) + k));
      store<u32>(LOW_MUL + at, <u32>1 << (7 - (bit & 7)));
    }
  }
}

// State of the lane-wise checks across blocks (in memory: the scalar build has no v128 globals): at +0, lane 3 is
// the last value seen (-1 before the first); at +16, the AND of every comparison so far.
const FAST_STATE = memory.data(32, 16);

/**
 * Writes the high parts of HIGH bytes [q, end) at `o` until the block is full; returns the new `o`.
 * `fastHb` is 8 * (byte index) - (values before this byte), carried across calls with `fastQ`.
 */
let fastQ: usize = 0;
let fastHb: i32 = 0;
function fastHighBlock(end: usize, o: usize, full: usize): usize {
  let q = fastQ;
  let hb = fastHb;
  while (q < end && o < full) {
    const b = <usize>load<u8>(q++);
    const e = i16x8.extend_low_i8x16_u(v128.load64_zero(HIGH_TAB + (b << 3)));
    const base = i32x4.splat(hb);
    v128.store(o, i32x4.add(i32x4.extend_low_i16x8_u(e), base));
    v128.store(o, i32x4.add(i32x4.extend_high_i16x8_u(e), base), 16);
    const c = <u32>load<u8>(HIGH_CNT + b);
    o += <usize>c << 2;
    hb += 8 - <i32>c;
  }
  fastQ = q;
  fastHb = hb;
  return o;
}

/**
 * Values of `groups` groups of 8 (high parts at DEC_HI, LOW from `lp`): with `list` = 0 into DEC_V as byte
 * addresses and bit masks, clamped to n; otherwise as u32 values at `list`.
 */
function fastLowGroups(words: usize, groups: u32, lp: usize, l: u32, n: u32, list: usize): void {
  const wv = i32x4.splat(<i32>words);
  const seven = i32x4.splat(7);
  const hiIdx = i32x4.splat(0x80808000); // swizzle index >= 16 gives 0: only byte 0 of each lane is a mask
  const bitTab = v128(1, 2, 4, 8, 16, 32, 64, -128, 0, 0, 0, 0, 0, 0, 0, 0);
  const sw0 = v128.load(LOW_SWZ + l * 32);
  const sw1 = v128.load(LOW_SWZ + l * 32, 16);
  const mu0 = v128.load(LOW_MUL + l * 32);
  const mu1 = v128.load(LOW_MUL + l * 32, 16);
  const mask = i32x4.splat((<i32>1 << l) - 1);
  const scale = i32x4.splat(<i32>1 << l); // high << l as a multiply: the shift count would be re-materialised per use
  const nv = i32x4.splat(n);
  const second = <usize>((4 * l) >> 3);
  let prev = v128.load(FAST_STATE);
  let ok = v128.load(FAST_STATE, 16);
  let hp = DEC_HI;
  let vp = DEC_V;
  for (let g: u32 = 0; g < groups; g++, hp += 32, vp += 32, lp += l) {
    const l0 = v128.and(i32x4.shr_u(i32x4.mul(i8x16.swizzle(v128.load(lp), sw0), mu0), 7), mask);
    const l1 = v128.and(i32x4.shr_u(i32x4.mul(i8x16.swizzle(v128.load(lp + second), sw1), mu1), 7), mask);
    const v0 = v128.or(i32x4.mul(v128.load(hp), scale), l0);
    const v1 = v128.or(i32x4.mul(v128.load(hp, 16), scale), l1);
    // Lanes [prev3, v0_0, v0_1, v0_2] and [v0_3, v1_0, v1_1, v1_2]: each value against the one before it.
    ok = v128.and(ok, i32x4.gt_s(v0, i8x16.shuffle(prev, v0, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27)));
    ok = v128.and(ok, i32x4.gt_s(v1, i8x16.shuffle(v0, v1, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27)));
    prev = v1;
    if (list != 0) {
      v128.store(list + (<usize>g << 5), v0);
      v128.store(list + (<usize>g << 5), v1, 16);
      continue;
    }
    // Byte addresses and bit masks: each value sets bit (v & 7) of byte words + (v >> 3).
    const c0 = i32x4.min_s(v0, nv);
    const c1 = i32x4.min_s(v1, nv);
    v128.store(vp, i32x4.add(i32x4.shr_u(c0, 3), wv));
    v128.store(vp, i32x4.add(i32x4.shr_u(c1, 3), wv), 16);
    v128.store(vp + DEC_M_OFF, i8x16.swizzle(bitTab, v128.or(v128.and(c0, seven), hiIdx)));
    v128.store(vp + DEC_M_OFF, i8x16.swizzle(bitTab, v128.or(v128.and(c1, seven), hiIdx)), 16);
  }
  v128.store(FAST_STATE, prev);
  v128.store(FAST_STATE, ok, 16);
}

/** ORs each of the `count` byte masks at DEC_V + DEC_M_OFF into the byte whose address is at DEC_V. */
function fastScatter(count: u32): void {
  let p = DEC_V;
  const end = DEC_V + (<usize>count << 2);
  for (; p + 16 <= end; p += 16) {
    const a0 = <usize>load<u32>(p);
    const a1 = <usize>load<u32>(p, 4);
    const a2 = <usize>load<u32>(p, 8);
    const a3 = <usize>load<u32>(p, 12);
    store<u8>(a0, load<u8>(a0) | load<u8>(p + DEC_M_OFF));
    store<u8>(a1, load<u8>(a1) | load<u8>(p + DEC_M_OFF, 4));
    store<u8>(a2, load<u8>(a2) | load<u8>(p + DEC_M_OFF, 8));
    store<u8>(a3, load<u8>(a3) | load<u8>(p + DEC_M_OFF, 12));
  }
  for (; p < end; p += 4) {
    const a = <usize>load<u32>(p);
    store<u8>(a, load<u8>(a) | load<u8>(p + DEC_M_OFF));
  }
}

/**
 * The fast SPARSE decode (see above). Returns 1 when the encoding is valid and the words hold its set; 0 when it
 * declined without writing (l above FAST_MAX_WIDTH, or the pre-checks failed); -1 when it wrote to the words and
 * then found the encoding invalid. The header has been checked; 16 bytes follow the input (the first 8 zeroed);
 * the words are zeroed and have a spare word after the last one. With `list` != 0 (room for m + 8 values) the
 * values are written there in order instead, and the words are not touched: step 4 is skipped.
 */
function efDecodeSparseFast(input: usize, len: u32, words: usize, n: u32, m: u32, l: u32, low: usize, high: usize, list: usize): i32 {
  if (l > FAST_MAX_WIDTH || m == 0) return 0;
  const end = input + len;
  // 1. Exactly m set bits in HIGH, and the last high part small enough (see above).
  let bits: u64 = 0;
  for (let q = high; q < end; q += 8) bits += popcnt<u64>(load<u64>(q));
  if (bits != <u64>m) return 0;
  const lastPos = (<u64>(end - 1 - high) << 3) + 31 - <u64>clz<u32>(<u32>load<u8>(end - 1));
  const hiLast = lastPos - (m - 1);
  if (hiLast << <u64>l >= <u64>n || (hiLast + 1) << <u64>l > <u64>I32.MAX_VALUE) return 0;

  fastQ = high;
  fastHb = 0;
  v128.store(FAST_STATE, i32x4.splat(-1)); // "the value before the first": every value is >= 0
  v128.store(FAST_STATE, i32x4.splat(-1), 16);
  const full = DEC_HI + (<usize>DEC_BLOCK << 2);
  let have: u32 = 0; // high parts at DEC_HI not yet turned into values
  let done: u32 = 0; // values decoded so far
  let lp = low;
  while (done < m) {
    have = <u32>((fastHighBlock(end, DEC_HI + (<usize>have << 2), full) - DEC_HI) >> 2);
    // The table writes lanes past a byte's bits: only min(have, m - done) entries are values.
    if (have > m - done) have = m - done;
    const groups = have >> 3;
    const listAt = list != 0 ? list + (<usize>done << 2) : 0;
    fastLowGroups(words, groups, lp, l, n, listAt);
    lp += <usize>groups * l;
    let count = groups << 3;
    if (done + have == m) {
      // The last values (fewer than 8): one at a time, same checks.
      const mask: u64 = (<u64>1 << <u64>l) - 1;
      let last = load<i32>(FAST_STATE, 12);
      let bad = false;
      for (let j = count; j < have; j++) {
        const bit = <u64>(j - count) * l;
        const v = (load<u32>(DEC_HI + (<usize>j << 2)) << l) | <u32>((load<u64>(lp + <usize>(bit >> 3)) >> (bit & 7)) & mask);
        bad = bad || <i32>v <= last;
        last = <i32>v;
        if (listAt != 0) {
          store<u32>(listAt + (<usize>j << 2), v);
          continue;
        }
        const c = min(v, n);
        store<u32>(DEC_V + (<usize>j << 2), <u32>words + (c >> 3));
        store<u32>(DEC_V + DEC_M_OFF + (<usize>j << 2), <u32>1 << (c & 7));
      }
      count = have;
      if (listAt == 0) fastScatter(count);
      return !bad && i32x4.all_true(v128.load(FAST_STATE, 16)) && <u32>last < n ? 1 : -1;
    }
    if (listAt == 0) fastScatter(count);
    done += count;
    // Carry the high parts of an incomplete group to the front of the buffer.
    have -= count;
    memory.copy(DEC_HI, DEC_HI + (<usize>count << 2), <usize>have << 2);
  }
  return -1;
}

/**
 * Decodes `len` bytes at `input` into the word array at `words` (room for maxN bits, rounded up to u64 words).
 * The 16 bytes after the input must be writable (the decoder zeroes them and reads whole u64 words, or 16-byte
 * vectors, across the end), and the word array must have one spare u64 word after the last one.
 * Returns 0 on success or a negative error code; the decoded length is `bitmapDecodedLength()`.
 * The caller has already checked the declared length against its `length`/`maxBits` options (it needs n to size
 * the arena); maxN here is only the arena bound.
 */
export function bitmapDecode(input: usize, len: u32, words: usize, maxN: u32): i32 {
  decodeList = 0;
  return decode(input, len, words, maxN);
}

/**
 * Decodes a SPARSE encoding (the caller checked the tag) to its m positions, written as u32 at `list` (room for
 * m + 8 values; m is the header's count, which the caller read to size it), with the arguments and checks of
 * bitmapDecode. On the SIMD build a valid encoding goes straight to the list without touching the words;
 * otherwise the words are decoded (or the error found) as bitmapDecode does and the set bits extracted.
 */
export function bitmapDecodeList(input: usize, len: u32, words: usize, maxN: u32, list: usize): i32 {
  decodeList = list;
  decodedToList = false;
  const rc = decode(input, len, words, maxN);
  decodeList = 0;
  if (rc != 0 || decodedToList) return rc;
  bitsetIndices(words, (decodedN + 63) >> 6, list);
  return 0;
}

// bitmapDecodeList's output (0 in bitmapDecode), and whether the fast path wrote the values there.
let decodeList: usize = 0;
let decodedToList = false;

function decode(input: usize, len: u32, words: usize, maxN: u32): i32 {
  store<u64>(input + len, 0);
  store<u64>(input + len, 0, 8);
  const end = input + len;
  if (len == 0) return fail(E_TRUNCATED, 0);
  const tag = <u32>load<u8>(input);
  if (tag <= TAG_DENSE_MAX) {
    const body = len - 1;
    if (body == 0 && tag != 0) return fail(E_BAD_PADDING, 0);
    const n64 = (<u64>body << 3) - tag;
    if (n64 > <u64>maxN) return fail(E_TOO_LARGE, 0);
    const n = <u32>n64;
    if (tag != 0 && (<u32>load<u8>(input + body) >> (8 - tag)) != 0) return fail(E_BAD_PADDING, body);
    decodedN = n;
    memory.copy(words, input + 1, body);
    memory.fill(words + body, 0, (<usize>((n + 63) >> 6) << 3) - body);
    return 0;
  }
  if (tag != TAG_SPARSE && tag != TAG_RUNS) return fail(E_BAD_TAG, 0);
  rdPos = input + 1;
  const nv = readVarint(input, end);
  if (nv < 0) return <i32>nv;
  if (nv > <i64>maxN) return fail(E_TOO_LARGE, 1);
  const n = <u32>nv;
  const mAt = <u32>(rdPos - input);
  const mv = readVarint(input, end);
  if (mv < 0) return <i32>mv;
  if (mv > nv) return fail(E_BAD_COUNT, mAt);
  const m = <u32>mv;
  if (rdPos >= end) return fail(E_TRUNCATED, <u32>(rdPos - input));
  const l = <u32>load<u8>(rdPos++);
  if (l > MAX_EF_WIDTH) return fail(E_BAD_PARAMETER, <u32>(rdPos - input) - 1);
  const low = rdPos;
  const lowBits = <u64>m * l;
  const highAt64 = <u64>(low - input) + ((lowBits + 7) >> 3);
  if (highAt64 > <u64>len) return fail(E_TRUNCATED, len);
  const highAt = <u32>highAt64;
  const high = input + highAt;
  if ((lowBits & 7) != 0 && (<u32>load<u8>(high - 1) >> <u32>(lowBits & 7)) != 0) return fail(E_BAD_PADDING, highAt - 1);
  if (m == 0) {
    if (len != highAt) return fail(E_TRAILING_BYTES, highAt);
  } else {
    if (len == highAt) return fail(E_TRUNCATED, highAt);
    if (load<u8>(end - 1) == 0) return fail(E_TRAILING_BYTES, len - 1);
  }

  const nWords = (<usize>n + 63) >> 6;
  if (ASC_FEATURE_SIMD && tag == TAG_SPARSE) {
    // To a list, the words are only needed (and zeroed) if the fast path does not finish.
    if (decodeList == 0) memory.fill(words, 0, nWords << 3);
    const fast = efDecodeSparseFast(input, len, words, n, m, l, low, high, decodeList);
    if (fast > 0) {
      decodedN = n;
      decodedToList = decodeList != 0;
      return 0;
    }
    // Invalid: clear what the fast path wrote (including the spare word) and let the checked loop find the error.
    if (fast < 0 || decodeList != 0) memory.fill(words, 0, (nWords + 1) << 3);
  } else memory.fill(words, 0, nWords << 3);
  const rc = tag == TAG_SPARSE ? efDecodeSparse(input, len, words, n, m, l, low, high) : efDecodeRuns(input, len, words, n, m, l, low, high);
  if (rc != 0) return rc;
  decodedN = n;
  return 0;
}

let decodedN: u32 = 0;

/** Bit length of the last successful decode. */
export function bitmapDecodedLength(): u32 {
  return decodedN;
}

// ---------------------------------------------------------------------------------------------------------------
// Roaring portable format (cookies, header, offsets and containers are described in src/crypto/bitmap/roaring.ts,
// whose checks this mirrors in the same order).

const COOKIE_NO_RUNS: u32 = 12346;
const COOKIE_RUNS: u32 = 12347;
const NO_OFFSET_THRESHOLD: u32 = 4;
const KIND_ARRAY: u32 = 0;
const KIND_BITMAP: u32 = 1;
const KIND_RUN: u32 = 2;

@inline function containerBytes(kind: u32, card: u32, runs: u32): u32 {
  return kind == KIND_RUN ? 2 + 4 * runs : kind == KIND_ARRAY ? 2 * card : 8192;
}

/** Upper bound on the export's size for n bits (header + every container as a bitmap). */
export function roaringMaxSize(n: u32): u32 {
  const c = (n + 65535) >> 16;
  return 8 + ((c + 7) >> 3) + c * (8 + 8192);
}

/**
 * Writes the Roaring portable serialization of the n-bit set at `words` to `out` (roaringMaxSize(n) bytes) and
 * returns its size. `table` is scratch for 12 bytes per 65,536-bit chunk.
 */
export function roaringExport(words: usize, n: u32, out: usize, table: usize): u32 {
  const nWords = (n + 63) >> 6;
  let size: u32 = 0;
  let hasRun = false;
  for (let k0: u32 = 0; k0 < nWords; k0 += 1024) {
    const k1 = min(k0 + 1024, nWords);
    let card: u64 = 0;
    let runs: u64 = 0;
    let carry: u64 = 0; // runs do not continue across containers
    for (let k = k0; k < k1; k++) {
      const x = load<u64>(words + (<usize>k << 3));
      card += popcnt<u64>(x);
      runs += popcnt<u64>(x & ~((x << 1) | carry));
      carry = x >> 63;
    }
    if (card == 0) continue;
    let kind = card <= 4096 ? KIND_ARRAY : KIND_BITMAP;
    if (2 + 4 * runs < (kind == KIND_ARRAY ? 2 * card : 8192)) {
      kind = KIND_RUN;
      hasRun = true;
    }
    const t = table + <usize>size * 12;
    store<u32>(t, k0 >> 10);
    store<u32>(t, <u32>card, 4);
    store<u32>(t, (<u32>runs << 2) | kind, 8);
    size++;
  }
  const withOffsets = !hasRun || size >= NO_OFFSET_THRESHOLD;
  let p = out;
  if (hasRun) {
    store<u32>(p, COOKIE_RUNS | ((size - 1) << 16));
    p += 4;
    const flags = (size + 7) >> 3;
    memory.fill(p, 0, flags);
    for (let i: u32 = 0; i < size; i++) {
      if ((load<u32>(table + <usize>i * 12, 8) & 3) == KIND_RUN) {
        const fp = p + (i >> 3);
        store<u8>(fp, load<u8>(fp) | <u8>(<u32>1 << (i & 7)));
      }
    }
    p += flags;
  } else {
    store<u32>(p, COOKIE_NO_RUNS);
    store<u32>(p, size, 4);
    p += 8;
  }
  for (let i: u32 = 0; i < size; i++) {
    const t = table + <usize>i * 12;
    store<u16>(p, <u16>load<u32>(t));
    store<u16>(p, <u16>(load<u32>(t, 4) - 1), 2);
    p += 4;
  }
  if (withOffsets) {
    let body = <u32>(p - out) + 4 * size;
    for (let i: u32 = 0; i < size; i++) {
      const t = table + <usize>i * 12;
      store<u32>(p, body);
      p += 4;
      const kr = load<u32>(t, 8);
      body += containerBytes(kr & 3, load<u32>(t, 4), kr >> 2);
    }
  }
  for (let i: u32 = 0; i < size; i++) {
    const t = table + <usize>i * 12;
    const k0 = load<u32>(t) << 10;
    const k1 = min(k0 + 1024, nWords);
    const kr = load<u32>(t, 8);
    const kind = kr & 3;
    if (kind == KIND_BITMAP) {
      const have = <usize>(k1 - k0) << 3;
      memory.copy(p, words + (<usize>k0 << 3), have);
      memory.fill(p + have, 0, 8192 - have);
      p += 8192;
    } else if (kind == KIND_ARRAY) {
      for (let k = k0; k < k1; k++) {
        let x = load<u64>(words + (<usize>k << 3));
        const base = (k - k0) << 6;
        while (x != 0) {
          store<u16>(p, <u16>(base + <u32>ctz<u64>(x)));
          p += 2;
          x &= x - 1;
        }
      }
    } else {
      store<u16>(p, <u16>(kr >> 2));
      p += 2;
      let start: i32 = -1;
      let carry: u64 = 0;
      for (let k = k0; k < k1; k++) {
        const x = load<u64>(words + (<usize>k << 3));
        let tr = x ^ ((x << 1) | carry); // run starts (bit set) and run ends (bit clear)
        carry = x >> 63;
        const base = (k - k0) << 6;
        while (tr != 0) {
          const at = <i32>(base + <u32>ctz<u64>(tr));
          tr &= tr - 1;
          if (start < 0) start = at;
          else {
            store<u16>(p, <u16>start);
            store<u16>(p, <u16>(at - start - 1), 2);
            p += 4;
            start = -1;
          }
        }
      }
      if (start >= 0) {
        // A run still open at the end of the words ends there: at the container's end, or at the bitset's end.
        store<u16>(p, <u16>start);
        store<u16>(p, <u16>(<i32>((k1 - k0) << 6) - start - 1), 2);
        p += 4;
      }
    }
  }
  return <u32>(p - out);
}

// Header fields of the last roaringHeader call.
let rSize: u32 = 0;
let rHasRun = false;
let rDescAt: u32 = 0;
let rPos: u32 = 0;

/**
 * Parses the Roaring header at `input` through the descriptive header: cookie, size, run flags, keys strictly
 * increasing, and the last key against `limit` (every value of the last container is at least lastKey * 65536,
 * so this refuses an oversized set before the caller allocates for it). Returns lastKey + 1 (0 when empty), or a
 * negative error code. The caller sizes the output from it, then calls roaringImport.
 */
export function roaringHeader(input: usize, len: u32, limit: u32, isLength: bool): i32 {
  if (len < 4) return fail(E_TRUNCATED, len);
  const cookie = load<u32>(input);
  let size: u32;
  let pos: u32;
  if ((cookie & 0xffff) == COOKIE_RUNS) {
    rHasRun = true;
    size = (cookie >> 16) + 1;
    pos = 4 + ((size + 7) >> 3);
    if (pos > len) return fail(E_TRUNCATED, len);
    if ((size & 7) != 0 && (<u32>load<u8>(input + pos - 1) >> (size & 7)) != 0) return fail(E_BAD_PADDING, pos - 1);
  } else if (cookie == COOKIE_NO_RUNS) {
    rHasRun = false;
    if (len < 8) return fail(E_TRUNCATED, len);
    size = load<u32>(input, 4);
    if (size > 65536) return fail(E_BAD_ROARING, 4);
    pos = 8;
  } else {
    return fail(E_BAD_ROARING, 0);
  }
  const descAt = pos;
  if (<u64>pos + 4 * <u64>size > <u64>len) return fail(E_TRUNCATED, len);
  for (let i: u32 = 1; i < size; i++) {
    if (load<u16>(input + descAt + 4 * i) <= load<u16>(input + descAt + 4 * (i - 1))) return fail(E_BAD_ROARING, descAt + 4 * i);
  }
  if (size == 0) {
    rSize = 0;
    rDescAt = descAt;
    rPos = pos;
    return 0;
  }
  const lastKey = <u32>load<u16>(input + descAt + 4 * (size - 1));
  if ((<u64>lastKey << 16) >= <u64>limit) return fail(isLength ? E_OUT_OF_RANGE : E_TOO_LARGE, descAt + 4 * (size - 1));
  rSize = size;
  rDescAt = descAt;
  rPos = pos + 4 * size;
  return <i32>lastKey + 1;
}

/**
 * Imports the Roaring bytes whose header roaringHeader just accepted into `words` (room for `cap` bits, zeroed
 * here). Every value must be below `limit` (OUT_OF_RANGE when `isLength`, else TOO_LARGE). Returns 0 or a
 * negative error code; bitmapDecodedLength() is then the largest value + 1.
 */
export function roaringImport(input: usize, len: u32, words: usize, cap: u32, limit: u32, isLength: bool): i32 {
  const size = rSize;
  const descAt = rDescAt;
  let pos = rPos;
  const rangeErr = isLength ? E_OUT_OF_RANGE : E_TOO_LARGE;
  const withOffsets = !rHasRun || size >= NO_OFFSET_THRESHOLD;
  const offAt = pos;
  if (withOffsets) {
    if (<u64>pos + 4 * <u64>size > <u64>len) return fail(E_TRUNCATED, len);
    pos += 4 * size;
  }
  memory.fill(words, 0, (<usize>cap + 63) >> 6 << 3);
  let max: i64 = -1;
  for (let i: u32 = 0; i < size; i++) {
    if (withOffsets && load<u32>(input + offAt + 4 * i) != pos) return fail(E_BAD_ROARING, offAt + 4 * i);
    const key = <u32>load<u16>(input + descAt + 4 * i);
    const card = <u32>load<u16>(input + descAt + 4 * i + 2) + 1;
    const base = <u64>key << 16;
    const isRun = rHasRun && ((<u32>load<u8>(input + 4 + (i >> 3)) >> (i & 7)) & 1) == 1;
    if (isRun) {
      if (<u64>pos + 2 > <u64>len) return fail(E_TRUNCATED, len);
      const nRuns = <u32>load<u16>(input + pos);
      pos += 2;
      if (<u64>pos + 4 * <u64>nRuns > <u64>len) return fail(E_TRUNCATED, len);
      let prevEnd: i32 = -1;
      let sum: u32 = 0;
      for (let r: u32 = 0; r < nRuns; r++, pos += 4) {
        const start = <i32>load<u16>(input + pos);
        const end = start + <i32>load<u16>(input + pos, 2);
        if (start <= prevEnd) return fail(E_NOT_INCREASING, pos);
        if (end > 65535) return fail(E_OUT_OF_RANGE, pos);
        if (base + <u64>end >= <u64>limit) return fail(rangeErr, pos);
        setRange(words, <u32>(base + start), <u32>(base + end + 1));
        sum += <u32>(end - start + 1);
        prevEnd = end;
        max = <i64>(base + end);
      }
      if (sum != card) return fail(E_BAD_COUNT, pos);
    } else if (card <= 4096) {
      if (<u64>pos + 2 * <u64>card > <u64>len) return fail(E_TRUNCATED, len);
      let prev: i32 = -1;
      for (let j: u32 = 0; j < card; j++, pos += 2) {
        const v = <i32>load<u16>(input + pos);
        if (v <= prev) return fail(E_NOT_INCREASING, pos);
        const g = base + <u64>v;
        if (g >= <u64>limit) return fail(rangeErr, pos);
        const wp = words + (<usize>(g >> 6) << 3);
        store<u64>(wp, load<u64>(wp) | (<u64>1 << (g & 63)));
        prev = v;
      }
      max = <i64>(base + prev);
    } else {
      if (<u64>pos + 8192 > <u64>len) return fail(E_TRUNCATED, len);
      let count: u64 = 0;
      let lastWord: i32 = -1;
      for (let k: u32 = 0; k < 1024; k++) {
        const x = load<u64>(input + pos + (k << 3));
        count += popcnt<u64>(x);
        lastWord = select<i32>(<i32>k, lastWord, x != 0);
      }
      if (<u32>count != card) return fail(E_BAD_COUNT, pos);
      const last = (<u64>lastWord << 6) + 63 - clz<u64>(load<u64>(input + pos + (<u32>lastWord << 3)));
      if (base + last >= <u64>limit) return fail(rangeErr, pos);
      memory.copy(words + (<usize>(base >> 6) << 3), input + pos, (<usize>lastWord + 1) << 3);
      pos += 8192;
      max = <i64>(base + last);
    }
  }
  if (pos != len) return fail(E_TRAILING_BYTES, pos);
  decodedN = <u32>(max + 1);
  return 0;
}
