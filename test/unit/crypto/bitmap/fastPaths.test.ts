// The core has fast paths next to its general loops: a SPARSE decoder (SIMD build) that checks order and range after
// the fact and falls back to the checked loop on any problem, and an encoder for sparse sets of >= 128 words that
// flattens the positions once and gives up for dense sets or when RUNS wins. These tests aim at their edges, on
// both compiled builds, against the TS reference decoder and the naive oracle encoder.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WasmCore, wasmCore } from "../../../../src/crypto/wasm/loader.js";
import { Bitset, BitmapError, decodeBitmap } from "../../../../src/crypto/bitmap/index.js";
import { decodeWasm, encodeWasm } from "../../../../src/crypto/bitmap/wasmCodec.js";
import { toHex } from "../../../../src/util/bytes.js";
import { seededRng } from "../../../support/seed.js";
import type { SeededRng } from "../../../../src/util/rng.js";
import { oracleEfEncoding, oracleEncode } from "./oracle.js";

const CORES: Array<[string, WasmCore]> = [
  ["default", wasmCore()],
  ["scalar", new WasmCore("scalar")],
];

type Outcome = { ok: true; set: Bitset } | { ok: false; code: string; offset: unknown };

function run(f: () => Bitset): Outcome {
  try {
    return { ok: true, set: f() };
  } catch (e) {
    if (e instanceof BitmapError) return { ok: false, code: e.code, offset: e.payload.offset };
    throw e;
  }
}

/** m distinct sorted values below n (m <= n). */
function sortedValues(rng: SeededRng, n: number, m: number): number[] {
  const set = new Set<number>();
  if (rng.chance(0.5) && m > 0) set.add(n - 1); // the last value next to n, where the clamp and the pre-check bite
  while (set.size < m) set.add(rng.int(n));
  return [...set].sort((a, b) => a - b);
}

/** Decodes with the TS reference and both builds; all three must agree on the set or on the error and its offset. */
function agree(bytes: Uint8Array, label: string): Outcome {
  const want = run(() => decodeBitmap(bytes, { backend: "ts", maxBits: 1 << 22 }));
  for (const [name, core] of CORES) {
    const got = run(() => decodeWasm(bytes, { maxBits: 1 << 22 }, core));
    if (want.ok && got.ok) assert.ok(got.set.equals(want.set), `${name} ${label}: different sets`);
    else assert.deepEqual(got, want, `${name} ${label}: ${toHex(bytes.subarray(0, 12))}`);
  }
  return want;
}

test("valid SPARSE lists decode identically at every width, across block boundaries and next to n", (t) => {
  const rng = seededRng(t);
  for (let l = 0; l <= 31; l++) {
    for (const m of [1, 7, 8, 9, 16, 17, 2047, 2048, 2049, 2056, 4100]) {
      const n = m + rng.int(Math.min(m * 2 ** l, 1 << 20));
      const values = sortedValues(rng, n, m);
      const bytes = Uint8Array.from(oracleEfEncoding(0x10, n, values, l));
      const got = agree(bytes, `l=${l} m=${m} n=${n}`);
      assert.ok(got.ok && got.set.equals(Bitset.fromIndices(n, values)), `l=${l} m=${m}: wrong set`);
    }
  }
});

test("invalid SPARSE lists that pass the fast path's pre-checks give the checked loop's exact error", (t) => {
  const rng = seededRng(t);
  let rejected = 0;
  for (let k = 0; k < 400; k++) {
    const l = rng.pick([0, 1, 3, 6, 7, 10, 17, 25, 26]);
    const m = rng.pick([2, 8, 9, 15, 64, 2050]);
    const n = m + 2 + rng.int(Math.min(m * 2 ** l, 1 << 20));
    const values = sortedValues(rng, n, m);
    const i = 1 + rng.int(m - 1);
    switch (rng.int(4)) {
      case 0: // a repeated value
        values[i] = values[i - 1]!;
        break;
      case 1: // two values swapped: same high part when close, a smaller high part otherwise
        [values[i - 1], values[i]] = [values[i]!, values[i - 1]!];
        break;
      case 2: // the last value at or just above n, in the bucket of n - 1 when the width allows
        values[m - 1] = n + rng.int(Math.max(1, Math.min(1 << l, 64)));
        break;
      default: // a value lowered below its predecessor within its bucket
        values[i] = values[i - 1]! - rng.int(Math.max(1, Math.min(values[i - 1]! + 1, 1 << l)));
    }
    const bytes = Uint8Array.from(oracleEfEncoding(0x10, n, values, l));
    if (!agree(bytes, `l=${l} m=${m} n=${n} i=${i}`).ok) rejected++;
  }
  t.diagnostic(`${rejected} of 400 altered lists rejected`);
  assert.ok(rejected > 300, "most alterations are invalid");
});

/** Sets aimed at the encoder's fast path: its size gate, its position cap, RUNS winning, runs reaching n. */
function encoderCases(rng: SeededRng): Array<[string, number, number[]]> {
  const out: Array<[string, number, number[]]> = [];
  for (const n of [8127, 8128, 8129, 8191, 8192, 8193, 64 * 64 * 2, 100_000, 131_072, 131_073]) {
    const cap = Math.floor(n / 16) + 64;
    const spread = (m: number) => sortedValues(rng, n, m);
    const run = (from: number, len: number) => Array.from({ length: len }, (_, i) => from + i);
    out.push(
      ["empty", n, []],
      ["first bit", n, [0]],
      ["last bit", n, [n - 1]],
      ["1%", n, spread(Math.floor(n / 100))],
      ["cap - 1", n, spread(cap - 1)],
      ["cap", n, spread(cap)],
      ["cap + 1", n, spread(cap + 1)],
      ["cap + 70", n, spread(cap + 70)],
      ["one short run (RUNS wins)", n, run(1000, 40)],
      ["a run reaching n", n, run(n - 37, 37)],
      ["a run reaching n after isolated bits", n, [...spread(20).filter((v) => v < n - 200), ...run(n - 3, 3)]],
      ["pairs (adjacency counts)", n, spread(200).filter((v) => v % 2 === 0 && v + 1 < n).flatMap((v) => [v, v + 1])],
      ["a word with 64 bits", n, run(64 * 5, 64)],
      // Near-ties between SPARSE and RUNS, where one transition or the last transition's position decides.
      ["two bits ending at n", n, run(n - 2, 2)],
      ["three bits ending at n", n, run(n - 3, 3)],
      ["a bit, then two ending at n", n, [n >> 1, n - 2, n - 1]],
      ["a bit, then four ending at n", n, [5, ...run(n - 4, 4)]],
      ["two bits, then two ending at n", n, [7, 4000, n - 2, n - 1]],
    );
    // m = T: p isolated bits and a run of p + 1 ending at n. Which of SPARSE and RUNS is smaller can then hinge on
    // the last transition being the start of that run (found by searching sizes with format.ts).
    for (const p of [2, 4, 8, 65, 69, 161, 165]) {
      if (2 * p + 1 > cap) continue;
      const step = Math.floor((n - p - 10) / p);
      out.push([`${p} isolated bits, then ${p + 1} ending at n`, n, [...Array.from({ length: p }, (_, i) => i * step), ...run(n - p - 1, p + 1)]]);
    }
    for (let k = 0; k < 4; k++) {
      const len = 2 + rng.int(4);
      out.push(["isolated bits, then a short run ending at n", n, [...spread(1 + rng.int(3)).filter((v) => v < n - 10), ...run(n - len, len)]]);
    }
  }
  return out;
}

test("the encoder's fast path writes the oracle's bytes at its size gate, its cap, and when RUNS wins", (t) => {
  const rng = seededRng(t);
  for (const [what, n, values] of encoderCases(rng)) {
    const set = [...new Set(values)].sort((a, b) => a - b);
    const b = Bitset.fromIndices(n, set);
    const bits = Array.from({ length: n }, () => false);
    for (const v of set) bits[v] = true;
    const want = toHex(oracleEncode(bits));
    for (const [name, core] of CORES) {
      const got = encodeWasm(b, core);
      assert.equal(toHex(got), want, `${name} n=${n} ${what}`);
      assert.ok(decodeWasm(got, { length: n }, core).equals(b), `${name} n=${n} ${what}: round trip`);
    }
  }
});
