// TxBatch origins (issue 11): the encoder refuses an origin list that does not match the txs or an origin over
// MAX_ORIGIN_BYTES; the decoder refuses hostile batches built with the raw FlatBuffers builder (a peer that does not use
// our encoder): one of the two fields alone, an index past the origin list, a count that is not one per tx, an
// oversized or non-UTF-8 origin. Round trips (with and without origins) are in the shared codec suites.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Builder } from "flatbuffers";
import * as fb from "../../../src/wire/generated/quire_generated.js";
import { decodeMessage, encodeMessage, FILE_IDENTIFIER } from "../../../src/wire/codec.js";
import { WireError } from "../../../src/wire/errors.js";
import type { WireErrorCode } from "../../../src/wire/errors.js";
import { MAX_ORIGIN_BYTES } from "../../../src/domain/limits.js";
import { utf8 } from "../../../src/util/bytes.js";

/** A TxBatch of `txs` one-byte txs with these raw origin fields (null: absent). */
function rawBatch(txs: number, origins: (string | Uint8Array)[] | null, index: number[] | null): Uint8Array {
  const bd = new Builder(256);
  const data = fb.TxBatch.createTxDataVector(bd, Array.from({ length: txs }, (_, i) => i + 1));
  const ends = fb.TxBatch.createTxEndsVector(bd, Array.from({ length: txs }, (_, i) => i + 1));
  const o = origins === null ? 0 : fb.TxBatch.createOriginsVector(bd, origins.map((s) => bd.createString(s)));
  const ix = index === null ? 0 : fb.TxBatch.createTxOriginsVector(bd, index);
  fb.TxBatch.startTxBatch(bd);
  fb.TxBatch.addTxEnds(bd, ends);
  fb.TxBatch.addTxData(bd, data);
  if (o !== 0) fb.TxBatch.addOrigins(bd, o);
  if (ix !== 0) fb.TxBatch.addTxOrigins(bd, ix);
  const batch = fb.TxBatch.endTxBatch(bd);
  bd.finish(fb.Envelope.createEnvelope(bd, fb.Message.TxBatch, batch), FILE_IDENTIFIER);
  return bd.asUint8Array();
}

function rejects(fn: () => unknown, code: WireErrorCode, field: string): void {
  assert.throws(fn, (e: unknown) => e instanceof WireError && e.code === code && e.payload.field === field, `expected ${code} at ${field}`);
}

test("txBatch origins: a well-formed raw batch decodes to one origin per tx", () => {
  const m = decodeMessage(rawBatch(3, ["a", "b"], [1, 0, 1]));
  assert.ok(m.kind === "txBatch");
  assert.deepEqual(m.body.origins, ["b", "a", "b"]);
  const none = decodeMessage(rawBatch(2, null, null));
  assert.ok(none.kind === "txBatch" && none.body.origins === undefined);
});

test("txBatch origins: hostile layouts are typed WireErrors", () => {
  rejects(() => decodeMessage(rawBatch(2, ["a"], null)), "MISSING_FIELD", "txBatch.txOrigins");
  rejects(() => decodeMessage(rawBatch(2, null, [0, 0])), "MISSING_FIELD", "txBatch.origins");
  rejects(() => decodeMessage(rawBatch(2, ["a"], [0, 1])), "OUT_OF_RANGE", "txBatch.txOrigins");
  rejects(() => decodeMessage(rawBatch(2, ["a"], [0])), "BAD_LENGTH", "txBatch.txOrigins");
  rejects(() => decodeMessage(rawBatch(1, ["x".repeat(MAX_ORIGIN_BYTES + 1)], [0])), "TOO_LARGE", "txBatch.origins");
  rejects(() => decodeMessage(rawBatch(1, [Uint8Array.of(0xc3, 0x28)], [0])), "BAD_LENGTH", "txBatch.origins");
});

test("txBatch origins: the encoder refuses a list that is not one per tx, or an origin over the limit", () => {
  rejects(() => encodeMessage({ kind: "txBatch", body: { txs: [utf8("a"), utf8("b")], origins: ["x"] } }), "BAD_LENGTH", "txBatch.origins");
  rejects(() => encodeMessage({ kind: "txBatch", body: { txs: [utf8("a")], origins: ["y".repeat(MAX_ORIGIN_BYTES + 1)] } }), "TOO_LARGE", "txBatch.origins");
  // Distinct origins are written once: a batch of many txs from one client grows by 2 bytes per tx.
  const txs = Array.from({ length: 100 }, (_, i) => utf8(`tx${i}`));
  const plain = encodeMessage({ kind: "txBatch", body: { txs } }).length;
  const tagged = encodeMessage({ kind: "txBatch", body: { txs, origins: txs.map(() => "127.0.0.1") } }).length;
  assert.ok(tagged - plain <= 2 * 100 + 64, `${tagged - plain} bytes for the origins`);
});
