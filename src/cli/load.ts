import { writeFile } from "node:fs/promises";
import { checkFlags, intFlag, parseArgs, stringFlag, UsageError } from "./args.js";
import type { ParsedArgs } from "./args.js";
import { CommitTracker } from "./commitTracker.js";
import type { NodeCheck } from "./commitTracker.js";
import { launchCluster, waitUntilCommitting } from "./localCluster.js";
import { LoadGenerator, MIN_LOAD_TX_BYTES } from "./loadgen.js";
import { RpcClient } from "../rpc/client.js";

const USAGE = [
  "usage: quire load (--rpc URL[,URL...] | --cluster N) (--rate TX_PER_S --duration S | --txs N | --duration S)",
  "                  [--size BYTES] [--batch B] [--in-flight R] [--warmup-s W] [--drain-s D] [--no-check]",
  "                  [--timeout-s T] [--json FILE]",
  "  --rate R --duration S: open loop. Every 10 ms the txs that became due (R per second, R x S in all) leave at once,",
  "  split into requests of at most B txs over the nodes, whatever is in flight; a 503 is counted, not re-sent. Only",
  "  past R requests in flight (--in-flight, default 256) does the generator refuse a due request itself: its txs are",
  "  counted as shed. Latency counts from each tx's slot in the schedule (no coordinated omission).",
  "  --txs N (or --duration S without --rate): closed loop, --in-flight requests (default 4) kept out as fast as the",
  "  nodes answer; a 503 is re-sent after its Retry-After, so all N are accepted.",
  "  --cluster N: start a fresh local N-validator cluster (child processes), load it, stop it and remove it.",
  "  Progress once a second. At the end: offered, accepted and committed tx/s over the window after --warmup-s, latency",
  "  percentiles submit → committed (node 0's block stream), 503s, shed, failed requests. Then, after up to --drain-s",
  "  (default 20) s without a new commit, every node's blocks of the run are read (GET /v1/blocks/:h/txids) and every",
  "  acknowledged tx (202, or 200 duplicate) must be in them: one missing is lost, and the exit code is 1.",
  "  --no-check: no commit tracking at all (a capacity run against something that is not one chain).",
  "  Defaults: --size 256 --batch 500 --warmup-s 0 --timeout-s 600.",
].join("\n");

/** What `quire load --json` writes (and `quire bench cluster` reads per step). */
export interface LoadResult {
  readonly runId: string;
  readonly nodes: number;
  readonly txBytes: number;
  readonly mode: "open" | "closed";
  /** Offered tx/s (open loop); 0 in closed loop. */
  readonly rate: number;
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  /** The measurement window: from the end of the warm-up to the end of the schedule. */
  readonly windowSeconds: number;
  readonly offered: number;
  readonly sent: number;
  readonly accepted: number;
  readonly duplicate: number;
  readonly rejected503: number;
  readonly invalid: number;
  readonly failedTxs: number;
  readonly failedRequests: number;
  readonly shed: number;
  /** Over the window: txs due, acknowledged (of those due), and committed on node 0 (by commit time), per second. */
  readonly offeredTxPerSecond: number;
  readonly acceptedTxPerSecond: number;
  readonly committedTxPerSecond: number | null;
  /** Submit (due time) → committed on node 0, txs due in the window; null without tracking or commits. */
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number; readonly count: number } | null;
  /** Every acknowledged tx seen committed on node 0 before the drain gave up. */
  readonly drained: boolean | null;
  readonly perNode: readonly NodeCheck[];
  /** Acknowledged txs missing from some node's blocks (the sum over nodes). */
  readonly lost: number | null;
  /** CPU seconds of this (the generator's) process over the run. */
  readonly generatorCpuSeconds: number;
  readonly trackerError: string | null;
}

/**
 * `quire load`: offered load against running nodes (or a local cluster it starts), see USAGE. Exit 0 when no
 * acknowledged tx was lost (and, with --txs, every tx was committed).
 */
export async function loadCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ["help", "no-check"]);
  if (args.flags.has("help")) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  checkFlags(args, ["rpc", "cluster", "txs", "size", "rate", "duration", "batch", "in-flight", "warmup-s", "drain-s", "no-check", "timeout-s", "json", "help"]);
  const rpc = stringFlag(args, "rpc");
  const clusterSize = intFlag(args, "cluster");
  if ((rpc === undefined) === (clusterSize === undefined) || args.positional.length > 0) throw new UsageError(USAGE);
  if (clusterSize === undefined) return runLoad(args, rpc!.split(",").map((u) => u.trim()).filter((u) => u !== ""));
  if (clusterSize < 1 || clusterSize > 64) throw new UsageError("--cluster must be in [1, 64]");
  const cluster = await launchCluster({ validators: clusterSize, logLevel: "warn" });
  try {
    const t0 = performance.now();
    await waitUntilCommitting(cluster);
    process.stdout.write(`local cluster of ${clusterSize} up and committing after ${((performance.now() - t0) / 1000).toFixed(2)} s (${cluster.dir})\n`);
    return await runLoad(args, cluster.urls);
  } finally {
    const codes = await cluster.stop();
    if (codes.some((c) => c !== 0)) process.stdout.write(`warning: node exit codes ${codes.join(", ")}; logs were in ${cluster.dir}\n`);
    await cluster.remove();
  }
}

async function runLoad(args: ParsedArgs, urls: readonly string[]): Promise<number> {
  if (urls.length === 0) throw new UsageError("--rpc needs at least one URL");
  const rate = intFlag(args, "rate", 0)!;
  const duration = intFlag(args, "duration");
  const txsFlag = intFlag(args, "txs");
  if (rate > 0 && duration === undefined) throw new UsageError("--rate R needs --duration S (R x S txs offered over S seconds)");
  if (duration !== undefined && duration < 1) throw new UsageError("--duration must be at least 1");
  if (duration !== undefined && txsFlag !== undefined) throw new UsageError("give --txs or --duration, not both");
  if (rate < 0) throw new UsageError("--rate must be at least 1 (or absent: closed loop)");
  const total = rate > 0 ? rate * duration! : duration !== undefined ? undefined : (txsFlag ?? 10_000);
  const size = intFlag(args, "size", 256)!;
  if (total !== undefined && total < 1) throw new UsageError("--txs must be at least 1");
  if (size < MIN_LOAD_TX_BYTES || size > 65_536) throw new UsageError(`--size must be in [${MIN_LOAD_TX_BYTES}, 65536]`);
  const warmupS = intFlag(args, "warmup-s", 0)!;
  if (duration !== undefined && warmupS >= duration) throw new UsageError("--warmup-s must be below --duration");
  const drainMs = intFlag(args, "drain-s", 20)! * 1000;
  const timeoutMs = intFlag(args, "timeout-s", 600)! * 1000;
  const track = !args.flags.has("no-check");
  const inFlight = intFlag(args, "in-flight");
  const gen = new LoadGenerator({
    urls,
    rate,
    ...(total !== undefined ? { total } : {}),
    txBytes: size,
    batch: Math.max(1, intFlag(args, "batch", 500)!),
    ...(inFlight !== undefined ? { maxInFlight: Math.max(1, inFlight) } : {}),
    trackIds: track,
  });
  const out = (s: string) => process.stdout.write(s);

  const startHeight = track ? (await new RpcClient({ url: urls[0]! }).status()).committedHeight : 0;
  const tracker = track ? new CommitTracker({ urls, startHeight, windowFromIndex: rate * warmupS }, gen) : null;
  if (tracker !== null) {
    try {
      await tracker.start();
    } catch (e) {
      throw new UsageError(`cannot follow ${urls[0]}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const what = rate > 0 ? `${rate} tx/s for ${duration} s (open loop)` : total !== undefined ? `${total} txs (closed loop)` : `${duration} s (closed loop)`;
  out(`load ${gen.runId}: ${what}, ${size} B txs over ${urls.length} node(s)${track ? `, from height ${startHeight}` : ""}\n`);
  const cpu0 = process.cpuUsage();
  gen.start();
  const t0 = gen.t0;
  let lastCommitted = 0;
  const progress = setInterval(() => {
    const s = gen.stats;
    const c = tracker?.committed ?? 0;
    const p50 = tracker?.all.percentile(50) ?? NaN;
    out(
      `  ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s: offered ${s.offered}, accepted ${gen.confirmed}, ` +
        (tracker !== null ? `committed ${c} (+${c - lastCommitted}/s), p50 ${Number.isNaN(p50) ? "-" : Math.round(p50)} ms, ` : "") +
        `503s ${s.rejected503}, shed ${s.shed}, failed ${s.failedTxs}, requests in flight ${gen.requestsInFlight}\n`,
    );
    lastCommitted = c;
  }, 1000);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void gen.stop();
  }, timeoutMs);
  timer.unref();
  if (total === undefined) {
    await new Promise((r) => setTimeout(r, duration! * 1000));
    await gen.stop();
  } else {
    await gen.finished();
    await gen.stop();
  }
  const tSchedule = rate > 0 ? t0 + duration! * 1000 : performance.now();
  const cpu = process.cpuUsage(cpu0);
  let drained: boolean | null = null;
  let perNode: NodeCheck[] = [];
  if (tracker !== null && !timedOut) {
    drained = await tracker.drain(() => gen.confirmed, drainMs, Math.max(0, timeoutMs - (performance.now() - t0)));
    clearInterval(progress);
    out(`checking every node's blocks for the ${gen.confirmed} acknowledged txs …\n`);
    perNode = await tracker.checkNodes();
  }
  clearInterval(progress);
  clearTimeout(timer);
  tracker?.stop();

  const windowS = ((tSchedule - t0) / 1000) - warmupS;
  const s = gen.stats;
  const fromIndex = rate * warmupS;
  let ackedInWindow = 0;
  for (let i = fromIndex; i < gen.indexLimit; i++) if (gen.acked.get(i) === 1) ackedInWindow++;
  const lat = tracker?.window;
  const result: LoadResult = {
    runId: gen.runId,
    nodes: urls.length,
    txBytes: size,
    mode: rate > 0 ? "open" : "closed",
    rate,
    durationSeconds: +((tSchedule - t0) / 1000).toFixed(3),
    warmupSeconds: warmupS,
    windowSeconds: +windowS.toFixed(3),
    offered: s.offered,
    sent: s.sent,
    accepted: s.accepted,
    duplicate: s.duplicate,
    rejected503: s.rejected503,
    invalid: s.invalid,
    failedTxs: s.failedTxs,
    failedRequests: s.failedRequests,
    shed: s.shed,
    offeredTxPerSecond: +((s.offered - fromIndex) / windowS).toFixed(1),
    acceptedTxPerSecond: +(track ? ackedInWindow / windowS : (s.accepted + s.duplicate) / windowS).toFixed(1),
    // Open loop: commits in the window. Closed loop (a burst): all the run's commits over the time to the last one.
    committedTxPerSecond:
      tracker === null ? null : rate > 0 ? +(tracker.committedBetween(t0 + warmupS * 1000, tSchedule) / windowS).toFixed(1) : tracker.lastCommitAt > t0 ? +(tracker.committed / ((tracker.lastCommitAt - t0) / 1000)).toFixed(1) : 0,
    latencyMs: lat === undefined || lat.count === 0 ? null : { p50: Math.round(lat.percentile(50)), p90: Math.round(lat.percentile(90)), p99: Math.round(lat.percentile(99)), max: Math.round(lat.percentile(100)), count: lat.count },
    drained,
    perNode,
    lost: tracker === null || timedOut ? null : perNode.reduce((n, p) => n + p.lost, 0),
    generatorCpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(2),
    trackerError: tracker?.error ?? null,
  };
  out(formatLoadResult(result) + "\n");
  if (timedOut) out(`timed out after ${timeoutMs / 1000} s\n`);
  const jsonFile = stringFlag(args, "json");
  if (jsonFile !== undefined) await writeFile(jsonFile, JSON.stringify(result, null, 2) + "\n");
  if (timedOut || (result.lost !== null && result.lost > 0)) return 1;
  // A bounded closed-loop run promises every tx committed everywhere.
  if (rate === 0 && total !== undefined && track && perNode.some((p) => p.committed < total)) return 1;
  return 0;
}

/** The human summary of a run. */
export function formatLoadResult(r: LoadResult): string {
  const l = r.latencyMs;
  const lines = [
    `window ${r.windowSeconds} s (after ${r.warmupSeconds} s warm-up): offered ${r.offeredTxPerSecond} tx/s, accepted ${r.acceptedTxPerSecond} tx/s, committed ${r.committedTxPerSecond ?? "-"} tx/s`,
    l === null ? "latency submit → committed: no commits seen" : `latency submit → committed ms (${l.count} txs): p50 ${l.p50}, p90 ${l.p90}, p99 ${l.p99}, max ${l.max}`,
    `txs: offered ${r.offered}, sent ${r.sent}, accepted ${r.accepted}, duplicate ${r.duplicate}, 503 ${r.rejected503}, invalid ${r.invalid}, failed ${r.failedTxs} (${r.failedRequests} requests), shed by the generator ${r.shed}; generator CPU ${r.generatorCpuSeconds} s`,
    ...r.perNode.map((p) => `  ${p.url}: height ${p.height}, ${p.committed} txs of the run committed, ${p.lost} acknowledged lost${p.lostSamples.length > 0 ? ` (e.g. ${p.lostSamples.map((x) => `#${x.index} ${x.id}`).join(", ")})` : ""}`),
  ];
  if (r.drained === false) lines.push("  not every acknowledged tx committed on node 0 before the drain gave up");
  if (r.trackerError !== null) lines.push(`  tracker: ${r.trackerError}`);
  if (r.lost !== null) lines.push(r.lost === 0 ? "no acknowledged tx lost" : `LOST: ${r.lost} acknowledged txs missing from some node's blocks`);
  return lines.join("\n");
}
