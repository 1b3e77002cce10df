import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { assertError, http, startHarness } from "../../support/rpcHttp.js";
import type { Harness } from "../../support/rpcHttp.js";
import { RpcClient } from "../../../src/rpc/client.js";
import { decodeCommitMessage } from "../../../src/chain/app/paracross/format.js";
import type { DoneCommit } from "../../../src/chain/app/paracross/module.js";
import { testMessage } from "../../../src/chain/app/paracross/testonly.js";
import { Bitset, encodeBitmap } from "../../../src/crypto/bitmap/index.js";
import { toHex } from "../../../src/util/bytes.js";

describe("para routes (main chain)", () => {
  let h: Harness;
  let c: RpcClient;
  const title = "pär a";
  const message = testMessage(title, 3, 12, { packed: 2, failed: [1], cross: [0] });
  const decoded = decodeCommitMessage(message);
  assert.ok(decoded.ok);
  const commit: DoneCommit = {
    title,
    height: 3,
    message,
    decoded: decoded.value,
    aggregateSignature: new Uint8Array(96).fill(7),
    signers: encodeBitmap(Bitset.fromIndices(4, [0, 1, 3])),
    signerCount: 3,
    nodes: 4,
  };
  before(async () => {
    h = await startHarness();
    c = new RpcClient({ url: h.base });
    h.api.paraStatuses.set(title, { title, nodes: 4, doneHeight: 3, recordedHeight: 6, holes: [4, 5] });
    h.api.paraCommits.set(`${title}/3`, commit);
  });
  after(() => h.server.stop());

  test("status and done commit round-trip through the client; the JSON carries hex bytes", async () => {
    assert.deepEqual(await c.paraStatus(title), { title, nodes: 4, doneHeight: 3, recordedHeight: 6, holes: [4, 5] });
    assert.deepEqual(await c.paraCommit(title, 3), commit);
    const a = await http(h.base, "GET", `/v1/para/${encodeURIComponent(title)}/3`);
    assert.equal(a.status, 200);
    const doc = JSON.parse(a.text) as Record<string, unknown>;
    assert.equal(doc["message"], toHex(message));
    assert.equal(doc["aggregateSignature"], "07".repeat(96));
    assert.deepEqual(doc["decoded"], { mainHeight: 12, blockHash: toHex(decoded.value.blockHash), stateRoot: toHex(decoded.value.stateRoot), results: toHex(decoded.value.results), crossTxs: toHex(decoded.value.crossTxs) });
  });

  test("unknown title, height not done, bad parameters", async () => {
    assert.equal(await c.paraStatus("nope"), null);
    assert.equal(await c.paraCommit(title, 4), null);
    assertError(await http(h.base, "GET", "/v1/para/nope/status"), 404, "PARA_NOT_FOUND");
    assertError(await http(h.base, "GET", "/v1/para/nope/1"), 404, "PARA_NOT_FOUND");
    assertError(await http(h.base, "GET", `/v1/para/${encodeURIComponent(title)}/4`), 404, "COMMIT_NOT_DONE");
    assertError(await http(h.base, "GET", `/v1/para/${encodeURIComponent(title)}/x1`), 400, "BAD_HEIGHT");
    assertError(await http(h.base, "GET", `/v1/para/${"a".repeat(33)}/status`), 400, "BAD_TITLE");
    assertError(await http(h.base, "GET", "/v1/para/%ff/status"), 400, "BAD_TITLE");
  });
});
