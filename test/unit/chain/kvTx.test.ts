import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeKvTx, encodeKvTx, KvTxError, MAX_KEY_BYTES } from "../../../src/chain/app/kvTx.js";
import type { KvTxInput } from "../../../src/chain/app/kvTx.js";
import { KvApplication } from "../../../src/chain/app/kvApp.js";
import { MAX_TX_BYTES } from "../../../src/domain/limits.js";
import { fromHex, toHex, utf8 } from "../../../src/util/bytes.js";
import type { SeededRng } from "../../../src/util/rng.js";
import { seededRng } from "../../support/seed.js";

const NONCE0 = new Uint8Array(8);

test("kv tx: the documented example bytes (put k = v, nonce 0)", () => {
  const tx = encodeKvTx({ op: "put", nonce: NONCE0, key: utf8("k"), value: utf8("v") });
  assert.equal(toHex(tx), "0101" + "0000000000000000" + "0001" + "6b" + "00000001" + "76");
  assert.deepEqual(decodeKvTx(tx), { ok: true, tx: { op: "put", nonce: NONCE0, key: utf8("k"), value: utf8("v") } });
});

test("kv tx: delete and cas layouts, field by field", () => {
  const nonce = fromHex("0102030405060708");
  assert.equal(toHex(encodeKvTx({ op: "delete", nonce, key: utf8("ab") })), "0102" + "0102030405060708" + "0002" + "6162");
  assert.equal(
    toHex(encodeKvTx({ op: "cas", nonce, key: utf8("a"), expected: utf8("xy"), value: new Uint8Array(0) })),
    "0103" + "0102030405060708" + "0001" + "61" + "00000002" + "7879" + "00000000",
  );
});

function randomInput(rng: SeededRng): KvTxInput {
  const nonce = rng.bytes(8);
  const key = rng.bytes(1 + rng.int(rng.chance(0.1) ? MAX_KEY_BYTES : 40));
  const value = rng.bytes(rng.int(rng.chance(0.1) ? 4000 : 60));
  switch (rng.int(3)) {
    case 0:
      return { op: "put", nonce, key, value };
    case 1:
      return { op: "delete", nonce, key };
    default:
      return { op: "cas", nonce, key, expected: rng.bytes(rng.int(50)), value };
  }
}

test("kv tx: encode then decode gives the input back, for every op", (t) => {
  const rng = seededRng(t);
  for (let i = 0; i < 500; i++) {
    const input = randomInput(rng);
    const d = decodeKvTx(encodeKvTx(input));
    assert.ok(d.ok);
    assert.deepEqual(d.tx, input);
  }
});

test("kv tx: each malformation has its code", () => {
  const put = encodeKvTx({ op: "put", nonce: NONCE0, key: utf8("key"), value: utf8("value") });
  const cas = encodeKvTx({ op: "cas", nonce: NONCE0, key: utf8("key"), expected: utf8("e"), value: utf8("v") });
  const code = (b: Uint8Array): string => {
    const d = decodeKvTx(b);
    assert.ok(!d.ok, `expected a refusal for ${toHex(b)}`);
    assert.ok(d.reason.length > 0);
    return d.code;
  };
  assert.equal(code(new Uint8Array(0)), "EMPTY");
  assert.equal(code(new Uint8Array(MAX_TX_BYTES + 1).fill(1)), "TOO_LARGE");
  assert.equal(code(Uint8Array.of(2, ...put.subarray(1))), "BAD_VERSION");
  assert.equal(code(Uint8Array.of(1)), "TRUNCATED");
  for (const op of [0x00, 0x04, 0xff]) assert.equal(code(Uint8Array.of(1, op, ...put.subarray(2))), "BAD_OP");
  // Every strict prefix of a valid tx (beyond the version and op bytes) is truncated.
  for (const tx of [put, cas]) for (let n = 2; n < tx.length; n++) assert.equal(code(tx.subarray(0, n)), "TRUNCATED", `prefix ${n}`);
  assert.equal(code(Uint8Array.of(...put, 0)), "TRAILING_BYTES");
  const zeroKey = put.slice();
  zeroKey[10] = 0;
  zeroKey[11] = 0;
  assert.equal(code(zeroKey), "BAD_KEY_LENGTH");
  const longKey = put.slice();
  new DataView(longKey.buffer).setUint16(10, MAX_KEY_BYTES + 1);
  assert.equal(code(longKey), "BAD_KEY_LENGTH");
  // A value length pointing beyond the end (including a huge one that would overflow a naive sum).
  const huge = put.slice();
  new DataView(huge.buffer).setUint32(12 + 3, 0xffffffff);
  assert.equal(code(huge), "TRUNCATED");
});

test("kv tx: the encoder refuses what it cannot encode", () => {
  const e = (input: KvTxInput, c: string): void => assert.throws(() => encodeKvTx(input), (x: unknown) => x instanceof KvTxError && x.code === c);
  e({ op: "put", nonce: new Uint8Array(7), key: utf8("k"), value: utf8("v") }, "BAD_ARGUMENT");
  e({ op: "put", nonce: NONCE0, key: new Uint8Array(0), value: utf8("v") }, "BAD_KEY_LENGTH");
  e({ op: "put", nonce: NONCE0, key: new Uint8Array(MAX_KEY_BYTES + 1), value: utf8("v") }, "BAD_KEY_LENGTH");
  e({ op: "put", nonce: NONCE0, key: utf8("k"), value: new Uint8Array(MAX_TX_BYTES) }, "TOO_LARGE");
  // The largest value that fits is accepted.
  const max = encodeKvTx({ op: "put", nonce: NONCE0, key: utf8("k"), value: new Uint8Array(MAX_TX_BYTES - 17) });
  assert.equal(max.length, MAX_TX_BYTES);
  assert.ok(decodeKvTx(max).ok);
});

test("kv tx fuzz: random and mutated bytes are refused or accepted, never thrown on; accepted bytes re-encode identically", (t) => {
  const rng = seededRng(t);
  const app = new KvApplication({}, { committed: { get: () => undefined } });
  let accepted = 0;
  for (let i = 0; i < 5000; i++) {
    let b: Uint8Array;
    const mode = rng.int(4);
    if (mode === 0) b = rng.bytes(rng.int(80));
    else {
      b = encodeKvTx(randomInput(rng));
      if (mode === 1) for (let k = 0; k < 1 + rng.int(3); k++) b[rng.int(b.length)] = rng.int(256);
      else if (mode === 2) b = b.subarray(0, rng.int(b.length + 1));
      else b = Uint8Array.of(...b, ...rng.bytes(1 + rng.int(4)));
    }
    const d = decodeKvTx(b);
    const c = app.check(b);
    // The application dispatches on the first byte: bytes that are not KV's are no module's; KV keys that begin with
    // 0xff are module state.
    const expected = b.length > 0 && b[0] !== 1 ? "UNKNOWN_MODULE" : !d.ok ? d.code : d.tx.key[0] === 0xff ? "RESERVED_KEY" : null;
    assert.equal(c.ok, expected === null);
    if (d.ok) assert.deepEqual(encodeKvTx(d.tx), b, "a decoded tx must encode back to the same bytes (one encoding per tx)");
    if (expected === null) accepted++;
    else assert.ok(!c.ok && c.code === expected && typeof c.reason === "string", `${c.ok ? "ok" : c.code} for ${expected}`);
  }
  // The fuzz must exercise both sides.
  assert.ok(accepted > 100 && accepted < 5000, `accepted ${accepted}`);
});
