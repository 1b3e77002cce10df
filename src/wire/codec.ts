/**
 * The only code that reads or writes Quire's FlatBuffers tables (schema: quire.fbs, generated code: generated/).
 *
 * Encoding goes through one reused `flatbuffers.Builder` per `WireEncoder` (cleared between messages) and the
 * generated start/add/end helpers; uint64 fields are written as two uint32 halves instead of the generated BigInt
 * adders (with the generated `Vote.createVote(BigInt(view))` a vote took 355-387 ns against 222-227 ns this way:
 * the adders parse `BigInt('0')` and split the value with BigInt shifts on every call).
 *
 * Decoding does not use the generated accessors: the TypeScript runtime has no verifier and its accessors read out of
 * bounds silently (`bytes[i]` past the end is `undefined`, which reads as 0). Instead every table, vtable, field,
 * offset and vector is checked against the buffer while it is read, in one pass, and anything wrong becomes a
 * `WireError` with a code. Termination: FlatBuffers offsets (uoffset) only point forward and the schema has no
 * recursion, so the reader follows a bounded number of offsets per object; every loop runs over a vector whose length
 * was checked against the buffer and against a limit first. Amplification: every table, vector and transaction that
 * is decoded is charged the bytes it must occupy in an honest buffer, and the total may not exceed the buffer size
 * (`ALIASED`), so a small message that points many offsets at the same bytes cannot expand into a huge object graph.
 *
 * Decoded byte fields are zero-copy `subarray` views of the input (see types.ts on buffer lifetime).
 */
import { Builder } from "flatbuffers";
import * as fb from "./generated/quire_generated.js";
import { high32 } from "../util/bytes.js";
import { WireError } from "./errors.js";
import type { WireErrorCode } from "./errors.js";
import {
  HASH_BYTES,
  MAX_BITMAP_BYTES,
  MAX_CERT_SIGNERS,
  MAX_CHAIN_ID_BYTES,
  MAX_MESSAGE_BYTES,
  MAX_ORIGIN_BYTES,
  MAX_SYNC_BLOCKS,
  MAX_SYNC_TXS,
  MAX_TXS_PER_BATCH,
  MAX_TXS_PER_BLOCK,
  MAX_TX_BYTES,
  NONCE_BYTES,
  EPHEMERAL_KEY_BYTES,
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
  VOTE_SIGNATURE_BYTES,
} from "../domain/limits.js";
import type {
  Block,
  BlockHeader,
  CertifiedBlock,
  Handshake,
  Hello,
  Message,
  Proposal,
  QuorumCert,
  SyncRequest,
  SyncResponse,
  Timeout,
  TimeoutCert,
  TxBatch,
  Vote,
} from "../domain/types.js";

/** The schema's file_identifier: bytes 4..7 of every message. */
export const FILE_IDENTIFIER = "QWR1";
const ID0 = 0x51; // Q
const ID1 = 0x57; // W
const ID2 = 0x52; // R
const ID3 = 0x31; // 1
/** Root offset + file identifier: nothing shorter can be a message. */
const MIN_MESSAGE_BYTES = 8;
/** Largest high word of a uint64 that still fits 2^53 - 1. */
const MAX_HI = 0x1fffff;

// Field slots: the declaration index of each field in quire.fbs (a union field takes two: type, then value).
// The encoder uses them for uint64 fields and the decoder for everything; the round-trip test reads the encoder's
// output with the generated accessors, which would catch a slot that disagrees with the schema.
const enum EnvelopeF { messageType = 0, message = 1, epoch = 2 }
// The generated Envelope predates the epoch field (flatc was not at hand; its startEnvelope reserves 2 slots), so the
// encoder writes the envelope table itself with all 3, and the tests check the epoch slot with a hand-built envelope.
const ENVELOPE_FIELDS = 3;
const enum HandshakeF { version = 0, chainId, publicKey, nonce, peerNonce, signature, ephemeralKey }
const enum HelloF { chainId = 0, committedHeight, committedHash }
const enum QcF { view = 0, blockHash, signers, signature }
const enum TcF { view = 0, signers, highQcViews, signature, highQc }
const enum VoteF { view = 0, blockHash, voter, signature }
const enum TimeoutF { view = 0, highQc, voter, signature }
const enum HeaderF { parent = 0, view, height, proposer, timestampMs, txRoot, parentStateRoot, parentResults, parentSigners }
const enum BlockF { header = 0, txEnds, txData }
const enum ProposalF { block = 0, qc, tc, signature }
const enum CertifiedBlockF { block = 0, qc }
const enum SyncRequestF { requestId = 0, fromHeight, toHeight }
const enum SyncResponseF { requestId = 0, blocks }
const enum TxBatchF { txEnds = 0, txData, origins, txOrigins }

function fail(code: WireErrorCode, where: string, name: string, what: string, got?: number, limit?: number): never {
  const field = name === "" ? where : `${where}.${name}`;
  const payload = got === undefined ? { field } : limit === undefined ? { field, got } : { field, got, limit };
  throw new WireError(code, `${field}: ${what}`, payload);
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------------------------

const EMPTY = new Uint8Array(0);

/**
 * Bytes the current decode may still attribute to decoded objects (see the module comment). Module state is safe:
 * decoding is synchronous and never re-entered.
 */
let budget = 0;

function charge(units: number, where: string, name: string): void {
  budget -= units;
  if (budget < 0) fail("ALIASED", where, name, "offsets reuse bytes: more decoded data than the buffer holds");
}

function u16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

function i32(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
}

function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/** Checks the table at `pos` (its vtable and its inline bytes lie in the buffer) and returns the vtable position. */
function table(b: Uint8Array, pos: number, where: string): number {
  const n = b.length;
  if (pos + 4 > n) fail("OUT_OF_BOUNDS", where, "", `table at ${pos} is outside the ${n}-byte buffer`, pos, n);
  const vt = pos - i32(b, pos);
  if (vt < 0 || vt + 4 > n) fail("OUT_OF_BOUNDS", where, "", `vtable at ${vt} is outside the ${n}-byte buffer`, vt, n);
  const vsize = u16(b, vt);
  if (vsize < 4 || (vsize & 1) !== 0) fail("BAD_VTABLE", where, "", `vtable size ${vsize}`, vsize);
  if (vt + vsize > n) fail("OUT_OF_BOUNDS", where, "", `vtable of ${vsize} bytes at ${vt} overruns the buffer`, vt + vsize, n);
  const tsize = u16(b, vt + 2);
  if (tsize < 4) fail("BAD_VTABLE", where, "", `table size ${tsize}`, tsize);
  if (pos + tsize > n) fail("OUT_OF_BOUNDS", where, "", `table of ${tsize} bytes at ${pos} overruns the buffer`, pos + tsize, n);
  charge(tsize, where, "");
  return vt;
}

/** Absolute position of field `slot` (`width` bytes, inside its table), or 0 when the field is absent. */
function field(b: Uint8Array, pos: number, vt: number, slot: number, width: number, where: string, name: string): number {
  const vo = 4 + 2 * slot;
  if (vo >= u16(b, vt)) return 0;
  const off = u16(b, vt + vo);
  if (off === 0) return 0;
  if (off < 4 || off + width > u16(b, vt + 2)) fail("OUT_OF_BOUNDS", where, name, `field at +${off} lies outside its table`, off);
  return pos + off;
}

/** A uint64 field as a JS number (0 when absent). */
function u53(b: Uint8Array, pos: number, vt: number, slot: number, where: string, name: string): number {
  const p = field(b, pos, vt, slot, 8, where, name);
  if (p === 0) return 0;
  const hi = u32(b, p + 4);
  if (hi > MAX_HI) fail("OUT_OF_RANGE", where, name, "uint64 above 2^53 - 1", hi * 2 ** 32);
  return hi * 2 ** 32 + u32(b, p);
}

/** A uint32 field (0 when absent). */
function u32f(b: Uint8Array, pos: number, vt: number, slot: number, where: string, name: string): number {
  const p = field(b, pos, vt, slot, 4, where, name);
  return p === 0 ? 0 : u32(b, p);
}

/** Target of an offset field (a table or vector position, unchecked), or 0 when absent. */
function ref(b: Uint8Array, pos: number, vt: number, slot: number, where: string, name: string): number {
  const p = field(b, pos, vt, slot, 4, where, name);
  return p === 0 ? 0 : p + u32(b, p);
}

/** Length of the vector at `t` after checking that `count * elemSize` bytes follow it inside the buffer. */
function vectorLength(b: Uint8Array, t: number, elemSize: number, limit: number, where: string, name: string): number {
  const n = b.length;
  if (t + 4 > n) fail("OUT_OF_BOUNDS", where, name, `vector at ${t} is outside the ${n}-byte buffer`, t, n);
  const count = u32(b, t);
  if (count > limit) fail("TOO_MANY", where, name, `${count} elements, limit ${limit}`, count, limit);
  const bytes = count * elemSize;
  if (t + 4 + bytes > n) fail("OUT_OF_BOUNDS", where, name, `vector of ${count} overruns the buffer`, t + 4 + bytes, n);
  charge(4 + bytes, where, name);
  return count;
}

/** A byte vector of exactly `size` bytes (required). */
function fixedBytes(b: Uint8Array, pos: number, vt: number, slot: number, size: number, where: string, name: string): Uint8Array {
  const t = ref(b, pos, vt, slot, where, name);
  if (t === 0) fail("MISSING_FIELD", where, name, `missing (${size} bytes required)`);
  return exactAt(b, t, size, where, name);
}

/** A byte vector of exactly `size` bytes, or null when absent. */
function optionalFixedBytes(b: Uint8Array, pos: number, vt: number, slot: number, size: number, where: string, name: string): Uint8Array | null {
  const t = ref(b, pos, vt, slot, where, name);
  return t === 0 ? null : exactAt(b, t, size, where, name);
}

function exactAt(b: Uint8Array, t: number, size: number, where: string, name: string): Uint8Array {
  const n = b.length;
  if (t + 4 > n) fail("OUT_OF_BOUNDS", where, name, `vector at ${t} is outside the ${n}-byte buffer`, t, n);
  const len = u32(b, t);
  if (len !== size) fail("BAD_LENGTH", where, name, `${len} bytes, want ${size}`, len, size);
  const start = t + 4;
  if (start + size > n) fail("OUT_OF_BOUNDS", where, name, `${size} bytes at ${start} overrun the buffer`, start + size, n);
  charge(4 + size, where, name);
  return b.subarray(start, start + size);
}

/** A byte vector of at most `max` bytes; absent reads as empty. */
function varBytes(b: Uint8Array, pos: number, vt: number, slot: number, max: number, where: string, name: string): Uint8Array {
  const t = ref(b, pos, vt, slot, where, name);
  if (t === 0) return EMPTY;
  const n = b.length;
  if (t + 4 > n) fail("OUT_OF_BOUNDS", where, name, `vector at ${t} is outside the ${n}-byte buffer`, t, n);
  const len = u32(b, t);
  if (len > max) fail("TOO_LARGE", where, name, `${len} bytes, limit ${max}`, len, max);
  const start = t + 4;
  if (start + len > n) fail("OUT_OF_BOUNDS", where, name, `${len} bytes at ${start} overrun the buffer`, start + len, n);
  charge(4 + len, where, name);
  return b.subarray(start, start + len);
}

function readChainId(b: Uint8Array, pos: number, vt: number, slot: number, where: string): Uint8Array {
  const id = varBytes(b, pos, vt, slot, MAX_MESSAGE_BYTES, where, "chainId");
  if (id.length === 0 || id.length > MAX_CHAIN_ID_BYTES) {
    fail("BAD_LENGTH", where, "chainId", `${id.length} bytes, want 1..${MAX_CHAIN_ID_BYTES}`, id.length, MAX_CHAIN_ID_BYTES);
  }
  return id;
}

/** The packed transaction list: `data` split at the non-decreasing `ends`, the last equal to data's length. */
function readTxs(b: Uint8Array, pos: number, vt: number, endsSlot: number, dataSlot: number, limit: number, where: string): Uint8Array[] {
  const data = varBytes(b, pos, vt, dataSlot, MAX_MESSAGE_BYTES, where, "txData");
  const et = ref(b, pos, vt, endsSlot, where, "txEnds");
  const txs: Uint8Array[] = [];
  if (et === 0) {
    if (data.length !== 0) fail("BAD_TX_LAYOUT", where, "txEnds", `missing while txData holds ${data.length} bytes`, data.length);
    return txs;
  }
  const count = vectorLength(b, et, 4, limit, where, "txEnds");
  const len = data.length;
  let prev = 0;
  for (let i = 0, p = et + 4; i < count; i++, p += 4) {
    const end = u32(b, p);
    if (end < prev || end > len) fail("BAD_TX_LAYOUT", where, "txEnds", `entry ${i} = ${end} after ${prev} with ${len} data bytes`, end, len);
    if (end - prev > MAX_TX_BYTES) fail("TOO_LARGE", where, "txs", `transaction ${i} has ${end - prev} bytes, limit ${MAX_TX_BYTES}`, end - prev, MAX_TX_BYTES);
    txs.push(data.subarray(prev, end));
    prev = end;
  }
  if (prev !== len) fail("BAD_TX_LAYOUT", where, "txEnds", `index ends at ${prev} but txData holds ${len} bytes`, prev, len);
  return txs;
}

function requiredRef(b: Uint8Array, pos: number, vt: number, slot: number, where: string, name: string): number {
  const t = ref(b, pos, vt, slot, where, name);
  if (t === 0) fail("MISSING_FIELD", where, name, "missing (required)");
  return t;
}

function readQc(b: Uint8Array, pos: number, where: string): QuorumCert {
  const vt = table(b, pos, where);
  return {
    view: u53(b, pos, vt, QcF.view, where, "view"),
    blockHash: fixedBytes(b, pos, vt, QcF.blockHash, HASH_BYTES, where, "blockHash"),
    signers: varBytes(b, pos, vt, QcF.signers, MAX_BITMAP_BYTES, where, "signers"),
    aggregateSignature: fixedBytes(b, pos, vt, QcF.signature, SIGNATURE_BYTES, where, "aggregateSignature"),
  };
}

function readTc(b: Uint8Array, pos: number, where: string): TimeoutCert {
  const vt = table(b, pos, where);
  const view = u53(b, pos, vt, TcF.view, where, "view");
  const signers = varBytes(b, pos, vt, TcF.signers, MAX_BITMAP_BYTES, where, "signers");
  const highQcViews: number[] = [];
  const t = ref(b, pos, vt, TcF.highQcViews, where, "highQcViews");
  if (t !== 0) {
    const count = vectorLength(b, t, 8, MAX_CERT_SIGNERS, where, "highQcViews");
    for (let i = 0, p = t + 4; i < count; i++, p += 8) {
      const hi = u32(b, p + 4);
      if (hi > MAX_HI) fail("OUT_OF_RANGE", where, "highQcViews", `entry ${i} above 2^53 - 1`, hi * 2 ** 32);
      highQcViews.push(hi * 2 ** 32 + u32(b, p));
    }
  }
  const aggregateSignature = fixedBytes(b, pos, vt, TcF.signature, SIGNATURE_BYTES, where, "aggregateSignature");
  const highQc = readQc(b, requiredRef(b, pos, vt, TcF.highQc, where, "highQc"), `${where}.highQc`);
  return { view, signers, highQcViews, aggregateSignature, highQc };
}

function readVote(b: Uint8Array, pos: number): Vote {
  const vt = table(b, pos, "vote");
  return {
    view: u53(b, pos, vt, VoteF.view, "vote", "view"),
    blockHash: fixedBytes(b, pos, vt, VoteF.blockHash, HASH_BYTES, "vote", "blockHash"),
    voter: u32f(b, pos, vt, VoteF.voter, "vote", "voter"),
    signature: fixedBytes(b, pos, vt, VoteF.signature, VOTE_SIGNATURE_BYTES, "vote", "signature"),
  };
}

function readTimeout(b: Uint8Array, pos: number): Timeout {
  const vt = table(b, pos, "timeout");
  return {
    view: u53(b, pos, vt, TimeoutF.view, "timeout", "view"),
    highQc: readQc(b, requiredRef(b, pos, vt, TimeoutF.highQc, "timeout", "highQc"), "timeout.highQc"),
    voter: u32f(b, pos, vt, TimeoutF.voter, "timeout", "voter"),
    signature: fixedBytes(b, pos, vt, TimeoutF.signature, VOTE_SIGNATURE_BYTES, "timeout", "signature"),
  };
}

function readHeader(b: Uint8Array, pos: number, where: string): BlockHeader {
  const vt = table(b, pos, where);
  return {
    parent: fixedBytes(b, pos, vt, HeaderF.parent, HASH_BYTES, where, "parent"),
    view: u53(b, pos, vt, HeaderF.view, where, "view"),
    height: u53(b, pos, vt, HeaderF.height, where, "height"),
    proposer: u32f(b, pos, vt, HeaderF.proposer, where, "proposer"),
    timestampMs: u53(b, pos, vt, HeaderF.timestampMs, where, "timestampMs"),
    txRoot: fixedBytes(b, pos, vt, HeaderF.txRoot, HASH_BYTES, where, "txRoot"),
    parentStateRoot: fixedBytes(b, pos, vt, HeaderF.parentStateRoot, HASH_BYTES, where, "parentStateRoot"),
    parentResults: varBytes(b, pos, vt, HeaderF.parentResults, MAX_BITMAP_BYTES, where, "parentResults"),
    parentSigners: varBytes(b, pos, vt, HeaderF.parentSigners, MAX_BITMAP_BYTES, where, "parentSigners"),
  };
}

function readBlock(b: Uint8Array, pos: number, where: string): Block {
  const vt = table(b, pos, where);
  const header = readHeader(b, requiredRef(b, pos, vt, BlockF.header, where, "header"), `${where}.header`);
  const txs = readTxs(b, pos, vt, BlockF.txEnds, BlockF.txData, MAX_TXS_PER_BLOCK, where);
  return { header, txs };
}

function readProposal(b: Uint8Array, pos: number): Proposal {
  const vt = table(b, pos, "proposal");
  const block = readBlock(b, requiredRef(b, pos, vt, ProposalF.block, "proposal", "block"), "proposal.block");
  const qc = readQc(b, requiredRef(b, pos, vt, ProposalF.qc, "proposal", "qc"), "proposal.qc");
  const tcPos = ref(b, pos, vt, ProposalF.tc, "proposal", "tc");
  const tc = tcPos === 0 ? null : readTc(b, tcPos, "proposal.tc");
  // Required since protocol version 3: an unsigned proposal is a MISSING_FIELD here, before validation sees it.
  const signature = fixedBytes(b, pos, vt, ProposalF.signature, VOTE_SIGNATURE_BYTES, "proposal", "signature");
  return { block, qc, tc, signature };
}

function readHandshake(b: Uint8Array, pos: number): Handshake {
  const w = "handshake";
  const vt = table(b, pos, w);
  return {
    version: u32f(b, pos, vt, HandshakeF.version, w, "version"),
    chainId: readChainId(b, pos, vt, HandshakeF.chainId, w),
    publicKey: fixedBytes(b, pos, vt, HandshakeF.publicKey, PUBLIC_KEY_BYTES, w, "publicKey"),
    nonce: fixedBytes(b, pos, vt, HandshakeF.nonce, NONCE_BYTES, w, "nonce"),
    peerNonce: optionalFixedBytes(b, pos, vt, HandshakeF.peerNonce, NONCE_BYTES, w, "peerNonce"),
    signature: optionalFixedBytes(b, pos, vt, HandshakeF.signature, SIGNATURE_BYTES, w, "signature"),
    ephemeralKey: optionalFixedBytes(b, pos, vt, HandshakeF.ephemeralKey, EPHEMERAL_KEY_BYTES, w, "ephemeralKey"),
  };
}

function readHello(b: Uint8Array, pos: number): Hello {
  const vt = table(b, pos, "hello");
  return {
    chainId: readChainId(b, pos, vt, HelloF.chainId, "hello"),
    committedHeight: u53(b, pos, vt, HelloF.committedHeight, "hello", "committedHeight"),
    committedHash: fixedBytes(b, pos, vt, HelloF.committedHash, HASH_BYTES, "hello", "committedHash"),
  };
}

function readSyncRequest(b: Uint8Array, pos: number): SyncRequest {
  const w = "syncRequest";
  const vt = table(b, pos, w);
  const requestId = u32f(b, pos, vt, SyncRequestF.requestId, w, "requestId");
  const fromHeight = u53(b, pos, vt, SyncRequestF.fromHeight, w, "fromHeight");
  const toHeight = u53(b, pos, vt, SyncRequestF.toHeight, w, "toHeight");
  if (toHeight < fromHeight) fail("OUT_OF_RANGE", w, "toHeight", `${toHeight} is below fromHeight ${fromHeight}`, toHeight, fromHeight);
  return { requestId, fromHeight, toHeight };
}

function readSyncResponse(b: Uint8Array, pos: number): SyncResponse {
  const w = "syncResponse";
  const vt = table(b, pos, w);
  const requestId = u32f(b, pos, vt, SyncResponseF.requestId, w, "requestId");
  const blocks: CertifiedBlock[] = [];
  const t = ref(b, pos, vt, SyncResponseF.blocks, w, "blocks");
  if (t !== 0) {
    const count = vectorLength(b, t, 4, MAX_SYNC_BLOCKS, w, "blocks");
    let txs = 0;
    for (let i = 0, p = t + 4; i < count; i++, p += 4) {
      const at = `${w}.blocks[${i}]`;
      const cb = p + u32(b, p);
      const cvt = table(b, cb, at);
      const block = readBlock(b, requiredRef(b, cb, cvt, CertifiedBlockF.block, at, "block"), `${at}.block`);
      txs += block.txs.length;
      if (txs > MAX_SYNC_TXS) fail("TOO_MANY", w, "txs", `more than ${MAX_SYNC_TXS} transactions after ${i + 1} blocks`, txs, MAX_SYNC_TXS);
      const qc = readQc(b, requiredRef(b, cb, cvt, CertifiedBlockF.qc, at, "qc"), `${at}.qc`);
      blocks.push({ block, qc });
    }
  }
  return { requestId, blocks };
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

function readTxBatch(b: Uint8Array, pos: number): TxBatch {
  const w = "txBatch";
  const vt = table(b, pos, w);
  const txs = readTxs(b, pos, vt, TxBatchF.txEnds, TxBatchF.txData, MAX_TXS_PER_BATCH, w);
  const ot = ref(b, pos, vt, TxBatchF.origins, w, "origins");
  const it = ref(b, pos, vt, TxBatchF.txOrigins, w, "txOrigins");
  if (ot === 0 && it === 0) return { txs };
  if (ot === 0 || it === 0) fail("MISSING_FIELD", w, ot === 0 ? "origins" : "txOrigins", "origins and txOrigins come together");
  // The distinct client ids: a vector of offsets to strings (u32 length, bytes, NUL).
  const names: string[] = [];
  const count = vectorLength(b, ot, 4, MAX_TXS_PER_BATCH, w, "origins");
  for (let i = 0, p = ot + 4; i < count; i++, p += 4) {
    const sp = p + u32(b, p);
    if (sp + 4 > b.length) fail("OUT_OF_BOUNDS", w, "origins", `string ${i} at ${sp} is outside the ${b.length}-byte buffer`, sp, b.length);
    const len = u32(b, sp);
    if (len > MAX_ORIGIN_BYTES) fail("TOO_LARGE", w, "origins", `origin ${i} has ${len} bytes, limit ${MAX_ORIGIN_BYTES}`, len, MAX_ORIGIN_BYTES);
    if (sp + 4 + len > b.length) fail("OUT_OF_BOUNDS", w, "origins", `origin ${i} overruns the buffer`, sp + 4 + len, b.length);
    charge(4 + len, w, "origins");
    try {
      names.push(strictUtf8.decode(b.subarray(sp + 4, sp + 4 + len)));
    } catch {
      fail("BAD_LENGTH", w, "origins", `origin ${i} is not UTF-8`);
    }
  }
  const n = vectorLength(b, it, 2, MAX_TXS_PER_BATCH, w, "txOrigins");
  if (n !== txs.length) fail("BAD_LENGTH", w, "txOrigins", `${n} entries for ${txs.length} txs`, n, txs.length);
  const origins: string[] = [];
  for (let i = 0, p = it + 4; i < n; i++, p += 2) {
    const k = u16(b, p);
    if (k >= names.length) fail("OUT_OF_RANGE", w, "txOrigins", `entry ${i} names origin ${k} of ${names.length}`, k, names.length);
    origins.push(names[k]!);
  }
  return { txs, origins };
}

/** A decoded envelope: the message and the validator-set epoch it belongs to (0 when the field is absent). */
export interface Envelope {
  message: Message;
  epoch: number;
}

/**
 * Checks the envelope's size, file identifier and root table (the table and its vtable inside the buffer), starts
 * the decode budget and returns the root table's vtable position; the root table is at `u32(bytes, 0)`.
 */
function envelopeVtable(bytes: Uint8Array): number {
  const n = bytes.length;
  if (n < MIN_MESSAGE_BYTES) fail("TOO_SHORT", "envelope", "", `${n} bytes, need at least ${MIN_MESSAGE_BYTES}`, n, MIN_MESSAGE_BYTES);
  if (n > MAX_MESSAGE_BYTES) fail("TOO_LARGE", "envelope", "", `${n} bytes, limit ${MAX_MESSAGE_BYTES}`, n, MAX_MESSAGE_BYTES);
  if (bytes[4] !== ID0 || bytes[5] !== ID1 || bytes[6] !== ID2 || bytes[7] !== ID3) {
    fail("BAD_IDENTIFIER", "envelope", "", `file identifier is not ${FILE_IDENTIFIER}`);
  }
  budget = n;
  return table(bytes, u32(bytes, 0), "envelope");
}

/**
 * The envelope's epoch alone, without decoding the message: checks only the envelope prelude (see envelopeVtable)
 * and the epoch field. Cheap enough for every inbound consensus message, to decide whether to hold it raw until the
 * node reaches that epoch. Throws the same `WireError` as `decodeEnvelope` for anything it reads; bytes it accepts
 * may still fail `decodeEnvelope` in the message.
 */
export function envelopeEpoch(bytes: Uint8Array): number {
  const vt = envelopeVtable(bytes);
  return u53(bytes, u32(bytes, 0), vt, EnvelopeF.epoch, "envelope", "epoch");
}

/**
 * Decodes one envelope: the message and its epoch. Byte fields of the message are views into `bytes`.
 * Throws `WireError` (and nothing else) for any malformed, truncated, oversized or hostile input.
 */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  const vt = envelopeVtable(bytes);
  const root = u32(bytes, 0);
  // The epoch first, in the order envelopeEpoch reads it, so both refuse a bad epoch with the same error.
  const epoch = u53(bytes, root, vt, EnvelopeF.epoch, "envelope", "epoch");
  return { message: readMessage(bytes, root, vt), epoch };
}

/** Decodes one envelope and returns its message (see decodeEnvelope: the epoch is checked all the same). */
export function decodeMessage(bytes: Uint8Array): Message {
  return decodeEnvelope(bytes).message;
}

function readMessage(bytes: Uint8Array, root: number, vt: number): Message {
  const tp = field(bytes, root, vt, EnvelopeF.messageType, 1, "envelope", "messageType");
  const type = tp === 0 ? 0 : bytes[tp]!;
  const pos = ref(bytes, root, vt, EnvelopeF.message, "envelope", "message");
  if (type === fb.Message.NONE || type > fb.Message.TxBatch) fail("UNKNOWN_MESSAGE", "envelope", "messageType", `union type ${type}`, type);
  if (pos === 0) fail("MISSING_FIELD", "envelope", "message", "missing (required)");
  switch (type as fb.Message) {
    case fb.Message.Vote:
      return { kind: "vote", body: readVote(bytes, pos) };
    case fb.Message.Timeout:
      return { kind: "timeout", body: readTimeout(bytes, pos) };
    case fb.Message.Proposal:
      return { kind: "proposal", body: readProposal(bytes, pos) };
    case fb.Message.QuorumCert:
      return { kind: "qc", body: readQc(bytes, pos, "qc") };
    case fb.Message.TimeoutCert:
      return { kind: "tc", body: readTc(bytes, pos, "tc") };
    case fb.Message.TxBatch:
      return { kind: "txBatch", body: readTxBatch(bytes, pos) };
    case fb.Message.Handshake:
      return { kind: "handshake", body: readHandshake(bytes, pos) };
    case fb.Message.Hello:
      return { kind: "hello", body: readHello(bytes, pos) };
    case fb.Message.SyncRequest:
      return { kind: "syncRequest", body: readSyncRequest(bytes, pos) };
    case fb.Message.SyncResponse:
      return { kind: "syncResponse", body: readSyncResponse(bytes, pos) };
    default:
      return fail("UNKNOWN_MESSAGE", "envelope", "messageType", `union type ${type}`, type);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------------------------

/** Initial builder size: a vote is ~200 bytes, a QC ~230, so small messages never grow the buffer. */
const INITIAL_BUILDER_BYTES = 1024;
/**
 * After a large message (a block, a sync response) the builder keeps its grown buffer; above this size it is replaced
 * at the next encode so one 16 MiB sync response does not pin 16-32 MiB for the life of the process.
 */
const RETAIN_BUILDER_BYTES = 1024 * 1024;

/**
 * `encode` copies messages up to this size into a shared slab instead of giving each its own ArrayBuffer: a fresh
 * 200-byte `slice()` cost ~350 ns on this machine (ArrayBuffer allocation), more than encoding the vote itself.
 * Same threshold and idea as Node's Buffer pool (4 KiB of an 8 KiB pool); a slab is held alive by any copy in it.
 */
const SLAB_COPY_MAX_BYTES = 4 * 1024;
const SLAB_BYTES = 64 * 1024;

function checkU53(v: number, where: string, name: string): void {
  if (!Number.isSafeInteger(v) || v < 0) fail("OUT_OF_RANGE", where, name, `${v} is not an integer in [0, 2^53 - 1]`, v);
}

function checkU32(v: number, where: string, name: string): void {
  if (v >>> 0 !== v) fail("OUT_OF_RANGE", where, name, `${v} is not an integer in [0, 2^32 - 1]`, v);
}

function checkExact(v: Uint8Array, size: number, where: string, name: string): void {
  if (v.length !== size) fail("BAD_LENGTH", where, name, `${v.length} bytes, want ${size}`, v.length, size);
}

function checkMax(v: Uint8Array, max: number, where: string, name: string): void {
  if (v.length > max) fail("TOO_LARGE", where, name, `${v.length} bytes, limit ${max}`, v.length, max);
}

/**
 * Writes a uint64 field from a JS number as two uint32 halves. Like the generated adders, a zero (the default) is
 * omitted. The caller has range-checked `v`.
 */
function addU53(bd: Builder, slot: number, v: number): void {
  if (v === 0) return;
  bd.prep(8, 0);
  // The builder writes downwards: the high word first lands at the higher address (little-endian uint64).
  bd.writeInt32(high32(v));
  bd.writeInt32(v >>> 0);
  bd.slot(slot);
}

/**
 * Encodes domain messages with one reused FlatBuffers builder. Not thread-safe (nothing in JS is shared anyway) and
 * not re-entrant; use one per producer if views from `encodeView` must outlive the next call.
 */
export class WireEncoder {
  private bd = new Builder(INITIAL_BUILDER_BYTES);
  /** Where `encode` copies small messages; replaced (not reused) when full, so earlier copies stay intact. */
  private slab = new Uint8Array(0);
  private slabUsed = 0;
  /** Reused staging area for packed transaction data (the builder only copies whole vectors in). */
  private scratch = new Uint8Array(0);
  // Offsets of the last packed transaction list (two return values without allocating a pair).
  private txEnds = 0;
  private txData = 0;

  /**
   * Encodes `msg` and returns a view into the builder's buffer, valid until the next call on this encoder. Use it to
   * copy straight into a frame; use `encode` when the bytes must be kept.
   * `epoch` (a uint64, 0..2^53 - 1) goes into the envelope; 0 is not written, so epoch-0 bytes are those of an
   * envelope without the field.
   * Throws `WireError` when a field is out of range or the message would exceed MAX_MESSAGE_BYTES.
   */
  encodeView(msg: Message, epoch = 0): Uint8Array {
    checkU53(epoch, "envelope", "epoch");
    let bd = this.bd;
    if (bd.dataBuffer().capacity() > RETAIN_BUILDER_BYTES) bd = this.bd = new Builder(INITIAL_BUILDER_BYTES);
    if (this.scratch.length > RETAIN_BUILDER_BYTES) this.scratch = new Uint8Array(0);
    bd.clear();
    let type: fb.Message;
    let off: number;
    switch (msg.kind) {
      case "vote":
        type = fb.Message.Vote;
        off = this.vote(msg.body);
        break;
      case "timeout":
        type = fb.Message.Timeout;
        off = this.timeout(msg.body);
        break;
      case "proposal":
        type = fb.Message.Proposal;
        off = this.proposal(msg.body);
        break;
      case "qc":
        type = fb.Message.QuorumCert;
        off = this.qc(msg.body, "qc");
        break;
      case "tc":
        type = fb.Message.TimeoutCert;
        off = this.tc(msg.body, "tc");
        break;
      case "txBatch":
        type = fb.Message.TxBatch;
        off = this.txBatch(msg.body);
        break;
      case "handshake":
        type = fb.Message.Handshake;
        off = this.handshake(msg.body);
        break;
      case "hello":
        type = fb.Message.Hello;
        off = this.hello(msg.body);
        break;
      case "syncRequest":
        type = fb.Message.SyncRequest;
        off = this.syncRequest(msg.body);
        break;
      case "syncResponse":
        type = fb.Message.SyncResponse;
        off = this.syncResponse(msg.body);
        break;
    }
    bd.startObject(ENVELOPE_FIELDS);
    addU53(bd, EnvelopeF.epoch, epoch);
    bd.addFieldInt8(EnvelopeF.messageType, type, fb.Message.NONE);
    bd.addFieldOffset(EnvelopeF.message, off, 0);
    bd.finish(bd.endObject(), FILE_IDENTIFIER);
    const out = bd.asUint8Array();
    if (out.length > MAX_MESSAGE_BYTES) fail("TOO_LARGE", msg.kind, "", `${out.length} bytes, limit ${MAX_MESSAGE_BYTES}`, out.length, MAX_MESSAGE_BYTES);
    return out;
  }

  /**
   * Encodes `msg` into bytes the caller owns: no later encode touches them. Messages up to SLAB_COPY_MAX_BYTES are
   * copied into a shared slab (the returned array is a view of it, so never transfer or detach its `.buffer`);
   * larger ones get their own ArrayBuffer.
   */
  encode(msg: Message, epoch = 0): Uint8Array {
    const view = this.encodeView(msg, epoch);
    const n = view.length;
    if (n > SLAB_COPY_MAX_BYTES) return view.slice();
    if (this.slabUsed + n > this.slab.length) {
      this.slab = new Uint8Array(SLAB_BYTES);
      this.slabUsed = 0;
    }
    const start = this.slabUsed;
    // Keep every copy 8-byte aligned within the slab, as FlatBuffers readers that map typed arrays expect.
    this.slabUsed = (start + n + 7) & ~7;
    const out = this.slab.subarray(start, start + n);
    out.set(view);
    return out;
  }

  private bytes(v: Uint8Array): number {
    return this.bd.createByteVector(v);
  }

  private vote(v: Vote): number {
    const w = "vote";
    checkU53(v.view, w, "view");
    checkU32(v.voter, w, "voter");
    checkExact(v.blockHash, HASH_BYTES, w, "blockHash");
    checkExact(v.signature, VOTE_SIGNATURE_BYTES, w, "signature");
    const bd = this.bd;
    const hash = bd.createByteVector(v.blockHash);
    const sig = bd.createByteVector(v.signature);
    fb.Vote.startVote(bd);
    addU53(bd, VoteF.view, v.view);
    fb.Vote.addBlockHash(bd, hash);
    fb.Vote.addVoter(bd, v.voter);
    fb.Vote.addSignature(bd, sig);
    return fb.Vote.endVote(bd);
  }

  private qc(qc: QuorumCert, where: string): number {
    checkU53(qc.view, where, "view");
    checkExact(qc.blockHash, HASH_BYTES, where, "blockHash");
    checkMax(qc.signers, MAX_BITMAP_BYTES, where, "signers");
    checkExact(qc.aggregateSignature, SIGNATURE_BYTES, where, "aggregateSignature");
    const bd = this.bd;
    const hash = this.bytes(qc.blockHash);
    const signers = this.bytes(qc.signers);
    const sig = this.bytes(qc.aggregateSignature);
    fb.QuorumCert.startQuorumCert(bd);
    addU53(bd, QcF.view, qc.view);
    fb.QuorumCert.addBlockHash(bd, hash);
    fb.QuorumCert.addSigners(bd, signers);
    fb.QuorumCert.addSignature(bd, sig);
    return fb.QuorumCert.endQuorumCert(bd);
  }

  private tc(tc: TimeoutCert, where: string): number {
    checkU53(tc.view, where, "view");
    checkMax(tc.signers, MAX_BITMAP_BYTES, where, "signers");
    checkExact(tc.aggregateSignature, SIGNATURE_BYTES, where, "aggregateSignature");
    const views = tc.highQcViews;
    if (views.length > MAX_CERT_SIGNERS) fail("TOO_MANY", where, "highQcViews", `${views.length} entries, limit ${MAX_CERT_SIGNERS}`, views.length, MAX_CERT_SIGNERS);
    for (const v of views) checkU53(v, where, "highQcViews");
    const bd = this.bd;
    const signers = this.bytes(tc.signers);
    bd.startVector(8, views.length, 8);
    for (let i = views.length - 1; i >= 0; i--) {
      const v = views[i]!;
      bd.writeInt32(high32(v));
      bd.writeInt32(v >>> 0);
    }
    const viewsOff = bd.endVector();
    const sig = this.bytes(tc.aggregateSignature);
    const highQc = this.qc(tc.highQc, `${where}.highQc`);
    fb.TimeoutCert.startTimeoutCert(bd);
    addU53(bd, TcF.view, tc.view);
    fb.TimeoutCert.addSigners(bd, signers);
    fb.TimeoutCert.addHighQcViews(bd, viewsOff);
    fb.TimeoutCert.addSignature(bd, sig);
    fb.TimeoutCert.addHighQc(bd, highQc);
    return fb.TimeoutCert.endTimeoutCert(bd);
  }

  private timeout(t: Timeout): number {
    const w = "timeout";
    checkU53(t.view, w, "view");
    checkU32(t.voter, w, "voter");
    checkExact(t.signature, VOTE_SIGNATURE_BYTES, w, "signature");
    const bd = this.bd;
    const qc = this.qc(t.highQc, "timeout.highQc");
    const sig = this.bytes(t.signature);
    fb.Timeout.startTimeout(bd);
    addU53(bd, TimeoutF.view, t.view);
    fb.Timeout.addHighQc(bd, qc);
    fb.Timeout.addVoter(bd, t.voter);
    fb.Timeout.addSignature(bd, sig);
    return fb.Timeout.endTimeout(bd);
  }

  /** Writes the packed transaction list; leaves the vector offsets in txEnds / txData. */
  private txs(txs: readonly Uint8Array[], limit: number, where: string): void {
    const count = txs.length;
    if (count > limit) fail("TOO_MANY", where, "txs", `${count} transactions, limit ${limit}`, count, limit);
    let total = 0;
    for (let i = 0; i < count; i++) {
      const len = txs[i]!.length;
      if (len > MAX_TX_BYTES) fail("TOO_LARGE", where, "txs", `transaction ${i} has ${len} bytes, limit ${MAX_TX_BYTES}`, len, MAX_TX_BYTES);
      total += len;
    }
    if (total > MAX_MESSAGE_BYTES) fail("TOO_LARGE", where, "txs", `${total} transaction bytes, limit ${MAX_MESSAGE_BYTES}`, total, MAX_MESSAGE_BYTES);
    const bd = this.bd;
    if (count === 0) {
      this.txEnds = 0;
      this.txData = 0;
      return;
    }
    if (this.scratch.length < total) this.scratch = new Uint8Array(Math.max(total, this.scratch.length * 2));
    const scratch = this.scratch;
    for (let i = 0, o = 0; i < count; i++) {
      const tx = txs[i]!;
      scratch.set(tx, o);
      o += tx.length;
    }
    this.txData = bd.createByteVector(scratch.subarray(0, total));
    bd.startVector(4, count, 4);
    for (let i = count - 1, end = total; i >= 0; i--) {
      bd.writeInt32(end);
      end -= txs[i]!.length;
    }
    this.txEnds = bd.endVector();
  }

  private header(h: BlockHeader, where: string): number {
    checkExact(h.parent, HASH_BYTES, where, "parent");
    checkU53(h.view, where, "view");
    checkU53(h.height, where, "height");
    checkU32(h.proposer, where, "proposer");
    checkU53(h.timestampMs, where, "timestampMs");
    checkExact(h.txRoot, HASH_BYTES, where, "txRoot");
    checkExact(h.parentStateRoot, HASH_BYTES, where, "parentStateRoot");
    checkMax(h.parentResults, MAX_BITMAP_BYTES, where, "parentResults");
    checkMax(h.parentSigners, MAX_BITMAP_BYTES, where, "parentSigners");
    const bd = this.bd;
    const parent = this.bytes(h.parent);
    const txRoot = this.bytes(h.txRoot);
    const stateRoot = this.bytes(h.parentStateRoot);
    const results = this.bytes(h.parentResults);
    // Absent when empty: headers without signers keep the bytes they had before the field existed.
    const signers = h.parentSigners.length === 0 ? 0 : this.bytes(h.parentSigners);
    fb.BlockHeader.startBlockHeader(bd);
    addU53(bd, HeaderF.timestampMs, h.timestampMs);
    addU53(bd, HeaderF.height, h.height);
    addU53(bd, HeaderF.view, h.view);
    fb.BlockHeader.addParent(bd, parent);
    fb.BlockHeader.addProposer(bd, h.proposer);
    fb.BlockHeader.addTxRoot(bd, txRoot);
    fb.BlockHeader.addParentStateRoot(bd, stateRoot);
    fb.BlockHeader.addParentResults(bd, results);
    if (signers !== 0) fb.BlockHeader.addParentSigners(bd, signers);
    return fb.BlockHeader.endBlockHeader(bd);
  }

  private block(block: Block, where: string): number {
    const bd = this.bd;
    const header = this.header(block.header, `${where}.header`);
    this.txs(block.txs, MAX_TXS_PER_BLOCK, where);
    const ends = this.txEnds;
    const data = this.txData;
    fb.Block.startBlock(bd);
    fb.Block.addHeader(bd, header);
    if (ends !== 0) fb.Block.addTxEnds(bd, ends);
    if (data !== 0) fb.Block.addTxData(bd, data);
    return fb.Block.endBlock(bd);
  }

  private proposal(p: Proposal): number {
    const bd = this.bd;
    checkExact(p.signature, VOTE_SIGNATURE_BYTES, "proposal", "signature");
    const block = this.block(p.block, "proposal.block");
    const qc = this.qc(p.qc, "proposal.qc");
    const tc = p.tc === null ? 0 : this.tc(p.tc, "proposal.tc");
    const sig = bd.createByteVector(p.signature);
    fb.Proposal.startProposal(bd);
    fb.Proposal.addBlock(bd, block);
    fb.Proposal.addQc(bd, qc);
    if (tc !== 0) fb.Proposal.addTc(bd, tc);
    fb.Proposal.addSignature(bd, sig);
    return fb.Proposal.endProposal(bd);
  }

  private txBatch(batch: TxBatch): number {
    const bd = this.bd;
    this.txs(batch.txs, MAX_TXS_PER_BATCH, "txBatch");
    const ends = this.txEnds;
    const data = this.txData;
    let origins = 0;
    let txOrigins = 0;
    if (batch.origins !== undefined) {
      const list = batch.origins;
      if (list.length !== batch.txs.length) fail("BAD_LENGTH", "txBatch", "origins", `${list.length} origins for ${batch.txs.length} txs`, list.length, batch.txs.length);
      // Distinct ids once, then a u16 index per tx (a batch mostly carries a handful of clients).
      const index = new Map<string, number>();
      const idx = new Uint16Array(list.length);
      const offsets: number[] = [];
      for (let i = 0; i < list.length; i++) {
        const o = list[i]!;
        let k = index.get(o);
        if (k === undefined) {
          const bytes = utf8Encoder.encode(o);
          if (bytes.length > MAX_ORIGIN_BYTES) fail("TOO_LARGE", "txBatch", "origins", `origin ${i} has ${bytes.length} bytes, limit ${MAX_ORIGIN_BYTES}`, bytes.length, MAX_ORIGIN_BYTES);
          k = offsets.length;
          index.set(o, k);
          offsets.push(bd.createString(bytes));
        }
        idx[i] = k;
      }
      origins = fb.TxBatch.createOriginsVector(bd, offsets);
      txOrigins = fb.TxBatch.createTxOriginsVector(bd, idx);
    }
    fb.TxBatch.startTxBatch(bd);
    if (ends !== 0) fb.TxBatch.addTxEnds(bd, ends);
    if (data !== 0) fb.TxBatch.addTxData(bd, data);
    if (origins !== 0) fb.TxBatch.addOrigins(bd, origins);
    if (txOrigins !== 0) fb.TxBatch.addTxOrigins(bd, txOrigins);
    return fb.TxBatch.endTxBatch(bd);
  }

  private chainId(id: Uint8Array, where: string): number {
    if (id.length === 0 || id.length > MAX_CHAIN_ID_BYTES) {
      fail("BAD_LENGTH", where, "chainId", `${id.length} bytes, want 1..${MAX_CHAIN_ID_BYTES}`, id.length, MAX_CHAIN_ID_BYTES);
    }
    return this.bytes(id);
  }

  private handshake(h: Handshake): number {
    const w = "handshake";
    checkU32(h.version, w, "version");
    checkExact(h.publicKey, PUBLIC_KEY_BYTES, w, "publicKey");
    checkExact(h.nonce, NONCE_BYTES, w, "nonce");
    if (h.peerNonce !== null) checkExact(h.peerNonce, NONCE_BYTES, w, "peerNonce");
    if (h.signature !== null) checkExact(h.signature, SIGNATURE_BYTES, w, "signature");
    if (h.ephemeralKey !== null) checkExact(h.ephemeralKey, EPHEMERAL_KEY_BYTES, w, "ephemeralKey");
    const bd = this.bd;
    const chainId = this.chainId(h.chainId, w);
    const pk = this.bytes(h.publicKey);
    const nonce = this.bytes(h.nonce);
    const peerNonce = h.peerNonce === null ? 0 : this.bytes(h.peerNonce);
    const sig = h.signature === null ? 0 : this.bytes(h.signature);
    const ek = h.ephemeralKey === null ? 0 : this.bytes(h.ephemeralKey);
    fb.Handshake.startHandshake(bd);
    fb.Handshake.addVersion(bd, h.version);
    fb.Handshake.addChainId(bd, chainId);
    fb.Handshake.addPublicKey(bd, pk);
    fb.Handshake.addNonce(bd, nonce);
    if (peerNonce !== 0) fb.Handshake.addPeerNonce(bd, peerNonce);
    if (sig !== 0) fb.Handshake.addSignature(bd, sig);
    if (ek !== 0) fb.Handshake.addEphemeralKey(bd, ek);
    return fb.Handshake.endHandshake(bd);
  }

  private hello(h: Hello): number {
    const w = "hello";
    checkU53(h.committedHeight, w, "committedHeight");
    checkExact(h.committedHash, HASH_BYTES, w, "committedHash");
    const bd = this.bd;
    const chainId = this.chainId(h.chainId, w);
    const hash = this.bytes(h.committedHash);
    fb.Hello.startHello(bd);
    addU53(bd, HelloF.committedHeight, h.committedHeight);
    fb.Hello.addChainId(bd, chainId);
    fb.Hello.addCommittedHash(bd, hash);
    return fb.Hello.endHello(bd);
  }

  private syncRequest(r: SyncRequest): number {
    const w = "syncRequest";
    checkU32(r.requestId, w, "requestId");
    checkU53(r.fromHeight, w, "fromHeight");
    checkU53(r.toHeight, w, "toHeight");
    if (r.toHeight < r.fromHeight) fail("OUT_OF_RANGE", w, "toHeight", `${r.toHeight} is below fromHeight ${r.fromHeight}`, r.toHeight, r.fromHeight);
    const bd = this.bd;
    fb.SyncRequest.startSyncRequest(bd);
    addU53(bd, SyncRequestF.toHeight, r.toHeight);
    addU53(bd, SyncRequestF.fromHeight, r.fromHeight);
    fb.SyncRequest.addRequestId(bd, r.requestId);
    return fb.SyncRequest.endSyncRequest(bd);
  }

  private syncResponse(r: SyncResponse): number {
    const w = "syncResponse";
    checkU32(r.requestId, w, "requestId");
    const blocks = r.blocks;
    if (blocks.length > MAX_SYNC_BLOCKS) fail("TOO_MANY", w, "blocks", `${blocks.length} blocks, limit ${MAX_SYNC_BLOCKS}`, blocks.length, MAX_SYNC_BLOCKS);
    let txs = 0;
    for (const cb of blocks) txs += cb.block.txs.length;
    if (txs > MAX_SYNC_TXS) fail("TOO_MANY", w, "txs", `${txs} transactions, limit ${MAX_SYNC_TXS}`, txs, MAX_SYNC_TXS);
    const bd = this.bd;
    const offsets: number[] = [];
    for (let i = 0; i < blocks.length; i++) {
      const at = `${w}.blocks[${i}]`;
      const cb = blocks[i]!;
      const block = this.block(cb.block, `${at}.block`);
      const qc = this.qc(cb.qc, `${at}.qc`);
      fb.CertifiedBlock.startCertifiedBlock(bd);
      fb.CertifiedBlock.addBlock(bd, block);
      fb.CertifiedBlock.addQc(bd, qc);
      offsets.push(fb.CertifiedBlock.endCertifiedBlock(bd));
      // Stop early instead of growing the builder far past the limit.
      if (bd.offset() > MAX_MESSAGE_BYTES) fail("TOO_LARGE", w, "blocks", `more than ${MAX_MESSAGE_BYTES} bytes after ${i + 1} blocks`, bd.offset(), MAX_MESSAGE_BYTES);
    }
    const vec = fb.SyncResponse.createBlocksVector(bd, offsets);
    fb.SyncResponse.startSyncResponse(bd);
    fb.SyncResponse.addRequestId(bd, r.requestId);
    fb.SyncResponse.addBlocks(bd, vec);
    return fb.SyncResponse.endSyncResponse(bd);
  }
}

const shared = new WireEncoder();

/**
 * Encodes `msg` of validator-set `epoch` into a new array (one shared builder for the whole thread). Throws
 * `WireError` on invalid fields.
 */
export function encodeMessage(msg: Message, epoch = 0): Uint8Array {
  return shared.encode(msg, epoch);
}
