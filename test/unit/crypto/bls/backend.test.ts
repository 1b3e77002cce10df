// The one BlsBackend suite: every test runs against blst, noble and herumi.
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { BLS_BACKEND_NAMES, loadBlsBackend } from "../../../../src/crypto/bls/backend.js";
import type { BlsBackend, PublicKey, SecretKey, Signature } from "../../../../src/crypto/bls/backend.js";
import { BlsError } from "../../../../src/crypto/bls/errors.js";
import { keyGen } from "../../../../src/crypto/bls/keygen.js";
import { CURVE_ORDER } from "../../../../src/crypto/bls/constants.js";
import { scalarToBytes } from "../../../../src/crypto/bls/encoding.js";
import { fromHex, toHex, utf8 } from "../../../../src/util/bytes.js";
import type { SeededRng } from "../../../../src/util/rng.js";
import { seededRng } from "../../../support/seed.js";
import { SPEC_KEYS, SPEC_SIGN } from "./vectors.js";
import { encodeG1, encodeG2, fieldModulusBytes, g1NoPointX, g1OffSubgroup, g2NoPointX, g2OffSubgroup, g2PlusTorsion } from "../../../support/blsPoints.js";

const isBlsError = (code: string) => (e: unknown) => e instanceof BlsError && e.code === code;

interface Key {
  sk: SecretKey;
  pk: PublicKey;
}

function keys(b: BlsBackend, rng: SeededRng, n: number): Key[] {
  return Array.from({ length: n }, () => {
    const sk = b.secretKeyFromBytes(keyGen(rng.bytes(32)));
    return { sk, pk: b.publicKeyOf(sk) };
  });
}

for (const name of BLS_BACKEND_NAMES) {
  describe(`BlsBackend: ${name}`, () => {
    let b: BlsBackend;
    before(async () => {
      b = await loadBlsBackend(name);
    });

    test("reproduces the Ethereum spec public keys and signatures byte for byte", () => {
      assert.equal(b.name, name);
      for (const v of SPEC_KEYS) assert.equal(toHex(b.publicKeyToBytes(b.publicKeyOf(b.secretKeyFromBytes(fromHex(v.sk))))), v.pk);
      for (const v of SPEC_SIGN) {
        const sk = b.secretKeyFromBytes(fromHex(v.sk));
        const sig = b.sign(sk, fromHex(v.msg));
        assert.equal(toHex(b.signatureToBytes(sig)), v.sig);
        assert.ok(b.verify(fromHex(v.msg), b.publicKeyOf(sk), b.signatureFromBytes(fromHex(v.sig))));
      }
    });

    test("verify accepts its own signatures and rejects another message, key or signature", (t) => {
      const rng = seededRng(t);
      const [k1, k2] = keys(b, rng, 2) as [Key, Key];
      for (const len of [0, 1, 32, 77]) {
        const msg = rng.bytes(len);
        const other = Uint8Array.from(msg);
        if (len > 0) other[rng.int(len)]! ^= 1 << rng.int(8);
        else other.set([]);
        const sig = b.sign(k1.sk, msg);
        assert.ok(b.verify(msg, k1.pk, sig), `len ${len}`);
        if (len > 0) assert.ok(!b.verify(other, k1.pk, sig), `flipped bit, len ${len}`);
        assert.ok(!b.verify(msg, k2.pk, sig), `other key, len ${len}`);
        assert.ok(!b.verify(msg, k1.pk, b.sign(k2.sk, msg)), `other signer, len ${len}`);
      }
    });

    test("keys and signatures round-trip through both serialisations", (t) => {
      const rng = seededRng(t);
      const [k] = keys(b, rng, 1) as [Key];
      const msg = rng.bytes(40);
      const sig = b.sign(k.sk, msg);
      for (const form of ["compressed", "uncompressed"] as const) {
        const pkBytes = b.publicKeyToBytes(k.pk, form);
        assert.equal(pkBytes.length, form === "compressed" ? 48 : 96);
        const pk2 = b.publicKeyFromBytes(pkBytes);
        assert.deepEqual(b.publicKeyToBytes(pk2), b.publicKeyToBytes(k.pk));
        const sigBytes = b.signatureToBytes(sig, form);
        assert.equal(sigBytes.length, form === "compressed" ? 96 : 192);
        for (const validate of [true, false]) {
          const sig2 = b.signatureFromBytes(sigBytes, { validate });
          assert.deepEqual(b.signatureToBytes(sig2), b.signatureToBytes(sig));
          assert.ok(b.signatureIsValid(sig2));
          assert.ok(b.verify(msg, pk2, sig2));
        }
      }
    });

    test("fastAggregateVerify: every signer must be present, no extra key, and an empty set is false", (t) => {
      const rng = seededRng(t);
      const ks = keys(b, rng, 6);
      const msg = rng.bytes(32);
      const sigs = ks.map((k) => b.sign(k.sk, msg));
      for (const n of [1, 2, 5]) {
        const agg = b.aggregateSignatures(sigs.slice(0, n));
        const pks = ks.slice(0, n).map((k) => k.pk);
        assert.ok(b.fastAggregateVerify(msg, pks, agg), `n=${n}`);
        assert.ok(b.verify(msg, b.aggregatePublicKeys(pks), agg), `aggregate key, n=${n}`);
        assert.ok(!b.fastAggregateVerify(msg, ks.slice(0, n + 1).map((k) => k.pk), agg), `extra key, n=${n}`);
        if (n > 1) assert.ok(!b.fastAggregateVerify(msg, pks.slice(1), agg), `missing key, n=${n}`);
        assert.ok(!b.fastAggregateVerify(rng.bytes(32), pks, agg), `other message, n=${n}`);
      }
      assert.equal(b.fastAggregateVerify(msg, [], sigs[0]!), false);
    });

    test("aggregateVerify: distinct and repeated messages; swapped messages fail; length mismatch throws", (t) => {
      const rng = seededRng(t);
      const ks = keys(b, rng, 4);
      const m1 = rng.bytes(20);
      const msgs = [m1, rng.bytes(33), m1, rng.bytes(1)];
      const agg = b.aggregateSignatures(ks.map((k, i) => b.sign(k.sk, msgs[i]!)));
      const pks = ks.map((k) => k.pk);
      assert.ok(b.aggregateVerify(msgs, pks, agg));
      assert.ok(!b.aggregateVerify([msgs[1]!, msgs[0]!, msgs[2]!, msgs[3]!], pks, agg));
      assert.ok(!b.aggregateVerify(msgs.slice(0, 3), pks.slice(0, 3), agg));
      assert.equal(b.aggregateVerify([], [], agg), false);
      assert.throws(() => b.aggregateVerify(msgs.slice(1), pks, agg), isBlsError("LENGTH_MISMATCH"));
    });

    test("verifyBatch: valid batches pass (distinct, shared and mixed-length messages), any bad set fails it", (t) => {
      const rng = seededRng(t);
      const ks = keys(b, rng, 6);
      const shared = rng.bytes(32);
      const msgs = [shared, rng.bytes(32), shared, rng.bytes(5), shared, rng.bytes(0)];
      const sets = ks.map((k, i) => ({ message: msgs[i]!, publicKey: k.pk, signature: b.sign(k.sk, msgs[i]!) }));
      assert.ok(b.verifyBatch(sets));
      assert.ok(b.verifyBatch(sets.slice(0, 1)));
      assert.equal(b.verifyBatch([]), false);
      // Break one set at a time in each position kind: a shared-message group member, a lone message, the last.
      for (const bad of [0, 1, 2, 5]) {
        const broken = sets.map((s, i) => (i === bad ? { ...s, signature: sets[(i + 1) % sets.length]!.signature } : s));
        assert.ok(!b.verifyBatch(broken), `bad set ${bad}`);
      }
      // Two wrong signatures whose sum is right: plain aggregation would accept this, random scalars must not.
      const swapped = sets.slice(0, 3).map((s) => ({ ...s }));
      [swapped[0]!.signature, swapped[2]!.signature] = [swapped[2]!.signature, swapped[0]!.signature];
      assert.ok(!b.verify(shared, swapped[0]!.publicKey, swapped[0]!.signature));
      assert.ok(!b.verifyBatch(swapped));
      const sumOk = b.fastAggregateVerify(shared, [swapped[0]!.publicKey, swapped[2]!.publicKey], b.aggregateSignatures([swapped[0]!.signature, swapped[2]!.signature]));
      assert.ok(sumOk, "sanity: the swapped pair still aggregates correctly");
    });

    test("proof of possession verifies for its key only and is domain-separated from message signatures", async (t) => {
      const rng = seededRng(t);
      const [k1, k2] = keys(b, rng, 2) as [Key, Key];
      const pop1 = await b.popProve(k1.sk);
      assert.ok(await b.popVerify(k1.pk, pop1));
      assert.ok(!(await b.popVerify(k2.pk, pop1)));
      assert.ok(!(await b.popVerify(k2.pk, await b.popProve(k1.sk))));
      const pkBytes = b.publicKeyToBytes(k1.pk);
      // The same key signing its own public key bytes with the signing DST is not a PoP, and a PoP is not a signature.
      assert.ok(!(await b.popVerify(k1.pk, b.sign(k1.sk, pkBytes))));
      assert.ok(!b.verify(pkBytes, k1.pk, pop1));
      // PoP bytes survive a round trip.
      assert.ok(await b.popVerify(k1.pk, b.signatureFromBytes(b.signatureToBytes(pop1))));
    });

    test("malformed public keys and signatures are refused with typed errors", (t) => {
      const rng = seededRng(t);
      const [k] = keys(b, rng, 1) as [Key];
      const pk = b.publicKeyToBytes(k.pk);
      const sig = b.signatureToBytes(b.sign(k.sk, utf8("m")));
      const flip = (bytes: Uint8Array, mask: number) => {
        const c = Uint8Array.from(bytes);
        c[0]! ^= mask;
        return c;
      };
      const infinityPk = new Uint8Array(48);
      infinityPk[0] = 0xc0;
      const infinitySig = new Uint8Array(96);
      infinitySig[0] = 0xc0;
      const pModulus = fieldModulusBytes();
      const xEqP = Uint8Array.from(pModulus);
      xEqP[0]! |= 0x80;
      const sigXc1EqP = new Uint8Array(96);
      sigXc1EqP.set(pModulus, 0);
      sigXc1EqP[0]! |= 0x80;
      const g1Off = g1OffSubgroup(rng);
      const g2Off = g2OffSubgroup(rng);
      const g1NoX = g1NoPointX(rng);
      const g2NoX = g2NoPointX(rng);
      const g1Wrong = Uint8Array.from(encodeG1(g1Off.x, g1Off.y, false));
      g1Wrong[95]! ^= 1; // y no longer on the curve
      const g2Wrong = Uint8Array.from(encodeG2(g2Off.x, g2Off.y, false));
      g2Wrong[191]! ^= 1;
      const badPks: [string, Uint8Array][] = [
        ["empty", new Uint8Array(0)],
        ["47 bytes", pk.subarray(0, 47)],
        ["49 bytes", new Uint8Array(49)],
        ["compression bit cleared", flip(pk, 0x80)],
        ["infinity", infinityPk],
        ["infinity flag on a real key", flip(pk, 0x40)],
        ["x = p", xEqP],
        ["x with no curve point", encodeG1(g1NoX, 0n, true)],
        ["off-subgroup, compressed", encodeG1(g1Off.x, g1Off.y, true)],
        ["off-subgroup, uncompressed", encodeG1(g1Off.x, g1Off.y, false)],
        ["not on the curve, uncompressed", g1Wrong],
        ["uncompressed with the compression bit", flip(encodeG1(g1Off.x, g1Off.y, false), 0x80)],
      ];
      for (const [what, bytes] of badPks) assert.throws(() => b.publicKeyFromBytes(bytes), isBlsError("BAD_PUBLIC_KEY"), what);
      const badSigs: [string, Uint8Array][] = [
        ["empty", new Uint8Array(0)],
        ["95 bytes", sig.subarray(0, 95)],
        ["compression bit cleared", flip(sig, 0x80)],
        ["infinity", infinitySig],
        ["infinity flag on a real signature", flip(sig, 0x40)],
        ["x.c1 = p", sigXc1EqP],
        ["x with no curve point", encodeG2(g2NoX, g2NoX, true)],
        ["not on the curve, uncompressed", g2Wrong],
        ["uncompressed with the sort bit", flip(encodeG2(g2Off.x, g2Off.y, false), 0x20)],
      ];
      for (const [what, bytes] of badSigs) {
        for (const validate of [true, false]) {
          assert.throws(() => b.signatureFromBytes(bytes, { validate }), isBlsError("BAD_SIGNATURE"), `${what}, validate=${validate}`);
        }
      }
      for (const compressed of [true, false]) {
        const off = encodeG2(g2Off.x, g2Off.y, compressed);
        assert.throws(() => b.signatureFromBytes(off), isBlsError("BAD_SIGNATURE"), `off-subgroup signature, compressed=${compressed}`);
      }
    });

    test("a signature plus a torsion point is never accepted, however it was parsed", (t) => {
      const rng = seededRng(t);
      const ks = keys(b, rng, 3);
      const msg = rng.bytes(32);
      const sigs = ks.map((k) => b.sign(k.sk, msg));
      const tainted = g2PlusTorsion(rng, b.signatureToBytes(sigs[0]!, "uncompressed"));
      assert.throws(() => b.signatureFromBytes(tainted), isBlsError("BAD_SIGNATURE"));
      // A backend may defer the subgroup check (blst does); then the verify calls must make it.
      let lazy: Signature;
      try {
        lazy = b.signatureFromBytes(tainted, { validate: false });
      } catch (e) {
        assert.ok(isBlsError("BAD_SIGNATURE")(e));
        return;
      }
      assert.equal(b.signatureIsValid(lazy), false);
      assert.equal(b.verify(msg, ks[0]!.pk, lazy), false);
      const agg = b.aggregateSignatures([lazy, sigs[1]!, sigs[2]!]);
      assert.equal(b.signatureIsValid(agg), false);
      assert.equal(b.fastAggregateVerify(msg, ks.map((k) => k.pk), agg), false);
      assert.equal(b.aggregateVerify([msg, msg, msg], ks.map((k) => k.pk), agg), false);
      assert.equal(b.verifyBatch([{ message: msg, publicKey: ks[0]!.pk, signature: lazy }]), false);
      assert.equal(b.verifyBatch(ks.map((k, i) => ({ message: msg, publicKey: k.pk, signature: i === 0 ? lazy : sigs[i]! }))), false);
    });

    test("secret keys must be 32 bytes in [1, r)", () => {
      const bad: [string, Uint8Array][] = [
        ["zero", new Uint8Array(32)],
        ["r", scalarToBytes(CURVE_ORDER)],
        ["r + 1", scalarToBytes(CURVE_ORDER + 1n)],
        ["2^256 - 1", new Uint8Array(32).fill(0xff)],
        ["31 bytes", new Uint8Array(31).fill(1)],
        ["33 bytes", new Uint8Array(33).fill(1)],
      ];
      for (const [what, bytes] of bad) assert.throws(() => b.secretKeyFromBytes(bytes), isBlsError("BAD_SECRET_KEY"), what);
      const one = b.secretKeyFromBytes(scalarToBytes(1n));
      // sk = 1 gives the G1 generator.
      assert.equal(toHex(b.publicKeyToBytes(b.publicKeyOf(one))), "97f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb");
      b.secretKeyFromBytes(scalarToBytes(CURVE_ORDER - 1n));
    });

    test("empty aggregates and handles from another backend are typed errors", async (t) => {
      const rng = seededRng(t);
      assert.throws(() => b.aggregatePublicKeys([]), isBlsError("EMPTY_INPUT"));
      assert.throws(() => b.aggregateSignatures([]), isBlsError("EMPTY_INPUT"));
      const other = await loadBlsBackend(name === "blst" ? "herumi" : "blst");
      const sk = other.secretKeyFromBytes(keyGen(rng.bytes(32)));
      const pk = other.publicKeyOf(sk);
      const sig = other.sign(sk, utf8("x"));
      assert.throws(() => b.publicKeyOf(sk), isBlsError("WRONG_BACKEND"));
      assert.throws(() => b.verify(utf8("x"), pk, b.sign(b.secretKeyFromBytes(keyGen(rng.bytes(32))), utf8("x"))), isBlsError("WRONG_BACKEND"));
      assert.throws(() => b.aggregateSignatures([sig]), isBlsError("WRONG_BACKEND"));
    });
  });
}
