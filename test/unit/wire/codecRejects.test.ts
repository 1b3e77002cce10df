// Every limit and length check, on both sides: the encoder refuses invalid domain objects, and the decoder refuses
// hostile buffers built with the raw FlatBuffers builder (standing in for a peer that does not use our encoder) or
// patched byte by byte.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Builder } from "flatbuffers";
import * as fb from "../../../src/wire/generated/quire_generated.js";
import { decodeEnvelope, decodeMessage, encodeMessage, envelopeEpoch, FILE_IDENTIFIER, WireEncoder } from "../../../src/wire/codec.js";
import { WireError } from "../../../src/wire/errors.js";
import type { WireErrorCode } from "../../../src/wire/errors.js";
import {
  MAX_BITMAP_BYTES,
  MAX_CERT_SIGNERS,
  MAX_MESSAGE_BYTES,
  MAX_SYNC_BLOCKS,
  MAX_SYNC_TXS,
  MAX_TXS_PER_BATCH,
  MAX_TXS_PER_BLOCK,
  MAX_TX_BYTES,
} from "../../../src/domain/limits.js";
import type { Block, Message, QuorumCert, TimeoutCert, Vote } from "../../../src/domain/types.js";
import { seededRng } from "../../support/seed.js";
import { randomBlock, randomMessage, randomQc, randomTc } from "../../support/wireSamples.js";

function isWireError(code: WireErrorCode, field?: string): (e: unknown) => boolean {
  return (e: unknown) => {
    if (!(e instanceof WireError)) throw new assert.AssertionError({ message: `expected WireError ${code}, got ${String(e)}` });
    if (e.code !== code || (field !== undefined && e.payload.field !== field)) {
      throw new assert.AssertionError({ message: `expected ${code} at ${field ?? "*"}, got ${e.code} at ${e.payload.field}: ${e.message}` });
    }
    return true;
  };
}

function rejectsDecode(bytes: Uint8Array, code: WireErrorCode, field?: string): void {
  assert.throws(() => decodeMessage(bytes), isWireError(code, field));
}

function rejectsEncode(msg: Message, code: WireErrorCode, field?: string): void {
  assert.throws(() => encodeMessage(msg), isWireError(code, field));
}

// ---- encoder side -------------------------------------------------------------------------------------------------

const vote: Vote = { view: 5, blockHash: new Uint8Array(32), voter: 1, signature: new Uint8Array(192) };
/** A proposal signature's size (uncompressed, as a vote's). */
const SIG = new Uint8Array(192);
const qc: QuorumCert = { view: 4, blockHash: new Uint8Array(32), signers: Uint8Array.of(7), aggregateSignature: new Uint8Array(96) };
const tc: TimeoutCert = { view: 4, signers: Uint8Array.of(7), highQcViews: [3, 3, 2], aggregateSignature: new Uint8Array(96), highQc: { ...qc, view: 3 } };
const block: Block = {
  header: { parent: new Uint8Array(32), view: 5, height: 3, proposer: 1, timestampMs: 1_700_000_000_000, txRoot: new Uint8Array(32), parentStateRoot: new Uint8Array(32), parentResults: new Uint8Array(0), parentSigners: new Uint8Array(0) },
  txs: [Uint8Array.of(1)],
};
const handshake = { version: 1, chainId: Uint8Array.of(1, 2), publicKey: new Uint8Array(48), nonce: new Uint8Array(32), peerNonce: null, signature: null, ephemeralKey: null };

test("encoder: fixed-size byte fields must have their exact length", () => {
  for (const n of [0, 31, 33]) {
    rejectsEncode({ kind: "vote", body: { ...vote, blockHash: new Uint8Array(n) } }, "BAD_LENGTH", "vote.blockHash");
    rejectsEncode({ kind: "qc", body: { ...qc, blockHash: new Uint8Array(n) } }, "BAD_LENGTH", "qc.blockHash");
    rejectsEncode({ kind: "hello", body: { chainId: Uint8Array.of(1), committedHeight: 1, committedHash: new Uint8Array(n) } }, "BAD_LENGTH", "hello.committedHash");
    rejectsEncode({ kind: "handshake", body: { ...handshake, nonce: new Uint8Array(n) } }, "BAD_LENGTH", "handshake.nonce");
    rejectsEncode({ kind: "handshake", body: { ...handshake, peerNonce: new Uint8Array(n) } }, "BAD_LENGTH", "handshake.peerNonce");
    for (const f of ["parent", "txRoot", "parentStateRoot"] as const) {
      rejectsEncode({ kind: "proposal", body: { block: { ...block, header: { ...block.header, [f]: new Uint8Array(n) } }, qc, tc: null, signature: SIG } }, "BAD_LENGTH", `proposal.block.header.${f}`);
    }
  }
  for (const n of [0, 47, 49, 96]) rejectsEncode({ kind: "handshake", body: { ...handshake, publicKey: new Uint8Array(n) } }, "BAD_LENGTH", "handshake.publicKey");
  // Votes and timeouts carry uncompressed signatures (192 bytes): the compressed size is refused like any other.
  for (const n of [0, 96, 191, 193]) {
    rejectsEncode({ kind: "vote", body: { ...vote, signature: new Uint8Array(n) } }, "BAD_LENGTH", "vote.signature");
    rejectsEncode({ kind: "timeout", body: { view: 5, highQc: qc, voter: 0, signature: new Uint8Array(n) } }, "BAD_LENGTH", "timeout.signature");
    rejectsEncode({ kind: "proposal", body: { block, qc, tc: null, signature: new Uint8Array(n) } }, "BAD_LENGTH", "proposal.signature");
  }
  for (const n of [0, 48, 95, 97]) {
    rejectsEncode({ kind: "timeout", body: { view: 5, highQc: { ...qc, aggregateSignature: new Uint8Array(n) }, voter: 0, signature: new Uint8Array(192) } }, "BAD_LENGTH", "timeout.highQc.aggregateSignature");
    rejectsEncode({ kind: "tc", body: { ...tc, aggregateSignature: new Uint8Array(n) } }, "BAD_LENGTH", "tc.aggregateSignature");
    rejectsEncode({ kind: "tc", body: { ...tc, highQc: { ...qc, aggregateSignature: new Uint8Array(n) } } }, "BAD_LENGTH", "tc.highQc.aggregateSignature");
    rejectsEncode({ kind: "proposal", body: { block, qc, tc: { ...tc, highQc: { ...qc, aggregateSignature: new Uint8Array(n) } }, signature: SIG } }, "BAD_LENGTH", "proposal.tc.highQc.aggregateSignature");
    rejectsEncode({ kind: "proposal", body: { block, qc, tc: { ...tc, aggregateSignature: new Uint8Array(n) }, signature: SIG } }, "BAD_LENGTH", "proposal.tc.aggregateSignature");
    rejectsEncode({ kind: "handshake", body: { ...handshake, signature: new Uint8Array(n) } }, "BAD_LENGTH", "handshake.signature");
  }
  for (const n of [0, 65]) {
    rejectsEncode({ kind: "handshake", body: { ...handshake, chainId: new Uint8Array(n) } }, "BAD_LENGTH", "handshake.chainId");
    rejectsEncode({ kind: "hello", body: { chainId: new Uint8Array(n), committedHeight: 0, committedHash: new Uint8Array(32) } }, "BAD_LENGTH", "hello.chainId");
  }
});

test("encoder: numbers must be integers in range (uint64 as 0..2^53-1, uint32)", () => {
  for (const bad of [-1, 1.5, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY]) {
    rejectsEncode({ kind: "vote", body: { ...vote, view: bad } }, "OUT_OF_RANGE", "vote.view");
    rejectsEncode({ kind: "tc", body: { ...tc, highQcViews: [1, bad] } }, "OUT_OF_RANGE", "tc.highQcViews");
    rejectsEncode({ kind: "tc", body: { ...tc, highQc: { ...qc, view: bad } } }, "OUT_OF_RANGE", "tc.highQc.view");
    rejectsEncode({ kind: "proposal", body: { block: { ...block, header: { ...block.header, timestampMs: bad } }, qc, tc: null, signature: SIG } }, "OUT_OF_RANGE", "proposal.block.header.timestampMs");
    rejectsEncode({ kind: "syncRequest", body: { requestId: 1, fromHeight: bad, toHeight: 10 } }, "OUT_OF_RANGE", "syncRequest.fromHeight");
  }
  for (const bad of [-1, 2 ** 32, 0.5]) {
    rejectsEncode({ kind: "vote", body: { ...vote, voter: bad } }, "OUT_OF_RANGE", "vote.voter");
    rejectsEncode({ kind: "handshake", body: { ...handshake, version: bad } }, "OUT_OF_RANGE", "handshake.version");
  }
  rejectsEncode({ kind: "syncRequest", body: { requestId: 1, fromHeight: 10, toHeight: 9 } }, "OUT_OF_RANGE", "syncRequest.toHeight");
});

test("encoder: the envelope epoch must be an integer in 0..2^53-1", () => {
  const enc = new WireEncoder();
  const msg: Message = { kind: "vote", body: vote };
  for (const bad of [-1, 1.5, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => encodeMessage(msg, bad), isWireError("OUT_OF_RANGE", "envelope.epoch"));
    assert.throws(() => enc.encode(msg, bad), isWireError("OUT_OF_RANGE", "envelope.epoch"));
    assert.throws(() => enc.encodeView(msg, bad), isWireError("OUT_OF_RANGE", "envelope.epoch"));
  }
  // The refused epoch left nothing behind in the encoder.
  assert.deepStrictEqual(decodeEnvelope(enc.encode(msg, 3)), { message: msg, epoch: 3 });
});

test("encoder: counts and sizes stay within their limits", () => {
  const tx = (n: number) => new Uint8Array(n);
  rejectsEncode({ kind: "txBatch", body: { txs: [tx(1), tx(MAX_TX_BYTES + 1)] } }, "TOO_LARGE", "txBatch.txs");
  rejectsEncode({ kind: "txBatch", body: { txs: Array.from({ length: MAX_TXS_PER_BATCH + 1 }, () => tx(0)) } }, "TOO_MANY", "txBatch.txs");
  rejectsEncode({ kind: "proposal", body: { block: { ...block, txs: Array.from({ length: MAX_TXS_PER_BLOCK + 1 }, () => tx(0)) }, qc, tc: null, signature: SIG } }, "TOO_MANY", "proposal.block.txs");
  rejectsEncode({ kind: "qc", body: { ...qc, signers: new Uint8Array(MAX_BITMAP_BYTES + 1) } }, "TOO_LARGE", "qc.signers");
  rejectsEncode({ kind: "tc", body: { ...tc, highQcViews: new Array<number>(MAX_CERT_SIGNERS + 1).fill(1) } }, "TOO_MANY", "tc.highQcViews");
  rejectsEncode({ kind: "proposal", body: { block: { ...block, header: { ...block.header, parentResults: new Uint8Array(MAX_BITMAP_BYTES + 1), parentSigners: new Uint8Array(0) } }, qc, tc: null, signature: SIG } }, "TOO_LARGE", "proposal.block.header.parentResults");
  const blocks = Array.from({ length: MAX_SYNC_BLOCKS + 1 }, () => ({ block, qc }));
  rejectsEncode({ kind: "syncResponse", body: { requestId: 1, blocks } }, "TOO_MANY", "syncResponse.blocks");
  // 256 blocks of 80 KB each would be ~20 MB: refused once the builder passes the limit, not after building it all.
  const bigBlock = { ...block, txs: [tx(40_000), tx(40_000)] };
  const tooBig = Array.from({ length: MAX_SYNC_BLOCKS }, () => ({ block: bigBlock, qc }));
  rejectsEncode({ kind: "syncResponse", body: { requestId: 1, blocks: tooBig } }, "TOO_LARGE", "syncResponse.blocks");
});

// ---- decoder side -------------------------------------------------------------------------------------------------

/**
 * A raw envelope around whatever `build` writes: the hostile peer's builder. With `epoch`, the envelope gets its
 * third field (slot 2, uint64), which the generated Envelope (older than the field) cannot write.
 */
function raw(type: number, build: (bd: Builder) => number, epoch?: bigint): Uint8Array {
  const bd = new Builder(256);
  const off = build(bd);
  if (epoch === undefined) fb.Envelope.startEnvelope(bd);
  else bd.startObject(3);
  fb.Envelope.addMessageType(bd, type);
  if (off !== 0) fb.Envelope.addMessage(bd, off);
  if (epoch !== undefined) bd.addFieldInt64(2, epoch, 0n);
  bd.finish(fb.Envelope.endEnvelope(bd), FILE_IDENTIFIER);
  return bd.asUint8Array().slice();
}

interface RawVote {
  view?: bigint;
  hash?: Uint8Array | null;
  voter?: number;
  sig?: Uint8Array | null;
}

function rawVote(o: RawVote = {}, epoch?: bigint): Uint8Array {
  return raw(fb.Message.Vote, (bd) => {
    const hash = o.hash === null ? 0 : bd.createByteVector(o.hash ?? new Uint8Array(32));
    const sig = o.sig === null ? 0 : bd.createByteVector(o.sig ?? new Uint8Array(192));
    fb.Vote.startVote(bd);
    fb.Vote.addView(bd, o.view ?? 1n);
    if (hash !== 0) fb.Vote.addBlockHash(bd, hash);
    fb.Vote.addVoter(bd, o.voter ?? 0);
    if (sig !== 0) fb.Vote.addSignature(bd, sig);
    return fb.Vote.endVote(bd);
  }, epoch);
}

function rawQc(bd: Builder, o: { view?: bigint; hash?: Uint8Array; signers?: Uint8Array; sig?: Uint8Array } = {}): number {
  const hash = bd.createByteVector(o.hash ?? new Uint8Array(32));
  const signers = bd.createByteVector(o.signers ?? Uint8Array.of(1));
  const sig = bd.createByteVector(o.sig ?? new Uint8Array(96));
  return fb.QuorumCert.createQuorumCert(bd, o.view ?? 1n, hash, signers, sig);
}

/** A TC table (view 9) with these high-QC views and, unless `highQc` is null, a carried QC (`rawQc` with `highQc`). */
function rawTc(bd: Builder, views: readonly bigint[], highQc: Parameters<typeof rawQc>[1] | null = {}): number {
  const signers = bd.createByteVector(Uint8Array.of(3));
  const viewsOff = fb.TimeoutCert.createHighQcViewsVector(bd, [...views]);
  const sig = bd.createByteVector(new Uint8Array(96));
  const q = highQc === null ? 0 : rawQc(bd, highQc);
  fb.TimeoutCert.startTimeoutCert(bd);
  fb.TimeoutCert.addView(bd, 9n);
  fb.TimeoutCert.addSigners(bd, signers);
  fb.TimeoutCert.addHighQcViews(bd, viewsOff);
  fb.TimeoutCert.addSignature(bd, sig);
  if (q !== 0) fb.TimeoutCert.addHighQc(bd, q);
  return fb.TimeoutCert.endTimeoutCert(bd);
}

interface RawTxs {
  ends?: number[] | null;
  data?: Uint8Array | null;
}

function rawTxList(bd: Builder, o: RawTxs): [number, number] {
  const data = o.data === null ? 0 : bd.createByteVector(o.data ?? Uint8Array.of(1, 2, 3));
  const ends = o.ends === null ? 0 : fb.Block.createTxEndsVector(bd, o.ends ?? [1, 3]);
  return [ends, data];
}

function rawBlock(bd: Builder, txs: RawTxs = {}, headerOverride?: (bd: Builder) => number): number {
  const header = headerOverride !== undefined ? headerOverride(bd) : rawHeader(bd);
  const [ends, data] = rawTxList(bd, txs);
  fb.Block.startBlock(bd);
  if (header !== 0) fb.Block.addHeader(bd, header);
  if (ends !== 0) fb.Block.addTxEnds(bd, ends);
  if (data !== 0) fb.Block.addTxData(bd, data);
  return fb.Block.endBlock(bd);
}

function rawHeader(bd: Builder, o: { height?: bigint; parent?: Uint8Array; results?: Uint8Array } = {}): number {
  const parent = bd.createByteVector(o.parent ?? new Uint8Array(32));
  const root = bd.createByteVector(new Uint8Array(32));
  const state = bd.createByteVector(new Uint8Array(32));
  const results = bd.createByteVector(o.results ?? new Uint8Array(0));
  return fb.BlockHeader.createBlockHeader(bd, parent, 2n, o.height ?? 1n, 0, 0n, root, state, results, 0);
}

function rawProposal(txs: RawTxs = {}, o: { withQc?: boolean; headerOverride?: (bd: Builder) => number; signature?: Uint8Array | null } = {}): Uint8Array {
  return raw(fb.Message.Proposal, (bd) => {
    const block = rawBlock(bd, txs, o.headerOverride);
    const qcOff = o.withQc === false ? 0 : rawQc(bd);
    const sig = o.signature === null ? 0 : bd.createByteVector(o.signature ?? new Uint8Array(192));
    fb.Proposal.startProposal(bd);
    fb.Proposal.addBlock(bd, block);
    if (qcOff !== 0) fb.Proposal.addQc(bd, qcOff);
    if (sig !== 0) fb.Proposal.addSignature(bd, sig);
    return fb.Proposal.endProposal(bd);
  });
}

function rawTxBatch(txs: RawTxs): Uint8Array {
  return raw(fb.Message.TxBatch, (bd) => {
    const [ends, data] = rawTxList(bd, txs);
    fb.TxBatch.startTxBatch(bd);
    if (ends !== 0) fb.TxBatch.addTxEnds(bd, ends);
    if (data !== 0) fb.TxBatch.addTxData(bd, data);
    return fb.TxBatch.endTxBatch(bd);
  });
}

function rawHandshake(o: { chainId?: Uint8Array | null; pk?: Uint8Array; nonce?: Uint8Array; peer?: Uint8Array; sig?: Uint8Array }): Uint8Array {
  return raw(fb.Message.Handshake, (bd) => {
    const chain = o.chainId === null ? 0 : bd.createByteVector(o.chainId ?? Uint8Array.of(1));
    const pk = bd.createByteVector(o.pk ?? new Uint8Array(48));
    const nonce = bd.createByteVector(o.nonce ?? new Uint8Array(32));
    const peer = o.peer === undefined ? 0 : bd.createByteVector(o.peer);
    const sig = o.sig === undefined ? 0 : bd.createByteVector(o.sig);
    fb.Handshake.startHandshake(bd);
    fb.Handshake.addVersion(bd, 1);
    if (chain !== 0) fb.Handshake.addChainId(bd, chain);
    fb.Handshake.addPublicKey(bd, pk);
    fb.Handshake.addNonce(bd, nonce);
    if (peer !== 0) fb.Handshake.addPeerNonce(bd, peer);
    if (sig !== 0) fb.Handshake.addSignature(bd, sig);
    return fb.Handshake.endHandshake(bd);
  });
}

test("the raw builders produce valid messages when left alone (so each rejection below is due to its one change)", () => {
  for (const bytes of [rawVote(), rawProposal(), rawTxBatch({}), rawHandshake({}), rawHandshake({ peer: new Uint8Array(32), sig: new Uint8Array(96) })]) {
    decodeMessage(bytes);
  }
});

const u32le = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset).getUint32(o, true);
const i32le = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset).getInt32(o, true);
const u16le = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset).getUint16(o, true);
const put32 = (b: Uint8Array, o: number, v: number) => new DataView(b.buffer, b.byteOffset).setUint32(o, v >>> 0, true);
const put16 = (b: Uint8Array, o: number, v: number) => new DataView(b.buffer, b.byteOffset).setUint16(o, v, true);
/** Position of the union's message table. */
function messageTable(b: Uint8Array): number {
  const root = u32le(b, 0);
  const vt = root - i32le(b, root);
  const p = root + u16le(b, vt + 6);
  return p + u32le(b, p);
}
function vtableOf(b: Uint8Array, table: number): number {
  return table - i32le(b, table);
}

test("decoder: envelope-level refusals", () => {
  for (let n = 0; n < 8; n++) rejectsDecode(new Uint8Array(n), "TOO_SHORT", "envelope");
  rejectsDecode(new Uint8Array(MAX_MESSAGE_BYTES + 1), "TOO_LARGE", "envelope");
  const good = rawVote();
  const badId = good.slice();
  badId[7] = 0x32; // "QWR2"
  rejectsDecode(badId, "BAD_IDENTIFIER", "envelope");
  for (const root of [good.length, good.length - 3, 0xffffffff]) {
    const b = good.slice();
    put32(b, 0, root);
    rejectsDecode(b, "OUT_OF_BOUNDS", "envelope");
  }
  for (const type of [0, 11, 255]) rejectsDecode(raw(type, (bd) => rawQc(bd)), "UNKNOWN_MESSAGE", "envelope.messageType");
  rejectsDecode(raw(fb.Message.Vote, () => 0), "MISSING_FIELD", "envelope.message");
});

test("decoder: tables, vtables and fields that leave the buffer or their table", () => {
  const good = rawVote();
  const t = messageTable(good);
  const vt = vtableOf(good, t);
  // soffset sending the vtable before the start of the buffer, and past its end.
  for (const soff of [t + 1, t - good.length, -0x7fffffff]) {
    const b = good.slice();
    put32(b, t, soff);
    rejectsDecode(b, "OUT_OF_BOUNDS", "vote");
  }
  for (const vsize of [0, 2, 7]) {
    const b = good.slice();
    put16(b, vt, vsize);
    rejectsDecode(b, "BAD_VTABLE", "vote");
  }
  {
    const b = good.slice();
    put16(b, vt, 0xfffe); // vtable claims to run past the end
    rejectsDecode(b, "OUT_OF_BOUNDS", "vote");
  }
  {
    const b = good.slice();
    put16(b, vt + 2, 0xfff0); // table claims to run past the end
    rejectsDecode(b, "OUT_OF_BOUNDS", "vote");
  }
  {
    const b = good.slice();
    put16(b, vt + 2, 2); // table smaller than its own soffset
    rejectsDecode(b, "BAD_VTABLE", "vote");
  }
  {
    const b = good.slice();
    put16(b, vt + 4, u16le(b, vt + 2) - 4); // the uint64 view would straddle the table's end
    rejectsDecode(b, "OUT_OF_BOUNDS", "vote.view");
  }
  {
    const b = good.slice();
    put16(b, vt + 6, 2); // a field overlapping the table's soffset
    rejectsDecode(b, "OUT_OF_BOUNDS", "vote.blockHash");
  }
  {
    // The signature's offset pointing past the end, and its length running past the end.
    const b = good.slice();
    const f = t + u16le(b, vt + 10);
    put32(b, f, b.length);
    rejectsDecode(b, "OUT_OF_BOUNDS", "vote.signature");
    // Cut inside the last-created vector (the block hash, at the buffer's end).
    rejectsDecode(good.subarray(0, good.length - 10), "OUT_OF_BOUNDS", "vote.blockHash");
  }
});

test("decoder: self-referencing offsets (the only 'cycle' a forward-only uoffset allows) are refused", () => {
  // The envelope's message offset set to 0 makes the union point at the offset field itself.
  const b = rawVote();
  const root = u32le(b, 0);
  const vt = vtableOf(b, root);
  const f = root + u16le(b, vt + 6);
  put32(b, f, 0);
  assert.throws(() => decodeMessage(b), WireError);
  // The same for a nested table: the timeout's high QC.
  const t = raw(fb.Message.Timeout, (bd) => {
    const q = rawQc(bd);
    const sig = bd.createByteVector(new Uint8Array(192));
    fb.Timeout.startTimeout(bd);
    fb.Timeout.addView(bd, 3n);
    fb.Timeout.addHighQc(bd, q);
    fb.Timeout.addVoter(bd, 1);
    fb.Timeout.addSignature(bd, sig);
    return fb.Timeout.endTimeout(bd);
  });
  decodeMessage(t);
  const tt = messageTable(t);
  const hq = tt + u16le(t, vtableOf(t, tt) + 6);
  put32(t, hq, 0);
  assert.throws(() => decodeMessage(t), WireError);
});

test("decoder: fixed-size fields, required fields and chain ids", () => {
  for (const n of [0, 31, 33, 0xffff]) rejectsDecode(rawVote({ hash: new Uint8Array(n) }), "BAD_LENGTH", "vote.blockHash");
  for (const n of [0, 96, 191, 193]) rejectsDecode(rawVote({ sig: new Uint8Array(n) }), "BAD_LENGTH", "vote.signature");
  rejectsDecode(rawVote({ hash: null }), "MISSING_FIELD", "vote.blockHash");
  rejectsDecode(rawVote({ sig: null }), "MISSING_FIELD", "vote.signature");
  rejectsDecode(rawHandshake({ pk: new Uint8Array(47) }), "BAD_LENGTH", "handshake.publicKey");
  rejectsDecode(rawHandshake({ nonce: new Uint8Array(31) }), "BAD_LENGTH", "handshake.nonce");
  rejectsDecode(rawHandshake({ peer: new Uint8Array(33) }), "BAD_LENGTH", "handshake.peerNonce");
  rejectsDecode(rawHandshake({ sig: new Uint8Array(48) }), "BAD_LENGTH", "handshake.signature");
  for (const id of [null, new Uint8Array(0), new Uint8Array(65)]) rejectsDecode(rawHandshake({ chainId: id }), "BAD_LENGTH", "handshake.chainId");
  rejectsDecode(rawProposal({}, { withQc: false }), "MISSING_FIELD", "proposal.qc");
  // Protocol version 3: an unsigned proposal (a version-2 sender's) is refused by the codec, as is a compressed-size one.
  rejectsDecode(rawProposal({}, { signature: null }), "MISSING_FIELD", "proposal.signature");
  for (const n of [0, 96, 191, 193]) rejectsDecode(rawProposal({}, { signature: new Uint8Array(n) }), "BAD_LENGTH", "proposal.signature");
  rejectsDecode(rawProposal({}, { headerOverride: () => 0 }), "MISSING_FIELD", "proposal.block.header");
  rejectsDecode(rawProposal({}, { headerOverride: (bd) => rawHeader(bd, { parent: new Uint8Array(20) }) }), "BAD_LENGTH", "proposal.block.header.parent");
  rejectsDecode(rawProposal({}, { headerOverride: (bd) => rawHeader(bd, { results: new Uint8Array(MAX_BITMAP_BYTES + 1) }) }), "TOO_LARGE", "proposal.block.header.parentResults");
  rejectsDecode(
    raw(fb.Message.Timeout, (bd) => {
      const sig = bd.createByteVector(new Uint8Array(192));
      fb.Timeout.startTimeout(bd);
      fb.Timeout.addView(bd, 3n);
      fb.Timeout.addSignature(bd, sig);
      return fb.Timeout.endTimeout(bd);
    }),
    "MISSING_FIELD",
    "timeout.highQc",
  );
  rejectsDecode(raw(fb.Message.QuorumCert, (bd) => rawQc(bd, { signers: new Uint8Array(MAX_BITMAP_BYTES + 1) })), "TOO_LARGE", "qc.signers");
  // A TC without its carried QC (a protocol-1 TC), or with a malformed one.
  decodeMessage(raw(fb.Message.TimeoutCert, (bd) => rawTc(bd, [1n, 1n])));
  rejectsDecode(raw(fb.Message.TimeoutCert, (bd) => rawTc(bd, [1n, 1n], null)), "MISSING_FIELD", "tc.highQc");
  rejectsDecode(raw(fb.Message.TimeoutCert, (bd) => rawTc(bd, [1n, 1n], { hash: new Uint8Array(31) })), "BAD_LENGTH", "tc.highQc.blockHash");
  rejectsDecode(raw(fb.Message.TimeoutCert, (bd) => rawTc(bd, [1n, 1n], { sig: new Uint8Array(95) })), "BAD_LENGTH", "tc.highQc.aggregateSignature");
});

test("decoder: uint64 values above 2^53 - 1 and inverted ranges", () => {
  for (const v of [2n ** 53n, 2n ** 63n, 2n ** 64n - 1n]) {
    rejectsDecode(rawVote({ view: v }), "OUT_OF_RANGE", "vote.view");
    rejectsDecode(rawProposal({}, { headerOverride: (bd) => rawHeader(bd, { height: v }) }), "OUT_OF_RANGE", "proposal.block.header.height");
    rejectsDecode(raw(fb.Message.TimeoutCert, (bd) => rawTc(bd, [1n, v])), "OUT_OF_RANGE", "tc.highQcViews");
    rejectsDecode(raw(fb.Message.TimeoutCert, (bd) => rawTc(bd, [1n, 1n], { view: v })), "OUT_OF_RANGE", "tc.highQc.view");
  }
  decodeMessage(rawVote({ view: 2n ** 53n - 1n }));
  rejectsDecode(raw(fb.Message.SyncRequest, (bd) => fb.SyncRequest.createSyncRequest(bd, 1, 10n, 9n)), "OUT_OF_RANGE", "syncRequest.toHeight");
});

test("decoder: packed transaction lists", () => {
  rejectsDecode(rawTxBatch({ ends: [2, 1, 3] }), "BAD_TX_LAYOUT", "txBatch.txEnds");
  rejectsDecode(rawTxBatch({ ends: [1, 2] }), "BAD_TX_LAYOUT", "txBatch.txEnds"); // stops short of the data
  rejectsDecode(rawTxBatch({ ends: [1, 4] }), "BAD_TX_LAYOUT", "txBatch.txEnds"); // runs past the data
  rejectsDecode(rawTxBatch({ ends: [1, 3], data: null }), "BAD_TX_LAYOUT", "txBatch.txEnds");
  rejectsDecode(rawTxBatch({ ends: null }), "BAD_TX_LAYOUT", "txBatch.txEnds");
  rejectsDecode(rawProposal({ ends: [3, 0] }), "BAD_TX_LAYOUT", "proposal.block.txEnds");
  const big = new Uint8Array(MAX_TX_BYTES + 2);
  rejectsDecode(rawTxBatch({ ends: [1, MAX_TX_BYTES + 2], data: big }), "TOO_LARGE", "txBatch.txs");
  rejectsDecode(rawTxBatch({ ends: new Array<number>(MAX_TXS_PER_BATCH + 1).fill(0), data: new Uint8Array(0) }), "TOO_MANY", "txBatch.txEnds");
  rejectsDecode(rawProposal({ ends: new Array<number>(MAX_TXS_PER_BLOCK + 1).fill(0), data: new Uint8Array(0) }), "TOO_MANY", "proposal.block.txEnds");
  // Edge cases that are valid: no transactions at all, and empty transactions.
  assert.deepStrictEqual(decodeMessage(rawTxBatch({ ends: null, data: null })), { kind: "txBatch", body: { txs: [] } });
  assert.deepStrictEqual(decodeMessage(rawTxBatch({ ends: [0, 0, 3, 3] })), { kind: "txBatch", body: { txs: [new Uint8Array(0), new Uint8Array(0), Uint8Array.of(1, 2, 3), new Uint8Array(0)] } });
});

test("decoder: vectors whose count is over the limit or whose bytes are not there", () => {
  const tcWith = (count: number) => raw(fb.Message.TimeoutCert, (bd) => rawTc(bd, new Array<bigint>(count).fill(1n)));
  rejectsDecode(tcWith(MAX_CERT_SIGNERS + 1), "TOO_MANY", "tc.highQcViews");
  decodeMessage(tcWith(MAX_CERT_SIGNERS));
  // A vector length patched to claim more elements than the buffer holds.
  const b = tcWith(3);
  const t = messageTable(b);
  const vt = vtableOf(b, t);
  const f = t + u16le(b, vt + 8);
  const vec = f + u32le(b, f);
  assert.equal(u32le(b, vec), 3);
  put32(b, vec, 1000);
  rejectsDecode(b, "OUT_OF_BOUNDS", "tc.highQcViews");
  const syncWith = (count: number) =>
    raw(fb.Message.SyncResponse, (bd) => {
      const offs: number[] = [];
      for (let i = 0; i < count; i++) {
        const block = rawBlock(bd);
        const q = rawQc(bd);
        fb.CertifiedBlock.startCertifiedBlock(bd);
        fb.CertifiedBlock.addBlock(bd, block);
        fb.CertifiedBlock.addQc(bd, q);
        offs.push(fb.CertifiedBlock.endCertifiedBlock(bd));
      }
      return fb.SyncResponse.createSyncResponse(bd, 1, fb.SyncResponse.createBlocksVector(bd, offs));
    });
  rejectsDecode(syncWith(MAX_SYNC_BLOCKS + 1), "TOO_MANY", "syncResponse.blocks");
  decodeMessage(syncWith(MAX_SYNC_BLOCKS));
});

test("sync responses carry at most MAX_SYNC_TXS transactions in total (encoder and decoder)", () => {
  // Five blocks of 65,536 empty transactions: each block is within its own limit, the response is not.
  const perBlock = MAX_TXS_PER_BLOCK;
  const blocks = Math.floor(MAX_SYNC_TXS / perBlock) + 1;
  const empty = new Uint8Array(0);
  const txs = new Array<Uint8Array>(perBlock).fill(empty);
  rejectsEncode({ kind: "syncResponse", body: { requestId: 1, blocks: Array.from({ length: blocks }, () => ({ block: { ...block, txs }, qc })) } }, "TOO_MANY", "syncResponse.txs");
  const ends = new Array<number>(perBlock).fill(0);
  const bytes = raw(fb.Message.SyncResponse, (bd) => {
    const offs: number[] = [];
    for (let i = 0; i < blocks; i++) {
      const blk = rawBlock(bd, { ends, data: new Uint8Array(0) });
      const q = rawQc(bd);
      fb.CertifiedBlock.startCertifiedBlock(bd);
      fb.CertifiedBlock.addBlock(bd, blk);
      fb.CertifiedBlock.addQc(bd, q);
      offs.push(fb.CertifiedBlock.endCertifiedBlock(bd));
    }
    return fb.SyncResponse.createSyncResponse(bd, 1, fb.SyncResponse.createBlocksVector(bd, offs));
  });
  rejectsDecode(bytes, "TOO_MANY", "syncResponse.txs");
  // Exactly at the limit is fine.
  const atLimit = Array.from({ length: blocks - 1 }, () => ({ block: { ...block, txs }, qc }));
  const decoded = decodeMessage(encodeMessage({ kind: "syncResponse", body: { requestId: 1, blocks: atLimit } }));
  assert.equal(decoded.kind === "syncResponse" ? decoded.body.blocks.reduce((n, cb) => n + cb.block.txs.length, 0) : -1, MAX_SYNC_TXS);
});

test("decoder: offsets that reuse the same bytes many times are refused (no amplification)", () => {
  // One block with 2,000 one-byte txs, referenced by 256 sync entries: ~12 KiB that would decode into 512,000 views.
  const bomb = raw(fb.Message.SyncResponse, (bd) => {
    const ends = Array.from({ length: 2000 }, (_, i) => i + 1);
    const block = rawBlock(bd, { ends, data: new Uint8Array(2000) });
    const q = rawQc(bd);
    fb.CertifiedBlock.startCertifiedBlock(bd);
    fb.CertifiedBlock.addBlock(bd, block);
    fb.CertifiedBlock.addQc(bd, q);
    const cb = fb.CertifiedBlock.endCertifiedBlock(bd);
    return fb.SyncResponse.createSyncResponse(bd, 1, fb.SyncResponse.createBlocksVector(bd, new Array<number>(MAX_SYNC_BLOCKS).fill(cb)));
  });
  assert.ok(bomb.length < 16_000);
  rejectsDecode(bomb, "ALIASED");
  // Even a single reuse is refused when the shared object carries most of the message; two distinct copies pass.
  const pair = (shared: boolean) =>
    raw(fb.Message.SyncResponse, (bd) => {
      const offs: number[] = [];
      for (let i = 0; i < 2; i++) {
        if (shared && i === 1) {
          offs.push(offs[0]!);
          break;
        }
        const block = rawBlock(bd, { ends: [3000], data: new Uint8Array(3000) });
        const q = rawQc(bd);
        fb.CertifiedBlock.startCertifiedBlock(bd);
        fb.CertifiedBlock.addBlock(bd, block);
        fb.CertifiedBlock.addQc(bd, q);
        offs.push(fb.CertifiedBlock.endCertifiedBlock(bd));
      }
      return fb.SyncResponse.createSyncResponse(bd, 1, fb.SyncResponse.createBlocksVector(bd, offs));
    });
  rejectsDecode(pair(true), "ALIASED");
  decodeMessage(pair(false));
});

test("honest messages at realistic sizes never trip the aliasing budget", (t) => {
  const rng = seededRng(t);
  for (let i = 0; i < 20; i++) {
    const blocks = Array.from({ length: rng.range(1, 40) }, () => ({ block: randomBlock(rng, 200), qc: randomQc(rng) }));
    const msg: Message = { kind: "syncResponse", body: { requestId: i, blocks } };
    assert.deepStrictEqual(decodeMessage(encodeMessage(msg)), msg);
    const p: Message = { kind: "proposal", body: { block: randomBlock(rng, 500), qc: randomQc(rng), tc: randomTc(rng), signature: rng.bytes(192) } };
    assert.deepStrictEqual(decodeMessage(encodeMessage(p)), p);
  }
  for (const kind of ["handshake", "hello", "vote", "timeout", "qc", "tc", "syncRequest", "txBatch"] as const) {
    const m = randomMessage(rng, kind);
    assert.deepStrictEqual(decodeMessage(encodeMessage(m)), m);
  }
});

// ---- the envelope's epoch -----------------------------------------------------------------------------------------

/** decodeEnvelope, decodeMessage and envelopeEpoch all refuse `bytes` with this code at this field. */
function rejectsEpoch(bytes: Uint8Array, code: WireErrorCode, field: string): void {
  assert.throws(() => decodeEnvelope(bytes), isWireError(code, field));
  assert.throws(() => decodeMessage(bytes), isWireError(code, field));
  assert.throws(() => envelopeEpoch(bytes), isWireError(code, field));
}

test("decoder: an epoch above 2^53 - 1 is refused like any uint64 field", () => {
  for (const v of [2n ** 53n, 2n ** 63n, 2n ** 64n - 1n]) rejectsEpoch(rawVote({}, v), "OUT_OF_RANGE", "envelope.epoch");
  const max = rawVote({}, 2n ** 53n - 1n);
  assert.equal(decodeEnvelope(max).epoch, 2 ** 53 - 1);
  assert.equal(envelopeEpoch(max), 2 ** 53 - 1);
});

test("decoder: an epoch field outside its table or a truncated envelope is refused with OUT_OF_BOUNDS", () => {
  const good = rawVote({}, 0x1234_5678_9an);
  const root = u32le(good, 0);
  const vt = vtableOf(good, root);
  const tsize = u16le(good, vt + 2);
  assert.equal(u16le(good, vt), 10); // three fields: the epoch's entry is at vt + 8
  assert.equal(envelopeEpoch(good), 0x1234_5678_9a);
  // The epoch's 8 bytes must lie inside the table (and past its soffset).
  for (const off of [1, 2, tsize - 7, tsize - 1, tsize, 0xfffe]) {
    const b = good.slice();
    put16(b, vt + 8, off);
    rejectsEpoch(b, "OUT_OF_BOUNDS", "envelope.epoch");
  }
  // Cut anywhere before the end of the envelope table: the epoch's bytes are not all there.
  for (let n = 0; n < root + tsize; n++) {
    const b = good.slice(0, n);
    const code = n < 8 ? "TOO_SHORT" : "OUT_OF_BOUNDS";
    rejectsEpoch(b, code, "envelope");
  }
});

test("envelopeEpoch reads only the envelope: a broken message still yields its epoch, decodeEnvelope refuses it", () => {
  const bytes = rawVote({ sig: new Uint8Array(96) }, 7n);
  assert.equal(envelopeEpoch(bytes), 7);
  assert.throws(() => decodeEnvelope(bytes), isWireError("BAD_LENGTH", "vote.signature"));
  // An envelope whose vtable ends before the epoch slot (every message before the field existed) is epoch 0.
  const old = rawVote();
  assert.equal(u16le(old, vtableOf(old, u32le(old, 0))), 8);
  assert.equal(envelopeEpoch(old), 0);
  assert.equal(decodeEnvelope(old).epoch, 0);
});
