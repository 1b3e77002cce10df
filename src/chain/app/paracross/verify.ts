/**
 * Offline check of a done para commit (`GET /v1/para/:title/:height` on the main chain, or a file) against the para
 * chain's registered keys from the main genesis: the message is well formed and names the document's title and
 * height, the signer bitmap covers the title's nodes and reaches the quorum, and the aggregate signature verifies for
 * exactly those signers (one pairing check; keys came with proofs of possession, so aggregation is sound).
 */
import type { BlsBackend, PublicKey, Signature } from "../../../crypto/bls/backend.js";
import type { Hasher } from "../../../crypto/hasher.js";
import { decodeBitmap } from "../../../crypto/bitmap/index.js";
import type { Bitset } from "../../../crypto/bitmap/index.js";
import type { ParaRegistration } from "../build.js";
import { commitSigningBytes, decodeCommitMessage } from "./format.js";
import { paraQuorumReached } from "./module.js";

/** What a done commit document must carry (a `DoneCommit` has all of it). */
export interface DoneCommitDoc {
  readonly title: string;
  readonly height: number;
  readonly message: Uint8Array;
  readonly aggregateSignature: Uint8Array;
  /** Encoded signer bitmap. */
  readonly signers: Uint8Array;
}

export type DoneCommitErrorCode = "UNKNOWN_TITLE" | "BELOW_QUORUM" | "BAD_SIGNATURE" | "MALFORMED";

export type DoneCommitVerdict = { readonly ok: true; readonly signerCount: number } | { readonly ok: false; readonly code: DoneCommitErrorCode; readonly reason: string };

/** Checks `doc` against `registration` (the main genesis's entry for its title, or undefined). Never throws. */
export function verifyDoneCommit(doc: DoneCommitDoc, registration: ParaRegistration | undefined, bls: BlsBackend, hasher: Hasher): DoneCommitVerdict {
  if (registration === undefined || registration.title !== doc.title) return { ok: false, code: "UNKNOWN_TITLE", reason: `no registered para chain titled ${JSON.stringify(doc.title)}` };
  const m = decodeCommitMessage(doc.message);
  if (!m.ok) return { ok: false, code: "MALFORMED", reason: `commit message: ${m.reason}` };
  if (m.value.title !== doc.title || m.value.height !== doc.height) return { ok: false, code: "MALFORMED", reason: "the message names another title or height than the document" };
  const n = registration.nodes.length;
  let signers: Bitset;
  try {
    signers = decodeBitmap(doc.signers, { length: n });
  } catch (e) {
    return { ok: false, code: "MALFORMED", reason: `signer bitmap: ${(e as Error).message}` };
  }
  const count = signers.count();
  if (!paraQuorumReached(count, n)) return { ok: false, code: "BELOW_QUORUM", reason: `${count} of ${n} signers, a done commit needs 3·signers ≥ 2·n` };
  const keys: PublicKey[] = [];
  try {
    for (let i = 0; i < n; i++) if (signers.get(i)) keys.push(bls.publicKeyFromBytes(registration.nodes[i]!));
  } catch (e) {
    return { ok: false, code: "MALFORMED", reason: `a registered key does not parse: ${(e as Error).message}` };
  }
  let sig: Signature;
  try {
    // Full validation (subgroup check, identity refused): the one check an aggregate needs (crypto/bls/qc.ts).
    sig = bls.signatureFromBytes(doc.aggregateSignature);
  } catch (e) {
    return { ok: false, code: "BAD_SIGNATURE", reason: `the aggregate signature does not parse: ${(e as Error).message}` };
  }
  if (!bls.fastAggregateVerify(commitSigningBytes(doc.message, hasher), keys, sig)) return { ok: false, code: "BAD_SIGNATURE", reason: "the aggregate signature does not verify for the signers" };
  return { ok: true, signerCount: count };
}
