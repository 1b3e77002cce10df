import { after, test } from "node:test";
import assert from "node:assert/strict";
import { eventually, uwsCluster } from "./support.js";
import type { UwsCluster } from "./support.js";
import { transportCompliance } from "./transportCompliance.js";
import { Priority } from "../../../src/net/transport.js";
import type { UwsTransport } from "../../../src/net/uwsTransport.js";

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
