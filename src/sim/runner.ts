/**
 * Seed sweeps: many simulated runs, one summary. A failing seed is replayed with tracing on (runs are exact functions
 * of their seed) to extract a minimal trace of what led to the violation.
 */
import type { TraceEvent, Violation } from "./checkers.js";
import { describePlan } from "./scenario.js";
import type { ScenarioKind } from "./scenario.js";
import { runSimulation } from "./simulation.js";
import type { ReconfigOptions } from "./reconfig.js";
import type { SimCrypto, SimOptions, SimResult } from "./simulation.js";
import { WanModel } from "./wan.js";
import type { WanSpec } from "./wan.js";
import type { LeaderMode } from "../consensus/leaderElection.js";

export interface SweepOptions {
  readonly validators: number;
  /** Number of runs; run i uses seed `firstSeed + i`. */
  readonly seeds: number;
  readonly firstSeed: number;
  readonly kinds: readonly ScenarioKind[] | "random";
  readonly views: number;
  readonly byzantine?: number;
  /** The crypto for run i (default: the insecure test scheme for every run). */
  readonly cryptoFor?: (seed: number, index: number) => SimCrypto | undefined;
  /** Stop after this many failing seeds (default 5): a broken build should fail fast, not run 100,000 seeds. */
  readonly maxFailures?: number;
  readonly onProgress?: (done: number, summary: SweepSummary) => void;
  /** Wall clock for `wallMs` (the CLI passes performance.now; the simulator itself never reads real time). */
  readonly clock?: () => number;
  /** Validator-set changes in every run (reconfig.ts): `quire sim --scenario reconfig`. */
  readonly reconfig?: ReconfigOptions;
  /** Every run over this WAN (wan.ts): a fresh `WanModel` of it per run (and per replay). */
  readonly wan?: WanSpec;
  /** Who leads a view in every run (`quire sim --leader-mode`; default skip-inactive). */
  readonly leaderMode?: LeaderMode;
}

export interface SweepFailure {
  readonly seed: number;
  readonly plan: string;
  readonly crypto: string;
  readonly violations: readonly Violation[];
  readonly trace: readonly string[];
}

export interface SweepSummary {
  runs: number;
  /** Sum over runs of the highest committed height. */
  commits: number;
  /** Sum over runs of the highest view reached. */
  views: number;
  messages: number;
  violations: number;
  /** Runs by crypto scheme name. */
  schemes: Record<string, number>;
  /** Virtual time simulated, summed over runs. */
  virtualMs: number;
  /** Wall time of the sweep by the injected clock (0 without one). */
  wallMs: number;
  /** CPU time of the process during the sweep (filled in by the CLI; 0 otherwise). */
  cpuMs: number;
  /** Worst wait for a first commit after GST, over runs where liveness was checked. */
  maxFirstCommitAfterGstMs: number | null;
  /** Mean proposal-to-commit latency: at the first replica to commit each block, and over every honest commit. */
  commitLatencyMs: { first: number; all: number };
  failures: SweepFailure[];
  /** Reconfig sweeps: changes submitted, and epoch switches at honest replicas, summed over runs. */
  reconfig: { changes: number; switches: number; maxEpoch: number; committee: { rotations: number; leaves: number; returns: number } | null } | null;
}

export function runSweep(opts: SweepOptions): SweepSummary {
  const s: SweepSummary = { runs: 0, commits: 0, views: 0, messages: 0, violations: 0, schemes: {}, virtualMs: 0, wallMs: 0, cpuMs: 0, maxFirstCommitAfterGstMs: null, commitLatencyMs: { first: 0, all: 0 }, failures: [], reconfig: opts.reconfig === undefined ? null : { changes: 0, switches: 0, maxEpoch: 0, committee: opts.reconfig.committee === undefined ? null : { rotations: 0, leaves: 0, returns: 0 } } };
  const lat = { blocks: 0, firstSumMs: 0, commits: 0, allSumMs: 0 };
  const maxFailures = opts.maxFailures ?? 5;
  const clock = opts.clock ?? ((): number => 0);
  const t0 = clock();
  for (let i = 0; i < opts.seeds; i++) {
    const seed = (opts.firstSeed + i) >>> 0;
    const crypto = opts.cryptoFor?.(seed, i);
    const base = { validators: opts.validators, seed, kinds: opts.kinds, views: opts.views, byzantine: opts.byzantine, crypto, reconfig: opts.reconfig, leaderMode: opts.leaderMode };
    // The model holds the uplink queues: each run (and its replay) starts from empty ones.
    const wan = opts.wan;
    const run = (extra: Partial<SimOptions>): SimResult => runSimulation({ ...base, ...extra, ...(wan === undefined ? {} : { wan: { model: new WanModel(wan) } }) });
    const r = run({});
    s.runs++;
    s.commits += r.committedHeight;
    if (s.reconfig !== null && r.reconfig !== null) {
      s.reconfig.changes += r.reconfig.changes;
      s.reconfig.switches += r.reconfig.switches;
      s.reconfig.maxEpoch = Math.max(s.reconfig.maxEpoch, r.reconfig.maxEpoch);
      const c = r.reconfig.committee;
      if (s.reconfig.committee !== null && c !== null) {
        s.reconfig.committee.rotations += c.rotations;
        s.reconfig.committee.leaves += c.leaves;
        s.reconfig.committee.returns += c.returns;
      }
    }
    s.views += r.maxView;
    s.messages += r.messages;
    s.virtualMs += r.endMs;
    lat.blocks += r.latency.blocks;
    lat.firstSumMs += r.latency.firstSumMs;
    lat.commits += r.latency.commits;
    lat.allSumMs += r.latency.allSumMs;
    s.commitLatencyMs = { first: lat.blocks === 0 ? 0 : lat.firstSumMs / lat.blocks, all: lat.commits === 0 ? 0 : lat.allSumMs / lat.commits };
    const scheme = crypto?.scheme.name ?? "insecure-test";
    s.schemes[scheme] = (s.schemes[scheme] ?? 0) + 1;
    if (r.maxFirstCommitAfterGstMs !== null) s.maxFirstCommitAfterGstMs = Math.max(s.maxFirstCommitAfterGstMs ?? 0, r.maxFirstCommitAfterGstMs);
    if (r.violations.length > 0) {
      s.violations += r.violations.length;
      // Exact replay with the trace on.
      const traced = run({ trace: true });
      s.failures.push({ seed, plan: describePlan(r.plan), crypto: scheme, violations: r.violations, trace: minimalTrace(traced, r.violations[0]!) });
      if (s.failures.length >= maxFailures) break;
    }
    s.wallMs = clock() - t0;
    opts.onProgress?.(i + 1, s);
  }
  s.wallMs = clock() - t0;
  return s;
}

/** How many events of the involved replicas a minimal trace keeps (the cluster-wide events are always kept). */
const TRACE_TAIL = 40;

/**
 * The events that explain `v`: every cluster-wide event (partitions, heals, GST), crashes and restarts, and the last
 * TRACE_TAIL events of the involved replicas (and of Byzantine instances) up to the violation.
 */
export function minimalTrace(r: SimResult, v: Violation): string[] {
  const trace = r.trace ?? [];
  const involved = new Set(v.instances);
  r.plan.validatorOf.forEach((val, i) => {
    if (r.plan.byzantine.has(val)) involved.add(i);
  });
  // The moment of a safety/validity violation: the involved replicas' first commit at that height.
  let until = Infinity;
  if (v.height !== undefined) {
    const times = v.instances.map((i) => r.recorder.commits[i]?.find((c) => c.height === v.height)?.at ?? -Infinity);
    until = Math.max(...times);
  }
  const relevant = trace.filter((e) => e.at <= until && (involved.has(e.instance) || e.instance < 0 || e.kind === "crash" || e.kind === "start"));
  const tail = relevant.filter((e) => e.instance >= 0 && e.kind !== "crash" && e.kind !== "start").slice(-TRACE_TAIL);
  const keep = new Set<TraceEvent>([...relevant.filter((e) => e.instance < 0 || e.kind === "crash" || e.kind === "start"), ...tail]);
  return relevant.filter((e) => keep.has(e)).map((e) => `${e.at.toFixed(1).padStart(9)} ms  ${e.instance < 0 ? "net" : `r${e.instance}`.padEnd(3)}  ${e.kind.padEnd(12)} view ${String(e.view).padEnd(5)} ${e.text}`);
}
