import { test } from "node:test";
import assert from "node:assert/strict";
import { Bitset, BitmapError, MAX_BITS } from "../../../../src/crypto/bitmap/index.js";
import { seededRng } from "../../../support/seed.js";
import type { SeededRng } from "../../../../src/util/rng.js";

const code = (c: string) => (e: unknown) => e instanceof BitmapError && e.code === c;

/** A plain boolean-array model of a bitset: the oracle for every operation. */
function model(rng: SeededRng, n: number, p: number): boolean[] {
  return Array.from({ length: n }, () => rng.chance(p));
}
const fromModel = (m: boolean[]) => Bitset.fromIndices(m.length, m.flatMap((v, i) => (v ? [i] : [])));
const indicesOf = (m: boolean[]) => m.flatMap((v, i) => (v ? [i] : []));

// From 2,048 bits on count/toIndices, and from 8,192 bits on the in-place ops, run in the WASM core (wasmBitset.ts).
const SIZES = [0, 1, 2, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1000, 1024, 4095, 4096, 4097, 8191, 8192, 70_001];

test("set, get, clear and count agree with a boolean-array model at every boundary size", (t) => {
  const rng = seededRng(t);
  for (const n of SIZES) {
    for (const p of [0, 0.01, 0.5, 0.99, 1]) {
      const m = model(rng, n, p);
      const b = new Bitset(n);
      m.forEach((v, i) => v && b.set(i));
      assert.equal(b.length, n);
      assert.equal(b.count(), m.filter(Boolean).length, `n=${n} p=${p}`);
      for (let i = 0; i < n; i++) assert.equal(b.get(i), m[i], `n=${n} bit ${i}`);
      assert.deepEqual(Array.from(b), indicesOf(m));
      assert.deepEqual(Array.from(b.toIndices()), indicesOf(m));
      const seen: number[] = [];
      b.forEach((i) => seen.push(i));
      assert.deepEqual(seen, indicesOf(m));
      assert.equal(b.isEmpty(), m.every((v) => !v));
      if (n > 0) {
        const i = rng.int(n);
        b.clear(i);
        assert.equal(b.get(i), false);
        b.set(i, true);
        assert.equal(b.get(i), true);
        b.set(i, false);
        assert.equal(b.get(i), false);
      }
    }
  }
});

test("and, or, xor, andNot (new and in place) match the model", (t) => {
  const rng = seededRng(t);
  for (const n of SIZES) {
    const ma = model(rng, n, 0.4);
    const mb = model(rng, n, 0.6);
    const a = fromModel(ma);
    const b = fromModel(mb);
    const cases: Array<[string, (x: boolean, y: boolean) => boolean, Bitset, Bitset]> = [
      ["and", (x, y) => x && y, a.and(b), a.clone().andInPlace(b)],
      ["or", (x, y) => x || y, a.or(b), a.clone().orInPlace(b)],
      ["xor", (x, y) => x !== y, a.xor(b), a.clone().xorInPlace(b)],
      ["andNot", (x, y) => x && !y, a.andNot(b), a.clone().andNotInPlace(b)],
    ];
    for (const [name, f, fresh, inPlace] of cases) {
      const want = fromModel(ma.map((x, i) => f(x, mb[i]!)));
      assert.ok(fresh.equals(want), `${name} n=${n}`);
      assert.ok(inPlace.equals(want), `${name} in place n=${n}`);
    }
    assert.ok(a.equals(fromModel(ma)), "operands are not modified");
  }
});

test("equals distinguishes length and content; clone is independent", () => {
  const a = Bitset.fromIndices(100, [1, 50, 99]);
  const b = a.clone();
  assert.ok(a.equals(b));
  b.set(2);
  assert.ok(!a.equals(b));
  assert.equal(a.get(2), false);
  assert.ok(!new Bitset(64).equals(new Bitset(65)));
  assert.ok(new Bitset(0).equals(new Bitset(0)));
});

test("setRange and nextSetBit", (t) => {
  const rng = seededRng(t);
  for (const n of SIZES) {
    for (let k = 0; k < 5; k++) {
      const from = rng.int(n + 1);
      const to = from + rng.int(n - from + 1);
      const b = new Bitset(n).setRange(from, to);
      const want = Array.from({ length: to - from }, (_, i) => from + i);
      assert.deepEqual(Array.from(b), want, `n=${n} [${from},${to})`);
      const start = rng.int(n + 2) - 1;
      const next = want.find((i) => i >= start) ?? -1;
      assert.equal(b.nextSetBit(start), next);
    }
  }
});

test("out-of-range indices, mismatched lengths and bad sizes are typed errors", () => {
  const b = new Bitset(10);
  for (const i of [-1, 10, 11, 1.5, Number.NaN]) {
    assert.throws(() => b.get(i), code("OUT_OF_RANGE"));
    assert.throws(() => b.set(i), code("OUT_OF_RANGE"));
  }
  assert.throws(() => Bitset.fromIndices(10, [3, 10]), code("OUT_OF_RANGE"));
  assert.throws(() => b.and(new Bitset(11)), code("BAD_ARGUMENT"));
  assert.throws(() => b.orInPlace(new Bitset(9)), code("BAD_ARGUMENT"));
  assert.throws(() => new Bitset(-1), code("BAD_ARGUMENT"));
  assert.throws(() => new Bitset(MAX_BITS + 1), code("BAD_ARGUMENT"));
  assert.throws(() => b.setRange(5, 11), code("OUT_OF_RANGE"));
  assert.throws(() => b.setRange(6, 5), code("OUT_OF_RANGE"));
  // Wrapping words checks the shape and the zero tail (the invariant every word-wise operation relies on).
  assert.throws(() => new Bitset(10, new Uint32Array(1)), code("BAD_ARGUMENT"));
  assert.throws(() => new Bitset(10, new Uint32Array([1 << 10, 0])), code("BAD_ARGUMENT"));
  assert.deepEqual(Array.from(new Bitset(10, new Uint32Array([0b1000000001, 0]))), [0, 9]);
});

test("fromIndices accepts iterables and array-likes with duplicates in any order", () => {
  const want = [0, 5, 63, 64];
  assert.deepEqual(Array.from(Bitset.fromIndices(65, [64, 5, 0, 63, 5])), want);
  assert.deepEqual(Array.from(Bitset.fromIndices(65, new Set([64, 0, 63, 5]))), want);
  assert.deepEqual(Array.from(Bitset.fromIndices(65, new Uint32Array([63, 64, 0, 5]))), want);
});
