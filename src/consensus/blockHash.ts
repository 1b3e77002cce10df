/**
 * The block hash: SHA-256 over a canonical preimage of the header.
 *
 * FlatBuffers bytes are not canonical (field order, padding and vtable sharing are the builder's choice), so the hash
 * cannot be taken over the wire encoding. The preimage is fixed-width fields in a fixed order, then length-prefixed
 * variable fields, behind a domain tag; all integers big-endian:
 *
 *   offset  size  field
 *        0    16  domain tag "QUIRE/BLOCK/V1" padded with zero bytes
 *       16    32  parent
 *       48     8  view            (uint64)
 *       56     8  height          (uint64)
 *       64     4  proposer        (uint32)
 *       68     8  timestampMs     (uint64)
 *       76    32  txRoot
 *      108    32  parentStateRoot
 *      140     4  len(parentResults)  (uint32)
 *      144     …  parentResults
 *        then, only when parentSigners is not empty:
 *               4  len(parentSigners)  (uint32)
 *               …  parentSigners
 *
 * Transactions are committed through txRoot (RFC 6962 root of the txs, checked by validation), so the hash costs the
 * same whatever the block size. Every field has a fixed position or an explicit length, so two different headers
 * never share a preimage (the total length tells whether parentSigners follows). A header without signers hashes as
 * it did before the field existed. The hash function is injected (`Sha256`) so that callers may use node:crypto or the WASM
 * core; the default is @noble/hashes (pure JS), which keeps this module free of node:* imports.
 */
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import type { BlockHeader, Hash } from "../domain/types.js";
import { utf8, writeU64BE } from "../util/bytes.js";

/** A SHA-256 implementation: 32-byte digest of `data`. Must be pure. */
export type Sha256 = (data: Uint8Array) => Uint8Array;

/** @noble/hashes SHA-256 (pure JS; ≈ 3 µs for a header preimage, against ≈ 1 µs through node:crypto). */
export const defaultSha256: Sha256 = (data) => nobleSha256(data);

/** The 16-byte domain tag that opens every header preimage. */
export const BLOCK_HASH_DOMAIN: Uint8Array = (() => {
  const tag = new Uint8Array(16);
  tag.set(utf8("QUIRE/BLOCK/V1"));
  return tag;
})();

/** Bytes of the preimage before `parentResults`. */
export const HEADER_FIXED_BYTES = 144;


/** The canonical preimage of `header` (layout in the module comment). */
export function headerPreimage(header: BlockHeader): Uint8Array {
  const results = header.parentResults.length;
  const signers = header.parentSigners.length;
  const out = new Uint8Array(HEADER_FIXED_BYTES + results + (signers === 0 ? 0 : 4 + signers));
  const dv = new DataView(out.buffer);
  out.set(BLOCK_HASH_DOMAIN, 0);
  out.set(header.parent, 16);
  writeU64BE(dv, 48, header.view);
  writeU64BE(dv, 56, header.height);
  dv.setUint32(64, header.proposer);
  writeU64BE(dv, 68, header.timestampMs);
  out.set(header.txRoot, 76);
  out.set(header.parentStateRoot, 108);
  dv.setUint32(140, header.parentResults.length);
  out.set(header.parentResults, HEADER_FIXED_BYTES);
  if (signers !== 0) {
    dv.setUint32(HEADER_FIXED_BYTES + results, signers);
    out.set(header.parentSigners, HEADER_FIXED_BYTES + results + 4);
  }
  return out;
}

/** SHA-256 of the header's canonical preimage. Assumes 32-byte hash fields (the codec guarantees them). */
export function blockHash(header: BlockHeader, sha256: Sha256 = defaultSha256): Hash {
  return sha256(headerPreimage(header));
}

/** A block hasher bound to one SHA-256 implementation (what the replica and the validator take as a module). */
export type BlockHasher = (header: BlockHeader) => Hash;

/** `blockHash` with a fixed SHA-256 implementation. */
export function blockHasher(sha256: Sha256 = defaultSha256): BlockHasher {
  return (header) => blockHash(header, sha256);
}
