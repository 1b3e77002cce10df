/**
 * The byte layout of everything a chain store keeps: blocks, QCs, per-height commit records, tx locations and the
 * head pointer. Both stores use it (the memory store too, so that it keeps no reference to caller-owned buffers and
 * so that the compliance suite exercises the same codec on both).
 *
 * This is a storage format, not a wire format: it is versioned by CHAIN_SCHEMA_VERSION (interface.ts) and only ever
 * read back by the code that wrote it. Integers are big-endian; uint64 fields hold safe integers (< 2^53).
 * Variable fields carry a uint32 length. Decoding checks every length against the buffer and throws
 * `ChainStoreError("CORRUPT")` on anything that does not parse exactly: bad stored bytes are a damaged data
 * directory, an invariant break that stops the node.
 *
 *   header       parent(32) view(u64) height(u64) proposer(u32) timestampMs(u64) txRoot(32) parentStateRoot(32)
 *                flaggedLen(u32) parentResults [len(u32) parentSigners]
 *                (flaggedLen's top bit set: parentSigners follows; it is set only when they are not empty, so headers
 *                without signers — every header stored by schema 2 — keep their bytes)
 *   block        header  txCount(u32)  { len(u32) tx }*
 *   qc           view(u64) blockHash(32) len(u32) signers len(u32) aggregateSignature
 *   commit       hash(32) stateRoot(32) len(u32) results qc          (value of the height index)
 *   txLocation   height(u64) index(u32) ok(u8)                         (value of the tx index)
 *   pending      flags(u8: 1 = qc, 2 = parentQc) block [qc] [parentQc] (value of the fork database, key = hash)
 *   head         height(u64) hash(32)
 *   pendingTx    seq(u64) len(u32) origin(UTF-8) len(u32) tx           (value of the pending-tx table, key = tx id)
 *   safety       version(u8 = 2) lastVotedView(u64) highQc lastProposedView(u64) flags(u8: 1 = vote, 2 = timeout, 4 = tc)
 *                [vote: view(u64) blockHash(32) voter(u32) len(u32) signature]
 *                [timeout: view(u64) highQc voter(u32) len(u32) signature]
 *                [tc: view(u64) len(u32) signers count(u32) highQcView(u64)* len(u32) aggregateSignature highQc]
 *   safety v3    version(u8 = 3) epoch(u64) then exactly the version-2 body (from lastVotedView on)
 *   epochEnd     count(u32) { block qc }*   (value of meta "epochEnd/" u64 endedEpoch: the certified blocks above
 *                             the epoch's last block, up to the two-chain that committed it)
 *
 * The safety state is per epoch (each epoch runs a fresh consensus core). Epoch 0 is written as version 2, so data
 * directories and records from before epochs are byte-identical; versions 1 and 2 read as epoch 0.
 * Safety version 1 is the same without the TC's carried highQc (protocol version 1). It is still read, with its TC
 * dropped: a TC without the QC it now must carry cannot be sent or proposed with, and nothing safety-critical rests on
 * the last TC (it only moves the replica to the next view and helps laggards; the next TC or QC replaces it), so a
 * data directory survives the upgrade.
 */
import { ChainStoreError } from "../errors.js";
import { writeU64BE } from "../../util/bytes.js";
import type { Block, BlockHeader, Hash, QuorumCert, Timeout, TimeoutCert, Vote } from "../../domain/types.js";
import { HASH_BYTES } from "../../domain/limits.js";
import type { ChainHead, PendingBlock, PendingTx, TxLocation } from "./interface.js";


/** Sequential writer over a buffer sized in advance (every encoder computes its exact size first). */
class Writer {
  readonly out: Uint8Array;
  private readonly dv: DataView;
  private pos = 0;

  constructor(size: number) {
    this.out = new Uint8Array(size);
    this.dv = new DataView(this.out.buffer);
  }
  u8(v: number): void {
    this.out[this.pos++] = v;
  }
  u32(v: number): void {
    this.dv.setUint32(this.pos, v);
    this.pos += 4;
  }
  u64(v: number): void {
    writeU64BE(this.dv, this.pos, v);
    this.pos += 8;
  }
  fixed(b: Uint8Array): void {
    this.out.set(b, this.pos);
    this.pos += b.length;
  }
  sized(b: Uint8Array): void {
    this.u32(b.length);
    this.fixed(b);
  }
  finish(): Uint8Array {
    if (this.pos !== this.out.length) throw new Error(`record writer: wrote ${this.pos} of ${this.out.length} bytes`);
    return this.out;
  }
}

/**
 * Sequential reader; every overrun is `CORRUPT`. Returned byte fields are copies (stores may reuse read buffers).
 * Exported for formats that embed these records (node/geo/messages.ts), which turn CORRUPT into their own code.
 */
export class Reader {
  private readonly dv: DataView;
  private pos = 0;

  constructor(
    private readonly b: Uint8Array,
    private readonly what: string,
  ) {
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  private need(n: number): void {
    if (this.pos + n > this.b.length) throw corrupt(`${this.what}: truncated at byte ${this.pos}`);
  }
  u8(): number {
    this.need(1);
    return this.b[this.pos++]!;
  }
  u32(): number {
    this.need(4);
    const v = this.dv.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): number {
    this.need(8);
    const v = this.dv.getUint32(this.pos) * 2 ** 32 + this.dv.getUint32(this.pos + 4);
    this.pos += 8;
    if (!Number.isSafeInteger(v)) throw corrupt(`${this.what}: integer beyond 2^53 at byte ${this.pos - 8}`);
    return v;
  }
  fixed(n: number): Uint8Array {
    this.need(n);
    const v = this.b.slice(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  sized(): Uint8Array {
    return this.fixed(this.u32());
  }
  end(): void {
    if (this.pos !== this.b.length) throw corrupt(`${this.what}: ${this.b.length - this.pos} trailing bytes`);
  }
}

function corrupt(message: string): ChainStoreError {
  return new ChainStoreError("CORRUPT", `stored record is damaged: ${message}`);
}

// ---- sizes ----------------------------------------------------------------------------------------------------

const HEADER_FIXED = 32 + 8 + 8 + 4 + 8 + 32 + 32 + 4;

/** Top bit of a header's parentResults length: parentSigners follow (results are far below 2^31 bytes). */
const SIGNERS_FLAG = 0x8000_0000;

function headerSize(h: BlockHeader): number {
  return HEADER_FIXED + h.parentResults.length + (h.parentSigners.length === 0 ? 0 : 4 + h.parentSigners.length);
}
function blockSize(b: Block): number {
  let n = headerSize(b.header) + 4;
  for (const tx of b.txs) n += 4 + tx.length;
  return n;
}
function qcSize(qc: QuorumCert): number {
  return 8 + HASH_BYTES + 4 + qc.signers.length + 4 + qc.aggregateSignature.length;
}

// ---- writers --------------------------------------------------------------------------------------------------

function writeHeader(w: Writer, h: BlockHeader): void {
  w.fixed(h.parent);
  w.u64(h.view);
  w.u64(h.height);
  w.u32(h.proposer);
  w.u64(h.timestampMs);
  w.fixed(h.txRoot);
  w.fixed(h.parentStateRoot);
  const signers = h.parentSigners.length !== 0;
  w.u32(h.parentResults.length | (signers ? SIGNERS_FLAG : 0));
  w.fixed(h.parentResults);
  if (signers) w.sized(h.parentSigners);
}
function writeBlock(w: Writer, b: Block): void {
  writeHeader(w, b.header);
  w.u32(b.txs.length);
  for (const tx of b.txs) w.sized(tx);
}
function writeQc(w: Writer, qc: QuorumCert): void {
  w.u64(qc.view);
  w.fixed(qc.blockHash);
  w.sized(qc.signers);
  w.sized(qc.aggregateSignature);
}

// ---- readers --------------------------------------------------------------------------------------------------

function readHeader(r: Reader): BlockHeader {
  return {
    parent: r.fixed(HASH_BYTES),
    view: r.u64(),
    height: r.u64(),
    proposer: r.u32(),
    timestampMs: r.u64(),
    txRoot: r.fixed(HASH_BYTES),
    parentStateRoot: r.fixed(HASH_BYTES),
    ...readResultsAndSigners(r),
  };
}
function readResultsAndSigners(r: Reader): { parentResults: Uint8Array; parentSigners: Uint8Array } {
  const flagged = r.u32();
  const parentResults = r.fixed(flagged & 0x7fff_ffff);
  const parentSigners = (flagged & SIGNERS_FLAG) === 0 ? new Uint8Array(0) : r.sized();
  return { parentResults, parentSigners };
}
function readBlock(r: Reader): Block {
  const header = readHeader(r);
  const count = r.u32();
  const txs: Uint8Array[] = [];
  for (let i = 0; i < count; i++) txs.push(r.sized());
  return { header, txs };
}
function readQc(r: Reader): QuorumCert {
  return { view: r.u64(), blockHash: r.fixed(HASH_BYTES), signers: r.sized(), aggregateSignature: r.sized() };
}

// ---- public encoders / decoders -------------------------------------------------------------------------------

export function encodeBlockRecord(b: Block): Uint8Array {
  const w = new Writer(blockSize(b));
  writeBlock(w, b);
  return w.finish();
}
export function decodeBlockRecord(bytes: Uint8Array): Block {
  const r = new Reader(bytes, "block");
  const b = readBlock(r);
  r.end();
  return b;
}

export function encodeQcRecord(qc: QuorumCert): Uint8Array {
  const w = new Writer(qcSize(qc));
  writeQc(w, qc);
  return w.finish();
}
export function decodeQcRecord(bytes: Uint8Array): QuorumCert {
  const r = new Reader(bytes, "qc");
  const qc = readQc(r);
  r.end();
  return qc;
}

/**
 * A commit proof (consensus/commitProof.ts) in the same header and QC layouts: count(u8) header* qc qc. Also carried
 * inside cross-shard import txs (chain/app/xshard), where it is untrusted: that decoder turns CORRUPT into its own
 * refusal code. Decoded byte fields are copies.
 */
export function encodeCommitProofRecord(p: { readonly headers: readonly BlockHeader[]; readonly qcs: readonly [QuorumCert, QuorumCert] }): Uint8Array {
  if (p.headers.length > 255) throw new ChainStoreError("CORRUPT", "a commit proof holds at most 255 headers");
  let size = 1 + qcSize(p.qcs[0]) + qcSize(p.qcs[1]);
  for (const h of p.headers) size += headerSize(h);
  const w = new Writer(size);
  w.u8(p.headers.length);
  for (const h of p.headers) writeHeader(w, h);
  writeQc(w, p.qcs[0]);
  writeQc(w, p.qcs[1]);
  return w.finish();
}
export function decodeCommitProofRecord(bytes: Uint8Array): { headers: BlockHeader[]; qcs: [QuorumCert, QuorumCert] } {
  const r = new Reader(bytes, "commit proof");
  const n = r.u8();
  const headers: BlockHeader[] = [];
  for (let i = 0; i < n; i++) headers.push(readHeader(r));
  const qcs: [QuorumCert, QuorumCert] = [readQc(r), readQc(r)];
  r.end();
  return { headers, qcs };
}

/**
 * The proof that ended an epoch (ChainStore.beginEpoch): the certified blocks above its last block E, each with its
 * QC, up to the two-chain that committed E.
 */
export type EpochEndRecord = readonly { readonly block: Block; readonly qc: QuorumCert }[];
export function encodeEpochEndRecord(e: EpochEndRecord): Uint8Array {
  let size = 4;
  for (const c of e) size += blockSize(c.block) + qcSize(c.qc);
  const w = new Writer(size);
  w.u32(e.length);
  for (const c of e) {
    writeBlock(w, c.block);
    writeQc(w, c.qc);
  }
  return w.finish();
}
export function decodeEpochEndRecord(bytes: Uint8Array): EpochEndRecord {
  const r = new Reader(bytes, "epoch end");
  const count = r.u32();
  // Each entry takes far more than one byte: a count the bytes cannot hold is damage, not a reason to allocate.
  if (count < 1 || count > bytes.length) throw corrupt(`epoch end: ${count} blocks in ${bytes.length} bytes`);
  const out: { block: Block; qc: QuorumCert }[] = [];
  for (let i = 0; i < count; i++) out.push({ block: readBlock(r), qc: readQc(r) });
  r.end();
  return out;
}

/** What the height index holds for one committed height (the block itself is stored by hash). */
export interface CommitRecord {
  readonly hash: Hash;
  readonly stateRoot: Hash;
  readonly results: Uint8Array;
  readonly qc: QuorumCert;
}
export function encodeCommitRecord(c: CommitRecord): Uint8Array {
  const w = new Writer(HASH_BYTES * 2 + 4 + c.results.length + qcSize(c.qc));
  w.fixed(c.hash);
  w.fixed(c.stateRoot);
  w.sized(c.results);
  writeQc(w, c.qc);
  return w.finish();
}
export function decodeCommitRecord(bytes: Uint8Array): CommitRecord {
  const r = new Reader(bytes, "commit record");
  const c = { hash: r.fixed(HASH_BYTES), stateRoot: r.fixed(HASH_BYTES), results: r.sized(), qc: readQc(r) };
  r.end();
  return c;
}

export const TX_LOCATION_BYTES = 13;
export function encodeTxLocation(t: TxLocation): Uint8Array {
  const w = new Writer(TX_LOCATION_BYTES);
  w.u64(t.height);
  w.u32(t.index);
  w.u8(t.ok ? 1 : 0);
  return w.finish();
}
export function decodeTxLocation(bytes: Uint8Array): TxLocation {
  const r = new Reader(bytes, "tx location");
  const height = r.u64();
  const index = r.u32();
  const ok = r.u8();
  r.end();
  if (ok > 1) throw corrupt(`tx location: ok flag ${ok}`);
  return { height, index, ok: ok === 1 };
}

export function encodePendingRecord(p: PendingBlock): Uint8Array {
  const w = new Writer(1 + blockSize(p.block) + (p.qc === null ? 0 : qcSize(p.qc)) + (p.parentQc === null ? 0 : qcSize(p.parentQc)));
  w.u8((p.qc === null ? 0 : 1) | (p.parentQc === null ? 0 : 2));
  writeBlock(w, p.block);
  if (p.qc !== null) writeQc(w, p.qc);
  if (p.parentQc !== null) writeQc(w, p.parentQc);
  return w.finish();
}
export function decodePendingRecord(hash: Hash, bytes: Uint8Array): PendingBlock {
  const r = new Reader(bytes, "pending block");
  const flags = r.u8();
  if (flags > 3) throw corrupt(`pending block: flags ${flags}`);
  const block = readBlock(r);
  const qc = flags & 1 ? readQc(r) : null;
  const parentQc = flags & 2 ? readQc(r) : null;
  r.end();
  return { block, hash: hash.slice(), qc, parentQc };
}

/**
 * A client transaction acknowledged but not yet committed. `seq` orders the replay after a restart (a client's txs go
 * back into the mempool in the order it submitted them); the origin is the client's id, so quotas hold after a replay.
 */
export function encodePendingTxRecord(p: PendingTx): Uint8Array {
  const origin = utf8Encoder.encode(p.origin);
  const w = new Writer(8 + 4 + origin.length + 4 + p.tx.length);
  w.u64(p.seq);
  w.sized(origin);
  w.sized(p.tx);
  return w.finish();
}
export function decodePendingTxRecord(id: Hash, bytes: Uint8Array): PendingTx {
  const r = new Reader(bytes, "pending tx");
  const seq = r.u64();
  const originBytes = r.sized();
  const tx = r.sized();
  r.end();
  let origin: string;
  try {
    origin = utf8Decoder.decode(originBytes);
  } catch {
    throw corrupt("pending tx: origin is not UTF-8");
  }
  return { id: id.slice(), seq, origin, tx };
}
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

export function encodeHead(h: ChainHead): Uint8Array {
  const w = new Writer(8 + HASH_BYTES);
  w.u64(h.height);
  w.fixed(h.hash);
  return w.finish();
}
export function decodeHead(bytes: Uint8Array): ChainHead {
  const r = new Reader(bytes, "head");
  const h = { height: r.u64(), hash: r.fixed(HASH_BYTES) };
  r.end();
  return h;
}

export function encodeU32(v: number): Uint8Array {
  const w = new Writer(4);
  w.u32(v);
  return w.finish();
}
export function decodeU32(bytes: Uint8Array, what: string): number {
  const r = new Reader(bytes, what);
  const v = r.u32();
  r.end();
  return v;
}

/** Height index key: uint64 big-endian, so that byte order is height order. */
export function heightKey(height: number): Uint8Array {
  const w = new Writer(8);
  w.u64(height);
  return w.finish();
}

// ---- the consensus safety state ------------------------------------------------------------------------------------

/**
 * The consensus core's `SafetyState`, structurally (src/consensus/types.ts): what `ChainStore.saveSafetyState` keeps
 * as opaque bytes. The node encodes it with `encodeSafetyRecord` before saving it and decodes it after a restart.
 */
export interface SafetyRecord {
  /** The epoch whose consensus core this state belongs to (0 before any validator-set change). */
  readonly epoch: number;
  readonly lastVotedView: number;
  readonly highQc: QuorumCert;
  readonly lastProposedView: number;
  readonly lastVote: Vote | null;
  readonly lastTimeout: Timeout | null;
  readonly lastTc: TimeoutCert | null;
}

const SAFETY_VERSION = 2;
/** Version 2 prefixed with the epoch; written only for epochs above 0. */
const SAFETY_VERSION_EPOCH = 3;
/** The previous layout, read with its TC dropped (see the module comment). */
const SAFETY_VERSION_NO_TC_QC = 1;

export function encodeSafetyRecord(s: SafetyRecord): Uint8Array {
  const { lastVote: v, lastTimeout: t, lastTc: tc } = s;
  const withEpoch = s.epoch !== 0;
  let size = 1 + (withEpoch ? 8 : 0) + 8 + qcSize(s.highQc) + 8 + 1;
  if (v !== null) size += 8 + HASH_BYTES + 4 + 4 + v.signature.length;
  if (t !== null) size += 8 + qcSize(t.highQc) + 4 + 4 + t.signature.length;
  if (tc !== null) size += 8 + 4 + tc.signers.length + 4 + 8 * tc.highQcViews.length + 4 + tc.aggregateSignature.length + qcSize(tc.highQc);
  const w = new Writer(size);
  if (withEpoch) {
    w.u8(SAFETY_VERSION_EPOCH);
    w.u64(s.epoch);
  } else w.u8(SAFETY_VERSION);
  w.u64(s.lastVotedView);
  writeQc(w, s.highQc);
  w.u64(s.lastProposedView);
  w.u8((v === null ? 0 : 1) | (t === null ? 0 : 2) | (tc === null ? 0 : 4));
  if (v !== null) {
    w.u64(v.view);
    w.fixed(v.blockHash);
    w.u32(v.voter);
    w.sized(v.signature);
  }
  if (t !== null) {
    w.u64(t.view);
    writeQc(w, t.highQc);
    w.u32(t.voter);
    w.sized(t.signature);
  }
  if (tc !== null) {
    w.u64(tc.view);
    w.sized(tc.signers);
    w.u32(tc.highQcViews.length);
    for (const view of tc.highQcViews) w.u64(view);
    w.sized(tc.aggregateSignature);
    writeQc(w, tc.highQc);
  }
  return w.finish();
}

export function decodeSafetyRecord(bytes: Uint8Array): SafetyRecord {
  const r = new Reader(bytes, "safety state");
  const version = r.u8();
  if (version !== SAFETY_VERSION_EPOCH && version !== SAFETY_VERSION && version !== SAFETY_VERSION_NO_TC_QC) throw corrupt(`safety state: unknown version ${version}`);
  const epoch = version === SAFETY_VERSION_EPOCH ? r.u64() : 0;
  const lastVotedView = r.u64();
  const highQc = readQc(r);
  const lastProposedView = r.u64();
  const flags = r.u8();
  if (flags > 7) throw corrupt(`safety state: flags ${flags}`);
  const lastVote: Vote | null = flags & 1 ? { view: r.u64(), blockHash: r.fixed(HASH_BYTES), voter: r.u32(), signature: r.sized() } : null;
  const lastTimeout: Timeout | null = flags & 2 ? { view: r.u64(), highQc: readQc(r), voter: r.u32(), signature: r.sized() } : null;
  let lastTc: TimeoutCert | null = null;
  if (flags & 4) {
    const view = r.u64();
    const signers = r.sized();
    const count = r.u32();
    // Each view takes 8 bytes: a count the remaining bytes cannot hold is damage, not a reason to allocate.
    if (count * 8 > bytes.length) throw corrupt(`safety state: ${count} high-QC views in ${bytes.length} bytes`);
    const highQcViews: number[] = [];
    for (let i = 0; i < count; i++) highQcViews.push(r.u64());
    const aggregateSignature = r.sized();
    if (version !== SAFETY_VERSION_NO_TC_QC) lastTc = { view, signers, highQcViews, aggregateSignature, highQc: readQc(r) };
  }
  r.end();
  return { epoch, lastVotedView, highQc, lastProposedView, lastVote, lastTimeout, lastTc };
}
