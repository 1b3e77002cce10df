import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { RawConn, hasResponse, parseResponse } from "../../support/rawHttp.js";
import { assertError, eventually, http, startHarness } from "../../support/rpcHttp.js";
import type { Harness } from "../../support/rpcHttp.js";
import { INVALID_REASON, INVALID_TX_PREFIX, sha256 } from "../../support/fakeNodeApi.js";
import { checkInclusion } from "../../../src/crypto/merkle.js";
import { fromHex, toHex, utf8 } from "../../../src/util/bytes.js";
import { DEFAULT_RPC_LIMITS, RpcServer, resolveRpcLimits } from "../../../src/rpc/server.js";
import { RpcConfigError, RpcListenError } from "../../../src/rpc/errors.js";
import { FakeNodeApi } from "../../support/fakeNodeApi.js";
import type { FakeMethod } from "../../support/fakeNodeApi.js";
import { PromScrape } from "../../support/promText.js";
import { MAX_TX_BYTES } from "../../../src/domain/limits.js";
import { ManualScheduler } from "../../../src/util/clock.js";
import { decodeBitmapIndices } from "../../../src/crypto/bitmap/index.js";
import { encodeTxBatchBody, RpcClient } from "../../../src/rpc/client.js";

const OCTETS = "application/octet-stream";
const JSON_TYPE = "application/json";
const tx = (...b: number[]): Uint8Array => Uint8Array.from(b);
const idHex = (t: Uint8Array): string => toHex(sha256(t));

// Small limits so the limit paths are cheap to reach.
const LIMITS = { maxTxBytes: 1024, maxBatchBodyBytes: 8192, maxBatchTxs: 8, maxUrlBytes: 256 };

describe("POST /v1/tx", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ limits: LIMITS, fake: { capacity: 3 } });
  });
  after(() => h.server.stop());

  test("202 with the SHA-256 id for a new tx; the node gets the exact bytes and the peer address as client id", async () => {
    const t = tx(1, 2, 3);
    const a = await http(h.base, "POST", "/v1/tx", { body: t, type: OCTETS });
    assert.equal(a.status, 202);
    assert.deepEqual(a.json, { id: idHex(t), duplicate: false });
    const last = h.api.submissions.at(-1)!;
    assert.deepEqual(last.tx, t);
    assert.equal(last.clientId, "127.0.0.1");
  });

  test("a duplicate is 200 with the same id and duplicate: true", async () => {
    const t = tx(1, 2, 3);
    const a = await http(h.base, "POST", "/v1/tx", { body: t, type: OCTETS });
    assert.equal(a.status, 200);
    assert.deepEqual(a.json, { id: idHex(t), duplicate: true });
  });

  test("the media type is matched case-insensitively and parameters are ignored", async () => {
    const a = await http(h.base, "POST", "/v1/tx", { body: tx(9), type: "Application/Octet-Stream; x=1" });
    assert.equal(a.status, 202);
  });

  test("a full mempool is 503 MEMPOOL_FULL with Retry-After; nothing is kept", async () => {
    await http(h.base, "POST", "/v1/tx", { body: tx(4), type: OCTETS }); // third and last slot
    assert.equal(h.api.pool.size, 3);
    const a = await http(h.base, "POST", "/v1/tx", { body: tx(5), type: OCTETS });
    assertError(a, 503, "MEMPOOL_FULL");
    assert.equal(a.headers.get("retry-after"), "2");
    assert.equal(h.api.pool.size, 3);
  });

  test("an invalid tx is 400 TX_INVALID with the application's reason", async () => {
    const a = await http(h.base, "POST", "/v1/tx", { body: tx(INVALID_TX_PREFIX, 1), type: OCTETS });
    assertError(a, 400, "TX_INVALID");
    assert.equal((a.json as { error: { message: string } }).error.message, INVALID_REASON);
  });

  test("an empty body is 400 EMPTY_TX", async () => {
    assertError(await http(h.base, "POST", "/v1/tx", { body: new Uint8Array(0), type: OCTETS }), 400, "EMPTY_TX");
  });

  test("a wrong or missing Content-Type is 415 and the tx is not submitted", async () => {
    const before = h.api.submissions.length;
    assertError(await http(h.base, "POST", "/v1/tx", { body: tx(7), type: "application/json" }), 415, "UNSUPPORTED_MEDIA_TYPE");
    assertError(await http(h.base, "POST", "/v1/tx", { body: "07", type: "text/plain" }), 415, "UNSUPPORTED_MEDIA_TYPE");
    assertError(await http(h.base, "POST", "/v1/tx", { body: tx(7) }), 415, "UNSUPPORTED_MEDIA_TYPE");
    assert.equal(h.api.submissions.length, before);
    assert.equal(await h.count("quire_rpc_rejected_bodies_total", { code: "UNSUPPORTED_MEDIA_TYPE" }), 3);
  });

  test("a declared Content-Length over the limit is 413 before any body byte is read, and the connection closes", async () => {
    const c = await RawConn.open(h.server.port);
    c.write(`POST /v1/tx HTTP/1.1\r\nHost: x\r\nContent-Type: ${OCTETS}\r\nContent-Length: ${LIMITS.maxTxBytes + 1}\r\n\r\n`);
    await c.waitClose();
    const r = parseResponse(c.text)!;
    assert.equal(r.status, 413);
    assert.equal((JSON.parse(r.body) as { error: { code: string } }).error.code, "BODY_TOO_LARGE");
    assert.equal(r.headers.get("connection"), "close");
  });

  test("a chunked body is refused with 413 as soon as it crosses the limit, mid-stream, and the connection closes", async () => {
    const c = await RawConn.open(h.server.port);
    c.write(`POST /v1/tx HTTP/1.1\r\nHost: x\r\nContent-Type: ${OCTETS}\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const piece = "a".repeat(400);
    c.write(`190\r\n${piece}\r\n`); // 400 bytes
    c.write(`190\r\n${piece}\r\n`); // 800
    c.write(`190\r\n${piece}\r\n`); // 1200 > 1024: refused here; the terminating chunk is never sent
    await c.waitClose();
    const r = parseResponse(c.text)!;
    assert.equal(r.status, 413);
    assert.equal((JSON.parse(r.body) as { error: { code: string } }).error.code, "BODY_TOO_LARGE");
    assert.equal(h.server.bodyBytesInFlight, 0);
    c.destroy();
  });

  test("a chunked body under the limit is accepted", async () => {
    const c = await RawConn.open(h.server.port);
    c.write(`POST /v1/tx HTTP/1.1\r\nHost: x\r\nContent-Type: ${OCTETS}\r\nTransfer-Encoding: chunked\r\n\r\n`);
    c.write("2\r\n\xff\x01\r\n");
    c.write("1\r\n\x02\r\n0\r\n\r\n");
    await c.waitFor(hasResponse);
    const r = parseResponse(c.text)!;
    assert.equal(r.status, 400); // 0xff: the fake app refuses it, so the bytes arrived in order
    assert.deepEqual(h.api.submissions.at(-1)!.tx, tx(0xff, 1, 2));
    c.destroy();
  });

  test("exactly maxTxBytes is read (not 413)", async () => {
    const big = new Uint8Array(LIMITS.maxTxBytes).fill(INVALID_TX_PREFIX);
    assertError(await http(h.base, "POST", "/v1/tx", { body: big, type: OCTETS }), 400, "TX_INVALID");
    assert.equal(h.api.submissions.at(-1)!.tx.length, LIMITS.maxTxBytes);
  });
});

describe("POST /v1/txs", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ limits: LIMITS, fake: { capacity: 4 } });
  });
  after(() => h.server.stop());
  const post = (doc: unknown, type = JSON_TYPE) =>
    http(h.base, "POST", "/v1/txs", { body: typeof doc === "string" || doc instanceof Uint8Array ? doc : JSON.stringify(doc), type });

  test("all accepted: 202 with ids in order and per-item results; duplicates keep their id", async () => {
    const a = await post({ txs: ["0a", "0B0c"] });
    assert.equal(a.status, 202);
    const ids = [idHex(tx(0x0a)), idHex(tx(0x0b, 0x0c))];
    assert.deepEqual(a.json, { ids, results: [{ status: "accepted", id: ids[0] }, { status: "accepted", id: ids[1] }] });
    const again = await post({ txs: ["0a"] });
    assert.equal(again.status, 202);
    assert.deepEqual(again.json, { ids: [ids[0]], results: [{ status: "duplicate", id: ids[0] }] });
  });

  test("invalid items are reported and the valid ones still admitted: 400 TX_INVALID with every result", async () => {
    const a = await post({ txs: ["ff00", "0d"] });
    assertError(a, 400, "TX_INVALID", ["ids", "results"]);
    const doc = a.json as { ids: unknown[]; results: unknown[] };
    assert.deepEqual(doc.ids, [null, idHex(tx(0x0d))]);
    assert.deepEqual(doc.results, [{ status: "invalid", reason: INVALID_REASON }, { status: "accepted", id: idHex(tx(0x0d)) }]);
    assert.ok(h.api.pool.has(idHex(tx(0x0d))));
  });

  test("the pool filling mid-batch: 503 with Retry-After, the admitted ones listed, the rest full/skipped and not offered", async () => {
    assert.equal(h.api.pool.size, 3);
    const before = h.api.submissions.length;
    const a = await post({ txs: ["0e", "0f", "10", "11"] });
    assertError(a, 503, "MEMPOOL_FULL", ["ids", "results"]);
    assert.equal(a.headers.get("retry-after"), "2");
    const doc = a.json as { ids: unknown[]; results: unknown[] };
    assert.deepEqual(doc.ids, [idHex(tx(0x0e)), null, null, null]);
    assert.deepEqual(doc.results, [{ status: "accepted", id: idHex(tx(0x0e)) }, { status: "full", retryAfterSec: 2 }, { status: "skipped" }, { status: "skipped" }]);
    assert.equal(h.api.submissions.length - before, 2, "items after the first full one are not offered");
    assert.ok(h.api.pool.has(idHex(tx(0x0e))), "an admitted tx stays admitted");
  });

  test("structural errors refuse the whole request with the exact code and submit nothing", async () => {
    const before = h.api.submissions.length;
    assertError(await post("{nope"), 400, "BAD_JSON");
    assertError(await post(Uint8Array.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), 400, "BAD_JSON"); // {"\xff":1}: not UTF-8
    assertError(await post([]), 400, "BAD_BODY");
    assertError(await post("null"), 400, "BAD_BODY");
    assertError(await post({ tx: ["00"] }), 400, "BAD_BODY");
    assertError(await post({ txs: "00" }), 400, "BAD_BODY");
    assertError(await post({ txs: ["01", 2] }), 400, "BAD_BODY");
    assertError(await post({ txs: ["01", "0g"] }), 400, "BAD_HEX");
    assertError(await post({ txs: ["01", "abc"] }), 400, "BAD_HEX");
    assertError(await post({ txs: [] }), 400, "EMPTY_BATCH");
    assertError(await post({ txs: ["01", ""] }), 400, "EMPTY_TX");
    assertError(await post({ txs: Array.from({ length: LIMITS.maxBatchTxs + 1 }, (_, i) => toHex(tx(i))) }), 400, "TOO_MANY_TXS");
    assertError(await post({ txs: ["01", "ab".repeat(LIMITS.maxTxBytes + 1)] }), 400, "TX_TOO_LARGE");
    assertError(await post({ txs: ["01"] }, "text/plain"), 415, "UNSUPPORTED_MEDIA_TYPE");
    assertError(await post({ txs: ["01"] }, OCTETS), 400, "TX_TOO_LARGE"); // JSON read as binary: '{"tx' is the length
    assertError(await post({ txs: ["ab".repeat(5000)] }), 413, "BODY_TOO_LARGE");
    assert.equal(h.api.submissions.length, before);
    assert.equal(await h.count("quire_rpc_rejected_bodies_total", { code: "BAD_HEX" }), 2);
    assert.equal(await h.count("quire_rpc_rejected_bodies_total", { code: "BODY_TOO_LARGE" }), 1);
  });

  test("the binary form (application/octet-stream, u32 big-endian length before each tx) admits like the JSON form; malformed bodies are refused whole", async () => {
    h.api.pool.clear();
    // Built by hand, byte by byte (not with the client's encoder): [0,0,0,1, 0x21] [0,0,0,2, 0x22,0x23].
    const body = Uint8Array.of(0, 0, 0, 1, 0x21, 0, 0, 0, 2, 0x22, 0x23);
    const a = await post(body, OCTETS);
    assert.equal(a.status, 202);
    const ids = [idHex(tx(0x21)), idHex(tx(0x22, 0x23))];
    assert.deepEqual(a.json, { ids, results: [{ status: "accepted", id: ids[0] }, { status: "accepted", id: ids[1] }] });
    assert.deepEqual(encodeTxBatchBody([tx(0x21), tx(0x22, 0x23)]), body, "the client's encoder writes the same bytes");
    h.api.pool.clear();
    const before = h.api.submissions.length;
    assertError(await post(Uint8Array.of(0, 0, 0, 1, 0x21, 0, 0), OCTETS), 400, "BAD_BODY"); // a cut length prefix
    assertError(await post(Uint8Array.of(0, 0, 0, 3, 0x21, 0x22), OCTETS), 400, "BAD_BODY"); // a cut transaction
    assertError(await post(Uint8Array.of(0, 0, 0, 1, 0x21, 0, 0, 0, 0), OCTETS), 400, "EMPTY_TX");
    const tooBig = new Uint8Array(4 + LIMITS.maxTxBytes + 1);
    new DataView(tooBig.buffer).setUint32(0, LIMITS.maxTxBytes + 1);
    assertError(await post(tooBig, OCTETS), 400, "TX_TOO_LARGE");
    const many = new Uint8Array(5 * (LIMITS.maxBatchTxs + 1));
    for (let i = 0; i <= LIMITS.maxBatchTxs; i++) many.set([0, 0, 0, 1, i & 0xff], 5 * i);
    assertError(await post(many, OCTETS), 400, "TOO_MANY_TXS");
    assert.equal(h.api.submissions.length, before, "nothing offered from a refused body");
  });

  test("a node failure mid-batch is 500 INTERNAL that still lists what was admitted", async () => {
    h.api.pool.clear();
    const real = h.api.submitTx.bind(h.api);
    let n = 0;
    h.api.submitTx = (t, c) => {
      if (++n === 2) throw new Error("disk on fire");
      return real(t, c);
    };
    try {
      const a = await post({ txs: ["20", "21", "22"] });
      assertError(a, 500, "INTERNAL", ["ids", "results"]);
      const doc = a.json as { ids: unknown[]; results: unknown[] };
      assert.deepEqual(doc.results, [{ status: "accepted", id: idHex(tx(0x20)) }, { status: "error" }, { status: "skipped" }]);
      assert.equal(await h.count("quire_rpc_handler_errors_total", { route: "txs_submit" }), 1);
      assert.match(String(h.logger.errors.at(-1)?.fields?.["error"]), /disk on fire/);
    } finally {
      h.api.submitTx = real;
    }
  });
});

describe("block bodies", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ limits: LIMITS });
  });
  after(() => h.server.stop());

  test("GET /v1/blocks/:height/body: u32 R ‖ the block's own results ‖ each tx as u32 len ‖ bytes", async () => {
    const extra = [new Uint8Array([1, 2, 3]), new Uint8Array([9]), new Uint8Array(300).fill(7)];
    h.api.commit({ extra, failed: [1] });
    const height = h.api.height;
    const txs = h.api.txsOf(height);
    const r = await fetch(`${h.base}/v1/blocks/${height}/body`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), OCTETS);
    const body = new Uint8Array(await r.arrayBuffer());
    // Read by hand (an oracle independent of decodeBlockBody): the result bitmap, then the txs.
    const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const R = dv.getUint32(0);
    assert.deepEqual([...decodeBitmapIndices(body.subarray(4, 4 + R), { length: txs.length })], [1]);
    const got: Uint8Array[] = [];
    for (let p = 4 + R; p < body.length; p += 4 + dv.getUint32(p)) got.push(body.slice(p + 4, p + 4 + dv.getUint32(p)));
    assert.deepEqual(got, txs.map((t) => Uint8Array.from(t)));
    const client = new RpcClient({ url: h.base });
    const viaClient = await client.blockBody(height);
    assert.deepEqual(viaClient?.txs.map((t) => Uint8Array.from(t)), got);
    assert.equal(await client.blockBody(height + 1), null);
    assertError(await http(h.base, "GET", `/v1/blocks/${height + 1}/body`), 404, "BLOCK_NOT_FOUND");
    assertError(await http(h.base, "GET", "/v1/blocks/latest/body"), 400, "BAD_HEIGHT");
  });

});

describe("queries", () => {
  let h: Harness;
  let t0: Uint8Array;
  before(async () => {
    h = await startHarness({ limits: LIMITS });
    t0 = utf8("put alpha 1");
  });
  after(() => h.server.stop());

  test("GET /v1/tx/:id: pending, then committed with height, index and ok (true, false, null)", async () => {
    const txs = [t0, utf8("put beta 2"), utf8("put gamma 3")];
    for (const t of txs) assert.equal((await http(h.base, "POST", "/v1/tx", { body: t, type: OCTETS })).status, 202);
    const pending = await http(h.base, "GET", `/v1/tx/${idHex(t0)}`);
    assert.equal(pending.status, 200);
    assert.deepEqual(pending.json, { id: idHex(t0), status: "pending", height: null, index: null, ok: null });
    h.api.commit({ failed: [1] });
    h.api.setUnexecuted(sha256(txs[2]!));
    const expected = [true, false, null];
    for (let i = 0; i < 3; i++) {
      const a = await http(h.base, "GET", `/v1/tx/${idHex(txs[i]!).toUpperCase()}`);
      assert.equal(a.status, 200);
      assert.deepEqual(a.json, { id: idHex(txs[i]!), status: "committed", height: 1, index: i, ok: expected[i] });
    }
  });

  test("GET /v1/tx/:id: 404 TX_NOT_FOUND for an unknown id, 400 BAD_TX_ID for a malformed one", async () => {
    assertError(await http(h.base, "GET", `/v1/tx/${"ab".repeat(32)}`), 404, "TX_NOT_FOUND");
    for (const bad of ["ab".repeat(31) + "a", "ab".repeat(33), "zz".repeat(32), `0x${"ab".repeat(31)}`, "", "%41".repeat(32)]) {
      assertError(await http(h.base, "GET", `/v1/tx/${bad}`), 400, "BAD_TX_ID");
    }
  });

  test("GET /v1/blocks/:height: header fields as hex, tx count and QC; latest; genesis has qc null", async () => {
    const b = h.api.blocks[1]!.info;
    const a = await http(h.base, "GET", "/v1/blocks/1");
    assert.equal(a.status, 200);
    assert.deepEqual(a.json, {
      height: 1,
      hash: toHex(b.hash),
      parent: toHex(h.api.blocks[0]!.info.hash),
      view: b.header.view,
      proposer: b.header.proposer,
      timestampMs: b.header.timestampMs,
      txRoot: toHex(b.header.txRoot),
      parentStateRoot: toHex(b.header.parentStateRoot),
      parentResults: toHex(b.header.parentResults),
      parentSigners: toHex(b.header.parentSigners),
      txCount: 3,
      // 01 0e: DENSE, 7 bits, {1, 2, 3}; signerIndices is the same set, decoded by the node.
      qc: { view: b.qc!.view, blockHash: toHex(b.hash), signers: "010e", signerIndices: [1, 2, 3], aggregateSignature: toHex(b.qc!.aggregateSignature) },
    });
    const latest = await http(h.base, "GET", "/v1/blocks/latest");
    assert.deepEqual(latest.json, a.json);
    const genesis = await http(h.base, "GET", "/v1/blocks/0");
    assert.equal((genesis.json as { qc: unknown }).qc, null);
    assert.equal((genesis.json as { txCount: number }).txCount, 0);
  });

  test("GET /v1/blocks/:height/txids: the block's tx ids as SHA-256 of each tx, 32 bytes each in block order", async () => {
    const txs = h.api.txsOf(1);
    const r = await fetch(`${h.base}/v1/blocks/1/txids`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), OCTETS);
    const body = new Uint8Array(await r.arrayBuffer());
    assert.equal(body.length, 32 * txs.length);
    txs.forEach((t, i) => assert.equal(toHex(body.subarray(32 * i, 32 * i + 32)), idHex(t)));
    // The client reads the same bytes; an empty block (genesis) has none; above the head is null / 404.
    const client = new RpcClient({ url: h.base });
    assert.deepEqual(await client.blockTxIds(1), body);
    assert.equal((await client.blockTxIds(0))!.length, 0);
    assert.equal(await client.blockTxIds(2), null);
    assertError(await http(h.base, "GET", "/v1/blocks/2/txids"), 404, "BLOCK_NOT_FOUND");
    assertError(await http(h.base, "GET", "/v1/blocks/latest/txids"), 400, "BAD_HEIGHT");
  });

  test("GET /v1/blocks/:height: 404 BLOCK_NOT_FOUND above the head, 400 BAD_HEIGHT for non-canonical numbers", async () => {
    assertError(await http(h.base, "GET", "/v1/blocks/2"), 404, "BLOCK_NOT_FOUND");
    assertError(await http(h.base, "GET", "/v1/blocks/9007199254740991"), 404, "BLOCK_NOT_FOUND");
    for (const bad of ["-1", "01", "1.0", "1e3", "+1", "0x1", "9007199254740992", "99999999999999999", "Latest", "abc", "", "%31"]) {
      assertError(await http(h.base, "GET", `/v1/blocks/${bad}`), 400, "BAD_HEIGHT");
    }
  });

  test("GET /v1/blocks/:h/proof/:i: exactly the document quire merkle verify reads; it verifies against the header", async () => {
    const a = await http(h.base, "GET", "/v1/blocks/1/proof/2");
    assert.equal(a.status, 200);
    const doc = a.json as { leafIndex: number; treeSize: number; root: string; leafHash: string; proof: string[] };
    assert.deepEqual(Object.keys(doc), ["leafIndex", "treeSize", "root", "leafHash", "proof"]);
    assert.equal(doc.leafIndex, 2);
    assert.equal(doc.treeSize, 3);
    const header = (await http(h.base, "GET", "/v1/blocks/1")).json as { txRoot: string };
    assert.equal(doc.root, header.txRoot);
    const proof = { leafIndex: doc.leafIndex, treeSize: doc.treeSize, leafHash: fromHex(doc.leafHash), proof: doc.proof.map(fromHex) };
    assert.equal(checkInclusion(proof, fromHex(header.txRoot)), null);
    // The CLI reads the very same bytes: valid against the header's root, with the leaf data checked too.
    const bin = fileURLToPath(new URL("../../../../bin/quire.js", import.meta.url));
    const leaf = toHex(h.api.txsOf(1)[2]!);
    const r = spawnSync(process.execPath, [bin, "merkle", "verify", "--root", header.txRoot, "--leaf", leaf], { input: a.text, encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^valid: leaf 2 of 3/);
  });

  test("proof errors: BLOCK_NOT_FOUND, TX_INDEX_OUT_OF_RANGE, BAD_INDEX, BAD_HEIGHT (latest is not allowed here)", async () => {
    assertError(await http(h.base, "GET", "/v1/blocks/7/proof/0"), 404, "BLOCK_NOT_FOUND");
    assertError(await http(h.base, "GET", "/v1/blocks/1/proof/3"), 404, "TX_INDEX_OUT_OF_RANGE");
    assertError(await http(h.base, "GET", "/v1/blocks/0/proof/0"), 404, "TX_INDEX_OUT_OF_RANGE");
    for (const bad of ["-1", "01", "x", "", "1.5"]) assertError(await http(h.base, "GET", `/v1/blocks/1/proof/${bad}`), 400, "BAD_INDEX");
    assertError(await http(h.base, "GET", "/v1/blocks/latest/proof/0"), 400, "BAD_HEIGHT");
  });

  test("GET /v1/kv/:key: percent-encoded UTF-8 and binary keys; valueUtf8 only for UTF-8 values", async () => {
    const textKey = "héllo wörld/+?#%";
    h.api.setKv(utf8(textKey), utf8("välue"));
    const a = await http(h.base, "GET", `/v1/kv/${encodeURIComponent(textKey)}`);
    assert.equal(a.status, 200);
    assert.deepEqual(a.json, { key: toHex(utf8(textKey)), value: toHex(utf8("välue")), valueUtf8: "välue" });
    h.api.setKv(tx(0x00, 0xff, 0x2b), tx(0xc3, 0x28));
    const b = await http(h.base, "GET", "/v1/kv/%00%Ff+");
    assert.equal(b.status, 200);
    assert.deepEqual(b.json, { key: "00ff2b", value: "c328", valueUtf8: null });
  });

  test("GET /v1/kv/:key: 404 KEY_NOT_FOUND, 400 BAD_KEY for an empty key or a broken escape", async () => {
    assertError(await http(h.base, "GET", "/v1/kv/missing"), 404, "KEY_NOT_FOUND");
    for (const bad of ["", "%", "%4", "%zz", "a%g1"]) assertError(await http(h.base, "GET", `/v1/kv/${bad}`), 400, "BAD_KEY");
  });

  test("GET /v1/status: exactly the node status fields", async () => {
    const a = await http(h.base, "GET", "/v1/status");
    assert.equal(a.status, 200);
    assert.deepEqual(a.json, { chainId: "quire-test", nodeIndex: 2, committedHeight: 1, view: h.api.view, leader: h.api.view % 4, peersConnected: 3, mempoolSize: 0 });
  });

  test("GET /metrics: the node's series and the RPC server's, from one registry, in Prometheus text 0.0.4", async () => {
    const before = await h.count("quire_rpc_requests_total", { route: "status", status: "200" });
    assert.equal((await http(h.base, "GET", "/v1/status")).status, 200);
    const a = await http(h.base, "GET", "/metrics");
    assert.equal(a.status, 200);
    assert.equal(a.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const s = new PromScrape(a.text);
    // The fake node's gauge was collected at scrape time, through the same registry as the server's counters.
    assert.equal(s.family("quire_fake_up").type, "gauge");
    assert.equal(s.value("quire_fake_up"), 1);
    assert.equal(s.count("quire_rpc_requests_total", { route: "status", status: "200" }), before + 1);
    assert.equal(s.family("quire_rpc_rejected_bodies_total").type, "counter");
    assert.equal(s.family("quire_rpc_stream_subscribers").type, "gauge");
    assert.equal(s.value("quire_rpc_stream_subscribers"), 0);
  });

  test("GET /: the dashboard page, with its script and style from /dashboard/, a self-only CSP and revalidation", async () => {
    const a = await http(h.base, "GET", "/");
    assert.equal(a.status, 200);
    assert.equal(a.headers.get("content-type"), "text/html; charset=utf-8");
    assert.match(a.text, /<script type="module" src="\/dashboard\/dashboard.js"><\/script>/);
    assert.match(a.text, /GET \/v1\/blocks\/:height\/proof\/:index/);
    const csp = a.headers.get("content-security-policy") ?? "";
    assert.match(csp, /default-src 'none'/);
    for (const d of ["script-src", "style-src", "connect-src"]) assert.match(csp, new RegExp(`${d} 'self'(;|$)`), d);
    assert.doesNotMatch(csp, /unsafe|https?:|\*/);
    assert.equal(a.headers.get("x-content-type-options"), "nosniff");
    assert.equal(a.headers.get("cache-control"), "no-cache");
    const etag = a.headers.get("etag")!;
    assert.match(etag, /^"[0-9a-f]{32}"$/);
    // A revalidation with the ETag is a 304 with no body; a stale one gets the file again.
    const same = await fetch(`${h.base}/`, { headers: { "If-None-Match": etag } });
    assert.equal(same.status, 304);
    assert.equal(await same.text(), "");
    assert.equal((await fetch(`${h.base}/`, { headers: { "If-None-Match": '"0"' } })).status, 200);
    // Every file the page names is served with its type; anything else under /dashboard/ is 404.
    for (const [file, type] of [["dashboard.js", "text/javascript; charset=utf-8"], ["dashboard.css", "text/css; charset=utf-8"], ["index.html", "text/html; charset=utf-8"]] as const) {
      const f = await http(h.base, "GET", `/dashboard/${file}`);
      assert.equal(f.status, 200, file);
      assert.equal(f.headers.get("content-type"), type, file);
      assert.equal(f.headers.get("content-security-policy"), csp, file);
      assert.ok(f.text.length > 100, file);
    }
    assertError(await http(h.base, "GET", "/dashboard/..%2fserver.js"), 404, "NOT_FOUND");
    assertError(await http(h.base, "GET", "/dashboard/constructor"), 404, "NOT_FOUND");
    assert.equal(await h.count("quire_rpc_requests_total", { route: "dashboard_asset", status: "200" }), 3);
  });

  test("HEAD answers like GET without a body", async () => {
    const r = await fetch(`${h.base}/v1/status`, { method: "HEAD" });
    assert.equal(r.status, 200);
    const full = await http(h.base, "GET", "/v1/status");
    assert.equal(r.headers.get("content-length"), String(Buffer.byteLength(full.text)));
    assert.equal(await r.text(), "");
  });
});

describe("block ranges and genesis", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ limits: LIMITS });
    while (h.api.height < 5) h.api.commit();
  });
  after(() => h.server.stop());

  test("GET /v1/blocks?from&to: the /v1/blocks/:height documents of the range, in order, stopping at the head", async () => {
    const one = async (height: number) => (await http(h.base, "GET", `/v1/blocks/${height}`)).json;
    const range = async (q: string) => {
      const a = await http(h.base, "GET", `/v1/blocks?${q}`);
      assert.equal(a.status, 200, a.text);
      assert.equal(a.headers.get("content-type"), "application/json");
      return (a.json as { blocks: unknown[] }).blocks;
    };
    const head = h.api.height;
    const all = await Promise.all(Array.from({ length: head + 1 }, (_, i) => one(i)));
    assert.deepEqual(await range(`from=0&to=${head}`), all);
    assert.deepEqual(await range("to=4&from=2"), all.slice(2, 5));
    assert.deepEqual(await range("from=3&to=3"), [all[3]]);
    assert.deepEqual(await range("from=1"), all.slice(1)); // to defaults to from + 255, cut at the head
    assert.deepEqual(await range(`from=${head + 1}&to=${head + 256}`), []);
    assert.deepEqual(await range("from=9007199254740991"), []);
    assert.deepEqual(await range("from=0&to=255"), all);
  });

  test("GET /v1/blocks?from&to: 400 BAD_RANGE or BAD_HEIGHT for every malformed query", async () => {
    const cases: [string, string][] = [
      ["", "BAD_RANGE"],
      ["to=5", "BAD_RANGE"],
      ["from=0&to=256", "BAD_RANGE"],
      ["from=5&to=4", "BAD_RANGE"],
      ["from=1&from=2", "BAD_RANGE"],
      ["from=1&to=2&to=3", "BAD_RANGE"],
      ["from=1&limit=2", "BAD_RANGE"],
      ["from=1&", "BAD_RANGE"],
      ["&from=1", "BAD_RANGE"],
      ["FROM=1", "BAD_RANGE"],
      ["from", "BAD_HEIGHT"],
      ["from=", "BAD_HEIGHT"],
      ["from=-1", "BAD_HEIGHT"],
      ["from=01", "BAD_HEIGHT"],
      ["from=1e3", "BAD_HEIGHT"],
      ["from=%31", "BAD_HEIGHT"],
      ["from=9007199254740992", "BAD_HEIGHT"],
      ["from=1&to=x", "BAD_HEIGHT"],
    ];
    for (const [q, code] of cases) assertError(await http(h.base, "GET", `/v1/blocks?${q}`), 400, code);
  });

  test("GET /v1/genesis: the node's genesis text, byte for byte", async () => {
    h.api.genesisText = '{"type":"quire-genesis", "chainId":"quire-test" }';
    const a = await http(h.base, "GET", "/v1/genesis");
    assert.equal(a.status, 200);
    assert.equal(a.headers.get("content-type"), "application/json");
    assert.equal(a.text, h.api.genesisText);
  });

  test("GET /v1/evidence: the node's evidence report as JSON", async () => {
    const pair = {
      type: "quire-proposal-equivocation" as const,
      version: 1 as const,
      proposer: 3,
      view: 7,
      first: { blockHash: "ab".repeat(32), signature: "cd".repeat(192) },
      second: { blockHash: "ef".repeat(32), signature: "01".repeat(192) },
    };
    h.api.evidenceReport = { total: 2, dropped: 0, byValidator: { "3": 2 }, proposals: [pair] };
    const a = await http(h.base, "GET", "/v1/evidence");
    assert.equal(a.status, 200);
    assert.deepEqual(JSON.parse(a.text), { total: 2, dropped: 0, byValidator: { "3": 2 }, proposals: [pair] });
  });
});

describe("routing and request errors", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ limits: LIMITS });
  });
  after(() => h.server.stop());

  test("unknown routes are 404 NOT_FOUND", async () => {
    for (const p of ["/nope", "/v1", "/v1/", "/v1/status/", "/v2/status", "/v1/tx/ab/cd", "/v1/blocks/1/proof", "/v1/blocks/1/proof/1/x", "//v1/status", "/V1/STATUS"]) {
      assertError(await http(h.base, "GET", p), 404, "NOT_FOUND");
    }
  });

  test("a wrong method is 405 METHOD_NOT_ALLOWED with Allow", async () => {
    const cases: [string, string, string][] = [
      ["DELETE", "/v1/status", "GET, HEAD"],
      ["POST", "/v1/status", "GET, HEAD"],
      ["PUT", "/v1/tx", "POST"],
      ["GET", "/v1/tx", "POST"],
      ["GET", "/v1/txs", "POST"],
      ["PATCH", `/v1/tx/${"00".repeat(32)}`, "GET, HEAD"],
      ["OPTIONS", "/metrics", "GET, HEAD"],
      ["POST", "/v1/blocks?from=0", "GET, HEAD"],
      ["PUT", "/v1/genesis", "GET, HEAD"],
      ["FROB", "/v1/kv/a", "GET, HEAD"],
      ["constructor", "/v1/status", "GET, HEAD"],
      ["__proto__", "/v1/status", "GET, HEAD"],
      ["toString", "/v1/tx", "POST"],
    ];
    for (const [m, p, allow] of cases) {
      const a = await http(h.base, m, p);
      assertError(a, 405, "METHOD_NOT_ALLOWED");
      assert.equal(a.headers.get("allow"), allow, `${m} ${p}`);
    }
  });

  test("a path over maxUrlBytes is 414 URI_TOO_LONG; the query string does not count and is ignored (but on /v1/blocks)", async () => {
    assertError(await http(h.base, "GET", `/v1/kv/${"k".repeat(LIMITS.maxUrlBytes)}`), 414, "URI_TOO_LONG");
    const a = await http(h.base, "GET", `/v1/status?${"q".repeat(LIMITS.maxUrlBytes)}`);
    assert.equal(a.status, 200);
  });

  test("a plain GET on /v1/stream is 426 UPGRADE_REQUIRED", async () => {
    const a = await http(h.base, "GET", "/v1/stream");
    assertError(a, 426, "UPGRADE_REQUIRED");
    assert.equal(a.headers.get("upgrade"), "websocket");
  });

  test("keep-alive: an error on a request whose body was not read closes the connection; a read one does not", async () => {
    const c = await RawConn.open(h.server.port);
    c.write(`POST /v1/tx HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc`);
    await c.waitClose();
    assert.equal(parseResponse(c.text)!.status, 415);
    const d = await RawConn.open(h.server.port);
    d.write(`POST /v1/tx HTTP/1.1\r\nHost: x\r\nContent-Type: ${OCTETS}\r\nContent-Length: 0\r\n\r\n`);
    await d.waitFor(hasResponse);
    assert.equal(parseResponse(d.text)!.status, 400);
    d.write("GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n");
    await d.waitFor((t) => t.split("HTTP/1.1 ").length === 3);
    assert.match(d.text, /HTTP\/1\.1 200 OK/);
    d.destroy();
  });
});

describe("node failures never escape a handler", () => {
  for (const mode of ["sync", "async"] as const) {
    test(`an exception in every api method (${mode}) is 500 INTERNAL, counted and logged; the server keeps serving`, async () => {
      const h = await startHarness({ fake: { mode } });
      try {
        const routes: [FakeMethod, string, string, { body?: Uint8Array; type?: string }][] = [
          ["submitTx", "POST", "/v1/tx", { body: tx(1), type: OCTETS }],
          ["txStatus", "GET", `/v1/tx/${"00".repeat(32)}`, {}],
          ["block", "GET", "/v1/blocks/latest", {}],
          ["block", "GET", "/v1/blocks?from=0", {}],
          ["genesisDocument", "GET", "/v1/genesis", {}],
          ["evidence", "GET", "/v1/evidence", {}],
          ["proof", "GET", "/v1/blocks/0/proof/0", {}],
          ["kv", "GET", "/v1/kv/a", {}],
          ["status", "GET", "/v1/status", {}],
          ["metrics", "GET", "/metrics", {}],
        ];
        for (const [method] of routes) h.api.throwOn.add(method);
        for (const [, m, p, o] of routes) assertError(await http(h.base, m, p, o), 500, "INTERNAL");
        assert.equal(await h.total("quire_rpc_handler_errors_total"), routes.length);
        assert.equal(h.logger.errors.length, routes.length);
        h.api.throwOn.clear();
        assert.equal((await http(h.base, "GET", "/v1/status")).status, 200);
      } finally {
        await h.server.stop();
      }
    });
  }

  test("a malformed value from the node (a block without a header) is a 500, not a crash", async () => {
    const h = await startHarness();
    try {
      h.api.block = () => ({ hash: new Uint8Array(32), header: undefined as never, txCount: 0, qc: null });
      assertError(await http(h.base, "GET", "/v1/blocks/0"), 500, "INTERNAL");
      assert.equal(await h.count("quire_rpc_handler_errors_total", { route: "block" }), 1);
    } finally {
      await h.server.stop();
    }
  });

  test("a client that leaves before the node answers: the exchange is counted as aborted, nothing is written late", async () => {
    const h = await startHarness({ fake: { mode: "async" } });
    try {
      let release: (() => void) | undefined;
      const gate = new Promise<void>((r) => (release = r));
      const real = h.api.status.bind(h.api);
      let entered = false;
      h.api.status = async () => {
        entered = true;
        await gate;
        return real();
      };
      const c = await RawConn.open(h.server.port);
      c.write("GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n");
      await eventually(() => entered, "the request to reach the node");
      c.destroy();
      await eventually(async () => (await h.count("quire_rpc_requests_aborted_total", { route: "status" })) === 1, "the abort to be seen");
      release!(); // the handler now tries to answer a dead response: must be a no-op
      await gate;
      h.api.status = real;
      assert.equal((await http(h.base, "GET", "/v1/status")).status, 200);
      assert.equal(await h.total("quire_rpc_handler_errors_total"), 0);
      assert.equal(await h.count("quire_rpc_requests_total", { route: "status", status: "200" }), 1);
    } finally {
      await h.server.stop();
    }
  });
});

describe("options and lifecycle", () => {
  test("limits are validated with the field named", () => {
    assert.deepEqual(resolveRpcLimits(), { ...DEFAULT_RPC_LIMITS });
    assert.equal(DEFAULT_RPC_LIMITS.maxTxBytes, MAX_TX_BYTES);
    const bad: [Record<string, unknown>, string][] = [
      [{ maxTxBytes: 0 }, "limits.maxTxBytes"],
      [{ maxBatchTxs: 1.5 }, "limits.maxBatchTxs"],
      [{ maxUrlBytes: "2048" }, "limits.maxUrlBytes"],
      [{ streamIdleTimeoutSec: 4 }, "limits.streamIdleTimeoutSec"],
      [{ maxPendingBodyBytes: 10 }, "limits.maxPendingBodyBytes"],
      [{ maxBodyBytes: 10 }, "limits.maxBodyBytes"],
      [{ requestTimeoutSec: 0 }, "limits.requestTimeoutSec"],
    ];
    for (const [limits, field] of bad) {
      assert.throws(
        () => resolveRpcLimits(limits as never),
        (e: unknown) => e instanceof RpcConfigError && e.code === "BAD_RPC_OPTION" && e.payload.field === field,
      );
    }
    assert.throws(() => new RpcServer({ port: 70000 }, { api: new FakeNodeApi() }), RpcConfigError);
  });

  test("a taken port rejects start() with LISTEN_FAILED; stop() is idempotent and unsubscribes from the node", async () => {
    const h = await startHarness();
    assert.equal(h.api.listenerCount, 1);
    const other = new RpcServer({ host: "127.0.0.1", port: h.server.port }, { api: new FakeNodeApi() });
    await assert.rejects(other.start(), (e: unknown) => e instanceof RpcListenError && e.code === "LISTEN_FAILED");
    await h.server.stop();
    await h.server.stop();
    assert.equal(h.api.listenerCount, 0);
    await assert.rejects(fetch(`${h.base}/v1/status`));
  });

  test("the request timeout: a stuck node call is 503 NODE_TIMEOUT, a stalled upload 408 REQUEST_TIMEOUT; both close", async () => {
    const clock = new ManualScheduler();
    // A grace longer than the timeout: this is about the timeout, not the minimum upload rate (tested below).
    const h = await startHarness({ limits: { requestTimeoutSec: 5, uploadGraceSec: 60 }, scheduler: clock });
    try {
      const upload = await RawConn.open(h.server.port);
      upload.write(`POST /v1/tx HTTP/1.1\r\nHost: x\r\nContent-Type: ${OCTETS}\r\nContent-Length: 10\r\n\r\nabc`);
      await eventually(() => h.server.bodyBytesInFlight === 10, "the upload to start");
      h.api.hang = true;
      const stuck = http(h.base, "GET", "/v1/status");
      await eventually(() => h.api.calls.get("status") === 1, "the status call to reach the node");
      clock.advance(5000); // the full timeout has not passed for a request that arrived just before a tick
      assert.equal(await h.total("quire_rpc_request_timeouts_total"), 0);
      clock.advance(1000);
      const [a] = await Promise.all([stuck, upload.waitClose()]);
      assertError(a, 503, "NODE_TIMEOUT");
      assert.equal(a.headers.get("retry-after"), "1");
      const r = parseResponse(upload.text)!;
      assert.equal(r.status, 408);
      assert.equal((JSON.parse(r.body) as { error: { code: string } }).error.code, "REQUEST_TIMEOUT");
      assert.equal(await h.count("quire_rpc_request_timeouts_total", { route: "status" }), 1);
      assert.equal(await h.count("quire_rpc_request_timeouts_total", { route: "tx_submit" }), 1);
      assert.equal(h.server.bodyBytesInFlight, 0);
      h.api.hang = false;
      assert.equal((await http(h.base, "GET", "/v1/status")).status, 200);
    } finally {
      await h.server.stop();
    }
  });

  test("the shared body budget: an upload that would pass maxPendingBodyBytes is 503 SERVER_BUSY", async () => {
    const h = await startHarness({ limits: { maxTxBytes: 1000, maxBatchBodyBytes: 1000, maxPendingBodyBytes: 1500 } });
    try {
      // Two uploads of 1000 declared bytes: the first claims 1000, the second cannot claim its 1000.
      const first = await RawConn.open(h.server.port);
      first.write(`POST /v1/tx HTTP/1.1\r\nHost: x\r\nContent-Type: ${OCTETS}\r\nContent-Length: 1000\r\n\r\nab`);
      await eventually(() => h.server.bodyBytesInFlight === 1000, "the first upload to claim its buffer");
      const second = await RawConn.open(h.server.port);
      second.write(`POST /v1/tx HTTP/1.1\r\nHost: x\r\nContent-Type: ${OCTETS}\r\nContent-Length: 1000\r\n\r\ncd`);
      await second.waitClose();
      const r = parseResponse(second.text)!;
      assert.equal(r.status, 503);
      assert.equal((JSON.parse(r.body) as { error: { code: string } }).error.code, "SERVER_BUSY");
      first.write("x".repeat(998));
      await first.waitFor(hasResponse);
      assert.equal(parseResponse(first.text)!.status, 202);
      assert.equal(h.server.bodyBytesInFlight, 0);
      first.destroy();
      // An aborted upload gives its claim back.
      const third = await RawConn.open(h.server.port);
      third.write(`POST /v1/tx HTTP/1.1\r\nHost: x\r\nContent-Type: ${OCTETS}\r\nContent-Length: 1000\r\n\r\nef`);
      await eventually(() => h.server.bodyBytesInFlight === 1000, "the third upload to claim its buffer");
      third.destroy();
      await eventually(() => h.server.bodyBytesInFlight === 0, "the aborted upload to release its claim");
    } finally {
      await h.server.stop();
    }
  });
});
