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
import { runGeoSweep } from "../sim/geoSweep.js";
import type { GeoFault } from "../sim/geoSimulation.js";
import type { ScenarioKind } from "../sim/scenario.js";
import { maxFaulty } from "../domain/quorum.js";

export const GEO_FLAGS = ["clusters", "geo-faults", "remote-timeout-ms"];

export interface GeoSimConfig {
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
      `quire sim: clusters=${clusters} n=${c.validators} scenario=${c.scenario} views=${c.views} geo-faults=${mode} remote-timeout=${remoteTimeoutMs} ms`,
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
