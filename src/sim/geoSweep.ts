/**
 * Geo sweeps: many seeds of `runGeoSimulation` (faults inside every cluster, geo-layer faults, the clusters' own
 * checkers and the globalOrder checker), summed up for `quire sim --clusters Z`.
 */
import { describePlan } from "./scenario.js";
import type { Violation } from "./checkers.js";
import { runGeoSimulation } from "./geoSimulation.js";
import type { GeoFault, GeoSimOptions } from "./geoSimulation.js";
import { CALIBRATED_COSTS } from "./costModel.js";
import type { CostModel } from "./costModel.js";
import { measureFlatWan } from "./shardSweep.js";
import { DEFAULT_WAN, WanModel, wanSpec } from "./wan.js";
import type { WanConfig } from "./wan.js";

export interface GeoSweepOptions extends Omit<GeoSimOptions, "seed" | "wan"> {
  /** A WAN (one region per cluster), a fresh model per run. */
  readonly wanConfig?: WanConfig;
  readonly seeds: number;
  readonly firstSeed: number;
  /** Stop after this many failing seeds (default 5). */
  readonly maxFailures?: number;
  readonly onProgress?: (done: number, summary: GeoSweepSummary) => void;
  /** Wall clock for `wallMs` (the CLI passes performance.now; the simulator never reads real time). */
  readonly clock?: () => number;
}

export interface GeoSweepFailure {
  readonly seed: number;
  readonly plans: readonly string[];
  readonly faults: readonly GeoFault[];
  readonly violations: readonly Violation[];
}

export interface GeoSweepSummary {
  runs: number;
  /** Rounds executed in the global order, summed over runs (the target round of each run + 1). */
  rounds: number;
  violations: number;
  /** The longest wait for one cluster's block at any honest replica, over all runs (ms). */
  longestRemoteWaitMs: number;
  longestWaitSeed: number;
  /** Runs with a silent or partial sharer. */
  geoFaultRuns: number;
  counters: Record<string, number>;
  virtualMs: number;
  wallMs: number;
  failures: GeoSweepFailure[];
}

export function runGeoSweep(opts: GeoSweepOptions): GeoSweepSummary {
  const s: GeoSweepSummary = { runs: 0, rounds: 0, violations: 0, longestRemoteWaitMs: 0, longestWaitSeed: 0, geoFaultRuns: 0, counters: {}, virtualMs: 0, wallMs: 0, failures: [] };
  const clock = opts.clock ?? ((): number => 0);
  const t0 = clock();
  for (let i = 0; i < opts.seeds; i++) {
    const seed = (opts.firstSeed + i) >>> 0;
    const wan = opts.wanConfig === undefined ? undefined : new WanModel(wanSpec({ ...opts.wanConfig, regions: opts.clusters }, opts.clusters * opts.validators));
    const r = runGeoSimulation({ ...opts, seed, ...(wan !== undefined ? { wan } : {}) });
    s.runs++;
    s.rounds += r.targetRound + 1;
    s.virtualMs += r.clusters.endMs;
    if (r.faults.length > 0) s.geoFaultRuns++;
    if (r.longestRemoteWaitMs > s.longestRemoteWaitMs) {
      s.longestRemoteWaitMs = r.longestRemoteWaitMs;
      s.longestWaitSeed = seed;
    }
    for (const [k, v] of Object.entries(r.counters)) s.counters[k] = (s.counters[k] ?? 0) + v;
    if (r.violations.length > 0) {
      s.violations += r.violations.length;
      s.failures.push({ seed, plans: r.clusters.shards.map((sh) => describePlan(sh.result.plan)), faults: r.faults, violations: r.violations });
    }
    s.wallMs = clock() - t0;
    opts.onProgress?.(s.runs, s);
    if (s.failures.length >= (opts.maxFailures ?? 5)) break;
  }
  s.wallMs = clock() - t0;
  return s;
}

export interface GeoCurveOptions {
  /** Cluster counts to measure (e.g. 2, 4, 8). */
  readonly clusters: readonly number[];
  /** Validators per cluster. */
  readonly validators: number;
  /** The WAN: one region per cluster (its `regions` is set to the cluster count); default DEFAULT_WAN. */
  readonly wan?: Partial<WanConfig>;
  readonly seed?: number;
  readonly costs?: CostModel;
  readonly warmupMs?: number;
  readonly windowMs?: number;
  readonly onRow?: (row: GeoCurveRow) => void;
}

export interface GeoCurveRow {
  readonly clusters: number;
  /** Txs executed in the global order per virtual second, at cluster 0's reference replica, over the window. */
  readonly geoTxPerSec: number;
  /** One flat cluster of clusters × validators over the same links (same regions, latencies, bandwidth). */
  readonly flatTxPerSec: number;
  readonly ratio: number;
  readonly violations: number;
  readonly wallMs: number;
}

/**
 * The geo-vs-flat curve (issue 15's throughput target): for each Z, Z clusters of N validators, each cluster in its
 * own region of the WAN, with a saturating client per cluster and the CPU-cost model, against one flat cluster of
 * Z·N validators on the very same geography (`measureFlatWan`, same regions, latency matrix seed and bandwidth).
 */
export function runGeoCurve(o: GeoCurveOptions, clock: () => number = () => 0): GeoCurveRow[] {
  const rows: GeoCurveRow[] = [];
  for (const z of o.clusters) {
    const t0 = clock();
    const config: WanConfig = { ...DEFAULT_WAN, ...o.wan, regions: z };
    const nodes = z * o.validators;
    const warmupMs = o.warmupMs ?? 3_000;
    const windowMs = o.windowMs ?? 6_000;
    const geo = runGeoSimulation({
      clusters: z,
      validators: o.validators,
      seed: o.seed ?? 1,
      kinds: ["happy"],
      views: 1,
      costs: o.costs ?? CALIBRATED_COSTS,
      load: "saturate",
      warmupMs,
      windowMs,
      wan: new WanModel(wanSpec(config, nodes)),
      // Over the WAN a round's blocks arrive hundreds of ms apart, more under load: a LAN-sized remote timeout would
      // ask healthy clusters for view changes.
      remoteTimeoutMs: 2_000,
      settleMs: 0,
    });
    const flat = measureFlatWan({ validators: nodes, wan: config, seed: o.seed ?? 1, ...(o.costs !== undefined ? { costs: o.costs } : {}), warmupMs, windowMs });
    const row: GeoCurveRow = { clusters: z, geoTxPerSec: geo.globalTxPerSec, flatTxPerSec: flat.txPerSec, ratio: flat.txPerSec > 0 ? geo.globalTxPerSec / flat.txPerSec : Infinity, violations: geo.violations.length + flat.violations, wallMs: clock() - t0 };
    rows.push(row);
    o.onRow?.(row);
  }
  return rows;
}
