// The compact codec's encoder (DENSE / Elias-Fano SPARSE / Elias-Fano RUNS; the byte format is specified in
// src/crypto/bitmap/format.ts): the canonical choice, the general encoder over a bitset's words, its fast path for
// sparse sets, and the encoder from a sorted position list.

import { MAX_EF_WIDTH, TAG_RUNS, TAG_SPARSE } from "./common";

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
