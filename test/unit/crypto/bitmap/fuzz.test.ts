import { test } from "node:test";
import assert from "node:assert/strict";
import { Bitset, BitmapError, decodeBitmap, encodeBitmap, fromRoaring, toRoaring } from "../../../../src/crypto/bitmap/index.js";
import type { BitmapBackend } from "../../../../src/crypto/bitmap/index.js";
import { toHex } from "../../../../src/util/bytes.js";
import { seededRng } from "../../../support/seed.js";
import type { SeededRng } from "../../../../src/util/rng.js";
import { oracleDense, oracleEfEncoding, transitionsOf } from "./oracle.js";

type Outcome = { ok: true; set: Bitset } | { ok: false; code: string; offset: unknown };

/** Runs a decoder and classifies the result; anything but a Bitset or a BitmapError fails the test. */
function outcome(run: () => Bitset, what: () => string): Outcome {
  try {
    return { ok: true, set: run() };
  } catch (e) {
    if (e instanceof BitmapError) return { ok: false, code: e.code, offset: e.payload.offset };
    assert.fail(`${what()}: threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} instead of a BitmapError`);
  }
}

/** One random mutation of `src`: bit flips, byte overwrites, truncation, extension, insertion, deletion. */
function mutate(rng: SeededRng, src: Uint8Array): Uint8Array {
  let b = Uint8Array.from(src);
  const edits = 1 + rng.int(3);
  for (let e = 0; e < edits; e++) {
    const at = b.length === 0 ? 0 : rng.int(b.length);
    switch (rng.int(8)) {
      case 0:
      case 1:
        if (b.length > 0) b[at] = b[at]! ^ (1 << rng.int(8));
        break;
      case 2:
        if (b.length > 0) b[at] = rng.pick([0x00, 0xff, 0x80, 0x7f, 0x01, rng.int(256)]);
        break;
      case 3:
        b = b.subarray(0, rng.int(b.length + 1));
        break;
      case 4:
        b = Uint8Array.from([...b, ...rng.bytes(1 + rng.int(4))]);
        break;
      case 5:
        b = Uint8Array.from([...b.subarray(0, at), rng.int(256), ...b.subarray(at)]);
        break;
      case 6:
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + 1)]);
        break;
      default:
        // the header region is where lengths and counts live: hit it more often
        if (b.length > 1) b[1 + rng.int(Math.min(b.length - 1, 6))] = rng.int(256);
    }
  }
  return b;
}

function randomSet(rng: SeededRng, n: number): boolean[] {
  const p = rng.pick([0, 0.005, 0.05, 0.5, 0.97, 1]);
  if (rng.chance(0.3)) {
    const out: boolean[] = [];
    let v = rng.chance(0.5);
    while (out.length < n) {
      for (let i = 1 + rng.int(40); i > 0 && out.length < n; i--) out.push(v);
      v = !v;
    }
    return out;
  }
  return Array.from({ length: n }, () => rng.chance(p));
}

const BACKENDS: BitmapBackend[] = ["ts", "wasm"];

function checkAgreement(input: Uint8Array, decode: (backend: BitmapBackend) => Bitset, reencode: (s: Bitset) => Bitset, label: string): boolean {
  const [ts, wasm] = BACKENDS.map((backend) => outcome(() => decode(backend), () => `${backend} ${label} ${toHex(input)}`));
  if (ts!.ok && wasm!.ok) {
    assert.ok(ts!.set.equals(wasm!.set), `backends decode different sets: ${label} ${toHex(input)}`);
    assert.ok(reencode(ts!.set).equals(ts!.set), `decoded set does not round-trip: ${label} ${toHex(input)}`);
    return true;
  }
  assert.deepEqual(wasm, ts, `backends disagree on ${label} ${toHex(input)}`);
  return false;
}

test("mutated compact encodings decode to a valid set or a typed error, identically on both backends", (t) => {
  const rng = seededRng(t);
  const corpus: Uint8Array[] = [];
  for (let k = 0; k < 60; k++) {
    const n = rng.pick([0, 1, 7, 64, 65, 200, 1024, 4097]);
    const bits = randomSet(rng, n);
    const set = bits.flatMap((v, i) => (v ? [i] : []));
    corpus.push(encodeBitmap(Bitset.fromIndices(n, set)));
    corpus.push(Uint8Array.from(oracleDense(bits)));
    corpus.push(Uint8Array.from(oracleEfEncoding(0x10, n, set, rng.int(12))));
    corpus.push(Uint8Array.from(oracleEfEncoding(0x11, n, transitionsOf(bits), rng.int(12))));
  }
  const opts = { maxBits: 1 << 16 };
  let accepted = 0;
  const N = 25_000;
  for (let k = 0; k < N; k++) {
    const input = mutate(rng, rng.pick(corpus));
    const ok = checkAgreement(
      input,
      (backend) => decodeBitmap(input, { ...opts, backend }),
      (s) => decodeBitmap(encodeBitmap(s), { length: s.length }),
      "compact",
    );
    if (ok) accepted++;
  }
  t.diagnostic(`${accepted} of ${N} mutated inputs were still valid encodings`);
  assert.ok(accepted > 0 && accepted < N, "the mutations exercise both outcomes");
});

test("mutated Roaring serializations import to a valid set or a typed error, identically on both backends", (t) => {
  const rng = seededRng(t);
  const corpus: Uint8Array[] = [];
  for (let k = 0; k < 40; k++) {
    const n = rng.pick([1, 100, 5000, 70_000, 140_000]);
    const bits = randomSet(rng, n);
    const b = Bitset.fromIndices(n, bits.flatMap((v, i) => (v ? [i] : [])));
    corpus.push(toRoaring(b));
  }
  const opts = { maxBits: 1 << 18 };
  let accepted = 0;
  const N = 12_000;
  for (let k = 0; k < N; k++) {
    const input = mutate(rng, rng.pick(corpus));
    const ok = checkAgreement(
      input,
      (backend) => fromRoaring(input, { ...opts, backend }),
      (s) => fromRoaring(toRoaring(s), { length: s.length }),
      "roaring",
    );
    if (ok) accepted++;
  }
  t.diagnostic(`${accepted} of ${N} mutated inputs were still valid serializations`);
  assert.ok(accepted > 0 && accepted < N, "the mutations exercise both outcomes");
});
