/**
 * `quire bench cluster` end to end, as short as it goes: the floor (2 s), a 4-validator network, two open-loop steps
 * of 4 s, the per-step lost-tx check on real nodes (their GET /v1/blocks/:h/txids against the generator's own
 * SHA-256 ids), the JSON and the chart next to it. Figures are not asserted (speed lives in benchmarks); their shape
 * and consistency are.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnQuire, stopAll, until } from "./support/network.js";
import type { ClusterBenchResult } from "../../src/cli/benchCluster.js";

let dir: string | undefined;
after(async () => {
  await stopAll(undefined);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

test("quire bench cluster: floor, two steps, no acknowledged tx lost, JSON and SVG written", async () => {
  dir = await mkdtemp(join(tmpdir(), "quire-bench-cluster-test-"));
  const json = join(dir, "run.json");
  const bench = spawnQuire(["bench", "cluster", "--validators", "4", "--rates", "500,1000", "--step-s", "4", "--warmup-s", "1", "--floor-s", "2", "--json", json]);
  const code = await until("quire bench cluster to finish", async () => (bench.exited ? bench.exitCode : undefined), 150_000, () => bench.output);
  assert.equal(code, 0, bench.output);
  const r = JSON.parse(await readFile(json, "utf8")) as ClusterBenchResult;
  assert.equal(r.validators, 4);
  assert.deepEqual(r.steps.map((s) => [s.phase, s.rate]), [["sweep", 500], ["sweep", 1000]]);
  for (const s of r.steps) {
    assert.equal(s.load.mode, "open");
    assert.equal(s.load.offered, s.rate * 4, "R x S txs offered");
    assert.equal(s.load.offeredTxPerSecond, s.rate);
    assert.equal(s.load.lost, 0);
    assert.equal(s.load.perNode.length, 4);
    for (const n of s.load.perNode) assert.equal(n.committed, s.load.accepted + s.load.duplicate, "every acknowledged tx in every node's blocks");
    assert.equal(s.nodes.length, 4);
    for (const n of s.nodes) assert.ok(n.cpuSeconds > 0 && n.peakRssMiB > 10 && n.peakAnonMiB > 10 && n.peakAnonMiB <= n.peakRssMiB, JSON.stringify(n));
    assert.ok(s.nodesCpuShare > 0 && s.nodesCpuShare <= 1.05 && s.txPerNodeCpuSecond > 0, JSON.stringify(s));
    assert.equal(s.saturated, s.reasons.length > 0);
  }
  assert.equal(r.lost, 0);
  assert.ok(r.floor !== null && r.floor.floorTxPerSecond > 0 && r.floor.workers >= 1);
  assert.equal(r.floor.floorTxPerSecond, +(r.floor.machineTxPerSecond / 4).toFixed(1));
  assert.ok(r.floor.txPerCpuSecond > 0 && r.floor.quietFloorTxPerSecond > 0);
  assert.equal(r.efficiency.atSaturation, +(r.saturation.bestCommitted / r.floor.floorTxPerSecond).toFixed(3));
  const svg = await readFile(join(dir, "run.svg"), "utf8");
  assert.match(svg, /^<\?xml [^>]*\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal([...svg.matchAll(/data-series="committed tx\/s" data-x/g)].length, 2);
  assert.match(bench.output, /no acknowledged tx lost in any step/);
});
