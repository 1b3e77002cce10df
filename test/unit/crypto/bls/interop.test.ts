// Cross-backend interoperability: the same secret key gives the same bytes everywhere, and every backend verifies
// every other backend's output (signatures, aggregates, proofs of possession).
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { BLS_BACKEND_NAMES, loadBlsBackend } from "../../../../src/crypto/bls/backend.js";
import type { BlsBackend, BlsBackendName } from "../../../../src/crypto/bls/backend.js";
import { keyGen } from "../../../../src/crypto/bls/keygen.js";
import { toHex } from "../../../../src/util/bytes.js";
import { seededRng } from "../../../support/seed.js";

const backends = new Map<BlsBackendName, BlsBackend>();
before(async () => {
  for (const name of BLS_BACKEND_NAMES) backends.set(name, await loadBlsBackend(name));
});

test("the same secret key gives byte-identical public keys, signatures and proofs of possession in every backend", async (t) => {
  const rng = seededRng(t);
  for (let i = 0; i < 3; i++) {
    const skBytes = keyGen(rng.bytes(32));
    const msg = rng.bytes(rng.int(64));
    const out = new Map<string, string>();
    for (const [name, b] of backends) {
      const sk = b.secretKeyFromBytes(skBytes);
      const pk = b.publicKeyOf(sk);
      const sig = b.sign(sk, msg);
      const pop = await b.popProve(sk);
      const row = [
        toHex(b.publicKeyToBytes(pk)),
        toHex(b.publicKeyToBytes(pk, "uncompressed")),
        toHex(b.signatureToBytes(sig)),
        toHex(b.signatureToBytes(sig, "uncompressed")),
        toHex(b.signatureToBytes(pop)),
      ].join(" ");
      out.set(name, row);
    }
    const rows = [...out.values()];
    for (const [name, row] of out) assert.equal(row, rows[0], `${name} differs from ${BLS_BACKEND_NAMES[0]}`);
  }
});

test("each backend verifies the others' signatures, aggregates, batches and proofs", async (t) => {
  const rng = seededRng(t);
  const n = 3;
  const skBytes = Array.from({ length: n }, () => keyGen(rng.bytes(32)));
  const shared = rng.bytes(32);
  const msgs = [shared, shared, rng.bytes(48)];
  for (const [signerName, signer] of backends) {
    const sks = skBytes.map((s) => signer.secretKeyFromBytes(s));
    const pkBytes = sks.map((sk) => signer.publicKeyToBytes(signer.publicKeyOf(sk)));
    const sigBytes = sks.map((sk, i) => signer.signatureToBytes(signer.sign(sk, msgs[i]!), i === 0 ? "compressed" : "uncompressed"));
    const fastAgg = signer.signatureToBytes(signer.aggregateSignatures(sks.slice(0, 2).map((sk) => signer.sign(sk, shared))));
    const agg = signer.signatureToBytes(signer.aggregateSignatures(sigBytes.map((s) => signer.signatureFromBytes(s))));
    const pops = await Promise.all(sks.map(async (sk) => signer.signatureToBytes(await signer.popProve(sk))));
    for (const [verifierName, v] of backends) {
      const label = `${signerName} -> ${verifierName}`;
      const pks = pkBytes.map((p) => v.publicKeyFromBytes(p));
      const sigs = sigBytes.map((s) => v.signatureFromBytes(s, { validate: false }));
      sigs.forEach((s, i) => assert.ok(v.verify(msgs[i]!, pks[i]!, s), `${label} verify ${i}`));
      assert.ok(v.fastAggregateVerify(shared, pks.slice(0, 2), v.signatureFromBytes(fastAgg)), `${label} fastAggregateVerify`);
      assert.ok(v.aggregateVerify(msgs, pks, v.signatureFromBytes(agg)), `${label} aggregateVerify`);
      assert.ok(v.verifyBatch(pks.map((pk, i) => ({ message: msgs[i]!, publicKey: pk, signature: sigs[i]! }))), `${label} verifyBatch`);
      for (let i = 0; i < n; i++) assert.ok(await v.popVerify(pks[i]!, v.signatureFromBytes(pops[i]!)), `${label} popVerify ${i}`);
      assert.ok(!(await v.popVerify(pks[0]!, v.signatureFromBytes(pops[1]!))), `${label} popVerify with the wrong key`);
    }
  }
});
