import { test } from "node:test";
import assert from "node:assert/strict";
import { Bitset, BitmapError, decodeBitmap, decodeBitmapInto, encodeBitmap } from "../../../../src/crypto/bitmap/index.js";
import type { BitmapBackend } from "../../../../src/crypto/bitmap/index.js";
import { toHex, fromHex } from "../../../../src/util/bytes.js";
import { seededRng } from "../../../support/seed.js";
import type { SeededRng } from "../../../../src/util/rng.js";
import { oracleDense, oracleEfEncoding, oracleEncode, transitionsOf } from "./oracle.js";

const BACKENDS: BitmapBackend[] = ["ts", "wasm"];
const code = (c: string) => (e: unknown) => e instanceof BitmapError && e.code === c;
const bitsOf = (b: Bitset) => Array.from({ length: b.length }, (_, i) => b.get(i));
const fromBits = (bits: boolean[]) => Bitset.fromIndices(bits.length, bits.flatMap((v, i) => (v ? [i] : [])));

/** Random sets of several shapes: uniform at density p, clustered runs, and a few isolated bits. */
function randomBits(rng: SeededRng, n: number): boolean[] {
  switch (rng.int(4)) {
    case 0: {
      const p = rng.pick([0, 0.001, 0.01, 0.1, 0.5, 0.9, 0.99, 1]);
      return Array.from({ length: n }, () => rng.chance(p));
    }
    case 1: {
      // run-heavy: alternate runs with geometric-ish lengths
      const out: boolean[] = [];
      let v = rng.chance(0.5);
      const mean = rng.pick([2, 10, 100, 1000]);
      while (out.length < n) {
        const len = 1 + rng.int(2 * mean);
        for (let i = 0; i < len && out.length < n; i++) out.push(v);
        v = !v;
      }
      return out;
    }
    case 2: {
      const out = new Array<boolean>(n).fill(rng.chance(0.5));
      for (let k = rng.int(4); k > 0 && n > 0; k--) out[rng.int(n)] = !out[0];
      return out;
    }
    default:
      return Array.from({ length: n }, (_, i) => i % (1 + rng.int(3)) === 0);
  }
}

const BOUNDARY_SIZES = [0, 1, 2, 7, 8, 9, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1023, 1024, 1025, 4095, 4096, 4097];

test("the examples in the format description", () => {
  for (const backend of BACKENDS) {
    assert.equal(toHex(encodeBitmap(new Bitset(0), { backend })), "00");
    assert.equal(toHex(encodeBitmap(Bitset.fromIndices(10, [0, 9]), { backend })), "060102");
    // 1 set bit in 100,000: SPARSE (0x10), n = 100000 (a0 8d 06), m = 1; the width (l = 14) comes from the oracle.
    const one = encodeBitmap(Bitset.fromIndices(100_000, [99_999]), { backend });
    assert.equal(toHex(one), toHex(Uint8Array.from(oracleEfEncoding(0x10, 100_000, [99_999], one[5]!))));
    assert.equal(toHex(one), "10a08d06010e9f0640");
    // All of 100,000 set: RUNS (0x11) with one transition at 0.
    assert.equal(toHex(encodeBitmap(new Bitset(100_000).setRange(0, 100_000), { backend })), "11a08d0601" + "00" + "01");
  }
});

test("encoding equals the naive oracle and round-trips at every boundary size and shape", (t) => {
  const rng = seededRng(t);
  for (const n of BOUNDARY_SIZES) {
    const shapes: boolean[][] = [
      new Array<boolean>(n).fill(false),
      new Array<boolean>(n).fill(true),
      Array.from({ length: n }, (_, i) => i === 0),
      Array.from({ length: n }, (_, i) => i === n - 1),
      Array.from({ length: n }, (_, i) => i % 2 === 0),
    ];
    for (let k = 0; k < 12; k++) shapes.push(randomBits(rng, n));
    for (const bits of shapes) {
      const want = oracleEncode(bits);
      const b = fromBits(bits);
      for (const backend of BACKENDS) {
        const got = encodeBitmap(b, { backend });
        assert.equal(toHex(got), toHex(want), `${backend} n=${n}`);
        const back = decodeBitmap(got, { backend, length: n, canonical: true });
        assert.ok(back.equals(b), `${backend} round trip n=${n}`);
      }
    }
  }
});

test("random sets up to 200,000 bits round-trip and match the oracle", (t) => {
  const rng = seededRng(t);
  for (let k = 0; k < 60; k++) {
    const n = rng.pick([rng.int(300), rng.int(5000), rng.int(200_000)]);
    const bits = randomBits(rng, n);
    const b = fromBits(bits);
    const want = toHex(oracleEncode(bits));
    for (const backend of BACKENDS) {
      const got = encodeBitmap(b, { backend });
      assert.equal(toHex(got), want, `${backend} n=${n}`);
      assert.ok(decodeBitmap(got, { backend, maxBits: 1 << 20 }).equals(b));
    }
  }
});

test("decoders accept every well-formed encoding, not only the canonical one", (t) => {
  const rng = seededRng(t);
  for (let k = 0; k < 80; k++) {
    const n = rng.pick([0, 1, 64, 65, rng.int(3000)]);
    const bits = randomBits(rng, n);
    const b = fromBits(bits);
    const set = bits.flatMap((v, i) => (v ? [i] : []));
    const forms = [
      Uint8Array.from(oracleDense(bits)),
      Uint8Array.from(oracleEfEncoding(0x10, n, set, rng.int(32))),
      Uint8Array.from(oracleEfEncoding(0x11, n, transitionsOf(bits), rng.int(32))),
    ];
    const canonical = toHex(oracleEncode(bits));
    for (const backend of BACKENDS) {
      for (const f of forms) {
        assert.ok(decodeBitmap(f, { backend, maxBits: 1 << 20 }).equals(b), `${backend} ${toHex(f.subarray(0, 8))}`);
        if (toHex(f) !== canonical) assert.throws(() => decodeBitmap(f, { backend, canonical: true }), code("NON_CANONICAL"));
      }
    }
  }
});

test("the issue's size targets: 1,024 signers with 2/3 set <= 130 B; 100,000 txs with 1% failed <= 1,300 B", (t) => {
  const rng = seededRng(t);
  for (let k = 0; k < 10; k++) {
    const signers = rng.shuffle(Array.from({ length: 1024 }, (_, i) => i)).slice(0, 683);
    const failed = Array.from({ length: 100_000 }, (_, i) => i).filter(() => rng.chance(0.01));
    for (const backend of BACKENDS) {
      const s = encodeBitmap(Bitset.fromIndices(1024, signers), { backend });
      const f = encodeBitmap(Bitset.fromIndices(100_000, failed), { backend });
      assert.ok(s.length <= 130, `${backend} signers ${s.length} B`);
      assert.ok(f.length <= 1300, `${backend} txs ${f.length} B (${failed.length} failed)`);
    }
  }
});

/** Hand-made malformed inputs with the exact error each must produce. */
const MALFORMED: Array<[string, string, string, number?]> = [
  ["empty input", "", "TRUNCATED"],
  ["unknown tag", "08", "BAD_TAG"],
  ["unknown tag 0x12", "12000000", "BAD_TAG"],
  ["unknown tag 0xff", "ff", "BAD_TAG"],
  ["dense pad with empty body", "01", "BAD_PADDING"],
  ["dense pad bits set", "0780", "BAD_PADDING"],
  ["dense pad bit 1 set", "0702", "BAD_PADDING"],
  ["sparse truncated before n", "10", "TRUNCATED"],
  ["sparse varint truncated", "1080", "TRUNCATED"],
  ["sparse non-minimal varint", "108000", "BAD_VARINT"],
  ["sparse 6-byte varint", "10808080808001", "BAD_VARINT"],
  ["sparse n above maxBits", "1080808008", "TOO_LARGE"],
  ["sparse m > n", "100203", "BAD_COUNT"],
  ["sparse missing width", "100a01", "TRUNCATED"],
  ["sparse width 32", "100a0120", "BAD_PARAMETER"],
  ["sparse empty with trailing byte", "100a000001", "TRAILING_BYTES"],
  ["sparse low part truncated", "100a0203", "TRUNCATED"],
  ["sparse no high part", "100a010301", "TRUNCATED"],
  ["sparse low padding set", "100a0103f901", "BAD_PADDING"],
  ["sparse high ends in zero byte", "100a01000100", "TRAILING_BYTES"],
  ["sparse high too few bits", "100a020001", "TRUNCATED"],
  ["sparse high too many bits", "100a010003", "BAD_COUNT"],
  ["sparse high has 8 bits for m = 1", "100a0100ff", "BAD_COUNT"],
  ["sparse value = n", "100a01000004", "OUT_OF_RANGE"],
  ["sparse value beyond n", "100a01000080", "OUT_OF_RANGE"],
  ["sparse repeated value", "100a02010003", "NOT_INCREASING"],
  ["sparse decreasing value", "100a02010103", "NOT_INCREASING"],
  ["runs high has 8 bits for m = 1", "11040100ff", "BAD_COUNT"],
  ["runs transition = n", "1104010010", "OUT_OF_RANGE"],
  ["runs transition beyond n", "110401000010", "OUT_OF_RANGE"],
];

test("malformed inputs give the exact typed error on every backend", () => {
  for (const [what, hex, want] of MALFORMED) {
    for (const backend of BACKENDS) {
      assert.throws(() => decodeBitmap(fromHex(hex), { backend, maxBits: 1 << 20 }), code(want), `${backend}: ${what} (${hex})`);
    }
  }
});

test("length and maxBits options are enforced before any allocation", () => {
  const enc = encodeBitmap(Bitset.fromIndices(1024, [1, 2, 3]));
  for (const backend of BACKENDS) {
    assert.throws(() => decodeBitmap(enc, { backend, length: 1023 }), code("LENGTH_MISMATCH"));
    assert.throws(() => decodeBitmap(enc, { backend, maxBits: 1023 }), code("TOO_LARGE"));
    assert.equal(decodeBitmap(enc, { backend, maxBits: 1024 }).length, 1024);
    // A 6-byte input declaring 2^31 bits: refused by the default maxBits, never allocated.
    assert.throws(() => decodeBitmap(fromHex("1080808080080000"), { backend }), code("TOO_LARGE"));
    assert.throws(() => decodeBitmap(enc, { backend, maxBits: -1 }), code("BAD_ARGUMENT"));
    assert.throws(() => decodeBitmap(enc, { backend, maxBits: 2 ** 31 + 1 }), code("BAD_ARGUMENT"));
    assert.throws(() => decodeBitmap(enc, { backend, length: 1.5 }), code("BAD_ARGUMENT"));
  }
});

test("decodeBitmapInto fills an existing Bitset, and leaves it unchanged on any error", (t) => {
  const rng = seededRng(t);
  for (let k = 0; k < 40; k++) {
    const n = rng.pick([0, 1, 64, 1000, 100_000]);
    const b = fromBits(randomBits(rng, n));
    const enc = encodeBitmap(b);
    for (const backend of BACKENDS) {
      const target = fromBits(randomBits(rng, n)); // stale contents must be replaced, not merged
      assert.equal(decodeBitmapInto(enc, target, { backend, canonical: true }), target);
      assert.ok(target.equals(b), `${backend} n=${n}`);
      const before = target.clone();
      if (n > 0) {
        assert.throws(() => decodeBitmapInto(enc, new Bitset(n - 1), { backend }), code("LENGTH_MISMATCH"));
        const broken = enc.subarray(0, enc.length - 1); // truncated, or a dense body one byte short
        assert.throws(() => decodeBitmapInto(broken, target, { backend }), (e: unknown) => e instanceof BitmapError);
      }
      assert.ok(target.equals(before), `${backend}: target changed by a failed decode`);
    }
  }
  // A valid but non-canonical encoding (DENSE where SPARSE is smaller) is refused with canonical: true only.
  const sparse = Bitset.fromIndices(1000, [3, 500]);
  const dense = Uint8Array.from(oracleDense(bitsOf(sparse)));
  for (const backend of BACKENDS) {
    const target = new Bitset(1000);
    assert.throws(() => decodeBitmapInto(dense, target, { backend, canonical: true }), code("NON_CANONICAL"));
    assert.ok(target.isEmpty());
    assert.ok(decodeBitmapInto(dense, target, { backend }).equals(sparse));
  }
});
