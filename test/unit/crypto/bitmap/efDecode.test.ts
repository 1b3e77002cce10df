// The core's SPARSE decoder has a fast path (SIMD build) that checks order and range after the fact and falls back
// to the checked loop on any problem. These tests aim at its edges: every width, block boundaries (2,048 values),
// values next to n, and invalid lists built to pass its pre-checks, on both compiled builds against the TS reference.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WasmCore, wasmCore } from "../../../../src/crypto/wasm/loader.js";
import { Bitset, BitmapError, decodeBitmap } from "../../../../src/crypto/bitmap/index.js";
import { decodeWasm } from "../../../../src/crypto/bitmap/wasmCodec.js";
import { toHex } from "../../../../src/util/bytes.js";
import { seededRng } from "../../../support/seed.js";
import type { SeededRng } from "../../../../src/util/rng.js";
import { oracleEfEncoding } from "./oracle.js";

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
