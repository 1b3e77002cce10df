import type { Bitset } from "./bitset.js";
import type { DecodeOptions } from "./format.js";
import { LITTLE_ENDIAN } from "./format.js";
import { decodeIndicesIntoTs, decodeIndicesTs, decodeIntoTs, decodeTs, encodeIndicesTs, encodeTs } from "./tsCodec.js";
import { decodeIndicesIntoWasm, decodeIndicesWasm, decodeIntoWasm, decodeWasm, encodeIndicesWasm, encodeWasm, fromRoaringWasm, toRoaringWasm } from "./wasmCodec.js";
import { fromRoaringTs, toRoaringTs } from "./roaring.js";
import type { RoaringImportOptions } from "./roaring.js";

/** Which implementation runs the codec. All produce identical bytes and identical error codes. */
export type BitmapBackend = "wasm" | "ts";

/** The codec contract: the compact Quire format (format.ts) and the Roaring portable format. */
export interface BitmapCodec {
  readonly backend: BitmapBackend;
  /** The canonical compact encoding of `b`. */
  encode(b: Bitset): Uint8Array;
  /** Decodes the compact format; `BitmapError` on any malformed input. */
  decode(bytes: Uint8Array, opts?: DecodeOptions): Bitset;
  /** Decodes into `target` (its length is the expected one) and returns it; `target` is unchanged on any error. */
  decodeInto(bytes: Uint8Array, target: Bitset, opts?: DecodeOptions): Bitset;
  /** The canonical encoding of the `length`-bit set whose positions are `indices`, strictly increasing. */
  encodeIndices(length: number, indices: Uint32Array): Uint8Array;
  /** Decodes the compact format to its set positions, increasing. */
  decodeIndices(bytes: Uint8Array, opts?: DecodeOptions): Uint32Array;
  /** Decodes the positions into out[0, count) and returns count; `out` is unchanged on any error. */
  decodeIndicesInto(bytes: Uint8Array, out: Uint32Array, opts?: DecodeOptions): number;
  /** The Roaring portable serialization of `b`, as CRoaring writes it after runOptimize (roaring.ts). */
  toRoaring(b: Bitset): Uint8Array;
  /** Imports the Roaring portable serialization; `BitmapError` on any malformed input. */
  fromRoaring(bytes: Uint8Array, opts?: RoaringImportOptions): Bitset;
}

/** The pure TypeScript reference codec. */
export const tsBitmapCodec: BitmapCodec = {
  backend: "ts",
  encode: encodeTs,
  decode: decodeTs,
  decodeInto: decodeIntoTs,
  encodeIndices: encodeIndicesTs,
  decodeIndices: decodeIndicesTs,
  decodeIndicesInto: decodeIndicesIntoTs,
  toRoaring: toRoaringTs,
  fromRoaring: fromRoaringTs,
};

/** The WASM codec (the default), on the calling thread's core instance. */
export const wasmBitmapCodec: BitmapCodec = {
  backend: "wasm",
  encode: (b) => encodeWasm(b),
  decode: (bytes, opts) => decodeWasm(bytes, opts),
  decodeInto: (bytes, target, opts) => decodeIntoWasm(bytes, target, opts),
  encodeIndices: (length, indices) => encodeIndicesWasm(length, indices),
  decodeIndices: (bytes, opts) => decodeIndicesWasm(bytes, opts),
  decodeIndicesInto: (bytes, out, opts) => decodeIndicesIntoWasm(bytes, out, opts),
  toRoaring: (b) => toRoaringWasm(b),
  fromRoaring: (bytes, opts) => fromRoaringWasm(bytes, opts),
};

/**
 * The codec for a backend name; `wasm` by default. The core reads words as little-endian u64 while JS typed arrays
 * use the host's byte order, so a big-endian host runs the TS codec under either name.
 */
export function bitmapCodec(backend: BitmapBackend = "wasm"): BitmapCodec {
  switch (backend) {
    case "wasm":
      return LITTLE_ENDIAN ? wasmBitmapCodec : tsBitmapCodec;
    case "ts":
      return tsBitmapCodec;
  }
}

/** Options that pick a backend. */
export interface BackendOption {
  backend?: BitmapBackend;
}

/** The canonical compact encoding of `b` (tag byte + body, see format.ts). */
export function encodeBitmap(b: Bitset, opts?: BackendOption): Uint8Array {
  return bitmapCodec(opts?.backend).encode(b);
}

/** Decodes a compact encoding. Throws `BitmapError` (never traps, never allocates more than `maxBits` allow). */
export function decodeBitmap(bytes: Uint8Array, opts?: DecodeOptions & BackendOption): Bitset {
  return bitmapCodec(opts?.backend).decode(bytes, opts);
}

/**
 * Decodes a compact encoding into an existing Bitset, for hot paths that reuse one (e.g. a block's tx-result
 * bitmap): no allocation of n/8 bytes per call. The encoding must declare `target.length` bits (LENGTH_MISMATCH
 * otherwise; a `length` option is ignored). Throws `BitmapError` and leaves `target` unchanged on bad input.
 */
export function decodeBitmapInto(bytes: Uint8Array, target: Bitset, opts?: Omit<DecodeOptions, "length"> & BackendOption): Bitset {
  return bitmapCodec(opts?.backend).decodeInto(bytes, target, opts);
}

/**
 * The canonical compact encoding of the `length`-bit set whose positions are `indices` (strictly increasing, each
 * below `length`): the same bytes as `encodeBitmap(Bitset.fromIndices(length, indices))`. For sparse sets (a
 * block's failed txs) it is the cheaper input: the core reads 4 bytes per position instead of n/8 bytes of words.
 * Throws `BitmapError` OUT_OF_RANGE / NOT_INCREASING naming the first bad position, BAD_ARGUMENT for a bad length.
 */
export function encodeBitmapIndices(length: number, indices: Uint32Array, opts?: BackendOption): Uint8Array {
  return bitmapCodec(opts?.backend).encodeIndices(length, indices);
}

/**
 * Decodes a compact encoding to its set positions, increasing: the sparse form, where the reader needs the failed
 * txs rather than a bit per tx. Same checks and errors as `decodeBitmap`; the result takes 4 bytes per position
 * (up to 32x the n/8 of a Bitset), so pass `length` or `maxBits`.
 */
export function decodeBitmapIndices(bytes: Uint8Array, opts?: DecodeOptions & BackendOption): Uint32Array {
  return bitmapCodec(opts?.backend).decodeIndices(bytes, opts);
}

/**
 * Decodes a compact encoding's positions into `out` (at [0, count)) and returns count, for readers that decode many
 * bitmaps: no allocation per call. BAD_ARGUMENT when `out` is too short; `out` is unchanged on any error.
 */
export function decodeBitmapIndicesInto(bytes: Uint8Array, out: Uint32Array, opts?: DecodeOptions & BackendOption): number {
  return bitmapCodec(opts?.backend).decodeIndicesInto(bytes, out, opts);
}

/** The Roaring portable serialization of `b` (readable by Java/Go/C Roaring and npm `roaring`). */
export function toRoaring(b: Bitset, opts?: BackendOption): Uint8Array {
  return bitmapCodec(opts?.backend).toRoaring(b);
}

/** Imports a Roaring portable serialization. Throws `BitmapError` on malformed input or values beyond the limit. */
export function fromRoaring(bytes: Uint8Array, opts?: RoaringImportOptions & BackendOption): Bitset {
  return bitmapCodec(opts?.backend).fromRoaring(bytes, opts);
}
