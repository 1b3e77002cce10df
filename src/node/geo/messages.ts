/**
 * What geo clusters say to each other (README.md in this folder): certified blocks shared across clusters, requests
 * for them, and remote-view-change requests. One byte format for the simulator's WAN links and the node's HTTP route.
 *
 *   share   kind(u8 = 1) hop(u8) cluster(u32) count(u32) { len(u32) blockRecord }* len(u32) commitProofRecord
 *   pull    kind(u8 = 2) cluster(u32) fromHeight(u64)
 *   rvc     kind(u8 = 3) fromCluster(u32) fromMember(u32) target(u32) round(u64) attempt(u32) len(u32) signature
 *
 * Records are the chain store's (chain/store/records.ts), so a shared block is byte for byte what its cluster stores.
 * A share is self-certifying: `blocks` are consecutive committed blocks of `cluster`, the last one proven committed by
 * the commit proof (consensus/commitProof.ts) under that cluster's validator set, the others linked to it by parent
 * hashes, every block's transactions matching its txRoot. Nothing in it depends on who sent it, so it may travel
 * through anyone (a rebroadcast is the same bytes with hop = 1).
 *
 * A remote-view-change request is signed by its sender with its consensus key, over a domain-separated message
 * naming the network, so a request cannot be replayed across networks or reinterpreted as a vote.
 */
import { ChainStoreError } from "../../chain/errors.js";
import { decodeBlockRecord, decodeCommitProofRecord, encodeBlockRecord, encodeCommitProofRecord, Reader } from "../../chain/store/records.js";
import type { BlockHasher } from "../../consensus/blockHash.js";
import { verifyCommitProof } from "../../consensus/commitProof.js";
import type { CommitProof, CommitProofContext } from "../../consensus/commitProof.js";
import type { Block, Hash } from "../../domain/types.js";
import { bytesEqual, utf8, writeU64BE } from "../../util/bytes.js";
import { QuireError } from "../../util/errors.js";

/** Most blocks one share carries (bounds the work one message can cost: one proof, this many tx roots). */
export const MAX_SHARE_BLOCKS = 64;
/** Largest encoded geo message (a share of MAX_SHARE_BLOCKS full blocks would be larger: senders cap shares by bytes). */
export const MAX_GEO_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Most clusters a network may have (indices are u32 on the wire; this bounds what a receiver allocates). */
export const MAX_CLUSTERS = 64;

export type GeoErrorCode =
  /** Bytes that do not parse as a geo message (truncated, trailing bytes, an unknown kind, a count out of range). */
  | "MALFORMED"
  /** A cluster or member index outside the network. */
  | "UNKNOWN_CLUSTER"
  /** A share whose blocks are not consecutive, do not link, or whose transactions do not match a txRoot. */
  | "BAD_BLOCKS"
  /** A share whose commit proof does not prove its last block (see CommitProofCode in the reason). */
  | "BAD_PROOF"
  /** A remote-view-change request whose signature is not its sender's. */
  | "BAD_SIGNATURE";

export class GeoError extends QuireError<GeoErrorCode> {}

export interface GeoShare {
  /** 0: sent by the block's own cluster; 1: a rebroadcast inside the receiving cluster (never forwarded again). */
  readonly hop: 0 | 1;
  readonly cluster: number;
  /** Consecutive committed blocks of `cluster`, ascending. */
  readonly blocks: readonly Block[];
  /** Proves the last of `blocks` committed. */
  readonly proof: CommitProof;
}

export interface GeoPull {
  readonly cluster: number;
  readonly fromHeight: number;
}

export interface RvcRequest {
  readonly fromCluster: number;
  readonly fromMember: number;
  /** The cluster asked to replace whoever should have shared `round`. */
  readonly target: number;
  readonly round: number;
  /** 1 for the first request about (target, round), then one more per remote timeout spent waiting. */
  readonly attempt: number;
  readonly signature: Uint8Array;
}

export type GeoMessage = { readonly kind: "share"; readonly share: GeoShare } | { readonly kind: "pull"; readonly pull: GeoPull } | { readonly kind: "rvc"; readonly rvc: RvcRequest };

const KIND_SHARE = 1;
const KIND_PULL = 2;
const KIND_RVC = 3;
const RVC_DOMAIN = utf8("QUIRE/GEO-RVC/V1");

export function encodeGeoMessage(m: GeoMessage): Uint8Array {
  switch (m.kind) {
    case "share": {
      const s = m.share;
      const blocks = s.blocks.map(encodeBlockRecord);
      const proof = encodeCommitProofRecord(s.proof);
      let size = 1 + 1 + 4 + 4 + 4 + proof.length;
      for (const b of blocks) size += 4 + b.length;
      const out = new Uint8Array(size);
      const dv = new DataView(out.buffer);
      out[0] = KIND_SHARE;
      out[1] = s.hop;
      dv.setUint32(2, s.cluster);
      dv.setUint32(6, blocks.length);
      let pos = 10;
      for (const b of [...blocks, proof]) {
        dv.setUint32(pos, b.length);
        out.set(b, pos + 4);
        pos += 4 + b.length;
      }
      return out;
    }
    case "pull": {
      const out = new Uint8Array(1 + 4 + 8);
      const dv = new DataView(out.buffer);
      out[0] = KIND_PULL;
      dv.setUint32(1, m.pull.cluster);
      writeU64BE(dv, 5, m.pull.fromHeight);
      return out;
    }
    case "rvc": {
      const r = m.rvc;
      const out = new Uint8Array(1 + 4 + 4 + 4 + 8 + 4 + 4 + r.signature.length);
      const dv = new DataView(out.buffer);
      out[0] = KIND_RVC;
      dv.setUint32(1, r.fromCluster);
      dv.setUint32(5, r.fromMember);
      dv.setUint32(9, r.target);
      writeU64BE(dv, 13, r.round);
      dv.setUint32(21, r.attempt);
      dv.setUint32(25, r.signature.length);
      out.set(r.signature, 29);
      return out;
    }
  }
}

/** Parses a geo message; `GeoError("MALFORMED")` on anything that does not parse exactly. Byte fields are copies. */
export function decodeGeoMessage(bytes: Uint8Array): GeoMessage {
  if (bytes.length > MAX_GEO_MESSAGE_BYTES) throw malformed(`${bytes.length} bytes, limit ${MAX_GEO_MESSAGE_BYTES}`);
  try {
    return readGeoMessage(new Reader(bytes, "geo message"));
  } catch (e) {
    if (e instanceof ChainStoreError) throw malformed(e.message);
    throw e;
  }
}

function readGeoMessage(r: Reader): GeoMessage {
  const kind = r.u8();
  let m: GeoMessage;
  if (kind === KIND_SHARE) {
    const hop = r.u8();
    if (hop !== 0 && hop !== 1) throw malformed(`hop ${hop}`);
    const cluster = r.u32();
    const count = r.u32();
    if (count < 1 || count > MAX_SHARE_BLOCKS) throw malformed(`a share carries 1..${MAX_SHARE_BLOCKS} blocks, not ${count}`);
    const blocks: Block[] = [];
    for (let i = 0; i < count; i++) blocks.push(decodeBlockRecord(r.sized()));
    const proof = decodeCommitProofRecord(r.sized());
    m = { kind: "share", share: { hop, cluster, blocks, proof } };
  } else if (kind === KIND_PULL) {
    m = { kind: "pull", pull: { cluster: r.u32(), fromHeight: r.u64() } };
  } else if (kind === KIND_RVC) {
    const fromCluster = r.u32();
    const fromMember = r.u32();
    const target = r.u32();
    const round = r.u64();
    const attempt = r.u32();
    const signature = r.sized();
    m = { kind: "rvc", rvc: { fromCluster, fromMember, target, round, attempt, signature } };
  } else throw malformed(`unknown kind ${kind}`);
  r.end();
  return m;
}

/** The bytes a remote-view-change request signs. */
export function rvcMessage(networkId: Uint8Array, r: Omit<RvcRequest, "signature">): Uint8Array {
  const out = new Uint8Array(RVC_DOMAIN.length + 4 + networkId.length + 4 + 4 + 4 + 8 + 4);
  const dv = new DataView(out.buffer);
  out.set(RVC_DOMAIN, 0);
  let pos = RVC_DOMAIN.length;
  dv.setUint32(pos, networkId.length);
  out.set(networkId, pos + 4);
  pos += 4 + networkId.length;
  dv.setUint32(pos, r.fromCluster);
  dv.setUint32(pos + 4, r.fromMember);
  dv.setUint32(pos + 8, r.target);
  writeU64BE(dv, pos + 12, r.round);
  dv.setUint32(pos + 20, r.attempt);
  return out;
}

/** A block of a verified share: its height and hash (computed once). */
export interface SharedBlock {
  readonly height: number;
  readonly hash: Hash;
  readonly block: Block;
}

/** What checking a share needs of the sending cluster: its block hasher and certificate verifier, and tx roots. */
export interface ShareContext extends CommitProofContext {
  readonly txRoot: (txs: readonly Uint8Array[]) => Uint8Array;
}

/**
 * Checks a share against its cluster's context: the proof proves the last block, the blocks link down from it with
 * consecutive heights, every block's txs match its txRoot. Returns the blocks with their hashes, or throws GeoError.
 * Costs one commit-proof check (two QCs, one batch) whatever the block count.
 */
export function verifyShare(s: GeoShare, ctx: ShareContext): SharedBlock[] {
  const n = s.blocks.length;
  if (n < 1 || n > MAX_SHARE_BLOCKS) throw new GeoError("MALFORMED", `a share carries 1..${MAX_SHARE_BLOCKS} blocks, not ${n}`);
  if (s.blocks[0]!.header.height < 1) throw new GeoError("BAD_BLOCKS", "a share never carries a genesis block");
  // Cheapest refusals first, and the proof (two QCs) before hashing every transaction of up to 16 MiB of blocks.
  const hashes = s.blocks.map((b) => ctx.hashBlock(b.header));
  for (let i = 1; i < n; i++) {
    const prev = s.blocks[i - 1]!.header;
    const cur = s.blocks[i]!.header;
    if (cur.height !== prev.height + 1 || !bytesEqual(cur.parent, hashes[i - 1]!)) throw new GeoError("BAD_BLOCKS", `block ${cur.height} does not extend block ${prev.height}`);
  }
  const last = s.blocks[n - 1]!.header;
  if (s.proof.headers.length === 0 || !bytesEqual(ctx.hashBlock(s.proof.headers[0]!), hashes[n - 1]!)) throw new GeoError("BAD_PROOF", `the proof is not about block ${last.height}`);
  const r = verifyCommitProof(s.proof, ctx);
  if (!r.ok) throw new GeoError("BAD_PROOF", `${r.code}: ${r.reason}`);
  for (let i = 0; i < n; i++) {
    const b = s.blocks[i]!;
    if (!bytesEqual(ctx.txRoot(b.txs), b.header.txRoot)) throw new GeoError("BAD_BLOCKS", `block ${b.header.height}'s transactions do not match its txRoot`);
  }
  return s.blocks.map((block, i) => ({ height: block.header.height, hash: hashes[i]!, block }));
}

function malformed(reason: string): GeoError {
  return new GeoError("MALFORMED", `geo message: ${reason}`);
}
