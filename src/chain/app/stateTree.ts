/**
 * The KV application's state root: a two-level RFC 6962 tree whose shape is fixed, so that a block updates it in
 * time proportional to what the block touched, not to the size of the state.
 *
 * Definition (identical on every node; `bucketBits` = B is part of it, default 16):
 *
 *   entry(k, v)   = u32be(len k) ‖ k ‖ v                       the leaf data of one key
 *   keyHash(k)    = SHA-256(k);  bucket(k) = the top B bits of keyHash(k)
 *   bucketRoot(b) = MTH(entries of bucket b in ascending keyHash order)      (MTH({}) = SHA-256(""))
 *   stateRoot     = MTH(bucketRoot(0), bucketRoot(1), ..., bucketRoot(2^B - 1))
 *
 * MTH is the RFC 6962 Merkle tree hash (src/crypto/merkle.ts), so a key's inclusion in the state is two ordinary
 * RFC 6962 audit paths (entry → bucket root, bucket root → state root). The outer tree has 2^B leaves, a perfect
 * binary tree of depth B.
 *
 * Stored layout (application keys in the chain store's `state` table):
 *   0x01 ‖ keyHash(32)                → entry(k, v)
 *   0x02 ‖ u16be bucket               → members: (keyHash(32) ‖ leafHash(32))* sorted by keyHash, leafHash = H(0x00 ‖ entry)
 *   0x03 ‖ u8 group ‖ u16be page      → a page of the outer tree: the 2^w nodes of level 4·group with indices
 *                                       [page·2^w, (page + 1)·2^w), w = min(4, B − 4·group), 32 bytes each
 * Level 0 of the outer tree holds H(0x00 ‖ bucketRoot) (its RFC 6962 leaf hashes); level B is the root. A page is the
 * bottom row of a 4-level subtree: its upper rows are recomputed when needed (15 hashes) instead of stored, which cuts
 * a 1,000-key block from ~8,000 stored nodes to ~1,200 stored pages: LMDB puts and reads dominated the commit, and
 * `quire bench chain` "execute + commit 1,000-tx block" on LMDB went from 99 ms (one record per node) to 44-54 ms. A
 * page whose nodes are all the empty-subtree hash of their level is not stored (absent = empty), so the layout is
 * canonical: an empty state stores nothing.
 *
 * Cost of a block touching k buckets: k member-record rewrites (≈ n/2^B members each for n keys), k bucket roots,
 * about k + k/16 + k/256 page rewrites, and the hashes of those pages' subtrees — independent of the state size.
 * `quire bench chain`, "state root" rows, 1,000 keys touched (two runs on the noisy 2-core dev machine): 13-16 ms
 * (B = 16) whatever the state size, against 43-51 ms for recomputing the plain RFC 6962 root of all sorted entries
 * of a 10,000-key state and 287-305 ms for a 100,000-key state (which the full recompute must read and hash every
 * block). B = 12 is as fast at 10,000 keys but 1.7-3.7x slower than B = 16 at 100,000 (its buckets grow to ~25
 * members, each rewritten and re-hashed), hence B = 16.
 */
import type { Hasher } from "../../crypto/hasher.js";
import { DIGEST_LENGTH } from "../../crypto/hasher.js";
import { compareBytes } from "../../util/bytes.js";
import { QuireError } from "../../util/errors.js";
import { bytesKey } from "../../util/bytes.js";
import type { StateReader, StateWriter } from "./interface.js";

export const DEFAULT_BUCKET_BITS = 16;
export const ENTRY_PREFIX = 0x01;
export const MEMBERS_PREFIX = 0x02;
export const PAGE_PREFIX = 0x03;
/** Levels of the outer tree per stored page. */
const PAGE_LEVELS = 4;

const LEAF = 0x00;
const NODE = 0x01;
const MEMBER_BYTES = 2 * DIGEST_LENGTH;

/** Stored state that breaks the layout above: a damaged store or a bug; the node stops. */
export class StateTreeError extends QuireError<"CORRUPT_STATE" | "BAD_ARGUMENT"> {}

/** A key whose entry changed in this block: its new entry bytes, or null when deleted. */
export interface EntryChange {
  readonly keyHash: Uint8Array;
  readonly entry: Uint8Array | null;
}

/** entry(k, v) = u32be(len k) ‖ k ‖ v. */
export function encodeEntry(key: Uint8Array, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + key.length + value.length);
  new DataView(out.buffer).setUint32(0, key.length);
  out.set(key, 4);
  out.set(value, 4 + key.length);
  return out;
}

/** Splits an entry into key and value (views); throws CORRUPT_STATE when it does not parse. */
export function decodeEntry(entry: Uint8Array): { key: Uint8Array; value: Uint8Array } {
  if (entry.length < 4) throw new StateTreeError("CORRUPT_STATE", "a state entry shorter than its length field");
  const klen = new DataView(entry.buffer, entry.byteOffset, entry.byteLength).getUint32(0);
  if (klen > entry.length - 4) throw new StateTreeError("CORRUPT_STATE", "a state entry whose key overruns it");
  return { key: entry.subarray(4, 4 + klen), value: entry.subarray(4 + klen) };
}

export class BucketStateTree {
  readonly bucketBits: number;
  /** Pages per path from a bucket to the root: ceil(B / 4). */
  private readonly groups: number;
  /** emptyNode[l]: the hash of an empty subtree of height l (level 0 = the leaf hash of an empty bucket's root). */
  private readonly emptyNode: Uint8Array[] = [];
  /** emptyPage[g]: a page of group g whose nodes are all empty. */
  private readonly emptyPage: Uint8Array[] = [];

  constructor(
    private readonly hasher: Hasher,
    bucketBits: number = DEFAULT_BUCKET_BITS,
  ) {
    if (!Number.isInteger(bucketBits) || bucketBits < 1 || bucketBits > 16) {
      throw new StateTreeError("BAD_ARGUMENT", `bucketBits must be an integer in 1..16, got ${bucketBits}`);
    }
    this.bucketBits = bucketBits;
    this.groups = Math.ceil(bucketBits / PAGE_LEVELS);
    let e = hasher.digest(hasher.digest(new Uint8Array(0)), LEAF);
    this.emptyNode.push(e);
    const pair = new Uint8Array(2 * DIGEST_LENGTH);
    for (let l = 1; l <= bucketBits; l++) {
      pair.set(e, 0);
      pair.set(e, DIGEST_LENGTH);
      e = hasher.digest(pair, NODE);
      this.emptyNode.push(e);
    }
    for (let g = 0; g < this.groups; g++) {
      const width = 1 << this.pageLevels(g);
      const page = new Uint8Array(width * DIGEST_LENGTH);
      for (let i = 0; i < width; i++) page.set(this.emptyNode[PAGE_LEVELS * g]!, i * DIGEST_LENGTH);
      this.emptyPage.push(page);
    }
  }

  /** The root of an empty state. */
  get emptyRoot(): Uint8Array {
    return this.emptyNode[this.bucketBits]!.slice();
  }

  /** The state key of an entry. */
  entryKey(keyHash: Uint8Array): Uint8Array {
    const k = new Uint8Array(1 + DIGEST_LENGTH);
    k[0] = ENTRY_PREFIX;
    k.set(keyHash, 1);
    return k;
  }

  bucketOf(keyHash: Uint8Array): number {
    return ((keyHash[0]! << 8) | keyHash[1]!) >>> (16 - this.bucketBits);
  }

  /** The state root of `state`. */
  root(state: StateReader): Uint8Array {
    const top = this.groups - 1;
    // hashPages works in place: hash a copy, never the stored (or shared empty) page.
    const page = this.readPage(state, top, 0).slice();
    return this.hashPages(page, 1, this.pageLevels(top)).slice(0, DIGEST_LENGTH);
  }

  /**
   * Rewrites the member records of the buckets `changes` touch and the outer-tree pages above them in `state`;
   * returns the new state root. The entries themselves must already be written (or deleted) by the caller.
   */
  update(state: StateWriter, changes: Iterable<EntryChange>): Uint8Array {
    const byBucket = new Map<number, EntryChange[]>();
    const live: EntryChange[] = [];
    for (const c of changes) {
      const b = this.bucketOf(c.keyHash);
      let list = byBucket.get(b);
      if (list === undefined) byBucket.set(b, (list = []));
      list.push(c);
      if (c.entry !== null) live.push(c);
    }
    if (byBucket.size === 0) return this.root(state);
    // Leaf hashes of every new entry in one batched call (the SIMD path hashes equal-length entries 4 at a time).
    const leafHashes = live.length === 0 ? new Uint8Array(0) : this.hasher.digestMany(live.map((c) => c.entry!), LEAF);
    const leafOf = new Map<EntryChange, Uint8Array>();
    live.forEach((c, i) => leafOf.set(c, leafHashes.subarray(i * DIGEST_LENGTH, (i + 1) * DIGEST_LENGTH)));

    // Level 0: rewrite the touched buckets' member records; their roots' leaf hashes in one batched call.
    let indices = [...byBucket.keys()].sort((a, b) => a - b);
    const bucketRoots: Uint8Array[] = [];
    for (const b of indices) {
      const members = this.readMembers(state, b);
      for (const c of byBucket.get(b)!) members.set(bytesKey(c.keyHash), c.entry === null ? null : [c.keyHash, leafOf.get(c)!]);
      const sorted = [...members.values()].filter((m): m is [Uint8Array, Uint8Array] => m !== null).sort((x, y) => compareBytes(x[0], y[0]));
      const record = new Uint8Array(sorted.length * MEMBER_BYTES);
      sorted.forEach(([kh, lh], i) => {
        record.set(kh, i * MEMBER_BYTES);
        record.set(lh, i * MEMBER_BYTES + DIGEST_LENGTH);
      });
      if (sorted.length === 0) state.delete(this.membersKey(b));
      else state.put(this.membersKey(b), record);
      bucketRoots.push(this.rootOfMembers(record, sorted.length));
    }
    let hashes = this.hasher.digestMany(bucketRoots, LEAF);

    // Each group: put the dirty nodes of its bottom level into their pages, store the pages, hash every page up to
    // its root (the dirty nodes of the next group's bottom level). `indices` stays sorted, so a page's dirty nodes
    // are consecutive.
    for (let g = 0; g < this.groups; g++) {
      const w = this.pageLevels(g);
      const width = 1 << w;
      const pageBytes = width * DIGEST_LENGTH;
      const pageIds: number[] = [];
      const pages: Uint8Array[] = [];
      for (let j = 0; j < indices.length; j++) {
        const i = indices[j]!;
        const p = i >>> w;
        if (pageIds[pageIds.length - 1] !== p) {
          pageIds.push(p);
          pages.push(this.readPage(state, g, p).slice());
        }
        pages[pages.length - 1]!.set(hashes.subarray(j * DIGEST_LENGTH, (j + 1) * DIGEST_LENGTH), (i & (width - 1)) * DIGEST_LENGTH);
      }
      const work = new Uint8Array(pages.length * pageBytes);
      pages.forEach((page, k) => {
        this.writePage(state, g, pageIds[k]!, page);
        work.set(page, k * pageBytes);
      });
      hashes = this.hashPages(work, pages.length, w);
      indices = pageIds;
    }
    return hashes.slice(0, DIGEST_LENGTH);
  }

  /** bucketRoot from a member record: MTH over the members' leaf hashes. */
  private rootOfMembers(record: Uint8Array, count: number): Uint8Array {
    if (count === 0) return this.hasher.digest(new Uint8Array(0));
    const level = new Uint8Array(count * DIGEST_LENGTH);
    for (let i = 0; i < count; i++) level.set(record.subarray(i * MEMBER_BYTES + DIGEST_LENGTH, (i + 1) * MEMBER_BYTES), i * DIGEST_LENGTH);
    let n = count;
    while (n > 1) {
      // RFC 6962 level by level: hash adjacent pairs, promote an odd last node (same root as the recursive split).
      const pairs = n >>> 1;
      this.hasher.digestLevel(level.subarray(0, pairs * 2 * DIGEST_LENGTH), level, NODE);
      if (n & 1) level.copyWithin(pairs * DIGEST_LENGTH, (n - 1) * DIGEST_LENGTH, n * DIGEST_LENGTH);
      n = pairs + (n & 1);
    }
    return level.slice(0, DIGEST_LENGTH);
  }

  /** A bucket's members by bytesKey(keyHash); values null once deleted in this update. */
  private readMembers(state: StateReader, bucket: number): Map<string, [Uint8Array, Uint8Array] | null> {
    const out = new Map<string, [Uint8Array, Uint8Array] | null>();
    const record = state.get(this.membersKey(bucket));
    if (record === undefined) return out;
    if (record.length % MEMBER_BYTES !== 0) throw new StateTreeError("CORRUPT_STATE", `bucket ${bucket}: member record of ${record.length} bytes`);
    for (let off = 0; off < record.length; off += MEMBER_BYTES) {
      const kh = record.subarray(off, off + DIGEST_LENGTH);
      out.set(bytesKey(kh), [kh, record.subarray(off + DIGEST_LENGTH, off + MEMBER_BYTES)]);
    }
    return out;
  }

  /** Levels inside the pages of group g. */
  private pageLevels(g: number): number {
    return Math.min(PAGE_LEVELS, this.bucketBits - PAGE_LEVELS * g);
  }

  /** Page (g, p) as stored, or the empty page of its level. Never mutate the result (it may be shared). */
  private readPage(state: StateReader, g: number, p: number): Uint8Array {
    const v = state.get(this.pageKey(g, p));
    if (v === undefined) return this.emptyPage[g]!;
    if (v.length !== this.emptyPage[g]!.length) throw new StateTreeError("CORRUPT_STATE", `tree page (${g}, ${p}) of ${v.length} bytes`);
    return v;
  }

  private writePage(state: StateWriter, g: number, p: number, page: Uint8Array): void {
    const key = this.pageKey(g, p);
    if (compareBytes(page, this.emptyPage[g]!) === 0) state.delete(key);
    else state.put(key, page);
  }

  /** Hashes `count` consecutive pages of 2^w nodes each up w levels, in place; returns their `count` roots packed. */
  private hashPages(work: Uint8Array, count: number, w: number): Uint8Array {
    let n = count << w;
    for (let l = 0; l < w; l++) {
      // Pairs never straddle two pages: every page holds an even number of nodes on every level but its root.
      this.hasher.digestLevel(work.subarray(0, n * DIGEST_LENGTH), work, NODE);
      n >>>= 1;
    }
    return work.subarray(0, count * DIGEST_LENGTH);
  }

  private pageKey(g: number, p: number): Uint8Array {
    return new Uint8Array([PAGE_PREFIX, g, p >>> 8, p & 0xff]);
  }

  private membersKey(bucket: number): Uint8Array {
    return new Uint8Array([MEMBERS_PREFIX, bucket >>> 8, bucket & 0xff]);
  }
}
