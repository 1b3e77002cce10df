// The compact codec's fast SPARSE decoder (SIMD build), used by decode.ts.
//
// The checked loops of decode.ts spend ~2.3 ns per value (100,000 bits, 965 values: 2.26 us per call), about 40
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
export function efDecodeSparseFast(input: usize, len: u32, words: usize, n: u32, m: u32, l: u32, low: usize, high: usize, list: usize): i32 {
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
