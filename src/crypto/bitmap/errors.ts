import { QuireError } from "../../util/errors.js";

/**
 * Why a bitmap operation refused its input. Decoders map every malformed byte string to one of these codes;
 * a decode never traps, hangs, allocates more than its `maxBits` allow, or returns a wrong set.
 */
export type BitmapErrorCode =
  /** The input ends inside a field (tag, varint, body, container). */
  | "TRUNCATED"
  /** Bytes left over after a complete encoding, or zero bytes where the format requires a non-zero last byte. */
  | "TRAILING_BYTES"
  /** The tag byte names no known encoding. */
  | "BAD_TAG"
  /** A varint is over-long (more than 5 bytes or a redundant zero group). */
  | "BAD_VARINT"
  /** A declared or required bit length exceeds `maxBits` (or the hard limit `MAX_BITS`). */
  | "TOO_LARGE"
  /** The decoded length differs from the `length` the caller expects. */
  | "LENGTH_MISMATCH"
  /** A position is at or beyond the bit length. */
  | "OUT_OF_RANGE"
  /** Positions are not strictly increasing. */
  | "NOT_INCREASING"
  /** A field's declared count disagrees with its contents (set bits, cardinality, run count). */
  | "BAD_COUNT"
  /** Padding bits (beyond the length, or after a packed field) are not zero. */
  | "BAD_PADDING"
  /** A parameter field holds a value the format does not allow (e.g. an Elias-Fano width above 31). */
  | "BAD_PARAMETER"
  /** The Roaring portable header is malformed (cookie, container count, keys, offsets). */
  | "BAD_ROARING"
  /** `canonical: true` was requested and the bytes are a valid but not the canonical encoding of their set. */
  | "NON_CANONICAL"
  /** Two bitsets of different lengths were combined, or an argument is out of its domain. */
  | "BAD_ARGUMENT";

/** The typed error of every bitmap API. `payload.offset` (when present) is the byte offset where decoding failed. */
export class BitmapError extends QuireError<BitmapErrorCode, { offset?: number; [key: string]: unknown }> {}
