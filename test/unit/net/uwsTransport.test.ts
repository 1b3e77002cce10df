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

test("peerActivity: connectedSince while a link is up, lastMessageAt on each message (scheduler clock), both null before", async () => {
  const c = await uwsCluster(2);
  live.push(c);
  const [a, b] = c.transports as [UwsTransport, UwsTransport];
  const before = c.schedulers[0]!.now();
  await eventually(() => a.isConnected(1) && b.isConnected(0), "link up");
  const up = a.peerActivity(1);
  assert.ok(up.connectedSince !== null && up.connectedSince >= before && up.connectedSince <= c.schedulers[0]!.now());
  assert.equal(up.lastMessageAt, null, "nothing received yet");
  b.send(0, Priority.Consensus, Uint8Array.of(1));
  await eventually(() => c.recorders[0]!.from(1).length === 1, "message");
  const first = a.peerActivity(1).lastMessageAt;
  assert.ok(first !== null && first >= up.connectedSince!);
  b.send(0, Priority.Consensus, Uint8Array.of(2));
  await eventually(() => c.recorders[0]!.from(1).length === 2, "second message");
  assert.ok(a.peerActivity(1).lastMessageAt! >= first);
  assert.equal(a.peerActivity(1).connectedSince, up.connectedSince, "the same link");
  await b.stop();
  await eventually(() => !a.isConnected(1), "link down");
  const down = a.peerActivity(1);
  assert.equal(down.connectedSince, null);
  assert.ok(down.lastMessageAt !== null, "the last message is remembered across a lost link");
  assert.throws(() => a.peerActivity(0), /no peer 0/);
});
