/**
 * `quire bench para`: how far the main chain's done height trails a para chain's head under a para-tx load — the
 * issue's "para done-height lag behind the para head" target (p50 ≤ 2 main blocks at 1,000 tx/s).
 *
 * A fresh local network (N validators, one para chain of P nodes, `quire cluster --para` underneath) takes an
 * open-loop load of para txs (KV puts wrapped in 0x21 for the title, `LoadTxs`) on the main nodes for the window.
 * Every 100 ms it samples the para head (highest over the para nodes' `/v1/status`) and the done height (a main node's
 * `/v1/para/:title/status`); lag = head − done, in para blocks, which are main blocks here (one para block per main
 * block, `emptyBlockInterval` 1). It also reports the main chain's blocks/s and the para txs that reached para
 * blocks, and checks at the end that done is contiguous (no holes) and every para node holds the same head block.
 */
import { writeFile } from "node:fs/promises";
import { checkFlags, intFlag, parseArgs, stringFlag, UsageError } from "./args.js";
import { LoadGenerator } from "./loadgen.js";
import { launchCluster, waitUntilCommitting } from "./localCluster.js";
import { RpcClient } from "../rpc/client.js";
import { bytesEqual } from "../util/bytes.js";

const USAGE = [
  "usage: quire bench para [--validators N] [--para-nodes P] [--rate TX_PER_S] [--window-s S] [--warmup-s W] [--tx-size B] [--json FILE] [--keep]",
  "  Done-height lag of a para chain under an open-loop para-tx load (default 4 validators, 4 para nodes, 1,000 tx/s,",
  "  30 s window after a 5 s warm-up, 128-byte txs): p50/p90/max of para head − done, in main blocks.",
].join("\n");

const TITLE = "bench";
const SAMPLE_MS = 100;

export interface ParaBenchResult {
  readonly validators: number;
  readonly paraNodes: number;
  readonly rate: number;
  readonly windowS: number;
  readonly lag: { readonly p50: number; readonly p90: number; readonly max: number; readonly samples: number };
  readonly mainBlocksPerS: number;
  readonly paraTxsAccepted: number;
  readonly paraHead: number;
  readonly doneHeight: number;
  readonly holes: number;
  readonly resends: number;
  readonly paraHeadsAgree: boolean;
}

export async function benchParaCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ["keep", "help"]);
  if (args.flags.has("help")) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  checkFlags(args, ["validators", "para-nodes", "rate", "window-s", "warmup-s", "tx-size", "json", "keep", "help"]);
  const validators = intFlag(args, "validators", 4)!;
  const paraNodes = intFlag(args, "para-nodes", 4)!;
  const rate = intFlag(args, "rate", 1_000)!;
  const windowS = intFlag(args, "window-s", 30)!;
  const warmupS = intFlag(args, "warmup-s", 5)!;
  const txBytes = intFlag(args, "tx-size", 128)!;
  const json = stringFlag(args, "json");
  if (validators < 1 || validators > 16 || paraNodes < 1 || paraNodes > 32 || rate < 1 || windowS < 1) throw new UsageError(USAGE);

  const cluster = await launchCluster({ validators, logLevel: "warn", paras: [{ title: TITLE, nodes: paraNodes }] });
  const para = cluster.paras[0]!;
  const out = (s: string) => process.stdout.write(s);
  let load: LoadGenerator | null = null;
  try {
    await waitUntilCommitting(cluster);
    const main = new RpcClient({ url: cluster.urls[0]!, timeoutMs: 2_000 });
    const paraClients = para.urls.map((url) => new RpcClient({ url, timeoutMs: 2_000 }));
    out(`network in ${cluster.dir}; para chain "${TITLE}" of ${paraNodes} nodes; ${rate} para tx/s for ${warmupS} + ${windowS} s\n`);
    load = new LoadGenerator({ urls: cluster.urls, rate, txBytes, batch: Math.max(1, Math.ceil(rate / 50)), trackIds: false, paraTitle: TITLE });
    load.start();
    await sleep(warmupS * 1000);
    const lags: number[] = [];
    const t0 = performance.now();
    const h0 = (await main.status()).committedHeight;
    while (performance.now() - t0 < windowS * 1000) {
      const [st, heads] = await Promise.all([main.paraStatus(TITLE).catch(() => null), Promise.all(paraClients.map((c) => c.status().then((s) => s.committedHeight).catch(() => 0)))]);
      if (st !== null) lags.push(Math.max(...heads) - st.doneHeight);
      await sleep(SAMPLE_MS);
    }
    const elapsedS = (performance.now() - t0) / 1000;
    const h1 = (await main.status()).committedHeight;
    await load.stop();
    const accepted = load.confirmed;
    load = null;
    // Quiesce: every para node at the same head, done caught up.
    const heads = await Promise.all(paraClients.map((c) => c.status()));
    const head = Math.min(...heads.map((s) => s.committedHeight));
    const blocks = await Promise.all(paraClients.map((c) => c.block(head)));
    const first = blocks[0] ?? null;
    const agree = first !== null && blocks.every((b) => b !== null && bytesEqual(b.hash, first.hash));
    const st = (await main.paraStatus(TITLE))!;
    let resends = 0;
    for (const c of paraClients) {
      const m = /^quire_para_resends_total (\d+)$/m.exec(await c.metrics());
      resends += m === null ? 0 : Number(m[1]);
    }
    lags.sort((a, b) => a - b);
    const q = (p: number) => lags[Math.min(lags.length - 1, Math.floor(p * lags.length))] ?? NaN;
    const result: ParaBenchResult = {
      validators,
      paraNodes,
      rate,
      windowS,
      lag: { p50: q(0.5), p90: q(0.9), max: lags[lags.length - 1] ?? NaN, samples: lags.length },
      mainBlocksPerS: (h1 - h0) / elapsedS,
      paraTxsAccepted: accepted,
      paraHead: head,
      doneHeight: st.doneHeight,
      holes: st.holes.length,
      resends,
      paraHeadsAgree: agree,
    };
    out(
      [
        `lag (para head − done, main blocks) over ${lags.length} samples: p50 ${result.lag.p50}, p90 ${result.lag.p90}, max ${result.lag.max}   (target p50 ≤ 2)`,
        `main chain ${result.mainBlocksPerS.toFixed(1)} blocks/s; ${accepted} para txs accepted; para head ${head}, done ${st.doneHeight}, holes ${st.holes.length}; resends ${resends}; para nodes agree at the head: ${agree}`,
        "",
      ].join("\n"),
    );
    if (json !== undefined) await writeFile(json, JSON.stringify(result, null, 2) + "\n");
    return agree && st.holes.length === 0 ? 0 : 1;
  } finally {
    await load?.stop();
    await cluster.stop();
    if (!args.flags.has("keep")) await cluster.remove();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
