import { webcrypto } from "node:crypto";
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { pippenger } from "@noble/curves/abstract/curve.js";
import type { WeierstrassPoint } from "@noble/curves/abstract/weierstrass.js";
import type { BlsBackend, PublicKey, SecretKey, Signature, SignatureSet } from "../backend.js";
import { BlsError } from "../errors.js";
import { precheckPoint, secretKeyScalar } from "../encoding.js";
import type { PointForm } from "../encoding.js";
import { POP_DST, SIGNATURE_DST } from "../constants.js";

type Fp2 = ReturnType<typeof bls12_381.fields.Fp2.create>;
type G1 = WeierstrassPoint<bigint>;
type G2 = WeierstrassPoint<Fp2>;

const G1Point = bls12_381.G1.Point;
const G2Point = bls12_381.G2.Point;
const { Fp12 } = bls12_381.fields;
const long = bls12_381.longSignatures;
const NEG_G1 = G1Point.BASE.negate();

class NobleSecretKey {
  constructor(readonly scalar: bigint) {}
}

function hashToG2(message: Uint8Array, dst: string): G2 {
  return long.hash(message, dst);
}

/** Π e(g1ᵢ, g2ᵢ) == 1 with one final exponentiation. Noble throws on identity inputs: that is a failed check. */
function pairingProductIsOne(pairs: { g1: G1; g2: G2 }[]): boolean {
  try {
    return Fp12.eql(bls12_381.pairingBatch(pairs), Fp12.ONE);
  } catch {
    return false;
  }
}

/**
 * @noble/curves (pure JavaScript, audited, slow: tens of milliseconds per pairing). Point parsing always checks the
 * subgroup (`validate: false` is accepted but ignored). noble's BLS helpers default to the `_NUL_` ciphersuite, so
 * every hash here passes the POP ciphersuite's DST explicitly.
 */
class NobleBackend implements BlsBackend {
  readonly name = "noble" as const;

  secretKeyFromBytes(bytes: Uint8Array): SecretKey {
    return new NobleSecretKey(secretKeyScalar(bytes)) as unknown as SecretKey;
  }

  publicKeyOf(s: SecretKey): PublicKey {
    return G1Point.BASE.multiply(sk(s).scalar) as unknown as PublicKey;
  }

  sign(s: SecretKey, message: Uint8Array): Signature {
    return hashToG2(message, SIGNATURE_DST).multiply(sk(s).scalar) as unknown as Signature;
  }

  publicKeyFromBytes(bytes: Uint8Array): PublicKey {
    precheckPoint(bytes, "publicKey");
    try {
      return G1Point.fromBytes(bytes) as unknown as PublicKey;
    } catch (e) {
      throw new BlsError("BAD_PUBLIC_KEY", `invalid public key: ${(e as Error).message}`);
    }
  }

  publicKeyToBytes(p: PublicKey, form: PointForm = "compressed"): Uint8Array {
    return pk(p).toBytes(form === "compressed");
  }

  signatureFromBytes(bytes: Uint8Array): Signature {
    precheckPoint(bytes, "signature");
    try {
      return G2Point.fromBytes(bytes) as unknown as Signature;
    } catch (e) {
      throw new BlsError("BAD_SIGNATURE", `invalid signature: ${(e as Error).message}`);
    }
  }

  signatureToBytes(s: Signature, form: PointForm = "compressed"): Uint8Array {
    return sig(s).toBytes(form === "compressed");
  }

  signatureIsValid(s: Signature): boolean {
    const x = sig(s);
    if (x.is0()) return false;
    try {
      x.assertValidity();
      return true;
    } catch {
      return false;
    }
  }

  aggregatePublicKeys(pks: readonly PublicKey[]): PublicKey {
    if (pks.length === 0) throw new BlsError("EMPTY_INPUT", "cannot aggregate zero public keys");
    return pks.map(pk).reduce((a, b) => a.add(b)) as unknown as PublicKey;
  }

  aggregateSignatures(sigs: readonly Signature[]): Signature {
    if (sigs.length === 0) throw new BlsError("EMPTY_INPUT", "cannot aggregate zero signatures");
    return sigs.map(sig).reduce((a, b) => a.add(b)) as unknown as Signature;
  }

  verify(message: Uint8Array, p: PublicKey, s: Signature): boolean {
    return pairingProductIsOne([
      { g1: pk(p), g2: hashToG2(message, SIGNATURE_DST) },
      { g1: NEG_G1, g2: sig(s) },
    ]);
  }

  fastAggregateVerify(message: Uint8Array, pks: readonly PublicKey[], s: Signature): boolean {
    if (pks.length === 0) return false;
    return this.verify(message, this.aggregatePublicKeys(pks), s);
  }

  aggregateVerify(messages: readonly Uint8Array[], pks: readonly PublicKey[], s: Signature): boolean {
    if (messages.length !== pks.length) throw new BlsError("LENGTH_MISMATCH", `${messages.length} messages but ${pks.length} public keys`);
    if (pks.length === 0) return false;
    const pairs = pks.map((p, i) => ({ g1: pk(p), g2: hashToG2(messages[i]!, SIGNATURE_DST) }));
    pairs.push({ g1: NEG_G1, g2: sig(s) });
    return pairingProductIsOne(pairs);
  }

  verifyBatch(sets: readonly SignatureSet[]): boolean {
    if (sets.length === 0) return false;
    // Random linear combination grouped by message (see the herumi backend):
    //   Π_groups e(Σ_{i∈g} rᵢ·pkᵢ, H(m_g)) · e(−g₁, Σ_i rᵢ·sigᵢ) == 1
    const rand = new BigUint64Array(sets.length);
    webcrypto.getRandomValues(rand);
    const groups = new Map<string, { message: Uint8Array; pks: G1[]; rs: bigint[] }>();
    const sigs: G2[] = [];
    const rs: bigint[] = [];
    sets.forEach((set, i) => {
      const r = rand[i] === 0n ? 1n : rand[i]!;
      const key = Buffer.from(set.message.buffer, set.message.byteOffset, set.message.byteLength).toString("latin1");
      let g = groups.get(key);
      if (g === undefined) groups.set(key, (g = { message: set.message, pks: [], rs: [] }));
      g.pks.push(pk(set.publicKey));
      g.rs.push(r);
      sigs.push(sig(set.signature));
      rs.push(r);
    });
    const pairs = [...groups.values()].map((g) => ({ g1: pippenger(G1Point, g.pks, g.rs), g2: hashToG2(g.message, SIGNATURE_DST) }));
    pairs.push({ g1: NEG_G1, g2: pippenger(G2Point, sigs, rs) });
    return pairingProductIsOne(pairs);
  }

  async popProve(s: SecretKey): Promise<Signature> {
    const pkBytes = pk(this.publicKeyOf(s)).toBytes(true);
    return hashToG2(pkBytes, POP_DST).multiply(sk(s).scalar) as unknown as Signature;
  }

  async popVerify(p: PublicKey, proof: Signature): Promise<boolean> {
    const key = pk(p);
    return pairingProductIsOne([
      { g1: key, g2: hashToG2(key.toBytes(true), POP_DST) },
      { g1: NEG_G1, g2: sig(proof) },
    ]);
  }
}

function sk(x: SecretKey): NobleSecretKey {
  if (!(x instanceof NobleSecretKey)) throw new BlsError("WRONG_BACKEND", "secret key was not created by the noble backend");
  return x;
}
function pk(x: PublicKey): G1 {
  if (!(x instanceof G1Point)) throw new BlsError("WRONG_BACKEND", "public key was not created by the noble backend");
  return x as G1;
}
function sig(x: Signature): G2 {
  if (!(x instanceof G2Point)) throw new BlsError("WRONG_BACKEND", "signature was not created by the noble backend");
  return x as G2;
}

let instance: NobleBackend | undefined;
/** The noble backend (stateless; one shared instance). */
export function nobleBackend(): BlsBackend {
  instance ??= new NobleBackend();
  return instance;
}
