/**
 * `quire sim`: deterministic consensus simulations, many seeds, one summary.
 *
 *   quire sim --validators 4 --seeds 500 --scenario random --views 30
 *   quire sim --validators 4 --byzantine 2 --scenario twins --seeds 20     # more than f Byzantine: must fail
 *   quire sim --seeds 100000 --json soak.json                              # soak
 *   quire sim --seeds 100 --bls-every 10                                   # every 10th run with real BLS (blst)
 *   quire sim --validators 4 --para 4 --seeds 200 --scenario random        # multi-chain: main + 4 para nodes
 *   quire sim --validators 4 --para 4 --seeds 200 --scenario random --para-outages random   # + para node outages
 *   quire sim --para 4 --byzantine-paras 3 --para-policy shared --scenario happy --seeds 3   # 2/3 collude: must fail
 *
 *   quire sim --shards 4 --validators 4 --seeds 20 --scenario random   # 4 shards on one clock, faults inside each
 *   quire sim --curve 1,2,4,8,16 --validators 4                         # shard scaling under the CPU-cost model
 *   quire sim --curve 1,8 --costs txExecuteUs=248                       # … with a cost overridden
 *   quire sim --curve 1,2,4,8,16 --cross 0.2                            # … with 20 % real cross-shard transfers
 *   quire sim --curve 1,2,4,8,16 --cross 0.2 --stand-in                 # … with the synthetic stand-in mix (phase 1)
 *   quire sim --shards 3 --validators 4 --scenario cross-shard --seeds 1000   # real xshard module + atomicity checker
 *   quire sim --validators 4 --scenario reconfig --seeds 2000 --views 60    # validator-set changes every 20 views
 *   quire sim --clusters 3 --validators 4 --scenario geo --seeds 2000       # geo clusters: global order (simGeo.ts)
 *   quire sim --validators 4 --scenario reconfig,crash-restart,twins --spares 2  # … under only these faults
 *   quire sim --validators 7 --scenario committee,crash-restart --committee 5 --committee-every 20 --views 300
 *                                                   # committees by reputation: the top 5 of 7 sign, rotated every 20
 *   quire sim --validators 4 --seeds 20 --scenario crash-stop --leader-mode reputation   # genesis consensus.leaderMode
 *   quire sim --validators 7 --seeds 5 --scenario crash-stop --leader-mode-compare      # every mode, one crashed (sim/leaderModes.ts)
 *   quire sim --validators 7 --seeds 5 --scenario withhold --leader-mode-compare        # … one withholding its proposals
 *   quire sim --shards 3 --scenario cross-shard,crash-restart,lossy     # … with only these faults inside each shard
 *   quire sim --validators 16 --regions 4 --wan-inter 50-200 --seeds 20     # one flat cluster over a WAN (src/sim/wan.ts)
 *   quire sim --validators 16 --regions 4 --wan-inter 50-200 --bandwidth-mbps 100 --throughput   # its committed tx/s
 *   quire sim --validators 16 --regions 4 --throughput --block-txs 1024       # … with blocks of up to 1,024 txs
 *
 * With `--shards S` (or `--curve`) every run is S shard chains of N replicas (src/sim/shardSimulation.ts) on one
 * virtual clock, each with its own chain id, keys and scenario faults, a client per shard (`--load RATE|saturate`),
 * and the CPU-cost model of src/sim/costModel.ts (`--costs off`, or `key=value,…` over the calibrated defaults);
 * committed tx/s are counted in virtual time over `--window-ms` after `--warmup-ms`.
 *
 * With `--para P` each run is a multi-chain run (src/sim/paraSimulation.ts): the main chain's replicas run
 * kv + accounts + paracross, P para nodes (real BLS, blst) follow it on the same virtual clock, and the paracross
 * invariant (every done height contiguous and agreed by ≥ 2/3, the honest para nodes' commit) is checked with the
 * main chain's own.
 *
 * With WAN flags (`--regions Z --wan-intra MS --wan-inter MIN-MAX --jitter MS --loss P --bandwidth-mbps R|off
 * --wan-seed S`, any one of them) the validators are spread over Z regions in contiguous blocks and every run's links
 * follow the model (src/sim/wan.ts); `--throughput` measures instead committed tx/s of that flat cluster under the
 * CPU-cost model and a saturating client (`measureFlatWan`).
 *
 * Exit code 0 when every run kept safety, validity and liveness; 1 on any violation (the failing seeds are printed
 * with a replay command and a minimal trace); 2 on bad usage.
 */
import { writeFileSync } from "node:fs";
import { checkFlags, choiceFlag, intFlag, parseArgs, stringFlag, UsageError } from "./args.js";
import type { ParsedArgs } from "./args.js";
import { runParaSweep } from "../sim/paraSweep.js";
import type { ParaSweepSummary } from "../sim/paraSweep.js";
import { BLS_BACKEND_NAMES, loadBlsBackend } from "../crypto/bls/backend.js";
import { blsSimCrypto } from "../sim/blsCrypto.js";
import { SCENARIO_KINDS } from "../sim/scenario.js";
import type { ScenarioKind } from "../sim/scenario.js";
import { runSweep } from "../sim/runner.js";
import type { SweepSummary } from "../sim/runner.js";
import { CALIBRATED_COSTS } from "../sim/costModel.js";
import type { CostModel } from "../sim/costModel.js";
import { measureFlatWan, runCrossShardSweep, runRealShardCurve, runShardCurve, runShardSweep } from "../sim/shardSweep.js";
import type { CurveRow } from "../sim/shardSweep.js";
import { GEO_FLAGS, geoCurve, geoSim } from "./simGeo.js";
import type { SweepConfig } from "./simGeo.js";
import { describeWan, parseWanFlags, WAN_FLAGS, WanError, wanFlagsText, wanSpec } from "../sim/wan.js";
import type { WanConfig } from "../sim/wan.js";
import { LEADER_MODES } from "../consensus/leaderElection.js";
import { checkCommittee, ValsetError } from "../chain/app/validators/module.js";
import { compareLeaderModes, leaderModeReport } from "../sim/leaderModes.js";

const FLAGS = ["validators", "seeds", "seed", "scenario", "views", "byzantine", "json", "quiet", "bls-every", "bls-backend", "para", "byzantine-paras", "para-policy", "para-height", "para-outages", "shards", "curve", "costs", "load", "warmup-ms", "window-ms", "cross", "relay-ms", "xfer-rate", "invalid", "load-ms", "settle-ms", "stand-in", "spares", "committee", "committee-every", ...GEO_FLAGS, ...WAN_FLAGS, "throughput", "block-txs", "leader-mode", "leader-mode-compare"];
const SHARD_FLAGS = ["shards", "curve", "costs", "load", "warmup-ms", "window-ms", "cross", "relay-ms", "xfer-rate", "invalid", "load-ms", "settle-ms", "stand-in", "spares"];

function parseKinds(s: string): readonly ScenarioKind[] | "random" {
  if (s === "random") return "random";
  const kinds = s.split(",").map((k) => k.trim());
  for (const k of kinds) if (!(SCENARIO_KINDS as readonly string[]).includes(k)) throw new UsageError(`--scenario: unknown kind "${k}" (expected random or a comma list of ${SCENARIO_KINDS.join(", ")})`);
  return kinds as ScenarioKind[];
}

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

export async function simCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ["quiet", "stand-in", "throughput", "leader-mode-compare"]);
  checkFlags(args, FLAGS);
  const validators = intFlag(args, "validators", 4)!;
  const seeds = intFlag(args, "seeds", 100)!;
  const firstSeed = intFlag(args, "seed", 1)!;
  // Cross-shard seeds run real BLS: 10 views (plus the drain) by default instead of 30.
  const views = intFlag(args, "views", (stringFlag(args, "scenario") ?? "").includes("cross-shard") ? 10 : 30)!;
  const byzantine = intFlag(args, "byzantine");
  const scenario = stringFlag(args, "scenario", "random")!;
  // "cross-shard" is a workload, not a fault: the other kinds listed (default random) are each shard's faults.
  const scenarioParts = scenario.split(",").map((k) => k.trim());
  const crossShard = scenarioParts.includes("cross-shard");
  // "reconfig" is a workload too: validator-set changes every 20 views (src/sim/reconfig.ts) under the other kinds.
  const reconfig = scenarioParts.includes("reconfig");
  // "committee": committees by reputation (validators module, genesis consensus.committee) under the other kinds.
  const committee = scenarioParts.includes("committee");
  // "geo": geo clusters (--clusters Z, src/cli/simGeo.ts) with the other kinds inside every cluster.
  const geo = scenarioParts.includes("geo");
  const faultText = scenarioParts.filter((k) => k !== "cross-shard" && k !== "reconfig" && k !== "geo" && k !== "committee").join(",");
  const kinds = parseKinds((crossShard || reconfig || geo || committee) && faultText === "" ? "random" : faultText);
  if (args.flags.has("geo-curve")) return geoCurve(args, intFlag(args, "validators", 4)!, intFlag(args, "seed", 1)!, wanFlags(args), stringFlag(args, "json"));
  if (geo !== args.flags.has("clusters")) throw new UsageError("--clusters and --scenario geo go together");
  if (!geo) for (const f of GEO_FLAGS) if (args.flags.has(f)) throw new UsageError(`--${f} needs --clusters`);
  if (crossShard && !args.flags.has("shards")) throw new UsageError("--scenario cross-shard needs --shards S");
  const json = stringFlag(args, "json");
  const quiet = args.flags.get("quiet") === true;
  // Every K-th run (K = --bls-every, 0 = none) signs and verifies with real BLS instead of the fast test scheme.
  const blsEvery = intFlag(args, "bls-every", 0)!;
  const blsBackendName = choiceFlag(args, "bls-backend", BLS_BACKEND_NAMES, "blst");
  const backend = blsEvery > 0 ? await loadBlsBackend(blsBackendName) : null;
  if (validators < 1 || validators > 256) throw new UsageError("--validators must be in 1..256");
  if (seeds < 1) throw new UsageError("--seeds must be >= 1");
  if (firstSeed > 0xffffffff) throw new UsageError("--seed must fit in 32 bits");
  if (views < 1) throw new UsageError("--views must be >= 1");
  if (byzantine !== undefined && byzantine > validators) throw new UsageError("--byzantine cannot exceed --validators");
  const para = intFlag(args, "para");
  const wan = wanFlags(args);
  if (geo) {
    if (para !== undefined || blsEvery > 0 || reconfig || crossShard || args.flags.has("shards") || args.flags.has("curve")) throw new UsageError("--clusters does not combine with --para, --bls-every, --shards, --curve, reconfig or cross-shard");
    if (args.flags.has("throughput") || args.flags.has("block-txs")) throw new UsageError("--throughput and --block-txs apply to one flat cluster (geo: --geo-curve)");
    return geoSim(args, { validators, seeds, firstSeed, views, byzantine, scenario, kinds, json, quiet, wan });
  }
  if (wan !== null) {
    if (para !== undefined || crossShard || reconfig || args.flags.has("shards") || args.flags.has("curve")) throw new UsageError("the WAN flags apply to one flat cluster: not with --shards, --curve, --para or --scenario cross-shard/reconfig");
    const blockTxs = intFlag(args, "block-txs");
    if (blockTxs !== undefined && (blockTxs < 1 || !args.flags.has("throughput"))) throw new UsageError("--block-txs (>= 1) applies to --throughput");
    if (args.flags.has("throughput")) return wanThroughput(validators, firstSeed, wan, blockTxs, json);
  } else if (args.flags.has("throughput") || args.flags.has("block-txs")) throw new UsageError("--throughput and --block-txs need a WAN flag (e.g. --regions 4)");
  if (args.flags.has("shards") || args.flags.has("curve")) {
    if (para !== undefined || blsEvery > 0) throw new UsageError("--shards/--curve do not combine with --para or --bls-every");
    const c = { validators, seeds, firstSeed, views, byzantine, scenario, kinds, json, quiet, para: 0 };
    if (crossShard) return crossShardSim(args, c);
    return shardSim(args, c);
  }
  for (const f of SHARD_FLAGS) if (args.flags.has(f)) throw new UsageError(`--${f} needs --shards or --curve`);
  if (para !== undefined) {
    if (blsEvery > 0) throw new UsageError("--bls-every does not apply to --para runs (their para commits are always BLS)");
    return paraSim(args, { validators, seeds, firstSeed, views, byzantine, scenario, kinds, json, quiet, para });
  }
  for (const f of ["byzantine-paras", "para-policy", "para-height", "para-outages"]) if (args.flags.has(f)) throw new UsageError(`--${f} needs --para`);
  const spares = intFlag(args, "spares");
  if (spares !== undefined && !reconfig) throw new UsageError("--spares needs --scenario reconfig");
  if (reconfig && (spares ?? 1) < 1) throw new UsageError("--spares must be >= 1");
  const leaderMode = choiceFlag(args, "leader-mode", LEADER_MODES, "skip-inactive");
  if (args.flags.get("leader-mode-compare") === true) {
    const fault = scenarioParts.includes("withhold") ? "withhold" : "crash";
    process.stdout.write(leaderModeReport(compareLeaderModes({ validators, seeds, firstSeed, fault, views: args.flags.has("views") ? views : 200 })));
    return 0;
  }
  const committeeSize = intFlag(args, "committee");
  const committeeEvery = intFlag(args, "committee-every", 20)!;
  if (committee !== (committeeSize !== undefined)) throw new UsageError("--committee M and --scenario committee go together");
  if (committee && reconfig) throw new UsageError("--scenario committee does not combine with reconfig (the unit tests cover changes under a committee)");
  if (!committee && args.flags.has("committee-every")) throw new UsageError("--committee-every needs --scenario committee");
  if (committeeSize !== undefined) {
    try {
      checkCommittee({ size: committeeSize, everyHeights: committeeEvery }, validators);
    } catch (e) {
      if (e instanceof ValsetError) throw new UsageError(`--committee/--committee-every: ${e.message}`);
      throw e;
    }
  }
  const reconfigOpts =
    committeeSize !== undefined
      ? { bls: backend ?? (await loadBlsBackend(blsBackendName)), spares: 0, committee: { size: committeeSize, everyHeights: committeeEvery } }
      : reconfig
        ? { bls: backend ?? (await loadBlsBackend(blsBackendName)), spares: spares ?? 1, everyViews: 20 }
        : undefined;

  let lastReport = performance.now();
  const cpu0 = process.cpuUsage();
  const summary = runSweep({
    clock: () => performance.now(),
    validators,
    seeds,
    firstSeed,
    kinds,
    views,
    ...(byzantine !== undefined ? { byzantine } : {}),
    ...(reconfigOpts !== undefined ? { reconfig: reconfigOpts } : {}),
    ...(wan !== null ? { wan: wanSpec(wan, validators) } : {}),
    leaderMode,
    cryptoFor: (seed, i) => (backend !== null && i % blsEvery === 0 ? blsSimCrypto(backend, validators, seed) : undefined),
    onProgress: (done, s) => {
      if (quiet || performance.now() - lastReport < 2_000) return;
      lastReport = performance.now();
      process.stderr.write(`quire sim: ${fmt(done)}/${fmt(seeds)} runs, ${fmt(s.commits)} commits, ${s.violations} violations, ${(s.wallMs / 1000).toFixed(1)} s\n`);
    },
  });

  const cpu = process.cpuUsage(cpu0);
  summary.cpuMs = (cpu.user + cpu.system) / 1000;
  const replay = (seed: number, crypto: string): string =>
    `quire sim --validators ${validators} --seeds 1 --seed ${seed} --scenario ${scenario} --views ${views}${spares !== undefined ? ` --spares ${spares}` : ""}${leaderMode !== "skip-inactive" ? ` --leader-mode ${leaderMode}` : ""}${byzantine !== undefined ? ` --byzantine ${byzantine}` : ""}${crypto.startsWith("bls-") ? ` --bls-every 1 --bls-backend ${blsBackendName}` : ""}${wan !== null ? ` ${wanFlagsText(wan)}` : ""}`;
  if (wan !== null) process.stdout.write(`quire sim: WAN ${describeWan(wan)}\n`);
  process.stdout.write(report(summary, { validators, scenario, views, byzantine }));
  for (const f of summary.failures) {
    process.stdout.write(`\nFAILED seed ${f.seed} (${f.crypto}): ${f.plan}\n  replay: ${replay(f.seed, f.crypto)}\n`);
    for (const v of f.violations.slice(0, 5)) process.stdout.write(`  ${v.kind} violation: ${v.message}\n`);
    if (f.violations.length > 5) process.stdout.write(`  … and ${f.violations.length - 5} more\n`);
    process.stdout.write(`  minimal trace:\n${f.trace.map((l) => `    ${l}`).join("\n")}\n`);
  }
  if (json !== undefined) {
    writeFileSync(json, JSON.stringify({ command: "sim", config: { validators, seeds, firstSeed, scenario, views, byzantine: byzantine ?? null, blsEvery, blsBackend: blsBackendName, wan }, ...summary, committedViewsPerSecond: summary.commits / (summary.wallMs / 1000), committedViewsPerCpuSecond: summary.commits / (summary.cpuMs / 1000) }, null, 2) + "\n");
  }
  return summary.violations > 0 ? 1 : 0;
}

/** The WAN flags (src/sim/wan.ts) as a config, null without any; a bad value is a usage error. */
function wanFlags(args: ParsedArgs): WanConfig | null {
  try {
    return parseWanFlags((f) => stringFlag(args, f));
  } catch (e) {
    if (e instanceof WanError) throw new UsageError(e.message);
    throw e;
  }
}

/** `quire sim --validators N <WAN flags> --throughput`: committed tx/s of one flat cluster over the WAN (`measureFlatWan`). */
function wanThroughput(validators: number, seed: number, wan: WanConfig, blockMaxTxs: number | undefined, json: string | undefined): number {
  const t0 = performance.now();
  const r = measureFlatWan({ validators, seed, wan, ...(blockMaxTxs === undefined ? {} : { blockMaxTxs }) });
  const up = r.uplinkUtilisation;
  process.stdout.write(
    [
      `quire sim --throughput: n=${validators} flat, WAN ${describeWan(wan)}, CPU-cost model calibrated, saturating client, blocks of ≤ ${blockMaxTxs ?? 256} txs, seed ${seed}`,
      `  throughput  ${fmt(Math.round(r.txPerSec))} committed tx/s (virtual; height ${fmt(r.committedHeight)} at ${(r.endMs / 1000).toFixed(1)} s)`,
      `  CPU util    ${(r.utilisation * 100).toFixed(0)} % mean over replicas; uplinks ${up === null ? "unlimited" : `${(up.mean * 100).toFixed(1)} % mean, ${(up.max * 100).toFixed(1)} % busiest`}`,
      `  violations  ${r.violations}    (${((performance.now() - t0) / 1000).toFixed(1)} s wall)`,
      "",
    ].join("\n"),
  );
  if (json !== undefined) writeFileSync(json, JSON.stringify({ command: "sim", config: { validators, seed, wan, throughput: true, blockMaxTxs: blockMaxTxs ?? 256 }, ...r }, null, 2) + "\n");
  return r.violations > 0 ? 1 : 0;
}

function report(s: SweepSummary, c: { validators: number; scenario: string; views: number; byzantine: number | undefined }): string {
  const rate = s.commits / (s.wallMs / 1000);
  const schemes = Object.entries(s.schemes)
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join(", ");
  return [
    `quire sim: n=${c.validators} scenario=${c.scenario} views=${c.views}${c.byzantine !== undefined ? ` byzantine=${c.byzantine}` : ""}`,
    `  runs        ${fmt(s.runs)} (${schemes})`,
    `  commits     ${fmt(s.commits)} (${fmt(Math.round(rate))} committed views/s wall, ${fmt(Math.round(s.commits / (s.cpuMs / 1000)))} per CPU-second)`,
    `  views       ${fmt(s.views)}`,
    `  messages    ${fmt(s.messages)}`,
    `  virtual     ${(s.virtualMs / 1000).toFixed(1)} s simulated in ${(s.wallMs / 1000).toFixed(2)} s wall`,
    `  commit latency (proposal to commit, mean): ${s.commitLatencyMs.first.toFixed(1)} ms at the first replica, ${s.commitLatencyMs.all.toFixed(1)} ms over all`,
    `  first commit after GST: worst ${s.maxFirstCommitAfterGstMs === null ? "n/a" : `${Math.round(s.maxFirstCommitAfterGstMs)} ms`}`,
    ...(s.reconfig?.committee == null
      ? []
      : [`  committee   ${fmt(s.reconfig.committee.rotations)} rotations, ${fmt(s.reconfig.committee.leaves)} members left, ${fmt(s.reconfig.committee.returns)} came back (${fmt(s.reconfig.switches)} epoch switches at honest replicas)`]),
    ...(s.reconfig === null || s.reconfig.committee != null ? [] : [`  set changes ${fmt(s.reconfig.changes)} submitted, ${fmt(s.reconfig.switches)} epoch switches at honest replicas, up to epoch ${s.reconfig.maxEpoch}`]),
    `  violations  ${s.violations}${s.failures.length > 0 ? ` in ${s.failures.length} failing seed(s)` : ""}`,
    "",
  ].join("\n");
}

interface SimConfig extends SweepConfig {
  readonly para: number;
}

/** `quire sim --para P`: multi-chain seeds, the same summary, failure and exit-code conventions as the main sweeps. */
async function paraSim(args: ParsedArgs, c: SimConfig): Promise<number> {
  const byzantineParas = intFlag(args, "byzantine-paras", 0)!;
  const policy = choiceFlag(args, "para-policy", ["distinct", "shared"] as const, "distinct");
  const paraHeight = intFlag(args, "para-height", 20)!;
  // "random": some seeds take one or two para nodes down for a while and rebuild them over their data.
  const outages = choiceFlag(args, "para-outages", ["none", "random"] as const, "none");
  if (c.para < 1 || c.para > 64) throw new UsageError("--para must be in 1..64");
  if (byzantineParas < 0 || byzantineParas > c.para) throw new UsageError("--byzantine-paras must be in 0..--para");
  if (paraHeight < 1) throw new UsageError("--para-height must be >= 1");
  const bls = await loadBlsBackend("blst");
  let lastReport = performance.now();
  const s = await runParaSweep({
    clock: () => performance.now(),
    validators: c.validators,
    paraNodes: c.para,
    seeds: c.seeds,
    firstSeed: c.firstSeed,
    kinds: c.kinds,
    views: c.views,
    ...(c.byzantine !== undefined ? { byzantine: c.byzantine } : {}),
    byzantineParas,
    byzantinePolicy: policy,
    paraHeight,
    ...(outages === "random" ? { paraOutages: "random" as const } : {}),
    bls,
    onProgress: (done, sum) => {
      if (c.quiet || performance.now() - lastReport < 2_000) return;
      lastReport = performance.now();
      process.stderr.write(`quire sim --para: ${fmt(done)}/${fmt(c.seeds)} runs, ${fmt(sum.done)} done para heights, ${sum.violations} violations, ${(sum.wallMs / 1000).toFixed(1)} s\n`);
    },
  });
  const extra = `${c.byzantine !== undefined ? ` --byzantine ${c.byzantine}` : ""}${byzantineParas > 0 ? ` --byzantine-paras ${byzantineParas} --para-policy ${policy}` : ""} --para-height ${paraHeight}${outages === "random" ? " --para-outages random" : ""}`;
  const replay = (seed: number): string => `quire sim --validators ${c.validators} --para ${c.para} --seeds 1 --seed ${seed} --scenario ${c.scenario} --views ${c.views}${extra}`;
  process.stdout.write(paraReport(s, c, byzantineParas, policy, outages));
  for (const f of s.failures) {
    process.stdout.write(`\nFAILED seed ${f.seed}: ${f.plan}\n  replay: ${replay(f.seed)}\n`);
    for (const v of f.violations.slice(0, 5)) process.stdout.write(`  ${v.kind} violation: ${v.message}\n`);
    if (f.violations.length > 5) process.stdout.write(`  … and ${f.violations.length - 5} more\n`);
    process.stdout.write(`  minimal trace:\n${f.trace.map((l) => `    ${l}`).join("\n")}\n`);
  }
  if (c.json !== undefined) {
    const config = { validators: c.validators, para: c.para, seeds: c.seeds, firstSeed: c.firstSeed, scenario: c.scenario, views: c.views, byzantine: c.byzantine ?? null, byzantineParas, paraPolicy: policy, paraHeight, paraOutages: outages };
    writeFileSync(c.json, JSON.stringify({ command: "sim", config, ...s, seedsPerSecond: s.runs / (s.wallMs / 1000) }, null, 2) + "\n");
  }
  return s.violations > 0 ? 1 : 0;
}

function paraReport(s: ParaSweepSummary, c: SimConfig, byzantineParas: number, policy: string, outages: string): string {
  const runs = Math.max(1, s.runs);
  return [
    `quire sim: n=${c.validators} para=${c.para} scenario=${c.scenario} views=${c.views}${c.byzantine !== undefined ? ` byzantine=${c.byzantine}` : ""}${byzantineParas > 0 ? ` byzantine-paras=${byzantineParas} (${policy})` : ""}${outages === "random" ? " para-outages=random" : ""}`,
    `  runs        ${fmt(s.runs)} (${(s.runs / (s.wallMs / 1000)).toFixed(2)} seeds/s wall)`,
    `  main blocks ${fmt(s.mainBlocks)} committed (mean ${(s.mainBlocks / runs).toFixed(1)} per run)`,
    `  para blocks ${fmt(s.paraBlocks)} made, ${fmt(s.done)} done (mean ${(s.done / runs).toFixed(1)} done per run; worst done lag ${s.maxDoneLag})`,
    `  para txs    ${fmt(s.paraTxs)} submitted; commit txs resent ${fmt(s.resends)}; para node outages ${fmt(s.outages)}`,
    `  virtual     ${(s.virtualMs / 1000).toFixed(1)} s simulated in ${(s.wallMs / 1000).toFixed(2)} s wall`,
    `  violations  ${s.violations}${s.failures.length > 0 ? ` in ${s.failures.length} failing seed(s)` : ""}`,
    "",
  ].join("\n");
}

/** `--costs off` or `key=value,…` over the calibrated defaults (µs; byteNs in ns). */
function parseCosts(text: string): CostModel | undefined {
  if (text === "off") return undefined;
  if (text === "calibrated") return CALIBRATED_COSTS;
  const out: Record<string, number> = { ...CALIBRATED_COSTS };
  for (const part of text.split(",")) {
    const [key, value] = part.split("=");
    if (key === undefined || value === undefined || !(key in CALIBRATED_COSTS)) throw new UsageError(`--costs: expected off, calibrated or key=value,… with keys ${Object.keys(CALIBRATED_COSTS).join(", ")}; got "${part}"`);
    const v = Number(value);
    if (!Number.isFinite(v) || v < 0) throw new UsageError(`--costs: ${key} must be a non-negative number`);
    out[key] = v;
  }
  return out as unknown as CostModel;
}

/** `quire sim --shards S` (seed sweep with per-shard checkers) and `quire sim --curve 1,2,4,…` (scaling curve). */
async function shardSim(args: ParsedArgs, c: SimConfig): Promise<number> {
  const costs = parseCosts(stringFlag(args, "costs", "calibrated")!);
  const loadText = stringFlag(args, "load", "saturate")!;
  const load = loadText === "saturate" ? "saturate" : Number(loadText);
  if (load !== "saturate" && !(Number.isFinite(load) && load >= 0)) throw new UsageError("--load must be saturate or a rate in tx/s (0: none)");
  const warmupMs = intFlag(args, "warmup-ms", 1_000)!;
  const windowMs = intFlag(args, "window-ms", 2_000)!;
  if (windowMs < 1) throw new UsageError("--window-ms must be >= 1");
  const curveText = stringFlag(args, "curve");
  if (curveText !== undefined) {
    if (costs === undefined) throw new UsageError("--curve needs the cost model (drop --costs off)");
    const counts = curveText.split(",").map((x) => Number(x.trim()));
    for (const k of counts) if (!Number.isInteger(k) || k < 1 || k > 64) throw new UsageError("--curve: shard counts must be integers in 1..64");
    // The curve measures capacity, not recovery: faults other than "happy" are allowed but the default is happy.
    const kinds = args.flags.has("scenario") ? c.kinds : (["happy"] as const);
    // --cross F (0 too): the real workload (accounts transfers and xshard transfers, real BLS, the node's relayer,
    // src/sim/crossShard.ts); with --stand-in, phase 1's synthetic mix (src/sim/crossShardLoad.ts); neither: KV puts.
    const crossText = stringFlag(args, "cross", "0")!;
    const crossFraction = Number(crossText);
    if (!(crossFraction >= 0 && crossFraction <= 1)) throw new UsageError("--cross must be a fraction in 0..1");
    const real = args.flags.has("cross") && args.flags.get("stand-in") !== true;
    const relayDelayMs = intFlag(args, "relay-ms", 20)!;
    const workload = real ? `real transfers, ${Math.round(crossFraction * 100)} % cross-shard` : args.flags.has("cross") ? `stand-in mix, ${Math.round(crossFraction * 100)} % cross` : "KV puts";
    process.stdout.write(`quire sim --curve: n=${c.validators} per shard, ${workload}, load=${real ? "1,024 transfers in flight" : loadText} per shard, window ${windowMs} ms after ${warmupMs} ms, seed ${c.firstSeed}, scenario ${args.flags.has("scenario") ? c.scenario : "happy"}\n`);
    process.stdout.write(`  shards   completed tx/s (virtual)   per shard min..max     ratio to 1   CPU util   violations   wall\n`);
    const onRow = (r: CurveRow): void => {
      process.stdout.write(
        `  ${String(r.shards).padStart(6)}   ${fmt(Math.round(r.txPerSec)).padStart(24)}   ${`${fmt(Math.round(r.minShardTxPerSec))}..${fmt(Math.round(r.maxShardTxPerSec))}`.padEnd(20)} ${r.ratio.toFixed(2).padStart(10)}   ${`${(r.utilisation * 100).toFixed(0)} %`.padStart(8)}   ${String(r.violations).padStart(10)}   ${(r.wallMs / 1000).toFixed(1)} s\n`,
      );
    };
    const common = { counts, validators: c.validators, seed: c.firstSeed, kinds, costs, warmupMs, windowMs, relayDelayMs, clock: () => performance.now(), onRow };
    const rows = real
      ? await runRealShardCurve({ ...common, crossFraction, bls: await loadBlsBackend("blst") })
      : runShardCurve({ ...common, load, crossFraction });
    if (c.json !== undefined) writeFileSync(c.json, JSON.stringify({ command: "sim", config: { curve: counts, validators: c.validators, seed: c.firstSeed, load, warmupMs, windowMs, costs, crossFraction, relayDelayMs }, rows }, null, 2) + "\n");
    return rows.some((r) => r.violations > 0) ? 1 : 0;
  }
  for (const f of ["cross", "relay-ms", "stand-in", "xfer-rate", "invalid", "load-ms", "settle-ms"]) if (args.flags.has(f)) throw new UsageError(`--${f} applies to --curve or --scenario cross-shard`);
  const shards = intFlag(args, "shards")!;
  if (shards < 1 || shards > 64) throw new UsageError("--shards must be in 1..64");
  let lastReport = performance.now();
  const s = runShardSweep({
    shards,
    validators: c.validators,
    seeds: c.seeds,
    firstSeed: c.firstSeed,
    kinds: c.kinds,
    views: c.views,
    ...(c.byzantine !== undefined ? { byzantine: c.byzantine } : {}),
    ...(costs === undefined ? {} : { costs }),
    load: load === 0 ? undefined : load,
    warmupMs,
    windowMs,
    clock: () => performance.now(),
    onProgress: (done, sum) => {
      if (c.quiet || performance.now() - lastReport < 2_000) return;
      lastReport = performance.now();
      process.stderr.write(`quire sim --shards: ${fmt(done)}/${fmt(c.seeds)} runs, ${sum.violations} violations, ${(sum.wallMs / 1000).toFixed(1)} s\n`);
    },
  });
  const costText = stringFlag(args, "costs", "calibrated")!;
  const extra = `${c.byzantine !== undefined ? ` --byzantine ${c.byzantine}` : ""} --costs ${costText} --load ${loadText} --warmup-ms ${warmupMs} --window-ms ${windowMs}`;
  process.stdout.write(
    [
      `quire sim: shards=${shards} n=${c.validators} scenario=${c.scenario} views=${c.views}${c.byzantine !== undefined ? ` byzantine=${c.byzantine}` : ""} costs=${costText} load=${loadText}`,
      `  runs        ${fmt(s.runs)}`,
      `  blocks      ${fmt(s.blocks)} committed (highest height, summed over shards and runs)`,
      `  throughput  ${fmt(Math.round(s.meanTxPerSec))} committed tx/s (virtual, all shards, mean over runs)`,
      `  virtual     ${(s.virtualMs / 1000).toFixed(1)} s simulated in ${(s.wallMs / 1000).toFixed(2)} s wall`,
      `  violations  ${s.violations}${s.failures.length > 0 ? ` in ${s.failures.length} failing seed(s)` : ""}`,
      "",
    ].join("\n"),
  );
  for (const f of s.failures) {
    process.stdout.write(`\nFAILED seed ${f.seed} (shard ${f.shard}): ${f.plan}\n  replay: quire sim --shards ${shards} --validators ${c.validators} --seeds 1 --seed ${f.seed} --scenario ${c.scenario} --views ${c.views}${extra}\n`);
    for (const v of f.violations.slice(0, 5)) process.stdout.write(`  ${v.kind} violation: ${v.message}\n`);
    process.stdout.write(`  minimal trace:\n${f.trace.map((l) => `    ${l}`).join("\n")}\n`);
  }
  if (c.json !== undefined) writeFileSync(c.json, JSON.stringify({ command: "sim", config: { shards, validators: c.validators, seeds: c.seeds, firstSeed: c.firstSeed, scenario: c.scenario, views: c.views, costs: costs ?? null, load, warmupMs, windowMs }, ...s }, null, 2) + "\n");
  return s.violations > 0 ? 1 : 0;
}

/**
 * `quire sim --shards S --scenario cross-shard[,kinds]`: every shard runs accounts + xshard with real BLS (blst) QCs,
 * clients send intra- and cross-shard transfers (some with an invalid input), the node's relayer carries the records,
 * and after a drain the atomicity checker (src/sim/atomicityChecker.ts) runs with each shard's own checkers.
 */
async function crossShardSim(args: ParsedArgs, c: SimConfig): Promise<number> {
  for (const f of ["curve", "load", "warmup-ms", "window-ms", "stand-in"]) if (args.flags.has(f)) throw new UsageError(`--${f} does not apply to --scenario cross-shard`);
  const shards = intFlag(args, "shards")!;
  if (shards < 1 || shards > 64) throw new UsageError("--shards must be in 1..64");
  const costText = stringFlag(args, "costs", "calibrated")!;
  const costs = parseCosts(costText);
  const crossFraction = Number(stringFlag(args, "cross", "0.5"));
  const invalidFraction = Number(stringFlag(args, "invalid", "0.25"));
  if (!(crossFraction >= 0 && crossFraction <= 1) || !(invalidFraction >= 0 && invalidFraction <= 1)) throw new UsageError("--cross and --invalid must be fractions in 0..1");
  const ratePerShard = intFlag(args, "xfer-rate", 20)!;
  const loadMs = intFlag(args, "load-ms", 1_000)!;
  const settleMs = intFlag(args, "settle-ms", 20_000)!;
  const relayDelayMs = intFlag(args, "relay-ms", 20)!;
  const bls = await loadBlsBackend("blst");
  let lastReport = performance.now();
  const s = await runCrossShardSweep({
    shards,
    validators: c.validators,
    seeds: c.seeds,
    firstSeed: c.firstSeed,
    kinds: c.kinds,
    views: c.views,
    ...(c.byzantine !== undefined ? { byzantine: c.byzantine } : {}),
    ...(costs === undefined ? {} : { costs }),
    bls,
    crossFraction,
    invalidFraction,
    ratePerShard,
    loadMs,
    settleMs,
    relayDelayMs,
    clock: () => performance.now(),
    onProgress: (done, sum) => {
      if (c.quiet || performance.now() - lastReport < 5_000) return;
      lastReport = performance.now();
      process.stderr.write(`quire sim --scenario cross-shard: ${fmt(done)}/${fmt(c.seeds)} runs, ${sum.violations} violations, ${(sum.wallMs / 1000).toFixed(1)} s\n`);
    },
  });
  const extra = `${c.byzantine !== undefined ? ` --byzantine ${c.byzantine}` : ""} --costs ${costText} --cross ${crossFraction} --invalid ${invalidFraction} --xfer-rate ${ratePerShard} --load-ms ${loadMs} --settle-ms ${settleMs} --relay-ms ${relayDelayMs}`;
  process.stdout.write(
    [
      `quire sim: shards=${shards} n=${c.validators} scenario=${c.scenario} views=${c.views}${extra}`,
      `  runs        ${fmt(s.runs)} (${(s.runs / (s.wallMs / 1000)).toFixed(2)} seeds/s wall)`,
      `  blocks      ${fmt(s.blocks)} committed (highest height, summed over shards and runs)`,
      `  transfers   ${fmt(s.intra)} intra-shard, ${fmt(s.cross)} cross-shard (${fmt(s.invalidInputs)} with an invalid input)`,
      `  outcome     ${fmt(s.credited)} credited, ${fmt(s.aborted)} aborted and refunded, ${fmt(s.undecided)} undecided; ${fmt(s.imports)} imports sent`,
      `  virtual     ${(s.virtualMs / 1000).toFixed(1)} s simulated in ${(s.wallMs / 1000).toFixed(2)} s wall`,
      `  violations  ${s.violations}${s.failures.length > 0 ? ` in ${s.failures.length} failing seed(s)` : ""}`,
      "",
    ].join("\n"),
  );
  for (const f of s.failures) {
    process.stdout.write(`\nFAILED seed ${f.seed}:\n  ${f.plans.join("\n  ")}\n  replay: quire sim --shards ${shards} --validators ${c.validators} --seeds 1 --seed ${f.seed} --scenario ${c.scenario} --views ${c.views}${extra}\n`);
    for (const v of f.violations.slice(0, 5)) process.stdout.write(`  ${v.kind} violation: ${v.message}\n`);
  }
  if (c.json !== undefined) writeFileSync(c.json, JSON.stringify({ command: "sim", config: { shards, validators: c.validators, seeds: c.seeds, firstSeed: c.firstSeed, scenario: c.scenario, views: c.views, crossFraction, invalidFraction, ratePerShard, loadMs, settleMs, relayDelayMs }, ...s, seedsPerSecond: s.runs / (s.wallMs / 1000) }, null, 2) + "\n");
  return s.violations > 0 ? 1 : 0;
}
