/**
 * Leader modes under a crashed or misbehaving validator (issue 15, 6b): the same seeds run once per mode, with one
 * validator faulty from the start and a happy network otherwise, so the only difference between the runs is who leads.
 * The fault is `crash` (crash-stopped at 0 ms: its links drop, so its views cost only the shell's leader-down grace) or
 * `withhold` (the Byzantine `withhold-proposal` behaviour: it votes like anyone but shows its proposals to f + 1
 * replicas only, so each view it leads costs a whole view timer).
 * What it measures, in virtual time: committed views per second once the scoring window has passed (at a live
 * replica: the blocks it committed after the first one of view >= SCORING_WINDOW_VIEWS, over the time from that commit
 * to its last), the same over the whole run (its committed height over the run's virtual duration), and the views the
 * crashed validator leads once the window has passed — asked of a live replica's election at the end of the run, for
 * every view from SCORING_WINDOW_VIEWS to the highest one reached.
 *
 * The target (`quire sim --validators 7 --scenario crash-stop --leader-mode-compare`): in `reputation` mode the crashed
 * validator leads no view after the window, and commits at least 1.3 × round robin's rate.
 */
import { DEFAULT_REPUTATION, LEADER_MODES } from "../consensus/leaderElection.js";
import type { LeaderMode } from "../consensus/leaderElection.js";
import { runSimulation } from "./simulation.js";
import type { SimResult } from "./simulation.js";

export type LeaderModeFault = "crash" | "withhold";

/** After this many views every history-based mode has a full window behind its lag (12 + 8 by default, plus one). */
export const SCORING_WINDOW_VIEWS = DEFAULT_REPUTATION.windowBlocks + DEFAULT_REPUTATION.lagViews + 1;

export interface LeaderModeRunOptions {
  readonly validators: number;
  readonly seed: number;
  readonly views: number;
  readonly leaderMode: LeaderMode;
  /** The faulty validator (default: `seed mod validators`). */
  readonly crashed?: number;
  /** Default "crash". */
  readonly fault?: LeaderModeFault;
}

export interface LeaderModeRun {
  readonly seed: number;
  readonly crashed: number;
  readonly result: SimResult;
  /** Over the whole run. */
  readonly committedViewsPerSecond: number;
  /** After the window: committed blocks and the virtual ms they took. */
  readonly steady: { readonly blocks: number; readonly ms: number };
  /** Views in `SCORING_WINDOW_VIEWS..maxView` whose leader is the crashed validator, by a live replica's election. */
  readonly crashedLeadsAfterWindow: number;
}

/** One seed in one mode, with validator `crashed` faulty from time 0. */
export function runLeaderMode(o: LeaderModeRunOptions): LeaderModeRun {
  const crashed = o.crashed ?? o.seed % o.validators;
  const result = runSimulation({
    validators: o.validators,
    seed: o.seed,
    kinds: ["happy"],
    views: o.views,
    leaderMode: o.leaderMode,
    plan: (d) =>
      o.fault === "withhold"
        ? { ...d, kinds: ["happy", "withhold"], byzantine: new Map([[crashed, "withhold-proposal"]]) }
        : { ...d, kinds: ["happy", "crash-stop"], crashes: [{ instance: crashed, atMs: 0, restartAtMs: null, cutAfterIo: 0 }] },
  });
  const live = result.replicas.find((r, i) => i !== crashed && r.up && r.stack !== null);
  let leads = 0;
  if (live !== undefined) for (let v = SCORING_WINDOW_VIEWS; v <= result.maxView; v++) if (live.stack!.shell.leader(v) === crashed) leads++;
  const log = live === undefined ? [] : result.recorder.commits[result.replicas.indexOf(live)]!;
  const first = log.findIndex((c) => c.view >= SCORING_WINDOW_VIEWS);
  const steady = first < 0 || first === log.length - 1 ? { blocks: 0, ms: 0 } : { blocks: log.length - 1 - first, ms: log[log.length - 1]!.at - log[first]!.at };
  return { seed: o.seed, crashed, result, committedViewsPerSecond: result.committedHeight / (result.endMs / 1000), steady, crashedLeadsAfterWindow: leads };
}

export interface LeaderModeRow {
  readonly mode: LeaderMode;
  readonly runs: number;
  /** After the window: summed steady blocks over summed steady virtual seconds. */
  readonly committedViewsPerSecond: number;
  /** Whole runs: summed committed heights over summed virtual seconds. */
  readonly wholeRunViewsPerSecond: number;
  readonly crashedLeadsAfterWindow: number;
  readonly violations: number;
}

export interface LeaderModeComparison {
  readonly validators: number;
  readonly fault: LeaderModeFault;
  readonly seeds: readonly number[];
  readonly views: number;
  readonly rows: readonly LeaderModeRow[];
  /** reputation ÷ round-robin committed views per second after the window (null if either mode was not run). */
  readonly reputationOverRoundRobin: number | null;
}

/** Every mode over the same seeds (`firstSeed..firstSeed + seeds - 1`). */
export function compareLeaderModes(o: {
  readonly validators: number;
  readonly seeds: number;
  readonly firstSeed: number;
  readonly views: number;
  readonly fault?: LeaderModeFault;
  readonly modes?: readonly LeaderMode[];
}): LeaderModeComparison {
  const fault = o.fault ?? "crash";
  const seeds = Array.from({ length: o.seeds }, (_, i) => o.firstSeed + i);
  const rows = (o.modes ?? LEADER_MODES).map((mode): LeaderModeRow => {
    let height = 0;
    let ms = 0;
    let steadyBlocks = 0;
    let steadyMs = 0;
    let leads = 0;
    let violations = 0;
    for (const seed of seeds) {
      const r = runLeaderMode({ validators: o.validators, seed, views: o.views, leaderMode: mode, fault });
      height += r.result.committedHeight;
      ms += r.result.endMs;
      steadyBlocks += r.steady.blocks;
      steadyMs += r.steady.ms;
      leads += r.crashedLeadsAfterWindow;
      violations += r.result.violations.length;
    }
    return { mode, runs: seeds.length, committedViewsPerSecond: steadyMs === 0 ? 0 : steadyBlocks / (steadyMs / 1000), wholeRunViewsPerSecond: height / (ms / 1000), crashedLeadsAfterWindow: leads, violations };
  });
  const rate = (m: LeaderMode) => rows.find((r) => r.mode === m)?.committedViewsPerSecond;
  const rep = rate("reputation");
  const rr = rate("round-robin");
  return { validators: o.validators, fault, seeds, views: o.views, rows, reputationOverRoundRobin: rep === undefined || rr === undefined || rr === 0 ? null : rep / rr };
}

/** The comparison as a table, with the target's verdict. */
export function leaderModeReport(c: LeaderModeComparison): string {
  const lines = [
    `leader modes: n=${c.validators}, one validator ${c.fault === "crash" ? "crash-stopped at 0 ms" : "withholding its proposals"}, seeds ${c.seeds[0]}..${c.seeds.at(-1)}, ${c.views} views, window ${SCORING_WINDOW_VIEWS} views`,
    `  ${"mode".padEnd(14)} ${"views/s after window".padStart(21)} ${"views/s whole run".padStart(18)} ${"faulty leads after window".padStart(27)} ${"violations".padStart(11)}`,
    ...c.rows.map(
      (r) =>
        `  ${r.mode.padEnd(14)} ${r.committedViewsPerSecond.toFixed(2).padStart(21)} ${r.wholeRunViewsPerSecond.toFixed(2).padStart(18)} ${String(r.crashedLeadsAfterWindow).padStart(27)} ${String(r.violations).padStart(11)}`,
    ),
  ];
  const rep = c.rows.find((r) => r.mode === "reputation");
  if (c.reputationOverRoundRobin !== null && rep !== undefined) {
    const ratio = `  reputation / round-robin: ${c.reputationOverRoundRobin.toFixed(2)}×`;
    // The target is for a crashed validator; a withholding one is a failed proposer, weighted ~0 rather than 0.
    if (c.fault === "crash") lines.push(`${ratio} (target >= 1.3×, and 0 views led by the crashed validator): ${c.reputationOverRoundRobin >= 1.3 && rep.crashedLeadsAfterWindow === 0 ? "met" : "NOT met"}`);
    else lines.push(ratio);
  }
  return lines.join("\n") + "\n";
}
