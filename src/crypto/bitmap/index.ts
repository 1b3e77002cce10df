// Public surface of the bitmap module: the Bitset, its codecs and the typed error.
export { Bitset, MAX_BITS, wordsFor } from "./bitset.js";
export { BitmapError } from "./errors.js";
export type { BitmapErrorCode } from "./errors.js";
export { DEFAULT_MAX_BITS, TAG_DENSE_MAX, TAG_RUNS, TAG_SPARSE } from "./format.js";
export type { BitmapKind, DecodeOptions } from "./format.js";
export { bitmapCodec, decodeBitmap, decodeBitmapIndices, decodeBitmapIndicesInto, decodeBitmapInto, encodeBitmap, encodeBitmapIndices, fromRoaring, toRoaring, tsBitmapCodec, wasmBitmapCodec } from "./codec.js";
export type { RoaringImportOptions } from "./roaring.js";
export type { BackendOption, BitmapBackend, BitmapCodec } from "./codec.js";
