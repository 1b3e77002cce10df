import { BlsError } from "./errors.js";
import type { PointForm } from "./encoding.js";

/** The BLS12-381 implementations Quire can run. */
export type BlsBackendName = "blst" | "noble" | "herumi";
export const BLS_BACKEND_NAMES: readonly BlsBackendName[] = ["blst", "noble", "herumi"];

// Opaque handles: each backend hands out its own native objects under these brands. Mixing backends is a
// programming error that the backends detect (`WRONG_BACKEND`) rather than a type the compiler can rule out.
declare const secretKeyBrand: unique symbol;
declare const publicKeyBrand: unique symbol;
declare const signatureBrand: unique symbol;
/** A secret key held by one backend. Has no byte accessor: secrets only enter through `secretKeyFromBytes`. */
export type SecretKey = { readonly [secretKeyBrand]: true };
/** A G1 public key held by one backend: on the curve, in G1, not the identity (checked when it was made). */
export type PublicKey = { readonly [publicKeyBrand]: true };
/** A G2 signature held by one backend. See `signatureFromBytes` for when its subgroup membership is checked. */
export type Signature = { readonly [signatureBrand]: true };

/** One (message, public key, signature) triple of a batch verification. */
export interface SignatureSet {
  message: Uint8Array;
  publicKey: PublicKey;
  signature: Signature;
}

/**
 * Ethereum's BLS ciphersuite `BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_` (48-byte G1 public keys, 96-byte G2
 * signatures, proof of possession). Every implementation passes the same test suite and produces identical bytes.
 *
 * Validation contract:
 * - public keys are always fully validated when parsed (on curve, in G1, not the identity): validator keys are
 *   parsed once, so this costs nothing on hot paths;
 * - signatures are parsed with `validate: true` by default (subgroup check, identity refused). With
 *   `validate: false` a backend MAY defer the subgroup check, and every verify* call then performs it on the
 *   signature it checks (which, for an aggregate, is the one check that matters: see qc.ts). A verify* result is
 *   therefore correct whichever way its signature was parsed;
 * - the caller must only aggregate public keys that come with a verified proof of possession (rogue-key attacks);
 *   `fastAggregateVerify` relies on it, as the POP scheme specifies.
 */
export interface BlsBackend {
  readonly name: BlsBackendName;

  /** 32-byte big-endian secret key in [1, r). Throws `BAD_SECRET_KEY`. */
  secretKeyFromBytes(bytes: Uint8Array): SecretKey;
  publicKeyOf(sk: SecretKey): PublicKey;
  /** Signature over `message` (any length) with the signing DST. */
  sign(sk: SecretKey, message: Uint8Array): Signature;

  /** Parses 48 (compressed) or 96 (uncompressed) bytes and fully validates. Throws `BAD_PUBLIC_KEY`. */
  publicKeyFromBytes(bytes: Uint8Array): PublicKey;
  publicKeyToBytes(pk: PublicKey, form?: PointForm): Uint8Array;
  /** Parses 96 (compressed) or 192 (uncompressed) bytes. Throws `BAD_SIGNATURE`. See the validation contract above. */
  signatureFromBytes(bytes: Uint8Array, opts?: { validate?: boolean }): Signature;
  signatureToBytes(sig: Signature, form?: PointForm): Uint8Array;
  /** True when `sig` is in G2 and not the identity. */
  signatureIsValid(sig: Signature): boolean;

  /** Sum of the keys. Throws `EMPTY_INPUT` for none. */
  aggregatePublicKeys(pks: readonly PublicKey[]): PublicKey;
  /** Sum of the signatures (no check; the verify call that follows does it). Throws `EMPTY_INPUT` for none. */
  aggregateSignatures(sigs: readonly Signature[]): Signature;

  verify(message: Uint8Array, pk: PublicKey, sig: Signature): boolean;
  /** All `pks` signed the same `message` and `sig` is their aggregate. False for an empty key list. */
  fastAggregateVerify(message: Uint8Array, pks: readonly PublicKey[], sig: Signature): boolean;
  /** `pks[i]` signed `messages[i]` and `sig` is the aggregate (one multi-pairing). False when empty; `LENGTH_MISMATCH` when the arrays differ. */
  aggregateVerify(messages: readonly Uint8Array[], pks: readonly PublicKey[], sig: Signature): boolean;
  /**
   * True when every set verifies, checked together with fresh random 64-bit scalars (random linear combination):
   * a batch containing an invalid set passes with probability at most 2^-64. False for an empty batch.
   */
  verifyBatch(sets: readonly SignatureSet[]): boolean;

  /** IETF PopProve: the secret key's signature over its own compressed public key with the POP DST. */
  popProve(sk: SecretKey): Promise<Signature>;
  /** IETF PopVerify. Asynchronous because a backend may need to load a helper to hash with the POP DST. */
  popVerify(pk: PublicKey, proof: Signature): Promise<boolean>;
}

/**
 * Loads a backend (once per thread; later calls return the same instance). blst is native and the default;
 * noble is pure JavaScript; herumi is WebAssembly.
 */
export async function loadBlsBackend(name: BlsBackendName = "blst"): Promise<BlsBackend> {
  switch (name) {
    case "blst":
      return (await import("./backends/blst.js")).blstBackend();
    case "noble":
      return (await import("./backends/noble.js")).nobleBackend();
    case "herumi":
      return (await import("./backends/herumi.js")).herumiBackend();
    default:
      throw new BlsError("UNKNOWN_BACKEND", `unknown BLS backend "${String(name)}" (expected ${BLS_BACKEND_NAMES.join("|")})`);
  }
}
