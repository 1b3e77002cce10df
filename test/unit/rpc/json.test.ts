import { test } from "node:test";
import assert from "node:assert/strict";
import type { BlockSummary } from "../../../src/rpc/api.js";
import { blockJson, blocksJson, decodeBlock, decodeBlocks, decodeProof, decodeStatus, decodeSubmitItem, decodeTxStatus, kvJson, proofJson, txStatusJson } from "../../../src/rpc/json.js";
import { RpcClientError } from "../../../src/rpc/errors.js";

const bytes = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);

const BLOCK: BlockSummary = {
  hash: bytes(32, 0x11),
  header: { parent: bytes(32, 0x22), view: 7, height: 5, proposer: 3, timestampMs: 1_700_000_000_123, txRoot: bytes(32, 0x33), parentStateRoot: bytes(32, 0x44), parentResults: Uint8Array.of(0x01, 0x80), parentSigners: Uint8Array.of(0x04, 0x07) },
  txCount: 12,
  qc: { view: 7, blockHash: bytes(32, 0x11), signers: Uint8Array.of(0x04, 0x0b), aggregateSignature: bytes(96, 0x55) },
};

test("block document: the exact text (field names, order, hex)", () => {
  const h = (b: number, n = 32) => b.toString(16).padStart(2, "0").repeat(n);
  const expected =
    `{"height":5,"hash":"${h(0x11)}","parent":"${h(0x22)}","view":7,"proposer":3,"timestampMs":1700000000123,` +
    `"txRoot":"${h(0x33)}","parentStateRoot":"${h(0x44)}","parentResults":"0180","parentSigners":"0407","txCount":12,` +
    `"qc":{"view":7,"blockHash":"${h(0x11)}","signers":"040b","signerIndices":[0,1,3],"aggregateSignature":"${h(0x55, 96)}"}}`;
  assert.equal(JSON.stringify(blockJson(BLOCK)), expected);
  assert.deepEqual(decodeBlock(JSON.parse(expected)), BLOCK);
  // A node from before parentSigners: its headers carry none.
  const old = JSON.parse(expected) as Record<string, unknown>;
  delete old["parentSigners"];
  assert.deepEqual(decodeBlock(old).header.parentSigners, new Uint8Array(0));
  const genesis = { ...BLOCK, qc: null };
  assert.deepEqual(decodeBlock(JSON.parse(JSON.stringify(blockJson(genesis)))), genesis);
});

test("block range document: the block documents in order; decoding checks count and consecutive heights", () => {
  const at = (height: number): BlockSummary => ({ ...BLOCK, header: { ...BLOCK.header, height } });
  const doc = JSON.parse(JSON.stringify(blocksJson([at(5), at(6), at(7)])));
  assert.deepEqual(doc, { blocks: [5, 6, 7].map((h) => blockJson(at(h))) });
  assert.deepEqual(decodeBlocks(doc, 5, 9), [at(5), at(6), at(7)]);
  assert.deepEqual(decodeBlocks({ blocks: [] }, 5, 9), []);
  const refused = (v: unknown, from: number, to: number, why: RegExp) =>
    assert.throws(() => decodeBlocks(v, from, to), (e: unknown) => e instanceof RpcClientError && e.code === "BAD_RESPONSE" && why.test(e.message));
  refused(doc, 5, 6, /3 blocks for heights 5\.\.6/);
  refused(doc, 4, 9, /blocks\[0\]\.height is 5, expected 4/);
  refused({ blocks: [5, 7].map((h) => blockJson(at(h))) }, 5, 9, /blocks\[1\]\.height is 7, expected 6/);
  refused({ blocks: "x" }, 5, 9, /must be an array/);
  refused([], 5, 9, /must be an object/);
});

test("tx status, proof and kv documents", () => {
  assert.deepEqual(txStatusJson(bytes(32, 1), { status: "pending" }), { id: "01".repeat(32), status: "pending", height: null, index: null, ok: null });
  const committed = { status: "committed", height: 9, index: 4, ok: null } as const;
  assert.deepEqual(decodeTxStatus(txStatusJson(bytes(32, 1), committed)), { id: bytes(32, 1), status: committed });
  const p = { leafIndex: 1, treeSize: 3, root: bytes(32, 9), leafHash: bytes(32, 8), proof: [bytes(32, 7), bytes(32, 6)] };
  assert.deepEqual(proofJson(p), { leafIndex: 1, treeSize: 3, root: "09".repeat(32), leafHash: "08".repeat(32), proof: ["07".repeat(32), "06".repeat(32)] });
  assert.deepEqual(decodeProof(proofJson(p)), p);
  assert.deepEqual(kvJson(Uint8Array.of(0x61), Uint8Array.of(0xe2, 0x82, 0xac)), { key: "61", value: "e282ac", valueUtf8: "€" });
  assert.deepEqual(kvJson(Uint8Array.of(0x61), Uint8Array.of(0xe2, 0x82)), { key: "61", value: "e282", valueUtf8: null });
});

test("decoders refuse every malformed field with BAD_RESPONSE", () => {
  const good = blockJson(BLOCK) as unknown as Record<string, unknown>;
  const mutations: [string, unknown][] = [
    ["hash", "11".repeat(31)],
    ["hash", "0x" + "11".repeat(32)],
    ["hash", "zz".repeat(32)],
    ["hash", 5],
    ["parent", undefined],
    ["height", -1],
    ["height", 1.5],
    ["height", 2 ** 53],
    ["height", "5"],
    ["txRoot", "33"],
    ["parentResults", "0"],
    ["txCount", null],
    ["qc", "none"],
    ["qc", { ...(good["qc"] as object), aggregateSignature: "55".repeat(95) }],
    ["qc", { ...(good["qc"] as object), view: -2 }],
  ];
  const bad = (e: unknown) => e instanceof RpcClientError && e.code === "BAD_RESPONSE";
  for (const [k, v] of mutations) assert.throws(() => decodeBlock({ ...good, [k]: v }), bad, `${k} = ${JSON.stringify(v)}`);
  for (const doc of [null, [], "x", 1]) assert.throws(() => decodeBlock(doc), bad);
  assert.throws(() => decodeProof({ ...proofJson({ leafIndex: 0, treeSize: 1, root: bytes(32, 0), leafHash: bytes(32, 0), proof: [] }), proof: ["00"] }), bad);
  assert.throws(() => decodeProof({ leafIndex: 0, treeSize: 1, root: "00".repeat(32), leafHash: "00".repeat(32), proof: "x" }), bad);
  assert.throws(() => decodeTxStatus({ id: "00".repeat(32), status: "committed", height: 1, index: 0, ok: "yes" }), bad);
  assert.throws(() => decodeTxStatus({ id: "00".repeat(32), status: "lost" }), bad);
  assert.throws(() => decodeStatus({ chainId: "c", nodeIndex: 0, committedHeight: 0, view: 0, leader: 0, peersConnected: 0 }), bad);
  assert.throws(() => decodeSubmitItem({ status: "maybe" }), bad);
  assert.throws(() => decodeSubmitItem({ status: "accepted", id: "00" }), bad);
  assert.throws(() => decodeSubmitItem({ status: "invalid" }), bad);
});
