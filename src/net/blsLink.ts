/**
 * Adapters from the BLS module (src/crypto/bls) to the two things the link handshake needs, so the node can hand
 * its validator key and its verifier (pool or main thread) to `UwsTransport` as modules.
 */
import type { BlsBackend, PublicKey, SecretKey } from "../crypto/bls/backend.js";
import type { BlsVerifier } from "../crypto/bls/interface.js";
import type { LinkIdentity, VerifyFn } from "./handshake.js";

/** The validator key as the link identity: 48-byte compressed public key, 96-byte compressed signatures (wire sizes). */
export function blsLinkIdentity(backend: BlsBackend, key: { secretKey: SecretKey; publicKey: PublicKey }): LinkIdentity {
  return {
    publicKey: backend.publicKeyToBytes(key.publicKey, "compressed"),
    sign: (message) => backend.signatureToBytes(backend.sign(key.secretKey, message), "compressed"),
  };
}

/**
 * Handshake proofs checked by the node's verifier, as priority jobs (a link waits on each). A verifier that rejects
 * (closed, queue full) makes `verify` reject, which the handshake counts as a bad signature and the dialer retries.
 */
export function blsLinkVerify(verifier: BlsVerifier): VerifyFn {
  return (publicKey, message, signature) => verifier.verify({ publicKey, message, signature }, { priority: true });
}
