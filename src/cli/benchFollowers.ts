/**
 * `quire bench followers`: how far followers trail the validators under client load sent to the followers only
 * (issue 16's figure: "a follower stays within 2 blocks of the validators' head under a 2,000 tx/s load").
 *
 * Starts a local network (4 validators, 2 followers following the validators round-robin with fan-out 2; `--chain`
 * makes follower 1 follow follower 0), waits until everyone committed a block, then runs `quire load --rate R
 * --duration D --rpc <the followers>` as a child process (its own event loop, so it does not delay the sampling) and
 * samples every 100 ms, over the load's duration, each follower's lag: the validators' head (the highest committed
 * height any validator last reported on `/v1/status`) minus the follower's last reported committed height. Prints p50 / p99 / max lag per
 * follower and over all samples, and the load's own summary (accepted, committed, lost).
 *
 * A follower applies block h once it holds a commit proof for it (consensus/certifiedChain.ts), and an upstream serves
 * only committed blocks, so 1 block is the floor of a follower of validators and 2 of a follower of a follower.
 */
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { checkFlags, intFlag, parseArgs, stringFlag, UsageError } from "./args.js";
import { launchCluster, waitUntilCommitting } from "./localCluster.js";
import { RpcClient } from "../rpc/client.js";

const BIN = fileURLToPath(new URL("../../../bin/quire.js", import.meta.url));
const SAMPLE_MS = 100;

const USAGE = [
  "usage: quire bench followers [--rate 2000] [--duration 30] [--validators 4] [--followers 2] [--chain] [--json FILE]",
  "       follower lag (validators' head − follower head, /v1/status every 100 ms) during `quire load` against the followers",
].join("\n");

export async function benchFollowersCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ["help", "chain"]);
  if (args.flags.has("help")) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  checkFlags(args, ["rate", "duration", "validators", "followers", "chain", "json", "help"]);
  const rate = intFlag(args, "rate", 2000)!;
  const duration = intFlag(args, "duration", 30)!;
  const validators = intFlag(args, "validators", 4)!;
  const followerCount = intFlag(args, "followers", 2)!;
  const chained = args.flags.has("chain");
  const json = stringFlag(args, "json");
  if (rate < 1 || duration < 1 || validators < 1 || validators > 16 || followerCount < 1 || followerCount > 8 || (chained && followerCount < 2)) throw new UsageError(USAGE);
  const out = (s: string) => process.stdout.write(s);
  const cluster = await launchCluster({ validators, followers: followerCount, ...(chained ? { followerOf: (k: number) => (k === 1 ? 0 : null) } : {}), logLevel: "warn" });
  try {
    await waitUntilCommitting(cluster);
    const vClients = cluster.urls.map((url) => new RpcClient({ url, timeoutMs: 1_000 }));
    const fClients = cluster.followers.urls.map((url) => new RpcClient({ url, timeoutMs: 1_000 }));
    const deadline = Date.now() + 60_000;
    while ((await Promise.all(fClients.map((c) => c.status().then((s) => s.committedHeight, () => 0)))).some((h) => h < 1)) {
      if (Date.now() > deadline) throw new UsageError(`the followers did not start following; logs in ${cluster.dir}`);
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
    }
    out(`network in ${cluster.dir}: ${validators} validators, ${followerCount} followers${chained ? " (follower 1 follows follower 0)" : ""}; load ${rate} tx/s for ${duration} s to the followers only\n`);

    const load = spawn(process.execPath, [BIN, "load", "--rpc", cluster.followers.urls.join(","), "--rate", String(rate), "--duration", String(duration), "--drain-s", "15"], { stdio: ["ignore", "pipe", "inherit"] });
    let loadOut = "";
    load.stdout.on("data", (d: Buffer) => (loadOut += d.toString("utf8")));
    const loadExit = new Promise<number | null>((resolve) => load.once("exit", resolve));

    // Every 100 ms one sample from the latest height each node answered. A node's next `/v1/status` goes out once its
    // previous one is answered (a node busy executing a big block answers late: waiting for all six would stretch the
    // period to the slowest answer, ≈ 400 ms under this load), so a sample is never older than one answer time.
    const latest: (number | null)[] = [...vClients, ...fClients].map(() => null);
    const asking = latest.map(() => false);
    const ask = () =>
      [...vClients, ...fClients].forEach((c, i) => {
        if (asking[i]) return;
        asking[i] = true;
        void c
          .status()
          .then(
            (st) => (latest[i] = st.committedHeight),
            () => {},
          )
          .finally(() => (asking[i] = false));
      });
    const lags: number[][] = fClients.map(() => []);
    let samples = 0;
    const t0 = Date.now();
    ask();
    while (Date.now() - t0 < duration * 1000) {
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
      ask();
      const vs = latest.slice(0, vClients.length);
      const fs = latest.slice(vClients.length);
      if (vs.every((h) => h === null) || fs.some((h) => h === null)) continue;
      const head = Math.max(...vs.filter((h): h is number => h !== null));
      fs.forEach((h, k) => lags[k]!.push(Math.max(0, head - h!)));
      samples++;
    }
    // Let the last answers land before the cluster stops.
    while (asking.some((a) => a)) await new Promise((r) => setTimeout(r, 10));
    const code = await loadExit;
    const summary = loadOut.split("\n").filter((l) => /^(window|latency|txs:|  http|no acknowledged|LOST)/.test(l));
    const pct = (xs: readonly number[], q: number) => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
    };
    const row = (xs: readonly number[]) => ({ p50: pct(xs, 0.5), p99: pct(xs, 0.99), max: Math.max(...xs), within2: xs.filter((x) => x <= 2).length / xs.length });
    const perFollower = lags.map((xs, k) => ({ follower: k, url: cluster.followers.urls[k]!, ...row(xs) }));
    const all = row(lags.flat());
    out(`lag in blocks (validators' head − follower head), ${samples} samples every ${SAMPLE_MS} ms:\n`);
    for (const p of perFollower) out(`  follower ${p.follower}: p50 ${p.p50}, p99 ${p.p99}, max ${p.max}, ${(100 * p.within2).toFixed(1)} % of samples ≤ 2\n`);
    out(`  all:        p50 ${all.p50}, p99 ${all.p99}, max ${all.max}, ${(100 * all.within2).toFixed(1)} % of samples ≤ 2\n`);
    out(`load (exit ${code}):\n${summary.map((l) => `  ${l.trim()}`).join("\n")}\n`);
    if (json !== undefined) await writeFile(json, JSON.stringify({ rate, duration, validators, followers: followerCount, chained, samples, perFollower, all, loadExit: code, load: summary }, null, 2) + "\n");
    return code === 0 ? 0 : 1;
  } finally {
    await cluster.stop();
    await cluster.remove();
  }
}
