/**
 * TEMPORARY stand-ins until the crypto branches land in main: the signer-set encoding (to be the bitmap module's
 * encodeBitmap/decodeBitmap) and the RFC 6962 tx root (to be src/crypto/merkle.ts). Used by the simulator only.
 */
import { createHash } from "node:crypto";
import type { SignerSetCodec } from "../consensus/scheme.js";
import type { TxRootFn } from "../consensus/validation/context.js";

/** Dense little-endian bitset, ceil(n / 8) bytes. */
export const interimSignerSets: SignerSetCodec = {
  encode(indices, n) {
    const out = new Uint8Array(Math.ceil(n / 8));
    for (const i of indices) out[i >> 3]! |= 1 << (i & 7);
    return out;
  },
  decode(bytes, n) {
    if (bytes.length !== Math.ceil(n / 8)) return null;
    const out: number[] = [];
    for (let i = 0; i < bytes.length * 8; i++) {
      if ((bytes[i >> 3]! >> (i & 7)) & 1) {
        if (i >= n) return null;
        out.push(i);
      }
    }
    return out;
  },
};

function h(prefix: number | null, ...parts: Uint8Array[]): Uint8Array {
  const x = createHash("sha256");
  if (prefix !== null) x.update(Uint8Array.of(prefix));
  for (const p of parts) x.update(p);
  return x.digest();
}

function mth(leaves: readonly Uint8Array[], lo: number, hi: number): Uint8Array {
  if (hi - lo === 1) return h(0, leaves[lo]!);
  let k = 1;
  while (k * 2 < hi - lo) k *= 2;
  return h(1, mth(leaves, lo, lo + k), mth(leaves, lo + k, hi));
}

/** RFC 6962 Merkle tree hash. */
export const interimTxRoot: TxRootFn = (txs) => (txs.length === 0 ? h(null) : mth(txs, 0, txs.length));
