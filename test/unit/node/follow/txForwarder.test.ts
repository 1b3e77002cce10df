/**
 * A follower's submissions (node/follow/txForwarder.ts) against a real RPC server in front of a fake validator: what
 * the client hears is what the validator answered, a validator that does not answer is skipped for the next, none
 * answering acknowledges nothing, and acknowledged ids read as pending until committed. Then the server's batch
 * route in front of the forwarder (a follower's `POST /v1/txs`) passes the validator's per-item outcomes through.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { TxForwarder } from "../../../../src/node/follow/txForwarder.js";
import type { SubmitTarget } from "../../../../src/node/follow/txForwarder.js";
import type { SubmitOutcome } from "../../../../src/rpc/client.js";
import { HttpError, RpcClientError } from "../../../../src/rpc/errors.js";
import { RpcServer } from "../../../../src/rpc/server.js";
import { createRpcMetrics } from "../../../../src/rpc/metrics.js";
import { encodeTxBatchBody } from "../../../../src/rpc/client.js";
import { Registry } from "prom-client";
import { FakeNodeApi, INVALID_TX_PREFIX, sha256 } from "../../../support/fakeNodeApi.js";
import { http, startHarness } from "../../../support/rpcHttp.js";
import type { Harness } from "../../../support/rpcHttp.js";
import { SILENT as SILENT_LOGGER } from "../../../../src/node/logger.js";

let validator: Harness;
/** A URL where nothing listens (a port taken and released). */
let dead: string;

before(async () => {
  validator = await startHarness({ fake: { capacity: 3 } });
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  dead = `http://127.0.0.1:${port}`;
});
after(() => validator.server.stop());

const tx = (i: number) => new Uint8Array([1, i, 2, 3, 4, 5, 6, 7]);

test("forwarder: a dead validator is skipped; the answer and the pending view are the live validator's", async () => {
  validator.api.pool.clear();
  const f = new TxForwarder({ urls: [dead, validator.base], timeoutMs: 2_000 }, { logger: SILENT_LOGGER });
  const r = await f.submitTx(tx(1));
  assert.equal(r.kind, "accepted");
  assert.equal(validator.api.pool.size, 1, "the validator holds it");
  assert.ok(f.isPending(sha256(tx(1))));
  // The application's refusal is the validator's, passed on.
  const bad = await f.submitTx(new Uint8Array([INVALID_TX_PREFIX, 1, 2]));
  assert.equal(bad.kind, "invalid");
  assert.ok(!f.isPending(sha256(new Uint8Array([INVALID_TX_PREFIX, 1, 2]))));
  f.onCommitted([sha256(tx(1))]);
  assert.ok(!f.isPending(sha256(tx(1))));
});

test("forwarder: no validator answering acknowledges nothing (503 UPSTREAM_UNAVAILABLE)", async () => {
  const f = new TxForwarder({ urls: [dead], timeoutMs: 2_000 }, { logger: SILENT_LOGGER });
  await assert.rejects(f.submitTx(tx(9)), (e: unknown) => e instanceof HttpError && e.code === "UPSTREAM_UNAVAILABLE" && e.status === 503);
  await assert.rejects(f.submitTxs([tx(9), tx(10)]), (e: unknown) => e instanceof HttpError && e.code === "UPSTREAM_UNAVAILABLE");
  assert.equal(f.pendingCount, 0);
});

test("forwarder: a batch comes back item for item, and only acknowledged items are pending", async () => {
  validator.api.pool.clear();
  const f = new TxForwarder({ urls: [validator.base] }, { logger: SILENT_LOGGER });
  const r = await f.submitTxs([tx(20), tx(21), tx(22), tx(23), tx(24)]);
  assert.deepEqual(r.map((x) => x.kind), ["accepted", "accepted", "accepted", "full", "skipped"]);
  assert.equal(f.pendingCount, 3);
  assert.ok(!f.isPending(sha256(tx(23))));
});

test("a follower's POST /v1/txs answers with the validator's outcomes: nothing the validator did not take is acknowledged", async () => {
  validator.api.pool.clear();
  const f = new TxForwarder({ urls: [validator.base] }, { logger: SILENT_LOGGER });
  // The follower's own node API: its submissions must never reach its own (fake) mempool.
  const own = new FakeNodeApi();
  const front = new RpcServer({ host: "127.0.0.1", port: 0 }, { api: Object.assign(own, { submitTxs: (txs: readonly Uint8Array[]) => f.submitTxs(txs) }), metrics: createRpcMetrics(new Registry()) });
  await front.start();
  try {
    const a = await http(front.url, "POST", "/v1/txs", { body: encodeTxBatchBody([tx(30), tx(31), tx(32), tx(33)]), type: "application/octet-stream" });
    assert.equal(a.status, 503);
    const doc = a.json as { error: { code: string }; results: { status: string }[]; ids: (string | null)[] };
    assert.equal(doc.error.code, "MEMPOOL_FULL");
    assert.deepEqual(doc.results.map((x) => x.status), ["accepted", "accepted", "accepted", "full"]);
    assert.equal(doc.ids.filter((x) => x !== null).length, 3);
    assert.equal(own.pool.size, 0);
    assert.equal(validator.api.pool.size, 3);
  } finally {
    await front.stop();
  }
});

test("forwarder: a validator's 4xx is passed on with its code; at most two validators per request; ids are the tx's own", async () => {
  const calls: string[] = [];
  const target = (baseUrl: string, answer: () => SubmitOutcome): SubmitTarget => ({
    baseUrl,
    submitTx: async () => {
      calls.push(baseUrl);
      return answer();
    },
    submitTxs: async (txs) => {
      calls.push(baseUrl);
      return { results: txs.map(() => answer()), retryAfterSec: null };
    },
  });
  const down = (name: string) => target(name, () => {
    throw new RpcClientError("NETWORK", `${name}: no answer`);
  });
  // A refusal of the validator's own (TX_TOO_LARGE, 400) is the client's answer, not a 500.
  const refusing = new TxForwarder({ urls: [] }, { logger: SILENT_LOGGER, targets: [target("v0", () => {
    throw new RpcClientError("HTTP", "POST /v1/tx: HTTP 400 TX_TOO_LARGE", { status: 400, code: "TX_TOO_LARGE" });
  })] });
  await assert.rejects(refusing.submitTx(tx(40)), (e: unknown) => e instanceof HttpError && e.code === "TX_TOO_LARGE" && e.status === 400);
  // Three validators down: two are tried, not three.
  const f = new TxForwarder({ urls: [] }, { logger: SILENT_LOGGER, targets: [down("a"), down("b"), down("c")] });
  await assert.rejects(f.submitTx(tx(41)), (e: unknown) => e instanceof HttpError && e.code === "UPSTREAM_UNAVAILABLE");
  assert.deepEqual(calls.splice(0), ["v0", "a", "b"]);
  // Two dead validators in a row, then live ones: the first request fails (two tried), the next starts past them.
  const live = target("d", () => ({ status: "accepted", id: new Uint8Array(32) }));
  const g = new TxForwarder({ urls: [] }, { logger: SILENT_LOGGER, targets: [down("a"), down("b"), live, target("e", () => ({ status: "accepted", id: new Uint8Array(32) }))] });
  await assert.rejects(g.submitTx(tx(45)), (e: unknown) => e instanceof HttpError && e.code === "UPSTREAM_UNAVAILABLE");
  assert.equal((await g.submitTx(tx(46))).kind, "accepted");
  assert.equal((await g.submitTx(tx(47))).kind, "accepted");
  assert.deepEqual(calls.splice(0), ["a", "b", "d", "d"]);
  // A validator reporting another id: the forwarder reports and remembers the tx's own hash.
  const liar = new TxForwarder({ urls: [] }, { logger: SILENT_LOGGER, targets: [target("liar", () => ({ status: "accepted", id: new Uint8Array(32).fill(1) }))] });
  assert.deepEqual(await liar.submitTx(tx(42)), { kind: "accepted", id: sha256(tx(42)) });
  assert.deepEqual((await liar.submitTxs([tx(43), tx(44)])).map((r) => (r.kind === "accepted" ? r.id : null)), [sha256(tx(43)), sha256(tx(44))]);
  assert.ok(liar.isPending(sha256(tx(44))) && !liar.isPending(new Uint8Array(32).fill(1)));
});
