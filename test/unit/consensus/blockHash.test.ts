import { test } from "node:test";
import assert from "node:assert/strict";
import { blockHash, headerPreimage, HEADER_FIXED_BYTES } from "../../../src/consensus/blockHash.js";
import type { BlockHeader } from "../../../src/domain/types.js";
import { toHex } from "../../../src/util/bytes.js";
import { nodeSha256 } from "../../support/consensus.js";
import { seededRng } from "../../support/seed.js";

function sample(): BlockHeader {
  return {
    parent: Uint8Array.from({ length: 32 }, (_, i) => i),
    view: 0x0102030405,
    height: 77,
    proposer: 3,
    timestampMs: 1_700_000_000_123,
    txRoot: new Uint8Array(32).fill(0xaa),
    parentStateRoot: new Uint8Array(32).fill(0xbb),
    parentResults: Uint8Array.of(0x02, 0x05),
    parentSigners: new Uint8Array(0),
  };
}

test("header preimage follows the documented layout byte for byte", () => {
  const h = sample();
  // Built independently from the table in blockHash.ts: tag, then fields at fixed offsets, big-endian.
  const expected =
    "51554952452f424c4f434b2f56310000" + // "QUIRE/BLOCK/V1" + 2 zero bytes
    toHex(h.parent) +
    "0000000102030405" + // view
    "000000000000004d" + // height 77
    "00000003" + // proposer
    "0000018bcfe5687b" + // 1_700_000_000_123 ms
    "aa".repeat(32) +
    "bb".repeat(32) +
    "00000002" +
    "0205";
  assert.equal(toHex(headerPreimage(h)), expected);
  assert.equal(headerPreimage(h).length, HEADER_FIXED_BYTES + 2);
});

test("parentSigners follow the results with their length when not empty; a header without them hashes as before the field", () => {
  const h = { ...sample(), parentSigners: Uint8Array.of(0x04, 0x0b, 0x01) };
  const without = toHex(headerPreimage(sample()));
  assert.equal(toHex(headerPreimage(h)), without + "00000003" + "040b01");
  assert.notEqual(toHex(blockHash(h, nodeSha256)), toHex(blockHash(sample(), nodeSha256)));
  // The results' length decides where the signers start: moving a byte from results to signers changes the preimage.
  const moved = { ...sample(), parentResults: Uint8Array.of(0x02), parentSigners: Uint8Array.of(0x05) };
  assert.notEqual(toHex(headerPreimage(moved)), without);
  assert.equal(toHex(headerPreimage(moved)).slice(-20), "00000001" + "02" + "00000001" + "05");
});

test("block hash is SHA-256 of the preimage (node:crypto oracle), with the default and an injected SHA-256", () => {
  const h = sample();
  const oracle = toHex(nodeSha256(headerPreimage(h)));
  assert.equal(toHex(blockHash(h)), oracle);
  assert.equal(toHex(blockHash(h, nodeSha256)), oracle);
});

test("every header field changes the hash; parentResults bytes cannot move into a fixed field", (t) => {
  const rng = seededRng(t);
  const base = sample();
  const baseHash = toHex(blockHash(base));
  const variants: BlockHeader[] = [
    { ...base, parent: rng.bytes(32) },
    { ...base, view: base.view + 1 },
    { ...base, height: base.height + 1 },
    { ...base, proposer: base.proposer + 1 },
    { ...base, timestampMs: base.timestampMs + 1 },
    { ...base, txRoot: rng.bytes(32) },
    { ...base, parentStateRoot: rng.bytes(32) },
    { ...base, parentResults: Uint8Array.of(0x02), parentSigners: new Uint8Array(0) },
    { ...base, parentResults: Uint8Array.of(0x02, 0x05, 0x00) },
  ];
  const seen = new Set([baseHash]);
  for (const v of variants) {
    const hx = toHex(blockHash(v));
    assert.ok(!seen.has(hx), "a header variant collided");
    seen.add(hx);
  }
});
