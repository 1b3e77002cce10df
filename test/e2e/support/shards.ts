/**
 * A sharded network for end-to-end tests: `quire init --shards` on free ports, every node a `quire node` process
 * (tracked by support/network.ts, so `stopAll` stops them), restartable by shard and index.
 */
import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadNetworkManifest } from "../../../src/node/shardNetwork.js";
import type { NetworkManifest } from "../../../src/node/shardNetwork.js";
import { RpcClient } from "../../../src/rpc/client.js";
import { spawnQuire } from "./network.js";
import type { NodeProcess } from "./network.js";

/** A base port P with P .. P + count − 1 all free on 127.0.0.1 a moment ago (init lays the shards' ports out from P). */
export async function freeRange(count: number): Promise<number> {
  for (;;) {
    const base = 30_000 + 2 * Math.floor(Math.random() * 14_000);
    let ok = true;
    for (let p = base; p < base + count && ok; p++) {
      ok = await new Promise<boolean>((resolve) => {
        const s = createServer();
        s.once("error", () => resolve(false));
        s.listen(p, "127.0.0.1", () => s.close(() => resolve(true)));
      });
    }
    if (ok) return base;
  }
}

export interface ShardedTestNetwork {
  readonly dir: string;
  readonly manifest: NetworkManifest;
  /** nodes[s][i]: the current process of node i of shard s. */
  readonly nodes: NodeProcess[][];
  /** clients[s][i]. */
  readonly clients: RpcClient[][];
  /** (Re)starts node i of shard s. */
  start(s: number, i: number): NodeProcess;
  /** Output of every exited node (for failure messages). */
  diag(): string;
}

/** `kind` "clusters": a geo network (`quire init --clusters`); its clusters fill the same fields. */
export async function startShardedNetwork(shards: number, validators: number, extraInit: readonly string[] = [], kind: "shards" | "clusters" = "shards"): Promise<ShardedTestNetwork> {
  const dir = await mkdtemp(join(tmpdir(), `quire-e2e-${kind}-`));
  const base = await freeRange(2 * shards * validators);
  const init = spawnQuire(["init", `--${kind}`, String(shards), "--validators", String(validators), "--dir", dir, "--base-port", String(base), "--bls-workers", "1", ...extraInit]);
  if ((await init.exit) !== 0) throw new Error(`quire init --${kind} failed:\n${init.output}`);
  const manifest = await loadNetworkManifest(dir);
  const nodes: NodeProcess[][] = manifest.shards.map(() => []);
  const net: ShardedTestNetwork = {
    dir,
    manifest,
    nodes,
    clients: manifest.shards.map((s) => s.rpc.map((url) => new RpcClient({ url, timeoutMs: 3_000 }))),
    start(s, i) {
      const p = spawnQuire(["node", "--config", join(manifest.shards[s]!.dir, `node${i}`, "config.json")], 100 * s + i);
      nodes[s]![i] = p;
      return p;
    },
    diag: () =>
      nodes
        .flat()
        .filter((p) => p.exited)
        .map((p) => `node ${p.index} exited ${p.exitCode}:\n${p.output.slice(-1500)}`)
        .join("\n"),
  };
  manifest.shards.forEach((s) => s.rpc.forEach((_, i) => net.start(s.index, i)));
  return net;
}
