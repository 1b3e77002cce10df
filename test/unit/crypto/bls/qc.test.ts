import { test, before } from "node:test";
import assert from "node:assert/strict";
import { loadBlsBackend } from "../../../../src/crypto/bls/backend.js";
import type { BlsBackend, SecretKey } from "../../../../src/crypto/bls/backend.js";
import { BlsError } from "../../../../src/crypto/bls/errors.js";
import { keyGen } from "../../../../src/crypto/bls/keygen.js";
import { ValidatorKeys, decodeSigners, verifyQc, verifyQcs, verifyTc } from "../../../../src/crypto/bls/qc.js";
import type { QcVerdict, QuorumCertificate, TimeoutCertificate } from "../../../../src/crypto/bls/qc.js";
import { Bitset, encodeBitmap } from "../../../../src/crypto/bitmap/index.js";
import { concatBytes, toHex, utf8 } from "../../../../src/util/bytes.js";
import type { SeededRng } from "../../../../src/util/rng.js";
import { seededRng } from "../../../support/seed.js";
import { encodeG2, g2PlusTorsion } from "../../../support/blsPoints.js";

let b: BlsBackend;
before(async () => {
  b = await loadBlsBackend("blst");
});

interface Committee {
  sks: SecretKey[];
  keys: ValidatorKeys;
}

function committee(backend: BlsBackend, rng: SeededRng, n: number): Committee {
  const sks = Array.from({ length: n }, () => backend.secretKeyFromBytes(keyGen(rng.bytes(32))));
  return { sks, keys: new ValidatorKeys(backend, sks.map((s) => backend.publicKeyOf(s))) };
}

/**
 * A QC made from the primitives, not by any builder: the signer bitmap and the plain sum of the signers' signatures.
 * (Building QCs from votes is SchemeCertificates' job, tested in test/unit/consensus/blsCertificates.test.ts.)
 */
function rawQc(c: Committee, message: Uint8Array, signers: number[]): QuorumCertificate {
  const be = c.keys.backend;
  return { signers: Bitset.fromIndices(c.keys.size, signers), signature: be.signatureToBytes(be.aggregateSignatures(signers.map((i) => be.sign(c.sks[i]!, message)))) };
}

/** A TC from the primitives: each signer signs one of `distinct` messages; the signatures are summed. */
function rawTc(c: Committee, rng: SeededRng, signers: number[], distinct: number): TimeoutCertificate {
  const base = rng.bytes(24);
  const msgs = Array.from({ length: distinct }, (_, k) => concatBytes(base, Uint8Array.of(k)));
  const order = [...signers].sort((x, y) => x - y);
  const messages = order.map(() => rng.pick(msgs));
  const sigs = order.map((i, k) => b.sign(c.sks[i]!, messages[k]!));
  return { signers: Bitset.fromIndices(c.keys.size, order), messages, signature: b.signatureToBytes(b.aggregateSignatures(sigs)) };
}

const indicesOf = (s: Bitset): number[] => Array.from(s.toIndices());
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const signersOf = (n: number, indices: number[]): Bitset => Bitset.fromIndices(n, indices);
const refused = (v: QcVerdict, code: string): boolean => !v.ok && v.code === code;

test("verifyQc refuses a wrong bitmap length, too few signers, a wrong signer set or message, and bad encodings", (t) => {
  const rng = seededRng(t);
  const n = 10; // quorum 7
  const c = committee(b, rng, n);
  const msg = rng.bytes(32);
  const qc = rawQc(c, msg, [0, 1, 2, 3, 5, 7, 9]);
  assert.deepEqual(verifyQc(c.keys, msg, qc), { ok: true });
  const s = indicesOf(qc.signers);
  assert.ok(refused(verifyQc(c.keys, msg, { ...qc, signers: signersOf(n + 1, s) }), "QC_BITMAP_LENGTH"), "longer than the validator set");
  assert.ok(refused(verifyQc(c.keys, msg, { ...qc, signers: signersOf(n - 1, s.filter((i) => i < n - 1)) }), "QC_BITMAP_LENGTH"), "shorter");
  assert.ok(refused(verifyQc(c.keys, msg, { ...qc, signers: signersOf(n, s.slice(1)) }), "QC_BELOW_QUORUM"));
  assert.ok(refused(verifyQc(c.keys, msg, { ...qc, signers: signersOf(n, [...s.slice(1), 4]) }), "QC_INVALID_SIGNATURE"), "one signer swapped");
  assert.ok(refused(verifyQc(c.keys, msg, { ...qc, signers: signersOf(n, [...s, 4]) }), "QC_INVALID_SIGNATURE"), "extra signer claimed");
  assert.ok(refused(verifyQc(c.keys, rng.bytes(32), qc), "QC_INVALID_SIGNATURE"), "other message");
  const agg = b.signatureFromBytes(qc.signature);
  assert.ok(refused(verifyQc(c.keys, msg, { ...qc, signature: b.signatureToBytes(agg, "uncompressed") }), "QC_BAD_SIGNATURE_ENCODING"), "uncompressed aggregate");
  const inf = new Uint8Array(96);
  inf[0] = 0xc0;
  assert.ok(refused(verifyQc(c.keys, msg, { ...qc, signature: inf }), "QC_BAD_SIGNATURE_ENCODING"), "identity");
  const noPoint = Uint8Array.from(qc.signature);
  noPoint.fill(0xff, 1);
  noPoint[0] = 0x9f;
  assert.ok(!verifyQc(c.keys, msg, { ...qc, signature: noPoint }).ok, "not a point");
  // The aggregate plus a torsion point: off the subgroup, whichever stage catches it.
  const tainted = g2PlusTorsion(rng, b.signatureToBytes(agg, "uncompressed"));
  const taintedPoint = encodeG2FromUncompressed(tainted);
  assert.ok(!verifyQc(c.keys, msg, { ...qc, signature: taintedPoint }).ok, "aggregate with a torsion component");
});

test("verifyQcs: each certificate gets verifyQc's verdict, whatever else shares its batch", (t) => {
  const rng = seededRng(t);
  const n = 7; // quorum 5
  const c = committee(b, rng, n);
  const items = Array.from({ length: 24 }, () => {
    const message = rng.bytes(40);
    return { message, qc: rawQc(c, message, rng.shuffle(range(n)).slice(0, rng.range(5, n + 1))) };
  });
  // Break a random few in ways only the pairing catches (another certificate's valid aggregate, another message) and
  // in ways refused before it (below quorum, not a point).
  const broken = items.map((it, i) => {
    switch (rng.int(6)) {
      case 0:
        return { ...it, qc: { ...it.qc, signature: items[(i + 1) % items.length]!.qc.signature } };
      case 1:
        return { ...it, message: rng.bytes(40) };
      case 2:
        return { ...it, qc: { ...it.qc, signers: signersOf(n, indicesOf(it.qc.signers).slice(0, 4)) } };
      case 3:
        return { ...it, qc: { ...it.qc, signature: new Uint8Array(96).fill(0xff) } };
      default:
        return it;
    }
  });
  const oracle = broken.map((it) => verifyQc(c.keys, it.message, it.qc));
  assert.ok(oracle.some((v) => v.ok) && oracle.some((v) => !v.ok), "the seed gives a mix");
  assert.deepEqual(verifyQcs(c.keys, broken), oracle);
  assert.deepEqual(verifyQcs(c.keys, items), items.map(() => ({ ok: true })));
  assert.deepEqual(verifyQcs(c.keys, [broken[0]!]), [oracle[0]]);
  assert.deepEqual(verifyQcs(c.keys, []), []);
});

/** Re-encodes an uncompressed G2 point compressed, without any backend (the flag and sort bits by hand). */
function encodeG2FromUncompressed(u: Uint8Array): Uint8Array {
  const rd = (o: number) => BigInt("0x" + toHex(u.subarray(o, o + 48)));
  return encodeG2({ c0: rd(48), c1: rd(0) }, { c0: rd(144), c1: rd(96) }, true);
}

test("the aggregate-key cache never serves one signer set's key for another", (t) => {
  const rng = seededRng(t);
  const n = 7; // quorum 5
  const c = committee(b, rng, n);
  const keys = new ValidatorKeys(b, c.keys.publicKeys, { aggregateCacheSize: 2 });
  const msg = rng.bytes(32);
  const sets = [
    [0, 1, 2, 3, 4],
    [0, 1, 2, 3, 5],
    [1, 2, 3, 4, 5, 6],
    [0, 2, 3, 4, 6],
  ];
  const qcs = sets.map((s) => rawQc(c, msg, s));
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < sets.length; i++) {
      for (let j = 0; j < sets.length; j++) {
        const v = verifyQc(keys, msg, { signers: qcs[i]!.signers, signature: qcs[j]!.signature });
        assert.equal(v.ok, i === j, `signers ${i}, signature ${j}, round ${round}`);
      }
    }
  }
});

test("signer bitmaps from the wire: exact length only, longer ones refused before expansion, garbage typed", (t) => {
  const rng = seededRng(t);
  const n = 64;
  for (let k = 0; k < 20; k++) {
    const set = Bitset.fromIndices(n, rng.shuffle(range(n)).slice(0, rng.int(n + 1)));
    const back = decodeSigners(encodeBitmap(set), n);
    assert.ok(back instanceof Bitset && back.equals(set));
  }
  const longer = decodeSigners(encodeBitmap(Bitset.fromIndices(n + 1, [0, n])), n);
  assert.ok(!(longer instanceof Bitset) && longer.code === "QC_BITMAP_LENGTH");
  const huge = decodeSigners(encodeBitmap(Bitset.fromIndices(1 << 20, [5])), n);
  assert.ok(!(huge instanceof Bitset) && huge.code === "QC_BITMAP_LENGTH");
  const shorter = decodeSigners(encodeBitmap(Bitset.fromIndices(n - 1, [0])), n);
  assert.ok(!(shorter instanceof Bitset) && shorter.code === "QC_BITMAP_LENGTH");
  for (const junk of [new Uint8Array(0), Uint8Array.of(0xff, 0xff, 0xff), rng.bytes(9)]) {
    const r = decodeSigners(junk, n);
    assert.ok(r instanceof Bitset || r.code === "QC_BAD_BITMAP" || r.code === "QC_BITMAP_LENGTH", "typed");
  }
  const empty = decodeSigners(new Uint8Array(0), n);
  assert.ok(!(empty instanceof Bitset) && empty.code === "QC_BAD_BITMAP");
});

test("a TC over per-signer messages verifies with one multi-pairing, and only with its messages in signer order", (t) => {
  const rng = seededRng(t);
  const n = 13; // quorum 9
  const c = committee(b, rng, n);
  for (const distinct of [1, 3, 9]) {
    const signers = rng.shuffle(range(n)).slice(0, 9 + rng.int(5));
    const tc = rawTc(c, rng, signers, distinct);
    const order = indicesOf(tc.signers);
    assert.deepEqual(verifyTc(c.keys, tc), { ok: true });
    // Oracle: aggregateVerify with one entry per signer (no grouping).
    assert.ok(b.aggregateVerify(tc.messages, order.map((i) => c.keys.publicKeys[i]!), b.signatureFromBytes(tc.signature)));
    const k = tc.messages.findIndex((m) => toHex(m) !== toHex(tc.messages[0]!));
    if (k > 0) {
      const shuffled = [...tc.messages];
      [shuffled[0], shuffled[k]] = [shuffled[k]!, shuffled[0]!];
      assert.ok(refused(verifyTc(c.keys, { ...tc, messages: shuffled }), "QC_INVALID_SIGNATURE"), "messages attributed to the wrong signers");
    }
    assert.ok(refused(verifyTc(c.keys, { ...tc, messages: [...tc.messages.slice(1), concatBytes(tc.messages[0]!, utf8("!"))] }), "QC_INVALID_SIGNATURE"), "one message changed");
    assert.ok(refused(verifyTc(c.keys, { ...tc, messages: tc.messages.slice(1) }), "QC_MESSAGE_COUNT"));
    assert.ok(refused(verifyTc(c.keys, { ...tc, signers: signersOf(n + 3, order) }), "QC_BITMAP_LENGTH"));
    assert.ok(refused(verifyTc(c.keys, { ...tc, signers: signersOf(n, order.slice(0, 8)), messages: tc.messages.slice(0, 8) }), "QC_BELOW_QUORUM"));
  }
});

test("ValidatorKeys refuses a bad key (naming it) and an impossible quorum", (t) => {
  const rng = seededRng(t);
  const good = b.publicKeyToBytes(b.publicKeyOf(b.secretKeyFromBytes(keyGen(rng.bytes(32)))));
  const bad = Uint8Array.from(good);
  bad[0]! &= 0x7f;
  assert.throws(() => ValidatorKeys.fromBytes(b, [good, bad]), (e: unknown) => e instanceof BlsError && e.code === "BAD_PUBLIC_KEY" && e.message.startsWith("validator 1"));
  assert.throws(() => ValidatorKeys.fromBytes(b, [good], { quorum: 2 }), RangeError);
  assert.throws(() => new ValidatorKeys(b, []), RangeError);
});
