/**
 * `quire sim --clusters Z`: geo-cluster seed sweeps (src/sim/geoSimulation.ts, node/geo/README.md).
 *
 *   quire sim --clusters 3 --validators 4 --scenario geo --seeds 2000          # faults inside clusters + geo faults
 *   quire sim --clusters 3 --validators 4 --scenario geo,happy --geo-faults silent --seeds 20
 *   quire sim --clusters 3 --scenario geo,crash-restart --geo-faults none --remote-timeout-ms 500
 *
 * `--scenario geo[,kinds]`: each cluster draws its own fault plan from the kinds (default random), as `--shards` runs
 * do. `--geo-faults random|silent|partial|none` (default random): silent = one member of cluster 1 never shares nor
 * rebroadcasts (a silent cluster leader whenever it proposes); partial = it shares with only f members per cluster;
 * random = per cluster, half the seeds, one of the two on a member the plan already made faulty (or any member).
 * Exit code 0 when no run broke a cluster's safety, validity or liveness or the global order; 1 otherwise.
 */
import { writeFileSync } from "node:fs";
import { choiceFlag, intFlag, stringFlag, UsageError } from "./args.js";
import type { ParsedArgs } from "./args.js";
import { runGeoCurve, runGeoSweep } from "../sim/geoSweep.js";
import { DEFAULT_WAN, describeWan } from "../sim/wan.js";
import type { WanConfig } from "../sim/wan.js";
import type { GeoFault } from "../sim/geoSimulation.js";
import type { ScenarioKind } from "../sim/scenario.js";
import { maxFaulty } from "../domain/quorum.js";

export const GEO_FLAGS = ["clusters", "geo-faults", "remote-timeout-ms", "geo-curve"];

/** What every `quire sim` sweep reads from the common flags (sim.ts adds `para`, geo runs the WAN). */
export interface SweepConfig {
  readonly validators: number;
  readonly seeds: number;
  readonly firstSeed: number;
  readonly views: number;
  readonly byzantine: number | undefined;
  readonly scenario: string;
  readonly kinds: readonly ScenarioKind[] | "random";
  readonly json: string | undefined;
  readonly quiet: boolean;
}

export interface GeoSimConfig extends SweepConfig {
  /** The WAN flags (one region per cluster: `--regions` is ignored), or null: 1 ms inside a cluster, 50 ms between. */
  readonly wan: WanConfig | null;
}

export function geoSim(args: ParsedArgs, c: GeoSimConfig): number {
  const clusters = intFlag(args, "clusters")!;
  if (clusters < 1 || clusters > 64) throw new UsageError("--clusters must be in 1..64");
  const mode = choiceFlag(args, "geo-faults", ["random", "silent", "partial", "none"] as const, "random");
  const remoteTimeoutMs = intFlag(args, "remote-timeout-ms", 1_000)!;
  if (remoteTimeoutMs < 50) throw new UsageError("--remote-timeout-ms must be >= 50");
  if ((mode === "silent" || mode === "partial") && (clusters < 2 || maxFaulty(c.validators) < 1)) throw new UsageError(`--geo-faults ${mode} needs --clusters >= 2 and --validators >= 4`);
  const faults: readonly GeoFault[] | "random" = mode === "random" ? "random" : mode === "none" ? [] : [{ cluster: 1, member: 1, behaviour: mode }];
  const fmt = (n: number): string => n.toLocaleString("en-US");
  let last = performance.now();
  const s = runGeoSweep({
    clusters,
    validators: c.validators,
    seeds: c.seeds,
    firstSeed: c.firstSeed,
    kinds: c.kinds,
    views: c.views,
    ...(c.byzantine !== undefined ? { byzantine: c.byzantine } : {}),
    remoteTimeoutMs,
    faults,
    ...(c.wan !== null ? { wanConfig: c.wan } : {}),
    clock: () => performance.now(),
    onProgress: (done, sum) => {
      if (c.quiet || performance.now() - last < 2_000) return;
      last = performance.now();
      process.stderr.write(`quire sim --clusters: ${fmt(done)}/${fmt(c.seeds)} runs, ${sum.violations} violations, ${(sum.wallMs / 1000).toFixed(1)} s\n`);
    },
  });
  const k = s.counters;
  process.stdout.write(
    [
      `quire sim: clusters=${clusters} n=${c.validators} scenario=${c.scenario} views=${c.views} geo-faults=${mode} remote-timeout=${remoteTimeoutMs} ms${c.wan !== null ? ` wan: ${describeWan({ ...c.wan, regions: clusters })}` : ""}`,
      `  runs        ${fmt(s.runs)} (${fmt(s.geoFaultRuns)} with a silent or partial sharer)`,
      `  rounds      ${fmt(s.rounds)} executed in the global order (summed over runs), checked at every honest replica`,
      `  sharing     ${fmt(k["share_sent"] ?? 0)} shares sent, ${fmt(k["share_new"] ?? 0)} accepted new, ${fmt(k["share_refused"] ?? 0)} refused; ${fmt(k["pull_sent"] ?? 0)} pulls`,
      `  remote VC   ${fmt(k["rvc_sent"] ?? 0)} requests sent, ${fmt(k["rvc_accepted"] ?? 0)} accepted, ${fmt(k["reshare_sent"] ?? 0)} re-shares, ${fmt(k["remote_timeout"] ?? 0)} leader timeouts`,
      `  longest wait for one cluster's block: ${fmt(s.longestRemoteWaitMs)} ms (seed ${s.longestWaitSeed}; remote timeout ${remoteTimeoutMs} ms)`,
      `  virtual     ${(s.virtualMs / 1000).toFixed(1)} s simulated in ${(s.wallMs / 1000).toFixed(1)} s wall`,
      `  violations  ${s.violations}${s.failures.length > 0 ? ` in ${s.failures.length} failing seed(s)` : ""}`,
      "",
    ].join("\n"),
  );
  for (const f of s.failures) {
    process.stdout.write(`\nFAILED seed ${f.seed}: geo faults ${JSON.stringify(f.faults)}\n`);
    f.plans.forEach((p, i) => process.stdout.write(`  cluster ${i}: ${p}\n`));
    process.stdout.write(`  replay: quire sim --clusters ${clusters} --validators ${c.validators} --seeds 1 --seed ${f.seed} --scenario ${c.scenario} --views ${c.views} --geo-faults ${mode} --remote-timeout-ms ${remoteTimeoutMs}\n`);
    for (const v of f.violations.slice(0, 5)) process.stdout.write(`  ${v.kind} violation: ${v.message}\n`);
  }
  if (c.json !== undefined) writeFileSync(c.json, JSON.stringify({ clusters, ...c, mode, remoteTimeoutMs, summary: s }, null, 2));
  return s.violations === 0 ? 0 : 1;
}

/**
 * `quire sim --geo-curve 2,4,8 --validators N [WAN flags]`: for each Z, Z clusters of N validators (one WAN region
 * each, saturating clients, the calibrated CPU-cost model) against one flat cluster of Z·N validators on the same
 * links — committed (flat) and globally executed (geo) tx/s in virtual time, and their ratio.
 */
export function geoCurve(args: ParsedArgs, validators: number, seed: number, wan: WanConfig | null, json: string | undefined): number {
  const list = (stringFlag(args, "geo-curve") ?? "").split(",").map((x) => Number(x.trim()));
  if (list.length === 0 || list.some((z) => !Number.isInteger(z) || z < 1 || z > 16)) throw new UsageError("--geo-curve takes cluster counts in 1..16, e.g. 2,4,8");
  const w = wan ?? DEFAULT_WAN;
  process.stdout.write(`quire sim --geo-curve: ${validators} validators per cluster, one region per cluster, ${describeWan({ ...w, regions: list[list.length - 1]! })}, calibrated costs, saturating load\n`);
  process.stdout.write(`  clusters   geo (global order) tx/s   flat ${"Z·N"} tx/s   ratio   violations   wall\n`);
  const rows = runGeoCurve(
    {
      clusters: list,
      validators,
      seed,
      wan: w,
      onRow: (r) => process.stdout.write(`  ${String(r.clusters).padStart(8)}   ${Math.round(r.geoTxPerSec).toLocaleString("en-US").padStart(23)}   ${Math.round(r.flatTxPerSec).toLocaleString("en-US").padStart(13)}   ${r.ratio.toFixed(2).padStart(5)}   ${String(r.violations).padStart(10)}   ${(r.wallMs / 1000).toFixed(1)} s\n`),
    },
    () => performance.now(),
  );
  if (json !== undefined) writeFileSync(json, JSON.stringify({ validators, seed, wan: w, rows }, null, 2));
  return rows.every((r) => r.violations === 0) ? 0 : 1;
}
