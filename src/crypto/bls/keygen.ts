import { extract, expand } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { BlsError } from "./errors.js";
import { CURVE_ORDER } from "./constants.js";
import { scalarToBytes } from "./encoding.js";

const SALT = new TextEncoder().encode("BLS-SIG-KEYGEN-SALT-");
// L = ceil((3 * ceil(log2(r))) / 16) = 48 output bytes, so the reduction mod r is statistically uniform.
const L = 48;

/**
 * IETF KeyGen (draft-irtf-cfrg-bls-signature-05 §2.3), which is EIP-2333's `HKDF_mod_r` — so a key derived here
 * equals `derive_master_SK(ikm)` of EIP-2333 and blst's `SecretKey.fromKeygen(ikm)`. It is implemented once, in
 * TypeScript, and its 32-byte output is fed to every backend, so all backends agree on keys by construction.
 *
 * `ikm` must be at least 32 bytes of secret randomness. Returns the 32-byte big-endian secret key.
 */
export function keyGen(ikm: Uint8Array, keyInfo: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (ikm.length < 32) throw new BlsError("BAD_SEED", `key material must be at least 32 bytes, got ${ikm.length}`);
  // IKM || I2OSP(0, 1) and key_info || I2OSP(L, 2)
  const ikmPadded = new Uint8Array(ikm.length + 1);
  ikmPadded.set(ikm);
  const info = new Uint8Array(keyInfo.length + 2);
  info.set(keyInfo);
  info[keyInfo.length] = L >> 8;
  info[keyInfo.length + 1] = L & 0xff;
  let salt: Uint8Array = SALT;
  for (;;) {
    salt = sha256(salt);
    const okm = expand(sha256, extract(sha256, ikmPadded, salt), info, L);
    let x = 0n;
    for (let i = 0; i < okm.length; i++) x = (x << 8n) | BigInt(okm[i]!);
    okm.fill(0);
    const sk = x % CURVE_ORDER;
    // sk = 0 happens with probability ~2^-255; the spec re-hashes the salt and tries again.
    if (sk !== 0n) {
      ikmPadded.fill(0);
      return scalarToBytes(sk);
    }
  }
}
