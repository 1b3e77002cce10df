/**
 * Ed25519 (RFC 8032) over node:crypto (OpenSSL), with raw 32-byte keys: the accounts module's signatures.
 *
 * node:crypto wants KeyObjects, and importing a raw public key (wrapped in SPKI DER) costs about 80 µs — as much as
 * the verification itself (about 74 µs) — so verifiers keep the imported keys of recent signers in a bounded LRU
 * (`Ed25519Verifier`): a busy account is imported once. @noble/curves is the test oracle, not a dependency here.
 */
import { createPrivateKey, createPublicKey, randomBytes, sign as nodeSign, verify as nodeVerify } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { QuireError } from "../util/errors.js";
import { bytesKey } from "../util/bytes.js";
import { LruCache } from "../util/lru.js";

export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SECRET_KEY_BYTES = 32;
export const ED25519_SIG_BYTES = 64;

// DER prefixes that wrap a raw key: SPKI for a public key, PKCS#8 for a 32-byte seed (RFC 8410).
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

export class Ed25519Error extends QuireError<"BAD_KEY"> {}

/** A key pair: the raw public key and the 32-byte secret seed it derives from. */
export interface Ed25519KeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

function wrap(prefix: Uint8Array, raw: Uint8Array): Buffer {
  const der = Buffer.allocUnsafe(prefix.length + raw.length);
  der.set(prefix, 0);
  der.set(raw, prefix.length);
  return der;
}

function privateKeyObject(secretKey: Uint8Array): KeyObject {
  if (secretKey.length !== ED25519_SECRET_KEY_BYTES) throw new Ed25519Error("BAD_KEY", `an Ed25519 secret key is ${ED25519_SECRET_KEY_BYTES} bytes`);
  return createPrivateKey({ key: wrap(PKCS8_PREFIX, secretKey), format: "der", type: "pkcs8" });
}

/** The raw public key of a secret seed. Throws Ed25519Error on a seed of the wrong length. */
export function ed25519PublicKey(secretKey: Uint8Array): Uint8Array {
  const spki = createPublicKey(privateKeyObject(secretKey)).export({ format: "der", type: "spki" });
  return new Uint8Array(spki.subarray(SPKI_PREFIX.length));
}

/** A fresh key pair from the OS's randomness. */
export function ed25519Keygen(): Ed25519KeyPair {
  const secretKey = new Uint8Array(randomBytes(ED25519_SECRET_KEY_BYTES));
  return { publicKey: ed25519PublicKey(secretKey), secretKey };
}

/** The 64-byte signature of `msg` by the seed `secretKey`. Throws Ed25519Error on a bad seed. */
export function ed25519Sign(secretKey: Uint8Array, msg: Uint8Array): Uint8Array {
  return new Uint8Array(nodeSign(null, msg, privateKeyObject(secretKey)));
}

/**
 * Verifies signatures, keeping the imported KeyObjects of the last `keyCacheSize` public keys. Never throws: a
 * public key OpenSSL refuses, or lengths that are wrong, verify as false.
 */
export class Ed25519Verifier {
  private readonly keys: LruCache<string, KeyObject | null>;

  /** 4,096 keys ≈ 1 MB of KeyObjects: a block's worth of distinct senders stays imported. */
  constructor(opts: { readonly keyCacheSize?: number } = {}) {
    this.keys = new LruCache(opts.keyCacheSize ?? 4096);
  }

  verify(publicKey: Uint8Array, msg: Uint8Array, signature: Uint8Array): boolean {
    if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES || signature.length !== ED25519_SIG_BYTES) return false;
    const key = this.key(publicKey);
    if (key === null) return false;
    try {
      return nodeVerify(null, msg, key, signature);
    } catch {
      return false;
    }
  }

  private key(publicKey: Uint8Array): KeyObject | null {
    const k = bytesKey(publicKey);
    const cached = this.keys.get(k);
    if (cached !== undefined) return cached;
    let key: KeyObject | null = null;
    try {
      key = createPublicKey({ key: wrap(SPKI_PREFIX, publicKey), format: "der", type: "spki" });
    } catch {
      key = null;
    }
    this.keys.set(k, key);
    return key;
  }
}

/** One-shot verification (no key cache). */
export function ed25519Verify(publicKey: Uint8Array, msg: Uint8Array, signature: Uint8Array): boolean {
  return new Ed25519Verifier({ keyCacheSize: 1 }).verify(publicKey, msg, signature);
}
