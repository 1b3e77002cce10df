/**
 * Geo sweeps: many seeds of `runGeoSimulation` (faults inside every cluster, geo-layer faults, the clusters' own
 * checkers and the globalOrder checker), summed up for `quire sim --clusters Z`.
 */
import { describePlan } from "./scenario.js";
import type { Violation } from "./checkers.js";
import { runGeoSimulation } from "./geoSimulation.js";
import type { GeoFault, GeoSimOptions } from "./geoSimulation.js";

export interface GeoSweepOptions extends Omit<GeoSimOptions, "seed"> {
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
    const r = runGeoSimulation({ ...opts, seed });
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
