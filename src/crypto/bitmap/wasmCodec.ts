// The WASM backend of the bitmap codec (assembly/bitmap/), byte-identical to the TS reference (tsCodec.ts).
//
// Each call copies its input into the core's scratch arena, makes one boundary crossing, and copies the result
// out. The decoder needs the bit length before the call (to size the arena), so the header's length field is read
// here first and checked against `length`/`maxBits`; the core then parses and validates the whole encoding itself.

import { wasmCore } from "../wasm/loader.js";
import type { WasmCore } from "../wasm/loader.js";
import { Bitset, MAX_BITS, checkIndicesRoom, checkSortedIndices, wordsFor } from "./bitset.js";
import { BitmapError } from "./errors.js";
import type { BitmapErrorCode } from "./errors.js";
import { MAX_ENCODED_BYTES, TAG_DENSE_MAX, TAG_RUNS, TAG_SPARSE, checkDecodedLength, decodeLimit, readVarint } from "./format.js";
import type { DecodeOptions } from "./format.js";
import type { RoaringImportOptions } from "./roaring.js";
import { slabCopyU32, slabCopyU8 } from "./slab.js";

/** The core's bitmap exports (assembly/bitmap/, listed in assembly/index.ts). Pointers are arena offsets; word arrays are u64 LE. */
export interface BitmapExports {
  bitmapEncode(words: number, n: number, out: number, list: number, cap: number): number;
  bitmapEncodeList(list: number, m: number, n: number, out: number, words: number): number;
  bitmapDecode(input: number, len: number, words: number, maxN: number): number;
  bitmapDecodeList(input: number, len: number, words: number, maxN: number, list: number): number;
  bitmapErrorOffset(): number;
  bitmapDecodedLength(): number;
  bitsetCount(words: number, nWords: number): number;
  bitsetAnd(dst: number, a: number, b: number, nWords: number): void;
  bitsetOr(dst: number, a: number, b: number, nWords: number): void;
  bitsetXor(dst: number, a: number, b: number, nWords: number): void;
  bitsetAndNot(dst: number, a: number, b: number, nWords: number): void;
  bitsetGet(words: number, i: number): number;
  bitsetSet(words: number, i: number): void;
  bitsetClear(words: number, i: number): void;
  bitsetSetRange(words: number, from: number, to: number): void;
  bitsetIndices(words: number, nWords: number, out: number): number;
  roaringMaxSize(n: number): number;
  roaringExport(words: number, n: number, out: number, table: number): number;
  roaringHeader(input: number, len: number, limit: number, isLength: boolean | number): number;
  roaringImport(input: number, len: number, words: number, cap: number, limit: number, isLength: boolean | number): number;
}

/** Negative return codes of the core's decoders (assembly/bitmap/common.ts). -6 is never returned: the caller's `length` is checked here. */
const WASM_ERRORS: Record<number, BitmapErrorCode> = {
  [-1]: "TRUNCATED",
  [-2]: "TRAILING_BYTES",
  [-3]: "BAD_TAG",
  [-4]: "BAD_VARINT",
  [-5]: "TOO_LARGE",
  [-6]: "LENGTH_MISMATCH",
  [-7]: "OUT_OF_RANGE",
  [-8]: "NOT_INCREASING",
  [-9]: "BAD_COUNT",
  [-10]: "BAD_PADDING",
  [-11]: "BAD_PARAMETER",
  [-12]: "BAD_ROARING",
};

/** The bitmap view of a core instance. */
export function bitmapExports(core: WasmCore): BitmapExports {
  return core.exports as unknown as BitmapExports;
}

/** Turns a negative core return code into the typed error. */
export function wasmBitmapError(core: WasmCore, rc: number, what: string): BitmapError {
  const code = WASM_ERRORS[rc];
  const offset = bitmapExports(core).bitmapErrorOffset();
  if (code === undefined) return new BitmapError("BAD_ARGUMENT", `${what}: unexpected core status ${rc}`, { offset });
  return new BitmapError(code, `${what}: ${code} at byte ${offset}`, { offset });
}

const align8 = (x: number): number => (x + 7) & ~7;

/** Copies a bitset's words into the arena at `at` (the core reads them as u64 LE words). */
export function copyWordsIn(core: WasmCore, b: Bitset, at: number): void {
  core.u8().set(new Uint8Array(b.words.buffer, b.words.byteOffset, b.words.byteLength), at);
}

/** Encodes with the core. */
export function encodeWasm(b: Bitset, core: WasmCore = wasmCore()): Uint8Array {
  const x = bitmapExports(core);
  const wordBytes = b.words.byteLength;
  const maxOut = align8(1 + Math.ceil(b.length / 8) + 24);
  // The fast path's position list: up to n/16 positions (a denser set takes the general path), plus slack.
  const cap = Math.floor(b.length / 16) + 64;
  const base = core.reserve(wordBytes + maxOut + 4 * (cap + 66));
  copyWordsIn(core, b, base);
  const out = base + wordBytes;
  const size = x.bitmapEncode(base, b.length, out, out + maxOut, cap);
  return core.u8().slice(out, out + size);
}

/**
 * Encodes the set given by its sorted positions with the core, without a Bitset: for a sparse set only the list
 * crosses into the core (4 bytes per position instead of n/8 bytes of words) and nothing of size n is scanned.
 */
export function encodeIndicesWasm(length: number, indices: Uint32Array, core: WasmCore = wasmCore()): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0 || length > MAX_BITS) checkSortedIndices(length, indices);
  const x = bitmapExports(core);
  const m = indices.length;
  const maxOut = align8(1 + Math.ceil(length / 8) + 24);
  // The list is overwritten (HIGH positions) and read 4 values past its end by vector loads: 16 bytes of slack.
  const listBytes = align8(4 * m + 16);
  const base = core.reserve(listBytes + maxOut + wordsFor(length) * 4);
  new Uint32Array(core.exports.memory.buffer, base, m).set(indices);
  const out = base + listBytes;
  const size = x.bitmapEncodeList(base, m, length, out, out + maxOut);
  if (size < 0) {
    checkSortedIndices(length, indices); // the core only says "invalid": name the position
    throw new BitmapError("BAD_ARGUMENT", "bitmap encode: the core refused a list the reference accepts");
  }
  return slabCopyU8(core.u8().subarray(out, out + size));
}

/**
 * The bit length an encoding declares, read from its header and checked against the options (the same checks, in
 * the same order, as the TS decoder). The core re-reads and re-validates the header itself.
 */
function declaredLength(bytes: Uint8Array, opts: DecodeOptions | undefined): number {
  if (bytes.length === 0) throw new BitmapError("TRUNCATED", "empty input: no tag byte", { offset: 0 });
  const tag = bytes[0]!;
  if (tag <= TAG_DENSE_MAX) {
    if (bytes.length === 1 && tag !== 0) throw new BitmapError("BAD_PADDING", "empty dense body with non-zero pad", { offset: 0 });
    const n = (bytes.length - 1) * 8 - tag;
    checkDecodedLength(n, opts, 0);
    return n;
  }
  if (tag !== TAG_SPARSE && tag !== TAG_RUNS) {
    throw new BitmapError("BAD_TAG", `unknown bitmap tag 0x${tag.toString(16).padStart(2, "0")}`, { offset: 0, tag });
  }
  const n = readVarint(bytes, { off: 1 });
  checkDecodedLength(n, opts, 1);
  return n;
}

/**
 * Decodes `bytes` into the arena and returns the byte offset of the decoded words (the bit length `n` is the
 * caller's). Throws the typed error of an invalid encoding; the arena holds the words until the next core call.
 */
function decodeToArena(bytes: Uint8Array, n: number, core: WasmCore): number {
  // 16 bytes after the input (the core reads whole words and vectors across its end), one spare u64 word after the
  // words (the fast path parks values of an invalid input there instead of checking each one).
  const inBytes = align8(bytes.length + 16);
  const base = core.reserve(inBytes + wordsFor(n) * 4 + 8);
  core.u8().set(bytes, base);
  const rc = bitmapExports(core).bitmapDecode(base, bytes.length, base + inBytes, n);
  if (rc !== 0) throw wasmBitmapError(core, rc, "bitmap decode");
  return base + inBytes;
}

/**
 * Decodes with the core to the sorted set positions, left in the arena (valid until the next core call). A SPARSE
 * encoding goes from Elias-Fano straight to the list (the SIMD build never builds the n-bit words); DENSE and RUNS
 * are decoded to words and their bits extracted. Throws the typed error of an invalid encoding.
 */
function decodeIndicesToArena(bytes: Uint8Array, opts: DecodeOptions | undefined, core: WasmCore): { n: number; list: number; count: number } {
  decodeLimit(opts);
  if (bytes.length > MAX_ENCODED_BYTES) throw new BitmapError("TOO_LARGE", `encoding of ${bytes.length} bytes is above ${MAX_ENCODED_BYTES}`, { offset: 0 });
  const n = declaredLength(bytes, opts);
  const x = bitmapExports(core);
  const inBytes = align8(bytes.length + 16);
  const wordBytes = wordsFor(n) * 4 + 8;
  if (bytes[0] === TAG_SPARSE) {
    // m sizes the list; an m above n is the core's BAD_COUNT to report, so the room is capped at n.
    const pos = { off: 1 };
    readVarint(bytes, pos);
    const m = Math.min(readVarint(bytes, pos), n);
    const base = core.reserve(inBytes + wordBytes + 4 * (m + 8));
    core.u8().set(bytes, base);
    const list = base + inBytes + wordBytes;
    const rc = x.bitmapDecodeList(base, bytes.length, base + inBytes, n, list);
    if (rc !== 0) throw wasmBitmapError(core, rc, "bitmap decode");
    return { n, list, count: m };
  }
  const at = decodeToArena(bytes, n, core);
  const count = x.bitsetCount(at, wordsFor(n) >>> 1);
  const list = at + wordBytes;
  core.reserve(inBytes + wordBytes + 4 * count); // grows in place: the arena's base, the input and the words stay
  x.bitsetIndices(at, wordsFor(n) >>> 1, list);
  return { n, list, count };
}

/**
 * Decodes with the core to a new array of the sorted set positions. It takes 4 bytes per set position, up to 32x
 * the dense form's n/8: pass `length` or `maxBits`.
 */
export function decodeIndicesWasm(bytes: Uint8Array, opts?: DecodeOptions, core: WasmCore = wasmCore()): Uint32Array {
  const { n, list, count } = decodeIndicesToArena(bytes, opts, core);
  const result = slabCopyU32(new Uint32Array(core.exports.memory.buffer, list, count));
  if (opts?.canonical === true) checkSameBytes(encodeIndicesWasm(n, result, core), bytes);
  return result;
}

/**
 * Decodes with the core into `out` (positions at [0, count)) and returns the count: no allocation per call. BAD_ARGUMENT,
 * with `out` untouched, when `out` cannot hold them all.
 */
export function decodeIndicesIntoWasm(bytes: Uint8Array, out: Uint32Array, opts?: DecodeOptions, core: WasmCore = wasmCore()): number {
  const { n, list, count } = decodeIndicesToArena(bytes, opts, core);
  checkIndicesRoom(out, count);
  const view = new Uint32Array(core.exports.memory.buffer, list, count);
  if (opts?.canonical === true) {
    // The re-encoding reuses the arena: check a copy, then copy it in (`out` stays unchanged on NON_CANONICAL).
    const copy = view.slice();
    checkSameBytes(encodeIndicesWasm(n, copy, core), bytes);
    out.set(copy);
  } else out.set(view);
  return count;
}

/** NON_CANONICAL unless `again` (the re-encoding of what `bytes` decoded to) equals `bytes`. */
function checkSameBytes(again: Uint8Array, bytes: Uint8Array): void {
  if (again.length !== bytes.length || again.some((v, i) => v !== bytes[i])) {
    throw new BitmapError("NON_CANONICAL", "valid encoding, but not the canonical one for this set", { offset: 0 });
  }
}

/** NON_CANONICAL unless `bytes` is what the encoder writes for `b`. */
function checkCanonical(bytes: Uint8Array, b: Bitset, core: WasmCore): void {
  checkSameBytes(encodeWasm(b, core), bytes);
}

/**
 * A copy of `nWords32` words of the arena at `at`. Allocating a 12.5 KB word array (100,000 bits) costs 0.6-0.8 us
 * here, allocation plus the GC it drives, which is most of decodeWasm's time beyond the core call (see
 * decodeBitmapInto for hot paths). From 4 KB on, Buffer.allocUnsafeSlow (no zero-fill, never pooled) and a copy
 * measured ~40 ns faster than slice() at 12.5 KB; below, slice() was ~80 ns faster at 128 B (best of 40 x 20,000).
 */
function copyWordsOut(core: WasmCore, at: number, nWords32: number): Uint32Array {
  const view = new Uint32Array(core.exports.memory.buffer, at, nWords32);
  if (nWords32 < 1024) return view.slice();
  const b = Buffer.allocUnsafeSlow(nWords32 * 4);
  const words = new Uint32Array(b.buffer, b.byteOffset, nWords32);
  words.set(view);
  return words;
}

/** Decodes with the core into a new Bitset. */
export function decodeWasm(bytes: Uint8Array, opts?: DecodeOptions, core: WasmCore = wasmCore()): Bitset {
  decodeLimit(opts);
  if (bytes.length > MAX_ENCODED_BYTES) throw new BitmapError("TOO_LARGE", `encoding of ${bytes.length} bytes is above ${MAX_ENCODED_BYTES}`, { offset: 0 });
  const n = declaredLength(bytes, opts);
  const at = decodeToArena(bytes, n, core);
  const result = new Bitset(n, copyWordsOut(core, at, wordsFor(n)));
  if (opts?.canonical === true) checkCanonical(bytes, result, core);
  return result;
}

/**
 * Decodes with the core into `target`, whose length must be the encoding's (LENGTH_MISMATCH otherwise). On any
 * error `target` is left as it was: the core decodes into its arena, and the words are copied once it succeeded.
 */
export function decodeIntoWasm(bytes: Uint8Array, target: Bitset, opts?: DecodeOptions, core: WasmCore = wasmCore()): Bitset {
  const o: DecodeOptions = opts === undefined ? { length: target.length } : { ...opts, length: target.length };
  decodeLimit(o);
  if (bytes.length > MAX_ENCODED_BYTES) throw new BitmapError("TOO_LARGE", `encoding of ${bytes.length} bytes is above ${MAX_ENCODED_BYTES}`, { offset: 0 });
  const n = declaredLength(bytes, o);
  const at = decodeToArena(bytes, n, core);
  const decoded = new Uint32Array(core.exports.memory.buffer, at, target.words.length);
  if (opts?.canonical === true) {
    // The re-encoding reuses the arena: check a copy, then copy it in.
    const copy = new Bitset(n, decoded.slice());
    checkCanonical(bytes, copy, core);
    target.words.set(copy.words);
  } else target.words.set(decoded);
  return target;
}

/** Roaring portable export with the core. */
export function toRoaringWasm(b: Bitset, core: WasmCore = wasmCore()): Uint8Array {
  const x = bitmapExports(core);
  const wordBytes = b.words.byteLength;
  const maxOut = x.roaringMaxSize(b.length);
  const table = 12 * Math.ceil(b.length / 65536);
  const base = core.reserve(wordBytes + align8(maxOut) + table);
  copyWordsIn(core, b, base);
  const out = base + wordBytes;
  const size = x.roaringExport(base, b.length, out, out + align8(maxOut));
  return core.u8().slice(out, out + size);
}

/** Roaring portable import with the core (the same checks, in the same order, as fromRoaringTs). */
export function fromRoaringWasm(bytes: Uint8Array, opts?: RoaringImportOptions, core: WasmCore = wasmCore()): Bitset {
  const length = opts?.length;
  const limit = decodeLimit(opts);
  if (bytes.length > MAX_ENCODED_BYTES) throw new BitmapError("TOO_LARGE", `roaring input of ${bytes.length} bytes is above ${MAX_ENCODED_BYTES}`, { offset: 0 });
  const x = bitmapExports(core);
  const inBytes = align8(bytes.length + 8);
  let base = core.reserve(inBytes);
  core.u8().set(bytes, base);
  const keys = x.roaringHeader(base, bytes.length, limit, length !== undefined ? 1 : 0);
  if (keys < 0) throw wasmBitmapError(core, keys, "roaring import");
  // Values lie below keys * 65536 and below the limit: size the words by the smaller (as the TS reference does).
  const cap = length ?? Math.min(limit, keys * 65536);
  const nWords32 = Math.ceil(cap / 64) * 2;
  base = core.reserve(inBytes + nWords32 * 4); // growing keeps the input in place
  const rc = x.roaringImport(base, bytes.length, base + inBytes, cap, limit, length !== undefined ? 1 : 0);
  if (rc !== 0) throw wasmBitmapError(core, rc, "roaring import");
  const n = length ?? x.bitmapDecodedLength();
  const words = new Uint32Array(core.exports.memory.buffer, base + inBytes, Math.ceil(n / 64) * 2).slice();
  return new Bitset(n, words);
}
