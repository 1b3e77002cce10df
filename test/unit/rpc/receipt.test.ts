import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { assertError, http, startHarness } from "../../support/rpcHttp.js";
import type { Harness } from "../../support/rpcHttp.js";
import { sha256 } from "../../support/fakeNodeApi.js";
import { checkInclusion } from "../../../src/crypto/merkle.js";
import { receiptOf, verifyReceipt } from "../../../src/chain/receipt.js";
import type { BlockSummary } from "../../../src/rpc/api.js";
import { RpcClient } from "../../../src/rpc/client.js";
import { decodeReceipt } from "../../../src/rpc/json.js";
import { fromHex, toHex } from "../../../src/util/bytes.js";

const OCTETS = "application/octet-stream";
const t = (...b: number[]): Uint8Array => Uint8Array.from(b);

describe("GET /v1/tx/:id/receipt", () => {
  let h: Harness;
  const txs = [t(1, 1), t(2, 2, 2), t(3)];
  before(async () => {
    h = await startHarness();
    // The fake's views are consecutive: block h is proven by blocks h, h+1 (served as commit-proof would).
    const api = h.api as typeof h.api & { commitProof(height: number): BlockSummary[] | null };
    api.commitProof = (height) => (height >= 1 && height < api.height ? [api.blocks[height]!.info, api.blocks[height + 1]!.info] : null);
    h.api.commit({ extra: txs, failed: [1] });
    h.api.commit({ extra: [t(9, 9)] });
  });
  after(() => h.server.stop());

  test("a committed tx: its bytes, index, result, an inclusion proof against its header, and blocks h, h+1", async () => {
    for (const [index, failed] of [[0, false], [1, true], [2, false]] as const) {
      const id = toHex(sha256(txs[index]!));
      const a = await http(h.base, "GET", `/v1/tx/${id}/receipt`);
      assert.equal(a.status, 200, a.text);
      const doc = a.json as { id: string; height: number; index: number; tx: string; failed: boolean; inclusion: { leafIndex: number; treeSize: number; leafHash: string; proof: string[] }; blocks: { height: number; txRoot: string; parentResults: string }[] };
      assert.deepEqual(Object.keys(doc), ["id", "height", "index", "tx", "failed", "inclusion", "blocks"]);
      assert.deepEqual([doc.id, doc.height, doc.index, doc.tx, doc.failed], [id, 1, index, toHex(txs[index]!), failed]);
      assert.deepEqual(doc.blocks.map((b) => b.height), [1, 2]);
      const p = doc.inclusion;
      assert.equal(checkInclusion({ leafIndex: p.leafIndex, treeSize: p.treeSize, leafHash: fromHex(p.leafHash), proof: p.proof.map(fromHex) }, fromHex(doc.blocks[0]!.txRoot)), null);
      // The client reads the same document; the verifier's non-signature checks pass on it (QCs are the fake's).
      const r = await new RpcClient({ url: h.base }).receipt(id);
      assert.deepEqual(r, decodeReceipt(doc));
      const receipt = receiptOf(r!)!;
      const v = verifyReceipt(receipt, { hashBlock: (hd) => h.api.blocks[hd.height]!.info.hash, certificates: { verifyQcs: (qcs) => qcs.map(() => "ok") } });
      assert.ok(v.ok && v.failed === failed && v.height === 1 && v.index === index, JSON.stringify(v));
    }
  });

  test("unknown is TX_NOT_FOUND; pending, not executed and not yet provable are RECEIPT_UNAVAILABLE; the client answers null", async () => {
    const client = new RpcClient({ url: h.base });
    assertError(await http(h.base, "GET", `/v1/tx/${"ab".repeat(32)}/receipt`), 404, "TX_NOT_FOUND");
    assertError(await http(h.base, "GET", "/v1/tx/xyz/receipt"), 400, "BAD_TX_ID");
    // The last block has no child yet: not provable.
    const last = toHex(sha256(t(9, 9)));
    assertError(await http(h.base, "GET", `/v1/tx/${last}/receipt`), 404, "RECEIPT_UNAVAILABLE");
    assert.equal(await client.receipt(last), null);
    const pending = t(7, 7);
    assert.equal((await http(h.base, "POST", "/v1/tx", { body: pending, type: OCTETS })).status, 202);
    assertError(await http(h.base, "GET", `/v1/tx/${toHex(sha256(pending))}/receipt`), 404, "RECEIPT_UNAVAILABLE");
    h.api.setUnexecuted(sha256(txs[0]!));
    assertError(await http(h.base, "GET", `/v1/tx/${toHex(sha256(txs[0]!))}/receipt`), 404, "RECEIPT_UNAVAILABLE");
    assert.equal(await client.receipt(sha256(txs[0]!)), null);
  });
});
