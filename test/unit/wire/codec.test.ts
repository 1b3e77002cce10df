import { test } from "node:test";
import assert from "node:assert/strict";
import { Builder, ByteBuffer } from "flatbuffers";
import * as fb from "../../../src/wire/generated/quire_generated.js";
import { decodeEnvelope, decodeMessage, encodeMessage, envelopeEpoch, FILE_IDENTIFIER, WireEncoder } from "../../../src/wire/codec.js";
import { WireError } from "../../../src/wire/errors.js";
import { MAX_UINT53, MAX_TXS_PER_BLOCK } from "../../../src/domain/limits.js";
import { MESSAGE_KINDS } from "../../../src/domain/types.js";
import type { Message, Vote } from "../../../src/domain/types.js";
import { seededRng } from "../../support/seed.js";
import { randomBlock, randomMessage, randomQc } from "../../support/wireSamples.js";
import { decodeWithGenerated } from "../../support/wireOracle.js";
import { fromHex } from "../../../src/util/bytes.js";
import { EPOCH0_VECTORS } from "./epoch0Vectors.js";

function sampleVote(view: number): Vote {
  return { view, blockHash: new Uint8Array(32).fill(0xab), voter: 7, signature: new Uint8Array(192).fill(0xcd) };
}

test("every message kind round-trips, and the generated accessors read the same values", (t) => {
  const rng = seededRng(t);
  const enc = new WireEncoder();
  for (const kind of MESSAGE_KINDS) {
    for (let i = 0; i < 60; i++) {
      const msg = randomMessage(rng, kind);
      const bytes = enc.encode(msg);
      assert.deepStrictEqual(decodeMessage(bytes), msg, `${kind} #${i} via codec`);
      assert.deepStrictEqual(decodeWithGenerated(bytes), msg, `${kind} #${i} via generated accessors`);
    }
  }
});

test("views, heights and timestamps cover 0 .. 2^53 - 1 exactly", () => {
  for (const view of [0, 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 52 + 3, MAX_UINT53]) {
    const msg: Message = { kind: "vote", body: sampleVote(view) };
    const bytes = encodeMessage(msg);
    assert.equal((decodeMessage(bytes).body as Vote).view, view);
    // Independent check of the uint64 layout: the generated accessor reads it as a BigInt.
    const env = fb.Envelope.getRootAsEnvelope(new ByteBuffer(bytes));
    assert.equal((env.message(new fb.Vote()) as fb.Vote).view(), BigInt(view));
  }
});

test("a vote encodes to exactly the bytes the generated reference builder produces", (t) => {
  const rng = seededRng(t);
  const enc = new WireEncoder();
  for (let i = 0; i < 50; i++) {
    const v = (randomMessage(rng, "vote").body as Vote);
    const ref = new Builder(64);
    const hash = ref.createByteVector(v.blockHash);
    const sig = ref.createByteVector(v.signature);
    const vote = fb.Vote.createVote(ref, BigInt(v.view), hash, v.voter, sig);
    ref.finish(fb.Envelope.createEnvelope(ref, fb.Message.Vote, vote), FILE_IDENTIFIER);
    assert.deepStrictEqual(enc.encodeView({ kind: "vote", body: v }), ref.asUint8Array());
  }
});

test("decodes default-valued fields written explicitly by another builder (forceDefaults)", () => {
  const ref = new Builder(64);
  ref.forceDefaults(true);
  const hash = ref.createByteVector(new Uint8Array(32));
  const sig = ref.createByteVector(new Uint8Array(192));
  const vote = fb.Vote.createVote(ref, 0n, hash, 0, sig);
  ref.finish(fb.Envelope.createEnvelope(ref, fb.Message.Vote, vote), FILE_IDENTIFIER);
  const m = decodeMessage(ref.asUint8Array());
  assert.deepStrictEqual(m, { kind: "vote", body: { view: 0, blockHash: new Uint8Array(32), voter: 0, signature: new Uint8Array(192) } });
});

test("decoded byte fields are zero-copy views into the input", (t) => {
  const rng = seededRng(t);
  const bytes = encodeMessage({ kind: "proposal", body: { block: { header: randomBlock(rng).header, txs: [Uint8Array.of(1, 2, 3), Uint8Array.of(4)] }, qc: randomQc(rng), tc: null, signature: rng.bytes(192) } });
  const m = decodeMessage(bytes);
  assert.equal(m.kind, "proposal");
  if (m.kind !== "proposal") return;
  const views = [m.body.block.header.parent, m.body.block.header.txRoot, m.body.qc.aggregateSignature, ...m.body.block.txs];
  for (const v of views) {
    assert.equal(v.buffer, bytes.buffer);
    assert.ok(v.byteOffset >= bytes.byteOffset && v.byteOffset + v.length <= bytes.byteOffset + bytes.length);
  }
  // Writing through the input shows up in the decoded tx: they share memory.
  const tx0 = m.body.block.txs[0]!;
  bytes[tx0.byteOffset - bytes.byteOffset] = 99;
  assert.equal(tx0[0], 99);
});

test("decodes from a Buffer and from a subarray at an odd offset", () => {
  const msg: Message = { kind: "vote", body: sampleVote(42) };
  const bytes = encodeMessage(msg);
  assert.deepStrictEqual(decodeMessage(Buffer.from(bytes)).body, { ...msg.body, blockHash: Buffer.from(msg.body.blockHash), signature: Buffer.from(msg.body.signature) });
  const big = new Uint8Array(bytes.length + 3);
  big.set(bytes, 1);
  assert.deepStrictEqual(decodeMessage(big.subarray(1, 1 + bytes.length)), msg);
});

test("encodeView reuses the builder; encode returns bytes the caller owns", () => {
  const enc = new WireEncoder();
  const a = enc.encode({ kind: "vote", body: sampleVote(1) });
  const view = enc.encodeView({ kind: "vote", body: sampleVote(2) });
  const copyOfView = view.slice();
  enc.encodeView({ kind: "vote", body: sampleVote(3) });
  assert.equal((decodeMessage(a).body as Vote).view, 1);
  assert.equal((decodeMessage(copyOfView).body as Vote).view, 2);
  // Same size, same builder position: the old view now shows the newer message.
  assert.equal((decodeMessage(view).body as Vote).view, 3);
});

test("bytes from encode() stay intact across many later encodes (slab copies never overlap)", (t) => {
  const rng = seededRng(t);
  const enc = new WireEncoder();
  const kept: { msg: Message; bytes: Uint8Array }[] = [];
  // Enough small messages to fill several 64 KiB slabs, with some large ones (own buffers) in between.
  for (let i = 0; i < 2000; i++) {
    const msg = i % 97 === 0 ? randomMessage(rng, "proposal") : randomMessage(rng, rng.pick(["vote", "timeout", "qc", "hello"] as const));
    kept.push({ msg, bytes: enc.encode(msg) });
    enc.encodeView(randomMessage(rng, "vote")); // must not disturb the copies either
  }
  for (const { msg, bytes } of kept) {
    assert.equal(bytes.byteOffset % 8, 0);
    assert.deepStrictEqual(decodeMessage(bytes), msg);
  }
});

test("the encoder recovers after a large message and after a rejected one", (t) => {
  const rng = seededRng(t);
  const enc = new WireEncoder();
  const big = { kind: "txBatch", body: { txs: Array.from({ length: 40 }, () => rng.bytes(60_000)) } } as const;
  const bigBytes = enc.encode(big);
  assert.ok(bigBytes.length > 2_000_000);
  assert.deepStrictEqual(decodeMessage(bigBytes), big);
  assert.throws(() => enc.encode({ kind: "vote", body: { ...sampleVote(5), signature: new Uint8Array(96) } }), WireError);
  const msg: Message = { kind: "vote", body: sampleVote(5) };
  assert.deepStrictEqual(decodeMessage(enc.encode(msg)), msg);
});

test("a block at the transaction-count limit round-trips", (t) => {
  const rng = seededRng(t);
  const txs = Array.from({ length: MAX_TXS_PER_BLOCK }, (_, i) => Uint8Array.of(i & 0xff, i >>> 8));
  const msg: Message = { kind: "proposal", body: { block: { header: randomBlock(rng).header, txs }, qc: randomQc(rng), tc: null, signature: rng.bytes(192) } };
  assert.deepStrictEqual(decodeMessage(encodeMessage(msg)), msg);
});

test("a truncated message is refused or (only when padding was cut) decodes unchanged", (t) => {
  const rng = seededRng(t);
  for (const kind of MESSAGE_KINDS) {
    const msg = randomMessage(rng, kind);
    const bytes = encodeMessage(msg);
    for (let n = 0; n < bytes.length; n++) {
      let decoded: Message;
      try {
        decoded = decodeMessage(bytes.subarray(0, n));
      } catch (e) {
        assert.ok(e instanceof WireError, `${kind} cut to ${n}: ${String(e)}`);
        continue;
      }
      assert.deepStrictEqual(decoded, msg, `${kind} cut to ${n} decoded to something else`);
      // Only trailing alignment padding can be cut without losing data.
      assert.ok(bytes.subarray(n).every((x) => x === 0), `${kind} cut to ${n} dropped non-padding bytes`);
    }
  }
});

// ---- the envelope's epoch -----------------------------------------------------------------------------------------

const EPOCHS = [0, 1, 2 ** 32 + 5, MAX_UINT53];

/** The epoch slot (field 2, vtable entry at +8) of the root table, read with the runtime's ByteBuffer alone. */
function rawEpochSlot(bytes: Uint8Array): bigint | null {
  const bb = new ByteBuffer(bytes);
  const root = bb.readUint32(0);
  const off = bb.__offset(root, 8);
  return off === 0 ? null : bb.readUint64(root + off);
}

test("every message kind round-trips with epochs 0, 1, 2^32 + 5 and 2^53 - 1 through all three encoders", (t) => {
  const rng = seededRng(t);
  const enc = new WireEncoder();
  for (const kind of MESSAGE_KINDS) {
    for (let i = 0; i < 5; i++) {
      const msg = randomMessage(rng, kind);
      for (const epoch of EPOCHS) {
        const at = `${kind} #${i} epoch ${epoch}`;
        const outs = [encodeMessage(msg, epoch), enc.encode(msg, epoch), enc.encodeView(msg, epoch).slice()];
        for (const bytes of outs) {
          assert.deepStrictEqual(decodeEnvelope(bytes), { message: msg, epoch }, at);
          assert.deepStrictEqual(decodeMessage(bytes), msg, at);
          assert.equal(envelopeEpoch(bytes), epoch, at);
          // Epoch 0 is not written; any other lands in slot 2 as a little-endian uint64.
          assert.equal(rawEpochSlot(bytes), epoch === 0 ? null : BigInt(epoch), at);
          // The generated accessors (which predate the field) still read the same message.
          assert.deepStrictEqual(decodeWithGenerated(bytes), msg, at);
        }
        assert.deepStrictEqual(outs[1], outs[0], at);
        assert.deepStrictEqual(outs[2], outs[0], at);
      }
    }
  }
});

test("epoch 0 (given or defaulted) encodes byte for byte as the codec did before the epoch field", () => {
  const enc = new WireEncoder();
  for (const kind of MESSAGE_KINDS) {
    const old = fromHex(EPOCH0_VECTORS[kind]);
    const { message, epoch } = decodeEnvelope(old);
    assert.equal(message.kind, kind);
    assert.equal(epoch, 0);
    assert.equal(envelopeEpoch(old), 0);
    assert.deepStrictEqual(encodeMessage(message), old, kind);
    assert.deepStrictEqual(encodeMessage(message, 0), old, kind);
    assert.deepStrictEqual(enc.encode(message, 0), old, kind);
    assert.deepStrictEqual(enc.encodeView(message), old, kind);
  }
});

/** A vote envelope built with the raw runtime Builder: fields added in `order`, the epoch written when not null. */
function handBuiltVote(v: Vote, epoch: bigint | null, order: "epochFirst" | "epochLast", forceDefaults = false): Uint8Array {
  const ref = new Builder(64);
  const hash = ref.createByteVector(v.blockHash);
  const sig = ref.createByteVector(v.signature);
  const vote = fb.Vote.createVote(ref, BigInt(v.view), hash, v.voter, sig);
  ref.forceDefaults(forceDefaults);
  ref.startObject(3);
  if (epoch !== null && order === "epochFirst") ref.addFieldInt64(2, epoch, 0n);
  ref.addFieldInt8(0, fb.Message.Vote, fb.Message.NONE);
  ref.addFieldOffset(1, vote, 0);
  if (epoch !== null && order === "epochLast") ref.addFieldInt64(2, epoch, 0n);
  ref.finish(ref.endObject(), FILE_IDENTIFIER);
  return ref.asUint8Array().slice();
}

test("an envelope hand-built with the FlatBuffers Builder decodes to its epoch, and the encoder writes the same bytes", (t) => {
  const rng = seededRng(t);
  const enc = new WireEncoder();
  for (let i = 0; i < 20; i++) {
    const v = randomMessage(rng, "vote").body as Vote;
    const msg: Message = { kind: "vote", body: v };
    for (const epoch of EPOCHS) {
      const e = BigInt(epoch);
      for (const order of ["epochFirst", "epochLast"] as const) {
        const bytes = handBuiltVote(v, e, order);
        assert.deepStrictEqual(decodeEnvelope(bytes), { message: msg, epoch }, `${order} epoch ${epoch}`);
        assert.equal(envelopeEpoch(bytes), epoch);
      }
      // An explicit zero (another builder's forceDefaults) reads as epoch 0 too.
      assert.deepStrictEqual(decodeEnvelope(handBuiltVote(v, e, "epochLast", true)), { message: msg, epoch });
      // The encoder writes the largest field first, as it does in every table.
      assert.deepStrictEqual(enc.encodeView(msg, epoch), handBuiltVote(v, e, "epochFirst"), `epoch ${epoch}`);
    }
  }
});
