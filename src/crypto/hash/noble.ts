import { sha256 } from "@noble/hashes/sha2.js";
import { DIGEST_LENGTH, checkDigestOutput, checkLevel, checkPrefix } from "../hasher.js";
import type { Hasher } from "../hasher.js";

/** SHA-256 in pure JavaScript (@noble/hashes, audited): the portable reference backend. */
export class NobleHasher implements Hasher {
  readonly backend = "noble" as const;
  private readonly prefixByte = new Uint8Array(1);

  digest(data: Uint8Array, prefix?: number): Uint8Array {
    const p = checkPrefix(prefix);
    return this.hashPrefixed(data, p);
  }

  digestInto(data: Uint8Array, out: Uint8Array, offset = 0, prefix?: number): void {
    const p = checkPrefix(prefix);
    checkDigestOutput(out, offset);
    out.set(this.hashPrefixed(data, p), offset);
  }

  digestMany(messages: readonly Uint8Array[], prefix?: number): Uint8Array {
    const p = checkPrefix(prefix);
    const out = new Uint8Array(messages.length * DIGEST_LENGTH);
    for (let i = 0; i < messages.length; i++) out.set(this.hashPrefixed(messages[i]!, p), i * DIGEST_LENGTH);
    return out;
  }

  digestLevel(input: Uint8Array, out: Uint8Array, prefix?: number): void {
    const p = checkPrefix(prefix);
    const n = checkLevel(input, out);
    for (let i = 0; i < n; i++) out.set(this.hashPrefixed(input.subarray(64 * i, 64 * i + 64), p), i * DIGEST_LENGTH);
  }

  private hashPrefixed(data: Uint8Array, prefix: number): Uint8Array {
    if (prefix < 0) return sha256(data);
    this.prefixByte[0] = prefix;
    return sha256.create().update(this.prefixByte).update(data).digest();
  }
}
