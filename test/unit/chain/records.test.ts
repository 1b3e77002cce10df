import { test } from "node:test";
import assert from "node:assert/strict";
import { ChainStoreError } from "../../../src/chain/errors.js";
import {
  decodeBlockRecord,
  decodeCommitRecord,
  decodeEpochEndRecord,
  decodeHead,
  decodePendingRecord,
  decodeQcRecord,
  decodeSafetyRecord,
  decodeTxLocation,
  encodeBlockRecord,
  encodeCommitRecord,
  encodeEpochEndRecord,
  encodeHead,
  encodePendingRecord,
  encodeQcRecord,
  encodeSafetyRecord,
  encodeTxLocation,
  heightKey,
} from "../../../src/chain/store/records.js";
import type { SafetyRecord } from "../../../src/chain/store/records.js";
import { MemoryChainData, MemoryChainStore } from "../../../src/chain/store/memoryStore.js";
import { META_KEYS, epochEndKey } from "../../../src/chain/store/tableStore.js";
import { bytesKey } from "../../../src/util/bytes.js";
import { compareBytes, toHex } from "../../../src/util/bytes.js";
import type { SeededRng } from "../../../src/util/rng.js";
import type { QuorumCert } from "../../../src/domain/types.js";
import { seededRng } from "../../support/seed.js";
import { CHAIN_ID, nextBlock, randomTxs } from "./support/fixtures.js";

const isCorrupt = (e: unknown): boolean => e instanceof ChainStoreError && e.code === "CORRUPT";

function qc(rng: SeededRng): QuorumCert {
  return { view: rng.int(1 << 30) * 1024 + rng.int(1024), blockHash: rng.bytes(32), signers: rng.bytes(rng.int(20)), aggregateSignature: rng.bytes(96) };
}

function safety(rng: SeededRng, flags: number, epoch = 0): SafetyRecord {
  return {
    epoch,
    lastVotedView: rng.int(1 << 30),
    highQc: qc(rng),
    lastProposedView: Number.MAX_SAFE_INTEGER - rng.int(10),
    lastVote: flags & 1 ? { view: rng.int(1000), blockHash: rng.bytes(32), voter: rng.u32(), signature: rng.bytes(192) } : null,
    lastTimeout: flags & 2 ? { view: rng.int(1000), highQc: qc(rng), voter: rng.int(100), signature: rng.bytes(192) } : null,
    lastTc: flags & 4 ? { view: rng.int(1000), signers: rng.bytes(3), highQcViews: Array.from({ length: rng.int(8) }, () => rng.int(1 << 40)), aggregateSignature: rng.bytes(96), highQc: qc(rng) } : null,
  };
}

test("records: every record round-trips; truncation, trailing bytes and oversized integers are CORRUPT", (t) => {
  const rng = seededRng(t);
  const parent = nextBlock(null, randomTxs(rng, 3));
  const b = nextBlock(parent, randomTxs(rng, 1 + rng.int(20)), { results: rng.bytes(5), stateRoot: rng.bytes(32) });
  const cases: [Uint8Array, (x: Uint8Array) => unknown, unknown][] = [
    [encodeBlockRecord(b.block), decodeBlockRecord, b.block],
    [encodeQcRecord(b.qc), decodeQcRecord, b.qc],
    [encodeCommitRecord({ hash: b.hash, stateRoot: rng.bytes(32), results: rng.bytes(4), qc: b.qc }), decodeCommitRecord, null],
    [encodeTxLocation({ height: 2 ** 40, index: 7, ok: false }), decodeTxLocation, { height: 2 ** 40, index: 7, ok: false }],
    [encodePendingRecord({ block: b.block, hash: b.hash, qc: null, parentQc: parent.qc }), (x) => decodePendingRecord(b.hash, x), { block: b.block, hash: b.hash, qc: null, parentQc: parent.qc }],
    [encodeHead({ height: 12, hash: b.hash }), decodeHead, { height: 12, hash: b.hash }],
    [encodeEpochEndRecord([{ block: b.block, qc: b.qc }]), decodeEpochEndRecord, [{ block: b.block, qc: b.qc }]],
  ];
  const signed = { ...b.block, header: { ...b.block.header, parentSigners: rng.bytes(1 + rng.int(12)) } };
  cases.push([encodeBlockRecord(signed), decodeBlockRecord, signed]);
  cases.push([encodeEpochEndRecord([{ block: signed, qc: b.qc }]), decodeEpochEndRecord, [{ block: signed, qc: b.qc }]]);
  for (let flags = 0; flags < 8; flags++) {
    const s = safety(rng, flags);
    cases.push([encodeSafetyRecord(s), decodeSafetyRecord, s]);
    const e = safety(rng, flags, 1 + rng.int(1 << 30) * 1024);
    cases.push([encodeSafetyRecord(e), decodeSafetyRecord, e]);
  }
  for (const [bytes, decode, want] of cases) {
    const got = decode(bytes);
    if (want !== null) assert.deepEqual(got, want);
    for (const n of [0, 1, bytes.length >> 1, bytes.length - 1]) assert.throws(() => decode(bytes.subarray(0, n)), isCorrupt, `prefix ${n} of ${toHex(bytes.subarray(0, 8))}`);
    assert.throws(() => decode(Uint8Array.of(...bytes, 0)), isCorrupt);
  }
  // A uint64 above 2^53 (the top byte of the location's height).
  const loc = encodeTxLocation({ height: 1, index: 0, ok: true });
  loc[0] = 0xff;
  assert.throws(() => decodeTxLocation(loc), isCorrupt);
  const badOk = encodeTxLocation({ height: 1, index: 0, ok: true });
  badOk[12] = 2;
  assert.throws(() => decodeTxLocation(badOk), isCorrupt);
});

test("records: safety versions: epoch 0 is written as version 2, a later epoch as version 3 = epoch(u64) then the version-2 body; version 1 (TCs without a carried QC) is read with its TC dropped; other versions are CORRUPT", (t) => {
  const rng = seededRng(t);
  for (let flags = 0; flags < 8; flags++) {
    const s = safety(rng, flags);
    const v2 = encodeSafetyRecord(s);
    assert.equal(v2[0], 2);
    // Version 1 is version 2 without the TC's trailing carried QC (the TC is the record's last part).
    const tcQcBytes = s.lastTc === null ? 0 : encodeQcRecord(s.lastTc.highQc).length;
    const v1 = Uint8Array.of(1, ...v2.subarray(1, v2.length - tcQcBytes));
    assert.deepEqual(decodeSafetyRecord(v1), { ...s, lastTc: null });
    for (const epoch of [1, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) {
      const v3 = encodeSafetyRecord({ ...s, epoch });
      assert.deepEqual(v3, Uint8Array.of(3, ...heightKey(epoch), ...v2.subarray(1)));
      assert.deepEqual(decodeSafetyRecord(v3), { ...s, epoch });
    }
    // A version 3 without its epoch field is short by 8 bytes.
    assert.throws(() => decodeSafetyRecord(Uint8Array.of(3, ...v2.subarray(1))), isCorrupt);
    for (const version of [0, 4, 255]) assert.throws(() => decodeSafetyRecord(Uint8Array.of(version, ...v2.subarray(1))), isCorrupt);
  }
});

test("records: a header without parentSigners keeps its schema-2 bytes; with them the results length carries the top bit", (t) => {
  const rng = seededRng(t);
  const b = nextBlock(nextBlock(null, randomTxs(rng, 1)), [], { results: Uint8Array.of(0xab, 0xcd), stateRoot: rng.bytes(32) }).block;
  const plain = encodeBlockRecord(b);
  // Schema 2 layout, written out: fixed fields (124 bytes), len(u32) = 2, the results, tx count 0.
  assert.equal(toHex(plain.subarray(124)), "00000002" + "abcd" + "00000000");
  const withSigners = encodeBlockRecord({ ...b, header: { ...b.header, parentSigners: Uint8Array.of(0x07) } });
  assert.equal(toHex(withSigners.subarray(124)), "80000002" + "abcd" + "00000001" + "07" + "00000000");
});

test("records: height keys sort as heights", () => {
  const heights = [0, 1, 255, 256, 65_535, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1];
  for (let i = 1; i < heights.length; i++) assert.ok(compareBytes(heightKey(heights[i - 1]!), heightKey(heights[i]!)) < 0);
});

test("records: a store whose head record is damaged refuses to open with CORRUPT", () => {
  const data = new MemoryChainData();
  void MemoryChainStore.open({ chainId: CHAIN_ID }, data).close();
  data.tables.get("meta")!.set(bytesKey(META_KEYS.head), [META_KEYS.head, Uint8Array.of(1, 2, 3)]);
  assert.throws(() => MemoryChainStore.open({ chainId: CHAIN_ID }, data), isCorrupt);
});

test("records: a damaged stored epoch-end proof is CORRUPT when read", (t) => {
  const rng = seededRng(t);
  const data = new MemoryChainData();
  const s = MemoryChainStore.open({ chainId: CHAIN_ID }, data);
  const b = nextBlock(null, randomTxs(rng, 2));
  const whole = encodeEpochEndRecord([{ block: b.block, qc: b.qc }]);
  const key = epochEndKey(4);
  data.tables.get("meta")!.set(bytesKey(key), [key, whole.subarray(0, whole.length - 1)]);
  assert.throws(() => s.epochEndProof(4), isCorrupt);
  assert.equal(s.epochEndProof(3), undefined);
  void s.close();
});
