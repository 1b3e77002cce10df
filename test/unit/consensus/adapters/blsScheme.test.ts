/**
 * The one QC builder (`SchemeCertificates`, src/consensus/scheme.ts) over real BLS (`BlsScheme`), as the node and
 * `quire bench bls` run it: optimistic aggregation with one check, bisection that names bad votes whatever is wrong
 * with them (wrong message, another key, torsion, off-subgroup, truncated, identity, not a point), the caller's
 * contract (distinct, in-range voters on one block) enforced, and certificates that every backend builds alike.
 * Oracles: the backend's own aggregation and (fast)aggregateVerify, and the crypto layer's `verifyQc`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { bitmapSignerSets } from "../../../../src/consensus/adapters/bitmapSignerSets.js";
import { BlsScheme, blsSigner } from "../../../../src/consensus/adapters/blsScheme.js";
import { ConsensusError } from "../../../../src/consensus/errors.js";
import { SchemeCertificates } from "../../../../src/consensus/scheme.js";
import type { SignatureScheme } from "../../../../src/consensus/scheme.js";
import { timeoutMessage, voteMessage } from "../../../../src/consensus/signing.js";
import { BLS_BACKEND_NAMES, loadBlsBackend } from "../../../../src/crypto/bls/backend.js";
import type { BlsBackend, BlsBackendName, SecretKey } from "../../../../src/crypto/bls/backend.js";
import { keyGen } from "../../../../src/crypto/bls/keygen.js";
import { verifyQc } from "../../../../src/crypto/bls/qc.js";
import { Bitset } from "../../../../src/crypto/bitmap/index.js";
import { quorumSize } from "../../../../src/domain/quorum.js";
import type { QuorumCert, Timeout, Vote } from "../../../../src/domain/types.js";
import { toHex, utf8 } from "../../../../src/util/bytes.js";
import type { SeededRng } from "../../../../src/util/rng.js";
import { encodeG2, g2OffSubgroup, g2PlusTorsion } from "../../../support/blsPoints.js";
import { seededRng } from "../../../support/seed.js";

const CHAIN = utf8("quire-bls-certificates-test");
const signerSets = bitmapSignerSets();

interface Committee {
  readonly b: BlsBackend;
  readonly n: number;
  readonly sks: SecretKey[];
  readonly scheme: BlsScheme;
  /** Aggregate checks (`verifyAggregate` calls) made through `certs(…)` since the last reset. */
  checks: number;
  certs(optimistic: boolean): SchemeCertificates;
  vote(voter: number, view: number, hash: Uint8Array, form?: "compressed" | "uncompressed"): Vote;
}

function committee(b: BlsBackend, skBytes: readonly Uint8Array[]): Committee {
  const sks = skBytes.map((s) => b.secretKeyFromBytes(s));
  const scheme = new BlsScheme(
    b,
    sks.map((sk) => b.publicKeyToBytes(b.publicKeyOf(sk))),
  );
  const c: Committee = {
    b,
    n: sks.length,
    sks,
    scheme,
    checks: 0,
    certs(optimistic) {
      const counting: SignatureScheme = {
        name: "counting",
        verify: (i, m, sig) => scheme.verify(i, m, sig),
        aggregate: (parts) => scheme.aggregate(parts),
        verifyAggregate: (signers, m, a) => (c.checks++, scheme.verifyAggregate(signers, m, a)),
        verifyAggregateMulti: (signers, ms, a) => scheme.verifyAggregateMulti(signers, ms, a),
      };
      return new SchemeCertificates({ chainId: CHAIN, validatorCount: sks.length, optimisticVotes: optimistic }, counting, signerSets);
    },
    vote(voter, view, hash, form = "uncompressed") {
      return { view, blockHash: hash, voter, signature: b.signatureToBytes(b.sign(sks[voter]!, voteMessage(CHAIN, view, hash)), form) };
    },
  };
  return c;
}

const randomCommittee = (b: BlsBackend, rng: SeededRng, n: number): Committee =>
  committee(
    b,
    Array.from({ length: n }, () => keyGen(rng.bytes(32))),
  );
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const signersOf = (qc: QuorumCert, n: number): number[] => signerSets.decode(qc.signers, n) ?? assert.fail("signers do not decode");
const invariant = (e: unknown): boolean => e instanceof ConsensusError && e.code === "INVARIANT";

/** The crypto layer's check of a consensus QC, independent of SchemeCertificates.verifyQc. */
function cryptoVerifies(c: Committee, qc: QuorumCert): boolean {
  return verifyQc(c.scheme.keys, voteMessage(CHAIN, qc.view, qc.blockHash), { signers: Bitset.fromIndices(c.n, signersOf(qc, c.n)), signature: qc.aggregateSignature }).ok;
}

test("a QC from valid votes (either encoding) takes one aggregate check, names every signer and is the plain sum", async (t) => {
  const rng = seededRng(t);
  const b = await loadBlsBackend("blst");
  const c = randomCommittee(b, rng, 16); // quorum 11
  const hash = rng.bytes(32);
  for (const form of ["uncompressed", "compressed"] as const) {
    const voters = rng.shuffle(range(16)).slice(0, quorumSize(16) + rng.int(6));
    const votes = voters.map((i) => c.vote(i, 7, hash, form));
    c.checks = 0;
    const r = c.certs(true).assembleQc(votes);
    assert.equal(c.checks, 1, form);
    assert.deepEqual(r.invalidVoters, []);
    assert.ok(r.qc !== null);
    assert.deepEqual(signersOf(r.qc, 16), [...voters].sort((x, y) => x - y));
    // Oracle: the sum of the individual signatures, computed directly with the backend, and fastAggregateVerify.
    const sum = b.aggregateSignatures(votes.map((v) => b.signatureFromBytes(v.signature)));
    assert.equal(toHex(r.qc.aggregateSignature), toHex(b.signatureToBytes(sum)));
    assert.ok(b.fastAggregateVerify(voteMessage(CHAIN, 7, hash), signersOf(r.qc, 16).map((i) => b.publicKeyOf(c.sks[i]!)), sum));
    assert.ok(cryptoVerifies(c, r.qc));
    assert.equal(c.certs(false).verifyQc(r.qc), "ok");
    // Votes that validation verified one by one: the same certificate, no aggregate check at all.
    c.checks = 0;
    assert.deepEqual(c.certs(false).assembleQc(votes), r);
    assert.equal(c.checks, 0);
  }
});

/** Replaces vote `v`'s signature with one of seven kinds of bad signature. */
function spoil(c: Committee, rng: SeededRng, v: Vote, kind: number): Vote {
  const b = c.b;
  switch (kind) {
    case 0: // the voter's signature over another message
      return { ...v, signature: b.signatureToBytes(b.sign(c.sks[v.voter]!, rng.bytes(40)), "uncompressed") };
    case 1: // another validator's signature on the right message
      return { ...v, signature: c.vote((v.voter + 1) % c.n, v.view, v.blockHash).signature };
    case 2: // the right signature plus a torsion point: on the curve, outside G2
      return { ...v, signature: g2PlusTorsion(rng, v.signature) };
    case 3: {
      const off = g2OffSubgroup(rng);
      return { ...v, signature: encodeG2(off.x, off.y, false) };
    }
    case 4: // truncated
      return { ...v, signature: v.signature.subarray(0, 100) };
    case 5: {
      const identity = new Uint8Array(192);
      identity[0] = 0x40;
      return { ...v, signature: identity };
    }
    default: // bytes that are no point at all
      return { ...v, signature: Uint8Array.from(rng.bytes(192), (x, i) => (i === 0 ? x & 0x1f : x)) };
  }
}

for (const name of BLS_BACKEND_NAMES) {
  const rounds = name === "blst" ? 6 : name === "herumi" ? 2 : 1; // the others are 5–30x slower: blst carries the sweep
  test(`${name}: bisection names every bad vote, whatever is wrong with it, in O(k log m) checks; the rest make a valid QC`, async (t) => {
    const rng = seededRng(t);
    const b = await loadBlsBackend(name as BlsBackendName);
    const n = 22; // quorum 15
    const c = randomCommittee(b, rng, n);
    const hash = rng.bytes(32);
    for (let round = 0; round < rounds; round++) {
      const view = 10 + round;
      const votes = rng.shuffle(range(n)).map((i) => c.vote(i, view, hash));
      const bad = rng.shuffle(range(n)).slice(0, 1 + rng.int(4));
      for (const pos of bad) votes[pos] = spoil(c, rng, votes[pos]!, rng.int(7));
      const badVoters = bad.map((p) => votes[p]!.voter).sort((x, y) => x - y);
      c.checks = 0;
      const r = c.certs(true).assembleQc(votes);
      assert.deepEqual(r.invalidVoters, badVoters, `round ${round}`);
      assert.ok(c.checks <= 1 + 2 * bad.length * Math.ceil(Math.log2(n)), `round ${round}: ${c.checks} checks`);
      assert.ok(r.qc !== null);
      assert.deepEqual(
        signersOf(r.qc, n),
        range(n).filter((i) => !badVoters.includes(i)),
      );
      assert.ok(cryptoVerifies(c, r.qc), `round ${round}`);
    }
  });
}

test("too few valid votes make no QC, but the bad ones are still named", async (t) => {
  const rng = seededRng(t);
  const c = randomCommittee(await loadBlsBackend("blst"), rng, 7); // quorum 5
  const hash = rng.bytes(32);
  const votes = [0, 1, 2, 3, 4].map((i) => c.vote(i, 3, hash));
  votes[2] = { ...votes[2]!, signature: votes[3]!.signature };
  assert.deepEqual(c.certs(true).assembleQc(votes), { qc: null, invalidVoters: [2] });
});

test("a duplicate or out-of-range voter, or votes for two blocks or views, break the caller's contract: INVARIANT", async (t) => {
  const rng = seededRng(t);
  const c = randomCommittee(await loadBlsBackend("blst"), rng, 7);
  const hash = rng.bytes(32);
  const votes = [0, 1, 2, 3, 4].map((i) => c.vote(i, 3, hash));
  for (const optimistic of [false, true]) {
    const certs = c.certs(optimistic);
    // Two identical valid votes: summed twice, the bitmap would name the voter once — an invalid QC, never built.
    assert.throws(() => certs.assembleQc([...votes, votes[1]!]), invariant, "duplicate");
    assert.throws(() => certs.assembleQc([...votes, { ...votes[0]!, voter: 7 }]), invariant, "voter n");
    assert.throws(() => certs.assembleQc([...votes, { ...votes[0]!, voter: -1 }]), invariant, "voter -1");
    assert.throws(() => certs.assembleQc([...votes, c.vote(5, 3, rng.bytes(32))]), invariant, "another block");
    assert.throws(() => certs.assembleQc([...votes, c.vote(5, 4, hash)]), invariant, "another view");
    assert.throws(() => certs.assembleQc([]), invariant, "no votes");
  }
  const q = { view: 0, blockHash: new Uint8Array(32), signers: new Uint8Array(0), aggregateSignature: new Uint8Array(96) };
  const timeout = (voter: number, view = 4): Timeout => ({ view, voter, highQc: q, signature: blsSigner(c.b, c.sks[voter]!, voter).sign(timeoutMessage(CHAIN, view, 0)) });
  const ts = [0, 1, 2, 3, 4].map((i) => timeout(i));
  assert.equal(c.certs(false).verifyTc(c.certs(false).aggregateTc(ts)), "ok");
  assert.throws(() => c.certs(false).aggregateTc([...ts, ts[2]!]), invariant, "duplicate timeout");
  assert.throws(() => c.certs(false).aggregateTc([...ts, timeout(5, 5)]), invariant, "timeouts of two views");
});

test("every backend builds the same QC bytes, and each verifies on every backend", async (t) => {
  const rng = seededRng(t);
  const skBytes = range(4).map(() => keyGen(rng.bytes(32)));
  const hash = rng.bytes(32);
  const committees = await Promise.all(BLS_BACKEND_NAMES.map(async (name) => committee(await loadBlsBackend(name), skBytes)));
  const qcs = committees.map((c) => c.certs(true).assembleQc([3, 0, 1].map((i) => c.vote(i, 2, hash))).qc!);
  assert.equal(new Set(qcs.map((qc) => toHex(qc.aggregateSignature) + toHex(qc.signers))).size, 1);
  for (const c of committees) assert.ok(cryptoVerifies(c, qcs[0]!), c.b.name);
});
