import { test, before } from "node:test";
import assert from "node:assert/strict";
import { BLS_BACKEND_NAMES, loadBlsBackend } from "../../../../src/crypto/bls/backend.js";
import type { BlsBackend, SecretKey } from "../../../../src/crypto/bls/backend.js";
import { BlsError } from "../../../../src/crypto/bls/errors.js";
import { keyGen } from "../../../../src/crypto/bls/keygen.js";
import { ValidatorKeys, buildQc, buildTc, decodeSigners, signersFromIndices, verifyQc, verifyTc } from "../../../../src/crypto/bls/qc.js";
import type { QcVerdict, TimeoutVote, Vote } from "../../../../src/crypto/bls/qc.js";
import { Bitset, encodeBitmap } from "../../../../src/crypto/bitmap/index.js";
import { concatBytes, toHex, utf8 } from "../../../../src/util/bytes.js";
import type { SeededRng } from "../../../../src/util/rng.js";
import { seededRng } from "../../../support/seed.js";
import { encodeG2, g2OffSubgroup, g2PlusTorsion } from "../../../support/blsPoints.js";

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

function votes(c: Committee, message: Uint8Array, signers: number[], form: "compressed" | "uncompressed" = "uncompressed"): Vote[] {
  const be = c.keys.backend;
  return signers.map((signer) => ({ signer, signature: be.signatureToBytes(be.sign(c.sks[signer]!, message), form) }));
}

const indicesOf = (s: Bitset): number[] => Array.from(s.toIndices());
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const signersOf = (n: number, indices: number[]): Bitset => Bitset.fromIndices(n, indices);
const refused = (v: QcVerdict, code: string): boolean => !v.ok && v.code === code;

test("a QC from valid votes (either encoding) takes one check, names every signer and verifies", (t) => {
  const rng = seededRng(t);
  const c = committee(b, rng, 16);
  const msg = rng.bytes(72);
  for (const form of ["uncompressed", "compressed"] as const) {
    const signers = rng.shuffle(range(16)).slice(0, 11 + rng.int(6));
    const vs = votes(c, msg, signers, form);
    const r = buildQc(c.keys, msg, vs);
    assert.equal(r.checks, 1);
    assert.deepEqual(r.rejected, []);
    assert.ok(r.certificate !== null);
    assert.deepEqual(indicesOf(r.certificate.signers), [...signers].sort((x, y) => x - y));
    assert.equal(r.certificate.signature.length, 96);
    // Oracle: the plain sum of the individual signatures, computed directly with the backend.
    const expected = b.aggregateSignatures(vs.map((v) => b.signatureFromBytes(v.signature)));
    assert.equal(toHex(r.certificate.signature), toHex(b.signatureToBytes(expected)));
    assert.deepEqual(verifyQc(c.keys, msg, r.certificate), { ok: true });
    assert.ok(b.fastAggregateVerify(msg, indicesOf(r.certificate.signers).map((i) => c.keys.publicKeys[i]!), b.signatureFromBytes(r.certificate.signature)));
  }
});

test("bad votes are dropped and named with their reason; the QC of the rest verifies", (t) => {
  const rng = seededRng(t);
  const n = 22;
  const c = committee(b, rng, n);
  const msg = rng.bytes(40);
  for (let round = 0; round < 6; round++) {
    const signers = rng.shuffle(range(n));
    const vs = votes(c, msg, signers);
    const expected = new Map<number, string>(); // input position -> code
    const badCount = 1 + rng.int(4);
    for (const pos of rng.shuffle(range(n)).slice(0, badCount)) {
      const v = vs[pos]!;
      switch (rng.int(6)) {
        case 0: // signed another message
          vs[pos] = { ...v, signature: b.signatureToBytes(b.sign(c.sks[v.signer]!, rng.bytes(40)), "uncompressed") };
          expected.set(pos, "QC_INVALID_SIGNATURE");
          break;
        case 1: // someone else's signature on the right message
          vs[pos] = { ...v, signature: b.signatureToBytes(b.sign(c.sks[(v.signer + 1) % n]!, msg), "uncompressed") };
          expected.set(pos, "QC_INVALID_SIGNATURE");
          break;
        case 2: // right signature plus a torsion point: on the curve, off the subgroup
          vs[pos] = { ...v, signature: g2PlusTorsion(rng, v.signature) };
          expected.set(pos, b.name === "blst" ? "QC_INVALID_SIGNATURE" : "QC_BAD_SIGNATURE_ENCODING");
          break;
        case 3: {
          const off = g2OffSubgroup(rng);
          vs[pos] = { ...v, signature: encodeG2(off.x, off.y, false) };
          expected.set(pos, b.name === "blst" ? "QC_INVALID_SIGNATURE" : "QC_BAD_SIGNATURE_ENCODING");
          break;
        }
        case 4:
          vs[pos] = { ...v, signature: v.signature.subarray(0, 100) };
          expected.set(pos, "QC_BAD_SIGNATURE_ENCODING");
          break;
        default: {
          const inf = new Uint8Array(192);
          inf[0] = 0x40;
          vs[pos] = { ...v, signature: inf };
          expected.set(pos, "QC_BAD_SIGNATURE_ENCODING");
        }
      }
    }
    // Screening rejections: an out-of-range signer and a second vote from an honest signer.
    vs.push({ signer: n, signature: vs[0]!.signature }, { signer: -1, signature: vs[0]!.signature });
    expected.set(n, "QC_SIGNER_OUT_OF_RANGE").set(n + 1, "QC_SIGNER_OUT_OF_RANGE");
    const dupOf = [...range(n)].find((p) => !expected.has(p))!;
    vs.push({ signer: vs[dupOf]!.signer, signature: vs[dupOf]!.signature });
    expected.set(n + 2, "QC_DUPLICATE_SIGNER");

    const r = buildQc(c.keys, msg, vs);
    assert.deepEqual(
      r.rejected.map((x) => [x.index, x.code]),
      [...expected.entries()].sort((x, y) => x[0] - y[0]),
      `round ${round}`,
    );
    for (const x of r.rejected) assert.equal(x.signer, vs[x.index]!.signer);
    const good = range(n).filter((p) => !expected.has(p)).map((p) => signers[p]!);
    assert.ok(r.certificate !== null, `round ${round}: ${good.length} good of quorum ${c.keys.quorum}`);
    assert.deepEqual(indicesOf(r.certificate.signers), good.sort((x, y) => x - y));
    assert.deepEqual(verifyQc(c.keys, msg, r.certificate), { ok: true });
  }
});

test("too few valid votes build no certificate but still name the bad ones", (t) => {
  const rng = seededRng(t);
  const c = committee(b, rng, 7); // quorum 5
  const msg = rng.bytes(32);
  const vs = votes(c, msg, [0, 1, 2, 3, 4]);
  vs[2] = { ...vs[2]!, signature: vs[3]!.signature };
  const r = buildQc(c.keys, msg, vs);
  assert.equal(r.certificate, null);
  assert.deepEqual(r.rejected.map((x) => [x.signer, x.code]), [[2, "QC_INVALID_SIGNATURE"]]);
  assert.equal(buildQc(c.keys, msg, []).certificate, null);
});

test("verifyQc refuses a wrong bitmap length, too few signers, a wrong signer set or message, and bad encodings", (t) => {
  const rng = seededRng(t);
  const n = 10; // quorum 7
  const c = committee(b, rng, n);
  const msg = rng.bytes(32);
  const qc = buildQc(c.keys, msg, votes(c, msg, [0, 1, 2, 3, 5, 7, 9])).certificate!;
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
  const qcs = sets.map((s) => buildQc(keys, msg, votes(c, msg, s)).certificate!);
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < sets.length; i++) {
      for (let j = 0; j < sets.length; j++) {
        const v = verifyQc(keys, msg, { signers: qcs[i]!.signers, signature: qcs[j]!.signature });
        assert.equal(v.ok, i === j, `signers ${i}, signature ${j}, round ${round}`);
      }
    }
  }
});

test("signer lists with duplicates or out-of-range indices are refused", () => {
  const ok = signersFromIndices(5, [4, 0, 2]);
  assert.ok(ok instanceof Bitset && ok.length === 5);
  assert.deepEqual(indicesOf(ok), [0, 2, 4]);
  for (const [indices, code] of [
    [[0, 1, 1], "QC_DUPLICATE_SIGNER"],
    [[0, 5], "QC_SIGNER_OUT_OF_RANGE"],
    [[-1, 2], "QC_SIGNER_OUT_OF_RANGE"],
    [[1.5], "QC_SIGNER_OUT_OF_RANGE"],
  ] as const) {
    const r = signersFromIndices(5, indices as readonly number[]);
    assert.ok(!(r instanceof Bitset) && r.code === code, JSON.stringify(indices));
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

function timeouts(c: Committee, rng: SeededRng, signers: number[], distinct: number): TimeoutVote[] {
  const base = rng.bytes(24);
  const msgs = Array.from({ length: distinct }, (_, k) => concatBytes(base, Uint8Array.of(k)));
  return signers.map((signer) => {
    const message = rng.pick(msgs);
    return { signer, message, signature: b.signatureToBytes(b.sign(c.sks[signer]!, message), "uncompressed") };
  });
}

test("a TC over per-signer messages builds with one check and verifies with one multi-pairing", (t) => {
  const rng = seededRng(t);
  const n = 13; // quorum 9
  const c = committee(b, rng, n);
  for (const distinct of [1, 3, 9]) {
    const signers = rng.shuffle(range(n)).slice(0, 9 + rng.int(5));
    const ts = timeouts(c, rng, signers, distinct);
    const r = buildTc(c.keys, ts);
    assert.equal(r.checks, 1);
    const tc = r.certificate!;
    const order = indicesOf(tc.signers);
    assert.deepEqual(order, [...signers].sort((x, y) => x - y));
    assert.deepEqual(tc.messages.map(toHex), order.map((s) => toHex(ts.find((x) => x.signer === s)!.message)));
    assert.deepEqual(verifyTc(c.keys, tc), { ok: true });
    // Oracle: aggregateVerify with one entry per signer (no grouping).
    assert.ok(b.aggregateVerify(tc.messages, order.map((i) => c.keys.publicKeys[i]!), b.signatureFromBytes(tc.signature)));
    if (distinct > 1) {
      const shuffled = [...tc.messages];
      const k = shuffled.findIndex((m) => toHex(m) !== toHex(shuffled[0]!));
      [shuffled[0], shuffled[k]] = [shuffled[k]!, shuffled[0]!];
      assert.ok(refused(verifyTc(c.keys, { ...tc, messages: shuffled }), "QC_INVALID_SIGNATURE"), "messages attributed to the wrong signers");
    }
    assert.ok(refused(verifyTc(c.keys, { ...tc, messages: tc.messages.slice(1) }), "QC_MESSAGE_COUNT"));
    assert.ok(refused(verifyTc(c.keys, { ...tc, signers: signersOf(n + 3, order) }), "QC_BITMAP_LENGTH"));
    assert.ok(refused(verifyTc(c.keys, { ...tc, signers: signersOf(n, order.slice(0, 8)), messages: tc.messages.slice(0, 8) }), "QC_BELOW_QUORUM"));
  }
});

test("a TC build drops and names bad timeouts", (t) => {
  const rng = seededRng(t);
  const n = 13;
  const c = committee(b, rng, n);
  const ts = timeouts(c, rng, range(n), 4);
  ts[3] = { ...ts[3]!, message: concatBytes(ts[3]!.message, utf8("!")) }; // signed something else
  ts[8] = { ...ts[8]!, signature: ts[9]!.signature };
  const r = buildTc(c.keys, ts);
  assert.deepEqual(r.rejected.map((x) => [x.signer, x.code]), [
    [3, "QC_INVALID_SIGNATURE"],
    [8, "QC_INVALID_SIGNATURE"],
  ]);
  assert.deepEqual(indicesOf(r.certificate!.signers), range(n).filter((i) => i !== 3 && i !== 8));
  assert.deepEqual(verifyTc(c.keys, r.certificate!), { ok: true });
});

test("certificates are byte-identical across backends and verify in each", async (t) => {
  const rng = seededRng(t);
  const skBytes = range(4).map(() => keyGen(rng.bytes(32)));
  const msg = rng.bytes(32);
  const out: string[] = [];
  for (const name of BLS_BACKEND_NAMES) {
    const be = await loadBlsBackend(name);
    const sks = skBytes.map((s) => be.secretKeyFromBytes(s));
    const c: Committee = { sks, keys: new ValidatorKeys(be, sks.map((s) => be.publicKeyOf(s))) };
    const qc = buildQc(c.keys, msg, votes(c, msg, [3, 0, 1])).certificate!;
    out.push(toHex(qc.signature));
    for (const other of BLS_BACKEND_NAMES) {
      const ob = await loadBlsBackend(other);
      const okeys = ValidatorKeys.fromBytes(ob, sks.map((s) => be.publicKeyToBytes(be.publicKeyOf(s))));
      assert.deepEqual(verifyQc(okeys, msg, qc), { ok: true }, `${name} -> ${other}`);
    }
  }
  assert.equal(new Set(out).size, 1);
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
