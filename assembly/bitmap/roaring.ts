// The Roaring portable format (cookies, header, offsets and containers are described in src/crypto/bitmap/roaring.ts,
// whose checks this mirrors in the same order): export from a bitset's words and import into them.

import { E_BAD_COUNT, E_BAD_PADDING, E_BAD_ROARING, E_NOT_INCREASING, E_OUT_OF_RANGE, E_TOO_LARGE, E_TRAILING_BYTES, E_TRUNCATED, fail, setDecodedLength } from "./common";
import { setRange } from "./bitset";

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
  setDecodedLength(<u32>(max + 1));
  return 0;
}

