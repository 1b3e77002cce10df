// Pure TypeScript reference implementation of the compact bitmap format (format.ts). It is the oracle the WASM
// core is tested against (byte-identical output, identical error codes) and a selectable backend. It favours
// obvious correctness over speed, but avoids per-bit work where a word-at-a-time loop is just as clear.

import { Bitset, checkIndicesRoom, checkSortedIndices, ctz32, popcount32, setRangeWords, wordsFor } from "./bitset.js";
import { BitmapError } from "./errors.js";
import {
  LITTLE_ENDIAN,
  MAX_EF_WIDTH,
  MAX_ENCODED_BYTES,
  TAG_DENSE_MAX,
  TAG_RUNS,
  TAG_SPARSE,
  checkDecodedLength,
  chooseKind,
  decodeLimit,
  efWidth,
  readVarint,
  writeVarint,
} from "./format.js";
import type { BitmapStats, DecodeOptions } from "./format.js";

/** Count, last set position, transitions and last transition of a bitset, in one pass over its words. */
export function bitmapStats(b: Bitset): BitmapStats {
  const w = b.words;
  const n = b.length;
  const used = Math.ceil(n / 32); // words that hold positions; the rest are zero padding
  let count = 0;
  let lastSet = -1;
  let transitions = 0;
  let lastTransition = -1;
  let carry = 0; // bit t-1 for the first bit of the word
  for (let k = 0; k < used; k++) {
    const x = w[k]!;
    let tr = x ^ ((x << 1) | carry);
    carry = x >>> 31;
    // A transition at position n (the set running to the end) is implied by the format, not stored.
    if (k === used - 1 && (n & 31) !== 0) tr &= (1 << (n & 31)) - 1;
    if (x !== 0) {
      count += popcount32(x);
      lastSet = k * 32 + 31 - Math.clz32(x);
    }
    if (tr !== 0) {
      transitions += popcount32(tr);
      lastTransition = k * 32 + 31 - Math.clz32(tr);
    }
  }
  return { count, lastSet, transitions, lastTransition };
}

/** Encodes `b` in the canonical compact format. */
export function encodeTs(b: Bitset): Uint8Array {
  const n = b.length;
  const stats = bitmapStats(b);
  const { kind, size } = chooseKind(n, stats);
  const out = new Uint8Array(size);
  if (kind === "dense") {
    const body = Math.ceil(n / 8);
    out[0] = body * 8 - n;
    copyWordsToBytes(b.words, out, 1, body);
    return out;
  }
  const sparse = kind === "sparse";
  const m = sparse ? stats.count : stats.transitions;
  const last = sparse ? stats.lastSet : stats.lastTransition;
  const l = efWidth(m, last);
  out[0] = sparse ? TAG_SPARSE : TAG_RUNS;
  let off = writeVarint(out, 1, n);
  off = writeVarint(out, off, m);
  out[off++] = l;
  const ef = new EfWriter(out, off, m, l);
  const w = b.words;
  const used = Math.ceil(n / 32);
  if (sparse) {
    for (let k = 0; k < used; k++) {
      let x = w[k]!;
      while (x !== 0) {
        ef.push(k * 32 + ctz32(x));
        x &= x - 1;
      }
    }
  } else {
    let carry = 0;
    for (let k = 0; k < used; k++) {
      const x = w[k]!;
      let tr = x ^ ((x << 1) | carry);
      carry = x >>> 31;
      if (k === used - 1 && (n & 31) !== 0) tr &= (1 << (n & 31)) - 1;
      while (tr !== 0) {
        ef.push(k * 32 + ctz32(tr));
        tr &= tr - 1;
      }
    }
  }
  ef.finish();
  return out;
}

/**
 * Writes Elias-Fano values into a zeroed buffer: LOW at `base`, HIGH right after it. LOW goes through an int32
 * accumulator flushed a byte at a time; at most 7 bits stay pending, so chunks of <= 24 bits always fit.
 */
class EfWriter {
  private i = 0;
  private acc = 0;
  private accBits = 0;
  private lowAt: number;
  private readonly high: number;
  private readonly mask: number;

  constructor(
    private readonly out: Uint8Array,
    base: number,
    m: number,
    private readonly l: number,
  ) {
    this.lowAt = base;
    this.high = base + Math.ceil((m * l) / 8);
    this.mask = l === 0 ? 0 : 0xffffffff >>> (32 - l);
  }

  private put(bits: number, count: number): void {
    this.acc |= bits << this.accBits;
    this.accBits += count;
    while (this.accBits >= 8) {
      this.out[this.lowAt++] = this.acc & 0xff;
      this.acc >>>= 8;
      this.accBits -= 8;
    }
  }

  push(v: number): void {
    const l = this.l;
    const i = this.i++;
    if (l > 0) {
      const low = v & this.mask;
      if (l <= 24) this.put(low, l);
      else {
        this.put(low & 0xffff, 16);
        this.put(low >>> 16, l - 16);
      }
    }
    const h = (v >>> l) + i;
    this.out[this.high + (h >>> 3)]! |= 1 << (h & 7);
  }

  /** Writes the last partial LOW byte. */
  finish(): void {
    if (this.accBits > 0) this.out[this.lowAt] = this.acc & 0xff;
  }
}

function copyWordsToBytes(w: Uint32Array, out: Uint8Array, off: number, len: number): void {
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(w.buffer, w.byteOffset, len), off);
    return;
  }
  for (let j = 0; j < len; j++) out[off + j] = w[j >>> 2]! >>> ((j & 3) * 8);
}

/** Decodes the compact format. Throws `BitmapError` for any malformed input (see format.ts for the checks). */
export function decodeTs(bytes: Uint8Array, opts?: DecodeOptions): Bitset {
  decodeLimit(opts); // validates the options
  if (bytes.length === 0) throw new BitmapError("TRUNCATED", "empty input: no tag byte", { offset: 0 });
  if (bytes.length > MAX_ENCODED_BYTES) throw new BitmapError("TOO_LARGE", `encoding of ${bytes.length} bytes is above ${MAX_ENCODED_BYTES}`, { offset: 0 });
  const tag = bytes[0]!;
  let result: Bitset;
  if (tag <= TAG_DENSE_MAX) result = decodeDense(bytes, tag, opts);
  else if (tag === TAG_SPARSE || tag === TAG_RUNS) result = decodeEf(bytes, tag === TAG_SPARSE, opts);
  else throw new BitmapError("BAD_TAG", `unknown bitmap tag 0x${tag.toString(16).padStart(2, "0")}`, { offset: 0, tag });
  if (opts?.canonical === true) {
    const again = encodeTs(result);
    if (again.length !== bytes.length || again.some((v, i) => v !== bytes[i])) {
      throw new BitmapError("NON_CANONICAL", "valid encoding, but not the canonical one for this set", { offset: 0 });
    }
  }
  return result;
}

/** Decodes into `target` (its length is the expected length); `target` is unchanged on any error. */
export function decodeIntoTs(bytes: Uint8Array, target: Bitset, opts?: DecodeOptions): Bitset {
  const result = decodeTs(bytes, opts === undefined ? { length: target.length } : { ...opts, length: target.length });
  target.words.set(result.words);
  return target;
}

function decodeDense(bytes: Uint8Array, pad: number, opts: DecodeOptions | undefined): Bitset {
  const body = bytes.length - 1;
  if (body === 0 && pad !== 0) throw new BitmapError("BAD_PADDING", "empty dense body with non-zero pad", { offset: 0 });
  const n = body * 8 - pad;
  checkDecodedLength(n, opts, 0);
  if (pad !== 0 && bytes[body]! >>> (8 - pad) !== 0) {
    throw new BitmapError("BAD_PADDING", `bits beyond length ${n} are set`, { offset: body });
  }
  const words = new Uint32Array(wordsFor(n));
  if (LITTLE_ENDIAN) new Uint8Array(words.buffer).set(bytes.subarray(1));
  else for (let j = 0; j < body; j++) words[j >>> 2]! |= bytes[1 + j]! << ((j & 3) * 8);
  return new Bitset(n, words);
}

function decodeEf(bytes: Uint8Array, sparse: boolean, opts: DecodeOptions | undefined): Bitset {
  const pos = { off: 1 };
  const n = readVarint(bytes, pos);
  checkDecodedLength(n, opts, 1);
  const mAt = pos.off;
  const m = readVarint(bytes, pos);
  if (m > n) throw new BitmapError("BAD_COUNT", `${m} values do not fit ${n} bits`, { offset: mAt });
  if (pos.off >= bytes.length) throw new BitmapError("TRUNCATED", "input ends before the Elias-Fano width", { offset: pos.off });
  const l = bytes[pos.off++]!;
  if (l > MAX_EF_WIDTH) throw new BitmapError("BAD_PARAMETER", `Elias-Fano width ${l} is above ${MAX_EF_WIDTH}`, { offset: pos.off - 1 });
  const lowAt = pos.off;
  const lowBits = m * l;
  const highAt = lowAt + Math.ceil(lowBits / 8);
  if (highAt > bytes.length) throw new BitmapError("TRUNCATED", "input ends inside the Elias-Fano low part", { offset: bytes.length });
  if ((lowBits & 7) !== 0 && bytes[highAt - 1]! >>> (lowBits & 7) !== 0) {
    throw new BitmapError("BAD_PADDING", "non-zero padding after the Elias-Fano low part", { offset: highAt - 1 });
  }
  if (m === 0) {
    if (bytes.length !== highAt) throw new BitmapError("TRAILING_BYTES", "bytes after an empty value list", { offset: highAt });
  } else {
    if (bytes.length === highAt) throw new BitmapError("TRUNCATED", "input ends before the Elias-Fano high part", { offset: highAt });
    if (bytes[bytes.length - 1] === 0) throw new BitmapError("TRAILING_BYTES", "Elias-Fano high part ends in a zero byte", { offset: bytes.length - 1 });
  }

  const words = new Uint32Array(wordsFor(n));
  const scale = 2 ** l;
  let i = 0;
  let prev = -1;
  let runStart = 0;
  for (let j = highAt; j < bytes.length; j++) {
    let x = bytes[j]!;
    while (x !== 0) {
      if (i === m) throw new BitmapError("BAD_COUNT", `Elias-Fano high part has more than ${m} set bits`, { offset: j });
      const p = (j - highAt) * 8 + ctz32(x);
      x &= x - 1;
      const v = (p - i) * scale + (l === 0 ? 0 : readLow(bytes, lowAt, i * l, l));
      if (v <= prev) throw new BitmapError("NOT_INCREASING", `value ${v} after ${prev}`, { offset: j, index: i });
      if (v >= n) throw new BitmapError("OUT_OF_RANGE", `value ${v} is outside [0, ${n})`, { offset: j, index: i });
      if (sparse) words[v >>> 5]! |= 1 << (v & 31);
      else if ((i & 1) === 0) runStart = v;
      else setRangeWords(words, runStart, v);
      prev = v;
      i++;
    }
  }
  if (i !== m) throw new BitmapError("TRUNCATED", `Elias-Fano high part has ${i} of ${m} set bits`, { offset: bytes.length });
  if (!sparse && (m & 1) === 1) setRangeWords(words, runStart, n);
  return new Bitset(n, words);
}

/** Reads `l` (1..31) bits starting at bit `bit` of `bytes[base..]`, LSB-first (bytes past the end read as 0). */
function readLow(bytes: Uint8Array, base: number, bit: number, l: number): number {
  const at = base + (bit >>> 3);
  const shift = bit & 7;
  // Four bytes hold the value when shift + l <= 32; a fifth is needed only for widths above 25.
  const w = ((bytes[at] ?? 0) | ((bytes[at + 1] ?? 0) << 8) | ((bytes[at + 2] ?? 0) << 16) | ((bytes[at + 3] ?? 0) << 24)) >>> shift;
  if (shift + l <= 32) return (w & (0xffffffff >>> (32 - l))) >>> 0;
  const top = (bytes[at + 4] ?? 0) << (32 - shift);
  return ((w | top) & (0xffffffff >>> (32 - l))) >>> 0;
}

/** The encoding of the set whose sorted positions are `indices` (the reference: through a Bitset). */
export function encodeIndicesTs(length: number, indices: Uint32Array): Uint8Array {
  checkSortedIndices(length, indices);
  return encodeTs(Bitset.fromIndices(length, indices));
}

/** The sorted positions of an encoding (the reference: through a Bitset). */
export function decodeIndicesTs(bytes: Uint8Array, opts?: DecodeOptions): Uint32Array {
  return decodeTs(bytes, opts).toIndices();
}

/** The sorted positions of an encoding, written to `out`; returns their count (BAD_ARGUMENT if `out` is short). */
export function decodeIndicesIntoTs(bytes: Uint8Array, out: Uint32Array, opts?: DecodeOptions): number {
  const positions = decodeIndicesTs(bytes, opts);
  checkIndicesRoom(out, positions.length);
  out.set(positions);
  return positions.length;
}
