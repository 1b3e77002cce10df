import { test } from "node:test";
import assert from "node:assert/strict";
import { bitmapSignerSets } from "../../../src/consensus/adapters/bitmapSignerSets.js";
import { Bitset, encodeBitmap } from "../../../src/crypto/bitmap/index.js";
import { timeoutMessage, voteMessage } from "../../../src/consensus/signing.js";
import { InsecureTestScheme } from "../../../src/sim/insecureTestScheme.js";
import { CHAIN_ID, TestCommittee } from "../../support/consensus.js";

const c = new TestCommittee(7);
const hash = new Uint8Array(32).fill(3);

test("QC: built from 2f+1 votes in any order, verifies; fewer signers, other signers or another block do not", () => {
  const votes = [4, 0, 2, 6, 1].map((i) => c.vote(i, 9, hash));
  const qc = c.certs.assembleQc(votes).qc!;
  assert.deepEqual(c.certs.assembleQc([...votes].reverse()), { qc, invalidVoters: [] });
  assert.equal(c.certs.verifyQc(qc), "ok");
  assert.deepEqual(bitmapSignerSets().decode(qc.signers, 7), [0, 1, 2, 4, 6]);
  assert.equal(c.certs.verifyQc(c.qc(9, hash, [0, 1, 2, 3])), "BELOW_QUORUM");
  assert.equal(c.certs.verifyQc({ ...qc, signers: bitmapSignerSets().encode([0, 1, 2, 3, 5], 7) }), "BAD_AGGREGATE");
  assert.equal(c.certs.verifyQc({ ...qc, blockHash: new Uint8Array(32) }), "BAD_AGGREGATE");
  assert.equal(c.certs.verifyQc({ ...qc, view: 10 }), "BAD_AGGREGATE");
});

test("TC: signers with different high-QC views verify through the multi-message path", () => {
  const q1 = c.qc(1, hash);
  const q4 = c.qc(4, hash);
  const tc = c.certs.aggregateTc([c.timeout(5, 6, q4), c.timeout(0, 6, q1), c.timeout(3, 6, q1), c.timeout(1, 6, q4), c.timeout(2, 6, q1)]);
  assert.deepEqual(tc.highQcViews, [1, 4, 1, 1, 4]); // ascending signer order: 0,1,2,3,5
  assert.equal(c.certs.verifyTc(tc), "ok");
  assert.equal(c.certs.verifyTc({ ...tc, highQcViews: [1, 4, 1, 4, 1] }), "BAD_AGGREGATE");
  assert.equal(c.certs.verifyTc({ ...tc, highQcViews: [1, 4, 1, 1] }), "BAD_HIGH_QC_VIEWS");
  assert.equal(c.certs.verifyTc({ ...tc, view: 7 }), "BAD_AGGREGATE");
});

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
  assert.equal(sig.length, 96);
  assert.ok(s.verify(2, m, sig));
  assert.ok(!s.verify(1, m, sig));
  assert.ok(!s.verify(2, timeoutMessage(CHAIN_ID, 1, 0), sig));
  assert.ok(!s.verify(9, m, sig));
  // Another seed is another key set.
  assert.ok(!new InsecureTestScheme(4, 2).verify(2, m, sig));
  const agg = s.aggregate([0, 1, 2].map((i) => ({ signer: i, signature: s.signer(i).sign(m) })));
  assert.ok(s.verifyAggregate([0, 1, 2], m, agg));
  assert.ok(!s.verifyAggregate([0, 1, 3], m, agg));
  assert.ok(!s.verifyAggregate([1, 0, 2], m, agg)); // signers must be ascending
});

test("optimistic QC assembly: one aggregate check when all votes are good; bisection names the bad ones", async () => {
  const { SchemeCertificates } = await import("../../../src/consensus/scheme.js");
  let checks = 0;
  const counting = {
    name: "counting",
    verify: c.scheme.verify.bind(c.scheme),
    aggregate: c.scheme.aggregate.bind(c.scheme),
    verifyAggregate: (s: readonly number[], m: Uint8Array, a: Uint8Array) => (checks++, c.scheme.verifyAggregate(s, m, a)),
    verifyAggregateMulti: c.scheme.verifyAggregateMulti.bind(c.scheme),
  };
  const opt = new SchemeCertificates({ chainId: CHAIN_ID, validatorCount: 7, optimisticVotes: true }, counting, bitmapSignerSets());
  const good = [0, 1, 2, 3, 4, 5].map((i) => c.vote(i, 9, hash));
  const all = opt.assembleQc(good);
  assert.equal(checks, 1);
  assert.deepEqual(all.invalidVoters, []);
  assert.equal(c.certs.verifyQc(all.qc!), "ok");
  const corrupt = (i: number) => ({ ...c.vote(i, 9, hash), signature: new Uint8Array(96).fill(i) });
  // One bad vote among six: the other five still make a quorum of 7, and the QC verifies.
  checks = 0;
  const one = opt.assembleQc([...good.slice(0, 3), corrupt(3), ...good.slice(4)]);
  assert.deepEqual(one.invalidVoters, [3]);
  assert.deepEqual(bitmapSignerSets().decode(one.qc!.signers, 7), [0, 1, 2, 4, 5]);
  assert.equal(c.certs.verifyQc(one.qc!), "ok");
  assert.ok(checks <= 1 + 2 * Math.ceil(Math.log2(6)), `checks ${checks}`);
  // Two bad among six: four left, below the quorum of five: no QC, both named.
  const two = opt.assembleQc([corrupt(0), ...good.slice(1, 4), corrupt(4), good[5]!]);
  assert.equal(two.qc, null);
  assert.deepEqual(two.invalidVoters, [0, 4]);
  // Without the optimistic flag the votes are trusted (validation verified them): no check at all.
  checks = 0;
  const trusting = new SchemeCertificates({ chainId: CHAIN_ID, validatorCount: 7 }, counting, bitmapSignerSets());
  trusting.assembleQc(good);
  assert.equal(checks, 0);
});
