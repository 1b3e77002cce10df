/**
 * BLS12-381 for consensus certificates, over the crypto layer (src/crypto/bls): the `SignatureScheme` that
 * `SchemeCertificates` builds and checks QCs and TCs with in the node, and in the share of simulator runs that use
 * real BLS — the same certificate, validation and core code as the fast test scheme, only the primitive differs.
 *
 * - A single vote or timeout is checked on its own. Its signature travels uncompressed (192 bytes, src/wire/limits.ts):
 *   parsing is an on-curve check, and the verify call makes the subgroup check.
 * - QCs and TCs go through the crypto layer's `verifyQc` / `verifyTc` (many QCs at once: `verifyQcs`, one batch
 *   check): the signer set's aggregate public key comes from the `ValidatorKeys` cache, the aggregate signature is
 *   parsed once and subgroup-checked by the verify call, and a TC is one multi-pairing over its distinct messages
 *   (signers grouped by high-QC view).
 * - Aggregating parses without the subgroup check: the parts are either votes validation verified one by one, or (in
 *   optimistic mode) the aggregate is verified right after, with the subgroup check on the aggregate — the argument
 *   in src/crypto/bls/qc.ts.
 *
 * Validator keys must come with verified proofs of possession (genesis does that), which same-message aggregation
 * relies on against rogue keys.
 */
import type { BlsBackend, SecretKey } from "../../crypto/bls/backend.js";
import { BlsError } from "../../crypto/bls/errors.js";
import { ValidatorKeys, verifyQc, verifyQcs, verifyTc } from "../../crypto/bls/qc.js";
import type { QcToVerify } from "../../crypto/bls/qc.js";
import { Bitset } from "../../crypto/bitmap/index.js";
import type { AggregateToVerify, SignatureScheme } from "../scheme.js";
import type { ConsensusSigner } from "../signing.js";

export class BlsScheme implements SignatureScheme {
  readonly name: string;
  /**
   * The validator keys with the crypto layer's quorum check disabled (quorum 1): bisection verifies subsets below the
   * quorum, and `SchemeCertificates` checks the quorum of whole certificates itself.
   */
  readonly keys: ValidatorKeys;

  /**
   * `publicKeys[i]` is validator i's key (48 bytes compressed); each is fully validated here. `aggregateCacheSize`:
   * signer sets whose aggregate key is kept (`ValidatorKeys`' default; 0 measures cold verification in bench bls).
   */
  constructor(
    private readonly backend: BlsBackend,
    publicKeys: readonly Uint8Array[],
    opts: { readonly aggregateCacheSize?: number } = {},
  ) {
    this.keys = ValidatorKeys.fromBytes(backend, publicKeys, { quorum: 1, aggregateCacheSize: opts.aggregateCacheSize });
    this.name = `bls-${backend.name}`;
  }

  verify(signer: number, message: Uint8Array, signature: Uint8Array): boolean {
    const pk = Number.isInteger(signer) && signer >= 0 ? this.keys.publicKeys[signer] : undefined;
    if (pk === undefined) return false;
    try {
      // Parsed without the subgroup check: verify performs it on the signature it checks (backend contract).
      return this.backend.verify(message, pk, this.backend.signatureFromBytes(signature, { validate: false }));
    } catch (e) {
      if (e instanceof BlsError) return false; // not a point, not in G2, the identity: simply invalid
      throw e;
    }
  }

  aggregate(parts: readonly { readonly signer: number; readonly signature: Uint8Array }[]): Uint8Array {
    try {
      return this.backend.signatureToBytes(this.backend.aggregateSignatures(parts.map((p) => this.backend.signatureFromBytes(p.signature, { validate: false }))));
    } catch (e) {
      // A part that is not even a curve point (possible in optimistic mode): an aggregate that can never verify, so
      // the collector bisects and names it.
      if (e instanceof BlsError) return new Uint8Array(96);
      throw e;
    }
  }

  verifyAggregate(signers: readonly number[], message: Uint8Array, aggregate: Uint8Array): boolean {
    const set = this.signerSet(signers);
    return set !== null && verifyQc(this.keys, message, { signers: set, signature: aggregate }).ok;
  }

  verifyAggregates(items: readonly AggregateToVerify[]): boolean[] {
    const valid: boolean[] = [];
    const batch: QcToVerify[] = [];
    const at: number[] = [];
    for (const item of items) {
      const set = this.signerSet(item.signers);
      valid.push(false);
      if (set === null) continue;
      at.push(valid.length - 1);
      batch.push({ message: item.message, qc: { signers: set, signature: item.aggregate } });
    }
    verifyQcs(this.keys, batch).forEach((v, k) => (valid[at[k]!] = v.ok));
    return valid;
  }

  verifyAggregateMulti(signers: readonly number[], messages: readonly Uint8Array[], aggregate: Uint8Array): boolean {
    const set = this.signerSet(signers);
    return set !== null && messages.length === signers.length && verifyTc(this.keys, { signers: set, messages, signature: aggregate }).ok;
  }

  /** The bitmap of ascending, distinct, in-range signers (null otherwise: the certificate is malformed). */
  private signerSet(signers: readonly number[]): Bitset | null {
    for (let i = 0; i < signers.length; i++) {
      const s = signers[i]!;
      if (!Number.isInteger(s) || s < 0 || s >= this.keys.size || (i > 0 && s <= signers[i - 1]!)) return null;
    }
    return Bitset.fromIndices(this.keys.size, signers);
  }
}

/** Signs votes and timeouts with one validator's BLS secret key, in their wire form (192 bytes uncompressed). */
export function blsSigner(backend: BlsBackend, secretKey: SecretKey, index: number): ConsensusSigner {
  return { index, sign: (message) => backend.signatureToBytes(backend.sign(secretKey, message), "uncompressed") };
}
