import { test } from "node:test";
import assert from "node:assert/strict";
import { ACCOUNT_TX_TAG, attachSignature, decodeAccountTx, encodeAccountTxBody } from "../../../../src/chain/app/accounts/accountTx.js";
import type { AccountOpName } from "../../../../src/chain/app/accounts/accountTx.js";
import { seededRng } from "../../../support/seed.js";

test("account tx: encode → decode round trips every op", (t) => {
  const rng = seededRng(t);
  const ops: AccountOpName[] = ["transfer", "deposit", "withdraw", "mint"];
  for (let i = 0; i < 200; i++) {
    const op = ops[rng.int(ops.length)]!;
    const titled = op === "deposit" || op === "withdraw";
    const input = {
      op,
      from: rng.bytes(32),
      nonce: op === "mint" ? 0 : rng.int(1 << 30) * 1024 + rng.int(1024),
      amount: 1 + rng.int(1 << 30),
      to: op === "mint" ? new Uint8Array(32) : rng.bytes(32),
      ...(titled ? { title: "t" + "é".repeat(rng.int(15)) } : {}),
    };
    const body = encodeAccountTxBody(input);
    const sig = rng.bytes(64);
    const tx = op === "mint" ? body : attachSignature(body, sig);
    const d = decodeAccountTx(tx);
    assert.ok(d.ok, JSON.stringify(d));
    assert.equal(d.tx.op, op);
    assert.deepEqual(d.tx.from, input.from);
    assert.deepEqual(d.tx.to, input.to);
    assert.equal(d.tx.nonce, input.nonce);
    assert.equal(d.tx.amount, input.amount);
    assert.equal(d.tx.title, input.title ?? "");
    assert.deepEqual(d.tx.body, body);
    assert.deepEqual(d.tx.signature, op === "mint" ? new Uint8Array(0) : sig);
    // Every proper prefix and every extension is refused.
    assert.equal(decodeAccountTx(tx.subarray(0, rng.int(tx.length))).ok, false);
    assert.equal(decodeAccountTx(Uint8Array.of(...tx, 0)).ok, false);
  }
});

test("account tx: the decoder never throws on mutated or random bytes", (t) => {
  const rng = seededRng(t);
  const base = attachSignature(encodeAccountTxBody({ op: "deposit", from: rng.bytes(32), nonce: 3, amount: 9, to: rng.bytes(32), title: "demo" }), rng.bytes(64));
  for (let i = 0; i < 5000; i++) {
    let tx: Uint8Array;
    if (i % 2 === 0) {
      tx = base.slice();
      for (let j = 0; j <= rng.int(4); j++) tx[rng.int(tx.length)] = rng.int(256);
    } else {
      tx = rng.bytes(rng.int(200));
      if (tx.length > 0) tx[0] = ACCOUNT_TX_TAG;
    }
    const d = decodeAccountTx(tx);
    if (d.ok) assert.ok(d.tx.amount >= 1 && Number.isSafeInteger(d.tx.amount) && Number.isSafeInteger(d.tx.nonce));
  }
  assert.throws(() => encodeAccountTxBody({ op: "transfer", from: new Uint8Array(32), nonce: 0, amount: 0 }), { code: "BAD_AMOUNT" });
  assert.throws(() => encodeAccountTxBody({ op: "deposit", from: new Uint8Array(32), nonce: 0, amount: 1 }), { code: "BAD_TITLE" });
});
