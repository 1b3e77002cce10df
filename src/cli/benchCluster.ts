/**
 * `quire bench cluster`: issue 12's throughput measurement on real node processes.
 *
 *   the cost floor (costFloor.ts; skipped with --no-floor) → a fresh local network of --validators nodes (child
 *   processes, the chosen BLS and hash backends) → for each offered rate (--rates, or 2,000 tx/s × 1.5 per step until
 *   saturation): one `quire load` child process in open loop for --step-s seconds (the first --warmup-s excluded),
 *   every node's CPU (/proc/<pid>/stat utime + stime) and resident memory (/proc/<pid>/status VmRSS, once a second)
 *   sampled meanwhile; the load child drains and checks that every acknowledged tx is in every node's blocks →
 *   optionally --sustain-s at the highest rate that did not saturate, and --soak-s at the saturation rate (peak RSS
 *   per node) → every node stopped by pid, the directory removed → a table, `--json FILE` and the chart FILE.svg.
 *
 * A step is saturated when, over its window, committed tx/s < 90 % of offered, or p99 > 1 s, or more than 1 % of the
 * offered txs were refused (503), shed by the generator or lost with a failed request (`saturationReasons`).
 */
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { availableParallelism, loadavg } from "node:os";
import { checkFlags, choiceFlag, intFlag, parseArgs, stringFlag, UsageError } from "./args.js";
import { measureFloor, formatFloor } from "./costFloor.js";
import type { FloorResult } from "./costFloor.js";
import type { LoadResult } from "./load.js";
import { startLoadProcess } from "./loadProcess.js";
import { launchCluster, waitUntilCommitting } from "./localCluster.js";
import type { LocalCluster } from "./localCluster.js";
import { clusterChartSvg } from "./svgChart.js";
import { BLS_BACKEND_NAMES } from "../crypto/bls/backend.js";
import type { BlsBackendName } from "../crypto/bls/backend.js";
import { HASH_BACKENDS } from "../crypto/hasher.js";
import type { HashBackend } from "../crypto/hasher.js";

const USAGE = [
  "usage: quire bench cluster [--validators N] [--rates R1,R2,...] [--start-rate R] [--step-s S] [--warmup-s W]",
  "                           [--sustain-s S] [--soak-s S] [--size B] [--bls blst|noble|herumi] [--hash wasm|node|noble]",
  "                           [--no-floor] [--floor-s S] [--max-steps K] [--json FILE]",
  "  Starts a fresh local network of N validators (default 4), measures the cost floor first, then offers open-loop",
  "  load at increasing rates (default: from 2,000 tx/s, x1.5 per step, until a step saturates: committed < 90 % of",
  "  offered, p99 > 1 s, or > 1 % of txs refused/shed/failed; when the first already saturates, halving down to 250 until",
  "  one keeps up), each for S s (default 15) with the first W s (default: min(3, S / 4)) left out of the window.",
  "  Per step: offered/accepted/committed tx/s, latency p50/p90/p99/max, 503s, node CPU and peak RSS, and",
  "  the check that no acknowledged tx was lost. --sustain-s S holds the highest unsaturated rate S s afterwards;",
  "  --soak-s S holds the saturation rate S s sampling each node's RSS. --json FILE also writes FILE.svg (the chart).",
].join("\n");

/** Saturation thresholds (issue 12: p99 ≤ 1 s; a cluster keeping up commits what it is offered). */
export const SATURATION = { minCommittedRatio: 0.9, maxP99Ms: 1000, maxRefusedRatio: 0.01 } as const;

/** One node's resources over a step. */
export interface NodeResources {
  readonly pid: number | undefined;
  /** utime + stime over the step. */
  readonly cpuSeconds: number;
  /** Highest VmRSS sampled (once a second), MiB. */
  readonly peakRssMiB: number;
  /**
   * Highest RssAnon sampled, MiB: the process's own memory (heap, buffers), without the file pages of the LMDB map
   * it has touched (RssFile), which the kernel can drop at will and which grow with the chain, not with the load.
   */
  readonly peakAnonMiB: number;
}

export interface StepResult {
  readonly phase: "sweep" | "sustain" | "soak";
  readonly rate: number;
  readonly seconds: number;
  readonly load: LoadResult;
  readonly nodes: readonly NodeResources[];
  /** Wall time of the whole step (load, drain, check) and the share of the machine's cores its nodes used in it. */
  readonly wallSeconds: number;
  readonly nodesCpuShare: number;
  /** Txs of the step committed (node 0's count) per CPU second of all nodes together over the step. */
  readonly txPerNodeCpuSecond: number;
  readonly saturated: boolean;
  readonly reasons: readonly string[];
}

/** Why a step counts as saturated (empty: it kept up). Failures of the generator count like the nodes'. */
export function saturationReasons(r: Pick<LoadResult, "offeredTxPerSecond" | "committedTxPerSecond" | "latencyMs" | "offered" | "rejected503" | "shed" | "failedTxs">): string[] {
  const reasons: string[] = [];
  const committed = r.committedTxPerSecond ?? 0;
  if (committed < SATURATION.minCommittedRatio * r.offeredTxPerSecond) reasons.push(`committed ${committed} < ${SATURATION.minCommittedRatio * 100} % of offered ${r.offeredTxPerSecond} tx/s`);
  if (r.latencyMs === null) reasons.push("no commit seen");
  else if (r.latencyMs.p99 > SATURATION.maxP99Ms) reasons.push(`p99 ${r.latencyMs.p99} ms > ${SATURATION.maxP99Ms} ms`);
  const refused = r.rejected503 + r.shed + r.failedTxs;
  if (r.offered > 0 && refused > SATURATION.maxRefusedRatio * r.offered) reasons.push(`${refused} of ${r.offered} txs refused (503 ${r.rejected503}, shed ${r.shed}, failed ${r.failedTxs}) > ${SATURATION.maxRefusedRatio * 100} %`);
  return reasons;
}

/** The default sweep: `start` × 1.5^k, rounded to 100 tx/s, `steps` of them. */
export function geometricRates(start: number, steps: number): number[] {
  const out: number[] = [];
  for (let k = 0, r = start; k < steps; k++, r *= 1.5) out.push(Math.round(r / 100) * 100);
  return out;
}

/** Samples node processes' CPU and RSS from /proc (Linux). */
class ProcSampler {
  private readonly tick: number;
  private readonly cpu0: number[];
  private readonly peak: number[];
  private readonly peakAnon: number[];
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(private readonly pids: readonly (number | undefined)[]) {
    this.tick = 100; // USER_HZ: 100 on every Linux ABI Node supports (sysconf(_SC_CLK_TCK)).
    this.cpu0 = pids.map((p) => cpuTicks(p));
    this.peak = pids.map((p) => rssKiB(p, "VmRSS"));
    this.peakAnon = pids.map((p) => rssKiB(p, "RssAnon"));
    this.timer = setInterval(() => this.sample(), 1000);
  }

  private sample(): void {
    this.pids.forEach((p, i) => {
      this.peak[i] = Math.max(this.peak[i]!, rssKiB(p, "VmRSS"));
      this.peakAnon[i] = Math.max(this.peakAnon[i]!, rssKiB(p, "RssAnon"));
    });
  }

  finish(): NodeResources[] {
    clearInterval(this.timer);
    this.sample();
    return this.pids.map((pid, i) => ({
      pid,
      cpuSeconds: +((cpuTicks(pid) - this.cpu0[i]!) / this.tick).toFixed(2),
      peakRssMiB: +(this.peak[i]! / 1024).toFixed(1),
      peakAnonMiB: +(this.peakAnon[i]! / 1024).toFixed(1),
    }));
  }
}

function cpuTicks(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start after the last ")": state is field 3, utime 14.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return 0;
  }
}

function rssKiB(pid: number | undefined, field: "VmRSS" | "RssAnon"): number {
  if (pid === undefined) return 0;
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m === null ? 0 : Number(m[1]);
  } catch {
    return 0;
  }
}

interface StepOptions {
  readonly phase: StepResult["phase"];
  readonly rate: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly txBytes: number;
}

async function runStep(cluster: LocalCluster, o: StepOptions, out: (s: string) => void): Promise<StepResult> {
  out(`\n${o.phase} step: ${o.rate} tx/s offered for ${o.seconds} s (first ${o.warmupSeconds} s warm-up)\n`);
  const sampler = new ProcSampler(cluster.children.map((c) => c.proc.pid));
  const t0 = performance.now();
  const load = startLoadProcess(["--rpc", cluster.urls.join(","), "--rate", String(o.rate), "--duration", String(o.seconds), "--warmup-s", String(o.warmupSeconds), "--size", String(o.txBytes)]);
  const result = await load.result;
  const nodes = sampler.finish();
  const wall = (performance.now() - t0) / 1000;
  const cpu = nodes.reduce((n, x) => n + x.cpuSeconds, 0);
  const committed = result.perNode[0]?.committed ?? 0;
  const reasons = saturationReasons(result);
  return {
    phase: o.phase,
    rate: o.rate,
    seconds: o.seconds,
    load: result,
    nodes,
    wallSeconds: +wall.toFixed(2),
    nodesCpuShare: +(cpu / (wall * availableParallelism())).toFixed(3),
    txPerNodeCpuSecond: cpu > 0 ? +(committed / cpu).toFixed(1) : 0,
    saturated: reasons.length > 0,
    reasons,
  };
}

export interface ClusterBenchResult {
  readonly command: string;
  readonly startedAt: string;
  readonly machine: { readonly cpus: number; readonly loadAvgBefore: readonly number[]; readonly loadAvgAfter: readonly number[]; readonly node: string };
  readonly validators: number;
  readonly txBytes: number;
  readonly bls: BlsBackendName;
  readonly hash: HashBackend | "default";
  readonly floor: FloorResult | null;
  readonly steps: readonly StepResult[];
  /** The highest offered rate that did not saturate, its committed tx/s; the first saturated rate. */
  readonly saturation: { readonly maxUnsaturatedRate: number | null; readonly maxUnsaturatedCommitted: number | null; readonly saturatedAtRate: number | null; readonly bestCommitted: number };
  readonly sustain: StepResult | null;
  readonly soak: StepResult | null;
  /**
   * cluster committed tx/s ÷ floor tx/s: at the best step of the sweep, and over the sustained run. `perCpu`: the
   * same ratio per CPU second (the best step's txs per CPU second of all nodes × validators ÷ the floor's txs per
   * CPU second), which does not depend on how much of the machine others left to either run.
   */
  readonly efficiency: { readonly atSaturation: number | null; readonly sustained: number | null; readonly perCpu: number | null };
  /** Acknowledged txs lost over every step (must be 0). */
  readonly lost: number;
}

/** The per-step table. */
export function formatSteps(steps: readonly StepResult[]): string {
  const head = ["phase", "offered", "accepted", "committed", "p50 ms", "p90 ms", "p99 ms", "max ms", "503s", "shed", "failed", "lost", "CPU s/node", "CPU share", "tx/CPU s", "peak RSS MiB", "anon MiB", "saturated"];
  const rows = steps.map((s) => {
    const l = s.load;
    return [
      s.phase,
      String(l.offeredTxPerSecond),
      String(l.acceptedTxPerSecond),
      String(l.committedTxPerSecond ?? "-"),
      String(l.latencyMs?.p50 ?? "-"),
      String(l.latencyMs?.p90 ?? "-"),
      String(l.latencyMs?.p99 ?? "-"),
      String(l.latencyMs?.max ?? "-"),
      String(l.rejected503),
      String(l.shed),
      String(l.failedTxs),
      String(l.lost ?? "?"),
      s.nodes.map((n) => n.cpuSeconds.toFixed(1)).join("/"),
      `${Math.round(s.nodesCpuShare * 100)} %`,
      String(s.txPerNodeCpuSecond),
      s.nodes.map((n) => n.peakRssMiB.toFixed(0)).join("/"),
      s.nodes.map((n) => n.peakAnonMiB.toFixed(0)).join("/"),
      s.saturated ? "yes" : "no",
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join("  ");
  return [line(head), ...rows.map(line)].join("\n");
}

export async function benchClusterCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ["no-floor", "help"]);
  if (args.flags.has("help")) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  checkFlags(args, ["validators", "rates", "start-rate", "step-s", "warmup-s", "sustain-s", "soak-s", "size", "bls", "hash", "no-floor", "floor-s", "max-steps", "json", "help"]);
  if (args.positional.length > 0) throw new UsageError(USAGE);
  const validators = intFlag(args, "validators", 4)!;
  if (validators < 1 || validators > 16) throw new UsageError("--validators must be in [1, 16]");
  const stepS = intFlag(args, "step-s", 15)!;
  const warmupS = intFlag(args, "warmup-s", Math.min(3, Math.floor(stepS / 4)))!;
  if (stepS < 2 || warmupS >= stepS) throw new UsageError("--step-s must be at least 2 and above --warmup-s");
  const txBytes = intFlag(args, "size", 256)!;
  const ratesArg = stringFlag(args, "rates");
  const explicit = ratesArg?.split(",").map((s) => Number(s.trim()));
  if (explicit !== undefined && explicit.some((r) => !Number.isInteger(r) || r < 1)) throw new UsageError("--rates takes positive integers, e.g. 2000,4000");
  const rates = explicit ?? geometricRates(intFlag(args, "start-rate", 2000)!, intFlag(args, "max-steps", 12)!);
  const bls = choiceFlag(args, "bls", BLS_BACKEND_NAMES, "blst");
  const hashArg = stringFlag(args, "hash");
  const hash = hashArg === undefined ? undefined : choiceFlag(args, "hash", HASH_BACKENDS, HASH_BACKENDS[0]!);
  const sustainS = intFlag(args, "sustain-s", 0)!;
  const soakS = intFlag(args, "soak-s", 0)!;
  const json = stringFlag(args, "json");
  const out = (s: string) => process.stdout.write(s);
  const startedAt = new Date().toISOString();
  const loadAvgBefore = loadavg().map((x) => +x.toFixed(2));

  let floor: FloorResult | null = null;
  if (!args.flags.has("no-floor")) {
    floor = await measureFloor({ validators, txBytes, seconds: intFlag(args, "floor-s", 10)!, warmupSeconds: 3, mode: "floor", ...(hash !== undefined ? { hash } : {}), out });
    out(formatFloor(floor) + "\n");
  }

  const nodeArgs = ["--set", `bls.backend=${bls}`, ...(hash !== undefined ? ["--set", `hash.backend=${hash}`] : [])];
  let stopping = false;
  const cluster = await launchCluster({
    validators,
    logLevel: "warn",
    nodeArgs,
    onExit: (i, code, logFile) => {
      if (!stopping) out(`\nnode ${i} exited with code ${code}; see ${logFile}\n`);
    },
  });
  const steps: StepResult[] = [];
  let sustain: StepResult | null = null;
  let soak: StepResult | null = null;
  try {
    await waitUntilCommitting(cluster);
    out(`quire bench cluster: ${validators} validators in ${cluster.dir}, bls ${bls}, hash ${hash ?? "default"}, ${txBytes} B txs\n`);
    for (const rate of rates) {
      const step = await runStep(cluster, { phase: "sweep", rate, seconds: stepS, warmupSeconds: warmupS, txBytes }, out);
      steps.push(step);
      out(`  → ${step.saturated ? `saturated: ${step.reasons.join("; ")}` : "kept up"}\n`);
      if (cluster.children.some((c) => c.exited)) throw new Error("a node exited during the sweep");
      if (step.saturated && explicit === undefined) break;
    }
    // The default sweep saturated at its first rate: halve (down to 250 tx/s) until a step keeps up, so the curve
    // still shows where the knee is.
    for (let rate = Math.round(rates[0]! / 2); explicit === undefined && steps.every((s) => s.saturated) && rate >= 250; rate = Math.round(rate / 2)) {
      const step = await runStep(cluster, { phase: "sweep", rate, seconds: stepS, warmupSeconds: warmupS, txBytes }, out);
      steps.push(step);
      out(`  → ${step.saturated ? `saturated: ${step.reasons.join("; ")}` : "kept up"}\n`);
    }
    const ok = steps.filter((s) => !s.saturated);
    const best = ok.length === 0 ? undefined : ok.reduce((a, b) => (b.rate > a.rate ? b : a));
    const firstSaturated = lowestSaturated(steps);
    if (sustainS > 0 && best !== undefined) {
      sustain = await runStep(cluster, { phase: "sustain", rate: best.rate, seconds: sustainS, warmupSeconds: warmupS, txBytes }, out);
    }
    if (soakS > 0) {
      const rate = firstSaturated?.rate ?? steps[steps.length - 1]?.rate ?? rates[0]!;
      soak = await runStep(cluster, { phase: "soak", rate, seconds: soakS, warmupSeconds: warmupS, txBytes }, out);
    }
  } finally {
    stopping = true;
    const codes = await cluster.stop();
    if (codes.some((c) => c !== 0)) out(`warning: node exit codes ${codes.join(", ")}; logs were in ${cluster.dir}\n`);
    await cluster.remove();
  }

  const all = [...steps, ...(sustain !== null ? [sustain] : []), ...(soak !== null ? [soak] : [])];
  const ok = steps.filter((s) => !s.saturated);
  const best = ok.length === 0 ? undefined : ok.reduce((a, b) => (b.rate > a.rate ? b : a));
  const bestCommitted = Math.max(0, ...steps.map((s) => s.load.committedTxPerSecond ?? 0));
  const bestStep = steps.find((s) => (s.load.committedTxPerSecond ?? 0) === bestCommitted);
  const floorRate = floor?.floorTxPerSecond ?? null;
  const ratio = (v: number | null | undefined) => (floorRate === null || floorRate <= 0 || v === null || v === undefined ? null : +(v / floorRate).toFixed(3));
  const result: ClusterBenchResult = {
    command: `quire bench cluster ${argv.join(" ")}`.trim(),
    startedAt,
    machine: { cpus: availableParallelism(), loadAvgBefore, loadAvgAfter: loadavg().map((x) => +x.toFixed(2)), node: process.version },
    validators,
    txBytes,
    bls,
    hash: hash ?? "default",
    floor,
    steps,
    saturation: { maxUnsaturatedRate: best?.rate ?? null, maxUnsaturatedCommitted: best?.load.committedTxPerSecond ?? null, saturatedAtRate: lowestSaturated(steps)?.rate ?? null, bestCommitted },
    sustain,
    soak,
    efficiency: {
      atSaturation: ratio(bestCommitted),
      sustained: ratio(sustain?.load.committedTxPerSecond),
      perCpu: floor === null || floor.txPerCpuSecond <= 0 || bestStep === undefined ? null : +((bestStep.txPerNodeCpuSecond * validators) / floor.txPerCpuSecond).toFixed(3),
    },
    lost: all.reduce((n, s) => n + (s.load.lost ?? 0), 0),
  };
  out(`\n${formatSteps(all)}\n`);
  out(formatSummary(result) + "\n");
  if (json !== undefined) {
    await writeFile(json, JSON.stringify(result, null, 2) + "\n");
    const svg = chartFile(json);
    await writeFile(svg, clusterChart(result));
    out(`wrote ${json} and ${svg}\n`);
  }
  return result.lost === 0 && all.every((s) => s.load.lost !== null) ? 0 : 1;
}

/** The saturated step of the lowest rate (the sweep may have gone down after its first step saturated). */
function lowestSaturated(steps: readonly StepResult[]): StepResult | undefined {
  return steps.filter((s) => s.saturated).sort((a, b) => a.rate - b.rate)[0];
}

/** FILE.json → FILE.svg; any other name gets ".svg" appended. */
export function chartFile(json: string): string {
  return json.endsWith(".json") ? `${json.slice(0, -5)}.svg` : `${json}.svg`;
}

function formatSummary(r: ClusterBenchResult): string {
  const s = r.saturation;
  return [
    `saturation: highest rate kept up ${s.maxUnsaturatedRate ?? "none"} tx/s offered (${s.maxUnsaturatedCommitted ?? "-"} committed); first saturated at ${s.saturatedAtRate ?? "none (raise the rates)"}; best committed ${s.bestCommitted} tx/s`,
    r.floor === null
      ? "cost floor: not measured (--no-floor)"
      : `cost floor: ${r.floor.floorTxPerSecond} tx/s for ${r.validators} validators (${r.floor.quietFloorTxPerSecond} with every core free); efficiency at saturation ${r.efficiency.atSaturation ?? "-"}, sustained ${r.efficiency.sustained ?? "-"}, per CPU second ${r.efficiency.perCpu ?? "-"}`,
    r.sustain === null ? "" : `sustained ${r.sustain.seconds} s at ${r.sustain.rate} tx/s: committed ${r.sustain.load.committedTxPerSecond} tx/s, p50 ${r.sustain.load.latencyMs?.p50 ?? "-"} ms, p99 ${r.sustain.load.latencyMs?.p99 ?? "-"} ms`,
    r.soak === null ? "" : `soak ${r.soak.seconds} s at ${r.soak.rate} tx/s: peak RSS per node ${r.soak.nodes.map((n) => `${n.peakRssMiB} MiB`).join(", ")} (anonymous: ${r.soak.nodes.map((n) => `${n.peakAnonMiB} MiB`).join(", ")})`,
    r.lost === 0 ? "no acknowledged tx lost in any step" : `LOST: ${r.lost} acknowledged txs`,
    `machine: ${r.machine.cpus} CPUs, load average ${r.machine.loadAvgBefore.join(" ")} before, ${r.machine.loadAvgAfter.join(" ")} after`,
  ].filter((l) => l !== "").join("\n");
}

/** The chart of a run (svgChart.ts). */
export function clusterChart(r: ClusterBenchResult): string {
  return clusterChartSvg({
    title: `quire bench cluster: ${r.validators} validators, ${r.txBytes} B txs`,
    subtitle: `bls ${r.bls}, hash ${r.hash}, ${r.machine.cpus} CPUs, load avg ${r.machine.loadAvgBefore[0]}, ${r.startedAt}`,
    points: r.steps.map((s) => ({ offered: s.load.offeredTxPerSecond, committed: s.load.committedTxPerSecond ?? 0, p50: s.load.latencyMs?.p50 ?? null, p99: s.load.latencyMs?.p99 ?? null, saturated: s.saturated })),
    saturationOffered: lowestSaturated(r.steps)?.load.offeredTxPerSecond ?? null,
    floor: r.floor?.floorTxPerSecond ?? null,
    latencyTargetMs: SATURATION.maxP99Ms,
  });
}
