/**
 * The outbox of a source block and the imports built from it (the LD / CL messages), and their verification by a
 * destination shard. The source side (the module's seal, the relayers of node/xshardRelayer.ts and the simulator)
 * and the destination side (the module's check and deliver) share these functions.
 *
 * Stored outbox (a derived record of the block, stateTree.ts DERIVED_PREFIX, key "o" ‖ u64 height — only for blocks
 * that bound records):
 *
 *   32 treeRoot ‖ 32 outboxRoot ‖ 2 S ‖ S × 32 destRoot ‖ S × ( 4 count ‖ count × ( 2 L ‖ L record ) )
 */
import { checkInclusion, leafHash, merkleProof, merkleRoot } from "../../../crypto/merkle.js";
import type { Hasher } from "../../../crypto/hasher.js";
import { ChainStoreError } from "../../errors.js";
import { decodeCommitProofRecord } from "../../store/records.js";
import { verifyCommitProof } from "../../../consensus/commitProof.js";
import type { CommitProofContext } from "../../../consensus/commitProof.js";
import { bytesEqual } from "../../../util/bytes.js";
import { decodeRecord, encodeImport, MAX_IMPORT_ITEMS } from "./format.js";
import type { LegRecord, XImport } from "./format.js";

export interface Outbox {
  readonly treeRoot: Uint8Array;
  readonly outboxRoot: Uint8Array;
  /** One per shard. */
  readonly destRoots: readonly Uint8Array[];
  /** records[d]: the encoded records bound for shard d, in block order. */
  readonly records: readonly (readonly Uint8Array[])[];
}

/** The outbox root and per-destination roots of a block's records (`records[d]` bound for shard d). */
export function outboxRoots(records: readonly (readonly Uint8Array[])[], hasher: Hasher): { destRoots: Uint8Array[]; outboxRoot: Uint8Array } {
  const destRoots = records.map((r) => merkleRoot(r, hasher));
  return { destRoots, outboxRoot: merkleRoot(destRoots, hasher) };
}

/** A sharded chain's state root: MTH(treeRoot, outboxRoot). */
export function sealRoot(treeRoot: Uint8Array, outboxRoot: Uint8Array, hasher: Hasher): Uint8Array {
  return merkleRoot([treeRoot, outboxRoot], hasher);
}

export function encodeOutbox(o: Outbox): Uint8Array {
  const S = o.destRoots.length;
  let size = 64 + 2 + 32 * S + 4 * S;
  for (const rs of o.records) for (const r of rs) size += 2 + r.length;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out.set(o.treeRoot, 0);
  out.set(o.outboxRoot, 32);
  dv.setUint16(64, S);
  let p = 66;
  for (const d of o.destRoots) {
    out.set(d, p);
    p += 32;
  }
  for (const rs of o.records) {
    dv.setUint32(p, rs.length);
    p += 4;
    for (const r of rs) {
      dv.setUint16(p, r.length);
      out.set(r, p + 2);
      p += 2 + r.length;
    }
  }
  return out;
}

/** Decodes a stored outbox; a damaged one throws ChainStoreError (it is this node's own store). */
export function decodeOutbox(b: Uint8Array): Outbox {
  const damaged = (): never => {
    throw new ChainStoreError("CORRUPT", "a stored cross-shard outbox is damaged");
  };
  if (b.length < 66) damaged();
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const S = dv.getUint16(64);
  let p = 66;
  const destRoots: Uint8Array[] = [];
  for (let d = 0; d < S; d++, p += 32) {
    if (p + 32 > b.length) damaged();
    destRoots.push(b.slice(p, p + 32));
  }
  const records: Uint8Array[][] = [];
  for (let d = 0; d < S; d++) {
    if (p + 4 > b.length) damaged();
    const n = dv.getUint32(p);
    p += 4;
    const rs: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      if (p + 2 > b.length) damaged();
      const len = dv.getUint16(p);
      if (p + 2 + len > b.length) damaged();
      rs.push(b.slice(p + 2, p + 2 + len));
      p += 2 + len;
    }
    records.push(rs);
  }
  if (p !== b.length) damaged();
  return { treeRoot: b.slice(0, 32), outboxRoot: b.slice(32, 64), destRoots, records };
}

/**
 * The imports that carry block h's records bound for `dest` (at most MAX_IMPORT_ITEMS each), given the block's stored
 * outbox and its encoded commit proof. Empty when nothing is bound there.
 */
export function buildImports(outbox: Outbox, source: number, dest: number, proof: Uint8Array, hasher: Hasher): Uint8Array[] {
  const records = outbox.records[dest] ?? [];
  if (records.length === 0) return [];
  const destPath = merkleProof(outbox.destRoots, dest, hasher).proof;
  const out: Uint8Array[] = [];
  for (let start = 0; start < records.length; start += MAX_IMPORT_ITEMS) {
    const items = [];
    for (let i = start; i < Math.min(records.length, start + MAX_IMPORT_ITEMS); i++) items.push({ index: i, path: merkleProof(records, i, hasher).proof, record: records[i]! });
    out.push(encodeImport({ source, proof, treeRoot: outbox.treeRoot, outboxRoot: outbox.outboxRoot, destPath, destRoot: outbox.destRoots[dest]!, destSize: records.length, items }));
  }
  return out;
}

export type ImportCode =
  /** The source is this shard or not a shard of the network. */
  | "WRONG_SOURCE"
  /** The commit proof does not parse or does not verify against the source shard's validators. */
  | "BAD_COMMIT_PROOF"
  /** MTH(treeRoot, outboxRoot) is not the state root the source's next header certifies, or destRoot is not in it. */
  | "BAD_SEAL"
  /** A record is not under destRoot, or does not parse. */
  | "BAD_INCLUSION"
  /** A record that is not bound for this shard (an LD for another output, a CL for an uninvolved shard). */
  | "WRONG_DESTINATION";

export type ImportCheck = { readonly ok: true; readonly height: number; readonly records: readonly LegRecord[] } | { readonly ok: false; readonly code: ImportCode; readonly reason: string };

export interface ImportContext {
  readonly hasher: Hasher;
  readonly shardCount: number;
  /** Commit-proof verification against shard `s`'s genesis (its validators and chain id). */
  proofContext(s: number): CommitProofContext;
}

/**
 * Verifies everything in an import for destination shard `dest`, from the network's genesis alone. The hash checks
 * come first and the commit proof's BLS verification (two pairings, ~1.3 ms) last; `verifiedProof` lets the caller
 * skip it for proof bytes it verified before (imports of one source block share their proof).
 */
export function verifyImport(x: XImport, dest: number, ctx: ImportContext, verifiedProof?: (proof: Uint8Array) => boolean): ImportCheck {
  if (x.source >= ctx.shardCount || x.source === dest) return bad("WRONG_SOURCE", `source shard ${x.source} is this shard or not in a network of ${ctx.shardCount}`);
  let proof;
  try {
    proof = decodeCommitProofRecord(x.proof);
  } catch (e) {
    if (e instanceof ChainStoreError) return bad("BAD_COMMIT_PROOF", `the commit proof does not parse: ${e.message}`);
    throw e;
  }
  if (proof.headers.length < 2) return bad("BAD_COMMIT_PROOF", "a commit proof has at least two headers");
  const next = proof.headers[1]!;
  if (!bytesEqual(sealRoot(x.treeRoot, x.outboxRoot, ctx.hasher), next.parentStateRoot)) return bad("BAD_SEAL", `tree and outbox roots do not give the state root header ${next.height} certifies`);
  const destLeaf = checkInclusion({ leafIndex: dest, treeSize: ctx.shardCount, leafHash: leafHash(x.destRoot, ctx.hasher), proof: x.destPath }, x.outboxRoot, ctx.hasher);
  if (destLeaf !== null) return bad("BAD_SEAL", `the destination root is not leaf ${dest} of the outbox root: ${destLeaf.message}`);
  const records: LegRecord[] = [];
  for (const it of x.items) {
    const inc = checkInclusion({ leafIndex: it.index, treeSize: x.destSize, leafHash: leafHash(it.record, ctx.hasher), proof: it.path }, x.destRoot, ctx.hasher);
    if (inc !== null) return bad("BAD_INCLUSION", `record ${it.index}: ${inc.message}`);
    const d = decodeRecord(it.record);
    if (!d.ok) return bad("BAD_INCLUSION", `record ${it.index}: ${d.code}: ${d.reason}`);
    const r = d.value;
    if (r.source !== x.source) return bad("WRONG_SOURCE", `record ${it.index} was made by shard ${r.source}, not ${x.source}`);
    if (!boundFor(r, dest)) return bad("WRONG_DESTINATION", `record ${it.index} (${r.kind}) is not bound for shard ${dest}`);
    records.push(r);
  }
  if (verifiedProof?.(x.proof) === true) return { ok: true, height: proof.headers[0]!.height, records };
  const cp = verifyCommitProof(proof, ctx.proofContext(x.source));
  if (!cp.ok) return bad("BAD_COMMIT_PROOF", `${cp.code}: ${cp.reason}`);
  return { ok: true, height: cp.height, records };
}

/** The shards a record goes to: an LD to the output shard; a CL to every other involved shard. */
export function destinationsOf(r: LegRecord): number[] {
  if (r.kind === "ld") return [r.outShard];
  return [...new Set([...r.inputShards, r.outShard])].filter((s) => s !== r.source).sort((a, b) => a - b);
}

function boundFor(r: LegRecord, dest: number): boolean {
  return destinationsOf(r).includes(dest);
}

function bad(code: ImportCode, reason: string): ImportCheck {
  return { ok: false, code, reason };
}
