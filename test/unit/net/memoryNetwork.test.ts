import { test } from "node:test";
import assert from "node:assert/strict";
import { ManualScheduler } from "../../../src/util/clock.js";
import { MemoryNetwork } from "../../../src/net/memoryNetwork.js";
import type { MemoryNetworkOptions, NetTraceEvent } from "../../../src/net/memoryNetwork.js";
import { Priority } from "../../../src/net/transport.js";
import { seededRng } from "../../support/seed.js";
import { Recorder } from "./support.js";

async function setup(opts: Omit<MemoryNetworkOptions, "seed"> & { seed?: number }, trace?: (e: NetTraceEvent) => void) {
  const sched = new ManualScheduler();
  const net = new MemoryNetwork({ seed: 1, ...opts }, trace === undefined ? { scheduler: sched } : { scheduler: sched, trace });
  const ts = Array.from({ length: opts.size }, (_, i) => net.transport(i));
  const rs = ts.map((t) => {
    const r = new Recorder();
    t.setHandler(r);
    return r;
  });
  for (const t of ts) await t.start();
  sched.runUntilIdle();
  return { sched, net, ts, rs };
}

const tag = (i: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, i, true);
  return b;
};
const idOf = (p: Uint8Array) => new DataView(p.buffer, p.byteOffset).getUint32(0, true);

test("nothing is delivered synchronously; a fixed delay delivers exactly that much later", async () => {
  const { sched, ts, rs } = await setup({ size: 2, faults: { delay: { kind: "fixed", ms: 10 } } });
  const t0 = sched.now();
  ts[0]!.send(1, Priority.Consensus, tag(1));
  assert.equal(rs[1]!.messages.length, 0);
  sched.advance(9.999);
  assert.equal(rs[1]!.messages.length, 0);
  sched.advance(0.001);
  assert.equal(rs[1]!.messages.length, 1);
  assert.equal(sched.now(), t0 + 10);
});

test("the same seed and inputs replay the exact same run; another seed gives another run", async () => {
  const faults = { delay: { kind: "lognormal", medianMs: 20, sigma: 0.8, minMs: 1, maxMs: 500 }, loss: 0.1, duplicate: 0.1, reorder: 0.2, reorderExtraMs: 30 } as const;
  const run = async (seed: number) => {
    const log: string[] = [];
    const { sched, ts } = await setup({ size: 4, seed, faults }, (e) => {
      if (e.kind === "deliver" || e.kind === "drop") log.push(`${e.kind}@${e.at.toFixed(6)} ${e.from}->${e.to} ${e.bytes}`);
    });
    for (let i = 0; i < 500; i++) ts[i % 4]!.send((i * 7 + 1) % 4 === i % 4 ? (i + 1) % 4 : (i * 7 + 1) % 4, Priority.Gossip, new Uint8Array(i % 50));
    sched.runUntilIdle();
    return log;
  };
  const a = await run(99);
  assert.ok(a.length > 500);
  assert.deepEqual(await run(99), a);
  assert.notDeepEqual(await run(100), a);
});

test("loss and duplication happen at the configured rates (seeded, ±5σ) and are counted", async (t) => {
  const seed = seededRng(t).u32();
  const N = 10_000;
  {
    const { sched, net, ts, rs } = await setup({ size: 2, seed, faults: { loss: 0.3 } });
    for (let i = 0; i < N; i++) ts[0]!.send(1, Priority.Gossip, tag(i));
    sched.runUntilIdle();
    const got = rs[1]!.messages.length;
    const sigma = Math.sqrt(N * 0.3 * 0.7);
    assert.ok(Math.abs(got - 0.7 * N) < 5 * sigma, `delivered ${got}`);
    assert.equal(net.stats().dropped.loss, N - got);
    // Survivors stay in order.
    const ids = rs[1]!.messages.map((m) => idOf(m.payload));
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
  }
  {
    const { sched, net, ts, rs } = await setup({ size: 2, seed, faults: { duplicate: 0.2, delay: { kind: "uniform", minMs: 0, maxMs: 10 } } });
    for (let i = 0; i < N; i++) ts[0]!.send(1, Priority.Gossip, tag(i));
    sched.runUntilIdle();
    const counts = new Map<number, number>();
    for (const m of rs[1]!.messages) counts.set(idOf(m.payload), (counts.get(idOf(m.payload)) ?? 0) + 1);
    assert.equal(counts.size, N);
    assert.ok([...counts.values()].every((c) => c === 1 || c === 2));
    const dups = rs[1]!.messages.length - N;
    assert.equal(net.stats().duplicated, dups);
    assert.ok(Math.abs(dups - 0.2 * N) < 5 * Math.sqrt(N * 0.2 * 0.8), `duplicated ${dups}`);
  }
});

test("links are FIFO under random delays; the reorder fault breaks order but loses nothing", async () => {
  const delay = { kind: "exponential", minMs: 1, meanExtraMs: 20 } as const;
  const inversions = (ids: number[]) => ids.filter((x, i) => i > 0 && x < ids[i - 1]!).length;
  {
    const { sched, ts, rs } = await setup({ size: 2, faults: { delay } });
    for (let i = 0; i < 2000; i++) {
      ts[0]!.send(1, Priority.Consensus, tag(i));
      sched.advance(0.5);
    }
    sched.runUntilIdle();
    const ids = rs[1]!.messages.map((m) => idOf(m.payload));
    assert.equal(ids.length, 2000);
    assert.equal(inversions(ids), 0);
  }
  {
    const { sched, net, ts, rs } = await setup({ size: 2, faults: { delay, reorder: 0.3, reorderExtraMs: 50 } });
    for (let i = 0; i < 2000; i++) {
      ts[0]!.send(1, Priority.Consensus, tag(i));
      sched.advance(0.5);
    }
    sched.runUntilIdle();
    const ids = rs[1]!.messages.map((m) => idOf(m.payload));
    assert.deepEqual([...ids].sort((a, b) => a - b), Array.from({ length: 2000 }, (_, i) => i));
    assert.ok(inversions(ids) > 100, `only ${inversions(ids)} inversions`);
    assert.ok(net.stats().reordered > 400);
  }
});

test("delay distributions stay within their bounds", async () => {
  const cases = [
    { d: { kind: "uniform", minMs: 5, maxMs: 20 } as const, lo: 5, hi: 20 },
    { d: { kind: "exponential", minMs: 3, meanExtraMs: 10 } as const, lo: 3, hi: Infinity },
    { d: { kind: "lognormal", medianMs: 50, sigma: 1.5, minMs: 10, maxMs: 80 } as const, lo: 10, hi: 80 },
  ];
  for (const { d, lo, hi } of cases) {
    const seen: number[] = [];
    const { sched, ts } = await setup({ size: 3, faults: { delay: d } }, (e) => {
      if (e.kind === "deliver") seen.push(e.at - sent.get(e.bytes)!);
    });
    const sent = new Map<number, number>();
    // One message per link and instant, so FIFO never stretches a delay: each delay is a raw sample.
    for (let i = 0; i < 300; i++) {
      sent.set(i, sched.now());
      ts[0]!.send(1 + (i % 2), Priority.Sync, new Uint8Array(i));
      sched.runUntilIdle();
    }
    assert.equal(seen.length, 300);
    assert.ok(seen.every((x) => x >= lo - 1e-9 && x <= hi + 1e-9), `${d.kind}: ${Math.min(...seen)}..${Math.max(...seen)}`);
    assert.ok(new Set(seen).size > 100, `${d.kind} does not vary`);
  }
});

test("partitions cut links (peer-down events, traffic lost and counted) and heal (peer-up, traffic flows)", async () => {
  const { sched, net, ts, rs } = await setup({ size: 4, faults: { delay: { kind: "fixed", ms: 5 } } });
  // A message already in flight across the future cut is lost when it would arrive.
  ts[0]!.send(2, Priority.Consensus, tag(1));
  const p = net.partition([[0, 1], [2, 3]]);
  assert.equal(rs[0]!.downs.length, 0); // events are asynchronous too
  sched.runUntilIdle();
  assert.deepEqual(rs[0]!.downs.map((d) => d.peer).sort(), [2, 3]);
  assert.deepEqual(rs[2]!.downs.map((d) => d.peer).sort(), [0, 1]);
  assert.ok(rs[0]!.downs.every((d) => d.reason === "partition"));
  assert.equal(ts[0]!.isConnected(2), false);
  assert.equal(ts[0]!.isConnected(1), true);
  ts[0]!.broadcast(Priority.Consensus, tag(2));
  ts[3]!.broadcast(Priority.Consensus, tag(3));
  sched.runUntilIdle();
  assert.deepEqual(rs[1]!.messages.map((m) => [m.from, idOf(m.payload)]), [[0, 2]]);
  assert.deepEqual(rs[2]!.messages.map((m) => [m.from, idOf(m.payload)]), [[3, 3]]);
  assert.equal(net.stats().dropped.partition, 1 + 2 + 2);
  p.heal();
  p.heal(); // idempotent
  sched.runUntilIdle();
  assert.deepEqual(rs[0]!.ups.slice(3).sort(), [2, 3]);
  ts[0]!.send(2, Priority.Consensus, tag(4));
  sched.runUntilIdle();
  assert.deepEqual(rs[2]!.messages.map((m) => idOf(m.payload)), [3, 4]);
  // Overlapping partitions: connected only if no partition separates the pair.
  const a = net.isolate(3);
  const b = net.partition([[0], [1, 2, 3]]);
  assert.deepEqual([net.connected(1, 2), net.connected(0, 1), net.connected(2, 3)], [true, false, false]);
  a.heal();
  assert.deepEqual([net.connected(2, 3), net.connected(0, 3)], [true, false]);
  b.heal();
  assert.equal(net.connected(0, 3), true);
  assert.throws(() => net.partition([[0, 1], [1]]));
});

test("block() drops one direction silently; per-link faults override the network's", async () => {
  const { sched, net, ts, rs } = await setup({ size: 3 });
  net.block(0, 1);
  net.setLinkFaults(0, 2, { delay: { kind: "fixed", ms: 100 } });
  ts[0]!.send(1, Priority.Consensus, tag(1));
  ts[1]!.send(0, Priority.Consensus, tag(2));
  ts[0]!.send(2, Priority.Consensus, tag(3));
  sched.advance(50);
  assert.deepEqual([rs[1]!.messages.length, rs[0]!.messages.length, rs[2]!.messages.length], [0, 1, 0]);
  sched.advance(50);
  assert.equal(rs[2]!.messages.length, 1);
  assert.equal(rs[0]!.downs.length + rs[1]!.downs.length, 0);
  assert.equal(net.stats().dropped.blocked, 1);
  net.block(0, 1, false);
  net.setLinkFaults(0, 2, undefined);
  ts[0]!.send(1, Priority.Consensus, tag(4));
  ts[0]!.send(2, Priority.Consensus, tag(5));
  sched.runUntilIdle();
  assert.deepEqual([rs[1]!.messages.length, rs[2]!.messages.length], [1, 2]);
  assert.throws(() => net.setFaults({ loss: 1.5 }), RangeError);
  assert.throws(() => net.setFaults({ delay: { kind: "uniform", minMs: 5, maxMs: 1 } }), RangeError);
});

test("a restarted node loses what was in flight to its previous incarnation, then talks again", async () => {
  const { sched, net, ts, rs } = await setup({ size: 3, faults: { delay: { kind: "fixed", ms: 10 } } });
  ts[0]!.send(1, Priority.Consensus, tag(1));
  await ts[1]!.stop();
  await ts[1]!.start();
  sched.runUntilIdle();
  assert.equal(rs[1]!.messages.length, 0);
  assert.equal(net.stats().dropped.down, 1);
  assert.deepEqual(rs[0]!.downs.map((d) => [d.peer, d.reason]), [[1, "stopped"]]);
  assert.equal(rs[0]!.ups.filter((p) => p === 1).length, 2);
  ts[0]!.send(1, Priority.Consensus, tag(2));
  await ts[2]!.stop();
  ts[0]!.send(2, Priority.Consensus, tag(3)); // to a stopped node: lost
  sched.runUntilIdle();
  assert.deepEqual(rs[1]!.messages.map((m) => idOf(m.payload)), [2]);
  assert.equal(net.stats().dropped.down, 2);
  assert.equal(net.stats().inFlight, 0);
});

test("an interceptor drops, delays or replaces chosen messages; partitions can heal on a timer", async () => {
  const { sched, net, ts, rs } = await setup({ size: 3, faults: { delay: { kind: "fixed", ms: 1 } } });
  net.setInterceptor((m) => {
    const id = idOf(m.payload);
    if (m.to === 1 && id === 1) return { action: "drop" };
    if (m.to === 1 && id === 2) return { action: "delay", ms: 100 };
    if (m.to === 2) return { action: "replace", payload: tag(id + 1000) };
    return undefined;
  });
  for (const i of [1, 2, 3]) ts[0]!.send(1, Priority.Consensus, tag(i));
  ts[0]!.send(2, Priority.Consensus, tag(7));
  sched.advance(50);
  assert.deepEqual(rs[1]!.messages.map((m) => idOf(m.payload)), [3]); // 2 is held back alone, 3 passes it
  assert.deepEqual(rs[2]!.messages.map((m) => idOf(m.payload)), [1007]);
  sched.advance(100);
  assert.deepEqual(rs[1]!.messages.map((m) => idOf(m.payload)), [3, 2]);
  assert.equal(net.stats().dropped.intercepted, 1);
  net.setInterceptor(undefined);
  net.partition([[0], [1, 2]], { healAfterMs: 500 });
  sched.advance(499);
  assert.equal(net.connected(0, 1), false);
  sched.advance(1);
  assert.equal(net.connected(0, 1), true);
});
