/**
 * InsecureTestScheme — a FAST, DELIBERATELY INSECURE stand-in for BLS, for the simulator only.
 *
 * Every validator's "secret" is derived from a public seed, and verifying a signature means recomputing it from that
 * secret: anyone holding this object can sign for everyone. It exists so that large seed sweeps do not pay ≈ 0.9 ms
 * per BLS verification; it must never be wired into a node (only src/sim/ and tests import it).
 *
 *   secret(i)      = SHA-256("QUIRE-INSECURE-TEST-SCHEME" ‖ seed (u32 BE) ‖ i (u32 BE))
 *   tag(i, m)      = SHA-256(secret(i) ‖ m)                       (32 bytes)
 *   signature      = tag repeated 6 times                          (192 bytes: a vote's or timeout's wire size)
 *   aggregate(S)   = d ‖ d ‖ d with d = SHA-256("AGG" ‖ for each signer in ascending order: index (u32 BE) ‖ signature)
 *                                                                  (96 bytes: a certificate's aggregate size)
 *
 * It has the properties the protocol logic relies on — a signature verifies only for its signer and message, an
 * aggregate only for exactly its signer set and messages — and is deterministic, so runs replay exactly.
 */
import { hash } from "node:crypto";
import { bytesEqual, utf8 } from "../util/bytes.js";
import type { SignatureScheme } from "../consensus/scheme.js";
import type { ConsensusSigner } from "../consensus/signing.js";
import { SIGNATURE_BYTES, VOTE_SIGNATURE_BYTES } from "../wire/limits.js";

const KEY_DOMAIN = utf8("QUIRE-INSECURE-TEST-SCHEME");
const AGG_DOMAIN = utf8("AGG");

// crypto.hash (one-shot) costs about half of createHash().update().digest() on these 60-100 byte inputs.
function sha256(a: Uint8Array, b: Uint8Array): Uint8Array {
  const buf = new Uint8Array(a.length + b.length);
  buf.set(a, 0);
  buf.set(b, a.length);
  return hash("sha256", buf, "buffer");
}

/** `d` repeated to fill `size` bytes (a multiple of 32). */
function repeat(d: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let off = 0; off < size; off += 32) out.set(d, off);
  return out;
}

export class InsecureTestScheme implements SignatureScheme {
  readonly name = "insecure-test";
  private readonly secrets: Uint8Array[];

  constructor(
    readonly validatorCount: number,
    seed = 0,
  ) {
    this.secrets = Array.from({ length: validatorCount }, (_, i) => {
      const id = new Uint8Array(8);
      new DataView(id.buffer).setUint32(0, seed >>> 0);
      new DataView(id.buffer).setUint32(4, i);
      return sha256(KEY_DOMAIN, id);
    });
  }

  /** The signer of validator `index` (anyone can make one: this scheme is insecure by design). */
  signer(index: number): ConsensusSigner {
    const secret = this.secretOf(index);
    if (secret === undefined) throw new RangeError(`no validator ${index}`);
    return { index, sign: (message) => repeat(sha256(secret, message), VOTE_SIGNATURE_BYTES) };
  }

  verify(signer: number, message: Uint8Array, signature: Uint8Array): boolean {
    const secret = this.secretOf(signer);
    return secret !== undefined && signature.length === VOTE_SIGNATURE_BYTES && bytesEqual(signature, repeat(sha256(secret, message), VOTE_SIGNATURE_BYTES));
  }

  aggregate(parts: readonly { readonly signer: number; readonly signature: Uint8Array }[]): Uint8Array {
    const buf = new Uint8Array(AGG_DOMAIN.length + parts.length * (4 + VOTE_SIGNATURE_BYTES));
    const dv = new DataView(buf.buffer);
    buf.set(AGG_DOMAIN, 0);
    let off = AGG_DOMAIN.length;
    for (const p of parts) {
      dv.setUint32(off, p.signer);
      // A part of another length cannot be a signature of this scheme: its bytes still enter the digest (zero-padded
      // or cut), so the aggregate differs from any valid one.
      buf.set(p.signature.subarray(0, VOTE_SIGNATURE_BYTES), off + 4);
      off += 4 + VOTE_SIGNATURE_BYTES;
    }
    return repeat(hash("sha256", buf, "buffer"), SIGNATURE_BYTES);
  }

  verifyAggregate(signers: readonly number[], message: Uint8Array, aggregate: Uint8Array): boolean {
    return this.verifyAggregateMulti(
      signers,
      signers.map(() => message),
      aggregate,
    );
  }

  verifyAggregateMulti(signers: readonly number[], messages: readonly Uint8Array[], aggregate: Uint8Array): boolean {
    if (signers.length === 0 || signers.length !== messages.length) return false;
    const parts: { signer: number; signature: Uint8Array }[] = [];
    for (let i = 0; i < signers.length; i++) {
      const s = signers[i]!;
      const secret = this.secretOf(s);
      if (secret === undefined || (i > 0 && s <= signers[i - 1]!)) return false;
      parts.push({ signer: s, signature: repeat(sha256(secret, messages[i]!), VOTE_SIGNATURE_BYTES) });
    }
    return bytesEqual(this.aggregate(parts), aggregate);
  }

  private secretOf(i: number): Uint8Array | undefined {
    return Number.isInteger(i) && i >= 0 ? this.secrets[i] : undefined;
  }
}
