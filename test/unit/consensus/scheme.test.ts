/**
 * Certificates over a signature scheme: one shared suite, run with the insecure test scheme and with BLS on every
 * backend (blst, herumi, noble), through the same `SchemeCertificates` code the node and the simulator use.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { hash as nodeHash } from "node:crypto";
import { bitmapSignerSets } from "../../../src/consensus/adapters/bitmapSignerSets.js";
import { BlsScheme, blsSigner } from "../../../src/consensus/adapters/blsScheme.js";
import { SchemeCertificates } from "../../../src/consensus/scheme.js";
import type { SignatureScheme } from "../../../src/consensus/scheme.js";
import { Bitset, encodeBitmap } from "../../../src/crypto/bitmap/index.js";
import { loadBlsBackend } from "../../../src/crypto/bls/backend.js";
import type { BlsBackendName } from "../../../src/crypto/bls/backend.js";
import { keyGen } from "../../../src/crypto/bls/keygen.js";
import { timeoutMessage, voteMessage } from "../../../src/consensus/signing.js";
import { InsecureTestScheme } from "../../../src/sim/insecureTestScheme.js";
import { CHAIN_ID, TestCommittee, insecureTestCrypto } from "../../support/consensus.js";
import type { TestCrypto } from "../../support/consensus.js";

async function blsCrypto(name: BlsBackendName, n: number): Promise<TestCrypto> {
  const b = await loadBlsBackend(name);
  const sks = Array.from({ length: n }, (_, i) => b.secretKeyFromBytes(keyGen(nodeHash("sha256", `validator-${i}`, "buffer"))));
  const scheme = new BlsScheme(
    b,
    sks.map((sk) => b.publicKeyToBytes(b.publicKeyOf(sk))),
  );
  return { scheme, signer: (i) => blsSigner(b, sks[i]!, i) };
}

const SCHEMES: [string, (n: number) => Promise<TestCrypto>][] = [
  ["insecure-test", async (n) => insecureTestCrypto(n)],
  ["bls-blst", (n) => blsCrypto("blst", n)],
  ["bls-herumi", (n) => blsCrypto("herumi", n)],
  ["bls-noble", (n) => blsCrypto("noble", n)],
];

const hash = new Uint8Array(32).fill(3);

for (const [name, make] of SCHEMES) {
  test(`${name}: QC from 2f+1 votes in any order verifies; fewer signers, other signers, block or view do not`, async () => {
    const c = new TestCommittee(7, await make(7));
    const votes = [4, 0, 2, 6, 1].map((i) => c.vote(i, 9, hash));
    const qc = c.certs.assembleQc(votes).qc!;
    assert.deepEqual(c.certs.assembleQc([...votes].reverse()), { qc, invalidVoters: [] });
    assert.equal(c.certs.verifyQc(qc), "ok");
    assert.deepEqual(bitmapSignerSets().decode(qc.signers, 7), [0, 1, 2, 4, 6]);
    assert.equal(c.certs.verifyQc(c.qc(9, hash, [0, 1, 2, 3])), "BELOW_QUORUM");
    assert.equal(c.certs.verifyQc({ ...qc, signers: bitmapSignerSets().encode([0, 1, 2, 3, 5], 7) }), "BAD_AGGREGATE");
    assert.equal(c.certs.verifyQc({ ...qc, blockHash: new Uint8Array(32) }), "BAD_AGGREGATE");
    assert.equal(c.certs.verifyQc({ ...qc, view: 10 }), "BAD_AGGREGATE");
    assert.equal(c.certs.verifyQc({ ...qc, aggregateSignature: new Uint8Array(96) }), "BAD_AGGREGATE");
    assert.equal(c.certs.verifyQc({ ...qc, signers: Uint8Array.of(0xff) }), "BAD_SIGNERS");
    // Single votes: only for their signer and message.
    assert.ok(c.certs.verifyVote(votes[0]!));
    assert.ok(!c.certs.verifyVote({ ...votes[0]!, voter: 3 }));
    assert.ok(!c.certs.verifyVote({ ...votes[0]!, view: 8 }));
    assert.ok(!c.certs.verifyVote({ ...votes[0]!, voter: 99 }));
  });

  test(`${name}: verifyQcs gives each certificate of a mixed list exactly verifyQc's verdict, batched where the scheme can`, async () => {
    const c = new TestCommittee(7, await make(7));
    const hashes = Array.from({ length: 12 }, (_, i) => new Uint8Array(32).fill(i + 1));
    const good = hashes.map((h, i) => c.qc(i + 1, h, i % 2 === 0 ? [0, 1, 2, 3, 4] : [1, 2, 3, 5, 6]));
    const qcs = [
      ...good,
      { ...good[0]!, aggregateSignature: good[1]!.aggregateSignature }, // a valid aggregate, of another certificate
      { ...good[2]!, view: 99 },
      c.qc(5, hashes[4]!, [0, 1, 2, 3]), // below quorum
      { ...good[3]!, signers: Uint8Array.of(0xff) },
      { ...good[4]!, aggregateSignature: new Uint8Array(96) },
      { ...good[5]!, aggregateSignature: good[5]!.aggregateSignature.subarray(1) },
      { ...good[6]!, signers: bitmapSignerSets().encode([0, 1, 2, 3, 4, 5], 7) }, // a signer claimed who did not sign
    ];
    const oracle = qcs.map((q) => c.certs.verifyQc(q));
    assert.deepEqual(oracle.slice(0, good.length), good.map(() => "ok"));
    assert.deepEqual(oracle.slice(good.length), ["BAD_AGGREGATE", "BAD_AGGREGATE", "BELOW_QUORUM", "BAD_SIGNERS", "BAD_AGGREGATE", "BAD_AGGREGATE", "BAD_AGGREGATE"]);
    // Every order, so a bad certificate sits anywhere in the batch.
    for (const shift of [0, 5, 13]) {
      const order = qcs.map((_, i) => (i + shift) % qcs.length);
      assert.deepEqual(
        c.certs.verifyQcs(order.map((i) => qcs[i]!)),
        order.map((i) => oracle[i]!),
        `shift ${shift}`,
      );
    }
    assert.deepEqual(c.certs.verifyQcs([]), []);
    // A scheme that batches is asked once per call, never certificate by certificate.
    let single = 0;
    let batches = 0;
    const s = c.scheme;
    const counting: SignatureScheme = {
      name: "counting",
      verify: (i, m, sig) => s.verify(i, m, sig),
      aggregate: (parts) => s.aggregate(parts),
      verifyAggregate: (signers, m, a) => (single++, s.verifyAggregate(signers, m, a)),
      verifyAggregateMulti: (signers, ms, a) => s.verifyAggregateMulti(signers, ms, a),
      ...(s.verifyAggregates === undefined ? {} : { verifyAggregates: (items) => (batches++, s.verifyAggregates!(items)) }),
    };
    const certs = new SchemeCertificates({ chainId: CHAIN_ID, validatorCount: 7 }, counting, bitmapSignerSets());
    assert.deepEqual(certs.verifyQcs(good), good.map(() => "ok"));
    if (s.verifyAggregates === undefined) assert.deepEqual([single, batches], [good.length, 0]);
    else assert.deepEqual([single, batches], [0, 1]);
  });

  test(`${name}: TC with signers on different high-QC views verifies through the multi-message path`, async () => {
    const c = new TestCommittee(7, await make(7));
    const q1 = c.qc(1, hash);
    const q4 = c.qc(4, hash);
    const tc = c.certs.aggregateTc([c.timeout(5, 6, q4), c.timeout(0, 6, q1), c.timeout(3, 6, q1), c.timeout(1, 6, q4), c.timeout(2, 6, q1)]);
    assert.deepEqual(tc.highQcViews, [1, 4, 1, 1, 4]); // ascending signer order: 0,1,2,3,5
    assert.equal(c.certs.verifyTc(tc), "ok");
    assert.ok(c.certs.verifyTimeout(c.timeout(2, 6, q1)));
    assert.ok(!c.certs.verifyTimeout({ ...c.timeout(2, 6, q1), highQc: q4 }));
    assert.equal(c.certs.verifyTc({ ...tc, highQcViews: [1, 4, 1, 4, 1] }), "BAD_AGGREGATE");
    assert.equal(c.certs.verifyTc({ ...tc, highQcViews: [1, 4, 1, 1] }), "BAD_HIGH_QC_VIEWS");
    assert.equal(c.certs.verifyTc({ ...tc, view: 7 }), "BAD_AGGREGATE");
  });

  test(`${name}: optimistic QC assembly checks the aggregate once and bisects only on failure`, async () => {
    const c = new TestCommittee(7, await make(7));
    let checks = 0;
    const s = c.scheme;
    const counting: SignatureScheme = {
      name: "counting",
      verify: (i, m, sig) => s.verify(i, m, sig),
      aggregate: (parts) => s.aggregate(parts),
      verifyAggregate: (signers, m, a) => (checks++, s.verifyAggregate(signers, m, a)),
      verifyAggregateMulti: (signers, ms, a) => s.verifyAggregateMulti(signers, ms, a),
    };
    const opt = new SchemeCertificates({ chainId: CHAIN_ID, validatorCount: 7, optimisticVotes: true }, counting, bitmapSignerSets());
    const good = [0, 1, 2, 3, 4, 5].map((i) => c.vote(i, 9, hash));
    const all = opt.assembleQc(good);
    assert.equal(checks, 1);
    assert.deepEqual(all.invalidVoters, []);
    assert.equal(c.certs.verifyQc(all.qc!), "ok");
    // A wrong but well-formed signature (another validator's), and bytes that are not a signature at all.
    const wrong = (i: number) => ({ ...c.vote(i, 9, hash), signature: c.vote((i + 1) % 7, 9, hash).signature });
    const junk = (i: number) => ({ ...c.vote(i, 9, hash), signature: new Uint8Array(192).fill(i + 1) });
    checks = 0;
    const one = opt.assembleQc([...good.slice(0, 3), wrong(3), ...good.slice(4)]);
    assert.deepEqual(one.invalidVoters, [3]);
    assert.deepEqual(bitmapSignerSets().decode(one.qc!.signers, 7), [0, 1, 2, 4, 5]);
    assert.equal(c.certs.verifyQc(one.qc!), "ok");
    assert.ok(checks <= 1 + 2 * Math.ceil(Math.log2(6)), `checks ${checks}`);
    const two = opt.assembleQc([junk(0), ...good.slice(1, 4), wrong(4), good[5]!]);
    assert.equal(two.qc, null);
    assert.deepEqual(two.invalidVoters, [0, 4]);
    // Without the optimistic flag votes are trusted (validation verified them): no check at all.
    checks = 0;
    new SchemeCertificates({ chainId: CHAIN_ID, validatorCount: 7 }, counting, bitmapSignerSets()).assembleQc(good);
    assert.equal(checks, 0);
  });
}

test("signer sets: exact validator count, canonical encodings only, no throw on hostile bytes", () => {
  const codec = bitmapSignerSets();
  assert.deepEqual(codec.decode(codec.encode([0, 3, 6], 7), 7), [0, 3, 6]);
  assert.equal(codec.decode(codec.encode([0, 3], 8), 7), null); // a bitmap longer than the validator set
  assert.equal(codec.decode(encodeBitmap(Bitset.fromIndices(6, [0])), 7), null);
  for (const bytes of [new Uint8Array(0), Uint8Array.of(0xff), Uint8Array.of(0x10, 0xff, 0xff, 0xff), Uint8Array.of(0x00, 0x80)]) {
    assert.equal(codec.decode(bytes, 7), null);
  }
});

test("insecure test scheme: a signature verifies only for its signer and message", () => {
  const s = new InsecureTestScheme(4, 1);
  const m = voteMessage(CHAIN_ID, 1, hash);
  const sig = s.signer(2).sign(m);
  assert.equal(sig.length, 192);
  assert.ok(s.verify(2, m, sig));
  assert.ok(!s.verify(1, m, sig));
  assert.ok(!s.verify(2, timeoutMessage(CHAIN_ID, 1, 0), sig));
  assert.ok(!s.verify(9, m, sig));
  assert.ok(!new InsecureTestScheme(4, 2).verify(2, m, sig)); // another seed is another key set
  const agg = s.aggregate([0, 1, 2].map((i) => ({ signer: i, signature: s.signer(i).sign(m) })));
  assert.ok(s.verifyAggregate([0, 1, 2], m, agg));
  assert.ok(!s.verifyAggregate([0, 1, 3], m, agg));
  assert.ok(!s.verifyAggregate([1, 0, 2], m, agg)); // signers must be ascending
  // A flipped bit anywhere in a signature fails it, and poisons any aggregate it enters (the tail is not hashed).
  for (const at of [0, 31, 32, 191]) {
    const bad = Uint8Array.from(sig);
    bad[at] = bad[at]! ^ 1;
    assert.ok(!s.verify(2, m, bad), `bit flipped at ${at}`);
    const parts = [0, 1, 2].map((i) => ({ signer: i, signature: i === 2 ? bad : s.signer(i).sign(m) }));
    assert.ok(!s.verifyAggregate([0, 1, 2], m, s.aggregate(parts)), `aggregate with a bit flipped at ${at}`);
  }
});
