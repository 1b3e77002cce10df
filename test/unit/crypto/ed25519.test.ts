import { test } from "node:test";
import assert from "node:assert/strict";
import { ed25519 as noble } from "@noble/curves/ed25519.js";
import { ed25519Keygen, ed25519PublicKey, ed25519Sign, ed25519Verify, Ed25519Verifier } from "../../../src/crypto/ed25519.js";
import { seededRng } from "../../support/seed.js";

test("ed25519: node-made keys and signatures agree with @noble/curves", (t) => {
  const rng = seededRng(t);
  for (let i = 0; i < 20; i++) {
    const secret = rng.bytes(32);
    const msg = rng.bytes(rng.int(200));
    const pub = ed25519PublicKey(secret);
    assert.deepEqual(pub, noble.getPublicKey(secret));
    const sig = ed25519Sign(secret, msg);
    assert.deepEqual(sig, noble.sign(msg, secret), "Ed25519 signatures are deterministic");
    assert.equal(noble.verify(sig, msg, pub), true);
  }
});

test("ed25519: signatures made by @noble/curves verify; tampered ones do not", (t) => {
  const rng = seededRng(t);
  const v = new Ed25519Verifier({ keyCacheSize: 4 });
  for (let i = 0; i < 20; i++) {
    const secret = rng.bytes(32);
    const pub = noble.getPublicKey(secret);
    const msg = rng.bytes(1 + rng.int(100));
    const sig = noble.sign(msg, secret);
    assert.equal(v.verify(pub, msg, sig), true);
    const badSig = sig.slice();
    badSig[rng.int(64)]! ^= 1 << rng.int(8);
    assert.equal(v.verify(pub, msg, badSig), false);
    const badMsg = msg.slice();
    badMsg[0]! ^= 1;
    assert.equal(v.verify(pub, badMsg, sig), false);
    assert.equal(ed25519Verify(pub, msg, sig), true);
  }
});

test("ed25519: wrong lengths and keys OpenSSL refuses verify as false, never throw", () => {
  const { publicKey, secretKey } = ed25519Keygen();
  assert.deepEqual(publicKey, noble.getPublicKey(secretKey));
  const msg = Uint8Array.of(1, 2, 3);
  const sig = ed25519Sign(secretKey, msg);
  const v = new Ed25519Verifier();
  assert.equal(v.verify(publicKey.subarray(1), msg, sig), false);
  assert.equal(v.verify(publicKey, msg, sig.subarray(1)), false);
  assert.equal(v.verify(new Uint8Array(32).fill(0xff), msg, sig), false);
  assert.equal(v.verify(new Uint8Array(32).fill(0xff), msg, sig), false, "a cached refusal stays a refusal");
  assert.throws(() => ed25519Sign(new Uint8Array(31), msg), { code: "BAD_KEY" });
});
