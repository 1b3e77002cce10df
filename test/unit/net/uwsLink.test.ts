/**
 * UwsTransport beyond the shared contract: the handshake against misbehaving raw peers, liveness, reconnects,
 * back-pressure bounds and priority under floods. Everything on 127.0.0.1, bounded, closed in `finally`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { TAG_BYTES } from "../../../src/net/channel.js";
import { FRAME_DATA, FRAME_HANDSHAKE, FrameDecoder, handshakeFrame } from "../../../src/net/framing.js";
import { closeCodeOf, Priority, SendStatus } from "../../../src/net/transport.js";
import type { PeerId } from "../../../src/net/transport.js";
import { UwsTransport } from "../../../src/net/uwsTransport.js";
import type { UwsTransportOptions } from "../../../src/net/uwsTransport.js";
import { decodeHandshake, encodeHandshake } from "../../../src/net/handshakeCodec.js";
import type { VerifyFn } from "../../../src/net/handshake.js";
import { blsLinkIdentity, blsLinkVerify } from "../../../src/net/blsLink.js";
import { loadBlsBackend } from "../../../src/crypto/bls/backend.js";
import { keyGen } from "../../../src/crypto/bls/keygen.js";
import { MainThreadBlsVerifier } from "../../../src/crypto/bls/mainThread.js";
import { utf8 } from "../../../src/util/bytes.js";
import { seededRng } from "../../support/seed.js";
import { blstVerifyFn, CHAIN_ID, CountingScheduler, eventually, rawContext, RawServer, RawSocket, Recorder, testIdentity, uwsCluster } from "./support.js";

const N = 4;
const validators = Array.from({ length: N }, (_, i) => ({ publicKey: testIdentity(i).publicKey }));

interface Node {
  t: UwsTransport;
  r: Recorder;
  sched: CountingScheduler;
}

async function node(self: PeerId, extra: Partial<UwsTransportOptions> = {}, verify: VerifyFn = blstVerifyFn): Promise<Node> {
  const sched = new CountingScheduler();
  const t = new UwsTransport(
    // Every raw peer here connects from 127.0.0.1 and many fail on purpose: no source back-off (admission.test.ts has its own).
    { self, chainId: CHAIN_ID, validators, listen: { host: "127.0.0.1", port: 0 }, backoff: { initialMs: 10, maxMs: 100, factor: 2 }, admission: { failuresBeforeBackoff: Number.MAX_SAFE_INTEGER }, ...extra },
    { identity: testIdentity(self), verify, scheduler: sched },
  );
  const r = new Recorder();
  t.setHandler(r);
  await t.start();
  return { t, r, sched };
}

async function stopAll(...nodes: (Node | undefined)[]): Promise<void> {
  for (const n of nodes) if (n !== undefined) await n.t.stop();
  for (const n of nodes) if (n !== undefined) assert.equal(n.sched.live, 0, "timers left after stop()");
}

const refused = (n: Node, code: string) => n.t.stats().refused[code] ?? 0;

test("refusals of raw peers are counted and sent as the close code: unknown key, wrong chain, direction, bad signature", async () => {
  const n1 = await node(1);
  try {
    const port = n1.t.listenPort;
    const cases: [string, ReturnType<typeof rawContext>][] = [
      ["UNKNOWN_KEY", rawContext(0, N, { identity: testIdentity(9) })],
      ["WRONG_DIRECTION", rawContext(2, N)], // 2 > 1: validator 1 dials 2, never the reverse
      ["BAD_SIGNATURE", rawContext(0, N, { identity: { publicKey: testIdentity(0).publicKey, sign: (m) => testIdentity(3).sign(m) } })],
    ];
    for (const [code, ctx] of cases) {
      const raw = await RawSocket.connect(port);
      // The raw side may or may not finish its half (a bad signature is only caught by the listener); either way
      // the listener must refuse and close.
      await raw.handshake(ctx, "dialer", 1).catch(() => undefined);
      const closed = await raw.closed;
      assert.equal(closed.code, closeCodeOf(code as "UNKNOWN_KEY"), code);
      assert.equal(closed.reason, code);
      assert.equal(refused(n1, code), 1, code);
    }
    // A dialer on another chain: an honest one refuses the challenge itself (below); one that sends a proof for its
    // chain anyway is refused before the listener verifies anything.
    const raw = await RawSocket.connect(port);
    const challenge = decodeHandshake((await raw.next()).subarray(1))!;
    const otherChain = { ...challenge, chainId: utf8("another-chain"), publicKey: testIdentity(0).publicKey, peerNonce: challenge.nonce, signature: new Uint8Array(96) };
    raw.send(handshakeFrame(encodeHandshake(otherChain)));
    assert.equal((await raw.closed).reason, "WRONG_CHAIN");
    assert.equal(refused(n1, "WRONG_CHAIN"), 1);
    assert.equal(n1.r.ups.length, 0);
  } finally {
    await stopAll(n1);
  }
});

test("a replayed challenge is refused; frames before or outside the handshake are refused", async () => {
  const n1 = await node(1, { handshakeTimeoutMs: 150 });
  try {
    const port = n1.t.listenPort;
    // A genuine validator 0 connects, and its challenge is recorded.
    const good = await RawSocket.connect(port);
    const ctx0 = rawContext(0, N);
    let recorded: Uint8Array | undefined;
    const send = good.send.bind(good);
    good.send = (f) => {
      recorded ??= f;
      send(f);
    };
    assert.equal(await good.handshake(ctx0, "dialer", 1), 1);
    await eventually(() => n1.t.isConnected(0), "validator 0 up");
    // Replaying that challenge on a new connection:
    const replay = await RawSocket.connect(port);
    replay.send(recorded!);
    assert.equal((await replay.closed).reason, "REPLAYED_NONCE");
    // A data frame before any handshake:
    const early = await RawSocket.connect(port);
    early.send(new Uint8Array([FRAME_DATA, 0, 0, 0, 0, 0]));
    assert.equal((await early.closed).reason, "MESSAGE_BEFORE_AUTH");
    // Silence: the handshake deadline.
    const silent = await RawSocket.connect(port);
    assert.equal((await silent.closed).reason, "HANDSHAKE_TIMEOUT");
    // A text message is not a frame.
    const text = await RawSocket.connect(port);
    text.ws.send("hello");
    assert.equal((await text.closed).reason, "MALFORMED_FRAME");
    // After authentication: a malformed data frame closes the link (and the peer goes down)…
    good.send(new Uint8Array([FRAME_DATA, 9, 0, 0, 0, 0]));
    assert.equal((await good.closed).reason, "MALFORMED_FRAME");
    await eventually(() => n1.r.downs.length === 1, "peer down");
    // …and so does a handshake frame once the handshake is over.
    const again = await RawSocket.connect(port);
    await again.handshake(rawContext(0, N), "dialer", 1);
    again.send(handshakeFrame(encodeHandshake({ version: 1, chainId: CHAIN_ID, publicKey: validators[0]!.publicKey, nonce: new Uint8Array(32), ephemeralKey: new Uint8Array(32) })));
    assert.equal((await again.closed).reason, "MALFORMED_FRAME");
    for (const [code, n] of [["REPLAYED_NONCE", 1], ["MESSAGE_BEFORE_AUTH", 1], ["HANDSHAKE_TIMEOUT", 1], ["MALFORMED_FRAME", 3]] as const) assert.equal(refused(n1, code), n, code);
    assert.equal(n1.r.ups.length, 2);
  } finally {
    await stopAll(n1);
  }
});

test("two validators on different chains never connect; the dialer keeps retrying with back-off", async () => {
  const n1 = await node(1);
  const n0 = await node(0, { chainId: utf8("other-chain") });
  try {
    n0.t.setPeerAddress(1, { host: "127.0.0.1", port: n1.t.listenPort });
    // The dialer refuses the listener's challenge (before signing anything) and says so in its close code.
    await eventually(() => refused(n0, "WRONG_CHAIN") >= 3 && refused(n1, "peer:WRONG_CHAIN") >= 3, "three refused attempts, seen on both sides");
    assert.equal(n0.r.ups.length + n1.r.ups.length, 0);
  } finally {
    await stopAll(n0, n1);
  }
});

test("after the listener restarts, the dialer reconnects with back-off and delivers what was queued meanwhile", async () => {
  const n1 = await node(1);
  const port = n1.t.listenPort;
  const n0 = await node(0);
  let n1b: Node | undefined;
  try {
    n0.t.setPeerAddress(1, { host: "127.0.0.1", port });
    await eventually(() => n0.t.isConnected(1), "first connection");
    await n1.t.stop();
    await eventually(() => n0.r.downs.length === 1, "link down");
    for (let i = 0; i < 5; i++) assert.equal(n0.t.send(1, Priority.Consensus, new Uint8Array([i])), SendStatus.Queued);
    assert.equal(n0.t.queuedBytes(1), 5);
    n1b = await node(1, { listen: { host: "127.0.0.1", port } });
    await eventually(() => n1b!.r.messages.length === 5, "queued messages after reconnect");
    assert.deepEqual(n1b.r.messages.map((m) => m.payload[0]), [0, 1, 2, 3, 4]);
    assert.deepEqual(n0.r.ups, [1, 1]);
    assert.equal(n0.t.stats().peers[0]!.connects, 2);
  } finally {
    await stopAll(n0, n1, n1b);
  }
});

test("a silent peer is detected by the ping/idle timer on both sides of the link", async () => {
  const timings = { pingIntervalMs: 30, idleTimeoutMs: 150 };
  // Dialer side: a raw server that completes the handshake as validator 1, then never answers pings.
  const server = await RawServer.start({ autoPong: false });
  const n0 = await node(0, timings);
  // Listener side: a raw client that authenticates as validator 0, then stops reading.
  const n1 = await node(1, timings);
  try {
    n0.t.setPeerAddress(1, { host: "127.0.0.1", port: server.port });
    const first = await server.connection(0);
    await first.handshake(rawContext(1, N), "listener");
    await eventually(() => n0.r.ups.length === 1, "dialer up");
    const closed = await first.closed;
    assert.equal(closed.reason, "IDLE_TIMEOUT");
    await eventually(() => n0.r.downs.length === 1, "dialer notices");
    assert.deepEqual(n0.r.downs, [{ peer: 1, reason: "IDLE_TIMEOUT" }]);
    await server.connection(1); // and it dials again
    const raw = await RawSocket.connect(n1.t.listenPort);
    await raw.handshake(rawContext(0, N), "dialer", 1);
    raw.ws.pause();
    await eventually(() => n1.r.downs.length === 1, "listener notices");
    assert.equal(n1.r.downs[0]!.reason, "IDLE_TIMEOUT");
    // (n0's redial may idle out too: the raw server never answers it.)
    assert.ok(refused(n0, "IDLE_TIMEOUT") >= 1);
    assert.equal(refused(n1, "IDLE_TIMEOUT"), 1);
    raw.close();
  } finally {
    await stopAll(n0, n1);
    await server.close();
  }
});

test("a newer authenticated connection from the same validator replaces the old one", async () => {
  const n1 = await node(1);
  try {
    const a = await RawSocket.connect(n1.t.listenPort);
    await a.handshake(rawContext(0, N), "dialer", 1);
    await eventually(() => n1.r.ups.length === 1, "first up");
    const b = await RawSocket.connect(n1.t.listenPort);
    await b.handshake(rawContext(0, N), "dialer", 1);
    assert.equal((await a.closed).reason, "DUPLICATE_CONNECTION");
    await eventually(() => n1.r.ups.length === 2, "second up");
    assert.deepEqual(n1.r.downs, [{ peer: 0, reason: "replaced" }]);
    n1.t.send(0, Priority.Consensus, new Uint8Array([42]));
    assert.deepEqual([...(await b.messages(1))[0]!.payload], [42]);
    b.close();
  } finally {
    await stopAll(n1);
  }
});

test("limits: upgrades beyond maxPendingHandshakes get HTTP 503; an oversized frame closes the link undelivered", async () => {
  const n1 = await node(1, { maxPendingHandshakes: 2, frameBytes: 4096, maxMessageBytes: 4096 });
  try {
    const port = n1.t.listenPort;
    const idle = [await RawSocket.connect(port), await RawSocket.connect(port)];
    await assert.rejects(RawSocket.connect(port));
    assert.equal(refused(n1, "PENDING_HANDSHAKE_LIMIT"), 1);
    for (const s of idle) s.close();
    await eventually(() => n1.t.stats().refused["PENDING_HANDSHAKE_LIMIT"] === 1, "counted");
    // Once those are gone, a validator gets in, and a frame above the limit (4096 + headers) ends its link.
    // (The server learns of those closes asynchronously; retry the upgrade a bounded number of times.)
    let raw: RawSocket | undefined;
    for (let i = 0; i < 50 && raw === undefined; i++) {
      try {
        raw = await RawSocket.connect(port);
      } catch {
        await new Promise((r) => setImmediate(r));
      }
    }
    await raw!.handshake(rawContext(0, N), "dialer", 1);
    const big = new Uint8Array(20_000);
    big[0] = FRAME_DATA;
    raw!.send(big);
    const closed = await raw!.closed;
    assert.notEqual(closed.code, 1000);
    await eventually(() => n1.r.downs.length === 1, "down");
    assert.equal(n1.r.messages.length, 0);
  } finally {
    await stopAll(n1);
  }
});

test("stop() closes pending handshakes and cancels dial back-off timers", async () => {
  const n0 = await node(0, { backoff: { initialMs: 5, maxMs: 20, factor: 2 } });
  try {
    // Nothing listens at port 1: connection refused, again and again (timers keep being armed).
    n0.t.setPeerAddress(1, { host: "127.0.0.1", port: 1 });
    const raw = await RawSocket.connect(n0.t.listenPort); // a pending inbound handshake
    await eventually(() => n0.sched.live >= 2, "timers armed");
    await n0.t.stop();
    assert.equal((await raw.closed).reason, "SHUTDOWN");
    assert.equal(n0.sched.live, 0);
  } finally {
    await stopAll(n0);
  }
});

/** 1 KiB gossip payload carrying its sequence number. */
function gossip(i: number): Uint8Array {
  const p = new Uint8Array(1024);
  new DataView(p.buffer).setUint32(0, i, true);
  return p;
}
const seqOf = (p: Uint8Array) => new DataView(p.buffer, p.byteOffset).getUint32(0, true);

for (const side of ["listener (uWS) sending", "dialer (ws client) sending"] as const) {
  test(`a peer that stops reading: the ${side} stays within its queue and socket bounds; nothing is lost silently`, async (tc) => {
    const frameBytes = 64 * 1024;
    const hw = 256 * 1024;
    const gossipBytes = 512 * 1024;
    const opts: Partial<UwsTransportOptions> = {
      frameBytes,
      socketHighWaterBytes: hw,
      queueLimits: [
        { maxMessages: 50, maxBytes: 1 << 20 },
        { maxMessages: 1000, maxBytes: 1 << 20 },
        { maxMessages: 1 << 20, maxBytes: gossipBytes },
      ],
    };
    let n: Node | undefined;
    let server: RawServer | undefined;
    let raw: RawSocket;
    let peer: PeerId;
    try {
      if (side === "listener (uWS) sending") {
        n = await node(1, opts);
        raw = await RawSocket.connect(n.t.listenPort);
        await raw.handshake(rawContext(0, N), "dialer", 1);
        peer = 0;
      } else {
        server = await RawServer.start();
        n = await node(0, opts);
        n.t.setPeerAddress(1, { host: "127.0.0.1", port: server.port });
        raw = await server.connection(0);
        await raw.handshake(rawContext(1, N), "listener");
        peer = 1;
      }
      const t = n.t;
      await eventually(() => t.isConnected(peer), "link up");
      raw.ws.pause(); // stops reading: the kernel buffers fill, then the socket's, then the transport's queue
      const stats = () => t.stats().peers.find((p) => p.peer === peer)!;
      let seq = 0;
      let maxQueued = 0;
      let maxSocket = 0;
      // Offer 1 KiB messages in rounds of 256 (half the gossip queue, so a round alone never overflows it) until the
      // queue has been dropping for a while — kernel buffers absorb the first MBs — checking the bounds all along.
      // Bounded: at most 256 MiB offered.
      let extra = 0;
      while (extra < 4096 && seq < 256 * 1024) {
        for (let i = 0; i < 256; i++) t.send(peer, Priority.Gossip, gossip(seq++));
        await new Promise<void>((r) => setImmediate(r));
        const s = stats();
        maxQueued = Math.max(maxQueued, t.queuedBytes(peer));
        maxSocket = Math.max(maxSocket, s.socketBufferedBytes);
        if (s.classes[Priority.Gossip]!.droppedOldest > 0) extra += 256;
      }
      tc.diagnostic(`offered ${seq} x 1 KiB; max queued ${maxQueued} B (bound ${gossipBytes}), max socket buffer ${maxSocket} B (bound ${hw + frameBytes}), dropped ${stats().classes[Priority.Gossip]!.droppedOldest}`);
      assert.ok(extra >= 4096, "back-pressure never reached the transport queue");
      assert.ok(maxSocket >= hw / 2, "the socket's own buffer never filled: the peer did not stop reading?");
      assert.ok(maxQueued > gossipBytes / 2, "the queue never filled");
      assert.ok(maxQueued <= gossipBytes, `queue grew to ${maxQueued}`);
      assert.ok(maxSocket <= hw + frameBytes, `socket buffer grew to ${maxSocket}`);
      // Consensus is refused (not dropped) once its queue is full, counted, and the peer is flagged once.
      const results = Array.from({ length: 60 }, (_, i) => t.send(peer, Priority.Consensus, new Uint8Array([i])));
      assert.equal(results.filter((r) => r === SendStatus.Rejected).length, 10);
      assert.deepEqual(results.slice(50), new Array(10).fill(SendStatus.Rejected));
      assert.equal(stats().classes[Priority.Consensus]!.rejected, 10);
      assert.equal(stats().flagged, true);
      assert.deepEqual(n.r.flagged, [{ peer, code: "CONSENSUS_QUEUE_FULL" }]);
      // The peer reads again: the queue drains, the flag clears, and every gossip message is either delivered
      // (in order, newest last) or counted as dropped.
      raw.ws.resume();
      await eventually(() => t.queuedBytes(peer) === 0 && stats().socketBufferedBytes === 0, "drained", 30_000);
      assert.equal(stats().flagged, false);
      t.send(peer, Priority.Consensus, new Uint8Array([0xee])); // end marker
      const dec = new FrameDecoder(1 << 20);
      const got: { priority: Priority; payload: Uint8Array }[] = [];
      while (!got.some((m) => m.priority === Priority.Consensus && m.payload[0] === 0xee)) {
        const f = await raw.next();
        assert.ok(raw.opener!.open(f), "channel tag verifies");
        assert.equal(dec.decode(f.subarray(0, f.length - TAG_BYTES), (priority, payload) => got.push({ priority, payload })), undefined);
      }
      const consensus = got.filter((m) => m.priority === Priority.Consensus).map((m) => m.payload[0]);
      assert.deepEqual(consensus, [...Array.from({ length: 50 }, (_, i) => i), 0xee]);
      const seqs = got.filter((m) => m.priority === Priority.Gossip).map((m) => seqOf(m.payload));
      assert.ok(seqs.every((x, i) => i === 0 || x > seqs[i - 1]!), "gossip out of order");
      assert.equal(seqs[seqs.length - 1], seq - 1, "the newest gossip must survive drop-oldest");
      assert.equal(seqs.length + stats().classes[Priority.Gossip]!.droppedOldest, seq, "gossip lost without being counted");
      raw.close();
    } finally {
      await stopAll(n);
      await server?.close();
    }
  });
}

test("a flooding peer does not delay consensus to the others: the vote overtakes every relayed message still queued", async (tc) => {
  // 1 floods 0 with gossip; 0 relays each message to 2 ten times over (filling its queue to 2); meanwhile 0 sends
  // a vote to 2. Assertion on order, not time: at 2, the vote is preceded only by relayed messages that had already
  // been handed to the socket when the vote was sent, and it overtook a non-empty backlog.
  const c = await uwsCluster(3, { socketHighWaterBytes: 256 * 1024, frameBytes: 64 * 1024 });
  // Flood messages still in flight when the test closes the cluster must not be relayed by a stopped transport.
  let closing = false;
  try {
    const [t0, t1] = c.transports as [UwsTransport, UwsTransport, UwsTransport];
    await eventually(() => c.transports.every((t) => t.peers.every((p) => t.isConnected(p))), "links");
    let inbound = 0;
    let relaySeq = 0;
    let atVote: { sent: number; queued: number } | undefined;
    const base = c.recorders[0]!;
    t0.setHandler({
      ...base,
      onMessage(from, payload, priority) {
        base.onMessage(from, payload, priority);
        if (closing || from !== 1 || priority !== Priority.Gossip) return;
        for (let k = 0; k < 10; k++) {
          const p = new Uint8Array(4096);
          new DataView(p.buffer).setUint32(0, relaySeq++, true);
          t0.send(2, Priority.Gossip, p);
        }
        if (++inbound === 300) {
          const g = t0.stats().peers.find((p) => p.peer === 2)!.classes[Priority.Gossip]!;
          atVote = { sent: g.sentMessages, queued: g.queuedMessages };
          t0.send(2, Priority.Consensus, new Uint8Array([0x56]));
        }
      },
    });
    for (let i = 0; i < 1000; i++) t1.send(0, Priority.Gossip, new Uint8Array(1024));
    const at2 = c.recorders[2]!;
    await eventually(() => at2.messages.some((m) => m.priority === Priority.Consensus), "vote at 2");
    const idx = at2.messages.findIndex((m) => m.priority === Priority.Consensus);
    const relayedBefore = at2.messages.slice(0, idx).filter((m) => m.from === 0 && m.priority === Priority.Gossip).length;
    assert.ok(atVote !== undefined);
    assert.ok(atVote.queued > 0, "no backlog: the test did not exercise priority");
    tc.diagnostic(`at the vote: ${atVote.sent} relayed messages sent, ${atVote.queued} queued; ${relayedBefore} arrived before it`);
    assert.ok(relayedBefore <= atVote.sent, `${relayedBefore} relayed messages arrived before the vote, only ${atVote.sent} were sent before it`);
  } finally {
    closing = true;
    await c.close();
  }
});

test("a listener sends nothing before the dialer's READY, so a backlog far over the pre-auth bound arrives whole; a listener that sends early is bounded", async () => {
  // Validator 0 (the dialer) verifies handshakes slowly (an async verifier behind a gate the test opens). The
  // listener finishes first (it verified the dialer's proof, then sent its own) and has 6 MiB queued for the dialer,
  // three times the dialer's pre-authentication bound: it must hold it until the dialer's READY (review finding: it
  // flushed at once, the dialer refused PRE_AUTH_OVERFLOW and the dequeued messages were lost).
  let open: () => void = () => {};
  let gate = new Promise<void>((r) => (open = r));
  const slowVerify: VerifyFn = async (pk, m, s) => {
    await gate;
    return blstVerifyFn(pk, m, s);
  };
  const n0 = await node(0, { frameBytes: 256 * 1024, maxMessageBytes: 256 * 1024 }, slowVerify); // pre-auth bound: 2 MiB
  try {
    const n1 = await node(1);
    try {
      n1.r.onPeerUp = (p: PeerId) => {
        n1.r.ups.push(p);
        for (let i = 0; i < 100; i++) n1.t.send(0, Priority.Consensus, new Uint8Array([i]));
        for (let i = 0; i < 30; i++) n1.t.send(0, Priority.Sync, new Uint8Array(200 * 1024).fill(i));
      };
      n0.t.setPeerAddress(1, { host: "127.0.0.1", port: n1.t.listenPort });
      await eventually(() => n1.r.ups.length === 1, "listener up");
      await new Promise((r) => setTimeout(r, 100));
      assert.ok(n1.t.queuedBytes(0) >= 30 * 200 * 1024, "the listener holds its backlog until READY");
      assert.equal(n0.r.messages.length, 0);
      open();
      await eventually(() => n0.r.messages.length === 130, "every queued message delivered");
      assert.deepEqual(n0.r.messages.filter((m) => m.priority === Priority.Consensus).map((m) => m.payload[0]), Array.from({ length: 100 }, (_, i) => i));
      assert.deepEqual(n0.r.messages.filter((m) => m.priority === Priority.Sync).map((m) => m.payload[0]), Array.from({ length: 30 }, (_, i) => i));
      assert.equal(refused(n0, "PRE_AUTH_OVERFLOW"), 0);
    } finally {
      await stopAll(n1);
    }
    // A raw listener posing as validator 1 that floods past the pre-authentication bound (2 MiB) while its proof is
    // still being checked.
    gate = new Promise<void>((r) => (open = r));
    const server = await RawServer.start();
    try {
      n0.t.setPeerAddress(1, { host: "127.0.0.1", port: server.port });
      const raw = await server.connection(0);
      await raw.handshake(rawContext(1, N), "listener");
      const big = new Uint8Array(200 * 1024);
      big[0] = FRAME_DATA;
      for (let i = 0; i < 25; i++) raw.sendData(big);
      assert.equal((await raw.closed).reason, "PRE_AUTH_OVERFLOW");
      open();
      assert.equal(refused(n0, "PRE_AUTH_OVERFLOW"), 1);
    } finally {
      await server.close();
    }
  } finally {
    open();
    await stopAll(n0);
  }
});

test("after the handshake every data frame needs the channel tag: forged, tampered, replayed, reordered and dropped frames are refused (BAD_FRAME_TAG)", async () => {
  const n1 = await node(1);
  try {
    const port = n1.t.listenPort;
    // A data frame with one consensus record carrying `byte`.
    const frame = (byte: number) => Uint8Array.of(FRAME_DATA, 1, 0, 0, 0, Priority.Consensus, byte);
    const connect = async () => {
      const raw = await RawSocket.connect(port);
      assert.equal(await raw.handshake(rawContext(0, N), "dialer", 1), 1);
      return raw;
    };
    // Genuine frames are delivered.
    const good = await connect();
    good.sendData(frame(1));
    good.sendData(frame(2));
    await eventually(() => n1.r.messages.length === 2, "two messages");
    // What a relay can do with the byte stream, each on its own connection (the newest replaces the previous one).
    const seal = (raw: RawSocket, byte: number) => {
      const f = new Uint8Array(frame(byte).length + TAG_BYTES);
      f.set(frame(byte));
      raw.sealer!.seal(f);
      return f;
    };
    const attacks: [string, (raw: RawSocket) => void][] = [
      ["forged (no valid tag)", (raw) => raw.send(new Uint8Array([...frame(66), ...new Uint8Array(TAG_BYTES)]))],
      ["untagged, as before the channel", (raw) => raw.send(frame(66))],
      ["tampered", (raw) => {
        const f = seal(raw, 3);
        f[6] = 66;
        raw.send(f);
      }],
      ["replayed", (raw) => {
        const f = seal(raw, 3);
        raw.send(f);
        raw.send(f);
      }],
      ["reordered", (raw) => {
        const a = seal(raw, 3);
        const b = seal(raw, 66);
        raw.send(b);
        raw.send(a);
      }],
      ["dropped", (raw) => {
        seal(raw, 66);
        raw.send(seal(raw, 66));
      }],
    ];
    for (const [what, attack] of attacks) {
      const raw = await connect();
      attack(raw);
      const closed = await raw.closed;
      assert.equal(closed.reason, what.startsWith("untagged") ? "MALFORMED_FRAME" : "BAD_FRAME_TAG", what);
    }
    assert.equal(refused(n1, "BAD_FRAME_TAG"), attacks.length - 1);
    // The genuine frames (1, 2, and the 3 that preceded a replay) were delivered; no forged one.
    assert.ok(n1.r.messages.every((m) => m.payload[0] !== 66), "no forged payload delivered");
  } finally {
    await stopAll(n1);
  }
});

test("a dialer reads nothing after a bad tag: a relay that replaces one frame cannot get the following ones through", async () => {
  // The dialer's side is the `ws` client, which keeps delivering frames while its close handshake runs: frames after
  // the refused one must not reach the handler (review finding: they did, so a relay could censor chosen frames).
  const n0 = await node(0);
  const server = await RawServer.start();
  try {
    n0.t.setPeerAddress(1, { host: "127.0.0.1", port: server.port });
    const raw = await server.connection(0);
    await raw.handshake(rawContext(1, N), "listener");
    await eventually(() => n0.r.ups.length === 1, "dialer up");
    const frame = (byte: number) => Uint8Array.of(FRAME_DATA, 1, 0, 0, 0, Priority.Consensus, byte);
    raw.sendData(frame(1));
    await eventually(() => n0.r.messages.length === 1, "the genuine first frame");
    // The relay drops frame 2 in favour of junk of the same shape, then passes frames 3 and 4 on unchanged.
    const junk = new Uint8Array(frame(2).length + TAG_BYTES);
    junk.set(frame(2));
    raw.sealer!.seal(new Uint8Array(junk.length)); // frame 2's counter is spent, as the real frame would have spent it
    raw.send(junk);
    raw.sendData(frame(3));
    raw.sendData(frame(4));
    await eventually(() => refused(n0, "BAD_FRAME_TAG") === 1, "the junk refused");
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(n0.r.messages.map((m) => m.payload[0]), [1], "nothing after the refused frame is delivered");
  } finally {
    await server.close();
    await stopAll(n0);
  }
});

test("a dialer that does not present its proof within proofTimeoutMs (1 s) of accept is refused with PROOF_TIMEOUT", async () => {
  const n1 = await node(1, { handshakeTimeoutMs: 30_000 });
  try {
    const silent = await RawSocket.connect(n1.t.listenPort);
    // It gets the listener's challenge (unsigned), says nothing, and is refused long before the handshake deadline.
    assert.equal((await silent.next())[0], FRAME_HANDSHAKE);
    assert.equal((await silent.closed).reason, "PROOF_TIMEOUT");
    assert.equal(refused(n1, "PROOF_TIMEOUT"), 1);
    assert.equal(refused(n1, "HANDSHAKE_TIMEOUT"), 0);
    // An honest dialer is well within it.
    const raw = await RawSocket.connect(n1.t.listenPort);
    assert.equal(await raw.handshake(rawContext(0, N), "dialer", 1), 1);
    await eventually(() => n1.t.isConnected(0), "validator 0 up");
  } finally {
    await stopAll(n1);
  }
});

test("the BLS module's keys and verifier plug into the handshake (blsLinkIdentity / blsLinkVerify)", async () => {
  const backend = await loadBlsBackend("blst");
  const verifier = await MainThreadBlsVerifier.create({ backend: "blst" });
  const keys = [0, 1].map((i) => {
    const secretKey = backend.secretKeyFromBytes(keyGen(new Uint8Array(32).fill(0x20 + i)));
    return { secretKey, publicKey: backend.publicKeyOf(secretKey) };
  });
  const ids = keys.map((k) => blsLinkIdentity(backend, k));
  const vs = ids.map((id) => ({ publicKey: id.publicKey }));
  const ts = ids.map(
    (identity, self) => new UwsTransport({ self, chainId: CHAIN_ID, validators: vs, listen: { host: "127.0.0.1", port: 0 } }, { identity, verify: blsLinkVerify(verifier) }),
  );
  try {
    for (const t of ts) await t.start();
    ts[0]!.setPeerAddress(1, { host: "127.0.0.1", port: ts[1]!.listenPort });
    await eventually(() => ts[0]!.isConnected(1) && ts[1]!.isConnected(0), "authenticated with the BLS module");
    // And it refuses what blst refuses: a proof signed by another key.
    const raw = await RawSocket.connect(ts[1]!.listenPort);
    const indexOf = (pk: Uint8Array) => {
      const i = ids.findIndex((id) => Buffer.from(id.publicKey).equals(pk));
      return i < 0 ? undefined : i;
    };
    const forged = rawContext(0, N, { identity: { publicKey: ids[0]!.publicKey, sign: (m) => testIdentity(5).sign(m) }, indexOf });
    await raw.handshake(forged, "dialer", 1).catch(() => undefined);
    assert.equal((await raw.closed).reason, "BAD_SIGNATURE");
  } finally {
    for (const t of ts) await t.stop();
    await verifier.close();
  }
});

test("64 KiB messages both ways arrive whole and in order through reused frame memory (ws client's pool, uWS server's scratch)", async () => {
  // Frames are built in memory the sockets reuse once written; a buffer reused too early would show here as a message
  // with another message's bytes. Bursts of 96 messages (≈ 6 MiB, 32 frames of 192 KiB) keep many frames in flight.
  const c = await uwsCluster(2, { queueLimits: [{ maxMessages: 1e4, maxBytes: 1 << 28 }, { maxMessages: 1e4, maxBytes: 1 << 28 }, { maxMessages: 1e4, maxBytes: 1 << 28 }] });
  try {
    const [t0, t1] = c.transports as [UwsTransport, UwsTransport];
    await eventually(() => t0.isConnected(1) && t1.isConnected(0), "link");
    const count = 480;
    const message = (from: number, k: number) => {
      const m = new Uint8Array(64 * 1024);
      new DataView(m.buffer).setUint32(0, k, true);
      m[4] = from;
      for (let j = 5; j < m.length; j++) m[j] = (k * 131 + j * 7 + from) & 0xff;
      return m;
    };
    for (let k = 0; k < count; k++) {
      assert.equal(t0.send(1, Priority.Gossip, message(0, k)), SendStatus.Queued);
      assert.equal(t1.send(0, Priority.Gossip, message(1, k)), SendStatus.Queued);
      if (k % 96 === 95) await new Promise<void>((r) => setImmediate(r));
    }
    await eventually(() => c.recorders[0]!.messages.length === count && c.recorders[1]!.messages.length === count, "every message", 30_000);
    for (const [to, from] of [[0, 1], [1, 0]] as const) {
      c.recorders[to]!.messages.forEach((m, k) => {
        assert.equal(m.from, from);
        assert.ok(Buffer.from(m.payload).equals(Buffer.from(message(from, k))), `message ${k} from ${from} intact`);
      });
    }
  } finally {
    await c.close();
  }
});

test("a flipped byte anywhere in a large frame is refused (BAD_FRAME_TAG) by the uWS side, which checks it in uWS's lent buffer; nothing of that frame is delivered", async (tc) => {
  const rng = seededRng(tc);
  const n1 = await node(1);
  try {
    const port = n1.t.listenPort;
    // Three 64 KiB gossip records in one frame (as PeerQueue builds them), each filled with its own byte.
    const frame = (fill: number) => {
      const f = new Uint8Array(1 + 3 * (5 + 65_536));
      f[0] = FRAME_DATA;
      for (let r = 0; r < 3; r++) {
        const o = 1 + r * (5 + 65_536);
        f.set([0, 0, 1, 0, Priority.Gossip], o); // length 65,536 little-endian, class Gossip
        f.fill(fill + r, o + 5, o + 5 + 65_536);
      }
      return f;
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      const raw = await RawSocket.connect(port);
      assert.equal(await raw.handshake(rawContext(0, N), "dialer", 1), 1);
      const before = n1.r.messages.length;
      raw.sendData(frame(10));
      await eventually(() => n1.r.messages.length === before + 3, "the genuine frame's three messages");
      const f = new Uint8Array(frame(66).length + TAG_BYTES);
      f.set(frame(66));
      raw.sealer!.seal(f);
      const at = rng.int(f.length); // kind byte, a record header, a body byte or the tag itself
      f[at]! ^= 1 << rng.int(8);
      raw.send(f);
      const closed = await raw.closed;
      assert.equal(closed.reason, "BAD_FRAME_TAG", `byte ${at} flipped`);
    }
    assert.equal(refused(n1, "BAD_FRAME_TAG"), 3);
    assert.equal(n1.r.messages.length, 9);
    assert.ok(n1.r.messages.every((m) => m.payload.length === 65_536 && m.payload[0]! < 66), "nothing of a tampered frame delivered");
    // Delivered messages are copies that outlive uWS's buffer: still intact after more traffic went through it.
    n1.r.messages.forEach((m, k) => assert.ok(m.payload.every((b) => b === 10 + (k % 3)), `message ${k} intact`));
  } finally {
    await stopAll(n1);
  }
});
