/**
 * The commands a newcomer types, as real processes: `quire init` writes a network (keys mode 0600), `quire node`
 * refuses a bad config naming the field, `quire cluster` commits blocks within seconds under its built-in load and
 * stops every child on SIGINT (exit 0, no process left), `quire tx` / `quire status` talk to a running node, and
 * `quire bench faults` runs its kill/restart measurement on a cluster of its own.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnQuire, stopAll, until } from "./support/network.js";
import type { NodeProcess } from "./support/network.js";

const dirs: string[] = [];
after(async () => {
  await stopAll(undefined);
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "quire-e2e-cli-"));
  dirs.push(d);
  return d;
}

async function run(args: string[]): Promise<NodeProcess> {
  const p = spawnQuire(args);
  await p.exit;
  return p;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("quire init writes genesis, configs and 0600 keys; quire node refuses a bad config naming the field", async () => {
  const dir = join(await tempDir(), "net");
  const init = await run(["init", "--validators", "4", "--dir", dir, "--base-port", "39100"]);
  assert.equal(init.exitCode, 0, init.output);
  const genesis = JSON.parse(await readFile(join(dir, "genesis.json"), "utf8")) as { validators: unknown[]; chainId: string };
  assert.equal(genesis.validators.length, 4);
  for (let i = 0; i < 4; i++) {
    const key = await stat(join(dir, `node${i}`, "validator.key"));
    assert.equal(key.mode & 0o777, 0o600);
    const cfg = JSON.parse(await readFile(join(dir, `node${i}`, "config.json"), "utf8")) as { p2p: { port: number }; rpc: { port: number } };
    assert.deepEqual([cfg.p2p.port, cfg.rpc.port], [39100 + 2 * i, 39101 + 2 * i]);
  }
  const again = await run(["init", "--validators", "4", "--dir", dir]);
  assert.equal(again.exitCode, 1, "init never overwrites a network");
  // A config with a bad field: the node exits 1 and the message names the field.
  const cfgFile = join(dir, "node1", "config.json");
  const cfg = JSON.parse(await readFile(cfgFile, "utf8")) as Record<string, unknown>;
  await writeFile(cfgFile, JSON.stringify({ ...cfg, rpc: { host: "127.0.0.1", port: 99999 } }));
  const bad = await run(["node", "--config", cfgFile]);
  assert.equal(bad.exitCode, 1);
  assert.match(bad.output, /rpc\.port/);
  // A key that is not the genesis validator's at this index.
  await writeFile(cfgFile, JSON.stringify({ ...cfg, keyFile: "../node2/validator.key" }));
  const wrongKey = await run(["node", "--config", cfgFile]);
  assert.equal(wrongKey.exitCode, 1);
  assert.match(wrongKey.output, /KEY_NOT_IN_GENESIS/);
});

test("quire cluster commits blocks under its built-in load, serves quire tx and quire status, and SIGINT stops every child", async () => {
  const dir = join(await tempDir(), "cluster");
  const cluster = spawnQuire(["cluster", "--validators", "4", "--dir", dir, "--load", "100"]);
  const firstBlock = await until("the first committed block", async () => /first block committed ([\d.]+) s after start/.exec(cluster.output)?.[1], 30_000, () => cluster.output);
  assert.ok(Number(firstBlock) > 0);
  const pids = [...cluster.output.matchAll(/node \d+: pid (\d+), rpc (http:\/\/[\d.:]+)/g)].map((m) => ({ pid: Number(m[1]), rpc: m[2]! }));
  assert.equal(pids.length, 4, cluster.output);
  const rpc = pids[2]!.rpc;
  const put = await run(["tx", "put", "greeting", "hello quire", "--rpc", rpc]);
  assert.equal(put.exitCode, 0, put.output);
  assert.match(put.output, /committed: height \d+, index \d+, ok/);
  const get = await run(["tx", "get", "greeting", "--rpc", pids[0]!.rpc]);
  assert.equal(get.output.trim(), "hello quire");
  const status = await run(["status", "--rpc", rpc, "--json"]);
  const s = JSON.parse(status.output) as { nodeIndex: number; committedHeight: number; peersConnected: number };
  assert.equal(s.nodeIndex, 2);
  assert.ok(s.committedHeight >= 1);
  // The status line shows the load committing.
  await until("a status line with committed tx/s", async () => (/\| ([1-9]\d*) tx\/s \|/.test(cluster.output) ? true : undefined), 30_000, () => cluster.output);

  cluster.proc.kill("SIGINT");
  const code = await until("the cluster to exit", async () => (cluster.exited ? cluster.exitCode : undefined), 30_000, () => cluster.output);
  assert.equal(code, 0, cluster.output);
  for (let i = 0; i < 4; i++) assert.match(cluster.output, new RegExp(`node ${i}: exited 0`));
  for (const { pid } of pids) assert.equal(alive(pid), false, `node pid ${pid} still running`);
});

test("quire load --cluster starts a local network, commits every tx on every node, and cleans up", async () => {
  const load = spawnQuire(["load", "--cluster", "4", "--txs", "400", "--size", "256", "--batch", "100"]);
  const code = await until("quire load to finish", async () => (load.exited ? load.exitCode : undefined), 90_000, () => load.output);
  assert.equal(code, 0, load.output);
  const dir = /local cluster of 4 up and committing after [\d.]+ s \((.+)\)/.exec(load.output)?.[1];
  assert.ok(dir !== undefined, load.output);
  // Every node's blocks hold all 400 (read by GET /v1/blocks/:h/txids), none acknowledged and lost.
  const perNode = [...load.output.matchAll(/: height \d+, (\d+) txs of the run committed, (\d+) acknowledged lost/g)];
  assert.equal(perNode.length, 4, load.output);
  for (const m of perNode) assert.deepEqual([m[1], m[2]], ["400", "0"]);
  await assert.rejects(stat(dir), "the temporary network directory is removed");
});

test("quire bench faults kills and restarts validators of a local cluster by pid and reports the figures against the targets", async () => {
  const dir = await tempDir();
  const json = join(dir, "faults.json");
  const bench = spawnQuire(["bench", "faults", "--window-s", "2", "--leader-rounds", "1", "--load", "100", "--json", json]);
  const code = await until("quire bench faults to finish", async () => (bench.exited ? bench.exitCode : undefined), 120_000, () => bench.output);
  assert.equal(code, 0, bench.output);
  const cluster = /^quire bench faults: 4 validators in (\S+),/m.exec(bench.output)?.[1];
  assert.ok(cluster !== undefined, bench.output);
  await assert.rejects(stat(cluster), "the temporary cluster directory is removed");
  for (const row of ["during / before", "restart -> back at the tip", "leader kill -> next commit", "leader kill -> longest commit gap"]) assert.ok(bench.output.includes(row), `no "${row}" row\n${bench.output}`);

  const doc = JSON.parse(await readFile(json, "utf8")) as {
    suite: string;
    targets: Record<string, number>;
    result: {
      validators: number;
      outage: { victim: number; blocksPerSecBefore: number; blocksPerSecDuring: number; ratio: number; rpcUpMs: number | null; backAtTipMs: number | null };
      leaderCrashes: { leader: number; nextCommitMs: number | null; longestGapMs: number }[];
    };
  };
  assert.equal(doc.suite, "faults");
  assert.deepEqual(Object.keys(doc.targets).sort(), ["backAtTipMs", "leaderCrashMs", "outageRatio"]);
  const { outage, leaderCrashes } = doc.result;
  assert.equal(doc.result.validators, 4);
  assert.ok(outage.blocksPerSecBefore > 0, "no block committed before the outage");
  assert.ok(outage.victim >= 0 && outage.victim < 4);
  assert.ok(Math.abs(outage.ratio - outage.blocksPerSecDuring / outage.blocksPerSecBefore) < 0.01);
  assert.ok(outage.backAtTipMs !== null && outage.backAtTipMs > 0, "the restarted validator never got back to the tip");
  assert.ok(outage.rpcUpMs !== null && outage.rpcUpMs > 0 && outage.rpcUpMs <= outage.backAtTipMs, "its RPC answered after it was back at the tip");
  assert.equal(leaderCrashes.length, 1);
  assert.ok(leaderCrashes[0]!.leader >= 0 && leaderCrashes[0]!.leader < 4);
  assert.ok(leaderCrashes[0]!.longestGapMs > 0);
});
