/**
 * `quire bench xshard`: cross-shard transfer latency against intra-shard commit latency on a local sharded network
 * (2 shards × 4 validators by default, real processes). One transfer at a time, alternating: an intra-shard account
 * transfer from a shard's faucet (submit → committed, polled every 10 ms) and a cross-shard transfer from the same
 * faucet to the other shard (submit → credited on the output shard, polled every 10 ms). Reports p50 / p90 of each
 * and the ratio of the p50s (issue 14's target: ≤ 3).
 */
import { writeFile } from "node:fs/promises";
import { checkFlags, intFlag, parseArgs, stringFlag, UsageError } from "./args.js";
import { launchShardedCluster, waitUntilCommitting } from "./localCluster.js";
import { ShardedClient } from "./xshardClient.js";

const USAGE = [
  "usage: quire bench xshard [--shards 2] [--validators 4] [--transfers 30] [--json FILE]",
  "       intra-shard commit latency vs cross-shard transfer latency (submit → credited) on a local sharded network",
].join("\n");

export async function benchXShardCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ["help"]);
  if (args.flags.has("help")) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  checkFlags(args, ["shards", "validators", "transfers", "json", "help"]);
  const shards = intFlag(args, "shards", 2)!;
  const validators = intFlag(args, "validators", 4)!;
  const transfers = intFlag(args, "transfers", 30)!;
  const json = stringFlag(args, "json");
  if (shards < 2 || shards > 8 || validators < 1 || validators > 16 || transfers < 1) throw new UsageError(USAGE);
  const out = (s: string) => process.stdout.write(s);
  const net = await launchShardedCluster({ shards, validators, logLevel: "warn" });
  try {
    for (const shard of net.shards) await waitUntilCommitting(shard);
    const c = await ShardedClient.open(net.manifest);
    out(`network in ${net.dir}: ${shards} shards × ${validators} validators; ${transfers} transfers of each kind, one at a time\n`);
    const intra: number[] = [];
    const cross: number[] = [];
    for (let i = 0; i < transfers; i++) {
      const s = i % shards;
      const t0 = performance.now();
      const id = await c.intra(s, c.accountOn(s).publicKey, 1);
      if (!(await c.committed(s, id, 30_000))) throw new Error(`intra-shard tx ${id} did not commit in 30 s`);
      intra.push(performance.now() - t0);
      const dest = (s + 1) % shards;
      const to = c.accountOn(dest).publicKey;
      const t1 = performance.now();
      const { xid, outShard } = await c.cross(s, to, 1);
      const d = await c.decided(outShard, xid, 30_000);
      if (d !== "credited") throw new Error(`cross-shard transfer ${xid} was ${d ?? "not decided in 30 s"}`);
      cross.push(performance.now() - t1);
    }
    const p = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
    const r = {
      shards,
      validators,
      transfers,
      intraP50Ms: p(intra, 0.5),
      intraP90Ms: p(intra, 0.9),
      crossP50Ms: p(cross, 0.5),
      crossP90Ms: p(cross, 0.9),
      ratioP50: p(cross, 0.5) / p(intra, 0.5),
    };
    out(`intra-shard commit   p50 ${r.intraP50Ms.toFixed(0)} ms  p90 ${r.intraP90Ms.toFixed(0)} ms\n`);
    out(`cross-shard credited p50 ${r.crossP50Ms.toFixed(0)} ms  p90 ${r.crossP90Ms.toFixed(0)} ms\n`);
    out(`ratio of p50s: ${r.ratioP50.toFixed(2)} (target ≤ 3)\n`);
    if (json !== undefined) await writeFile(json, JSON.stringify(r, null, 2) + "\n");
    return 0;
  } finally {
    await net.stop();
    await net.remove();
  }
}
