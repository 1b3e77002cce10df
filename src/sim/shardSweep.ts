/**
 * Sharded sweeps: many seeds of `runShardSimulation` (faults inside every shard, per-shard checkers), and the scaling
 * curve — committed tx/s in virtual time for 1, 2, 4, … shards under the CPU-cost model, with the ratio to one shard.
 * `measureFlatWan`: the same measurement for one flat cluster over the WAN model (wan.ts), the baseline geo clusters
 * are compared with.
 */
import type { Violation } from "./checkers.js";
import type { CostModel } from "./costModel.js";
import { minimalTrace } from "./runner.js";
import { describePlan } from "./scenario.js";
import type { ScenarioKind } from "./scenario.js";
import type { BlsBackend } from "../crypto/bls/backend.js";
import { CrossShardWorkload, runCrossShard } from "./crossShard.js";
import type { CrossShardRunOptions } from "./crossShard.js";
import { CrossShardLoad } from "./crossShardLoad.js";
import { runShardSimulation, ShardSimulation } from "./shardSimulation.js";
import type { ShardHooks, ShardSimOptions, ShardSimResult } from "./shardSimulation.js";
import { CALIBRATED_COSTS } from "./costModel.js";
import { DEFAULT_WAN, WanModel, wanSpec } from "./wan.js";
import type { WanConfig } from "./wan.js";

export interface ShardSweepOptions {
  readonly shards: number;
  readonly validators: number;
  readonly seeds: number;
  readonly firstSeed: number;
  readonly kinds: readonly ScenarioKind[] | "random";
  readonly views: number;
  readonly byzantine?: number;
  readonly costs?: CostModel;
  readonly load?: number | "saturate";
  readonly warmupMs?: number;
  readonly windowMs?: number;
  readonly hooks?: ShardHooks;
  /** Stop after this many failing seeds (default 5). */
  readonly maxFailures?: number;
  readonly onProgress?: (done: number, summary: ShardSweepSummary) => void;
  /** Wall clock for `wallMs` (the CLI passes performance.now; the simulator never reads real time). */
  readonly clock?: () => number;
}

export interface ShardSweepFailure {
  readonly seed: number;
  readonly shard: number;
  readonly plan: string;
  readonly violations: readonly Violation[];
  readonly trace: readonly string[];
}

export interface ShardSweepSummary {
  runs: number;
  /** Sum over runs and shards of the highest committed height. */
  blocks: number;
  /** Mean over runs of the committed tx/s (virtual, summed over shards). */
  meanTxPerSec: number;
  violations: number;
  virtualMs: number;
  wallMs: number;
  failures: ShardSweepFailure[];
}

export function runShardSweep(opts: ShardSweepOptions): ShardSweepSummary {
  const s: ShardSweepSummary = { runs: 0, blocks: 0, meanTxPerSec: 0, violations: 0, virtualMs: 0, wallMs: 0, failures: [] };
  const clock = opts.clock ?? ((): number => 0);
  const t0 = clock();
  let tps = 0;
  for (let i = 0; i < opts.seeds; i++) {
    const seed = (opts.firstSeed + i) >>> 0;
    const base: ShardSimOptions = { ...opts, seed };
    const r = runShardSimulation(base);
    s.runs++;
    for (const sh of r.shards) s.blocks += sh.result.committedHeight;
    tps += r.committedTxPerSec;
    s.meanTxPerSec = tps / s.runs;
    s.virtualMs += r.endMs;
    if (r.violations.length > 0) {
      s.violations += r.violations.length;
      const bad = r.shards.find((sh) => sh.result.violations.length > 0)!;
      const traced = runShardSimulation({ ...base, trace: true });
      s.failures.push({ seed, shard: bad.shard, plan: describePlan(bad.result.plan), violations: r.violations, trace: minimalTrace(traced.shards[bad.shard]!.result, bad.result.violations[0]!) });
      if (s.failures.length >= (opts.maxFailures ?? 5)) break;
    }
    s.wallMs = clock() - t0;
    opts.onProgress?.(i + 1, s);
  }
  s.wallMs = clock() - t0;
  return s;
}

export interface CurveOptions {
  /** Shard counts, e.g. [1, 2, 4, 8, 16]; a 1-shard run is added first when missing (it is the ratios' base). */
  readonly counts: readonly number[];
  readonly validators: number;
  readonly seed: number;
  readonly kinds: readonly ScenarioKind[] | "random";
  readonly costs: CostModel;
  readonly load?: number | "saturate";
  readonly warmupMs?: number;
  readonly windowMs?: number;
  /** The synthetic cross-shard mix (crossShardLoad.ts): this fraction of client txs cross to another shard. */
  readonly crossFraction?: number;
  readonly relayDelayMs?: number;
  readonly onRow?: (row: CurveRow) => void;
  readonly clock?: () => number;
}

export interface CurveRow {
  readonly shards: number;
  /** Completed tx/s summed over shards (virtual time; a cross-shard tx counts once, its source leg not at all). */
  readonly txPerSec: number;
  /** Cross-shard txs relayed (destination legs) over the run. */
  readonly crossLegs: number;
  /** Slowest and fastest shard. */
  readonly minShardTxPerSec: number;
  readonly maxShardTxPerSec: number;
  /** `txPerSec` over the 1-shard run's. */
  readonly ratio: number;
  /** Mean replica CPU utilisation over the run. */
  readonly utilisation: number;
  readonly violations: number;
  readonly wallMs: number;
}

/** The scaling curve: one run per shard count, same seed, load and cost model. */
export function runShardCurve(opts: CurveOptions): CurveRow[] {
  const counts = opts.counts.includes(1) ? [...opts.counts] : [1, ...opts.counts];
  const clock = opts.clock ?? ((): number => 0);
  const rows: CurveRow[] = [];
  let base = 0;
  for (const shards of counts) {
    const t0 = clock();
    const cross = (opts.crossFraction ?? 0) > 0 ? new CrossShardLoad({ fraction: opts.crossFraction!, relayDelayMs: opts.relayDelayMs }, shards, opts.costs) : null;
    const r = runShardSimulation({ shards, validators: opts.validators, seed: opts.seed, kinds: opts.kinds, views: 1, costs: opts.costs, load: opts.load ?? "saturate", warmupMs: opts.warmupMs, windowMs: opts.windowMs, ...(cross === null ? {} : { hooks: cross.hooks }) });
    const windowS = (opts.windowMs ?? 2_000) / 1000;
    const completed = r.committedTxPerSec - (cross === null ? 0 : cross.sourceLegsInWindow / windowS);
    if (shards === 1) base = completed;
    const row = curveRow(shards, completed, cross?.destinationLegs ?? 0, base, r, clock() - t0);
    rows.push(row);
    opts.onRow?.(row);
  }
  return rows.sort((a, b) => a.shards - b.shards);
}

export interface CrossShardSweepOptions extends Omit<CrossShardRunOptions, "seed"> {
  readonly seeds: number;
  readonly firstSeed: number;
  readonly maxFailures?: number;
  readonly onProgress?: (done: number, summary: CrossShardSweepSummary) => void;
  readonly clock?: () => number;
}

export interface CrossShardSweepSummary {
  runs: number;
  blocks: number;
  intra: number;
  cross: number;
  invalidInputs: number;
  credited: number;
  aborted: number;
  undecided: number;
  imports: number;
  violations: number;
  virtualMs: number;
  wallMs: number;
  failures: { seed: number; plans: string[]; violations: Violation[] }[];
}

/** `quire sim --shards S --scenario cross-shard`: many seeds of `runCrossShard`, every checker on each. */
export async function runCrossShardSweep(opts: CrossShardSweepOptions): Promise<CrossShardSweepSummary> {
  const s: CrossShardSweepSummary = { runs: 0, blocks: 0, intra: 0, cross: 0, invalidInputs: 0, credited: 0, aborted: 0, undecided: 0, imports: 0, violations: 0, virtualMs: 0, wallMs: 0, failures: [] };
  const clock = opts.clock ?? ((): number => 0);
  const t0 = clock();
  for (let i = 0; i < opts.seeds; i++) {
    const seed = (opts.firstSeed + i) >>> 0;
    const r = await runCrossShard({ ...opts, seed });
    s.runs++;
    for (const sh of r.sim.shards) s.blocks += sh.result.committedHeight;
    s.intra += r.stats.intra;
    s.cross += r.stats.cross;
    s.invalidInputs += r.stats.invalidInputs;
    s.imports += r.stats.relaySubmitted;
    s.credited += r.atomicity.credited;
    s.aborted += r.atomicity.aborted;
    s.undecided += r.atomicity.undecided;
    s.virtualMs += r.sim.endMs;
    if (r.violations.length > 0) {
      s.violations += r.violations.length;
      s.failures.push({ seed, plans: r.sim.shards.map((sh) => `shard ${sh.shard}: ${describePlan(sh.result.plan)}`), violations: [...r.violations] });
      if (s.failures.length >= (opts.maxFailures ?? 5)) break;
    }
    s.wallMs = clock() - t0;
    opts.onProgress?.(i + 1, s);
  }
  s.wallMs = clock() - t0;
  return s;
}

export interface RealCurveOptions extends Omit<CurveOptions, "crossFraction" | "load"> {
  /** Share of transfers that are cross-shard (real xshard transfers, 1–3 input shards, all valid). */
  readonly crossFraction: number;
  readonly bls: BlsBackend;
  /** Accounts per shard: each has one transfer in flight, so this is each shard's client window (default 1,024). */
  readonly accountsPerShard?: number;
}

/**
 * The scaling curve with the real application: signed account transfers and cross-shard transfers (xshard module,
 * real BLS commit proofs, the node's relayer), each shard's client keeping `accountsPerShard` transfers in flight.
 * A transfer counts once: an intra-shard one when committed, a cross-shard one when decided on its output shard.
 */
export async function runRealShardCurve(opts: RealCurveOptions): Promise<CurveRow[]> {
  const counts = opts.counts.includes(1) ? [...opts.counts] : [1, ...opts.counts];
  const clock = opts.clock ?? ((): number => 0);
  const warmupMs = opts.warmupMs ?? 1_000;
  const windowMs = opts.windowMs ?? 2_000;
  const rows: CurveRow[] = [];
  let base = 0;
  for (const shards of counts) {
    const t0 = clock();
    const w = new CrossShardWorkload({
      shards,
      validators: opts.validators,
      seed: opts.seed,
      bls: opts.bls,
      accountsPerShard: opts.accountsPerShard ?? 1_024,
      ratePerShard: 1e6, // every free account sends at every tick: a closed loop of accountsPerShard transfers
      crossFraction: opts.crossFraction,
      invalidFraction: 0,
      loadMs: warmupMs + windowMs,
      relayDelayMs: opts.relayDelayMs,
      settleMs: 0,
      submitTo: "one",
      window: { fromMs: warmupMs, toMs: warmupMs + windowMs },
    });
    const sim = new ShardSimulation({ shards, validators: opts.validators, seed: opts.seed, kinds: opts.kinds, views: 1, costs: opts.costs, warmupMs, windowMs, hooks: { ...w.hooks, settled: undefined } });
    await sim.runAsync();
    w.finish();
    const r = sim.result();
    const completed = w.completedInWindow() / (windowMs / 1000);
    if (shards === 1) base = completed;
    const row = curveRow(shards, completed, w.stats.relaySubmitted, base, r, clock() - t0);
    rows.push(row);
    opts.onRow?.(row);
  }
  return rows.sort((a, b) => a.shards - b.shards);
}

/** One row of a curve: `completed` tx/s against the 1-shard `base`, with the per-shard spread of the run `r`. */
function curveRow(shards: number, completed: number, crossLegs: number, base: number, r: ShardSimResult, wallMs: number): CurveRow {
  const per = r.shards.map((s) => s.committedTxPerSec);
  return {
    shards,
    txPerSec: completed,
    crossLegs,
    minShardTxPerSec: Math.min(...per),
    maxShardTxPerSec: Math.max(...per),
    ratio: base === 0 ? 0 : completed / base,
    utilisation: r.utilisation ?? 0,
    violations: r.violations.length,
    wallMs,
  };
}

export interface FlatWanOptions {
  readonly validators: number;
  /** The WAN (default DEFAULT_WAN: 4 regions, 1 ms inside, 50–200 ms between, 100 Mbit/s); its nodes are the validators. */
  readonly wan?: Partial<WanConfig>;
  readonly seed?: number;
  /** Default CALIBRATED_COSTS. */
  readonly costs?: CostModel;
  /** Throughput window after the warm-up (defaults 3,000 and 6,000 virtual ms: WAN views take hundreds of ms). */
  readonly warmupMs?: number;
  readonly windowMs?: number;
  /** Most txs per block (default the simulator's 256, which bounds a WAN cluster's throughput to 256 per view). */
  readonly blockMaxTxs?: number;
}

export interface FlatWanResult {
  /** Committed tx/s in virtual time at the reference replica, over the window. */
  readonly txPerSec: number;
  readonly committedHeight: number;
  /** Mean replica CPU utilisation over the run. */
  readonly utilisation: number;
  /** Mean and busiest uplink utilisation over the run (busy transmitting / elapsed; null with unlimited bandwidth). */
  readonly uplinkUtilisation: { readonly mean: number; readonly max: number } | null;
  readonly violations: number;
  readonly endMs: number;
}

/**
 * One flat cluster of `validators` over a WAN under the CPU-cost model and a saturating client (the happy scenario):
 * committed tx/s in virtual time, as `runShardCurve` measures one shard.
 */
export function measureFlatWan(opts: FlatWanOptions): FlatWanResult {
  const config: WanConfig = { ...DEFAULT_WAN, ...opts.wan };
  const model = new WanModel(wanSpec(config, opts.validators));
  const r = runShardSimulation({
    shards: 1,
    validators: opts.validators,
    seed: opts.seed ?? 1,
    kinds: ["happy"],
    views: 1,
    costs: opts.costs ?? CALIBRATED_COSTS,
    load: "saturate",
    warmupMs: opts.warmupMs ?? 3_000,
    windowMs: opts.windowMs ?? 6_000,
    wan: model,
    ...(opts.blockMaxTxs === undefined ? {} : { blockMaxTxs: opts.blockMaxTxs }),
  });
  const busy = model.uplinks.map((u) => (u === undefined ? null : u.stats().busyMs / Math.max(1, r.endMs)));
  const known = busy.filter((b): b is number => b !== null);
  return {
    txPerSec: r.committedTxPerSec,
    committedHeight: r.shards[0]!.result.committedHeight,
    utilisation: r.utilisation ?? 0,
    uplinkUtilisation: known.length === 0 ? null : { mean: known.reduce((a, b) => a + b, 0) / known.length, max: Math.max(...known) },
    violations: r.violations.length,
    endMs: r.endMs,
  };
}
