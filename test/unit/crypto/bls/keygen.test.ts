import { test } from "node:test";
import assert from "node:assert/strict";
import { SecretKey } from "@chainsafe/blst";
import { keyGen } from "../../../../src/crypto/bls/keygen.js";
import { BlsError } from "../../../../src/crypto/bls/errors.js";
import { fromHex, toHex } from "../../../../src/util/bytes.js";
import { seededRng } from "../../../support/seed.js";
import { EIP2333_MASTER } from "./vectors.js";

test("keyGen reproduces EIP-2333's master secret keys", () => {
  for (const v of EIP2333_MASTER) {
    const sk = keyGen(fromHex(v.seed));
    assert.equal(sk.length, 32);
    assert.equal(BigInt("0x" + toHex(sk)).toString(), v.masterSk);
  }
});

test("keyGen agrees with blst's KeyGen and EIP-2333 master derivation on random input, with and without key_info", (t) => {
  const rng = seededRng(t);
  for (let i = 0; i < 50; i++) {
    const ikm = rng.bytes(32 + rng.int(40));
    assert.equal(toHex(keyGen(ikm)), toHex(SecretKey.fromKeygen(ikm).toBytes()));
    assert.equal(toHex(keyGen(ikm)), toHex(SecretKey.deriveMasterEip2333(ikm).toBytes()));
    const info = rng.bytes(1 + rng.int(20));
    assert.equal(toHex(keyGen(ikm, info)), toHex(SecretKey.fromKeygen(ikm, info).toBytes()));
    assert.notEqual(toHex(keyGen(ikm, info)), toHex(keyGen(ikm)));
  }
});

test("keyGen refuses less than 32 bytes of key material", () => {
  for (const n of [0, 1, 31]) {
    assert.throws(() => keyGen(new Uint8Array(n)), (e: unknown) => e instanceof BlsError && e.code === "BAD_SEED");
  }
});
