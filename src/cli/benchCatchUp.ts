/**
 * `quire bench catchup`: issue 10's target "catch-up from an empty data directory: ≥ 2,000 blocks/s applied (100 txs
 * per block), QCs verified", measured on real node processes.
 *
 *   a fresh 4-validator network (free ports) → a certified chain of N blocks of `--txs` KV puts of `--size` bytes
 *   written into validator 0's store by the shipping code (bench/certifiedChain.ts), copied to validators 1 and 2
 *   → validators 0–2 started and up → validator 3 started with an empty data dir; its `/v1/status` polled every
 *   20 ms until its committed height reaches N → the chain it holds compared with validator 0's (block hashes at
 *   several heights, the last key written) → every node stopped by pid, the directory removed unless `--keep`.
 *
 * Two rates are reported: from the process spawn (includes Node start-up, the BLS backend and the store opening, the
 * links coming up and the first hello) and from its first reported height above 0 (the catch-up itself). The three
 * running validators keep committing (empty) blocks meanwhile; the measurement stops at N.
 *
 * `--profile DIR` runs validator 3 under `node --cpu-prof` (the profile lands in DIR when it stops, right after it
 * reached N) and prints where its main thread spent its time.
 */
import { cp, mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { checkFlags, choiceFlag, intFlag, parseArgs, stringFlag, UsageError } from "./args.js";
import { launchCluster } from "./localCluster.js";
import type { LocalCluster } from "./localCluster.js";
import { loadTx } from "./loadgen.js";
import { summariseCpuProfiles } from "./cpuProfile.js";
import { writeCertifiedChain } from "../../bench/certifiedChain.js";
import { loadBlsBackend } from "../crypto/bls/backend.js";
import { loadKeyFile } from "../crypto/bls/keyFile.js";
import { blockHasher } from "../consensus/blockHash.js";
import { LmdbChainStore } from "../chain/store/lmdbStore.js";
import { LOG_LEVELS, loadNodeConfig } from "../node/config.js";
import { genesisBlock, loadGenesis } from "../node/genesis.js";
import type { NetworkLayout } from "../node/network.js";
import { RpcClient } from "../rpc/client.js";
import { bytesEqual, toHex, utf8 } from "../util/bytes.js";

const USAGE = [
  "usage: quire bench catchup [--blocks N] [--txs T] [--size B] [--json FILE] [--keep] [--profile DIR] [--timeout-s S]",
  "                           [--log-level debug|info|warn|error]",
  "  Writes a certified chain of N blocks (default 5000) of T key-value puts (default 100) of B bytes (default 100)",
  "  into 3 of 4 validators' stores, starts them, then starts the 4th with an empty data directory and measures how",
  "  fast it catches up to height N (blocks/s and txs/s applied), then checks it holds the same chain.",
  "  --profile DIR: the 4th node runs under node --cpu-prof; its profile is written to DIR and summarised.",
  "  --keep keeps the network directory (node logs: nodeI/node.log; --log-level debug logs every commit).",
].join("\n");

const VALIDATORS = 4;
const LATE = 3;
const POLL_MS = 20;

export interface CatchUpFigures {
  readonly blocks: number;
  readonly txsPerBlock: number;
  readonly txBytes: number;
  /** Writing the certified chain (signing included). */
  readonly generateSeconds: number;
  /** Spawn of the catching-up node → its first answer on RPC. */
  readonly spawnToRpcSeconds: number;
  /** Spawn → committed height N. */
  readonly spawnToTipSeconds: number;
  /** First height above 0 the node reported, and when (after spawn). */
  readonly firstHeight: number;
  readonly firstHeightSeconds: number;
  /** N / spawnToTipSeconds. */
  readonly blocksPerSecFromSpawn: number;
  /** (N − firstHeight) / (spawnToTipSeconds − firstHeightSeconds). */
  readonly blocksPerSecFromFirstHeight: number;
  readonly txsPerSecFromSpawn: number;
  readonly txsPerSecFromFirstHeight: number;
  /** Heights whose block hash was compared with validator 0's (all equal, or the command fails). */
  readonly checkedHeights: readonly number[];
  /** Selected series of the catching-up node's /metrics after it reached N. */
  readonly metrics: Readonly<Record<string, number>>;
}

export async function benchCatchUpCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ["keep", "help"]);
  if (args.flags.has("help")) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  checkFlags(args, ["blocks", "txs", "size", "json", "keep", "profile", "timeout-s", "log-level", "help"]);
  if (args.positional.length > 0) throw new UsageError(USAGE);
  const blocks = intFlag(args, "blocks", 5_000)!;
  const txs = intFlag(args, "txs", 100)!;
  const size = intFlag(args, "size", 100)!;
  if (blocks < 16) throw new UsageError("--blocks must be at least 16 (catch-up starts 8 blocks behind)");
  if (size < 48 || size > 65_536) throw new UsageError("--size must be in [48, 65536]");
  const timeoutMs = intFlag(args, "timeout-s", 600)! * 1000;
  const keep = args.flags.has("keep");
  const logLevel = choiceFlag(args, "log-level", LOG_LEVELS, "warn");
  const json = stringFlag(args, "json");
  const profileArg = stringFlag(args, "profile");
  const profileDir = profileArg === undefined ? undefined : resolve(profileArg);
  if (profileDir !== undefined) await mkdir(profileDir, { recursive: true });
  const out = (s: string) => process.stdout.write(s);

  let generateSeconds = 0;
  const runId = `c${Date.now().toString(36)}`;
  let stopping = false;
  const cluster = await launchCluster({
    validators: VALIDATORS,
    logLevel,
    deferred: [LATE],
    nodeOptions: (i) => (i === LATE && profileDir !== undefined ? ["--cpu-prof", "--cpu-prof-dir", profileDir] : []),
    prepare: async (layout) => {
      out(`writing a certified chain of ${blocks} blocks × ${txs} txs of ${size} B into ${layout.dir} …\n`);
      const t = performance.now();
      await writeChain(layout, { blocks, txs, size, runId });
      generateSeconds = (performance.now() - t) / 1000;
    },
    onExit: (i, code, logFile) => {
      if (!stopping) out(`\nnode ${i} exited with code ${code}; see ${logFile}\n`);
    },
  });
  try {
    out(`chain written in ${generateSeconds.toFixed(1)} s; starting validators 0–2 …\n`);
    const figures = await measure(cluster, { blocks, txs, size, runId, generateSeconds, timeoutMs });
    stopping = true;
    await cluster.stop();
    out(formatFigures(figures));
    if (json !== undefined) await writeFile(json, JSON.stringify({ bench: "catchup", ...figures }, null, 2) + "\n");
    if (profileDir !== undefined) out(await summariseCpuProfiles(profileDir));
    return 0;
  } finally {
    stopping = true;
    await cluster.stop();
    if (keep) out(`network kept in ${cluster.dir}\n`);
    else await cluster.remove();
  }
}

interface ChainSpec {
  readonly blocks: number;
  readonly txs: number;
  readonly size: number;
  readonly runId: string;
}

/** Key of the `index`-th tx of the chain (block h holds indices (h − 1)·T … h·T − 1): loadTx's layout. */
function txIndex(spec: ChainSpec, height: number, i: number): number {
  return (height - 1) * spec.txs + i;
}

/** The certified chain into validator 0's store, then its LMDB files copied to validators 1 and 2. */
async function writeChain(layout: NetworkLayout, spec: ChainSpec): Promise<void> {
  const backend = await loadBlsBackend("blst");
  const genesis = await loadGenesis(layout.genesisFile, backend);
  const configs = await Promise.all(layout.configFiles.map((f) => loadNodeConfig(f)));
  const keys = await Promise.all(configs.map((c) => loadKeyFile(c.keyFile, backend)));
  const gBlock = genesisBlock(genesis);
  const source = join(configs[0]!.dataDir, "chain");
  // The path and options the node opens its store with (node/node.ts).
  const store = await LmdbChainStore.open({ path: source, chainId: genesis.chainIdBytes, genesisHash: blockHasher()(gBlock.header) });
  let last = 0;
  try {
    writeCertifiedChain(
      {
        chainId: genesis.chainIdBytes,
        genesis: gBlock,
        bucketBits: genesis.app.bucketBits,
        blocks: spec.blocks,
        txsPerBlock: spec.txs,
        tx: (h, i) => loadTx(spec.runId, txIndex(spec, h, i), spec.size),
        onProgress: (h) => {
          if (h - last >= 1_000 || h === spec.blocks) {
            last = h;
            process.stdout.write(`  height ${h}\n`);
          }
        },
      },
      { store, backend, keys },
    );
  } finally {
    await store.close();
  }
  for (const c of configs.slice(1, LATE)) await cp(source, join(c.dataDir, "chain"), { recursive: true });
}

async function measure(
  cluster: LocalCluster,
  o: ChainSpec & { readonly generateSeconds: number; readonly timeoutMs: number },
): Promise<CatchUpFigures> {
  const clients = cluster.urls.map((url) => new RpcClient({ url, timeoutMs: 2_000 }));
  const deadline = Date.now() + o.timeoutMs;
  const alive = () => {
    if (cluster.children.some((c) => c.exited)) throw new UsageError(`a node exited; logs in ${cluster.dir}/node*/node.log (--keep keeps them)`);
    if (Date.now() > deadline) throw new UsageError(`timed out after ${o.timeoutMs / 1000} s; logs in ${cluster.dir} (--keep keeps them)`);
  };
  // Up: the three answer, hold the chain, and are linked to each other.
  for (;;) {
    alive();
    const s = await Promise.all(clients.slice(0, LATE).map((c) => c.status().catch(() => null)));
    if (s.every((x) => x !== null && x.committedHeight >= o.blocks && x.peersConnected >= LATE - 1)) break;
    await sleep(100);
  }
  process.stdout.write(`validators 0–2 up at height ≥ ${o.blocks}; starting validator ${LATE} with an empty data directory …\n`);

  const late = clients[LATE]!;
  const t0 = performance.now();
  cluster.startDeferred(LATE);
  let rpcAt = -1;
  let first: { height: number; at: number } | null = null;
  let tipAt = -1;
  while (tipAt < 0) {
    alive();
    const s = await late.status().catch(() => null);
    const now = performance.now() - t0;
    if (s !== null) {
      if (rpcAt < 0) rpcAt = now;
      if (first === null && s.committedHeight > 0) first = { height: s.committedHeight, at: now };
      if (s.committedHeight >= o.blocks) tipAt = now;
    }
    if (tipAt < 0) await sleep(POLL_MS);
  }
  const metrics = parseMetrics(await late.metrics().catch(() => ""));
  // The late node keeps catching up with the moving tip: one of its commit batches can hold its loop for seconds.
  const patient = (url: string) => new RpcClient({ url, timeoutMs: 30_000 });
  const checkedHeights = await compareChains(patient(cluster.urls[0]!), patient(cluster.urls[LATE]!), o);
  const f = first ?? { height: o.blocks, at: tipAt };
  const perSec = (n: number, ms: number) => (ms > 0 ? (n * 1000) / ms : 0);
  return {
    blocks: o.blocks,
    txsPerBlock: o.txs,
    txBytes: o.size,
    generateSeconds: o.generateSeconds,
    spawnToRpcSeconds: rpcAt / 1000,
    spawnToTipSeconds: tipAt / 1000,
    firstHeight: f.height,
    firstHeightSeconds: f.at / 1000,
    blocksPerSecFromSpawn: perSec(o.blocks, tipAt),
    blocksPerSecFromFirstHeight: perSec(o.blocks - f.height, tipAt - f.at),
    txsPerSecFromSpawn: perSec(o.blocks * o.txs, tipAt),
    txsPerSecFromFirstHeight: perSec((o.blocks - f.height) * o.txs, tipAt - f.at),
    checkedHeights,
    metrics,
  };
}

/**
 * The late node holds validator 0's chain: the same block hash (and a QC) at heights spread over 1…N, and the value
 * of the last key the chain wrote (its state was executed, not only its blocks stored).
 */
async function compareChains(reference: RpcClient, late: RpcClient, o: ChainSpec): Promise<number[]> {
  const heights = [...new Set([1, 2, Math.floor(o.blocks / 4), Math.floor(o.blocks / 2), Math.floor((3 * o.blocks) / 4), o.blocks - 1, o.blocks])].filter((h) => h >= 1);
  for (const h of heights) {
    const [a, b] = await Promise.all([reference.block(h), late.block(h)]);
    if (a === null || b === null) throw new UsageError(`height ${h}: block missing on ${a === null ? "validator 0" : `validator ${LATE}`}`);
    if (!bytesEqual(a.hash, b.hash)) throw new UsageError(`height ${h}: validator ${LATE} holds ${toHex(b.hash)}, validator 0 ${toHex(a.hash)}`);
    if (b.qc === null) throw new UsageError(`height ${h}: validator ${LATE} holds no QC`);
  }
  if (o.txs > 0) {
    const lastTx = loadTx(o.runId, txIndex(o, o.blocks, o.txs - 1), o.size);
    const key = `load/${o.runId}/${txIndex(o, o.blocks, o.txs - 1)}`;
    const [a, b] = await Promise.all([reference.kv(utf8(key)), late.kv(utf8(key))]);
    if (a === null || b === null || !bytesEqual(a, b) || !bytesEqual(b, lastTx.subarray(lastTx.length - b.length))) {
      throw new UsageError(`the last key of the chain (${key}) differs on validator ${LATE}`);
    }
  }
  return heights;
}

/** The catching-up node's series worth reporting (sums and counts of histograms, counters), by name. */
const REPORTED = [
  "quire_sync_blocks_applied_total",
  "quire_bls_jobs_total",
  "quire_bls_batches_total",
  "quire_bls_batch_work_seconds_sum",
  "quire_bls_batch_work_seconds_count",
  "quire_bls_job_seconds_sum",
  "quire_store_write_seconds_sum",
  "quire_store_write_seconds_count",
  "quire_signature_precheck_hits_total",
  "quire_signature_precheck_misses_total",
  "quire_signature_precheck_refused_total",
];

/** Prometheus text → the REPORTED series (labelled series summed), plus every `quire_rejected_total{code}`. */
function parseMetrics(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line === "") continue;
    const m = /^([a-z_]+)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (m === null) continue;
    const [, name, labels, value] = m;
    const v = Number(value);
    if (!Number.isFinite(v)) continue;
    if (REPORTED.includes(name!)) out[name!] = (out[name!] ?? 0) + v;
    else if (name === "quire_rejected_total" && labels !== undefined) {
      const code = /code="([^"]*)"/.exec(labels)?.[1];
      if (code !== undefined) out[`rejected:${code}`] = v;
    }
  }
  return out;
}

function formatFigures(f: CatchUpFigures): string {
  const rows: [string, string][] = [
    ["chain", `${f.blocks} blocks × ${f.txsPerBlock} txs of ${f.txBytes} B (written in ${f.generateSeconds.toFixed(1)} s)`],
    ["spawn → RPC up", `${f.spawnToRpcSeconds.toFixed(2)} s`],
    ["spawn → first height", `${f.firstHeightSeconds.toFixed(2)} s (height ${f.firstHeight})`],
    ["spawn → height N", `${f.spawnToTipSeconds.toFixed(2)} s`],
    ["blocks/s from spawn", f.blocksPerSecFromSpawn.toFixed(0)],
    ["blocks/s from first height", f.blocksPerSecFromFirstHeight.toFixed(0)],
    ["txs/s from spawn", f.txsPerSecFromSpawn.toFixed(0)],
    ["txs/s from first height", f.txsPerSecFromFirstHeight.toFixed(0)],
    ["same chain as validator 0", `hashes at heights ${f.checkedHeights.join(", ")} and the last key`],
    ...Object.entries(f.metrics).map(([k, v]): [string, string] => [k, Number.isInteger(v) ? String(v) : v.toFixed(3)]),
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  return "\n" + rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join("\n") + "\n";
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
