// Hand-built malformed and off-subgroup BLS12-381 points for negative tests. The curve arithmetic comes from
// @noble/curves' field and point primitives (an independent implementation from blst and herumi); the encodings
// are written out here byte by byte following the ZCash/IETF serialisation, so no backend's encoder is trusted.
import { bls12_381 } from "@noble/curves/bls12-381.js";
import type { SeededRng } from "../../src/util/rng.js";

const { Fp, Fp2, Fr } = bls12_381.fields;
type Fp2 = ReturnType<typeof Fp2.create>;
const P = Fp.ORDER;
const HALF = (P - 1n) / 2n;

function be48(x: bigint): Uint8Array {
  const out = new Uint8Array(48);
  for (let i = 47; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

function randomFp(rng: SeededRng): bigint {
  let x = 0n;
  for (const b of rng.bytes(48)) x = (x << 8n) | BigInt(b);
  return x % P;
}

function trySqrt<T>(f: (v: T) => T, v: T): T | undefined {
  try {
    return f(v);
  } catch {
    return undefined;
  }
}

/** Serialises an affine G1 point (x, y). */
export function encodeG1(x: bigint, y: bigint, compressed: boolean): Uint8Array {
  if (!compressed) {
    const out = new Uint8Array(96);
    out.set(be48(x), 0);
    out.set(be48(y), 48);
    return out;
  }
  const out = be48(x);
  out[0]! |= 0x80 | (y > HALF ? 0x20 : 0);
  return out;
}

/** Serialises an affine G2 point (x, y) with Fp2 elements as c1 ‖ c0. */
export function encodeG2(x: Fp2, y: Fp2, compressed: boolean): Uint8Array {
  const xBytes = new Uint8Array(96);
  xBytes.set(be48(x.c1), 0);
  xBytes.set(be48(x.c0), 48);
  if (!compressed) {
    const out = new Uint8Array(192);
    out.set(xBytes, 0);
    out.set(be48(y.c1), 96);
    out.set(be48(y.c0), 144);
    return out;
  }
  const big = y.c1 !== 0n ? y.c1 > HALF : y.c0 > HALF;
  xBytes[0]! |= 0x80 | (big ? 0x20 : 0);
  return xBytes;
}

/** A point on y² = x³ + 4 that is not in G1 (the cofactor is ≈ 2^126, so a random curve point almost never is). */
export function g1OffSubgroup(rng: SeededRng): { x: bigint; y: bigint } {
  for (;;) {
    const x = randomFp(rng);
    const y = trySqrt((v: bigint) => Fp.sqrt(v), Fp.add(Fp.pow(x, 3n), 4n));
    if (y === undefined) continue;
    if (!bls12_381.G1.Point.fromAffine({ x, y }).isTorsionFree()) return { x, y };
  }
}

/** An x for which x³ + 4 has no square root: no G1 point has it, so its compressed form must be rejected. */
export function g1NoPointX(rng: SeededRng): bigint {
  for (;;) {
    const x = randomFp(rng);
    if (trySqrt((v: bigint) => Fp.sqrt(v), Fp.add(Fp.pow(x, 3n), 4n)) === undefined) return x;
  }
}

const B2 = Fp2.create({ c0: 4n, c1: 4n });

/** A point on the twist y² = x³ + 4(1 + i) that is not in G2. */
export function g2OffSubgroup(rng: SeededRng): { x: Fp2; y: Fp2 } {
  for (;;) {
    const x = Fp2.create({ c0: randomFp(rng), c1: randomFp(rng) });
    const y = trySqrt((v: Fp2) => Fp2.sqrt(v), Fp2.add(Fp2.pow(x, 3n), B2));
    if (y === undefined) continue;
    if (!bls12_381.G2.Point.fromAffine({ x, y }).isTorsionFree()) return { x, y };
  }
}

/** An x in Fp2 with no point on the twist. */
export function g2NoPointX(rng: SeededRng): Fp2 {
  for (;;) {
    const x = Fp2.create({ c0: randomFp(rng), c1: randomFp(rng) });
    if (trySqrt((v: Fp2) => Fp2.sqrt(v), Fp2.add(Fp2.pow(x, 3n), B2)) === undefined) return x;
  }
}

/**
 * `sig + T` where T = [r]·Q for a random twist point Q: T is a non-zero torsion point outside G2, so the sum is on the
 * curve but not in G2. This is the signature a subgroup-check bypass would have to accept.
 */
export function g2PlusTorsion(rng: SeededRng, sigUncompressed: Uint8Array): Uint8Array {
  const q = g2OffSubgroup(rng);
  const Q = bls12_381.G2.Point.fromAffine(q);
  const T = Q.multiplyUnsafe(Fr.ORDER - 1n).add(Q);
  const S = bls12_381.G2.Point.fromBytes(sigUncompressed);
  const sum = S.add(T).toAffine();
  return encodeG2(sum.x, sum.y, false);
}

/** The field modulus p as a 48-byte big-endian string (an x coordinate that is not canonical). */
export function fieldModulusBytes(): Uint8Array {
  return be48(P);
}
