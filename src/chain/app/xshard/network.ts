/**
 * A sharded network as each shard's application sees it: the network id (what cross-shard transfers are signed for),
 * this shard's index, and every shard's chain id and validator keys (what its commit proofs are verified against).
 * The node builds it from the genesis's `network` section (node/genesis.ts); `quire init --shards` writes that
 * section, identical in every shard's genesis but for `shard`. Its digest is a tx of the genesis block (format.ts,
 * op 0x03), so each shard's genesis hash — what network.json lists — covers the whole network's keys.
 *
 * Accounts map to shards by a fixed rule every shard and client computes the same way:
 *
 *   shardOf(publicKey) = u32be(SHA-256("quire-shard" ‖ publicKey)[0 .. 4)) mod S
 */
import type { Hasher } from "../../../crypto/hasher.js";
import { utf8 } from "../../../util/bytes.js";

export interface ShardChain {
  /** The shard's chain id (what its votes, and so its QCs, are signed for). */
  readonly chainId: Uint8Array;
  /** The shard's validators' BLS public keys, in index order (each came with a proof of possession in the genesis). */
  readonly validators: readonly Uint8Array[];
}

export interface ShardNetwork {
  /** The network id: what cross-shard transfers are signed for (xshard/format.ts). */
  readonly id: Uint8Array;
  /** This chain's shard index. */
  readonly self: number;
  /** Every shard, by index (this one included). */
  readonly shards: readonly ShardChain[];
}

const SHARD_DOMAIN = utf8("quire-shard");

/** The shard an account lives on (rule above). */
export function shardOf(publicKey: Uint8Array, shardCount: number, hasher: Hasher): number {
  const m = new Uint8Array(SHARD_DOMAIN.length + publicKey.length);
  m.set(SHARD_DOMAIN, 0);
  m.set(publicKey, SHARD_DOMAIN.length);
  const d = hasher.digest(m);
  return (((d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!) >>> 0) % shardCount;
}
