import { test } from "node:test";
import assert from "node:assert/strict";
import { bytesEqual, compareBytes, concatBytes, fromHex, toHex } from "../../../src/util/bytes.js";
import { InputError } from "../../../src/util/errors.js";
import { seededRng } from "../../support/seed.js";

test("hex round-trips random bytes and matches Buffer's encoding", (t) => {
  const rng = seededRng(t);
  for (let n = 0; n < 200; n++) {
    const b = rng.bytes(rng.int(70));
    const h = toHex(b);
    assert.equal(h, Buffer.from(b).toString("hex"));
    assert.deepEqual(fromHex(h), b);
    assert.deepEqual(fromHex("0x" + h.toUpperCase()), b);
  }
});

test("fromHex rejects odd lengths and non-hex digits with a typed error", () => {
  for (const bad of ["abc", "zz", "0x1", "12 4", "éé"]) {
    assert.throws(() => fromHex(bad), (e: unknown) => e instanceof InputError && e.code === "BAD_HEX", bad);
  }
});

test("byte helpers: equality, ordering, concatenation", () => {
  const a = Uint8Array.of(1, 2, 3);
  assert.ok(bytesEqual(a, Uint8Array.of(1, 2, 3)));
  assert.ok(!bytesEqual(a, Uint8Array.of(1, 2)));
  assert.ok(compareBytes(a, Uint8Array.of(1, 2, 4)) < 0);
  assert.ok(compareBytes(a, Uint8Array.of(1, 2)) > 0);
  assert.equal(compareBytes(a, a.slice()), 0);
  assert.deepEqual(concatBytes(a, new Uint8Array(0), Uint8Array.of(9)), Uint8Array.of(1, 2, 3, 9));
});
