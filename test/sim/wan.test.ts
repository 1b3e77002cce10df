/**
 * The WAN model of src/sim/wan.ts: the latency matrix, jitter, loss and shared uplinks on their own and inside a
 * MemoryNetwork, the plan it adapts, 16-validator runs over it, and runs without it left exactly as they were.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { ManualScheduler } from "../../src/util/clock.js";
import { SeededRng } from "../../src/util/rng.js";
import { MemoryNetwork } from "../../src/net/memoryNetwork.js";
import type { NetTraceEvent } from "../../src/net/memoryNetwork.js";
import { Priority } from "../../src/net/transport.js";
import { runSimulation } from "../../src/sim/simulation.js";
import type { SimResult } from "../../src/sim/simulation.js";
import { runShardSimulation } from "../../src/sim/shardSimulation.js";
import { measureFlatWan } from "../../src/sim/shardSweep.js";
import { planScenario, SIM_LIVENESS_BOUND_MS, SIM_PACEMAKER } from "../../src/sim/scenario.js";
import { contiguousRegions, DEFAULT_WAN, parseWanFlags, WAN_BURST_BYTES, WanError, wanLatencyMatrix, WanModel, wanPlan, wanSpec } from "../../src/sim/wan.js";
import type { WanConfig, WanFlag } from "../../src/sim/wan.js";
import { seededRng } from "../support/seed.js";

const NO_BANDWIDTH: WanConfig = { ...DEFAULT_WAN, bandwidthMbps: null };

/** A started network of `size` peers over `model` (peer i = global node nodeOf[i]); records deliveries. */
async function wanNetwork(model: WanModel, nodeOf: number[], seed = 1) {
  const sched = new ManualScheduler();
  const arrivals: { at: number; from: number; to: number }[] = [];
  const trace = (e: NetTraceEvent): void => {
    if (e.kind === "deliver") arrivals.push({ at: e.at, from: e.from, to: e.to });
  };
  const net = new MemoryNetwork({ size: nodeOf.length, seed, maxMessageBytes: 4 << 20 }, { scheduler: sched, trace, ...model.networkModules(nodeOf) });
  const ts = nodeOf.map((_, i) => net.transport(i));
  for (const t of ts) await t.start();
  sched.runUntilIdle();
  return { sched, net, ts, arrivals };
}

test("the latency matrix: symmetric, intra on the diagonal, inter drawn in range, a function of its seed", () => {
  const c = { regions: 5, intraMs: 1, interMinMs: 50, interMaxMs: 200, seed: 7 };
  const m = wanLatencyMatrix(c);
  assert.equal(m.length, 5);
  for (let a = 0; a < 5; a++) {
    assert.equal(m[a]![a], 1);
    for (let b = 0; b < 5; b++) {
      assert.equal(m[a]![b], m[b]![a]);
      if (a !== b) assert.ok(m[a]![b]! >= 50 && m[a]![b]! <= 200 && Number.isInteger(m[a]![b]), `${a}→${b}: ${m[a]![b]}`);
    }
  }
  assert.deepEqual(wanLatencyMatrix(c), m);
  assert.notDeepEqual(wanLatencyMatrix({ ...c, seed: 8 }), m);
  assert.deepEqual(wanLatencyMatrix({ ...c, interMinMs: 80, interMaxMs: 80 }).flat().filter((x) => x !== 1), new Array(20).fill(80));
  assert.deepEqual(contiguousRegions(16, 4), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
  assert.deepEqual(contiguousRegions(6, 4), [0, 0, 1, 2, 2, 3]);
  assert.throws(() => wanLatencyMatrix({ ...c, interMinMs: 300 }), (e: unknown) => e instanceof WanError && e.code === "BAD_WAN_CONFIG");
});

test("in a MemoryNetwork every pair's delay is its regions' matrix latency (a flat network and a cluster's slice)", async () => {
  const model = new WanModel(wanSpec({ ...NO_BANDWIDTH, regions: 4, seed: 3 }, 16));
  const m = model.spec.latencyMs;
  for (const nodeOf of [Array.from({ length: 16 }, (_, i) => i), [8, 9, 10, 11], [0, 5, 10, 15]]) {
    const { sched, ts, arrivals } = await wanNetwork(model, nodeOf);
    const t0 = sched.now();
    for (let a = 0; a < nodeOf.length; a++) for (let b = 0; b < nodeOf.length; b++) if (a !== b) ts[a]!.send(b, Priority.Consensus, new Uint8Array(100));
    sched.runUntilIdle();
    assert.equal(arrivals.length, nodeOf.length * (nodeOf.length - 1));
    for (const x of arrivals) assert.equal(x.at - t0, m[Math.floor(nodeOf[x.from]! / 4)]![Math.floor(nodeOf[x.to]! / 4)], `${nodeOf[x.from]}→${nodeOf[x.to]}`);
  }
});

test("jitter stays in [0, jitterMs) above the matrix latency and spreads over it; links stay FIFO", async (t) => {
  const seed = seededRng(t).u32();
  const model = new WanModel(wanSpec({ ...NO_BANDWIDTH, regions: 2, interMinMs: 100, interMaxMs: 100, jitterMs: 20 }, 2));
  const { sched, ts, arrivals } = await wanNetwork(model, [0, 1], seed);
  const sentAt: number[] = [];
  for (let i = 0; i < 2_000; i++) {
    sentAt.push(sched.now());
    ts[0]!.send(1, Priority.Consensus, new Uint8Array(8));
    sched.advance(50);
  }
  sched.runUntilIdle();
  assert.equal(arrivals.length, 2_000);
  const extra = arrivals.map((a, i) => a.at - sentAt[i]! - 100);
  assert.ok(extra.every((x) => x >= 0 && x < 20), `jitter out of range: ${Math.min(...extra)}..${Math.max(...extra)}`);
  assert.ok(Math.max(...extra) - Math.min(...extra) > 18, "jitter does not spread");
  // Sent 50 ms apart with at most 20 ms of jitter: order kept, and FIFO never holds one back.
  for (let i = 1; i < arrivals.length; i++) assert.ok(arrivals[i]!.at >= arrivals[i - 1]!.at);
  // model.send draws the same way.
  const rng = new SeededRng(seed);
  for (let i = 0; i < 1_000; i++) {
    const at = model.send(0, 1, 8, i * 50, rng)!;
    assert.ok(at - i * 50 >= 100 && at - i * 50 < 120);
  }
});

test("loss: about the set rate over many messages (fixed seed), through model.send and the network alike", async () => {
  const model = new WanModel(wanSpec({ ...NO_BANDWIDTH, regions: 2, loss: 0.1 }, 4));
  const rng = new SeededRng(12345);
  const N = 20_000;
  let lost = 0;
  for (let i = 0; i < N; i++) if (model.send(i % 4, (i + 1) % 4, 100, i, rng) === null) lost++;
  const sigma = Math.sqrt(N * 0.1 * 0.9);
  assert.ok(Math.abs(lost - 0.1 * N) < 5 * sigma, `lost ${lost} of ${N}`);
  const { sched, net, ts, arrivals } = await wanNetwork(model, [0, 1, 2, 3], 12345);
  for (let i = 0; i < N; i++) ts[i % 4]!.send((i + 1) % 4, Priority.Gossip, new Uint8Array(10));
  sched.runUntilIdle();
  assert.equal(net.stats().dropped.loss, N - arrivals.length);
  assert.ok(Math.abs(N - arrivals.length - 0.1 * N) < 5 * sigma, `network lost ${N - arrivals.length} of ${N}`);
});

test("model.send queues on the node's uplink shared with its MemoryNetwork: bandwidth serialises both channels", async () => {
  // 8 Mbit/s = 1 MB/s; nodes 0..3 in region 0 (1 ms), 4..7 in region 1 (inter 50 ms).
  const model = new WanModel(wanSpec({ ...DEFAULT_WAN, regions: 2, interMinMs: 50, interMaxMs: 50, bandwidthMbps: 8 }, 8));
  const cluster0 = [0, 1, 2, 3];
  const { sched, ts, arrivals } = await wanNetwork(model, cluster0);
  const t0 = sched.now();
  const rng = new SeededRng(1);
  ts[0]!.send(1, Priority.Consensus, new Uint8Array(1_000_000)); // leaves by t0 + 1000, arrives 1 ms later
  const across = model.send(0, 5, 1_000_000, t0, rng)!; // the inter-cluster layer, same node: behind it
  ts[0]!.send(2, Priority.Consensus, new Uint8Array(1_000_000)); // behind both
  ts[1]!.send(2, Priority.Consensus, new Uint8Array(1_000_000)); // node 1's own uplink
  sched.runUntilIdle();
  assert.equal(across - t0, 2050);
  assert.deepEqual(arrivals.map((a) => [a.from, a.to, a.at - t0]), [[0, 1, 1001], [1, 2, 1001], [0, 2, 3001]]);
  assert.equal(model.uplinks[0]!.stats().messages, 3);
  assert.equal(model.uplinks[0]!.stats().busyMs, 3000);
  // FIFO per pair on model.send: a small message right behind a big one does not overtake it.
  const big = model.send(4, 0, 500_000, 10_000, rng)!;
  const small = model.send(4, 0, 10, 10_000, rng)!;
  assert.ok(small >= big);
});

test("wanPlan: post-GST delays are the model's alone, the view timer and liveness bound grow with Δ", () => {
  const model = new WanModel(wanSpec({ ...DEFAULT_WAN, regions: 4, interMinMs: 200, interMaxMs: 200, jitterMs: 5, bandwidthMbps: 100 }, 16));
  const delta = model.deltaMs();
  assert.equal(delta, 200 + 5 + (WAN_BURST_BYTES * 8) / 100e6 * 1000);
  const drawn = planScenario(new SeededRng(4), { validators: 16, kinds: ["lossy", "partition"] });
  const p = wanPlan(drawn, model);
  assert.deepEqual(p.postGst.delay, { kind: "fixed", ms: 0 });
  assert.equal(p.postGst.duplicate, drawn.postGst.duplicate);
  assert.equal(p.preGst, drawn.preGst); // the lossy plan's own pre-GST chaos stays on top of the model
  assert.ok(p.pacemaker.baseTimeoutMs >= 6 * delta);
  assert.ok(p.pacemaker.maxTimeoutMs >= 8 * p.pacemaker.baseTimeoutMs);
  assert.ok(p.livenessBoundMs >= (SIM_LIVENESS_BOUND_MS * p.pacemaker.baseTimeoutMs) / SIM_PACEMAKER.baseTimeoutMs);
  assert.deepEqual(p.partitions, drawn.partitions);
  // A plan without pre-GST faults of its own gets the model's links before GST too; a LAN-like model keeps the timers.
  const happy = wanPlan(planScenario(new SeededRng(4), { validators: 4, kinds: ["happy"] }), new WanModel(wanSpec({ ...NO_BANDWIDTH, regions: 1 }, 4)));
  assert.equal(happy.preGst, happy.postGst);
  assert.deepEqual(happy.pacemaker, SIM_PACEMAKER);
  assert.equal(happy.livenessBoundMs, SIM_LIVENESS_BOUND_MS);
});

test("parseWanFlags: defaults, ranges and typed errors naming the flag", () => {
  const flags = (m: Partial<Record<WanFlag, string>>) => (f: WanFlag) => m[f];
  assert.equal(parseWanFlags(flags({})), null);
  assert.deepEqual(parseWanFlags(flags({ regions: "4" })), DEFAULT_WAN);
  assert.deepEqual(parseWanFlags(flags({ "wan-inter": "80", "wan-intra": "2", jitter: "5", loss: "0.01", "bandwidth-mbps": "off", "wan-seed": "9" })), {
    ...DEFAULT_WAN,
    intraMs: 2,
    interMinMs: 80,
    interMaxMs: 80,
    jitterMs: 5,
    loss: 0.01,
    bandwidthMbps: null,
    seed: 9,
  });
  assert.deepEqual(parseWanFlags(flags({ "wan-inter": "50-200", "bandwidth-mbps": "1000" })), { ...DEFAULT_WAN, bandwidthMbps: 1000 });
  const bad: [WanFlag, string][] = [["regions", "0"], ["regions", "2.5"], ["wan-inter", "200-50"], ["wan-inter", "a-b"], ["wan-inter", "1-2-3"], ["wan-inter", "-5"], ["wan-intra", "-1"], ["jitter", "x"], ["loss", "1.5"], ["bandwidth-mbps", "0"], ["wan-seed", "-1"], ["loss", ""]];
  for (const [flag, value] of bad) {
    assert.throws(() => parseWanFlags(flags({ [flag]: value })), (e: unknown) => e instanceof WanError && e.code === "BAD_WAN_FLAG" && e.message.includes(`--${flag}`), `--${flag} ${value}`);
  }
  assert.throws(() => new WanModel(wanSpec(DEFAULT_WAN, 4)).send(0, 4, 1, 0, new SeededRng(1)), (e: unknown) => e instanceof WanError && e.code === "UNKNOWN_NODE");
});

function commitDigest(r: SimResult): string {
  const h = createHash("sha256");
  for (const log of r.recorder.commits) for (const c of log) h.update(`${c.height}:${c.hash}:${c.at};`);
  return h.digest("hex").slice(0, 16);
}

test("runs without a WAN are exactly what they were before the model existed (known seeds)", () => {
  // Recorded on main before the WAN model (5b3335d, headers with parentSigners) with the same options.
  const known = [
    { validators: 4, seed: 7, kinds: "random" as const, height: 13, messages: 428, endMs: 1686.4115874595009, digest: "a25e8a0f2b4e57dd" },
    { validators: 4, seed: 11, kinds: ["lossy", "partition"] as const, height: 15, messages: 464, endMs: 2084.564549950883, digest: "333837ebc19f1195" },
    { validators: 7, seed: 3, kinds: "random" as const, height: 28, messages: 1848, endMs: 3978.1865859255195, digest: "1145e008a3b5e9b2" },
    { validators: 4, seed: 5, kinds: ["happy"] as const, height: 17, messages: 162, endMs: 380, digest: "0539959005b2512b" },
  ];
  for (const k of known) {
    const r = runSimulation({ validators: k.validators, seed: k.seed, kinds: k.kinds, views: 20 });
    assert.deepEqual({ height: r.committedHeight, messages: r.messages, endMs: r.endMs, digest: commitDigest(r) }, { height: k.height, messages: k.messages, endMs: k.endMs, digest: k.digest }, `seed ${k.seed}`);
  }
});

test("16 validators over a 4-region WAN (50–200 ms, 5 ms jitter, 100 Mbit/s): safe and live under random faults; replays exactly", () => {
  const spec = wanSpec({ ...DEFAULT_WAN, jitterMs: 5 }, 16);
  for (const seed of [1, 2, 3]) {
    const r = runSimulation({ validators: 16, seed, kinds: "random", views: 12, wan: { model: new WanModel(spec) } });
    assert.deepEqual(r.violations, [], `seed ${seed}`);
    assert.ok(r.committedHeight >= 5, `seed ${seed}: height ${r.committedHeight}`);
    assert.ok(r.plan.pacemaker.baseTimeoutMs > SIM_PACEMAKER.baseTimeoutMs);
  }
  const a = runSimulation({ validators: 16, seed: 1, kinds: ["happy"], views: 8, wan: { model: new WanModel(spec) }, trace: true });
  const b = runSimulation({ validators: 16, seed: 1, kinds: ["happy"], views: 8, wan: { model: new WanModel(spec) }, trace: true });
  assert.deepEqual(a.trace, b.trace);
  assert.equal(commitDigest(a), commitDigest(b));
  // The geography shows: a commit takes several inter-region delays, where 1 ms links take a few ms.
  const lan = runSimulation({ validators: 16, seed: 1, kinds: ["happy"], views: 8, wan: { model: new WanModel(wanSpec({ ...NO_BANDWIDTH, regions: 1 }, 16)) } });
  assert.deepEqual(lan.violations, []);
  assert.ok(a.latency.firstSumMs / a.latency.blocks > 150, `WAN commit latency ${a.latency.firstSumMs / a.latency.blocks} ms`);
  assert.ok(lan.latency.firstSumMs / lan.latency.blocks < 20, `LAN commit latency ${lan.latency.firstSumMs / lan.latency.blocks} ms`);
});

test("clusters on one WAN model: cluster k holds global nodes k·N.., every node sends through its own uplink", () => {
  const model = new WanModel(wanSpec({ ...DEFAULT_WAN, regions: 2, interMinMs: 100, interMaxMs: 100 }, 8));
  const r = runShardSimulation({ shards: 2, validators: 4, seed: 2, kinds: ["happy"], views: 6, warmupMs: 0, windowMs: 200, wan: model });
  assert.deepEqual(r.violations, []);
  for (let g = 0; g < 8; g++) assert.ok(model.uplinks[g]!.stats().messages > 0, `node ${g} sent nothing`);
  // Each cluster is one region: its links take the 1 ms intra latency, so commits come fast, and its timers are sized
  // for its own links (Δ of 1 ms + the burst), not for the 100 ms between clusters.
  for (const sh of r.shards) {
    assert.ok(sh.result.latency.firstSumMs / sh.result.latency.blocks < 20);
    assert.equal(sh.result.plan.deltaMs, Math.ceil(model.deltaMs([0, 1, 2, 3])));
    assert.ok(sh.result.plan.pacemaker.baseTimeoutMs < 6 * model.deltaMs());
  }
  assert.throws(() => runShardSimulation({ shards: 3, validators: 4, seed: 2, kinds: ["happy"], views: 6, wan: model }), (e: unknown) => e instanceof WanError && e.code === "UNKNOWN_NODE");
});

test("measureFlatWan: the same cluster commits less over 200 ms links than over 1 ms ones", () => {
  const opts = { validators: 4, warmupMs: 500, windowMs: 1_000 };
  const lan = measureFlatWan({ ...opts, wan: { regions: 1 } });
  const wan = measureFlatWan({ ...opts, wan: { regions: 4, interMinMs: 200, interMaxMs: 200 } });
  assert.equal(lan.violations + wan.violations, 0);
  assert.ok(wan.txPerSec > 0);
  assert.ok(wan.txPerSec < lan.txPerSec / 2, `WAN ${wan.txPerSec} tx/s vs LAN ${lan.txPerSec}`);
  assert.ok(lan.uplinkUtilisation !== null && lan.uplinkUtilisation.max > 0);
});

test("blockMaxTxs caps every block (the knob measureFlatWan's --block-txs turns)", () => {
  let most = 0;
  let txs = 0;
  const r = runSimulation({
    validators: 4,
    seed: 3,
    kinds: ["happy"],
    views: 20,
    clientIntervalMs: 1,
    blockMaxTxs: 3,
    onCommitted: (_, blocks) => {
      for (const b of blocks) {
        most = Math.max(most, b.block.txs.length);
        txs += b.block.txs.length;
      }
    },
  });
  assert.deepEqual(r.violations, []);
  assert.equal(most, 3);
  assert.ok(txs > 0);
});
