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
 *   0x03 ‖ u8 level ‖ u16be index     → node of the outer tree (level 0: H(0x00 ‖ bucketRoot); level B, index 0: the root)
 * A node equal to the empty-subtree hash of its level is not stored (absent = empty), so the layout is canonical.
 *
 * Cost of a block touching k buckets: k member-record rewrites (≈ n/2^B members each for n keys), k bucket roots,
 * and about k·(B − log2 k) + k outer nodes. Measured in `quire bench chain` ("state root" rows) against recomputing
 * the plain RFC 6962 root of all sorted entries, which reads and hashes the whole state every block.
 */
import type { Hasher } from "../../crypto/hasher.js";
import { DIGEST_LENGTH } from "../../crypto/hasher.js";
import { compareBytes } from "../../util/bytes.js";
import { QuireError } from "../../util/errors.js";
import { bytesKey } from "../keys.js";
import type { StateReader, StateWriter } from "./interface.js";

export const DEFAULT_BUCKET_BITS = 16;
export const ENTRY_PREFIX = 0x01;
export const MEMBERS_PREFIX = 0x02;
export const NODE_PREFIX = 0x03;

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
  /** emptyNode[l]: the hash of an empty subtree of height l (level 0 = the leaf hash of an empty bucket's root). */
  private readonly emptyNode: Uint8Array[] = [];
  private readonly pair = new Uint8Array(2 * DIGEST_LENGTH);

  constructor(
    private readonly hasher: Hasher,
    bucketBits: number = DEFAULT_BUCKET_BITS,
  ) {
    if (!Number.isInteger(bucketBits) || bucketBits < 1 || bucketBits > 16) {
      throw new StateTreeError("BAD_ARGUMENT", `bucketBits must be an integer in 1..16, got ${bucketBits}`);
    }
    this.bucketBits = bucketBits;
    let e = hasher.digest(hasher.digest(new Uint8Array(0)), LEAF);
    this.emptyNode.push(e);
    for (let l = 1; l <= bucketBits; l++) {
      e = this.node(e, e);
      this.emptyNode.push(e);
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
    return this.readNode(state, this.bucketBits, 0).slice();
  }

  /**
   * Rewrites the member records of the buckets `changes` touch and the outer-tree nodes above them in `state`;
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
    // Leaf hashes of every new entry in one batched call (the SIMD path hashes equal-length entries 4 at a time).
    const leafHashes = live.length === 0 ? new Uint8Array(0) : this.hasher.digestMany(live.map((c) => c.entry!), LEAF);
    const leafOf = new Map<EntryChange, Uint8Array>();
    live.forEach((c, i) => leafOf.set(c, leafHashes.subarray(i * DIGEST_LENGTH, (i + 1) * DIGEST_LENGTH)));

    // Level 0: the touched buckets' leaves.
    let dirty = new Map<number, Uint8Array>();
    for (const [b, list] of byBucket) {
      const members = this.readMembers(state, b);
      for (const c of list) members.set(bytesKey(c.keyHash), c.entry === null ? null : [c.keyHash, leafOf.get(c)!]);
      const sorted = [...members.values()].filter((m): m is [Uint8Array, Uint8Array] => m !== null).sort((x, y) => compareBytes(x[0], y[0]));
      const record = new Uint8Array(sorted.length * MEMBER_BYTES);
      sorted.forEach(([kh, lh], i) => {
        record.set(kh, i * MEMBER_BYTES);
        record.set(lh, i * MEMBER_BYTES + DIGEST_LENGTH);
      });
      if (sorted.length === 0) state.delete(this.membersKey(b));
      else state.put(this.membersKey(b), record);
      dirty.set(b, this.hasher.digest(this.rootOfMembers(record, sorted.length), LEAF));
    }
    // Levels 1..B: parents of dirty nodes, siblings read from the state (or from this pass).
    for (let level = 0; level < this.bucketBits; level++) {
      for (const [i, h] of dirty) this.writeNode(state, level, i, h);
      const parents = new Map<number, Uint8Array>();
      for (const i of dirty.keys()) {
        const p = i >>> 1;
        if (parents.has(p)) continue;
        const left = dirty.get(2 * p) ?? this.readNode(state, level, 2 * p);
        const right = dirty.get(2 * p + 1) ?? this.readNode(state, level, 2 * p + 1);
        parents.set(p, this.node(left, right));
      }
      dirty = parents;
    }
    const root = dirty.get(0) ?? this.readNode(state, this.bucketBits, 0);
    if (dirty.has(0)) this.writeNode(state, this.bucketBits, 0, root);
    return root.slice();
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

  private readNode(state: StateReader, level: number, index: number): Uint8Array {
    const v = state.get(this.nodeKey(level, index));
    if (v === undefined) return this.emptyNode[level]!;
    if (v.length !== DIGEST_LENGTH) throw new StateTreeError("CORRUPT_STATE", `tree node (${level}, ${index}) of ${v.length} bytes`);
    return v;
  }

  private writeNode(state: StateWriter, level: number, index: number, h: Uint8Array): void {
    const key = this.nodeKey(level, index);
    if (compareBytes(h, this.emptyNode[level]!) === 0) state.delete(key);
    else state.put(key, h);
  }

  private node(left: Uint8Array, right: Uint8Array): Uint8Array {
    this.pair.set(left, 0);
    this.pair.set(right, DIGEST_LENGTH);
    return this.hasher.digest(this.pair, NODE);
  }

  private membersKey(bucket: number): Uint8Array {
    return new Uint8Array([MEMBERS_PREFIX, bucket >>> 8, bucket & 0xff]);
  }

  private nodeKey(level: number, index: number): Uint8Array {
    return new Uint8Array([NODE_PREFIX, level, index >>> 8, index & 0xff]);
  }
}
