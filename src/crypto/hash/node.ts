import { hash } from "node:crypto";
import { DIGEST_LENGTH, checkDigestOutput, checkLevel, checkPrefix } from "../hasher.js";
import type { Hasher } from "../hasher.js";

/**
 * SHA-256 through node:crypto (OpenSSL), one `crypto.hash` call per message. OpenSSL is fastest per byte (it
 * uses the CPU's SHA extensions) but each call costs a trip into C++, which dominates for the small messages of a
 * Merkle tree. A prefixed message is assembled in a reused scratch buffer so it is still one call.
 */
export class NodeHasher implements Hasher {
  readonly backend = "node" as const;
  private scratch = new Uint8Array(65);

  digest(data: Uint8Array, prefix?: number): Uint8Array {
    const out = new Uint8Array(DIGEST_LENGTH);
    this.digestInto(data, out, 0, prefix);
    return out;
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
    // In place is safe: chunk i is hashed (copied into OpenSSL) before digest i overwrites bytes at or before it.
    for (let i = 0; i < n; i++) out.set(this.hashPrefixed(input.subarray(64 * i, 64 * i + 64), p), i * DIGEST_LENGTH);
  }

  private hashPrefixed(data: Uint8Array, prefix: number): Uint8Array {
    if (prefix < 0) return hash("sha256", data, "buffer");
    const need = data.length + 1;
    if (this.scratch.length < need) this.scratch = new Uint8Array(Math.max(need, 2 * this.scratch.length));
    this.scratch[0] = prefix;
    this.scratch.set(data, 1);
    return hash("sha256", this.scratch.subarray(0, need), "buffer");
  }
}
