/**
 * The paracross module's state layout (inside its namespace, see keyedState.ts) and the codecs of its records.
 * Every key starts with a kind byte and the title (u8 length ‖ UTF-8), so titles never collide with each other.
 *
 *   key                                     value
 *   0x01 ‖ title                            meta: done u64 ‖ recorded u64 ‖ doneMain u64 (main height of the done commit)
 *   0x02 ‖ title ‖ height u64               height index: quorum hash (32, zero = none yet) ‖ message hashes (32 each)
 *   0x03 ‖ title ‖ height u64 ‖ hash 32     commit record: u32 M ‖ message ‖ aggregate signature 96 ‖ signer bitmap
 *   0x04 ‖ title ‖ height u64               done commit: the quorum message's record, kept after the height is pruned
 *   0x05 ‖ title ‖ main height u64          pending withdrawals: (u32 para index ‖ to 32 ‖ amount u64)*
 *
 * Records under 0x02/0x03 are deleted when their height becomes done (commits at or below done are skipped), so
 * what a title keeps is bounded by the heights it has in flight above done (at most MAX_HEIGHTS_AHEAD).
 */
import { utf8 } from "../../../util/bytes.js";
import { COMMIT_SIGNATURE_BYTES } from "./format.js";

const KIND_META = 0x01;
const KIND_HEIGHT = 0x02;
const KIND_RECORD = 0x03;
const KIND_DONE = 0x04;
const KIND_PENDING = 0x05;
const HASH = 32;

function titleKey(kind: number, title: string, extra: number): { out: Uint8Array; dv: DataView; p: number } {
  const t = utf8(title);
  const out = new Uint8Array(2 + t.length + extra);
  out[0] = kind;
  out[1] = t.length;
  out.set(t, 2);
  return { out, dv: new DataView(out.buffer), p: 2 + t.length };
}

export function metaKey(title: string): Uint8Array {
  return titleKey(KIND_META, title, 0).out;
}

function heightKeyOf(kind: number, title: string, height: number, extra = 0): { out: Uint8Array; p: number } {
  const k = titleKey(kind, title, 8 + extra);
  k.dv.setBigUint64(k.p, BigInt(height));
  return { out: k.out, p: k.p + 8 };
}

export function heightKey(title: string, height: number): Uint8Array {
  return heightKeyOf(KIND_HEIGHT, title, height).out;
}

export function recordKey(title: string, height: number, hash: Uint8Array): Uint8Array {
  const k = heightKeyOf(KIND_RECORD, title, height, HASH);
  k.out.set(hash, k.p);
  return k.out;
}

export function doneKey(title: string, height: number): Uint8Array {
  return heightKeyOf(KIND_DONE, title, height).out;
}

export function pendingKey(title: string, mainHeight: number): Uint8Array {
  return heightKeyOf(KIND_PENDING, title, mainHeight).out;
}

export interface TitleMeta {
  done: number;
  /** Highest height whose message reached the quorum (≥ done). */
  recorded: number;
  /** mainHeight of the done commit; meaningful when done > 0. */
  doneMain: number;
}

export function encodeMeta(m: TitleMeta): Uint8Array {
  const out = new Uint8Array(24);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(m.done));
  dv.setBigUint64(8, BigInt(m.recorded));
  dv.setBigUint64(16, BigInt(m.doneMain));
  return out;
}

/** The stored meta (module-written bytes, so a wrong length is state corruption, read as a fresh title's). */
export function decodeMeta(b: Uint8Array | undefined): TitleMeta {
  if (b === undefined || b.length !== 24) return { done: 0, recorded: 0, doneMain: 0 };
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { done: Number(dv.getBigUint64(0)), recorded: Number(dv.getBigUint64(8)), doneMain: Number(dv.getBigUint64(16)) };
}

export interface HeightIndex {
  /** The first message hash that reached the quorum at this height, or null. */
  quorum: Uint8Array | null;
  hashes: Uint8Array[];
}

export function encodeHeightIndex(h: HeightIndex): Uint8Array {
  const out = new Uint8Array(HASH * (1 + h.hashes.length));
  if (h.quorum !== null) out.set(h.quorum, 0);
  h.hashes.forEach((x, i) => out.set(x, HASH * (i + 1)));
  return out;
}

export function decodeHeightIndex(b: Uint8Array | undefined): HeightIndex {
  if (b === undefined || b.length < HASH) return { quorum: null, hashes: [] };
  const q = b.subarray(0, HASH);
  const hashes: Uint8Array[] = [];
  for (let p = HASH; p + HASH <= b.length; p += HASH) hashes.push(b.subarray(p, p + HASH));
  return { quorum: q.some((x) => x !== 0) ? q : null, hashes };
}

export interface CommitRecord {
  readonly message: Uint8Array;
  /** 96-byte compressed aggregate of the signers' signatures. */
  readonly aggregateSignature: Uint8Array;
  /** Encoded bitmap (crypto/bitmap codec) over the title's nodes. */
  readonly signers: Uint8Array;
}

export function encodeRecord(r: CommitRecord): Uint8Array {
  const out = new Uint8Array(4 + r.message.length + COMMIT_SIGNATURE_BYTES + r.signers.length);
  new DataView(out.buffer).setUint32(0, r.message.length);
  out.set(r.message, 4);
  out.set(r.aggregateSignature, 4 + r.message.length);
  out.set(r.signers, 4 + r.message.length + COMMIT_SIGNATURE_BYTES);
  return out;
}

export function decodeRecord(b: Uint8Array | undefined): CommitRecord | null {
  if (b === undefined || b.length < 4) return null;
  const m = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0);
  if (4 + m + COMMIT_SIGNATURE_BYTES > b.length) return null;
  return {
    message: b.subarray(4, 4 + m),
    aggregateSignature: b.subarray(4 + m, 4 + m + COMMIT_SIGNATURE_BYTES),
    signers: b.subarray(4 + m + COMMIT_SIGNATURE_BYTES),
  };
}

export interface PendingWithdrawal {
  readonly index: number;
  readonly to: Uint8Array;
  readonly amount: number;
}

const PENDING_ENTRY = 4 + 32 + 8;

export function encodePending(list: readonly PendingWithdrawal[]): Uint8Array {
  const out = new Uint8Array(list.length * PENDING_ENTRY);
  const dv = new DataView(out.buffer);
  list.forEach((w, i) => {
    const p = i * PENDING_ENTRY;
    dv.setUint32(p, w.index);
    out.set(w.to, p + 4);
    dv.setBigUint64(p + 36, BigInt(w.amount));
  });
  return out;
}

export function decodePending(b: Uint8Array | undefined): PendingWithdrawal[] {
  if (b === undefined) return [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: PendingWithdrawal[] = [];
  for (let p = 0; p + PENDING_ENTRY <= b.length; p += PENDING_ENTRY) {
    out.push({ index: dv.getUint32(p), to: b.subarray(p + 4, p + 36), amount: Number(dv.getBigUint64(p + 36)) });
  }
  return out;
}
