import { test } from "node:test";
import assert from "node:assert/strict";
import roaring from "roaring";
import { Bitset, BitmapError, fromRoaring, toRoaring } from "../../../../src/crypto/bitmap/index.js";
import type { BitmapBackend } from "../../../../src/crypto/bitmap/index.js";
import { fromHex, toHex } from "../../../../src/util/bytes.js";
import { seededRng } from "../../../support/seed.js";
import type { SeededRng } from "../../../../src/util/rng.js";

const { RoaringBitmap32 } = roaring;
const BACKENDS: BitmapBackend[] = ["ts", "wasm"];
const code = (c: string) => (e: unknown) => e instanceof BitmapError && e.code === c;

/** Positions of several shapes that exercise array, bitmap and run containers and the container boundaries. */
function randomPositions(rng: SeededRng, n: number): number[] {
  const out: number[] = [];
  switch (rng.int(4)) {
    case 0: {
      const p = rng.pick([0.0005, 0.01, 0.06, 0.07, 0.5, 0.95]); // 0.0625 = 4096/65536 is the array/bitmap border
      for (let i = 0; i < n; i++) if (rng.chance(p)) out.push(i);
      return out;
    }
    case 1: {
      let i = rng.int(100);
      const mean = rng.pick([3, 30, 3000, 70_000]);
      while (i < n) {
        const len = 1 + rng.int(2 * mean);
        for (let j = i; j < Math.min(n, i + len); j++) out.push(j);
        i += len + 1 + rng.int(2 * mean);
      }
      return out;
    }
    case 2: {
      // every chunk a different shape
      for (let c = 0; c * 65536 < n; c++) {
        const lo = c * 65536;
        const hi = Math.min(n, lo + 65536);
        const shape = rng.int(4);
        for (let i = lo; i < hi; i++) {
          if (shape === 1 && rng.chance(0.01)) out.push(i);
          else if (shape === 2 && rng.chance(0.3)) out.push(i);
          else if (shape === 3 && (i - lo) % 40 < 20) out.push(i);
        }
      }
      return out;
    }
    default:
      return [...new Set([0, n - 1, 65535, 65536, 131071, 131072])].filter((v) => v >= 0 && v < n).sort((a, b) => a - b);
  }
}

/** What npm `roaring` (CRoaring) writes for these positions after runOptimize. */
function roaringBytes(positions: number[], optimize = true): Uint8Array {
  const r = RoaringBitmap32.from(positions);
  if (optimize) r.runOptimize();
  return r.serialize(true);
}

test("export is byte-identical to CRoaring's portable serialization after runOptimize", (t) => {
  const rng = seededRng(t);
  const sizes = [0, 1, 63, 64, 65, 4095, 4096, 4097, 65535, 65536, 65537, 200_000, 300_000];
  for (const n of sizes) {
    for (let k = 0; k < 6; k++) {
      const pos = randomPositions(rng, n);
      const want = toHex(roaringBytes(pos));
      const b = Bitset.fromIndices(n, pos);
      for (const backend of BACKENDS) assert.equal(toHex(toRoaring(b, { backend })), want, `${backend} n=${n} k=${k}`);
    }
  }
});

test("the three container kinds and both cookies appear in the exports checked above", () => {
  // array only -> cookie 12346 with offsets; a run -> cookie 12347; card > 4096 with many runs -> bitmap container.
  const array = toRoaring(Bitset.fromIndices(100, [1, 5, 9]));
  assert.equal(toHex(array), "3a30000001000000000002001000000001000500" + "0900");
  const run = toRoaring(new Bitset(100).setRange(10, 50));
  assert.equal(toHex(run), "3b3000000100002700" + "01000a002700");
  const dense = Bitset.fromIndices(65536, Array.from({ length: 5000 }, (_, i) => i * 13));
  const bytes = toRoaring(dense);
  assert.equal(bytes.length, 8 + 4 + 4 + 8192);
  assert.equal(toHex(bytes), toHex(roaringBytes(Array.from(dense))));
});

test("import reads CRoaring's bytes, with and without run containers", (t) => {
  const rng = seededRng(t);
  for (let k = 0; k < 40; k++) {
    const n = rng.pick([1, 64, 4097, 65537, 250_000]);
    const pos = randomPositions(rng, n);
    const want = Bitset.fromIndices(n, pos);
    for (const optimize of [false, true]) {
      const bytes = roaringBytes(pos, optimize);
      for (const backend of BACKENDS) {
        const exact = fromRoaring(bytes, { backend, length: n });
        assert.ok(exact.equals(want), `${backend} optimize=${optimize} n=${n}`);
        const natural = fromRoaring(bytes, { backend });
        assert.equal(natural.length, pos.length === 0 ? 0 : pos[pos.length - 1]! + 1);
        assert.deepEqual(Array.from(natural.toIndices()), pos);
      }
    }
  }
});

test("CRoaring reads Quire's exports back to the same set", (t) => {
  const rng = seededRng(t);
  for (let k = 0; k < 30; k++) {
    const n = rng.pick([0, 1, 1024, 65536, 100_000, 300_000]);
    const pos = randomPositions(rng, n);
    for (const backend of BACKENDS) {
      const r = RoaringBitmap32.deserialize(toRoaring(Bitset.fromIndices(n, pos), { backend }), true);
      assert.deepEqual(Array.from(r.toUint32Array()), pos, `${backend} n=${n}`);
    }
  }
});

/** Malformed Roaring bytes with the exact error each must produce. */
const MALFORMED: Array<[string, string, string]> = [
  ["empty", "", "TRUNCATED"],
  ["3-byte cookie", "3a3000", "TRUNCATED"],
  ["unknown cookie", "3c300000", "BAD_ROARING"],
  ["no-run cookie without size", "3a300000", "TRUNCATED"],
  ["too many containers", "3a30000001000100", "BAD_ROARING"],
  ["size without descriptive header", "3a30000001000000", "TRUNCATED"],
  ["missing offsets", "3a300000010000000000" + "0000", "TRUNCATED"],
  ["offset pointing elsewhere", "3a300000010000000000" + "0000" + "11000000" + "0000", "BAD_ROARING"],
  ["array truncated", "3a300000010000000000" + "0100" + "10000000" + "0000", "TRUNCATED"],
  ["array not increasing", "3a300000010000000000" + "0100" + "10000000" + "05000500", "NOT_INCREASING"],
  ["array decreasing", "3a300000010000000000" + "0100" + "10000000" + "05000400", "NOT_INCREASING"],
  ["trailing byte", "3a300000010000000000" + "0000" + "10000000" + "0500" + "00", "TRAILING_BYTES"],
  ["keys not increasing", "3a30000002000000" + "01000000" + "01000000" + "18000000" + "1a000000" + "0000" + "0000", "BAD_ROARING"],
  ["run cookie, flags truncated", "3b300000", "TRUNCATED"],
  ["run flag padding set", "3b30000003" + "00000000", "BAD_PADDING"],
  ["run container truncated", "3b30000001" + "00000000" + "01", "TRUNCATED"],
  ["run list truncated", "3b30000001" + "00000000" + "0100" + "0000", "TRUNCATED"],
  ["run past its container", "3b30000001" + "00000100" + "0100" + "ffff0100", "OUT_OF_RANGE"],
  ["run cardinality mismatch", "3b30000001" + "00000300" + "0100" + "00000200", "BAD_COUNT"],
  ["overlapping runs", "3b30000001" + "00000300" + "0200" + "00000100" + "01000000", "NOT_INCREASING"],
  ["bitmap truncated", "3a300000010000000000" + "0010" + "10000000" + "ffff", "TRUNCATED"],
];

test("malformed Roaring bytes give the exact typed error on every backend", () => {
  for (const [what, hex, want] of MALFORMED) {
    for (const backend of BACKENDS) {
      assert.throws(() => fromRoaring(fromHex(hex), { backend }), code(want), `${backend}: ${what} (${hex})`);
    }
  }
});

test("a bitmap container whose cardinality disagrees with its bits is refused", () => {
  const good = roaringBytes(Array.from({ length: 5000 }, (_, i) => i * 3));
  for (const backend of BACKENDS) {
    assert.equal(fromRoaring(good, { backend }).count(), 5000);
    const bad = Uint8Array.from(good); // a copy: Buffer#slice would share memory with `good`
    const at = bad.length - 8192 + 100;
    bad[at] = bad[at]! ^ 0x40; // flip one bit inside the bitmap container
    assert.throws(() => fromRoaring(bad, { backend }), code("BAD_COUNT"));
  }
});

test("length and maxBits bound the imported set before any large allocation", () => {
  const far = roaringBytes([5, 2 ** 26]);
  const beyond = roaringBytes([2 ** 31 + 5]);
  for (const backend of BACKENDS) {
    assert.throws(() => fromRoaring(far, { backend }), code("TOO_LARGE")); // default maxBits 2^24
    assert.throws(() => fromRoaring(far, { backend, length: 1000 }), code("OUT_OF_RANGE"));
    assert.equal(fromRoaring(far, { backend, maxBits: 2 ** 26 + 1 }).length, 2 ** 26 + 1);
    assert.throws(() => fromRoaring(beyond, { backend, maxBits: 2 ** 31 }), code("TOO_LARGE"));
    assert.throws(() => fromRoaring(roaringBytes([10]), { backend, length: 10 }), code("OUT_OF_RANGE"));
    assert.equal(fromRoaring(roaringBytes([]), { backend }).length, 0);
    assert.equal(fromRoaring(roaringBytes([]), { backend, length: 77 }).length, 77);
  }
});
