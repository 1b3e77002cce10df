/**
 * The shell's persist-before-send check must tie a vote to the persisted last vote, not just to lastVotedView: a core
 * that signed one vote, persisted it, and sent a different one for the same view must be reported. Its timeout and
 * proposal branches must fail too: a core that persists a stale last timeout, or a stale lastProposedView, in the
 * step that sends the timeout or proposal is reported for exactly that message.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Simulation } from "../../src/sim/simulation.js";
import type { Effect, SafetyState, StepResult } from "../../src/consensus/types.js";
import type { Replica } from "../../src/consensus/replica.js";
import type { ScenarioPlan } from "../../src/sim/scenario.js";

const opts = { validators: 4, seed: 11, kinds: ["happy" as const], views: 12, happyDelayMs: 5 };

test("a vote that differs from the persisted last vote of its view is a safety violation", () => {
  const sim = new Simulation({ ...opts, plan: (p) => ({ ...p, crashes: [] }) });
  const rep = sim.replicas[1]!.deps.replica;
  const step = rep.step.bind(rep);
  let tampered = 0;
  // A faulty core: the vote it sends names another block than the one it persisted (same view, lastVotedView covers it).
  const tamper = (e: Effect): Effect => {
    if (e.kind !== "send" || e.message.kind !== "vote") return e;
    tampered++;
    const blockHash = Uint8Array.from(e.message.body.blockHash, (x) => x ^ 0xff);
    return { ...e, message: { kind: "vote", body: { ...e.message.body, blockHash } } };
  };
  rep.step = (s, input, now) => {
    const r = step(s, input, now);
    return { state: r.state, effects: r.effects.map(tamper) };
  };
  sim.run();
  assert.ok(tampered > 0);
  const v = sim.result().violations.filter((x) => x.kind === "safety" && x.message.includes("replica 1 sent a vote"));
  assert.ok(v.length > 0, JSON.stringify(sim.result().violations));
});

test("the same run without tampering has no violations (the check does not flag honest votes)", () => {
  const sim = new Simulation({ ...opts, plan: (p) => ({ ...p, crashes: [] }) });
  sim.run();
  assert.deepEqual(sim.result().violations, []);
});

/** Validator 0 is down from the start, so the views it leads time out: every replica sends timeouts. */
const leaderDown = { ...opts, plan: (p: ScenarioPlan): ScenarioPlan => ({ ...p, crashes: [{ instance: 0, atMs: 0, restartAtMs: null, cutAfterEffects: 0 }] }) };

/**
 * Makes `rep`'s core persist, in every step that sends one of its own `kind` messages, the safety state with `field`
 * still at the value of the previous persist (a stale write): the message then leaves uncovered. Returns a counter.
 */
function staleField(rep: Replica, kind: "timeout" | "proposal", field: "lastTimeout" | "lastProposedView"): { tampered: number } {
  const step = rep.step.bind(rep);
  const seen = { tampered: 0 };
  let previous: SafetyState | null = null;
  const sendsOwn = (r: StepResult): boolean => r.effects.some((e) => e.kind === "broadcast" && e.message.kind === kind);
  rep.step = (s, input, now) => {
    const r = step(s, input, now);
    const stale = sendsOwn(r) && previous !== null;
    const effects = r.effects.map((e): Effect => {
      if (e.kind !== "persist") return e;
      const out = stale ? { ...e, safety: { ...e.safety, [field]: previous![field] } } : e;
      previous = e.safety;
      if (stale) seen.tampered++;
      return out;
    });
    return { state: r.state, effects };
  };
  return seen;
}

test("a timeout sent while the persisted state holds the previous view's timeout is a safety violation", () => {
  const sim = new Simulation(leaderDown);
  const seen = staleField(sim.replicas[1]!.deps.replica, "timeout", "lastTimeout");
  sim.run();
  assert.ok(seen.tampered > 0);
  const v = sim.result().violations;
  assert.ok(v.some((x) => x.kind === "safety" && x.message.includes("replica 1 sent a timeout")), JSON.stringify(v));
  // Only the timeouts: the votes of those steps are still covered.
  assert.ok(!v.some((x) => x.message.includes("sent a vote") || x.message.includes("sent a proposal")), JSON.stringify(v));
});

test("a proposal sent while the persisted lastProposedView is below its view is a safety violation", () => {
  const sim = new Simulation(leaderDown);
  const seen = staleField(sim.replicas[1]!.deps.replica, "proposal", "lastProposedView");
  sim.run();
  assert.ok(seen.tampered > 0);
  const v = sim.result().violations;
  assert.ok(v.some((x) => x.kind === "safety" && x.message.includes("replica 1 sent a proposal")), JSON.stringify(v));
  assert.ok(!v.some((x) => x.message.includes("sent a vote") || x.message.includes("sent a timeout")), JSON.stringify(v));
});

test("the leader-down run without tampering has no violations, and it does send timeouts", () => {
  const sim = new Simulation(leaderDown);
  const rep = sim.replicas[1]!.deps.replica;
  const step = rep.step.bind(rep);
  let timeouts = 0;
  rep.step = (s, input, now) => {
    const r = step(s, input, now);
    timeouts += r.effects.filter((e) => e.kind === "broadcast" && e.message.kind === "timeout").length;
    return r;
  };
  sim.run();
  assert.ok(timeouts > 0);
  assert.deepEqual(sim.result().violations, []);
});
