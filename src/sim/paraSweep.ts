/**
 * Seed sweeps of multi-chain runs (`quire sim --para P`): many `runParaSimulation` seeds, one summary. A failing seed
 * is replayed with the main chain's trace on (runs are exact functions of their seed) for a minimal trace.
 */
import type { BlsBackend } from "../crypto/bls/backend.js";
import type { Violation } from "./checkers.js";
import { runParaSimulation } from "./paraSimulation.js";
import type { ParaSimOptions } from "./paraSimulation.js";
import { minimalTrace } from "./runner.js";
import { describePlan } from "./scenario.js";
import type { ScenarioKind } from "./scenario.js";

export interface ParaSweepOptions {
  readonly validators: number;
  readonly paraNodes: number;
  readonly seeds: number;
  readonly firstSeed: number;
  readonly kinds: readonly ScenarioKind[] | "random";
  readonly views: number;
  readonly byzantine?: number;
  readonly byzantineParas?: number;
  readonly byzantinePolicy?: "distinct" | "shared";
  readonly paraHeight?: number;
  readonly paraOutages?: "random";
  readonly bls: BlsBackend;
  /** Stop after this many failing seeds (default 5). */
  readonly maxFailures?: number;
  readonly onProgress?: (done: number, summary: ParaSweepSummary) => void;
  /** Wall clock for `wallMs` (the CLI passes performance.now; the simulator itself never reads real time). */
  readonly clock?: () => number;
}

export interface ParaSweepFailure {
  readonly seed: number;
  readonly plan: string;
  readonly violations: readonly Violation[];
  readonly trace: readonly string[];
}

export interface ParaSweepSummary {
  runs: number;
  /** Sums over runs: highest committed main height, highest honest para head, lowest done height over main replicas. */
  mainBlocks: number;
  paraBlocks: number;
  done: number;
  /** Worst `doneLag` (para head − lowest done height) over runs. */
  maxDoneLag: number;
  resends: number;
  paraTxs: number;
  /** Para node outages over all runs. */
  outages: number;
  violations: number;
  virtualMs: number;
  wallMs: number;
  failures: ParaSweepFailure[];
}

export async function runParaSweep(opts: ParaSweepOptions): Promise<ParaSweepSummary> {
  const s: ParaSweepSummary = { runs: 0, mainBlocks: 0, paraBlocks: 0, done: 0, maxDoneLag: 0, resends: 0, paraTxs: 0, outages: 0, violations: 0, virtualMs: 0, wallMs: 0, failures: [] };
  const maxFailures = opts.maxFailures ?? 5;
  const clock = opts.clock ?? ((): number => 0);
  const t0 = clock();
  for (let i = 0; i < opts.seeds; i++) {
    const seed = (opts.firstSeed + i) >>> 0;
    const base: ParaSimOptions = {
      validators: opts.validators,
      paraNodes: opts.paraNodes,
      seed,
      kinds: opts.kinds,
      views: opts.views,
      byzantine: opts.byzantine,
      byzantineParas: opts.byzantineParas,
      byzantinePolicy: opts.byzantinePolicy,
      paraHeight: opts.paraHeight,
      paraOutages: opts.paraOutages,
      bls: opts.bls,
    };
    const r = await runParaSimulation(base);
    s.runs++;
    s.mainBlocks += r.mainHeight;
    s.paraBlocks += r.paraHead;
    s.done += r.done.length === 0 ? 0 : Math.min(...r.done.map((d) => d.doneHeight));
    s.maxDoneLag = Math.max(s.maxDoneLag, r.doneLag);
    s.resends += r.resends;
    s.paraTxs += r.paraTxs;
    s.outages += r.outages.length;
    s.virtualMs += r.endMs;
    if (r.violations.length > 0) {
      s.violations += r.violations.length;
      const traced = await runParaSimulation({ ...base, trace: true });
      s.failures.push({ seed, plan: describePlan(r.main.plan) + (r.outages.length === 0 ? "" : ` para-outages(${r.outages.map((o) => `${o.node}@${o.atMs}+${o.forMs}`).join(" ")})`), violations: r.violations, trace: minimalTrace(traced.main, r.violations[0]!) });
      if (s.failures.length >= maxFailures) break;
    }
    s.wallMs = clock() - t0;
    opts.onProgress?.(i + 1, s);
  }
  s.wallMs = clock() - t0;
  return s;
}
