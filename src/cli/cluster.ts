import { join } from "node:path";
import { checkFlags, choiceFlag, intFlag, parseArgs, stringFlag, UsageError } from "./args.js";
import { LoadGenerator } from "./loadgen.js";
import { launchCluster, launchShardedCluster } from "./localCluster.js";
import { LOG_LEVELS } from "../node/config.js";
import type { LogLevel } from "../node/config.js";
import { ShardedClient } from "./xshardClient.js";
import { RpcClient } from "../rpc/client.js";
import type { NodeStatus } from "../rpc/api.js";
import { toHex } from "../util/bytes.js";

const USAGE = [
  "usage: quire cluster [--validators N] [--followers F] [--dir DIR] [--load TX_PER_S] [--tx-size BYTES] [--base-port P]",
  "                     [--para TITLE:NODES] [--duration-s S] [--keep] [--log-level debug|info|warn|error]",
  "  Starts a local N-validator network (default 4) as child processes, with a live status line and a built-in",
  "  load (default 200 tx/s of 128-byte puts; --load 0 turns it off). Without --dir the network lives in a fresh",
  "  temporary directory, removed at exit unless --keep; a --dir that already holds a network is resumed.",
  "  --para demo:4 adds a para chain \"demo\" of 4 para nodes (paracross): registered in the main genesis, following the",
  "  main chain; the status line then shows its head and the main chain's done height for it, and a part of the load",
  "  (a tenth) goes to it as para txs. Ctrl-C (SIGINT) or SIGTERM stops every node (by pid) and exits.",
  "  --followers F adds F non-voting full nodes (src/node/follow/README.md) following the validators round-robin; the",
  "  status line then shows their heads and their largest lag behind the validators' head.",
  "  --shards S runs a sharded network (quire init --shards: DIR/shard-<i>, DIR/network.json) of S shards of N",
  "  validators each, a status line per shard and the load (KV puts) on every shard.",
  "  --clusters Z runs a geo network (quire init --clusters, src/node/geo/README.md): Z clusters of N validators, each",
  "  ordering its own txs, all executing one global order; the status shows each cluster's global round and root.",
].join("\n");

const STATUS_INTERVAL_MS = 1_000;


/**
 * `quire cluster`: the one-command local network (`npm start`). Prints where everything is, when the first block
 * committed (measured from the command's start), then a status line every second: highest committed height, view,
 * committed tx/s, each node's peer count, mempool sizes, nodes up.
 */
export async function clusterCommand(argv: string[]): Promise<number> {
  const t0 = performance.now();
  const args = parseArgs(argv, ["keep", "help"]);
  if (args.flags.has("help")) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  checkFlags(args, ["validators", "dir", "load", "tx-size", "base-port", "duration-s", "keep", "log-level", "para", "shards", "clusters", "followers", "help"]);
  if (args.positional.length > 0) throw new UsageError(USAGE);
  const followerCount = intFlag(args, "followers", 0)!;
  if (followerCount < 0 || followerCount > 32) throw new UsageError("--followers must be in [0, 32] for a local cluster");
  const n = intFlag(args, "validators", 4)!;
  if (n < 1 || n > 64) throw new UsageError("--validators must be in [1, 64] for a local cluster");
  const rate = intFlag(args, "load", 200)!;
  const txSize = intFlag(args, "tx-size", 128)!;
  if (txSize < 48 || txSize > 65_536) throw new UsageError("--tx-size must be in [48, 65536]");
  const durationS = intFlag(args, "duration-s");
  const logLevel = choiceFlag(args, "log-level", LOG_LEVELS, "info");
  const givenDir = stringFlag(args, "dir");
  const keep = args.flags.has("keep") || givenDir !== undefined;
  const paraFlag = stringFlag(args, "para");
  let para: { title: string; nodes: number } | undefined;
  if (paraFlag !== undefined) {
    const m = /^([^:]{1,32}):(\d{1,2})$/.exec(paraFlag);
    const nodes = m === null ? NaN : Number(m[2]);
    if (m === null || nodes < 1 || nodes > 32) throw new UsageError("--para takes TITLE:NODES, e.g. demo:4 (1..32 para nodes)");
    para = { title: m[1]!, nodes };
  }

  const basePort = intFlag(args, "base-port");
  const clusters = intFlag(args, "clusters");
  if (clusters !== undefined && args.flags.has("shards")) throw new UsageError("--shards and --clusters are two kinds of network: pick one");
  const shards = clusters ?? intFlag(args, "shards");
  if (shards !== undefined) {
    const what = clusters !== undefined ? "--clusters" : "--shards";
    if (shards < 1 || shards > 16) throw new UsageError(`${what} must be in [1, 16] for a local cluster`);
    if (para !== undefined || followerCount > 0) throw new UsageError(`${what} does not take --para or --followers`);
    return runShards({ t0, shards, geo: clusters !== undefined, n, rate, txSize, durationS, logLevel, keep, ...(givenDir !== undefined ? { dir: givenDir } : {}), ...(basePort !== undefined ? { basePort } : {}) });
  }

  let stopping = false;
  const tty = process.stdout.isTTY === true;
  const out = (s: string) => process.stdout.write(s);
  const cluster = await launchCluster({
    validators: n,
    ...(givenDir !== undefined ? { dir: givenDir } : {}),
    ...(basePort !== undefined ? { basePort } : {}),
    logLevel,
    ...(para !== undefined ? { paras: [para] } : {}),
    ...(followerCount > 0 ? { followers: followerCount } : {}),
    onExit: (i, code, logFile, pid) => {
      const who = i >= 1000 ? `para node ${i % 1000}` : i >= 500 ? `follower ${i - 500}` : `node ${i}`;
      if (!stopping) out(`\n${who} (pid ${pid}) exited with code ${code}; see ${logFile}\n`);
    },
  });
  const paraChain = cluster.paras[0];
  const paraClients = paraChain?.urls.map((url) => new RpcClient({ url, timeoutMs: 800 })) ?? [];
  const { dir, chainId, configs, urls, children } = cluster;
  const clients = urls.map((url) => new RpcClient({ url, timeoutMs: 800 }));
  const followerClients = cluster.followers.urls.map((url) => new RpcClient({ url, timeoutMs: 800 }));
  out(
    [
      `quire cluster: ${configs.length} validators, chain ${chainId}, in ${dir}${keep ? "" : " (removed at exit; --keep keeps it)"}`,
      ...configs.map((c, i) => `  node ${i}: pid ${children[i]!.proc.pid}, rpc ${urls[i]}, log ${join(dir, `node${i}`, "node.log")}`),
      ...(paraChain === undefined
        ? []
        : [
            `  para chain "${paraChain.title}" in ${paraChain.dir}:`,
            ...paraChain.urls.map((u, i) => `    para node ${i}: pid ${paraChain.children[i]!.proc.pid}, rpc ${u}, log ${paraChain.children[i]!.logFile}`),
          ]),
      ...cluster.followers.urls.map((u, k) => `  follower ${k}: pid ${cluster.followers.children[k]!.proc.pid}, rpc ${u}, log ${cluster.followers.children[k]!.logFile}`),
      rate > 0 ? `  load: ${rate} tx/s of ${txSize}-byte puts (--load 0 turns it off)` : "  load: off",
      "  Ctrl-C stops every node",
      "",
    ].join("\n"),
  );

  const load = rate > 0 ? new LoadGenerator({ urls, rate, txBytes: txSize, batch: Math.max(1, Math.ceil(rate / 20)), trackIds: false }) : null;
  load?.start();
  // A tenth of the load as para txs (KV puts wrapped for the para chain), so its blocks carry something.
  const paraRate = para !== undefined && rate > 0 ? Math.max(1, Math.round(rate / 10)) : 0;
  const paraLoad = paraRate > 0 ? new LoadGenerator({ urls, rate: paraRate, txBytes: txSize, batch: Math.max(1, Math.ceil(paraRate / 20)), trackIds: false, paraTitle: para!.title }) : null;
  paraLoad?.start();

  // Status line.
  let firstCommitReported = false;
  let lastTxTotal: number | null = null;
  let lastTxAt = 0;
  let txRate = 0;
  let ticks = 0;
  const poll = async () => {
    const statuses = await Promise.all(clients.map((c) => c.status().catch(() => null)));
    const live = statuses.filter((s): s is NodeStatus => s !== null);
    const height = Math.max(0, ...live.map((s) => s.committedHeight));
    const view = Math.max(0, ...live.map((s) => s.view));
    if (!firstCommitReported && height >= 1) {
      firstCommitReported = true;
      out(`${tty ? "\r\x1b[K" : ""}first block committed ${((performance.now() - t0) / 1000).toFixed(2)} s after start\n`);
    }
    const best = live.reduce<number>((b, s) => (b < 0 || s.committedHeight > statuses[b]!.committedHeight ? statuses.indexOf(s) : b), -1);
    if (best >= 0) {
      const m = await clients[best]!.metrics().catch(() => "");
      const match = /^quire_committed_txs_total (\d+)$/m.exec(m);
      if (match !== null) {
        const total = Number(match[1]);
        const now = performance.now();
        if (lastTxTotal !== null && total >= lastTxTotal && now > lastTxAt) txRate = 0.5 * txRate + (0.5 * (total - lastTxTotal) * 1000) / (now - lastTxAt);
        lastTxTotal = total;
        lastTxAt = now;
      }
    }
    const peers = statuses.map((s) => (s === null ? "-" : String(s.peersConnected))).join("/");
    const mempool = live.reduce((a, s) => a + s.mempoolSize, 0);
    let paraPart = "";
    if (paraChain !== undefined) {
      const ps = await Promise.all(paraClients.map((c) => c.status().catch(() => null)));
      const pl = ps.filter((s): s is NodeStatus => s !== null);
      const paraHead = Math.max(0, ...pl.map((s) => s.committedHeight));
      const doneSt = best >= 0 ? await clients[best]!.paraStatus(paraChain.title).catch(() => null) : null;
      const stalled = pl.find((s) => s.para?.stalled != null)?.para?.stalled;
      paraPart = ` | ${paraChain.title}: head ${paraHead}, done ${doneSt?.doneHeight ?? "?"}${doneSt !== null && doneSt !== undefined && doneSt.holes.length > 0 ? ` (holes ${doneSt.holes.length})` : ""}, up ${pl.length}/${paraClients.length}${stalled != null ? ` STALLED: ${stalled}` : ""}`;
    }
    let followerPart = "";
    if (followerClients.length > 0) {
      const fs = await Promise.all(followerClients.map((c) => c.status().catch(() => null)));
      const heads = fs.map((s) => (s === null ? "-" : String(s.committedHeight)));
      const lag = Math.max(0, ...fs.filter((s): s is NodeStatus => s !== null).map((s) => height - s.committedHeight));
      followerPart = ` | followers ${heads.join("/")} (lag ≤ ${lag})`;
    }
    const line = `[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] height ${height} | view ${view} | ${txRate.toFixed(0)} tx/s | peers ${peers} | mempool ${mempool} | nodes up ${live.length}/${configs.length}${paraPart}${followerPart}`;
    ticks++;
    if (tty) out(`\r\x1b[K${line}`);
    else if (ticks % 2 === 0) out(`${line}\n`);
  };
  // Until the first commit, watch for it every 100 ms, so the reported time-to-first-block is not rounded up to the
  // status line's one-second period.
  const firstWatch = setInterval(() => {
    if (firstCommitReported || stopping) return clearInterval(firstWatch);
    void Promise.all(clients.map((c) => c.status().catch(() => null))).then((st) => {
      if (firstCommitReported || !st.some((x) => x !== null && x.committedHeight >= 1)) return;
      firstCommitReported = true;
      clearInterval(firstWatch);
      out(`${tty ? "\r\x1b[K" : ""}first block committed ${((performance.now() - t0) / 1000).toFixed(2)} s after start\n`);
    });
  }, 100);
  const statusTimer = pollEvery(poll, () => stopping);

  // Run until a signal (or --duration-s), then stop every child by pid.
  const signal = await untilSignal(durationS);
  stopping = true;
  clearInterval(statusTimer);
  clearInterval(firstWatch);
  out(`${tty ? "\n" : ""}stopping (${signal})...\n`);
  await load?.stop();
  await paraLoad?.stop();
  const codes = await cluster.stop();
  codes.forEach((code, i) => out(`  node ${i}: exited ${code === null ? "(killed)" : code}\n`));
  if (load !== null) out(`load: ${load.confirmed} txs accepted, ${load.stats.rejected503} refused with 503 (open loop: not sent again), ${load.stats.shed} shed by the generator\n`);
  if (!keep) await cluster.remove();
  else out(`network kept in ${dir} (resume with: quire cluster --dir ${dir})\n`);
  return codes.every((c) => c === 0) ? 0 : 1;
}

interface ShardRun {
  readonly t0: number;
  readonly shards: number;
  /** A geo network (--clusters): no cross-shard trickle; the status shows each cluster's global round. */
  readonly geo: boolean;
  readonly n: number;
  readonly rate: number;
  readonly txSize: number;
  readonly durationS: number | undefined;
  readonly logLevel: LogLevel;
  readonly keep: boolean;
  readonly dir?: string;
  readonly basePort?: number;
}

/**
 * `quire cluster --shards S`: every shard's nodes (launchShardedCluster), the load split evenly over the shards (KV
 * puts: the load generator does not sign account transfers yet) with a trickle of cross-shard transfers (one in
 * flight per shard, faucet → the next shard), and every second one status line per shard: committed height, committed
 * tx/s, nodes up, cross-shard transfers sent and credited by that shard's trickle, and its escrowed / imported totals.
 */
async function runShards(o: ShardRun): Promise<number> {
  let stopping = false;
  const tty = process.stdout.isTTY === true;
  const out = (s: string) => process.stdout.write(s);
  const what = o.geo ? "cluster" : "shard";
  const net = await launchShardedCluster({
    ...(o.geo ? { kind: "clusters" as const } : {}),
    shards: o.shards,
    validators: o.n,
    ...(o.dir !== undefined ? { dir: o.dir } : {}),
    ...(o.basePort !== undefined ? { basePort: o.basePort } : {}),
    logLevel: o.logLevel,
    onExit: (shard, i, code, logFile, pid) => {
      if (!stopping) out(`\n${what} ${shard} node ${i} (pid ${pid}) exited with code ${code}; see ${logFile}\n`);
    },
  });
  const perShard = o.rate > 0 ? Math.max(1, Math.round(o.rate / net.shards.length)) : 0;
  out(
    [
      `quire cluster: ${net.shards.length} ${what}s of ${o.n} validators, network ${net.manifest.id}, in ${net.dir}${o.keep ? "" : " (removed at exit; --keep keeps it)"}`,
      ...net.shards.flatMap((s) => [`  ${what} ${s.index} "${s.chainId}":`, ...s.urls.map((u, i) => `    node ${i}: pid ${s.children[i]!.proc.pid}, rpc ${u}, log ${s.children[i]!.logFile}`)]),
      perShard > 0 ? `  load: ${perShard} tx/s of ${o.txSize}-byte puts per ${what} (--load 0 turns it off)` : "  load: off",
      "  Ctrl-C stops every node",
      "",
    ].join("\n"),
  );
  // A cross-shard trickle beside the load: each shard's faucet pays a fresh account on the next shard, one transfer in
  // flight per shard, so the status lines show transfers being relayed and credited.
  const xstats = net.shards.map(() => ({ sent: 0, credited: 0, lastMs: 0 }));
  let xopen: Promise<ShardedClient> | null = null;
  const trickle = async (k: number): Promise<void> => {
    if (net.shards.length < 2 || perShard === 0 || o.geo) return;
    while (!stopping) {
      try {
        // Opened once the nodes answer (it reads the faucets' nonces).
        xopen ??= ShardedClient.open(net.manifest).catch((e: unknown) => {
          xopen = null;
          throw e;
        });
        const xclient = await xopen;
        const t0 = performance.now();
        const { xid, outShard } = await xclient.cross(k, xclient.accountOn((k + 1) % net.shards.length).publicKey, 1);
        xstats[k]!.sent++;
        if ((await xclient.decided(outShard, xid, 30_000, 50)) === "credited") {
          xstats[k]!.credited++;
          xstats[k]!.lastMs = performance.now() - t0;
        }
      } catch {
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  };
  const trickles = net.shards.map((_, k) => trickle(k));
  const loads = perShard > 0 ? net.shards.map((s) => new LoadGenerator({ urls: s.urls, rate: perShard, txBytes: o.txSize, batch: Math.max(1, Math.ceil(perShard / 20)), trackIds: false })) : [];
  for (const l of loads) l.start();

  const clients = net.shards.map((s) => s.urls.map((url) => new RpcClient({ url, timeoutMs: 800 })));
  const rates = net.shards.map(() => ({ total: null as number | null, at: 0, rate: 0 }));
  let ticks = 0;
  const poll = async () => {
    const lines = await Promise.all(
      net.shards.map(async (s, k) => {
        const statuses = await Promise.all(clients[k]!.map((c) => c.status().catch(() => null)));
        const live = statuses.filter((x): x is NodeStatus => x !== null);
        const height = Math.max(0, ...live.map((x) => x.committedHeight));
        const best = statuses.findIndex((x) => x !== null && x.committedHeight === height);
        if (best >= 0) {
          const m = /^quire_committed_txs_total (\d+)$/m.exec(await clients[k]![best]!.metrics().catch(() => ""));
          const r = rates[k]!;
          if (m !== null) {
            const total = Number(m[1]);
            const now = performance.now();
            if (r.total !== null && total >= r.total && now > r.at) r.rate = 0.5 * r.rate + (0.5 * (total - r.total) * 1000) / (now - r.at);
            r.total = total;
            r.at = now;
          }
        }
        if (o.geo) {
          const g = best >= 0 ? await clients[k]![best]!.geoStatus().catch(() => null) : null;
          const geo = g === null ? "" : ` | global round ${g.round}, ${g.txs} txs executed, root ${toHex(g.stateRoot).slice(0, 12)}`;
          return `  cluster ${s.index}: height ${height} | ${rates[k]!.rate.toFixed(0)} tx/s ordered | nodes up ${live.length}/${s.urls.length}${geo}`;
        }
        const supply = best >= 0 ? await clients[k]![best]!.supply().catch(() => null) : null;
        const x = xstats[k]!;
        const xshard = supply?.xshard === undefined ? "" : ` | xshard sent ${x.sent}, credited ${x.credited}${x.lastMs > 0 ? ` (last ${x.lastMs.toFixed(0)} ms)` : ""}, escrowed ${supply.xshard.escrowed}, imported ${supply.xshard.imported}`;
        return `  shard ${s.index}: height ${height} | ${rates[k]!.rate.toFixed(0)} tx/s | nodes up ${live.length}/${s.urls.length}${xshard}`;
      }),
    );
    ticks++;
    const head = `[${((performance.now() - o.t0) / 1000).toFixed(0).padStart(4)} s]`;
    if (tty) out(`${ticks > 1 ? `\x1b[${lines.length + 1}A` : ""}\x1b[K${head}\n${lines.map((l) => `\x1b[K${l}`).join("\n")}\n`);
    else if (ticks % 2 === 0) out(`${head}\n${lines.join("\n")}\n`);
  };
  const statusTimer = pollEvery(poll, () => stopping);
  const signal = await untilSignal(o.durationS);
  stopping = true;
  clearInterval(statusTimer);
  out(`stopping (${signal})...\n`);
  await Promise.all(loads.map((l) => l.stop()));
  await Promise.all(trickles);
  const codes = await net.stop();
  codes.forEach((cs, k) => out(`  ${what} ${k}: nodes exited ${cs.map((c) => (c === null ? "(killed)" : String(c))).join(" ")}\n`));
  loads.forEach((l, k) => out(`load on ${what} ${k}: ${l.confirmed} txs accepted, ${l.stats.rejected503} refused with 503, ${l.stats.shed} shed\n`));
  if (!o.keep) await net.remove();
  else out(`network kept in ${net.dir} (resume with: quire cluster --shards ${net.shards.length} --dir ${net.dir})\n`);
  return codes.every((cs) => cs.every((c) => c === 0)) ? 0 : 1;
}

/** Runs `poll` every STATUS_INTERVAL_MS, never two at once, until `stopping()`. */
function pollEvery(poll: () => Promise<void>, stopping: () => boolean): NodeJS.Timeout {
  let polling = false;
  return setInterval(() => {
    if (polling || stopping()) return;
    polling = true;
    void poll().finally(() => (polling = false));
  }, STATUS_INTERVAL_MS);
}

/** Resolves with what ended the run: SIGINT, SIGTERM or `--duration-s`. */
function untilSignal(durationS: number | undefined): Promise<string> {
  return new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
    if (durationS !== undefined) setTimeout(() => resolve(`--duration-s ${durationS}`), durationS * 1000);
  });
}
