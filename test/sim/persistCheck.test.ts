/**
 * The shell's persist-before-send check must tie a vote to the persisted last vote, not just to lastVotedView: a core
 * that signed one vote, persisted it, and sent a different one for the same view must be reported.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Simulation } from "../../src/sim/simulation.js";
import type { Effect } from "../../src/consensus/types.js";
import { Replica } from "../../src/consensus/replica.js";

const opts = { validators: 4, seed: 11, kinds: ["happy" as const], views: 12, happyDelayMs: 5 };

test("a vote that differs from the persisted last vote of its view is a safety violation", () => {
  const sim = new Simulation({ ...opts, plan: (p) => ({ ...p, crashes: [] }) });
  const step = Replica.prototype.step;
  let tampered = 0;
  // A faulty core: the vote it sends names another block than the one it persisted (same view, lastVotedView covers it).
  const tamper = (e: Effect): Effect => {
    if (e.kind !== "send" || e.message.kind !== "vote") return e;
    tampered++;
    const blockHash = Uint8Array.from(e.message.body.blockHash, (x) => x ^ 0xff);
    return { ...e, message: { kind: "vote", body: { ...e.message.body, blockHash } } };
  };
  Replica.prototype.step = function (s, input, now) {
    const r = step.call(this, s, input, now);
    return this.ctx.self === 1 ? { state: r.state, effects: r.effects.map(tamper) } : r;
  };
  try {
    sim.run();
  } finally {
    Replica.prototype.step = step;
  }
  assert.ok(tampered > 0);
  const v = sim.result().violations.filter((x) => x.kind === "safety" && x.message.includes("replica 1 sent a vote"));
  assert.ok(v.length > 0, JSON.stringify(sim.result().violations));
});

test("the same run without tampering has no violations (the check does not flag honest votes)", () => {
  const sim = new Simulation({ ...opts, plan: (p) => ({ ...p, crashes: [] }) });
  sim.run();
  assert.deepEqual(sim.result().violations, []);
});
