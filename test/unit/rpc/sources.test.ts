/**
 * Per-source limits (issue 11): the source key, the token bucket and table, and the server's per-source caps seen
 * from real connections. A second source is a connection from 127.0.0.2 (any 127/8 address works on Linux).
 *
 * Run against the server before these limits (main 5dc6a78, its resolveRpcLimits patched to ignore the new keys),
 * all six server tests failed: the declared 1 MiB was held instead of 16 KiB; the over-share upload was never refused
 * (nor counted); the trickled body got no answer (it was held until the 30 s request timeout); 12 requests were
 * twelve 200s and no 429; the rebuilt proofs were never charged; the third subscriber from one address got 101.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { SourceTable, sourceKey } from "../../../src/rpc/sources.js";
import { resolveRpcLimits } from "../../../src/rpc/server.js";
import { RpcConfigError } from "../../../src/rpc/errors.js";
import { ManualScheduler } from "../../../src/util/clock.js";
import { RawConn, hasResponse, parseResponse } from "../../support/rawHttp.js";
import { assertError, eventually, http, startHarness } from "../../support/rpcHttp.js";

const OCTETS = "application/octet-stream";
const OTHER = "127.0.0.2";
const bytes = (...b: number[]): ArrayBuffer => Uint8Array.from(b).buffer;
const errorCode = (text: string): string | undefined => (JSON.parse(parseResponse(text)!.body) as { error?: { code?: string } }).error?.code;

describe("sourceKey", () => {
  test("IPv4 is the address; IPv4-mapped IPv6 is its IPv4 address", () => {
    assert.equal(sourceKey(bytes(127, 0, 0, 66)), "127.0.0.66");
    assert.equal(sourceKey(bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3)), "10.1.2.3");
  });

  test("IPv6 addresses are grouped by /64: same prefix, same source; another prefix, another source", () => {
    const a = sourceKey(bytes(0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8));
    const b = sourceKey(bytes(0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 9, 9, 9, 9, 9, 9, 9, 9));
    const c = sourceKey(bytes(0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8));
    assert.equal(a, "2001:db8:1:2::/64");
    assert.equal(a, b);
    assert.notEqual(a, c);
    assert.equal(sourceKey(bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)), "0:0:0:0::/64"); // ::1
    assert.equal(sourceKey(new ArrayBuffer(0)), "unknown");
  });
});

describe("SourceTable", () => {
  test("token bucket: a burst, then the rate per tick; charges put it in debt, at most one burst deep", () => {
    const t = new SourceTable({ requestsPerSec: 2, burst: 4, maxSources: 10 });
    const e = t.get("a", 0);
    let granted = 0;
    while (t.take(e, 0)) granted++;
    assert.equal(granted, 4);
    assert.equal(t.retryAfterSec(e), 1);
    assert.equal(t.take(e, 1), true);
    assert.equal(t.take(e, 1), true);
    assert.equal(t.take(e, 1), false);
    t.charge(e, 100, 1);
    assert.equal(e.tokens, -4);
    assert.equal(t.retryAfterSec(e), 3); // (1 - -4) / 2, rounded up
    assert.equal(t.take(e, 3), false); // -4 + 4 = 0
    assert.equal(t.take(e, 4), true);
  });

  test("idle entries are forgotten once their bucket refilled; entries holding something are kept", () => {
    const t = new SourceTable({ requestsPerSec: 1, burst: 2, maxSources: 10 });
    const a = t.get("a", 0);
    t.take(a, 0);
    const b = t.get("b", 0);
    b.subscribers = 1;
    t.sweep(0);
    assert.equal(t.size, 2); // a has not refilled yet
    t.sweep(1);
    assert.equal(t.size, 1);
    assert.equal(t.get("b", 1), b);
  });

  test("a full table evicts the oldest entry that holds nothing, never one that holds a slot", () => {
    const t = new SourceTable({ requestsPerSec: 1, burst: 2, maxSources: 3 });
    const held = t.get("held", 0);
    held.uploads = 1;
    t.get("x", 0);
    t.get("y", 0);
    t.get("z", 0);
    assert.equal(t.size, 3);
    assert.equal(t.evicted, 1);
    assert.equal(t.get("held", 0), held);
  });
});

test("limits: shares default to at most their global cap; one set above it, or a table too small, is refused", () => {
  const l = resolveRpcLimits({ maxStreamSubscribers: 2, maxUploads: 4 });
  assert.equal(l.maxStreamSubscribersPerSource, 2);
  assert.equal(l.maxUploadsPerSource, 4);
  assert.throws(() => resolveRpcLimits({ maxUploads: 4, maxUploadsPerSource: 5 }), RpcConfigError);
  assert.throws(() => resolveRpcLimits({ requestsPerSecPerSource: 10, requestBurstPerSource: 5 }), RpcConfigError);
  assert.throws(() => resolveRpcLimits({ maxSources: 512 }), RpcConfigError);
  // Left at their defaults, the burst and the table follow raised limits.
  assert.equal(resolveRpcLimits({ requestsPerSecPerSource: 5000 }).requestBurstPerSource, 10_000);
  assert.equal(resolveRpcLimits({ maxUploads: 20_000, maxStreamSubscribers: 1000 }).maxSources, 42_000);
  assert.throws(() => resolveRpcLimits({ txsPerToken: 0 }), RpcConfigError);
});

describe("the server's per-source limits", () => {
  test("body bytes are claimed as they arrive: a 1 MiB declaration with 1 byte sent holds 16 KiB, not 1 MiB", async () => {
    const h = await startHarness({ limits: { maxBatchBodyBytes: 1024 * 1024 } });
    try {
      const c = await RawConn.open(h.server.port);
      c.write(`POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${1024 * 1024}\r\n\r\n{`);
      await eventually(() => h.server.bodyBytesInFlight > 0, "the upload to start");
      assert.equal(h.server.bodyBytesInFlight, 16 * 1024);
      assert.equal(h.server.uploadsInFlight, 1);
      c.destroy();
      await eventually(() => h.server.bodyBytesInFlight === 0 && h.server.uploadsInFlight === 0, "the aborted upload to give everything back");
    } finally {
      await h.server.stop();
    }
  });

  test("upload slots per source: past its share 429 TOO_MANY_UPLOADS (closed, Retry-After); another source still uploads", async () => {
    const h = await startHarness({ limits: { maxUploads: 3, maxUploadsPerSource: 2 } });
    try {
      const open = async (from?: string): Promise<RawConn> => {
        const c = await RawConn.open(h.server.port, "127.0.0.1", from);
        c.write(`POST /v1/tx HTTP/1.1\r\nHost: x\r\nContent-Type: ${OCTETS}\r\nContent-Length: 4\r\n\r\na`);
        return c;
      };
      const held = [await open(), await open()];
      await eventually(() => h.server.uploadsInFlight === 2, "two uploads in flight");
      const third = await open();
      await third.waitClose();
      const r = parseResponse(third.text)!;
      assert.equal(r.status, 429);
      assert.equal(errorCode(third.text), "TOO_MANY_UPLOADS");
      assert.equal(r.headers.get("retry-after"), "1");
      // Another source has room; once it holds the last global slot, the next one anywhere is 503 SERVER_BUSY.
      const other = await open(OTHER);
      await eventually(() => h.server.uploadsInFlight === 3, "the other source's upload in flight");
      const busy = await open(OTHER);
      await busy.waitClose();
      assert.equal(parseResponse(busy.text)!.status, 503);
      assert.equal(errorCode(busy.text), "SERVER_BUSY");
      other.write("bcd");
      await other.waitFor(hasResponse);
      assert.equal(parseResponse(other.text)!.status, 202);
      assert.equal(await h.count("quire_rpc_source_refused_total", { limit: "uploads" }), 1);
      for (const c of [...held, other]) c.destroy();
      await eventually(() => h.server.uploadsInFlight === 0 && h.server.bodyBytesInFlight === 0, "every slot back");
    } finally {
      await h.server.stop();
    }
  });

  test("the minimum upload rate: a trickled body is cut with 408 UPLOAD_TOO_SLOW after the grace; its bytes are released", async () => {
    const clock = new ManualScheduler();
    const h = await startHarness({ limits: { minUploadBytesPerSec: 100, uploadGraceSec: 2 }, scheduler: clock });
    try {
      const slow = await RawConn.open(h.server.port);
      slow.write(`POST /v1/tx HTTP/1.1\r\nHost: x\r\nContent-Type: ${OCTETS}\r\nContent-Length: 1000\r\n\r\n${"a".repeat(150)}`);
      await eventually(() => h.server.bodyBytesInFlight === 1000, "the upload to start");
      // 150 bytes: enough for ~1.5 s at 100 B/s. Ticks 1 and 2 are inside the grace (and the first second is not
      // counted: the request arrived somewhere within it); at tick 3, 150 >= 100 * 2 fails.
      clock.advance(2000);
      assert.equal(slow.closed, false);
      clock.advance(1000);
      await slow.waitClose();
      assert.equal(parseResponse(slow.text)!.status, 408);
      assert.equal(errorCode(slow.text), "UPLOAD_TOO_SLOW");
      assert.equal(h.server.bodyBytesInFlight, 0);
      assert.equal(h.server.uploadsInFlight, 0);
      assert.equal(await h.count("quire_rpc_rejected_bodies_total", { code: "UPLOAD_TOO_SLOW" }), 1);
      // A body that keeps up is not cut: 250 bytes by tick 3 is over 100 * 2.
      const steady = await RawConn.open(h.server.port);
      steady.write(`POST /v1/tx HTTP/1.1\r\nHost: x\r\nContent-Type: ${OCTETS}\r\nContent-Length: 300\r\n\r\n${"b".repeat(250)}`);
      await eventually(() => h.server.bodyBytesInFlight === 300, "the second upload to start");
      clock.advance(3000);
      steady.write("c".repeat(50));
      await steady.waitFor(hasResponse);
      assert.equal(parseResponse(steady.text)!.status, 202);
      steady.destroy();
    } finally {
      await h.server.stop();
    }
  });

  test("requests per second per source: past the burst 429 RATE_LIMITED with Retry-After; refilled on the next tick; others unaffected", async () => {
    const clock = new ManualScheduler();
    const h = await startHarness({ limits: { requestsPerSecPerSource: 5, requestBurstPerSource: 10 }, scheduler: clock });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await http(h.base, "GET", "/v1/status")).status);
      assert.deepEqual(statuses, [...Array<number>(10).fill(200), 429, 429]);
      const limited = await http(h.base, "GET", "/v1/status");
      assertError(limited, 429, "RATE_LIMITED");
      assert.equal(limited.headers.get("retry-after"), "1");
      // Another source has its own bucket.
      const other = await RawConn.open(h.server.port, "127.0.0.1", OTHER);
      other.write("GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n");
      await other.waitFor(hasResponse);
      assert.equal(parseResponse(other.text)!.status, 200);
      other.destroy();
      clock.advance(1000);
      const again: number[] = [];
      for (let i = 0; i < 6; i++) again.push((await http(h.base, "GET", "/v1/status")).status);
      assert.deepEqual(again, [200, 200, 200, 200, 200, 429]);
      assert.equal(await h.count("quire_rpc_source_refused_total", { limit: "rate" }), 4);
    } finally {
      await h.server.stop();
    }
  });

  test("block reads are charged by size: a block, a range, an uncached proof cost one more token per txsPerToken txs", async () => {
    const clock = new ManualScheduler();
    const h = await startHarness({ limits: { requestsPerSecPerSource: 10, requestBurstPerSource: 10, txsPerToken: 1 }, scheduler: clock });
    try {
      h.api.commit({ extra: [Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)] });
      const proof = h.api.proof.bind(h.api);
      let cached = false;
      h.api.proof = async (height, index) => {
        const r = await proof(height, index);
        return r.kind === "ok" ? { ...r, cached } : r;
      };
      // A 3-tx block: 1 + 3 tokens per uncached proof: 10 -> 6 -> 2 -> -2 (admitted with 2 left), then refused.
      const rebuilt: number[] = [];
      for (let i = 0; i < 4; i++) rebuilt.push((await http(h.base, "GET", "/v1/blocks/1/proof/0")).status);
      assert.deepEqual(rebuilt, [200, 200, 200, 429]);
      clock.advance(2000); // -2 + 20, capped at the burst: 10
      // The block itself and a range holding it cost the same 4; an empty block (genesis) costs 1.
      const reads: number[] = [];
      for (const path of ["/v1/blocks/1", "/v1/blocks?from=0&to=1", "/v1/blocks/0", "/v1/blocks/0", "/v1/blocks/0"]) reads.push((await http(h.base, "GET", path)).status);
      assert.deepEqual(reads, [200, 200, 200, 200, 429]); // 10 - 4 - 4 - 1 - 1 = 0
      clock.advance(2000);
      cached = true;
      const hits: number[] = [];
      for (let i = 0; i < 11; i++) hits.push((await http(h.base, "GET", "/v1/blocks/1/proof/1")).status);
      assert.deepEqual(hits, [...Array<number>(10).fill(200), 429]);
    } finally {
      await h.server.stop();
    }
  });

  test("the last eighth of the stream's subscriptions is kept for sources that hold none", async () => {
    // 16 in all, 8 per source, 2 kept back: two sources at their shares (8 + 6) cannot take the last two; new ones can.
    const h = await startHarness({ limits: { maxStreamSubscribers: 16, maxStreamSubscribersPerSource: 8 } });
    const sockets: WebSocket[] = [];
    const subscribe = (from: string): Promise<number> =>
      new Promise((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${h.server.port}/v1/stream`, { localAddress: from });
        sockets.push(ws);
        ws.on("open", () => resolve(101));
        ws.on("unexpected-response", (_req, res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        ws.on("error", () => {});
      });
    try {
      for (let i = 0; i < 8; i++) assert.equal(await subscribe("127.0.0.1"), 101);
      for (let i = 0; i < 6; i++) assert.equal(await subscribe("127.0.0.2"), 101);
      assert.equal(await subscribe("127.0.0.2"), 503, "a source holding some cannot take the reserve");
      assert.equal(await subscribe("127.0.0.3"), 101, "a new source gets in");
      assert.equal(await subscribe("127.0.0.4"), 101, "and another");
      assert.equal(await subscribe("127.0.0.5"), 503, "the global cap");
    } finally {
      for (const ws of sockets) ws.terminate();
      await h.server.stop();
    }
  });

  test("stream subscribers per source: past its share 429 TOO_MANY_STREAMS; another source subscribes; a slot frees on close", async () => {
    const h = await startHarness({ limits: { maxStreamSubscribers: 4, maxStreamSubscribersPerSource: 2 } });
    const sockets: WebSocket[] = [];
    const subscribe = (from?: string): Promise<number> =>
      new Promise((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${h.server.port}/v1/stream`, from === undefined ? {} : { localAddress: from });
        sockets.push(ws);
        ws.on("open", () => resolve(101));
        ws.on("unexpected-response", (_req, res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        ws.on("error", () => {});
      });
    try {
      assert.equal(await subscribe(), 101);
      assert.equal(await subscribe(), 101);
      assert.equal(await subscribe(), 429);
      assert.equal(await subscribe(OTHER), 101);
      assert.equal(await h.count("quire_rpc_source_refused_total", { limit: "subscribers" }), 1);
      sockets[0]!.close();
      await eventually(() => h.server.streamSubscribers === 2, "the closed subscription to free its slot");
      assert.equal(await subscribe(), 101);
    } finally {
      for (const ws of sockets) ws.terminate();
      await h.server.stop();
    }
  });
});
