/**
 * # Quire compact bitmap format, version 1 (wire format — other implementations read this)
 *
 * A bitmap is a bit length `n` (0 <= n <= 2^31) and a set of positions in [0, n). It is encoded as one tag byte
 * followed by a body. Bit order is LSB-first everywhere: bit j of a byte string B is `(B[j >> 3] >> (j & 7)) & 1`.
 *
 * `varint` is unsigned LEB128: 7 bits per byte, least significant group first, high bit = "more follows"; at most
 * 5 bytes; minimal (a multi-byte varint may not end in 0x00).
 *
 * ## Tags
 *
 * | tag         | kind   | body                                                                                  |
 * |-------------|--------|---------------------------------------------------------------------------------------|
 * | 0x00..0x07  | DENSE  | ceil(n/8) bytes; bit i of the body = position i. `pad = tag & 7` = 8*len(body) - n,    |
 * |             |        | so n is implied by the body length; the top `pad` bits of the last byte must be 0, and |
 * |             |        | an empty body (n = 0) requires tag 0x00.                                               |
 * | 0x10        | SPARSE | varint n, varint m, u8 l, EF(x_0 < x_1 < ... < x_{m-1}): the set positions.            |
 * | 0x11        | RUNS   | varint n, varint m, u8 l, EF(t_0 < t_1 < ... < t_{m-1}): the transitions, i.e. every   |
 * |             |        | position t where bit t differs from bit t-1 (bit -1 counts as 0). Positions            |
 * |             |        | [t_0, t_1), [t_2, t_3), ... are set, and [t_{m-1}, n) too when m is odd.              |
 *
 * Every other tag is rejected (`BAD_TAG`).
 *
 * ## EF(v_0 < ... < v_{m-1}) with width l — Elias-Fano
 *
 * Requires 0 <= l <= 31 and every v_i < n, strictly increasing. Two byte-aligned parts, back to back:
 *
 * - LOW: m*l bits; bits [i*l, (i+1)*l) hold the low l bits of v_i (LSB-first). Padded with zero bits to
 *   ceil(m*l / 8) bytes.
 * - HIGH: for each i, bit `(v_i >> l) + i` is set, no other bit. Exactly ceil(((v_{m-1} >> l) + m) / 8) bytes, so
 *   its last byte is non-zero; empty when m = 0. The HIGH part ends the encoding.
 *
 * Decoding: the i-th set bit of HIGH, at bit position p, gives v_i = ((p - i) << l) | LOW_i.
 *
 * ## Decoder checks (each failure is a `BitmapError` code, never a partial result)
 *
 * TRUNCATED (input ends inside a field, HIGH has fewer than m set bits), TRAILING_BYTES (bytes after the end, or
 * HIGH ending in a zero byte), BAD_TAG, BAD_VARINT, TOO_LARGE (n > maxBits), BAD_COUNT (m > n, or HIGH has more
 * than m set bits), BAD_PARAMETER (l > 31), BAD_PADDING (non-zero DENSE pad bits or LOW padding bits),
 * NOT_INCREASING, OUT_OF_RANGE (v >= n), LENGTH_MISMATCH (n differs from the caller's expected length). Work and
 * memory are bounded by the input length and by `maxBits`, checked before anything of size n is allocated.
 *
 * ## Canonical choice (what the encoder writes; byte-identical across Quire's backends)
 *
 * For each kind the encoder computes the exact size: DENSE = 1 + ceil(n/8); SPARSE and RUNS = 1 + |varint n| +
 * |varint m| + 1 + |LOW| + |HIGH|, with l chosen in 0..31 to minimise |LOW| + |HIGH| (the smallest such l). It
 * writes the smallest kind; ties go to DENSE, then SPARSE, then RUNS. Decoders accept any well-formed encoding;
 * pass `canonical: true` to also reject encodings that differ from this choice.
 *
 * ## Examples
 *
 * - n = 0: `00`. n = 10 with {0, 9}: `06 01 02` (DENSE, pad 6).
 * - n = 100,000 with {99999}: `10 a08d06 01 0e 9f06 40` — SPARSE, n, m = 1, l = 14 (the smallest width giving the
 *   3-byte minimum), LOW = 99999 & 0x3fff = 0x069f in 14 bits, HIGH = bit (99999 >> 14) + 0 = 6.
 * - n = 100,000, all set: `11 a08d06 01 00 01` — RUNS with the single transition t_0 = 0 (m odd: set to n).
 * - n = 1,024 with 683 random signers: DENSE, 129 bytes. n = 100,000 with ~1,000 random failures: SPARSE with
 *   l = 6, about 1,050-1,080 bytes (6 header bytes + 6m/8 LOW + (99999 >> 6) + m bits of HIGH).
 */

import { BitmapError } from "./errors.js";
import { MAX_BITS } from "./bitset.js";

/** DENSE tags are 0x00..0x07 (low 3 bits = pad). */
export const TAG_DENSE_MAX = 0x07;
/** Elias-Fano list of set positions. */
export const TAG_SPARSE = 0x10;
/** Elias-Fano list of run transitions. */
export const TAG_RUNS = 0x11;

/** The widest Elias-Fano low part: positions are below 2^31. */
export const MAX_EF_WIDTH = 31;

/**
 * Default `maxBits` for decoders: 2^24 bits (a 2 MiB bitset). Callers that know the length (validator count,
 * txs in the block) should pass it as `length`; the default only stops a few hostile bytes from declaring a
 * multi-hundred-megabyte bitset.
 */
export const DEFAULT_MAX_BITS = 2 ** 24;

/** Encodings longer than this are refused before parsing: it bounds every bit offset below 2^31. */
export const MAX_ENCODED_BYTES = 2 ** 28;

/** Which body layout a tag selects. */
export type BitmapKind = "dense" | "sparse" | "runs";

/** Options every decoder takes. */
export interface DecodeOptions {
  /** Refuse (TOO_LARGE) encodings longer than this many bits. Default DEFAULT_MAX_BITS; at most MAX_BITS. */
  maxBits?: number;
  /** The bit length the caller expects (e.g. the validator count): anything else is LENGTH_MISMATCH. */
  length?: number;
  /** Also reject valid encodings that are not what the encoder would write for the same set (NON_CANONICAL). */
  canonical?: boolean;
}

/** The effective limit of a decode: `length` when given, else `maxBits`, validated. */
export function decodeLimit(opts: DecodeOptions | undefined): number {
  const maxBits = opts?.maxBits ?? DEFAULT_MAX_BITS;
  if (!Number.isSafeInteger(maxBits) || maxBits < 0 || maxBits > MAX_BITS) {
    throw new BitmapError("BAD_ARGUMENT", `maxBits ${maxBits} is not an integer in [0, ${MAX_BITS}]`);
  }
  const length = opts?.length;
  if (length === undefined) return maxBits;
  if (!Number.isSafeInteger(length) || length < 0 || length > MAX_BITS) {
    throw new BitmapError("BAD_ARGUMENT", `length ${length} is not an integer in [0, ${MAX_BITS}]`);
  }
  return length;
}

/** Checks a decoded length against the options (TOO_LARGE, LENGTH_MISMATCH). */
export function checkDecodedLength(n: number, opts: DecodeOptions | undefined, offset: number): void {
  const length = opts?.length;
  if (length !== undefined) {
    if (n !== length) throw new BitmapError("LENGTH_MISMATCH", `bitmap has ${n} bits, expected ${length}`, { offset, bits: n, expected: length });
    return;
  }
  const maxBits = opts?.maxBits ?? DEFAULT_MAX_BITS;
  if (n > maxBits) throw new BitmapError("TOO_LARGE", `bitmap declares ${n} bits, above maxBits ${maxBits}`, { offset, bits: n, maxBits });
}

/** Bytes of the LEB128 encoding of `v` (v < 2^35). */
export function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Writes `v` as LEB128 at `out[off]`; returns the offset after it. */
export function writeVarint(out: Uint8Array, off: number, v: number): number {
  while (v >= 0x80) {
    out[off++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  out[off++] = v;
  return off;
}

/** Reads a minimal LEB128 varint of at most 5 bytes. Returns the value; `pos.off` advances past it. */
export function readVarint(bytes: Uint8Array, pos: { off: number }): number {
  let v = 0;
  let scale = 1;
  const start = pos.off;
  for (let i = 0; i < 5; i++) {
    if (pos.off >= bytes.length) throw new BitmapError("TRUNCATED", `input ends inside a varint at byte ${start}`, { offset: start });
    const b = bytes[pos.off++]!;
    v += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) {
      if (b === 0 && i > 0) throw new BitmapError("BAD_VARINT", `non-minimal varint at byte ${start}`, { offset: start });
      return v;
    }
    scale *= 128;
  }
  throw new BitmapError("BAD_VARINT", `varint longer than 5 bytes at byte ${start}`, { offset: start });
}

/** Size in bytes of an Elias-Fano body (LOW + HIGH) for m values whose largest is `last`, with width l. */
export function efBytes(m: number, last: number, l: number): number {
  if (m === 0) return 0;
  // last < 2^31 and l <= 31, so `last >>> l` is exact; the sums can pass 2^32, so they are divided, not shifted.
  return Math.floor((m * l + 7) / 8) + Math.floor(((last >>> l) + m + 7) / 8);
}

/** The width l in 0..31 minimising the Elias-Fano body (smallest l on ties). */
export function efWidth(m: number, last: number): number {
  if (m === 0) return 0;
  let best = 0;
  let bestBytes = efBytes(m, last, 0);
  for (let l = 1; l <= MAX_EF_WIDTH; l++) {
    const b = efBytes(m, last, l);
    if (b < bestBytes) {
      best = l;
      bestBytes = b;
    }
  }
  return best;
}

/** Total encoded size of a SPARSE or RUNS encoding of m values (largest `last`) over n bits. */
export function efEncodingSize(n: number, m: number, last: number): number {
  return 1 + varintSize(n) + varintSize(m) + 1 + efBytes(m, last, efWidth(m, last));
}

/** The statistics the encoder chooses from: one pass over the words gives all four. */
export interface BitmapStats {
  /** Set positions. */
  count: number;
  /** Largest set position, or -1. */
  lastSet: number;
  /** Transitions (positions where bit t != bit t-1, bit -1 = 0). */
  transitions: number;
  /** Largest transition position, or -1. */
  lastTransition: number;
}

/** The kind the encoder writes for a set with these statistics, and its size in bytes. */
export function chooseKind(n: number, s: BitmapStats): { kind: BitmapKind; size: number } {
  let kind: BitmapKind = "dense";
  let size = 1 + Math.ceil(n / 8);
  const sparse = efEncodingSize(n, s.count, s.lastSet);
  if (sparse < size) {
    kind = "sparse";
    size = sparse;
  }
  const runs = efEncodingSize(n, s.transitions, s.lastTransition);
  if (runs < size) {
    kind = "runs";
    size = runs;
  }
  return { kind, size };
}

/** True on little-endian hosts (every platform Node runs on in practice; the TS codec has a byte-wise fallback). */
export { LITTLE_ENDIAN } from "./wasmBitset.js";
