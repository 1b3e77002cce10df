import { test } from "node:test";
import assert from "node:assert/strict";
import { ManualScheduler } from "../../../src/util/clock.js";
import { MemoryNetwork } from "../../../src/net/memoryNetwork.js";
import type { LinkModel, MemoryNetworkOptions, NetTraceEvent } from "../../../src/net/memoryNetwork.js";
import type { LinkFaults } from "../../../src/net/faults.js";
import { NetError, Priority } from "../../../src/net/transport.js";
import { Uplink } from "../../../src/net/uplink.js";
import { seededRng } from "../../support/seed.js";

const MB = 1_000_000;

async function setup(opts: Omit<MemoryNetworkOptions, "seed"> & { seed?: number }, uplinks: (Uplink | undefined)[], links?: LinkModel) {
  const sched = new ManualScheduler();
  const arrivals: { at: number; from: number; to: number; bytes: number }[] = [];
  const trace = (e: NetTraceEvent): void => {
    if (e.kind === "deliver") arrivals.push({ at: e.at, from: e.from, to: e.to, bytes: e.bytes });
  };
  const net = new MemoryNetwork({ seed: 1, maxMessageBytes: 2 * MB, ...opts }, { scheduler: sched, trace, uplinks, ...(links === undefined ? {} : { links }) });
  const ts = Array.from({ length: opts.size }, (_, i) => net.transport(i));
  for (const t of ts) await t.start();
  sched.runUntilIdle();
  return { sched, net, ts, arrivals };
}

test("Uplink: bytes leave FIFO at the rate; an idle uplink starts at once; bad rates are refused", () => {
  const up = new Uplink({ bytesPerSec: MB });
  assert.equal(up.depart(0, MB), 1000);
  assert.equal(up.depart(0, MB), 2000);
  assert.equal(up.depart(500, MB), 3000);
  assert.equal(up.backlogMs(500), 2500);
  // Idle from 3000 to 5000: the next message starts when sent.
  assert.equal(up.depart(5000, MB / 2), 5500);
  assert.equal(up.backlogMs(6000), 0);
  assert.deepEqual(up.stats(), { messages: 4, bytes: 3.5 * MB, busyMs: 3500, maxWaitMs: 1500 });
  for (const bad of [0, -1, Infinity, Number.NaN]) assert.throws(() => new Uplink({ bytesPerSec: bad }), (e: unknown) => e instanceof NetError && e.code === "BAD_CONFIG");
});

test("MemoryNetwork with an uplink: three 1 MB messages at 1 MB/s arrive 1 s apart, to any peer; a peer without one is not held", async () => {
  const up = new Uplink({ bytesPerSec: MB });
  const { sched, ts, arrivals } = await setup({ size: 3, faults: { delay: { kind: "fixed", ms: 10 } } }, [up]);
  const t0 = sched.now();
  ts[0]!.send(1, Priority.Consensus, new Uint8Array(MB));
  ts[0]!.send(2, Priority.Consensus, new Uint8Array(MB));
  ts[0]!.send(1, Priority.Gossip, new Uint8Array(MB));
  // Peer 1 has no uplink: its message only takes the link's delay.
  ts[1]!.send(2, Priority.Consensus, new Uint8Array(MB));
  sched.runUntilIdle();
  const from0 = arrivals.filter((a) => a.from === 0).map((a) => [a.to, a.at - t0]);
  assert.deepEqual(from0, [[1, 1010], [2, 2010], [1, 3010]]);
  assert.deepEqual(arrivals.filter((a) => a.from === 1).map((a) => a.at - t0), [10]);
});

test("a second channel sharing the uplink queues behind the network's messages, and they behind it", async () => {
  const up = new Uplink({ bytesPerSec: MB });
  const { sched, ts, arrivals } = await setup({ size: 2, faults: { delay: { kind: "fixed", ms: 5 } } }, [up]);
  const t0 = sched.now();
  ts[0]!.send(1, Priority.Consensus, new Uint8Array(MB));
  // Another channel (e.g. a geo run's inter-cluster layer) sends 1 MB from the same node now.
  assert.equal(up.depart(sched.now(), MB) - t0, 2000);
  ts[0]!.send(1, Priority.Consensus, new Uint8Array(MB));
  sched.runUntilIdle();
  assert.deepEqual(arrivals.map((a) => a.at - t0), [1005, 3005]);
});

test("lost messages used the uplink; messages refused at send time (partition, block) did not", async () => {
  const up = new Uplink({ bytesPerSec: MB });
  const { sched, net, ts, arrivals } = await setup({ size: 3 }, [up]);
  const t0 = sched.now();
  net.setLinkFaults(0, 1, { loss: 1 });
  ts[0]!.send(1, Priority.Consensus, new Uint8Array(MB)); // lost in the network after leaving
  net.block(0, 2);
  ts[0]!.send(2, Priority.Consensus, new Uint8Array(MB)); // never leaves
  net.block(0, 2, false);
  const p = net.partition([[0], [1, 2]]);
  ts[0]!.send(2, Priority.Consensus, new Uint8Array(MB)); // never leaves
  p.heal();
  sched.runUntilIdle();
  ts[0]!.send(2, Priority.Consensus, new Uint8Array(MB));
  sched.runUntilIdle();
  assert.equal(net.stats().dropped.loss, 1);
  assert.deepEqual(arrivals.filter((a) => a.from === 0).map((a) => a.at - t0), [2000]);
  assert.equal(up.stats().messages, 2);
});

test("a link model's delay adds to the faults' delay, per pair, and its loss applies on top of theirs", async (t) => {
  const seed = seededRng(t).u32();
  const links: LinkModel = { delay: (from, to) => (from === 0 && to === 1 ? 100 : 7), loss: (from) => (from === 2 ? 0.25 : 0) };
  const faults: Partial<LinkFaults> = { delay: { kind: "fixed", ms: 3 } };
  const { sched, net, ts, arrivals } = await setup({ size: 3, seed, faults }, [], links);
  const t0 = sched.now();
  ts[0]!.send(1, Priority.Consensus, new Uint8Array(10));
  ts[1]!.send(0, Priority.Consensus, new Uint8Array(10));
  sched.runUntilIdle();
  assert.deepEqual(arrivals.map((a) => [a.from, a.to, a.at - t0]), [[1, 0, 10], [0, 1, 103]]);
  const N = 10_000;
  for (let i = 0; i < N; i++) ts[2]!.send(0, Priority.Gossip, new Uint8Array(1));
  sched.runUntilIdle();
  const lost = net.stats().dropped.loss;
  assert.ok(Math.abs(lost - 0.25 * N) < 5 * Math.sqrt(N * 0.25 * 0.75), `lost ${lost} of ${N}`);
});

test("more uplinks than peers is a configuration error", () => {
  const up = new Uplink({ bytesPerSec: MB });
  assert.throws(() => new MemoryNetwork({ size: 1, seed: 1 }, { scheduler: new ManualScheduler(), uplinks: [up, up] }), (e: unknown) => e instanceof NetError && e.code === "BAD_CONFIG");
});
