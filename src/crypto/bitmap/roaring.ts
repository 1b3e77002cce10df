/**
 * # Roaring portable serialization (the format of Java/Go Roaring, CRoaring's `portable` mode, npm `roaring`'s
 * `serialize(true)`), pure TypeScript reference. The WASM core implements the same rules (assembly/bitmap/roaring.ts).
 *
 * Layout (all integers little-endian):
 *
 * - cookie: u32. `12346` (no run containers) is followed by u32 `size` (number of containers, <= 65536).
 *   Otherwise the low 16 bits are `12347` and the high 16 bits are `size - 1`, followed by a run-flag bitset of
 *   ceil(size/8) bytes (bit i set = container i is a run container).
 * - descriptive header: `size` pairs of u16 key (the high 16 bits of the values, strictly increasing) and
 *   u16 cardinality - 1.
 * - offset header: `size` u32 byte offsets of each container from the start, present with cookie 12346 and with
 *   cookie 12347 when size >= 4 (the "no offset threshold").
 * - containers in key order: run (u16 run count, then that many pairs u16 start, u16 length - 1), array
 *   (cardinality <= 4096: that many sorted u16), or bitmap (cardinality > 4096: 1,024 u64 words, 8,192 bytes).
 *
 * Export writes what CRoaring writes after `runOptimize()`: a container is a run container exactly when its
 * 2 + 4*runs bytes are fewer than its array (2*card) or bitmap (8,192) size; an empty bitmap is the 8 bytes
 * `3a300000 00000000`. Tests check the bytes against the `roaring` package both ways.
 *
 * Import is strict, so no byte string maps to a wrong set: unknown cookies, more than 65,536 containers,
 * non-zero run-flag padding, non-increasing keys, offsets that do not point at the next container, non-increasing array values or runs,
 * a run past the container's 65,536 values, a declared cardinality that disagrees with the container's contents,
 * truncation and trailing bytes are all `BitmapError`s. Roaring holds no bit length: the imported bitset's length
 * is `length` when given (every value must be below it: OUT_OF_RANGE), else the largest value + 1 (capped by
 * `maxBits`: TOO_LARGE).
 */

import { Bitset, popcount32, setRangeWords, wordsFor } from "./bitset.js";
import { BitmapError } from "./errors.js";
import { MAX_ENCODED_BYTES, decodeLimit } from "./format.js";

export const ROARING_COOKIE_NO_RUNS = 12346;
export const ROARING_COOKIE_RUNS = 12347;
/** With the run cookie, offsets are written only from this many containers on. */
export const ROARING_NO_OFFSET_THRESHOLD = 4;

/** Import options: the expected length (else the largest value + 1) and the memory bound. */
export interface RoaringImportOptions {
  /** The bitset's length; every value must be below it (OUT_OF_RANGE). */
  length?: number;
  /** Without `length`: refuse (TOO_LARGE) values at or above this. Default DEFAULT_MAX_BITS. */
  maxBits?: number;
}

interface Container {
  key: number;
  card: number;
  runs: number;
  kind: "array" | "bitmap" | "run";
}

/** Serialized bytes of one container's body. */
function containerBytes(c: Container): number {
  return c.kind === "run" ? 2 + 4 * c.runs : c.kind === "array" ? 2 * c.card : 8192;
}

/** The containers of a bitset: one per non-empty 65,536-bit chunk (2,048 u32 words). */
function containersOf(b: Bitset): Container[] {
  const w = b.words;
  const out: Container[] = [];
  for (let k0 = 0; k0 < w.length; k0 += 2048) {
    const k1 = Math.min(k0 + 2048, w.length);
    let card = 0;
    let runs = 0;
    let carry = 0; // runs do not continue across containers
    for (let k = k0; k < k1; k++) {
      const x = w[k]!;
      if (x === 0) {
        carry = 0;
        continue;
      }
      card += popcount32(x);
      runs += popcount32(x & ~((x << 1) | carry)); // bits that start a run of ones
      carry = x >>> 31;
    }
    if (card === 0) continue;
    let kind: Container["kind"] = card <= 4096 ? "array" : "bitmap";
    if (2 + 4 * runs < (kind === "array" ? 2 * card : 8192)) kind = "run";
    out.push({ key: k0 >>> 11, card, runs, kind });
  }
  return out;
}

/** The Roaring portable serialization of `b` (run-optimised, as CRoaring writes it). */
export function toRoaringTs(b: Bitset): Uint8Array {
  const cs = containersOf(b);
  const size = cs.length;
  const hasRun = cs.some((c) => c.kind === "run");
  const withOffsets = !hasRun || size >= ROARING_NO_OFFSET_THRESHOLD;
  let header = hasRun ? 4 + Math.ceil(size / 8) : 8;
  header += 4 * size + (withOffsets ? 4 * size : 0);
  let total = header;
  for (const c of cs) total += containerBytes(c);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  let pos = 0;
  if (hasRun) {
    dv.setUint32(0, ROARING_COOKIE_RUNS | ((size - 1) << 16), true);
    pos = 4;
    cs.forEach((c, i) => {
      if (c.kind === "run") out[4 + (i >>> 3)]! |= 1 << (i & 7);
    });
    pos += Math.ceil(size / 8);
  } else {
    dv.setUint32(0, ROARING_COOKIE_NO_RUNS, true);
    dv.setUint32(4, size, true);
    pos = 8;
  }
  for (const c of cs) {
    dv.setUint16(pos, c.key, true);
    dv.setUint16(pos + 2, c.card - 1, true);
    pos += 4;
  }
  let body = header;
  if (withOffsets) {
    for (const c of cs) {
      dv.setUint32(pos, body, true);
      pos += 4;
      body += containerBytes(c);
    }
  }
  const w = b.words;
  for (const c of cs) {
    const k0 = c.key * 2048;
    const k1 = Math.min(k0 + 2048, w.length);
    if (c.kind === "bitmap") {
      for (let k = k0; k < k1; k++, pos += 4) dv.setUint32(pos, w[k]!, true);
      pos += (k0 + 2048 - k1) * 4; // a short last chunk: the rest of the container is zero
    } else if (c.kind === "array") {
      for (let k = k0; k < k1; k++) {
        let x = w[k]!;
        while (x !== 0) {
          const t = x & -x;
          dv.setUint16(pos, ((k - k0) << 5) + 31 - Math.clz32(t), true);
          pos += 2;
          x ^= t;
        }
      }
    } else {
      dv.setUint16(pos, c.runs, true);
      pos += 2;
      let start = -1;
      for (let k = k0; k < k1; k++) {
        const x = w[k]!;
        const prev = k === k0 ? 0 : w[k - 1]! >>> 31;
        let tr = x ^ ((x << 1) | prev); // run starts (bit set) and run ends (bit clear) in this word
        while (tr !== 0) {
          const t = tr & -tr;
          const at = ((k - k0) << 5) + 31 - Math.clz32(t);
          if (start < 0) start = at;
          else {
            dv.setUint16(pos, start, true);
            dv.setUint16(pos + 2, at - start - 1, true);
            pos += 4;
            start = -1;
          }
          tr ^= t;
        }
      }
      if (start >= 0) {
        // A run still open at the end of the words ends there: at the container's end, or at the bitset's end.
        dv.setUint16(pos, start, true);
        dv.setUint16(pos + 2, (k1 - k0) * 32 - start - 1, true);
        pos += 4;
      }
    }
  }
  return out;
}

function truncated(at: number): BitmapError {
  return new BitmapError("TRUNCATED", `roaring input ends at byte ${at}`, { offset: at });
}

/** Imports the Roaring portable serialization. Throws `BitmapError` for any malformed input. */
export function fromRoaringTs(bytes: Uint8Array, opts?: RoaringImportOptions): Bitset {
  const length = opts?.length;
  const limit = decodeLimit(opts); // length when given, else maxBits (validated)
  if (bytes.length > MAX_ENCODED_BYTES) throw new BitmapError("TOO_LARGE", `roaring input of ${bytes.length} bytes is above ${MAX_ENCODED_BYTES}`, { offset: 0 });
  const len = bytes.length;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (len < 4) throw truncated(len);
  const cookie = dv.getUint32(0, true);
  let size: number;
  let hasRun: boolean;
  let pos: number;
  if ((cookie & 0xffff) === ROARING_COOKIE_RUNS) {
    hasRun = true;
    size = (cookie >>> 16) + 1;
    pos = 4 + Math.ceil(size / 8);
    if (pos > len) throw truncated(len);
    if ((size & 7) !== 0 && bytes[pos - 1]! >>> (size & 7) !== 0) {
      throw new BitmapError("BAD_PADDING", "run flags set beyond the last container", { offset: pos - 1 });
    }
  } else if (cookie === ROARING_COOKIE_NO_RUNS) {
    hasRun = false;
    if (len < 8) throw truncated(len);
    size = dv.getUint32(4, true);
    if (size > 65536) throw new BitmapError("BAD_ROARING", `roaring header declares ${size} containers (at most 65,536)`, { offset: 4 });
    pos = 8;
  } else {
    throw new BitmapError("BAD_ROARING", `unknown roaring cookie 0x${cookie.toString(16)}`, { offset: 0 });
  }
  const descAt = pos;
  if (pos + 4 * size > len) throw truncated(len);
  pos += 4 * size;
  for (let i = 1; i < size; i++) {
    if (dv.getUint16(descAt + 4 * i, true) <= dv.getUint16(descAt + 4 * (i - 1), true)) {
      throw new BitmapError("BAD_ROARING", `roaring keys not increasing at container ${i}`, { offset: descAt + 4 * i });
    }
  }
  const rangeError = (v: number, at: number): BitmapError =>
    length !== undefined
      ? new BitmapError("OUT_OF_RANGE", `roaring value ${v} is outside [0, ${length})`, { offset: at, value: v })
      : new BitmapError("TOO_LARGE", `roaring value ${v} needs more than maxBits ${limit} bits`, { offset: at, value: v, maxBits: limit });
  // Every value of the last container is at least lastKey * 65536: refuse before allocating anything for it.
  const lastKey = size === 0 ? -1 : dv.getUint16(descAt + 4 * (size - 1), true);
  if (size > 0 && lastKey * 65536 >= limit) throw rangeError(lastKey * 65536, descAt + 4 * (size - 1));
  const withOffsets = !hasRun || size >= ROARING_NO_OFFSET_THRESHOLD;
  const offAt = pos;
  if (withOffsets) {
    if (pos + 4 * size > len) throw truncated(len);
    pos += 4 * size;
  }

  // The words are sized by the last key (the values are all below (lastKey + 1) * 65536) and by the limit.
  const words = new Uint32Array(wordsFor(length ?? Math.min(limit, (lastKey + 1) * 65536)));
  let max = -1;

  for (let i = 0; i < size; i++) {
    if (withOffsets && dv.getUint32(offAt + 4 * i, true) !== pos) {
      throw new BitmapError("BAD_ROARING", `roaring offset of container ${i} does not point at byte ${pos}`, { offset: offAt + 4 * i });
    }
    const key = dv.getUint16(descAt + 4 * i, true);
    const card = dv.getUint16(descAt + 4 * i + 2, true) + 1;
    const base = key * 65536;
    const isRun = hasRun && ((bytes[4 + (i >>> 3)]! >>> (i & 7)) & 1) === 1;
    if (isRun) {
      if (pos + 2 > len) throw truncated(len);
      const nRuns = dv.getUint16(pos, true);
      pos += 2;
      if (pos + 4 * nRuns > len) throw truncated(len);
      let prevEnd = -1;
      let sum = 0;
      for (let r = 0; r < nRuns; r++, pos += 4) {
        const start = dv.getUint16(pos, true);
        const end = start + dv.getUint16(pos + 2, true); // inclusive
        if (start <= prevEnd) throw new BitmapError("NOT_INCREASING", `roaring run at ${start} overlaps the previous run`, { offset: pos });
        if (end > 65535) throw new BitmapError("OUT_OF_RANGE", `roaring run ${start}+${end - start} runs past its container`, { offset: pos });
        if (base + end >= limit) throw rangeError(base + end, pos);
        setRangeWords(words, base + start, base + end + 1);
        sum += end - start + 1;
        prevEnd = end;
        max = base + end;
      }
      if (sum !== card) throw new BitmapError("BAD_COUNT", `roaring run container holds ${sum} values, header says ${card}`, { offset: pos });
    } else if (card <= 4096) {
      if (pos + 2 * card > len) throw truncated(len);
      let prev = -1;
      for (let j = 0; j < card; j++, pos += 2) {
        const v = dv.getUint16(pos, true);
        if (v <= prev) throw new BitmapError("NOT_INCREASING", `roaring array value ${v} after ${prev}`, { offset: pos });
        if (base + v >= limit) throw rangeError(base + v, pos);
        words[(base + v) >>> 5]! |= 1 << (v & 31);
        prev = v;
      }
      max = base + prev;
    } else {
      if (pos + 8192 > len) throw truncated(len);
      let count = 0;
      let last = -1;
      for (let k = 0; k < 2048; k++) {
        const x = dv.getUint32(pos + 4 * k, true);
        if (x !== 0) {
          count += popcount32(x);
          last = k * 32 + 31 - Math.clz32(x);
        }
      }
      if (count !== card) throw new BitmapError("BAD_COUNT", `roaring bitmap container holds ${count} values, header says ${card}`, { offset: pos });
      if (base + last >= limit) throw rangeError(base + last, pos);
      for (let k = 0; k <= last >>> 5; k++) words[base / 32 + k] = dv.getUint32(pos + 4 * k, true);
      pos += 8192;
      max = base + last;
    }
  }
  if (pos !== len) throw new BitmapError("TRAILING_BYTES", `${len - pos} bytes after the last roaring container`, { offset: pos });
  const n = length ?? max + 1;
  const nWords = wordsFor(n);
  return new Bitset(n, nWords === words.length ? words : words.slice(0, nWords));
}
