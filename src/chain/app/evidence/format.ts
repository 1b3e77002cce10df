/**
 * Equivocation evidence transactions (first byte 0x41), so that provable misbehaviour becomes committed history every
 * replica reads the same way (reputation, issue 15). A tx is a self-contained proof: two signed proposals, or two
 * signed votes, of one view by one validator for different blocks. Big-endian; a tx ends exactly after its last
 * field; the decoder never throws.
 *
 *   size  field
 *      1  tag = 0x41
 *      1  kind          0x01 proposal, 0x02 vote
 *      4  validator     its index in the genesis set
 *      8  view          ≥ 1
 *     32  first block hash ‖ 192 first signature (uncompressed G2, as on the wire)
 *     32  second block hash ‖ 192 second signature
 *
 * The signatures are over consensus/signing.ts `proposalMessage` / `voteMessage` of (chain id, view, block hash).
 */
import { decodeBitmapIndices } from "../../../crypto/bitmap/index.js";
import { HASH_BYTES, VOTE_SIGNATURE_BYTES } from "../../../domain/limits.js";
import type { Evidence } from "../../../consensus/validation/equivocation.js";

export const EVIDENCE_TX_TAG = 0x41;
export const EVIDENCE_TX_BYTES = 1 + 1 + 4 + 8 + 2 * (HASH_BYTES + VOTE_SIGNATURE_BYTES);

export type EvidenceTxKind = "proposal" | "vote";
const KIND_BYTE: Record<EvidenceTxKind, number> = { proposal: 0x01, vote: 0x02 };

export interface SignedHashPart {
  readonly blockHash: Uint8Array;
  readonly signature: Uint8Array;
}

export interface EvidenceTx {
  readonly kind: EvidenceTxKind;
  readonly validator: number;
  readonly view: number;
  readonly first: SignedHashPart;
  readonly second: SignedHashPart;
}

export type EvidenceFormatCode = "BAD_LENGTH" | "BAD_TAG" | "BAD_KIND" | "BAD_VIEW";
export type EvidenceTxDecode = { readonly ok: true; readonly tx: EvidenceTx } | { readonly ok: false; readonly code: EvidenceFormatCode; readonly reason: string };

export function encodeEvidenceTx(e: EvidenceTx): Uint8Array {
  for (const p of [e.first, e.second]) if (p.blockHash.length !== HASH_BYTES || p.signature.length !== VOTE_SIGNATURE_BYTES) throw new RangeError(`a block hash is ${HASH_BYTES} bytes, a signature ${VOTE_SIGNATURE_BYTES}`);
  if (!Number.isInteger(e.validator) || e.validator < 0 || e.validator > 0xffffffff || !Number.isSafeInteger(e.view) || e.view < 1) throw new RangeError("bad validator or view");
  const out = new Uint8Array(EVIDENCE_TX_BYTES);
  const dv = new DataView(out.buffer);
  out[0] = EVIDENCE_TX_TAG;
  out[1] = KIND_BYTE[e.kind];
  dv.setUint32(2, e.validator);
  dv.setBigUint64(6, BigInt(e.view));
  let p = 14;
  for (const part of [e.first, e.second]) {
    out.set(part.blockHash, p);
    out.set(part.signature, p + HASH_BYTES);
    p += HASH_BYTES + VOTE_SIGNATURE_BYTES;
  }
  return out;
}

export function decodeEvidenceTx(tx: Uint8Array): EvidenceTxDecode {
  if (tx.length !== EVIDENCE_TX_BYTES) return { ok: false, code: "BAD_LENGTH", reason: `an evidence tx is ${EVIDENCE_TX_BYTES} bytes, got ${tx.length}` };
  if (tx[0] !== EVIDENCE_TX_TAG) return { ok: false, code: "BAD_TAG", reason: `tag 0x${tx[0]!.toString(16)}` };
  const kind = tx[1] === 0x01 ? "proposal" : tx[1] === 0x02 ? "vote" : null;
  if (kind === null) return { ok: false, code: "BAD_KIND", reason: `kind ${tx[1]}` };
  const dv = new DataView(tx.buffer, tx.byteOffset, tx.byteLength);
  const view = dv.getBigUint64(6);
  if (view < 1n || view > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, code: "BAD_VIEW", reason: `view ${view}` };
  const part = (p: number): SignedHashPart => ({ blockHash: tx.subarray(p, p + HASH_BYTES), signature: tx.subarray(p + HASH_BYTES, p + HASH_BYTES + VOTE_SIGNATURE_BYTES) });
  return { ok: true, tx: { kind, validator: dv.getUint32(2), view: Number(view), first: part(14), second: part(14 + HASH_BYTES + VOTE_SIGNATURE_BYTES) } };
}

/** The tx for what a replica's validation recorded (null for timeout evidence, which has no tx kind yet). */
export function evidenceTxOf(e: Evidence): Uint8Array | null {
  if (e.kind === "timeout") return null;
  return encodeEvidenceTx({ kind: e.kind, validator: e.validator, view: e.view, first: { blockHash: e.first.blockHash, signature: e.first.signature }, second: { blockHash: e.second.blockHash, signature: e.second.signature } });
}

/**
 * The validators proven misbehaving by a committed block's successful evidence txs: `results` is its certified result
 * bitmap (bit i set: tx i failed; the next header's `parentResults`). A bitmap that does not decode counts nothing.
 */
export function provenMisbehaviour(txs: readonly Uint8Array[], results: Uint8Array): number[] {
  if (!txs.some((tx) => tx[0] === EVIDENCE_TX_TAG)) return [];
  let failed: ReadonlySet<number>;
  try {
    failed = new Set(decodeBitmapIndices(results, { maxBits: txs.length }));
  } catch {
    return [];
  }
  const out: number[] = [];
  txs.forEach((tx, i) => {
    if (tx[0] !== EVIDENCE_TX_TAG || failed.has(i)) return;
    const d = decodeEvidenceTx(tx);
    if (d.ok) out.push(d.tx.validator);
  });
  return out;
}
