/**
 * A sharded network from the command line (issue 14): `quire init --shards 2 --validators 4` writes it, every one of
 * the 8 nodes runs as `quire node --config` (its shard's genesis carries the network section, so each builds the
 * xshard module), and both shards commit blocks, each on its own chain id; every process is stopped by pid.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadNetworkManifest } from "../../src/node/shardNetwork.js";
import { RpcClient } from "../../src/rpc/client.js";
import { spawnQuire, stopAll, until } from "./support/network.js";
import { freeRange } from "./support/shards.js";
import type { NodeProcess } from "./support/network.js";

const SHARDS = 2;
const VALIDATORS = 4;
let dir: string | undefined;

after(async () => {
  await stopAll(undefined);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

test("quire init --shards 2 --validators 4: all 8 nodes start and both shards commit blocks", { timeout: 40_000 }, async () => {
  dir = await mkdtemp(join(tmpdir(), "quire-e2e-shards-"));
  const base = await freeRange(2 * SHARDS * VALIDATORS);
  const init = spawnQuire(["init", "--shards", String(SHARDS), "--validators", String(VALIDATORS), "--dir", dir, "--base-port", String(base), "--bls-workers", "1"]);
  assert.equal(await init.exit, 0, init.output);
  const manifest = await loadNetworkManifest(dir);
  assert.equal(manifest.shards.length, SHARDS);

  const nodes: NodeProcess[][] = manifest.shards.map((s) => s.rpc.map((_, i) => spawnQuire(["node", "--config", join(s.dir, `node${i}`, "config.json")], 100 * s.index + i)));
  const clients = manifest.shards.map((s) => s.rpc.map((url) => new RpcClient({ url, timeoutMs: 2_000 })));
  const diag = () =>
    nodes
      .flat()
      .filter((p) => p.exited)
      .map((p) => `node ${p.index} exited ${p.exitCode}:\n${p.output.slice(-1500)}`)
      .join("\n");
  for (const s of manifest.shards) {
    await until(
      `shard ${s.index}'s nodes at height 3`,
      async () => {
        if (nodes.flat().some((p) => p.exited)) throw new Error("a node exited");
        const st = await Promise.all(clients[s.index]!.map((c) => c.status()));
        for (const x of st) assert.equal(x.chainId, s.chainId);
        return st.every((x) => x.committedHeight >= 3) ? true : undefined;
      },
      30_000,
      diag,
    );
  }
  // Stop every node by pid: SIGTERM, a clean exit each.
  for (const p of nodes.flat()) p.proc.kill("SIGTERM");
  const codes = await Promise.all(nodes.flat().map((p) => p.exit));
  assert.deepEqual(codes, new Array(SHARDS * VALIDATORS).fill(0), diag());
});
