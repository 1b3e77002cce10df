import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { eventually, startHarness } from "../../support/rpcHttp.js";
import type { Harness } from "../../support/rpcHttp.js";
import { INVALID_REASON, sha256 } from "../../support/fakeNodeApi.js";
import { seededRng } from "../../support/seed.js";
import { RpcClient, encodeKey } from "../../../src/rpc/client.js";
import { RpcClientError } from "../../../src/rpc/errors.js";
import { parseKey } from "../../../src/rpc/params.js";
import { checkInclusion, merkleProof } from "../../../src/crypto/merkle.js";
import { toHex, utf8 } from "../../../src/util/bytes.js";
import { ManualScheduler } from "../../../src/util/clock.js";

const isClientError = (code: string, status?: number, serverCode?: string) => (e: unknown) =>
  e instanceof RpcClientError && e.code === code && (status === undefined || e.payload.status === status) && (serverCode === undefined || e.payload.code === serverCode);

describe("RpcClient against the server", () => {
  let h: Harness;
  let c: RpcClient;
  before(async () => {
    h = await startHarness({ fake: { capacity: 4 } });
    c = new RpcClient({ url: `${h.base}/` });
  });
  after(() => h.server.stop());

  test("submitTx: accepted, duplicate, full, invalid as values; other refusals as HTTP errors with the server's code", async () => {
    const t = utf8("one");
    assert.deepEqual(await c.submitTx(t), { status: "accepted", id: sha256(t) });
    assert.deepEqual(await c.submitTx(t), { status: "duplicate", id: sha256(t) });
    assert.deepEqual(await c.submitTx(Uint8Array.of(0xff)), { status: "invalid", reason: INVALID_REASON });
    await assert.rejects(c.submitTx(new Uint8Array(0)), isClientError("HTTP", 400, "EMPTY_TX"));
    for (const x of ["two", "three", "four"]) assert.equal((await c.submitTx(utf8(x))).status, "accepted");
    assert.deepEqual(await c.submitTx(utf8("five")), { status: "full", retryAfterSec: 2 });
    h.api.pool.clear();
  });

  test("submitTxs: per-item outcomes and the Retry-After of a full pool", async () => {
    const txs = ["a", "b", "c", "d", "e", "f"].map(utf8);
    const r = await c.submitTxs([Uint8Array.of(0xff), ...txs]);
    assert.deepEqual(r.results, [
      { status: "invalid", reason: INVALID_REASON },
      ...txs.slice(0, 4).map((t) => ({ status: "accepted", id: sha256(t) })),
      { status: "full", retryAfterSec: 2 },
      { status: "skipped" },
    ]);
    assert.equal(r.retryAfterSec, 2);
    h.api.pool.clear();
    const ok = await c.submitTxs([utf8("g")]);
    assert.deepEqual(ok, { results: [{ status: "accepted", id: sha256(utf8("g")) }], retryAfterSec: null });
    await assert.rejects(c.submitTxs([]), isClientError("HTTP", 400, "EMPTY_BATCH"));
  });

  test("txStatus, block, proof, kv, status and metrics round-trip the node's own values", async () => {
    const t = utf8("h");
    await c.submitTx(t);
    assert.deepEqual(await c.txStatus(sha256(t)), { status: "pending" });
    const info = h.api.commit({ failed: [0] });
    assert.deepEqual(await c.txStatus(toHex(sha256(t))), { status: "committed", height: 1, index: 1, ok: true });
    assert.equal(await c.txStatus(new Uint8Array(32)), null);
    assert.deepEqual(await c.block(1), info);
    assert.deepEqual(await c.block("latest"), info);
    assert.deepEqual(await c.block(0), h.api.blocks[0]!.info);
    assert.equal(await c.block(2), null);
    const txs = h.api.txsOf(1);
    const p = await c.proof(1, 1);
    assert.deepEqual(p, merkleProof(txs, 1));
    assert.equal(checkInclusion(p!, (await c.block(1))!.header.txRoot), null);
    assert.equal(await c.proof(1, 2), null);
    assert.equal(await c.proof(5, 0), null);
    h.api.setKv(utf8("k ü"), utf8("v"));
    h.api.setKv(Uint8Array.of(0, 0x25, 0xff), Uint8Array.of(9));
    assert.deepEqual(await c.kv("k ü"), utf8("v"));
    assert.deepEqual(await c.kv(Uint8Array.of(0, 0x25, 0xff)), Uint8Array.of(9));
    assert.equal(await c.kv("absent"), null);
    assert.deepEqual(await c.status(), h.api.status());
    assert.match(await c.metrics(), /^quire_rpc_requests_total\{route="status",status="200"\} 1$/m);
  });

  test("blocks(from, to) and genesis() round-trip the node's own values", async () => {
    h.api.commit();
    h.api.commit();
    const all = h.api.blocks.map((b) => b.info);
    assert.deepEqual(await c.blocks(0, all.length - 1), all);
    assert.deepEqual(await c.blocks(1, 2), all.slice(1, 3));
    assert.deepEqual(await c.blocks(2, 200), all.slice(2)); // up to the head only
    assert.deepEqual(await c.blocks(all.length, all.length + 5), []);
    await assert.rejects(c.blocks(0, 256), isClientError("HTTP", 400, "BAD_RANGE"));
    await assert.rejects(c.blocks(3, 2), isClientError("HTTP", 400, "BAD_RANGE"));
    h.api.genesisText = '{"type": "quire-genesis",  "x": "exact bytes"}';
    assert.equal(await c.genesis(), h.api.genesisText);
  });

  test("HTTP errors that are not API outcomes throw, carrying the status and the server's code", async () => {
    const wrong = new RpcClient({ url: `${h.base}/nope` });
    await assert.rejects(wrong.status(), isClientError("HTTP", 404, "NOT_FOUND"));
    await assert.rejects(wrong.block(1), isClientError("HTTP", 404, "NOT_FOUND"));
    await assert.rejects(wrong.txStatus(new Uint8Array(32)), isClientError("HTTP", 404, "NOT_FOUND"));
    await assert.rejects(c.txStatus("xyz"), isClientError("HTTP", 400, "BAD_TX_ID"));
    await assert.rejects(c.kv(""), isClientError("HTTP", 400, "BAD_KEY"));
  });

  test("a node that does not answer: NETWORK after the timeout", async () => {
    h.api.hang = true;
    try {
      const slow = new RpcClient({ url: h.base, timeoutMs: 150 });
      await assert.rejects(slow.status(), (e: unknown) => isClientError("NETWORK")(e) && /no answer within 150 ms/.test((e as Error).message));
    } finally {
      h.api.hang = false;
    }
  });
});

test("RpcClient: connection refused is NETWORK", async () => {
  const h = await startHarness();
  const url = h.base;
  await h.server.stop();
  await assert.rejects(new RpcClient({ url }).status(), isClientError("NETWORK"));
});

test("RpcClient: bodies it cannot read are BAD_RESPONSE", async () => {
  const bodies: Record<string, string> = {
    "/v1/status": '{"chainId": 5}',
    "/v1/blocks/1": JSON.stringify({ height: 1, hash: "00", parent: "", view: 1, proposer: 0, timestampMs: 0, txRoot: "", parentStateRoot: "", parentResults: "", txCount: 0, qc: null }),
    "/v1/blocks/2/proof/0": "not json",
    "/v1/kv/a": '{"value": "0x00"}',
    "/v1/blocks?from=4&to=5": JSON.stringify({ blocks: [1, 2, 3] }),
    "/v1/blocks?from=6&to=7": JSON.stringify({ blocks: {} }),
    [`/v1/tx/${"00".repeat(32)}`]: JSON.stringify({ id: "00".repeat(32), status: "done" }),
  };
  const server = createServer((req, res) => {
    const body = bodies[req.url ?? ""];
    res.writeHead(body === undefined ? 404 : 200, { "content-type": "application/json" }).end(body ?? "{}");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const c = new RpcClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    const bad = isClientError("BAD_RESPONSE");
    await assert.rejects(c.status(), bad);
    await assert.rejects(c.block(1), bad);
    await assert.rejects(c.proof(2, 0), bad);
    await assert.rejects(c.kv("a"), bad);
    await assert.rejects(c.txStatus(new Uint8Array(32)), bad);
    await assert.rejects(c.blocks(4, 5), (e: unknown) => bad(e) && /3 blocks for heights 4\.\.5/.test((e as Error).message));
    await assert.rejects(c.blocks(6, 7), bad);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test("encodeKey: text keys decode with decodeURIComponent; any bytes survive the server's parseKey", (t) => {
  assert.equal(encodeKey("a b/é~-._*"), "a%20b%2F%C3%A9~-._%2A");
  for (const s of ["plain", "with space", "ünïcödé/😀", "%41+?#&="]) assert.equal(decodeURIComponent(encodeKey(s)), s);
  const rng = seededRng(t);
  for (let i = 0; i < 500; i++) {
    const key = rng.bytes(rng.range(1, 40));
    assert.deepEqual(parseKey(encodeKey(key)), key);
  }
});

test("a GET answered 429 RATE_LIMITED is sent again after Retry-After (rateLimitRetries times); a POST never is", async () => {
  const clock = new ManualScheduler();
  const h = await startHarness({ limits: { requestsPerSecPerSource: 1, requestBurstPerSource: 1 }, scheduler: clock });
  try {
    const c = new RpcClient({ url: h.base });
    assert.equal((await c.status()).committedHeight, 0); // the one token
    const waiting = c.status();
    await eventually(async () => (await h.count("quire_rpc_source_refused_total", { limit: "rate" })) === 1, "the first 429");
    clock.advance(1000); // refills one token before the client's 1 s wait ends
    assert.equal((await waiting).committedHeight, 0);
    await assert.rejects(new RpcClient({ url: h.base, rateLimitRetries: 0 }).status(), isClientError("HTTP", 429, "RATE_LIMITED"));
    await assert.rejects(c.submitTx(utf8("x")), isClientError("HTTP", 429, "RATE_LIMITED"));
    assert.equal(await h.count("quire_rpc_source_refused_total", { limit: "rate" }), 3);
  } finally {
    await h.server.stop();
  }
});

test("RpcClient: a body over its cap is BAD_RESPONSE and is not read past the cap (declared or streamed); status has a smaller cap", async () => {
  let streamedBytes = 0;
  const server = createServer((req, res) => {
    if (req.url === "/v1/blocks/1/body") {
      // No Content-Length: chunks until the client hangs up (a hostile node), at most 64 MiB.
      res.writeHead(200, { "content-type": "application/octet-stream" });
      const chunk = Buffer.alloc(64 * 1024);
      const more = (): void => {
        while (streamedBytes < 64 * 1024 * 1024 && !res.destroyed) {
          streamedBytes += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", more);
        }
        res.end();
      };
      res.on("close", () => res.destroy());
      more();
      return;
    }
    // Declared: a status document of 2 MiB.
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ pad: "x".repeat(2 * 1024 * 1024) }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const c = new RpcClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, maxBodyBytes: 256 * 1024 });
    await assert.rejects(c.blockBody(1), (e: unknown) => isClientError("BAD_RESPONSE")(e) && /over 262144 bytes/.test((e as Error).message));
    assert.ok(streamedBytes < 64 * 1024 * 1024, `the server wrote ${streamedBytes} bytes before the client stopped reading`);
    // status(): the 1 MiB default of maxStatusBytes, whatever maxBodyBytes is.
    const big = new RpcClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, maxBodyBytes: 64 * 1024 * 1024 });
    await assert.rejects(big.status(), (e: unknown) => isClientError("BAD_RESPONSE")(e) && /over 1048576 bytes/.test((e as Error).message));
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
