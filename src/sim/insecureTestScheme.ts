/**
 * InsecureTestScheme — a FAST, DELIBERATELY INSECURE stand-in for BLS, for the simulator only.
 *
 * Every validator's "secret" is derived from a public seed, and verifying a signature means recomputing it from that
 * secret: anyone holding this object can sign for everyone. It exists so that large seed sweeps do not pay ≈ 0.9 ms
 * per BLS verification; it must never be wired into a node (only src/sim/ and tests import it).
 *
 *   secret(i)      = SHA-256("QUIRE-INSECURE-TEST-SCHEME" ‖ seed (u32 BE) ‖ i (u32 BE))
 *   tag(i, m)      = SHA-256(secret(i) ‖ m)                       (32 bytes)
 *   signature      = tag ‖ tag ‖ tag                               (96 bytes: the wire's signature size)
 *   aggregate(S)   = d ‖ d ‖ d with d = SHA-256("AGG" ‖ for each signer in ascending order: index (u32 BE) ‖ signature)
 *
 * It has the properties the protocol logic relies on — a signature verifies only for its signer and message, an
 * aggregate only for exactly its signer set and messages — and is deterministic, so runs replay exactly.
 */
import { hash } from "node:crypto";
import { bytesEqual, utf8 } from "../util/bytes.js";
import type { SignatureScheme } from "../consensus/scheme.js";
import type { ConsensusSigner } from "../consensus/signing.js";
import { SIGNATURE_BYTES } from "../wire/limits.js";

const KEY_DOMAIN = utf8("QUIRE-INSECURE-TEST-SCHEME");
const AGG_DOMAIN = utf8("AGG");

// crypto.hash (one-shot) costs about half of createHash().update().digest() on these 60-100 byte inputs.
function sha256(a: Uint8Array, b: Uint8Array): Uint8Array {
  const buf = new Uint8Array(a.length + b.length);
  buf.set(a, 0);
  buf.set(b, a.length);
  return hash("sha256", buf, "buffer");
}

function triple(d: Uint8Array): Uint8Array {
  const out = new Uint8Array(SIGNATURE_BYTES);
  out.set(d, 0);
  out.set(d, 32);
  out.set(d, 64);
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
    return { index, sign: (message) => triple(sha256(secret, message)) };
  }

  verify(signer: number, message: Uint8Array, signature: Uint8Array): boolean {
    const secret = this.secretOf(signer);
    return secret !== undefined && signature.length === SIGNATURE_BYTES && bytesEqual(signature, triple(sha256(secret, message)));
  }

  aggregate(parts: readonly { readonly signer: number; readonly signature: Uint8Array }[]): Uint8Array {
    const buf = new Uint8Array(AGG_DOMAIN.length + parts.length * (4 + SIGNATURE_BYTES));
    const dv = new DataView(buf.buffer);
    buf.set(AGG_DOMAIN, 0);
    let off = AGG_DOMAIN.length;
    for (const p of parts) {
      dv.setUint32(off, p.signer);
      buf.set(p.signature.subarray(0, SIGNATURE_BYTES), off + 4);
      off += 4 + SIGNATURE_BYTES;
    }
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
      parts.push({ signer: s, signature: triple(sha256(secret, messages[i]!)) });
    }
    return bytesEqual(this.aggregate(parts), aggregate);
  }

  private secretOf(i: number): Uint8Array | undefined {
    return Number.isInteger(i) && i >= 0 ? this.secrets[i] : undefined;
  }
}
