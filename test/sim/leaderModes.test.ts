/**
 * Leader modes in the simulator (issue 15, 6b): every mode stays live with a crashed validator; in `reputation` mode a
 * validator crashed from the start leads no view once the scoring window has passed, and the chain commits faster than
 * under round robin (virtual time, deterministic per seed); the live replicas of a run agree on every leader their
 * committed history decides (the anti-stall fallback in `reputation` mode: reputationStall.test.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_REPUTATION, LEADER_MODES } from "../../src/consensus/leaderElection.js";
import { runLeaderMode, SCORING_WINDOW_VIEWS } from "../../src/sim/leaderModes.js";
import { runSimulation } from "../../src/sim/simulation.js";
import type { SimResult } from "../../src/sim/simulation.js";

const violations = (r: SimResult): string[] => r.violations.map((v) => `${v.kind}: ${v.message}`);

test("every mode is live with one crash-stopped validator of 4 (random crash times, seeds 1..3)", () => {
  for (const leaderMode of LEADER_MODES) {
    for (let seed = 1; seed <= 3; seed++) {
      const r = runSimulation({ validators: 4, seed, kinds: ["crash-stop"], views: 40, byzantine: 0, leaderMode });
      assert.equal(r.plan.crashes.length, 1);
      assert.deepEqual(violations(r), [], `${leaderMode} seed ${seed}`);
      assert.ok(r.committedHeight > 20, `${leaderMode} seed ${seed}: height ${r.committedHeight}`);
    }
  }
});

test("reputation, 7 validators, one crashed at 0 ms: it leads no view after the window; faster than round robin; replicas agree", () => {
  for (const seed of [3, 4]) {
    const rep = runLeaderMode({ validators: 7, seed, views: 150, leaderMode: "reputation" });
    const rr = runLeaderMode({ validators: 7, seed, views: 150, leaderMode: "round-robin" });
    assert.deepEqual(violations(rep.result), []);
    assert.equal(rep.crashedLeadsAfterWindow, 0);
    assert.ok(rr.crashedLeadsAfterWindow > 0, "the measurement can see a crashed leader");
    assert.ok(rep.steady.blocks > 80 && rr.steady.blocks > 80, `${rep.steady.blocks} and ${rr.steady.blocks} blocks after the window`);
    const rate = (x: typeof rep) => x.steady.blocks / x.steady.ms;
    assert.ok(rate(rep) > 1.2 * rate(rr), `reputation ${rate(rep)} vs round robin ${rate(rr)} blocks/ms`);
    // Every live replica names the same leader for each view its committed history decides (anchor lag included).
    const live = rep.result.replicas.filter((r, i) => i !== rep.crashed && r.stack !== null);
    const decided = Math.min(...live.map((r) => rep.result.recorder.commits[rep.result.replicas.indexOf(r)]!.at(-1)!.view)) + DEFAULT_REPUTATION.lagViews;
    assert.ok(decided > SCORING_WINDOW_VIEWS + 80);
    for (let v = 1; v <= decided; v++) {
      const names = new Set(live.map((r) => r.stack!.shell.leader(v)));
      assert.equal(names.size, 1, `view ${v}`);
    }
  }
});
