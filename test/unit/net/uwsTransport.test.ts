import { after, test } from "node:test";
import assert from "node:assert/strict";
import { allConnected, blstVerifyFn, CHAIN_ID, CountingScheduler, eventually, Recorder, testIdentity, uwsCluster } from "./support.js";
import type { UwsCluster } from "./support.js";
import { transportCompliance } from "./transportCompliance.js";
import { NetError, Priority } from "../../../src/net/transport.js";
import type { ValidatorEntry } from "../../../src/net/transport.js";
import { UwsTransport } from "../../../src/net/uwsTransport.js";

// Every cluster this file starts, so a failing test cannot leave sockets or timers behind.
const live: UwsCluster[] = [];
after(async () => {
  for (const c of live) await c.close();
});

transportCompliance("UwsTransport on 127.0.0.1", async (n) => {
  // Small frames so the suite exercises coalescing and fragmentation with modest payloads.
  const c = await uwsCluster(n, { frameBytes: 16 * 1024, maxMessageBytes: 512 * 1024 });
  live.push(c);
  return {
    transports: c.transports,
    recorders: c.recorders,
    until: (cond, what) => eventually(cond, what),
    close: async () => {
      await c.close();
      // Clean shutdown: no socket and no timer survives stop().
      assert.deepEqual(c.schedulers.map((s) => s.live), c.schedulers.map(() => 0), "timers left after stop()");
    },
  };
});

test("peerActivity: connectedSince while a link is up; lastReceivedAt from the link's liveness stamp, kept after it closed", async () => {
  const c = await uwsCluster(2);
  live.push(c);
  const [a, b] = c.transports as [UwsTransport, UwsTransport];
  assert.deepEqual(a.peerActivity(1), { connectedSince: null, lastReceivedAt: null }, "never connected");
  const before = c.schedulers[0]!.now();
  await eventually(() => a.isConnected(1) && b.isConnected(0), "link up");
  const up = a.peerActivity(1);
  assert.ok(up.connectedSince !== null && up.connectedSince >= before && up.connectedSince <= c.schedulers[0]!.now());
  // The handshake's frames came from the peer before the link was up.
  assert.ok(up.lastReceivedAt !== null && up.lastReceivedAt >= before && up.lastReceivedAt <= up.connectedSince);
  b.send(0, Priority.Consensus, Uint8Array.of(1));
  await eventually(() => c.recorders[0]!.from(1).length === 1, "message");
  const first = a.peerActivity(1).lastReceivedAt!;
  assert.ok(first >= up.connectedSince);
  b.send(0, Priority.Consensus, Uint8Array.of(2));
  await eventually(() => c.recorders[0]!.from(1).length === 2, "second message");
  const second = a.peerActivity(1).lastReceivedAt!;
  assert.ok(second >= first);
  assert.equal(a.peerActivity(1).connectedSince, up.connectedSince, "the same link");
  await b.stop();
  await eventually(() => !a.isConnected(1), "link down");
  const down = a.peerActivity(1);
  assert.equal(down.connectedSince, null);
  assert.ok(down.lastReceivedAt !== null && down.lastReceivedAt >= second, "the last arrival is remembered after the link closed");
  assert.throws(() => a.peerActivity(0), /no peer 0/);
});

// ---- validators that join at runtime (addPeer) ----

interface Node {
  t: UwsTransport;
  r: Recorder;
  scheduler: CountingScheduler;
}

/** A started transport for validator `self` knowing `validators`. */
async function node(self: number, validators: ValidatorEntry[]): Promise<Node> {
  const scheduler = new CountingScheduler();
  const t = new UwsTransport(
    { self, chainId: CHAIN_ID, validators, listen: { host: "127.0.0.1", port: 0 }, backoff: { initialMs: 20, maxMs: 200, factor: 2 } },
    { identity: testIdentity(self), verify: blstVerifyFn, scheduler },
  );
  const r = new Recorder();
  t.setHandler(r);
  await t.start();
  return { t, r, scheduler };
}

test("addPeer: a validator added at runtime links with every old one (they dial it), messages flow both ways, duplicates change nothing", async () => {
  const keys = [0, 1, 2].map((i) => testIdentity(i).publicKey);
  const nodes: Node[] = [];
  try {
    // The genesis pair, knowing only each other.
    const genesis = [{ publicKey: keys[0]! }, { publicKey: keys[1]! }];
    nodes.push(await node(0, genesis), await node(1, genesis));
    const [n0, n1] = nodes as [Node, Node];
    n0.t.setPeerAddress(1, { host: "127.0.0.1", port: n1.t.listenPort });
    await eventually(() => n0.t.isConnected(1) && n1.t.isConnected(0), "genesis link");

    // The joiner lists the registry up to itself, with no address for 0 and 1: it cannot dial them, so every link
    // below proves that the lower index (the old validator) dialled the joiner.
    const n2 = await node(2, [{ publicKey: keys[0]! }, { publicKey: keys[1]! }, { publicKey: keys[2]! }]);
    nodes.push(n2);
    assert.deepEqual(n2.t.peers, [0, 1]);
    const at2 = { host: "127.0.0.1", port: n2.t.listenPort };

    assert.equal(n0.t.peerIndexOf(keys[2]!), undefined);
    const view = n0.t.peers;
    assert.equal(n0.t.addPeer({ publicKey: keys[2]!, address: at2 }), 2);
    assert.deepEqual(view, [1, 2], "peers is a live view");
    assert.equal(n0.t.peerIndexOf(keys[2]!), 2);
    // Queued at once (the slot and queue exist), delivered when the link comes up.
    n0.t.send(2, Priority.Consensus, Uint8Array.of(0, 2));

    // A key already present, the peer's or our own: refused, nothing changes.
    for (const publicKey of [keys[2]!, keys[1]!, keys[0]!]) {
      assert.throws(() => n0.t.addPeer({ publicKey, address: at2 }), (e: unknown) => e instanceof NetError && e.code === "BAD_CONFIG");
    }
    assert.deepEqual(n0.t.peers, [1, 2]);
    assert.deepEqual(n0.t.stats().peers.map((p) => p.peer), [1, 2]);
    assert.equal(n0.t.peerIndexOf(keys[1]!), 1);

    await eventually(() => n0.t.isConnected(2) && n2.t.isConnected(0), "link 0–2");
    // Validator 1 has not added the joiner: no link, and the joiner (higher index) does not dial it.
    assert.equal(n2.t.isConnected(1), false);
    assert.equal(n1.t.addPeer({ publicKey: keys[2]!, address: at2 }), 2);
    await allConnected(nodes.map((n) => n.t));

    n1.t.send(2, Priority.Sync, Uint8Array.of(1, 2));
    n2.t.broadcast(Priority.Consensus, Uint8Array.of(2, 9));
    await eventually(() => n2.r.messages.length === 2 && n0.r.from(2).length === 1 && n1.r.from(2).length === 1, "messages to and from the joiner");
    assert.deepEqual(n2.r.from(0).map((m) => [...m.payload]), [[0, 2]]);
    assert.deepEqual(n2.r.from(1).map((m) => [m.priority, ...m.payload]), [[Priority.Sync, 1, 2]]);
    assert.deepEqual([...n0.r.from(2)[0]!.payload], [2, 9]);
    assert.deepEqual([...n1.r.from(2)[0]!.payload], [2, 9]);
    // The old link still carries traffic.
    n1.t.send(0, Priority.Consensus, Uint8Array.of(1, 0));
    await eventually(() => n0.r.from(1).length === 1, "message 1 → 0");

    // Each link came up once and nobody refused anything: in particular no WRONG_DIRECTION and no UNKNOWN_KEY, so
    // no side dialled a peer it should have waited for.
    for (const n of nodes) {
      assert.deepEqual(n.t.stats().refused, {}, `refusals at ${n.t.self}`);
      assert.deepEqual(n.t.stats().peers.map((p) => p.connects), n.t.peers.map(() => 1), `connects at ${n.t.self}`);
    }
    assert.equal(n2.t.ctx.dialsUs(0) && n2.t.ctx.dialsUs(1) && !n0.t.ctx.dialsUs(2) && !n1.t.ctx.dialsUs(2), true);
  } finally {
    for (const n of nodes) await n.t.stop();
  }
  assert.deepEqual(nodes.map((n) => n.scheduler.live), [0, 0, 0], "timers left after stop()");
});

test("addPeer: before start() the added peer is dialled by start(); after stop() it throws NOT_STARTED", async () => {
  const keys = [0, 1].map((i) => testIdentity(i).publicKey);
  const n1 = await node(1, [{ publicKey: keys[0]! }, { publicKey: keys[1]! }]);
  const scheduler = new CountingScheduler();
  const t0 = new UwsTransport({ self: 0, chainId: CHAIN_ID, validators: [{ publicKey: keys[0]! }], listen: { host: "127.0.0.1", port: 0 } }, { identity: testIdentity(0), verify: blstVerifyFn, scheduler });
  t0.setHandler(new Recorder());
  try {
    assert.deepEqual(t0.peers, []);
    assert.equal(t0.addPeer({ publicKey: keys[1]!, address: { host: "127.0.0.1", port: n1.t.listenPort } }), 1);
    await t0.start();
    await eventually(() => t0.isConnected(1) && n1.t.isConnected(0), "link 0–1");
  } finally {
    await t0.stop();
    await n1.t.stop();
  }
  assert.throws(() => t0.addPeer({ publicKey: testIdentity(2).publicKey }), (e: unknown) => e instanceof NetError && e.code === "NOT_STARTED");
  assert.deepEqual(t0.peers, [1]);
  assert.equal(scheduler.live, 0);
});
