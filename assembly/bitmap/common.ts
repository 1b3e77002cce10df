// Shared by the bitmap files: the error codes and how decoders report them, the format's tags, and the decoded length.
//
// Every pointer in the bitmap exports is an offset into the scratch arena (arena.ts) that the TS side filled. Word
// arrays are little-endian u64 words, bit i = (word[i >> 6] >> (i & 63)) & 1, with bits at or beyond the length
// zero. No managed allocation.
//
// Error reporting: decoders return 0 on success or a negative code (the table below, mirrored by
// src/crypto/bitmap/wasmCodec.ts) and leave the failing byte offset in `bitmapErrorOffset()`. They check every
// field in the same order as the TS reference decoder, so both report the same code for the same bytes.

export const E_TRUNCATED: i32 = -1;
export const E_TRAILING_BYTES: i32 = -2;
export const E_BAD_TAG: i32 = -3;
export const E_BAD_VARINT: i32 = -4;
export const E_TOO_LARGE: i32 = -5;
export const E_OUT_OF_RANGE: i32 = -7;
export const E_NOT_INCREASING: i32 = -8;
export const E_BAD_COUNT: i32 = -9;
export const E_BAD_PADDING: i32 = -10;
export const E_BAD_PARAMETER: i32 = -11;
export const E_BAD_ROARING: i32 = -12;

export const TAG_DENSE_MAX: u32 = 0x07;
export const TAG_SPARSE: u32 = 0x10;
export const TAG_RUNS: u32 = 0x11;
export const MAX_EF_WIDTH: u32 = 31;

let errOffset: u32 = 0;

/** Byte offset of the last decode error. */
export function bitmapErrorOffset(): u32 {
  return errOffset;
}

@inline export function fail(code: i32, offset: u32): i32 {
  errOffset = offset;
  return code;
}

let decodedN: u32 = 0;

/** Bit length of the last successful decode (compact or Roaring). */
export function bitmapDecodedLength(): u32 {
  return decodedN;
}

/** Records the bit length of a successful decode. */
@inline export function setDecodedLength(n: u32): void {
  decodedN = n;
}
