/**
 * InsecureTestScheme — a FAST, DELIBERATELY INSECURE stand-in for BLS, for the simulator only.
 *
 * Every validator's "secret" is derived from a public seed, and verifying a signature means recomputing it from that
 * secret: anyone holding this object can sign for everyone. It exists so that large seed sweeps do not pay ≈ 0.9 ms
 * per BLS verification; it must never be wired into a node (only src/sim/ and tests import it).
 *
 *   secret(i)      = SHA-256("QUIRE-INSECURE-TEST-SCHEME" ‖ seed (u32 BE) ‖ i (u32 BE))
 *   tag(i, m)      = SHA-256(secret(i) ‖ m)                       (32 bytes)
 *   signature      = tag ‖ 160 zero bytes                         (192 bytes: a vote's or timeout's wire size)
 *   aggregate(S)   = d ‖ d ‖ d                                    (96 bytes: a certificate's aggregate size) with
 *     d = SHA-256("AGG" ‖ for each signer in ascending order: index (u32 BE) ‖ tag) when every part has the signature
 *     form, and SHA-256("BAD" ‖ …) — which never verifies — when one does not
 *
  * It has the properties the protocol logic relies on — a signature verifies only for its signer and message, an
 * aggregate only for exactly its signer set and messages — and is deterministic, so runs replay exactly.
 */
import { hash } from "node:crypto";
import { bytesEqual, utf8 } from "../util/bytes.js";
import type { SignatureScheme } from "../consensus/scheme.js";
import type { ConsensusSigner } from "../consensus/signing.js";
import { SIGNATURE_BYTES, VOTE_SIGNATURE_BYTES } from "../domain/limits.js";

const KEY_DOMAIN = utf8("QUIRE-INSECURE-TEST-SCHEME");
const AGG_DOMAIN = utf8("AGG");
const BAD_DOMAIN = utf8("BAD");

// crypto.hash (one-shot) costs about half of createHash().update().digest() on these 60-100 byte inputs.
function sha256(a: Uint8Array, b: Uint8Array): Uint8Array {
  const buf = new Uint8Array(a.length + b.length);
  buf.set(a, 0);
  buf.set(b, a.length);
  return hash("sha256", buf, "buffer");
}

/** `d` three times: the 96-byte aggregate. */
function triple(d: Uint8Array): Uint8Array {
  const out = new Uint8Array(SIGNATURE_BYTES);
  out.set(d, 0);
  out.set(d, 32);
  out.set(d, 64);
  return out;
}

/** `d` followed by zeros up to `size` bytes. */
function padded(d: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(d, 0);
  return out;
}

/** Whether bytes 32.. of a signature are zero (the form every signature of this scheme has). */
function zeroTail(sig: Uint8Array): boolean {
  for (let i = 32; i < sig.length; i++) if (sig[i] !== 0) return false;
  return true;
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
    return { index, sign: (message) => padded(sha256(secret, message), VOTE_SIGNATURE_BYTES) };
  }

  verify(signer: number, message: Uint8Array, signature: Uint8Array): boolean {
    const secret = this.secretOf(signer);
    return secret !== undefined && signature.length === VOTE_SIGNATURE_BYTES && zeroTail(signature) && bytesEqual(signature.subarray(0, 32), sha256(secret, message));
  }

  aggregate(parts: readonly { readonly signer: number; readonly signature: Uint8Array }[]): Uint8Array {
    // Only the 32-byte tags enter the digest (a sixth of the bytes: this is the simulator's hottest hash), so a part
    // without the signature form must poison the aggregate instead, or a corrupted tail would go unnoticed.
    let wellFormed = true;
    const buf = new Uint8Array(AGG_DOMAIN.length + parts.length * 36);
    const dv = new DataView(buf.buffer);
    buf.set(AGG_DOMAIN, 0);
    let off = AGG_DOMAIN.length;
    for (const p of parts) {
      if (p.signature.length !== VOTE_SIGNATURE_BYTES || !zeroTail(p.signature)) wellFormed = false;
      dv.setUint32(off, p.signer);
      buf.set(p.signature.subarray(0, 32), off + 4);
      off += 36;
    }
    if (!wellFormed) buf.set(BAD_DOMAIN, 0);
    return triple(hash("sha256", buf, "buffer"));
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
      parts.push({ signer: s, signature: padded(sha256(secret, messages[i]!), VOTE_SIGNATURE_BYTES) });
    }
    return bytesEqual(this.aggregate(parts), aggregate);
  }

  private secretOf(i: number): Uint8Array | undefined {
    return Number.isInteger(i) && i >= 0 ? this.secrets[i] : undefined;
  }
}
