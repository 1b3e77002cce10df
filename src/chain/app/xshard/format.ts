/**
 * Cross-shard formats, version 1 (first byte 0x30; design in README.md beside this file). Integers are big-endian;
 * every structure ends exactly after its last field; decoders never throw (`{ok: false, code, reason}`).
 *
 * **Cross-shard transfer** (op 0x01) — signed by every input account, submitted to every input shard:
 *
 *   size  field
 *      1  tag = 0x30
 *      1  op = 0x01
 *      2  outShard   the shard of `to`
 *     32  to         the credited account (Ed25519 public key)
 *      1  m          inputs, 1..MAX_INPUTS
 *   m × ( 2 shard ‖ 32 from ‖ 8 nonce ‖ 8 amount )     shard = shardOf(from); distinct (shard, from) pairs
 *   m × 64           signature of input i over signingMessage
 *
 *   signingMessage = "quire-xshard-tx-v1" ‖ u8 len(networkId) ‖ networkId ‖ body      (body: the tx before the signatures)
 *   xid            = SHA-256(signingMessage)                                      the transfer's id on every shard
 *
 * **Leg record** — what an input shard's block commits for a destination shard (the Kronos LD / CL):
 *
 *      1  kind      0x01 LD: the source shard's inputs were valid and are held in escrow
 *                   0x02 CL: the source shard's inputs were invalid (nothing debited): abort everywhere
 *     32  xid
 *      2  source    the input shard that executed the legs
 *      2  outShard
 *     32  to
 *      8  amount    Σ of the source shard's input amounts (LD); 0 (CL)
 *      1  k         input shards, 1..MAX_INPUTS, ascending and distinct
 *   k × 2           input shards
 *
 * **Import** (op 0x02) — relayed by anyone to a destination shard; the destination verifies all of it:
 *
 *      1  tag = 0x30
 *      1  op = 0x02
 *      2  source         the input shard
 *      4  P ‖ P          commit proof of the source block h (chain/store/records.ts encodeCommitProofRecord)
 *     32  treeRoot       the source's state-tree root after executing h
 *     32  outboxRoot     the source block's outbox root: MTH(treeRoot, outboxRoot) must be header h+1's parentStateRoot
 *      1  q ‖ q × 32     audit path of destRoot (leaf index = the destination shard) in the outbox tree of S leaves
 *     32  destRoot       RFC 6962 root of the records block h bound for the destination
 *      4  destSize       how many records that is
 *      2  c              items, 1..MAX_IMPORT_ITEMS
 *   c × ( 4 index ‖ 1 q ‖ q × 32 path ‖ 2 L ‖ L record )
 *
 * **Network** (op 0x03) — only in a genesis block: 0x30 ‖ 0x03 ‖ 32 networkDigest, so the genesis hash (and so the
 * manifest's genesis hashes) covers the network section every shard verifies the others with:
 *
 *   networkDigest = SHA-256("quire-network-v1" ‖ u8 len(id) ‖ id ‖ u16 self ‖ u16 S ‖
 *                           S × ( u8 len(chainId) ‖ chainId ‖ u16 n ‖ n × publicKey ))
 *
 * A sharded chain's state root (what header h+1 carries as `parentStateRoot`) seals the outbox:
 * MTH(treeRoot, outboxRoot), outboxRoot = MTH(destRoot_0 … destRoot_{S−1}), destRoot_d = MTH(records bound for d, in
 * block order), MTH({}) = SHA-256(""): RFC 6962 throughout (crypto/merkle.ts).
 */
import type { Hasher } from "../../../crypto/hasher.js";
import { DIGEST_LENGTH } from "../../../crypto/hasher.js";
import { MAX_UINT53 } from "../../../domain/limits.js";
import { utf8 } from "../../../util/bytes.js";
import { QuireError } from "../../../util/errors.js";
import { boundMessage, ED25519_SIGNATURE_BYTES, PUBLIC_KEY_BYTES } from "../accounts/accountTx.js";

export const XSHARD_TX_TAG = 0x30;
export const XSHARD_OP = { transfer: 0x01, import: 0x02, network: 0x03 } as const;
export const XSHARD_DOMAIN = "quire-xshard-tx-v1";
/** Inputs of one transfer (and so input shards). */
export const MAX_INPUTS = 8;
/** Records one import carries. */
export const MAX_IMPORT_ITEMS = 256;
/** Shards of one network: the outbox tree has one leaf per shard. */
export const MAX_SHARDS = 256;
/** Longest commit proof an import may carry, in bytes (64 headers with large result bitmaps stay far below). */
export const MAX_IMPORT_PROOF_BYTES = 256 * 1024;
export const RECORD_KIND = { ld: 0x01, cl: 0x02 } as const;
export type RecordKind = keyof typeof RECORD_KIND;

const INPUT_BYTES = 2 + PUBLIC_KEY_BYTES + 8 + 8;
const TRANSFER_FIXED = 1 + 1 + 2 + PUBLIC_KEY_BYTES + 1;

export type XFormatCode = "TRUNCATED" | "TRAILING_BYTES" | "BAD_TAG" | "BAD_OP" | "BAD_COUNT" | "BAD_AMOUNT" | "BAD_NONCE" | "BAD_SHARD" | "DUPLICATE_INPUT" | "BAD_LENGTH" | "BAD_KIND";

/** Thrown by encoders for input they cannot encode (a caller's bug); decoders return the codes as values. */
export class XFormatError extends QuireError<XFormatCode | "BAD_ARGUMENT"> {}

export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly code: XFormatCode; readonly reason: string };

export interface XInput {
  readonly shard: number;
  readonly from: Uint8Array;
  readonly nonce: number;
  readonly amount: number;
}

export interface XTransfer {
  readonly outShard: number;
  readonly to: Uint8Array;
  readonly inputs: readonly XInput[];
  /** One per input, in input order (empty in an unsigned body). */
  readonly signatures: readonly Uint8Array[];
  /** The bytes the signatures cover, after the network-bound prefix. */
  readonly body: Uint8Array;
}

export interface LegRecord {
  readonly kind: RecordKind;
  readonly xid: Uint8Array;
  readonly source: number;
  readonly outShard: number;
  readonly to: Uint8Array;
  readonly amount: number;
  /** Ascending, distinct. */
  readonly inputShards: readonly number[];
}

export interface ImportItem {
  readonly index: number;
  readonly path: readonly Uint8Array[];
  readonly record: Uint8Array;
}

export interface XImport {
  readonly source: number;
  readonly proof: Uint8Array;
  readonly treeRoot: Uint8Array;
  readonly outboxRoot: Uint8Array;
  readonly destPath: readonly Uint8Array[];
  readonly destRoot: Uint8Array;
  readonly destSize: number;
  readonly items: readonly ImportItem[];
}

// ---- transfer ---------------------------------------------------------------------------------------------------

/** The unsigned body of a transfer. Throws XFormatError. */
export function encodeTransferBody(t: { readonly outShard: number; readonly to: Uint8Array; readonly inputs: readonly XInput[] }): Uint8Array {
  if (!isShard(t.outShard)) throw new XFormatError("BAD_SHARD", `a shard is 0..${MAX_SHARDS - 1}`);
  if (t.to.length !== PUBLIC_KEY_BYTES) throw new XFormatError("BAD_ARGUMENT", `to must be ${PUBLIC_KEY_BYTES} bytes`);
  if (t.inputs.length < 1 || t.inputs.length > MAX_INPUTS) throw new XFormatError("BAD_COUNT", `a transfer has 1..${MAX_INPUTS} inputs`);
  const out = new Uint8Array(TRANSFER_FIXED + t.inputs.length * INPUT_BYTES);
  const dv = new DataView(out.buffer);
  out[0] = XSHARD_TX_TAG;
  out[1] = XSHARD_OP.transfer;
  dv.setUint16(2, t.outShard);
  out.set(t.to, 4);
  out[36] = t.inputs.length;
  let p = TRANSFER_FIXED;
  const seen = new Set<string>();
  for (const i of t.inputs) {
    if (!isShard(i.shard)) throw new XFormatError("BAD_SHARD", `a shard is 0..${MAX_SHARDS - 1}`);
    if (i.from.length !== PUBLIC_KEY_BYTES) throw new XFormatError("BAD_ARGUMENT", `from must be ${PUBLIC_KEY_BYTES} bytes`);
    if (!Number.isSafeInteger(i.nonce) || i.nonce < 0) throw new XFormatError("BAD_NONCE", "nonce must be an integer in [0, 2^53)");
    if (!Number.isSafeInteger(i.amount) || i.amount < 1) throw new XFormatError("BAD_AMOUNT", "amount must be an integer in [1, 2^53)");
    const k = `${i.shard}:${Buffer.from(i.from).toString("hex")}`;
    if (seen.has(k)) throw new XFormatError("DUPLICATE_INPUT", "an account appears twice among the inputs");
    seen.add(k);
    dv.setUint16(p, i.shard);
    out.set(i.from, p + 2);
    dv.setBigUint64(p + 34, BigInt(i.nonce));
    dv.setBigUint64(p + 42, BigInt(i.amount));
    p += INPUT_BYTES;
  }
  return out;
}

/** What each input signs: the domain, the network id and the body. */
export function transferSigningMessage(networkId: Uint8Array, body: Uint8Array): Uint8Array {
  return boundMessage(XSHARD_DOMAIN, networkId, body);
}

/** The transfer's id: SHA-256 of its signing message (the same on every shard). */
export function transferId(networkId: Uint8Array, body: Uint8Array, hasher: Hasher): Uint8Array {
  return hasher.digest(transferSigningMessage(networkId, body));
}

/** Body ‖ signatures (one per input, in order). */
export function attachSignatures(body: Uint8Array, signatures: readonly Uint8Array[]): Uint8Array {
  const m = body[36];
  if (m === undefined || signatures.length !== m) throw new XFormatError("BAD_ARGUMENT", "one signature per input");
  const out = new Uint8Array(body.length + m * ED25519_SIGNATURE_BYTES);
  out.set(body, 0);
  signatures.forEach((s, i) => {
    if (s.length !== ED25519_SIGNATURE_BYTES) throw new XFormatError("BAD_ARGUMENT", `a signature is ${ED25519_SIGNATURE_BYTES} bytes`);
    out.set(s, body.length + i * ED25519_SIGNATURE_BYTES);
  });
  return out;
}

export function decodeTransfer(tx: Uint8Array): Decoded<XTransfer> {
  if (tx.length < 2 || tx[0] !== XSHARD_TX_TAG) return bad("BAD_TAG", "not a cross-shard tx (first byte 0x30)");
  if (tx[1] !== XSHARD_OP.transfer) return bad("BAD_OP", "not a cross-shard transfer (op 0x01)");
  if (tx.length < TRANSFER_FIXED) return bad("TRUNCATED", "the tx ends inside its header");
  const dv = new DataView(tx.buffer, tx.byteOffset, tx.byteLength);
  const outShard = dv.getUint16(2);
  if (!isShard(outShard)) return bad("BAD_SHARD", `out shard ${outShard} is over ${MAX_SHARDS - 1}`);
  const m = tx[36]!;
  if (m < 1 || m > MAX_INPUTS) return bad("BAD_COUNT", `a transfer has 1..${MAX_INPUTS} inputs, not ${m}`);
  const bodyEnd = TRANSFER_FIXED + m * INPUT_BYTES;
  const end = bodyEnd + m * ED25519_SIGNATURE_BYTES;
  if (tx.length < end) return bad("TRUNCATED", "the tx ends before its last signature");
  if (tx.length > end) return bad("TRAILING_BYTES", `${tx.length - end} bytes after the last signature`);
  const inputs: XInput[] = [];
  const seen = new Set<string>();
  for (let k = 0, p = TRANSFER_FIXED; k < m; k++, p += INPUT_BYTES) {
    const shard = dv.getUint16(p);
    if (!isShard(shard)) return bad("BAD_SHARD", `input shard ${shard} is over ${MAX_SHARDS - 1}`);
    const nonce = dv.getBigUint64(p + 34);
    const amount = dv.getBigUint64(p + 42);
    if (nonce > BigInt(MAX_UINT53)) return bad("BAD_NONCE", "nonce above 2^53 - 1");
    if (amount < 1n || amount > BigInt(MAX_UINT53)) return bad("BAD_AMOUNT", "amount outside 1 .. 2^53 - 1");
    const from = tx.subarray(p + 2, p + 34);
    const key = `${shard}:${Buffer.from(from).toString("hex")}`;
    if (seen.has(key)) return bad("DUPLICATE_INPUT", "an account appears twice among the inputs");
    seen.add(key);
    inputs.push({ shard, from, nonce: Number(nonce), amount: Number(amount) });
  }
  const signatures: Uint8Array[] = [];
  for (let k = 0; k < m; k++) signatures.push(tx.subarray(bodyEnd + k * ED25519_SIGNATURE_BYTES, bodyEnd + (k + 1) * ED25519_SIGNATURE_BYTES));
  return { ok: true, value: { outShard, to: tx.subarray(4, 36), inputs, signatures, body: tx.subarray(0, bodyEnd) } };
}

/** The distinct input shards of a transfer, ascending. */
export function inputShardsOf(t: { readonly inputs: readonly XInput[] }): number[] {
  return [...new Set(t.inputs.map((i) => i.shard))].sort((a, b) => a - b);
}

// ---- network ---------------------------------------------------------------------------------------------------

/** The digest of a shard's view of its network (layout in the module comment). */
export function networkDigest(net: { readonly id: Uint8Array; readonly self: number; readonly shards: readonly { readonly chainId: Uint8Array; readonly validators: readonly Uint8Array[] }[] }, hasher: Hasher): Uint8Array {
  const parts: number[] = [...utf8("quire-network-v1"), net.id.length, ...net.id, net.self >> 8, net.self & 0xff, net.shards.length >> 8, net.shards.length & 0xff];
  for (const s of net.shards) {
    parts.push(s.chainId.length, ...s.chainId, s.validators.length >> 8, s.validators.length & 0xff);
    for (const k of s.validators) parts.push(...k);
  }
  return hasher.digest(Uint8Array.from(parts));
}

/** The genesis tx that binds the network section into the genesis block. */
export function encodeNetworkTx(digest: Uint8Array): Uint8Array {
  if (digest.length !== DIGEST_LENGTH) throw new XFormatError("BAD_ARGUMENT", "a network digest is 32 bytes");
  const out = new Uint8Array(2 + DIGEST_LENGTH);
  out[0] = XSHARD_TX_TAG;
  out[1] = XSHARD_OP.network;
  out.set(digest, 2);
  return out;
}

// ---- leg record --------------------------------------------------------------------------------------------------

export function encodeRecord(r: LegRecord): Uint8Array {
  const k = r.inputShards.length;
  if (k < 1 || k > MAX_INPUTS) throw new XFormatError("BAD_COUNT", `a record names 1..${MAX_INPUTS} input shards`);
  const out = new Uint8Array(1 + 32 + 2 + 2 + 32 + 8 + 1 + 2 * k);
  const dv = new DataView(out.buffer);
  out[0] = RECORD_KIND[r.kind];
  out.set(r.xid, 1);
  dv.setUint16(33, r.source);
  dv.setUint16(35, r.outShard);
  out.set(r.to, 37);
  dv.setBigUint64(69, BigInt(r.amount));
  out[77] = k;
  r.inputShards.forEach((s, i) => dv.setUint16(78 + 2 * i, s));
  return out;
}

export function decodeRecord(b: Uint8Array): Decoded<LegRecord> {
  if (b.length < 78) return bad("TRUNCATED", "a record is at least 80 bytes (one input shard)");
  const kind = b[0] === RECORD_KIND.ld ? "ld" : b[0] === RECORD_KIND.cl ? "cl" : null;
  if (kind === null) return bad("BAD_KIND", "a record is an LD (0x01) or a CL (0x02)");
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const k = b[77]!;
  if (k < 1 || k > MAX_INPUTS) return bad("BAD_COUNT", `a record names 1..${MAX_INPUTS} input shards`);
  if (b.length !== 78 + 2 * k) return bad(b.length < 78 + 2 * k ? "TRUNCATED" : "TRAILING_BYTES", "record length does not match its shard count");
  const amount = dv.getBigUint64(69);
  if (amount > BigInt(MAX_UINT53) || (kind === "ld" ? amount < 1n : amount !== 0n)) return bad("BAD_AMOUNT", "an LD carries 1 .. 2^53 - 1, a CL 0");
  const inputShards: number[] = [];
  for (let i = 0; i < k; i++) {
    const s = dv.getUint16(78 + 2 * i);
    if (!isShard(s) || (i > 0 && s <= inputShards[i - 1]!)) return bad("BAD_SHARD", "input shards must be ascending, distinct and below the shard limit");
    inputShards.push(s);
  }
  const source = dv.getUint16(33);
  const outShard = dv.getUint16(35);
  if (!isShard(outShard) || !inputShards.includes(source)) return bad("BAD_SHARD", "the source must be one of the input shards");
  return { ok: true, value: { kind, xid: b.subarray(1, 33), source, outShard, to: b.subarray(37, 69), amount: Number(amount), inputShards } };
}

// ---- import ------------------------------------------------------------------------------------------------------

export function encodeImport(x: XImport): Uint8Array {
  if (x.items.length < 1 || x.items.length > MAX_IMPORT_ITEMS) throw new XFormatError("BAD_COUNT", `an import carries 1..${MAX_IMPORT_ITEMS} records`);
  let size = 1 + 1 + 2 + 4 + x.proof.length + 32 + 32 + 1 + 32 * x.destPath.length + 32 + 4 + 2;
  for (const it of x.items) size += 4 + 1 + 32 * it.path.length + 2 + it.record.length;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let p = 0;
  out[p++] = XSHARD_TX_TAG;
  out[p++] = XSHARD_OP.import;
  dv.setUint16(p, x.source);
  p += 2;
  dv.setUint32(p, x.proof.length);
  out.set(x.proof, p + 4);
  p += 4 + x.proof.length;
  out.set(x.treeRoot, p);
  out.set(x.outboxRoot, p + 32);
  p += 64;
  p = writePath(out, p, x.destPath);
  out.set(x.destRoot, p);
  p += 32;
  dv.setUint32(p, x.destSize);
  dv.setUint16(p + 4, x.items.length);
  p += 6;
  for (const it of x.items) {
    dv.setUint32(p, it.index);
    p = writePath(out, p + 4, it.path);
    dv.setUint16(p, it.record.length);
    out.set(it.record, p + 2);
    p += 2 + it.record.length;
  }
  return out;
}

export function decodeImport(tx: Uint8Array): Decoded<XImport> {
  if (tx.length < 2 || tx[0] !== XSHARD_TX_TAG) return bad("BAD_TAG", "not a cross-shard tx (first byte 0x30)");
  if (tx[1] !== XSHARD_OP.import) return bad("BAD_OP", "not an import (op 0x02)");
  const r = new Cursor(tx, 2);
  const source = r.u16();
  const proofLen = r.u32();
  if (proofLen !== undefined && proofLen > MAX_IMPORT_PROOF_BYTES) return bad("BAD_LENGTH", `a commit proof of ${proofLen} bytes is over ${MAX_IMPORT_PROOF_BYTES}`);
  const proof = r.bytes(proofLen ?? 0);
  const treeRoot = r.bytes(DIGEST_LENGTH);
  const outboxRoot = r.bytes(DIGEST_LENGTH);
  const destPath = r.path();
  const destRoot = r.bytes(DIGEST_LENGTH);
  const destSize = r.u32();
  const count = r.u16();
  if (r.truncated || source === undefined || proof === undefined || treeRoot === undefined || outboxRoot === undefined || destPath === undefined || destRoot === undefined || destSize === undefined || count === undefined) {
    return bad("TRUNCATED", "the import ends inside its header");
  }
  if (!isShard(source)) return bad("BAD_SHARD", `source shard ${source} is over ${MAX_SHARDS - 1}`);
  if (count < 1 || count > MAX_IMPORT_ITEMS) return bad("BAD_COUNT", `an import carries 1..${MAX_IMPORT_ITEMS} records, not ${count}`);
  const items: ImportItem[] = [];
  for (let i = 0; i < count; i++) {
    const index = r.u32();
    const path = r.path();
    const len = r.u16();
    const record = r.bytes(len ?? 0);
    if (r.truncated || index === undefined || path === undefined || record === undefined) return bad("TRUNCATED", `the import ends inside record ${i}`);
    items.push({ index, path, record });
  }
  if (r.pos !== tx.length) return bad("TRAILING_BYTES", `${tx.length - r.pos} bytes after the last record`);
  return { ok: true, value: { source, proof, treeRoot, outboxRoot, destPath, destRoot, destSize, items } };
}

function writePath(out: Uint8Array, p: number, path: readonly Uint8Array[]): number {
  if (path.length > 64) throw new XFormatError("BAD_LENGTH", "an audit path has at most 64 nodes");
  out[p++] = path.length;
  for (const h of path) {
    out.set(h, p);
    p += 32;
  }
  return p;
}

class Cursor {
  truncated = false;
  private readonly dv: DataView;

  constructor(
    private readonly b: Uint8Array,
    public pos: number,
  ) {
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  private take(n: number): number | undefined {
    if (this.truncated || this.pos + n > this.b.length) {
      this.truncated = true;
      return undefined;
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u16(): number | undefined {
    const at = this.take(2);
    return at === undefined ? undefined : this.dv.getUint16(at);
  }

  u32(): number | undefined {
    const at = this.take(4);
    return at === undefined ? undefined : this.dv.getUint32(at);
  }

  bytes(n: number): Uint8Array | undefined {
    const at = this.take(n);
    return at === undefined ? undefined : this.b.subarray(at, at + n);
  }

  path(): Uint8Array[] | undefined {
    const at = this.take(1);
    if (at === undefined) return undefined;
    const q = this.b[at]!;
    const out: Uint8Array[] = [];
    for (let i = 0; i < q; i++) {
      const h = this.bytes(DIGEST_LENGTH);
      if (h === undefined) return undefined;
      out.push(h);
    }
    return out;
  }
}

function isShard(s: number): boolean {
  return Number.isInteger(s) && s >= 0 && s < MAX_SHARDS;
}

function bad(code: XFormatCode, reason: string): { ok: false; code: XFormatCode; reason: string } {
  return { ok: false, code, reason };
}
