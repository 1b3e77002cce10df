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
 *   0x04 ‖ u8 tag ‖ key                → a module's derived record, outside the tree (DERIVED_PREFIX)
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
import type { StateReader, StateWriter } from "./interface.js";

export const DEFAULT_BUCKET_BITS = 16;
export const ENTRY_PREFIX = 0x01;
export const MEMBERS_PREFIX = 0x02;
export const PAGE_PREFIX = 0x03;
/**
 * Records a module derives from a block and keeps beside the tree, outside its root (module xshard's per-block
 * outbox: what its relayers read). Written with the block, so a crash keeps or loses both together.
 */
export const DERIVED_PREFIX = 0x04;

/** The raw state key of a derived record: DERIVED_PREFIX ‖ module tag ‖ key. */
export function derivedKey(tag: number, key: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + key.length);
  out[0] = DERIVED_PREFIX;
  out[1] = tag;
  out.set(key, 2);
  return out;
}
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
   * returns the new state root. The entries themselves must already be written (or deleted) by the caller. At most
   * one change per key hash.
   *
   * The changes are sorted by key hash once, so each touched bucket's changes are one run that merges into the
   * bucket's sorted member record in a single pass (no per-member maps or strings), and the touched buckets come out
   * in ascending order for the page phase.
   */
  update(state: StateWriter, changes: Iterable<EntryChange>): Uint8Array {
    const list = Array.isArray(changes) ? (changes as EntryChange[]) : [...changes];
    const n = list.length;
    if (n === 0) return this.root(state);
    const order = sortByKeyHash(list);
    // Leaf hashes of every new entry in one batched call (the SIMD path hashes equal-length entries 4 at a time), in
    // sorted order: live change j's leaf hash is at leafHashes[32 * liveRank[j]].
    const live: Uint8Array[] = [];
    const liveRank = new Int32Array(n);
    let deletes = false;
    for (let j = 0; j < n; j++) {
      const e = list[order[j]!]!.entry;
      if (e === null) {
        liveRank[j] = -1;
        deletes = true;
      } else {
        liveRank[j] = live.length;
        live.push(e);
      }
    }
    const leafHashes = live.length === 0 ? new Uint8Array(0) : this.hasher.digestMany(live, LEAF);

    // Level 0: merge each touched bucket's run of changes into its member record; the new bucket roots' leaf hashes
    // in one batched call.
    let indices: number[] = [];
    const bucketRoots: Uint8Array[] = [];
    for (let j = 0; j < n; ) {
      const b = this.bucketOf(list[order[j]!]!.keyHash);
      let end = j + 1;
      while (end < n && this.bucketOf(list[order[end]!]!.keyHash) === b) end++;
      const old = this.readMembers(state, b);
      const record = mergeMembers(old, list, order, liveRank, leafHashes, j, end);
      const count = record.length / MEMBER_BYTES;
      if (count === 0) state.delete(this.membersKey(b));
      else state.put(this.membersKey(b), record);
      indices.push(b);
      bucketRoots.push(this.rootOfMembers(record, count));
      j = end;
    }
    let hashes = this.hasher.digestMany(bucketRoots, LEAF);

    // Each group: put the dirty nodes of its bottom level into their pages, store the pages, hash every page up to
    // its root (the dirty nodes of the next group's bottom level). `indices` stays sorted, so a page's dirty nodes
    // are consecutive. Pages are read straight into the work buffer; the stored copy is taken before hashing in place.
    for (let g = 0; g < this.groups; g++) {
      const w = this.pageLevels(g);
      const width = 1 << w;
      const pageBytes = width * DIGEST_LENGTH;
      const pageIds: number[] = [];
      for (let j = 0; j < indices.length; j++) {
        const p = indices[j]! >>> w;
        if (pageIds[pageIds.length - 1] !== p) pageIds.push(p);
      }
      const work = new Uint8Array(pageIds.length * pageBytes);
      let k = -1;
      for (let j = 0; j < indices.length; j++) {
        const i = indices[j]!;
        if (k < 0 || pageIds[k] !== i >>> w) {
          k++;
          work.set(this.readPage(state, g, pageIds[k]!), k * pageBytes);
        }
        work.set(hashes.subarray(j * DIGEST_LENGTH, (j + 1) * DIGEST_LENGTH), k * pageBytes + (i & (width - 1)) * DIGEST_LENGTH);
      }
      for (let q = 0; q < pageIds.length; q++) {
        const page = work.slice(q * pageBytes, (q + 1) * pageBytes);
        // Only a deletion can empty a page (every other touched bucket is non-empty afterwards).
        if (deletes && compareBytes(page, this.emptyPage[g]!) === 0) state.delete(this.pageKey(g, pageIds[q]!));
        else state.put(this.pageKey(g, pageIds[q]!), page);
      }
      hashes = this.hashPages(work, pageIds.length, w);
      indices = pageIds;
    }
    return hashes.slice(0, DIGEST_LENGTH);
  }

  /** bucketRoot from a member record: MTH over the members' leaf hashes. */
  private rootOfMembers(record: Uint8Array, count: number): Uint8Array {
    if (count === 0) return this.hasher.digest(new Uint8Array(0));
    // One member: the MTH of one leaf is its leaf hash (a view, read once by the caller's batched hash).
    if (count === 1) return record.subarray(DIGEST_LENGTH, MEMBER_BYTES);
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

  /** A bucket's stored member record (empty when absent); checked for shape. */
  private readMembers(state: StateReader, bucket: number): Uint8Array {
    const record = state.get(this.membersKey(bucket));
    if (record === undefined) return EMPTY;
    if (record.length % MEMBER_BYTES !== 0) throw new StateTreeError("CORRUPT_STATE", `bucket ${bucket}: member record of ${record.length} bytes`);
    return record;
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

const EMPTY = new Uint8Array(0);

/**
 * Change indices in ascending key-hash order. Each change sorts as one float, (first four bytes of its key hash) ·
 * 2^21 + index, so the engine's numeric sort does the work without a comparator call per comparison; the rare runs
 * whose first four bytes tie are then put in full key-hash order by insertion. Blocks have at most 2^21 changes.
 */
function sortByKeyHash(list: readonly EntryChange[]): Int32Array {
  const n = list.length;
  if (n > INDEX_SPAN) throw new StateTreeError("BAD_ARGUMENT", `a block of ${n} state changes (at most ${INDEX_SPAN})`);
  const packed = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const h = list[i]!.keyHash;
    packed[i] = (((h[0]! << 24) >>> 0) + (h[1]! << 16) + (h[2]! << 8) + h[3]!) * INDEX_SPAN + i;
  }
  packed.sort();
  const order = new Int32Array(n);
  for (let j = 0; j < n; j++) order[j] = packed[j]! % INDEX_SPAN;
  for (let j = 1; j < n; j++) {
    if (Math.floor(packed[j]! / INDEX_SPAN) !== Math.floor(packed[j - 1]! / INDEX_SPAN)) continue;
    // A tie on the first four bytes: insertion within the run (runs are one or two long in practice).
    for (let k = j; k > 0 && Math.floor(packed[k]! / INDEX_SPAN) === Math.floor(packed[k - 1]! / INDEX_SPAN); k--) {
      if (compareAt(list[order[k - 1]!]!.keyHash, 0, list[order[k]!]!.keyHash, 0) <= 0) break;
      const t = order[k]!;
      order[k] = order[k - 1]!;
      order[k - 1] = t;
    }
  }
  return order;
}

/** 2^21: the index part of `sortByKeyHash`'s packed sort key (2^32 · 2^21 = 2^53 stays exact). */
const INDEX_SPAN = 2 ** 21;

/** Compares the 32-byte key hashes at a[ao] and b[bo]. */
function compareAt(a: Uint8Array, ao: number, b: Uint8Array, bo: number): number {
  for (let i = 0; i < DIGEST_LENGTH; i++) {
    const d = a[ao + i]! - b[bo + i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The member record of one bucket after the changes order[from..to) (sorted by key hash, all in this bucket): a
 * single merge of the old sorted record with the sorted changes. A live change replaces or inserts its member, a
 * deletion drops it.
 */
function mergeMembers(
  old: Uint8Array,
  list: readonly EntryChange[],
  order: Int32Array,
  liveRank: Int32Array,
  leafHashes: Uint8Array,
  from: number,
  to: number,
): Uint8Array {
  const out = new Uint8Array(old.length + (to - from) * MEMBER_BYTES);
  let o = 0;
  let w = 0;
  let j = from;
  while (o < old.length || j < to) {
    let c: number;
    if (j >= to) c = -1;
    else if (o >= old.length) c = 1;
    else c = compareAt(old, o, list[order[j]!]!.keyHash, 0);
    if (c < 0) {
      out.set(old.subarray(o, o + MEMBER_BYTES), w);
      w += MEMBER_BYTES;
      o += MEMBER_BYTES;
      continue;
    }
    if (c === 0) o += MEMBER_BYTES;
    const rank = liveRank[j]!;
    if (rank >= 0) {
      out.set(list[order[j]!]!.keyHash, w);
      out.set(leafHashes.subarray(rank * DIGEST_LENGTH, (rank + 1) * DIGEST_LENGTH), w + DIGEST_LENGTH);
      w += MEMBER_BYTES;
    }
    j++;
  }
  return w === out.length ? out : out.slice(0, w);
}
