/**
 * The BLS share of the simulator seeds: the same sweeps, validation, certificates and core as the fast runs, with
 * real BLS (blst) signing and verifying every vote, timeout, QC and TC. Small on purpose: a blst verification costs
 * ≈ 0.9 ms, so one run here costs as much as ~50 with the test scheme.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadBlsBackend } from "../../src/crypto/bls/backend.js";
import { blsSimCrypto } from "../../src/sim/blsCrypto.js";
import { runSweep } from "../../src/sim/runner.js";
import { runSimulation } from "../../src/sim/simulation.js";
import { seededRng } from "../support/seed.js";

test("real BLS (blst): random scenario mixes for n = 4 and n = 7", async (t) => {
  const backend = await loadBlsBackend("blst");
  const first = seededRng(t).u32();
  for (const [n, seeds] of [
    [4, 5],
    [7, 2],
  ] as const) {
    const s = runSweep({ validators: n, seeds, firstSeed: first, kinds: "random", views: 20, cryptoFor: (seed) => blsSimCrypto(backend, n, seed) });
    assert.equal(s.schemes["bls-blst"], seeds);
    assert.equal(s.violations, 0, s.failures.map((f) => `seed ${f.seed}: ${f.plan}\n${f.violations.map((v) => v.message).join("\n")}`).join("\n"));
    assert.ok(s.commits > 0);
  }
});

test("real BLS (blst): corrupted votes are named by the collector's bisection in optimistic mode", async () => {
  const backend = await loadBlsBackend("blst");
  const r = runSimulation({ validators: 4, seed: 8, kinds: ["bad-signatures"], views: 20, byzantine: 1, crypto: blsSimCrypto(backend, 4, 8), plan: (p) => ({ ...p, optimisticVotes: true }) });
  assert.deepEqual(r.violations, []);
  assert.ok((r.rejections["CORE_INVALID_VOTE_SIGNATURE"] ?? 0) > 0, JSON.stringify(r.rejections));
});
