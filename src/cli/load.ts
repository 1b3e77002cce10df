import { writeFile } from "node:fs/promises";
import { checkFlags, intFlag, parseArgs, stringFlag, UsageError } from "./args.js";
import type { ParsedArgs } from "./args.js";
import { launchCluster, waitUntilCommitting } from "./localCluster.js";
import { LoadGenerator } from "./loadgen.js";
import { RpcClient } from "../rpc/client.js";
import { subscribeBlocks } from "../rpc/streamClient.js";
import type { TxStatus } from "../rpc/api.js";

const USAGE = [
  "usage: quire load (--rpc URL[,URL...] | --cluster N) [--txs N | --rate TX_PER_S --duration S] [--size BYTES]",
  "                  [--rate TX_PER_S] [--batch B] [--in-flight R] [--timeout-s T] [--json FILE]",
  "  --rate R --duration S: R txs offered per second for S seconds (R x S txs); when the nodes fall behind, sending",
  "  waits for requests in flight (--in-flight); latency still counts from each tx's slot in the schedule, so the",
  "  waiting shows in it (no coordinated omission).",
  "  --cluster N: start a fresh local N-validator cluster (child processes), load it, stop it and remove it.",
  "  Submits N key-value puts of exactly BYTES bytes round-robin over the nodes (rate 0: as fast as they accept),",
  "  waits until the first node's block stream shows them all committed, then asks every node GET /v1/tx/:id for",
  "  every transaction and checks each is committed at the same height and index everywhere.",
  "  Defaults: --txs 10000 --size 256 --rate 0 --batch 500 --in-flight 4 --timeout-s 300.",
].join("\n");

/** Parallel GET /v1/tx/:id requests per node during the final check. */
const CHECK_CONCURRENCY = 16;

/**
 * `quire load`: the throughput check of issue 6 ("10,000 txs of 256 bytes through the RPC are all committed and
 * reported committed by every node"). Prints progress, then the submit time, the time until the last transaction
 * committed, committed tx/s, commit latency percentiles and the per-node check. Exit 0 only when every transaction
 * is committed at the same place on every node.
 */
export async function loadCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ["help"]);
  if (args.flags.has("help")) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  checkFlags(args, ["rpc", "cluster", "txs", "size", "rate", "duration", "batch", "in-flight", "timeout-s", "json", "help"]);
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
  const rate = intFlag(args, "rate", 0)!;
  const duration = intFlag(args, "duration");
  if (duration !== undefined && (rate < 1 || duration < 1)) throw new UsageError("--duration S needs --rate R: both at least 1 (R x S txs offered over S seconds)");
  if (duration !== undefined && intFlag(args, "txs") !== undefined) throw new UsageError("give --txs or --rate with --duration, not both");
  const total = duration !== undefined ? rate * duration : intFlag(args, "txs", 10_000)!;
  const size = intFlag(args, "size", 256)!;
  if (total < 1) throw new UsageError("--txs must be at least 1");
  if (size < 48 || size > 65_536) throw new UsageError("--size must be in [48, 65536]");
  const timeoutMs = intFlag(args, "timeout-s", 300)! * 1000;
  const gen = new LoadGenerator({
    urls,
    rate,
    total,
    txBytes: size,
    batch: Math.max(1, intFlag(args, "batch", 500)!),
    maxInFlight: Math.max(1, intFlag(args, "in-flight", 4)!),
    keepIds: true,
  });

  // Commit times by height, from the first node's block stream; the running tx count tells when all are in.
  const committedAt = new Map<number, number>();
  let streamed = 0;
  let allCommitted: (() => void) | undefined;
  const allIn = new Promise<void>((r) => (allCommitted = r));
  let streamError: string | null = null;
  const closers: (() => void)[] = [];
  const opened = new Promise<void>((resolve) => {
    const sub = subscribeBlocks(urls[0]!, {
      onOpen: () => resolve(),
      onBlock: (b) => {
        committedAt.set(b.header.height, performance.now());
        streamed += b.txCount;
        if (streamed >= total) allCommitted?.();
      },
      onError: (e) => {
        streamError = e.message;
        resolve();
      },
      onClose: () => resolve(),
    });
    closers.push(() => sub.close());
  });
  await opened;
  if (streamError !== null) throw new UsageError(`cannot subscribe to ${urls[0]}/v1/stream: ${streamError}`);

  const startHeight = (await new RpcClient({ url: urls[0]! }).status()).committedHeight;
  process.stdout.write(`load ${gen.runId}: ${total} txs of ${size} B over ${urls.length} node(s), from height ${startHeight}\n`);
  const t0 = performance.now();
  gen.start();
  const progress = setInterval(() => {
    const s = (performance.now() - t0) / 1000;
    process.stdout.write(`  ${s.toFixed(1)} s: accepted ${gen.confirmed}/${total}, committed ${Math.min(streamed, total)}/${total}, 503 retries ${gen.stats.fullRetries}\n`);
  }, 2000);
  let timedOut = false;
  const timeout = new Promise<void>((r) =>
    setTimeout(() => {
      timedOut = true;
      r();
    }, timeoutMs).unref(),
  );
  await Promise.race([gen.finished(), timeout]);
  const tSubmitted = performance.now();
  await Promise.race([allIn, timeout]);
  const tCommitted = performance.now();
  clearInterval(progress);
  await gen.stop();
  for (const c of closers) c();
  if (timedOut) {
    process.stdout.write(`timed out after ${timeoutMs / 1000} s: accepted ${gen.confirmed}/${total}, committed ${streamed}/${total}\n`);
    return 1;
  }

  // Every node must report every tx committed, at the same place.
  const tCheck = performance.now();
  const where: (TxStatus | null)[] = await statuses(new RpcClient({ url: urls[0]!, timeoutMs: 30_000 }), gen.ids);
  const mismatches: string[] = [];
  const perNode: { url: string; committed: number }[] = [];
  for (const url of urls) {
    const got = url === urls[0] ? where : await statuses(new RpcClient({ url, timeoutMs: 30_000 }), gen.ids);
    let ok = 0;
    got.forEach((s, i) => {
      const ref = where[i];
      if (s !== null && s.status === "committed" && ref !== null && ref !== undefined && ref.status === "committed" && s.height === ref.height && s.index === ref.index) ok++;
      else if (mismatches.length < 5) mismatches.push(`${url} tx ${gen.ids[i]}: ${JSON.stringify(s)} vs ${JSON.stringify(ref)}`);
    });
    perNode.push({ url, committed: ok });
  }
  const checkS = (performance.now() - tCheck) / 1000;

  const latencies: number[] = [];
  where.forEach((s, i) => {
    if (s?.status === "committed") {
      const at = committedAt.get(s.height);
      const sent = gen.submittedAt[i];
      if (at !== undefined && sent !== undefined) latencies.push(at - sent);
    }
  });
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => (latencies.length === 0 ? NaN : latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!);
  const elapsed = (tCommitted - t0) / 1000;
  const result = {
    txs: total,
    txBytes: size,
    nodes: urls.length,
    offeredTxPerSecond: rate > 0 ? rate : null,
    submitSeconds: +((tSubmitted - t0) / 1000).toFixed(3),
    acceptedTxPerSecond: +(total / ((tSubmitted - t0) / 1000)).toFixed(1),
    allCommittedSeconds: +elapsed.toFixed(3),
    committedTxPerSecond: +(total / elapsed).toFixed(1),
    latencyMs: { p50: Math.round(pct(50)), p90: Math.round(pct(90)), p99: Math.round(pct(99)), max: Math.round(pct(100)) },
    retries503: gen.stats.fullRetries,
    failedRequests: gen.stats.failedRequests,
    invalid: gen.stats.invalid,
    perNode,
    checkSeconds: +checkS.toFixed(1),
  };
  const lines = [
    `submitted ${total} txs in ${result.submitSeconds} s: ${result.acceptedTxPerSecond} tx/s accepted${rate > 0 ? ` of ${rate} tx/s offered` : ""} (${result.retries503} retried after 503, ${result.failedRequests} failed requests re-sent)`,
    `all committed after ${result.allCommittedSeconds} s: ${result.committedTxPerSecond} tx/s`,
    `commit latency ms: p50 ${result.latencyMs.p50}, p90 ${result.latencyMs.p90}, p99 ${result.latencyMs.p99}, max ${result.latencyMs.max}`,
    ...perNode.map((p) => `  ${p.url}: ${p.committed}/${total} committed (GET /v1/tx/:id)`),
    ...mismatches.map((m) => `  mismatch: ${m}`),
  ];
  process.stdout.write(lines.join("\n") + "\n");
  const jsonFile = stringFlag(args, "json");
  if (jsonFile !== undefined) await writeFile(jsonFile, JSON.stringify(result, null, 2) + "\n");
  return perNode.every((p) => p.committed === total) ? 0 : 1;
}

/** GET /v1/tx/:id for every id, a few in parallel. */
async function statuses(client: RpcClient, ids: readonly string[]): Promise<(TxStatus | null)[]> {
  const out: (TxStatus | null)[] = new Array<TxStatus | null>(ids.length).fill(null);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= ids.length) return;
      const id = ids[i];
      out[i] = id === undefined ? null : await client.txStatus(id);
    }
  };
  await Promise.all(Array.from({ length: CHECK_CONCURRENCY }, worker));
  return out;
}
