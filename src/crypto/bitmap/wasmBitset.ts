// Bulk bitset operations on the WASM core (assembly/bitmap/bitset.ts): popcount with i64.popcnt, word-wise and/or/xor/
// andNot, and set-bit extraction. Bitset calls these for large sets only: each call copies the words into the
// core's arena, which costs as much as the JS loop for small sets. Like every core call, each owns the scratch
// arena only until it returns: callers must not hold arena offsets across a Bitset method call.

import { wasmCore } from "../wasm/loader.js";
import type { BitmapExports } from "./wasmCodec.js";

/** True on little-endian hosts: the core reads words as little-endian u64, JS typed arrays use the host order. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * From this many 32-bit words on, Bitset.count and toIndices run in the core. Measured on this 2-core machine
 * (best of 30 batches, JS loop vs core including the copy into the arena): count 41 vs 72 ns at 1,024 bits,
 * 109 vs 79 ns at 2,048, 219 vs 87 ns at 4,096; toIndices ties at 1,024 bits (406 vs 404 ns), 769 vs 586 ns at
 * 2,048. At 100,000 bits: count 2.9 us vs 0.58 us, toIndices 5.2 vs 2.5 us (`quire bench crypto --filter "bitmap bitset"`).
 */
export const WASM_MIN_WORDS_SCAN = 64;

/**
 * From this many 32-bit words on, the in-place and/or/xor/andNot run in the core (two copies in, one out):
 * or 146 vs 160 ns at 4,096 bits, 297 vs 197 ns at 8,192, 3.6 vs 1.1 us at 100,000 (same measurement).
 */
export const WASM_MIN_WORDS_OPS = 256;

/** Whether a set of `nWords32` words should use the core, for an operation with the given threshold. */
export function useWasm(nWords32: number, threshold: number): boolean {
  return LITTLE_ENDIAN && nWords32 >= threshold;
}

function exportsOf(): { x: BitmapExports; core: ReturnType<typeof wasmCore> } {
  const core = wasmCore();
  return { x: core.exports as unknown as BitmapExports, core };
}

function copyIn(mem: Uint8Array, w: Uint32Array, at: number): void {
  mem.set(new Uint8Array(w.buffer, w.byteOffset, w.byteLength), at);
}

/** Set bits of `w` (u64-padded words). */
export function wasmCount(w: Uint32Array): number {
  const { x, core } = exportsOf();
  const base = core.reserve(w.byteLength);
  copyIn(core.u8(), w, base);
  return x.bitsetCount(base, w.length >>> 1);
}

/** The set positions of `w`, increasing; `count` is their number (known to the caller). */
export function wasmIndices(w: Uint32Array, count: number): Uint32Array {
  const { x, core } = exportsOf();
  const base = core.reserve(w.byteLength + 4 * count);
  copyIn(core.u8(), w, base);
  const out = base + w.byteLength;
  const n = x.bitsetIndices(base, w.length >>> 1, out);
  return new Uint32Array(core.exports.memory.buffer, out, n).slice();
}

/** Which word-wise operation. */
export type WordOp = "and" | "or" | "xor" | "andNot";

/** a = a OP b, in place (equal lengths, checked by the caller). */
export function wasmWordOp(op: WordOp, a: Uint32Array, b: Uint32Array): void {
  const { x, core } = exportsOf();
  const bytes = a.byteLength;
  const base = core.reserve(2 * bytes);
  const mem = core.u8();
  copyIn(mem, a, base);
  copyIn(mem, b, base + bytes);
  const nWords = a.length >>> 1;
  const fn = op === "and" ? x.bitsetAnd : op === "or" ? x.bitsetOr : op === "xor" ? x.bitsetXor : x.bitsetAndNot;
  fn(base, base, base + bytes, nWords);
  a.set(new Uint32Array(core.exports.memory.buffer, base, a.length));
}
