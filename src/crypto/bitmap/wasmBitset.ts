// Bulk bitset operations on the WASM core (assembly/bitmap.ts): popcount with i64.popcnt, word-wise and/or/xor/
// andNot, and set-bit extraction. Bitset calls these for large sets only: each call copies the words into the
// core's arena, which costs as much as the JS loop for small sets.

import { wasmCore } from "../wasm/loader.js";
import type { BitmapExports } from "./wasmCodec.js";

/** True on little-endian hosts: the core reads words as little-endian u64, JS typed arrays use the host order. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * From this many 32-bit words on, Bitset.count/toIndices/…InPlace run in the core. Measured (bench/crypto/bitmap.ts
 * "bitset" rows, this 2-core machine): at 32 words (1,024 bits) JS and WASM tie (count 0.10 vs 0.12 us); at 3,126
 * words (100,000 bits) WASM is ~6x faster on count (0.6 vs 3.6 us) and ~4.6x on toIndices (1.9 vs 8.5 us).
 */
export const WASM_MIN_WORDS = 128;

/** Whether a set of `nWords32` words should use the core. */
export function useWasm(nWords32: number): boolean {
  return LITTLE_ENDIAN && nWords32 >= WASM_MIN_WORDS;
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
