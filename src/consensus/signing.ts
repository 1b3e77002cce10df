/**
 * What consensus signatures cover, and the genesis certificate.
 *
 * Vote message:    "QUIRE/VOTE/V1\0\0\0" (16) ‖ len(chainId) (1) ‖ chainId ‖ view (uint64 BE) ‖ blockHash (32)
 * Timeout message: "QUIRE/TMO/V1\0\0\0\0" (16) ‖ len(chainId) (1) ‖ chainId ‖ view (uint64 BE) ‖ highQc.view (uint64 BE)
 * Proposal message: "QUIRE/PROP/V1\0\0\0" (16) ‖ len(chainId) (1) ‖ chainId ‖ view (uint64 BE) ‖ blockHash (32)
 *
 * A proposal is signed by its block's proposer over the view and the block hash; the hash already commits to
 * everything in the header (proposer, parent, height, timestamp, tx root, parent outcome), so signing it signs the
 * block. The justification (QC/TC) is not signed: each certificate carries its own signatures and is checked alone,
 * and any valid certificate of the same parent serves. The proposal layout equals the vote layout except for the tag,
 * so the tag alone keeps a vote for block B from being replayed as B's proposal (or the reverse): a voter must never
 * be able to frame itself — or be framed — as a proposer.
 *
 * Distinct domain tags keep a vote from ever verifying as a timeout (or as anything else the key signs, like the link
 * handshake); the chain id binds the signature to one network. The crypto layer only checks "these signers signed
 * these bytes": building the bytes is consensus's job, here.
 */
import type { Hash, QuorumCert } from "../domain/types.js";
import { SIGNATURE_BYTES } from "../domain/limits.js";
import { utf8, writeU64BE } from "../util/bytes.js";

function tag16(s: string): Uint8Array {
  const t = new Uint8Array(16);
  t.set(utf8(s));
  return t;
}

export const VOTE_DOMAIN = tag16("QUIRE/VOTE/V1");
export const TIMEOUT_DOMAIN = tag16("QUIRE/TMO/V1");
export const PROPOSAL_DOMAIN = tag16("QUIRE/PROP/V1");

function prefix(domain: Uint8Array, chainId: Uint8Array, extra: number): { out: Uint8Array; dv: DataView; off: number } {
  const off = 16 + 1 + chainId.length;
  const out = new Uint8Array(off + extra);
  out.set(domain, 0);
  out[16] = chainId.length;
  out.set(chainId, 17);
  return { out, dv: new DataView(out.buffer), off };
}


/** The bytes a vote for `blockHash` in `view` signs. `chainId` is at most 255 bytes (the wire allows 64). */
export function voteMessage(chainId: Uint8Array, view: number, blockHash: Hash): Uint8Array {
  const { out, dv, off } = prefix(VOTE_DOMAIN, chainId, 8 + 32);
  writeU64BE(dv, off, view);
  out.set(blockHash, off + 8);
  return out;
}

/** The bytes the proposer of a block with hash `blockHash` in `view` signs (see the module comment). */
export function proposalMessage(chainId: Uint8Array, view: number, blockHash: Hash): Uint8Array {
  const { out, dv, off } = prefix(PROPOSAL_DOMAIN, chainId, 8 + 32);
  writeU64BE(dv, off, view);
  out.set(blockHash, off + 8);
  return out;
}

/** The bytes a timeout for `view` reporting a high QC of view `highQcView` signs. */
export function timeoutMessage(chainId: Uint8Array, view: number, highQcView: number): Uint8Array {
  const { out, dv, off } = prefix(TIMEOUT_DOMAIN, chainId, 16);
  writeU64BE(dv, off, view);
  writeU64BE(dv, off + 8, highQcView);
  return out;
}

/**
 * The certificate of the genesis block: view 0, no signers, an all-zero signature. It is never verified
 * cryptographically: validation accepts exactly this value (see `isGenesisQc`) and nothing else at view 0.
 */
export function genesisQc(genesisHash: Hash): QuorumCert {
  return rootQc(genesisHash, 0);
}

/**
 * The certificate of an epoch's root (src/node/epochShell.ts): like the genesis certificate — no signers, an all-zero
 * signature — at the root block's own view. Epoch e + 1 starts from the block E that ended epoch e, committed under
 * epoch e's set; its instance accepts exactly this value for E (validation's `checkQc`) and verifies nothing of it,
 * since E's commitment was checked under the set that made it.
 */
export function rootQc(rootHash: Hash, view: number): QuorumCert {
  return { view, blockHash: rootHash, signers: new Uint8Array(0), aggregateSignature: new Uint8Array(SIGNATURE_BYTES) };
}

/**
 * What consensus signatures of epoch `epoch` are bound to, in place of the bare chain id: the chain id itself for epoch
 * 0 (so a chain that never changes its set signs as before), then `u8 len(chainId) ‖ chainId ‖ 0x00 ‖ u64 epoch`. The
 * length prefix keeps any (chain id, epoch) pair from spelling another: a plain `chainId ‖ "/" ‖ epoch` would let
 * chain "x/1" at epoch 0 collide with chain "x" at epoch 1. A vote or timeout of one epoch never counts in another.
 */
export function epochDomain(chainId: Uint8Array, epoch: number): Uint8Array {
  if (epoch === 0) return chainId;
  const out = new Uint8Array(1 + chainId.length + 1 + 8);
  out[0] = chainId.length;
  out.set(chainId, 1);
  writeU64BE(new DataView(out.buffer), 2 + chainId.length, epoch);
  return out;
}

/** Signs consensus messages with this replica's key. Must be deterministic (BLS and the test scheme are). */
export interface ConsensusSigner {
  /** The validator index whose key this is. */
  readonly index: number;
  /** The signature of a vote, timeout or proposal message, in their wire form (VOTE_SIGNATURE_BYTES, uncompressed). */
  sign(message: Uint8Array): Uint8Array;
}

/**
 * The signer of a replica that is not in its epoch's set (index `validatorCount`: an observer, see Replica). The core
 * never asks an observer to sign; if it did, this throws rather than sign with a key the set does not hold.
 */
export function observerSigner(index: number): ConsensusSigner {
  return {
    index,
    sign: () => {
      throw new Error("an observer of an epoch never signs");
    },
  };
}
