/**
 * Multi-chain runs (issue 13): main replicas and para nodes on one virtual clock, with the paracross invariant checked
 * on every honest main replica (src/sim/paraSimulation.ts, src/sim/paraChecker.ts). Real BLS (blst): the para nodes
 * sign their commits and the main chain's paracross module verifies them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadBlsBackend } from "../../src/crypto/bls/backend.js";
import type { BlsBackend } from "../../src/crypto/bls/backend.js";
import { runParaSimulation } from "../../src/sim/paraSimulation.js";
import type { ParaSimOptions, ParaSimResult } from "../../src/sim/paraSimulation.js";
import { seededRng } from "../support/seed.js";

let backend: BlsBackend | null = null;
async function run(o: Omit<ParaSimOptions, "bls" | "validators" | "paraNodes"> & Partial<ParaSimOptions>): Promise<ParaSimResult> {
  backend ??= await loadBlsBackend("blst");
  return runParaSimulation({ validators: 4, paraNodes: 4, bls: backend, ...o });
}

function describe(r: ParaSimResult): string {
  return `seed ${r.seed} (${r.main.plan.kinds.join(",")}): main ${r.mainHeight}, para head ${r.paraHead}, done ${r.done.map((d) => `${d.instance}:${d.doneHeight}`).join(" ")}, violations ${r.violations.map((v) => v.message).join(" | ")}`;
}

test("a clean run: the done height follows the para head on every main replica, no violation", async () => {
  const r = await run({ seed: 1, kinds: ["happy"], paraHeight: 20 });
  assert.deepEqual(r.violations, [], describe(r));
  assert.equal(r.done.length, 4);
  for (const d of r.done) {
    assert.ok(d.doneHeight >= 20, describe(r));
    assert.ok(r.paraHead - d.doneHeight <= 10, `done trails the para head by more than 10: ${describe(r)}`);
  }
  assert.ok(r.paraTxs > 0);
  // Every honest para node made every height up to the target.
  for (const h of r.paraHeads) assert.ok(h >= 20, describe(r));
});

test("random crash and partition scenarios on the main chain: done advances, no violation", async (t) => {
  const rng = seededRng(t);
  const kinds = [["crash-restart", "partition"], ["crash-stop", "lossy"], ["partition", "lossy"], ["crash-restart"]] as const;
  let first: ParaSimResult | null = null;
  for (const k of kinds) {
    const r = await run({ seed: rng.u32(), kinds: k, paraHeight: 10 });
    assert.deepEqual(r.violations, [], describe(r));
    assert.ok(r.done.length > 0 && r.done.every((d) => d.doneHeight > 0), describe(r));
    first ??= r;
  }
  // A run is a function of its seed, promise-based para nodes included: the first one replays exactly.
  const again = await run({ seed: first!.seed, kinds: kinds[0], paraHeight: 10 });
  assert.deepEqual(
    [again.mainHeight, again.paraHeads, again.done, again.resends, again.paraTxs, again.endMs, again.main.messages],
    [first!.mainHeight, first!.paraHeads, first!.done, first!.resends, first!.paraTxs, first!.endMs, first!.main.messages],
  );
});

test("one Byzantine para node of four: still done; two of four: nothing past the common first block (no 2/3)", async () => {
  const one = await run({ seed: 3, kinds: ["happy"], byzantineParas: 1, paraHeight: 15 });
  assert.deepEqual(one.violations, [], describe(one));
  for (const d of one.done) assert.ok(d.doneHeight >= 15, describe(one));

  const two = await run({ seed: 3, kinds: ["happy"], byzantineParas: 2, byzantinePolicy: "shared", paraHeight: 15 });
  assert.deepEqual(two.violations, [], describe(two));
  assert.ok(two.paraHead >= 15, describe(two));
  // Main block 1 makes para block 1 under both policies (every policy builds from its start height): all four agree
  // on it. From height 2 the chains differ and neither side has 3 of 4.
  for (const d of two.done) assert.ok(d.doneHeight <= 1, describe(two));
});

test("THE CHECKER FAILS ON A BROKEN RUN: three of four para nodes collude on a wrong chain and reach 2/3", async () => {
  const r = await run({ seed: 4, kinds: ["happy"], byzantineParas: 3, byzantinePolicy: "shared", paraHeight: 15 });
  const para = r.violations.filter((v) => v.kind === "para");
  assert.ok(para.length > 0, `expected the paracross checker to fail: ${describe(r)}`);
  for (const v of para) assert.match(v.message, /not the one the honest para nodes computed/);
  // The main chain itself was fine: only the para invariant broke.
  assert.equal(r.violations.filter((v) => v.kind !== "para").length, 0, describe(r));
});

test("a para outage: two nodes down in turn (below 2/3 for a while) and rebuilt over their data: no hole, done catches up", async () => {
  const r = await run({
    seed: 5,
    kinds: ["happy"],
    paraHeight: 40,
    paraOutages: [
      { node: 1, atMs: 100, forMs: 300 },
      { node: 2, atMs: 200, forMs: 300 },
    ],
  });
  assert.deepEqual(r.violations, [], describe(r));
  for (const d of r.done) assert.ok(d.doneHeight >= 40, describe(r));
  // The restarted nodes are up and made the heights they missed while down.
  assert.ok(r.paraHeads[1]! >= 40 && r.paraHeads[2]! >= 40, `para heads ${r.paraHeads.join(",")}`);
});
