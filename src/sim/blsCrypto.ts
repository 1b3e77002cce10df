/**
 * Real BLS for simulated runs: the node's `BlsScheme` (src/consensus/adapters/blsScheme.ts) with keys derived from
 * the run's seed (EIP-2333 KeyGen over SHA-256("QUIRE-SIM-BLS" ‖ seed ‖ index)). A verification costs ≈ 0.9 ms with
 * blst, ~1,000x the test scheme, so sweeps run only a share of their seeds with it (`quire sim --bls-every K`).
 */
import { hash } from "node:crypto";
import type { BlsBackend } from "../crypto/bls/backend.js";
import { keyGen } from "../crypto/bls/keygen.js";
import { merkleRoot } from "../crypto/merkle.js";
import { BlsScheme, blsSigner } from "../consensus/adapters/blsScheme.js";
import { bitmapSignerSets } from "../consensus/adapters/bitmapSignerSets.js";
import { concatBytes, utf8 } from "../util/bytes.js";
import type { SimCrypto } from "./simulation.js";

const IKM_DOMAIN = utf8("QUIRE-SIM-BLS");

/** The run's crypto and the validators' public keys (48-byte compressed), in index order. */
export function blsSimCrypto(backend: BlsBackend, validators: number, seed: number): SimCrypto & { readonly publicKeys: readonly Uint8Array[] } {
  const secrets = Array.from({ length: validators }, (_, i) => {
    const id = new Uint8Array(8);
    new DataView(id.buffer).setUint32(0, seed >>> 0);
    new DataView(id.buffer).setUint32(4, i);
    return backend.secretKeyFromBytes(keyGen(hash("sha256", concatBytes(IKM_DOMAIN, id), "buffer")));
  });
  const publicKeys = secrets.map((sk) => backend.publicKeyToBytes(backend.publicKeyOf(sk)));
  const scheme = new BlsScheme(backend, publicKeys);
  return {
    publicKeys,
    scheme,
    signer: (i) => blsSigner(backend, secrets[i]!, i),
    signerSets: bitmapSignerSets(),
    txRoot: (txs) => merkleRoot(txs),
    sha256: (data) => hash("sha256", data, "buffer"),
  };
}
