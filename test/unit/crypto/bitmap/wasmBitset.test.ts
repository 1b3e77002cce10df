import { test } from "node:test";
import assert from "node:assert/strict";
import { WasmCore, wasmCore } from "../../../../src/crypto/wasm/loader.js";
import { Bitset, encodeBitmap, toRoaring } from "../../../../src/crypto/bitmap/index.js";
import type { BitmapExports } from "../../../../src/crypto/bitmap/wasmCodec.js";
import { decodeWasm, encodeWasm, fromRoaringWasm, toRoaringWasm } from "../../../../src/crypto/bitmap/wasmCodec.js";
import { toHex } from "../../../../src/util/bytes.js";
import { seededRng } from "../../../support/seed.js";
import type { SeededRng } from "../../../../src/util/rng.js";

// Both compiled builds (SIMD and scalar) run the same checks against a plain boolean-array model.
const CORES: Array<[string, () => WasmCore]> = [
  ["default", () => wasmCore()],
  ["scalar", () => new WasmCore("scalar")],
];

function randomBits(rng: SeededRng, n: number): boolean[] {
  const p = rng.pick([0, 0.01, 0.5, 1]);
  return Array.from({ length: n }, () => rng.chance(p));
}
const toSet = (bits: boolean[]) => Bitset.fromIndices(bits.length, bits.flatMap((v, i) => (v ? [i] : [])));

/** Writes a bitset's words to the arena at `at` and returns the number of u64 words. */
function put(core: WasmCore, b: Bitset, at: number): number {
  core.u8().set(new Uint8Array(b.words.buffer, b.words.byteOffset, b.words.byteLength), at);
  return b.words.length / 2;
}
function get(core: WasmCore, at: number, length: number): Bitset {
  const words = new Uint32Array(core.exports.memory.buffer, at, Math.ceil(length / 64) * 2).slice();
  return new Bitset(length, words);
}

for (const [name, make] of CORES) {
  test(`core (${name}): get, set, clear, setRange, count and indices over word arrays match the model`, (t) => {
    const rng = seededRng(t);
    const core = make();
    const x = core.exports as unknown as BitmapExports;
    for (const n of [1, 63, 64, 65, 4095, 4096, 4097, 70_000]) {
      const bits = randomBits(rng, n);
      const model = toSet(bits);
      const base = core.reserve(5 * n + 64); // words (n/8 bytes) then up to n u32 indices
      const nw = put(core, new Bitset(n), base);
      bits.forEach((v, i) => v && x.bitsetSet(base, i));
      assert.ok(get(core, base, n).equals(model), `set n=${n}`);
      for (let k = 0; k < 50; k++) {
        const i = rng.int(n);
        assert.equal(x.bitsetGet(base, i), bits[i] ? 1 : 0);
      }
      assert.equal(x.bitsetCount(base, nw), model.count());
      const out = base + nw * 8;
      const c = x.bitsetIndices(base, nw, out);
      assert.deepEqual(Array.from(new Uint32Array(core.exports.memory.buffer, out, c)), Array.from(model));
      const i = rng.int(n);
      x.bitsetClear(base, i);
      assert.equal(x.bitsetGet(base, i), 0);
      const from = rng.int(n + 1);
      const to = from + rng.int(n - from + 1);
      put(core, new Bitset(n), base);
      x.bitsetSetRange(base, from, to);
      assert.ok(get(core, base, n).equals(new Bitset(n).setRange(from, to)), `setRange [${from},${to}) n=${n}`);
    }
  });

  test(`core (${name}): and, or, xor, andNot over word arrays match the model`, (t) => {
    const rng = seededRng(t);
    const core = make();
    const x = core.exports as unknown as BitmapExports;
    for (const n of [1, 64, 65, 4097, 70_000]) {
      const a = toSet(randomBits(rng, n));
      const b = toSet(randomBits(rng, n));
      const bytes = a.words.byteLength;
      const base = core.reserve(3 * bytes);
      for (const [op, fn, want] of [
        ["and", x.bitsetAnd, a.and(b)],
        ["or", x.bitsetOr, a.or(b)],
        ["xor", x.bitsetXor, a.xor(b)],
        ["andNot", x.bitsetAndNot, a.andNot(b)],
      ] as const) {
        const nw = put(core, a, base);
        put(core, b, base + bytes);
        fn(base + 2 * bytes, base, base + bytes, nw);
        // the JS model for the same op, computed word by word without the core
        const model = new Bitset(n);
        for (const i of Array.from({ length: n }, (_, k) => k)) {
          const p = a.get(i);
          const q = b.get(i);
          if (op === "and" ? p && q : op === "or" ? p || q : op === "xor" ? p !== q : p && !q) model.set(i);
        }
        assert.ok(get(core, base + 2 * bytes, n).equals(model), `${op} n=${n}`);
        assert.ok(want.equals(model), `Bitset.${op} n=${n}`);
      }
    }
  });

  test(`core (${name}): codec and Roaring bytes equal the default build's`, (t) => {
    const rng = seededRng(t);
    const core = make();
    for (let k = 0; k < 30; k++) {
      const n = rng.pick([0, 1, 64, 1024, 100_000, 140_000]);
      const b = toSet(randomBits(rng, n));
      const enc = encodeWasm(b, core);
      assert.equal(toHex(enc), toHex(encodeBitmap(b, { backend: "ts" })));
      assert.ok(decodeWasm(enc, { length: n }, core).equals(b));
      const r = toRoaringWasm(b, core);
      assert.equal(toHex(r), toHex(toRoaring(b, { backend: "ts" })));
      assert.ok(fromRoaringWasm(r, { length: n }, core).equals(b));
    }
  });
}
