import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { setImmediate as tick } from "node:timers/promises";
import WebSocket, { WebSocketServer } from "ws";
import type { AddressInfo } from "node:net";
import { eventually, http, startHarness } from "../../support/rpcHttp.js";
import type { Harness } from "../../support/rpcHttp.js";
import type { BlockSummary } from "../../../src/rpc/api.js";
import { MAX_STREAM_FRAME_BYTES, subscribeBlocks, subscribeHeads } from "../../../src/rpc/streamClient.js";

/** A `ws` subscriber that records every frame and how it closed. */
class Sub {
  readonly frames: string[] = [];
  closed: { code: number; reason: string } | undefined;
  readonly ws: WebSocket;
  private waiters: (() => void)[] = [];

  constructor(base: string) {
    this.ws = new WebSocket(`${base.replace(/^http/, "ws")}/v1/stream`);
    this.ws.on("message", (d, isBinary) => {
      assert.equal(isBinary, false, "frames are text");
      this.frames.push(String(d));
      this.wake();
    });
    this.ws.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    this.ws.on("error", () => {});
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
  }

  /** Resolves when `pred()` holds or the socket closed; the timeout only guards against a hang. */
  until(pred: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what} (${this.frames.length} frames)`)), timeoutMs);
      const check = (): void => {
        if (pred() || this.closed !== undefined) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      check();
    });
  }

  heights(): number[] {
    return this.frames.map((f) => (JSON.parse(f) as { height: number }).height);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

describe("/v1/stream", () => {
  test("each committed block arrives once, in order, as the same JSON document GET /v1/blocks/:height serves", async () => {
    const h = await startHarness();
    try {
      const s = new Sub(h.base);
      await s.opened();
      assert.equal(h.server.streamSubscribers, 1);
      for (let i = 0; i < 5; i++) h.api.commit({ extra: [Uint8Array.of(i, 1), Uint8Array.of(i, 2)] });
      await s.until(() => s.frames.length === 5, "5 frames");
      for (let height = 1; height <= 5; height++) {
        const doc = await http(h.base, "GET", `/v1/blocks/${height}`);
        assert.equal(s.frames[height - 1], doc.text);
      }
      assert.equal(await h.count("quire_rpc_stream_frames_total"), 5);
      assert.equal(await h.count("quire_rpc_requests_total", { route: "stream", status: "101" }), 1);
      s.ws.close();
      await s.until(() => false, "close");
      await eventually(() => h.server.streamSubscribers === 0, "the server to see the close");
    } finally {
      await h.server.stop();
    }
  });

  test("the subscriber limit: the next upgrade is 503 TOO_MANY_SUBSCRIBERS, and a slot frees on close", async () => {
    const h = await startHarness({ limits: { maxStreamSubscribers: 2 } });
    try {
      const a = new Sub(h.base);
      const b = new Sub(h.base);
      await Promise.all([a.opened(), b.opened()]);
      const c = new WebSocket(`${h.base.replace(/^http/, "ws")}/v1/stream`);
      const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        c.on("open", () => reject(new Error("third subscriber was accepted")));
        c.on("error", () => {});
        c.on("unexpected-response", (_req, res) => {
          let body = "";
          res.on("data", (d: Buffer) => (body += d.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
      });
      assert.equal(refused.status, 503);
      assert.equal((JSON.parse(refused.body) as { error: { code: string } }).error.code, "TOO_MANY_SUBSCRIBERS");
      assert.equal(await h.count("quire_rpc_stream_refused_total"), 1);
      a.ws.close();
      await eventually(() => h.server.streamSubscribers === 1, "a slot to free");
      const d = new Sub(h.base);
      await d.opened();
      assert.equal(h.server.streamSubscribers, 2);
    } finally {
      await h.server.stop();
    }
  });

  test("a slow subscriber is disconnected (1008) after a gap-free prefix; a fast one gets every block", async () => {
    const h = await startHarness({ limits: { maxStreamBufferedBytes: 64 * 1024 } });
    try {
      const fast = new Sub(h.base);
      const slow = new Sub(h.base);
      await Promise.all([fast.opened(), slow.opened()]);
      slow.ws.pause(); // stops reading: the kernel buffers fill, then uWS's
      // Big frames (a 16 KiB result bitmap is 32 KiB of hex) reach the limit after a few MB of kernel buffers.
      const template = h.api.blocks[0]!.info;
      const header = { ...template.header, parentResults: new Uint8Array(16 * 1024).fill(0xaa) };
      let published = 0;
      while (h.server.streamSubscribers === 2) {
        if (published >= 5000) assert.fail("the slow subscriber was never dropped");
        const info: BlockSummary = { ...template, header: { ...header, height: ++published } };
        h.api.emit(info);
        // Let the fast subscriber read between blocks (event-loop turns, not timing).
        await tick();
      }
      assert.equal(await h.count("quire_rpc_stream_dropped_total", { reason: "slow" }), 1);
      await fast.until(() => fast.frames.length === published, "the fast subscriber's frames");
      assert.deepEqual(fast.heights(), Array.from({ length: published }, (_, i) => i + 1));
      slow.ws.resume();
      await slow.until(() => false, "the slow subscriber's close");
      assert.deepEqual(slow.closed, { code: 1008, reason: "slow consumer" });
      const got = slow.heights();
      assert.ok(got.length < published, `slow got ${got.length} of ${published}`);
      assert.deepEqual(got, Array.from({ length: got.length }, (_, i) => i + 1), "a prefix without gaps");
    } finally {
      await h.server.stop();
    }
  });

  test("what subscribers send is ignored; a frame over 1 KiB closes the subscription", async () => {
    const h = await startHarness();
    try {
      const s = new Sub(h.base);
      await s.opened();
      s.ws.send("hello");
      h.api.commit();
      await s.until(() => s.frames.length === 1, "a frame after the chatter");
      s.ws.send("x".repeat(2048));
      await s.until(() => false, "the close");
      // uWS drops the TCP connection without a close frame, which the client reports as 1006.
      assert.equal(s.closed?.code, 1006);
      await eventually(() => h.server.streamSubscribers === 0, "the server to forget the subscriber");
    } finally {
      await h.server.stop();
    }
  });

  test("a block that cannot be rendered is counted and skipped for everyone; the stream goes on", async () => {
    const h = await startHarness();
    try {
      const s = new Sub(h.base);
      await s.opened();
      h.api.emit({ ...h.api.blocks[0]!.info, header: undefined as never });
      assert.equal(await h.count("quire_rpc_stream_errors_total"), 1);
      h.api.commit();
      await s.until(() => s.frames.length === 1, "the next block");
      assert.equal(s.heights()[0], 1);
    } finally {
      await h.server.stop();
    }
  });

  test("stop() closes every subscriber with 1001 and frees the listener", async () => {
    const h = await startHarness();
    const s = new Sub(h.base);
    await s.opened();
    await h.server.stop();
    await s.until(() => false, "the close");
    assert.equal(s.closed?.code, 1001);
    assert.equal(s.closed?.reason, "server stopping");
    assert.equal(h.api.listenerCount, 0);
    assert.equal(await h.count("quire_rpc_stream_dropped_total", { reason: "stopping" }), 1);
  });

  test("subscribeBlocks decodes frames back into the node's BlockSummary values", async () => {
    const h: Harness = await startHarness();
    try {
      const got: BlockSummary[] = [];
      let closed: number | undefined;
      let wake: () => void = () => {};
      const sub = subscribeBlocks(h.base, {
        onOpen: () => wake(),
        onBlock: (b) => {
          got.push(b);
          wake();
        },
        onClose: (code) => {
          closed = code;
          wake();
        },
      });
      const until = (pred: () => boolean): Promise<void> =>
        new Promise((resolve) => {
          const check = (): void => (pred() ? resolve() : void (wake = check));
          check();
        });
      await until(() => h.server.streamSubscribers === 1);
      const committed = [h.api.commit({ extra: [Uint8Array.of(1)] }), h.api.commit()];
      await until(() => got.length === 2);
      assert.deepEqual(got, committed);
      sub.close();
      await until(() => closed !== undefined);
      assert.equal(closed, 1000);
    } finally {
      await h.server.stop();
    }
  });
});

test("subscribeHeads: a frame over MAX_STREAM_FRAME_BYTES ends the subscription as a bad frame (ws's default would read 100 MiB)", async () => {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((r) => server.once("listening", () => r()));
  server.on("connection", (ws) => ws.send("x".repeat(MAX_STREAM_FRAME_BYTES + 1)));
  try {
    const closed = await new Promise<{ frames: number; badFrame: boolean; error: string }>((resolve) => {
      let error = "";
      subscribeHeads(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, () => {}, (frames, badFrame) => resolve({ frames, badFrame, error }), (e) => (error = e.message));
    });
    assert.deepEqual(closed, { frames: 0, badFrame: true, error: `malformed stream frame: over ${MAX_STREAM_FRAME_BYTES} bytes` });
  } finally {
    for (const c of server.clients) c.terminate();
    await new Promise((r) => server.close(r));
  }
});

test("subscribeHeads: a text frame that is not JSON ends the subscription as a bad frame too", async () => {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((r) => server.once("listening", () => r()));
  server.on("connection", (ws) => ws.send("garbage"));
  try {
    const closed = await new Promise<{ frames: number; badFrame: boolean }>((resolve) => {
      subscribeHeads(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, () => {}, (frames, badFrame) => resolve({ frames, badFrame }));
    });
    assert.deepEqual(closed, { frames: 0, badFrame: true });
  } finally {
    for (const c of server.clients) c.terminate();
    await new Promise((r) => server.close(r));
  }
});
