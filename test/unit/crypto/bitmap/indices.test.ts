// The list forms of the codec: encodeBitmapIndices (sorted positions -> bytes) and decodeBitmapIndices (bytes ->
// sorted positions). The bytes must be exactly the Bitset encoder's (the format is consensus-critical), checked
// against the naive oracle; decoding must give the same set or the same error as the TS reference decoder. Both
// compiled builds run: the SIMD build decodes SPARSE straight to the list, the scalar build through the words.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WasmCore, wasmCore } from "../../../../src/crypto/wasm/loader.js";
import { Bitset, BitmapError, decodeBitmap, decodeBitmapIndices, decodeBitmapIndicesInto, encodeBitmap, encodeBitmapIndices } from "../../../../src/crypto/bitmap/index.js";
import type { BitmapBackend } from "../../../../src/crypto/bitmap/index.js";
import { decodeIndicesIntoWasm, decodeIndicesWasm, encodeIndicesWasm } from "../../../../src/crypto/bitmap/wasmCodec.js";
import { toHex } from "../../../../src/util/bytes.js";
import { seededRng } from "../../../support/seed.js";
import type { SeededRng } from "../../../../src/util/rng.js";
import { oracleEfEncoding, oracleEncode } from "./oracle.js";

const CORES: Array<[string, WasmCore]> = [
  ["default", wasmCore()],
  ["scalar", new WasmCore("scalar")],
];
const BACKENDS: BitmapBackend[] = ["ts", "wasm"];

/** Every way of running each list codec: both backends, and the wasm one on both builds. */
const ENCODERS: Array<[string, (n: number, v: Uint32Array) => Uint8Array]> = [
  ...BACKENDS.map((backend): [string, (n: number, v: Uint32Array) => Uint8Array] => [backend, (n, v) => encodeBitmapIndices(n, v, { backend })]),
  ...CORES.map(([name, core]): [string, (n: number, v: Uint32Array) => Uint8Array] => [`core ${name}`, (n, v) => encodeIndicesWasm(n, v, core)]),
];
const DECODERS: Array<[string, (b: Uint8Array, maxBits: number) => Uint32Array]> = [
  ...BACKENDS.map((backend): [string, (b: Uint8Array, maxBits: number) => Uint32Array] => [backend, (b, maxBits) => decodeBitmapIndices(b, { backend, maxBits })]),
  ...CORES.map(([name, core]): [string, (b: Uint8Array, maxBits: number) => Uint32Array] => [`core ${name}`, (b, maxBits) => decodeIndicesWasm(b, { maxBits }, core)]),
  // The Into forms, through an output with room to spare, whose tail must stay as it was.
  ...BACKENDS.map((backend): [string, (b: Uint8Array, maxBits: number) => Uint32Array] => [`${backend} into`, (b, maxBits) => viaInto((out) => decodeBitmapIndicesInto(b, out, { backend, maxBits }))]),
  ...CORES.map(([name, core]): [string, (b: Uint8Array, maxBits: number) => Uint32Array] => [`core ${name} into`, (b, maxBits) => viaInto((out) => decodeIndicesIntoWasm(b, out, { maxBits }, core))]),
];

const ROOM = 1 << 18;
const out = new Uint32Array(ROOM + 3);
/** Runs an Into decoder on a reused output (the 3 words past ROOM must stay 0xdeadbeef) and returns its positions. */
function viaInto(decode: (out: Uint32Array) => number): Uint32Array {
  out.fill(0xdeadbeef);
  const count = decode(out.subarray(0, ROOM));
  assert.ok(out.subarray(ROOM).every((v) => v === 0xdeadbeef), "wrote past its output");
  return out.slice(0, count);
}

/** m distinct sorted values below n. */
function sortedValues(rng: SeededRng, n: number, m: number): number[] {
  const set = new Set<number>();
  if (rng.chance(0.5) && m > 0) set.add(n - 1);
  while (set.size < Math.min(m, n)) set.add(rng.int(n));
  return [...set].sort((a, b) => a - b);
}

/** Sets of every kind the encoder can choose (DENSE, SPARSE, RUNS) at sizes around the core's word and block sizes. */
function cases(rng: SeededRng): Array<[string, number, number[]]> {
  const out: Array<[string, number, number[]]> = [];
  const run = (from: number, len: number) => Array.from({ length: len }, (_, i) => from + i);
  for (const n of [0, 1, 7, 8, 9, 63, 64, 65, 1024, 8191, 8192, 8193, 100_000, 131_073]) {
    out.push(["empty", n, []]);
    if (n === 0) continue;
    out.push(
      ["first bit", n, [0]],
      ["last bit", n, [n - 1]],
      ["all", n, run(0, n)],
      ["1%", n, sortedValues(rng, n, Math.floor(n / 100))],
      ["2/3", n, sortedValues(rng, n, Math.floor((2 * n) / 3))],
      ["n/16 + 70 (past the Bitset fast path's cap)", n, sortedValues(rng, n, Math.floor(n / 16) + 70)],
      ["a run reaching n", n, run(n - Math.min(n, 37), Math.min(n, 37))],
      ["a short run (RUNS wins when n is large)", n, run(Math.floor(n / 3), Math.min(40, n - Math.floor(n / 3)))],
      ["isolated bits, then a run ending at n", n, [...new Set([...sortedValues(rng, n, 3).filter((v) => v < n - 10), ...run(Math.max(0, n - 4), Math.min(n, 4))])].sort((a, b) => a - b)],
    );
  }
  return out;
}

test("encodeBitmapIndices writes the oracle's bytes (= encodeBitmap's) for every kind of set, on every backend and build", (t) => {
  const rng = seededRng(t);
  for (const [what, n, values] of cases(rng)) {
    const bits = Array.from({ length: n }, () => false);
    for (const v of values) bits[v] = true;
    const want = toHex(oracleEncode(bits));
    assert.equal(toHex(encodeBitmap(Bitset.fromIndices(n, values))), want, `encodeBitmap n=${n} ${what}`);
    for (const [name, encode] of ENCODERS) {
      const list = Uint32Array.from(values);
      assert.equal(toHex(encode(n, list)), want, `${name} n=${n} ${what}`);
      assert.deepEqual(Array.from(list), values, `${name} n=${n} ${what}: the caller's list is not modified`);
    }
  }
});

test("decodeBitmapIndices gives the positions of every kind of set, on every backend and build", (t) => {
  const rng = seededRng(t);
  for (const [what, n, values] of cases(rng)) {
    const bits = Array.from({ length: n }, () => false);
    for (const v of values) bits[v] = true;
    const bytes = oracleEncode(bits);
    for (const [name, decode] of DECODERS) assert.deepEqual(Array.from(decode(bytes, 1 << 20)), values, `${name} n=${n} ${what}`);
    for (const backend of BACKENDS) {
      assert.deepEqual(Array.from(decodeBitmapIndices(bytes, { backend, length: n, canonical: true })), values, `${backend} canonical n=${n} ${what}`);
    }
  }
});

test("SPARSE lists decode to the list at every width, across the fast decoder's blocks and next to n", (t) => {
  const rng = seededRng(t);
  for (let l = 0; l <= 31; l++) {
    for (const m of [1, 7, 8, 9, 2047, 2048, 2049, 4100]) {
      const n = m + rng.int(Math.min(m * 2 ** l, 1 << 20));
      const values = sortedValues(rng, n, m);
      // Not necessarily the canonical width: decoders accept any well-formed encoding.
      const bytes = Uint8Array.from(oracleEfEncoding(0x10, n, values, l));
      for (const [name, decode] of DECODERS) assert.deepEqual(Array.from(decode(bytes, 1 << 22)), values, `${name} l=${l} m=${m} n=${n}`);
    }
  }
});

type Outcome = { ok: true; values: number[] } | { ok: false; code: string; offset: unknown };
function outcome(f: () => ArrayLike<number>): Outcome {
  try {
    return { ok: true, values: Array.from(f()) };
  } catch (e) {
    if (e instanceof BitmapError) return { ok: false, code: e.code, offset: e.payload.offset };
    throw e;
  }
}

test("altered and mutated encodings give the TS reference decoder's set or exact error (code and offset)", (t) => {
  const rng = seededRng(t);
  let rejected = 0;
  for (let k = 0; k < 600; k++) {
    let bytes: Uint8Array;
    if (k % 2 === 0) {
      // SPARSE lists with one value broken in the ways the fast decoder checks after the fact.
      const l = rng.pick([0, 1, 3, 6, 7, 10, 17, 25, 26]);
      const m = rng.pick([2, 8, 9, 15, 64, 2050]);
      const n = m + 2 + rng.int(Math.min(m * 2 ** l, 1 << 20));
      const values = sortedValues(rng, n, m);
      const i = 1 + rng.int(m - 1);
      switch (rng.int(3)) {
        case 0:
          values[i] = values[i - 1]!;
          break;
        case 1:
          values[m - 1] = n + rng.int(Math.max(1, Math.min(1 << l, 64)));
          break;
        default:
          [values[i - 1], values[i]] = [values[i]!, values[i - 1]!];
      }
      bytes = Uint8Array.from(oracleEfEncoding(0x10, n, values, l));
    } else {
      // Random byte flips, truncations and extensions of valid encodings of all kinds.
      const n = rng.pick([10, 100, 1000, 9000, 100_000]);
      const good = encodeBitmap(Bitset.fromIndices(n, sortedValues(rng, n, rng.pick([0, 1, 5, Math.floor(n / 50), Math.floor(n / 2)]))));
      const b = Array.from(good);
      const what = rng.int(3);
      if (what === 0 && b.length > 0) {
        const at = rng.int(b.length);
        b[at] = b[at]! ^ (1 << rng.int(8));
      } else if (what === 1) b.length = rng.int(b.length + 1);
      else b.push(rng.int(256));
      bytes = Uint8Array.from(b);
    }
    const want = outcome(() => decodeBitmap(bytes, { backend: "ts", maxBits: 1 << 22 }).toIndices());
    if (!want.ok) rejected++;
    for (const [name, decode] of DECODERS) assert.deepEqual(outcome(() => decode(bytes, 1 << 22)), want, `${name} #${k}: ${toHex(bytes.subarray(0, 12))}`);
  }
  t.diagnostic(`${rejected} of 600 inputs rejected`);
  assert.ok(rejected > 200, "most alterations are invalid");
});

test("encodeBitmapIndices refuses lists that are not strictly increasing positions below the length, naming the first", () => {
  const bad: Array<[string, number, number[], string, number]> = [
    ["a repeated position", 100, [1, 5, 5, 9], "NOT_INCREASING", 2],
    ["a decreasing position", 100, [1, 5, 4, 9], "NOT_INCREASING", 2],
    ["a position at the length", 100, [1, 5, 100], "OUT_OF_RANGE", 2],
    ["a position beyond the length", 100, [1, 2_000_000_000], "OUT_OF_RANGE", 1],
    ["a position in a zero-length set", 0, [0], "OUT_OF_RANGE", 0],
    ["unsorted, later out of range: the first fault wins", 100_000, [...Array.from({ length: 40 }, (_, i) => 7 * i), 3, 100_000], "NOT_INCREASING", 40],
  ];
  for (const [what, n, values, code, index] of bad) {
    for (const [name, encode] of ENCODERS) {
      assert.throws(
        () => encode(n, Uint32Array.from(values)),
        (e: unknown) => e instanceof BitmapError && e.code === code && e.payload["index"] === index,
        `${name}: ${what}`,
      );
    }
  }
  for (const length of [-1, 1.5, 2 ** 31 + 1, Number.NaN]) {
    for (const [name, encode] of ENCODERS) {
      assert.throws(() => encode(length, new Uint32Array(0)), (e: unknown) => e instanceof BitmapError && e.code === "BAD_ARGUMENT", `${name}: length ${length}`);
    }
  }
});

test("decodeBitmapIndices enforces length, maxBits and canonical like decodeBitmap", () => {
  const bytes = encodeBitmap(Bitset.fromIndices(100_000, [3, 99_999]));
  for (const backend of BACKENDS) {
    const code = (c: string) => (e: unknown) => e instanceof BitmapError && e.code === c;
    assert.throws(() => decodeBitmapIndices(bytes, { backend, length: 99_999 }), code("LENGTH_MISMATCH"), backend);
    assert.throws(() => decodeBitmapIndices(bytes, { backend, maxBits: 99_999 }), code("TOO_LARGE"), backend);
    // The same set written with a non-canonical width: valid, but not what the encoder writes.
    const wide = Uint8Array.from(oracleEfEncoding(0x10, 100_000, [3, 99_999], 3));
    assert.deepEqual(Array.from(decodeBitmapIndices(wide, { backend })), [3, 99_999], backend);
    assert.throws(() => decodeBitmapIndices(wide, { backend, canonical: true }), code("NON_CANONICAL"), backend);
  }
});

test("decodeBitmapIndicesInto refuses an output that is too short and leaves it unchanged on any error", () => {
  const values = [3, 64, 65, 99_999];
  const bytes = encodeBitmap(Bitset.fromIndices(100_000, values));
  const wide = Uint8Array.from(oracleEfEncoding(0x10, 100_000, values, 3));
  for (const backend of BACKENDS) {
    const code = (c: string) => (e: unknown) => e instanceof BitmapError && e.code === c;
    const short = new Uint32Array(3).fill(7);
    assert.throws(() => decodeBitmapIndicesInto(bytes, short, { backend }), code("BAD_ARGUMENT"), backend);
    assert.deepEqual(Array.from(short), [7, 7, 7], `${backend}: short output unchanged`);
    const room = new Uint32Array(4).fill(7);
    assert.throws(() => decodeBitmapIndicesInto(wide, room, { backend, canonical: true }), code("NON_CANONICAL"), backend);
    assert.throws(() => decodeBitmapIndicesInto(bytes, room, { backend, length: 5 }), code("LENGTH_MISMATCH"), backend);
    assert.deepEqual(Array.from(room), [7, 7, 7, 7], `${backend}: output unchanged on errors`);
    assert.equal(decodeBitmapIndicesInto(bytes, room, { backend, canonical: true }), 4, backend);
    assert.deepEqual(Array.from(room), values, backend);
  }
});

test("results kept across many calls stay intact (small ones share slabs, large ones do not)", (t) => {
  const rng = seededRng(t);
  const kept: Array<{ values: number[]; bytes: string; decoded: Uint32Array; encoded: Uint8Array }> = [];
  for (let k = 0; k < 300; k++) {
    // Sizes from a few bytes to past SLAB_MAX_RESULT (4 KiB of positions), so slabs fill up and get replaced.
    const n = rng.pick([50, 5000, 100_000, 1_000_000]);
    const values = sortedValues(rng, n, rng.pick([0, 1, 3, 100, 965, 1100, Math.floor(n / 40)]));
    const bytes = encodeBitmap(Bitset.fromIndices(n, values));
    kept.push({ values, bytes: toHex(bytes), decoded: decodeBitmapIndices(bytes, { length: n }), encoded: encodeBitmapIndices(n, Uint32Array.from(values)) });
  }
  kept.forEach((r, k) => {
    assert.deepEqual(Array.from(r.decoded), r.values, `decoded #${k}`);
    assert.equal(toHex(r.encoded), r.bytes, `encoded #${k}`);
  });
});
