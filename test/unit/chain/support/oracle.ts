// Independent oracles for the chain tests: the KV state root by its definition (stateTree.ts's module comment),
// computed from a plain key → value map with node:crypto and a recursive RFC 6962 MTH that shares no code with
// src/crypto/merkle.ts.
import { compareBytes } from "../../../../src/util/bytes.js";
import { sha256 } from "./fixtures.js";

export type KvModel = Map<string, { key: Uint8Array; value: Uint8Array }>;

/** RFC 6962 MTH, recursive, over node:crypto. */
export function mth(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return sha256(Uint8Array.of(0), leaves[0]!);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sha256(Uint8Array.of(1), mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

/** entry(k, v) = u32be(len k) ‖ k ‖ v, written independently of stateTree.ts. */
export function entryBytes(key: Uint8Array, value: Uint8Array): Uint8Array {
  return Uint8Array.of(key.length >>> 24, (key.length >>> 16) & 255, (key.length >>> 8) & 255, key.length & 255, ...key, ...value);
}

/**
 * The state root of `model` for 2^bucketBits buckets. `outer` computes the outer MTH over the bucket roots (the
 * recursive one by default; pass a faster one for 65,536 buckets).
 */
export function oracleRoot(model: KvModel, bucketBits: number, outer: (leaves: Uint8Array[]) => Uint8Array = mth): Uint8Array {
  const buckets: { kh: Uint8Array; entry: Uint8Array }[][] = Array.from({ length: 2 ** bucketBits }, () => []);
  for (const { key, value } of model.values()) {
    const kh = sha256(key);
    const b = ((kh[0]! << 8) | kh[1]!) >>> (16 - bucketBits);
    buckets[b]!.push({ kh, entry: entryBytes(key, value) });
  }
  // Empty buckets all have the same root; hash it once.
  const empty = sha256();
  const roots = buckets.map((list) => (list.length === 0 ? empty : mth(list.sort((x, y) => compareBytes(x.kh, y.kh)).map((e) => e.entry))));
  return outer(roots);
}
