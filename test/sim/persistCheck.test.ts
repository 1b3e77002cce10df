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
import { Replica } from "../../src/consensus/replica.js";
import type { ScenarioPlan } from "../../src/sim/scenario.js";

const opts = { validators: 4, seed: 11, kinds: ["happy" as const], views: 12, happyDelayMs: 5 };

type Step = (s: Parameters<Replica["step"]>[0], input: Parameters<Replica["step"]>[1], now: number) => StepResult;

/**
 * Runs `sim` with validator `self`'s core stepping through `wrap` (the simulator builds a new core at every start,
 * inside the shipping stack, so the prototype is patched for the run and restored after it).
 */
function runWithStep(sim: Simulation, self: number, wrap: (step: Step) => Step): void {
  const original = Replica.prototype.step;
  const wrapped = new WeakMap<Replica, Step>();
  Replica.prototype.step = function (s, input, now) {
    if (this.ctx.self !== self) return original.call(this, s, input, now);
    let f = wrapped.get(this);
    if (f === undefined) wrapped.set(this, (f = wrap((a, b, c) => original.call(this, a, b, c))));
    return f(s, input, now);
  };
  try {
    sim.run();
  } finally {
    Replica.prototype.step = original;
  }
}

test("a vote that differs from the persisted last vote of its view is a safety violation", () => {
  const sim = new Simulation({ ...opts, plan: (p) => ({ ...p, crashes: [] }) });
  let tampered = 0;
  // A faulty core: the vote it sends names another block than the one it persisted (same view, lastVotedView covers it).
  const tamper = (e: Effect): Effect => {
    if (e.kind !== "send" || e.message.kind !== "vote") return e;
    tampered++;
    const blockHash = Uint8Array.from(e.message.body.blockHash, (x) => x ^ 0xff);
    return { ...e, message: { kind: "vote", body: { ...e.message.body, blockHash } } };
  };
  runWithStep(sim, 1, (step) => (s, input, now) => {
    const r = step(s, input, now);
    return { state: r.state, effects: r.effects.map(tamper) };
  });
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
const leaderDown = { ...opts, plan: (p: ScenarioPlan): ScenarioPlan => ({ ...p, crashes: [{ instance: 0, atMs: 0, restartAtMs: null, cutAfterIo: 0 }] }) };

/**
 * Makes `rep`'s core persist, in every step that sends one of its own `kind` messages, the safety state with `field`
 * still at the value of the previous persist (a stale write): the message then leaves uncovered. Returns a counter.
 */
function staleField(sim: Simulation, kind: "timeout" | "proposal", field: "lastTimeout" | "lastProposedView"): { tampered: number } {
  const seen = { tampered: 0 };
  let previous: SafetyState | null = null;
  const sendsOwn = (r: StepResult): boolean => r.effects.some((e) => e.kind === "broadcast" && e.message.kind === kind);
  runWithStep(sim, 1, (step) => (s, input, now) => {
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
  });
  return seen;
}

test("a timeout sent while the persisted state holds the previous view's timeout is a safety violation", () => {
  const sim = new Simulation(leaderDown);
  const seen = staleField(sim, "timeout", "lastTimeout");
  assert.ok(seen.tampered > 0);
  const v = sim.result().violations;
  assert.ok(v.some((x) => x.kind === "safety" && x.message.includes("replica 1 sent a timeout")), JSON.stringify(v));
  // Only the timeouts: the votes of those steps are still covered.
  assert.ok(!v.some((x) => x.message.includes("sent a vote") || x.message.includes("sent a proposal")), JSON.stringify(v));
});

test("a proposal sent while the persisted lastProposedView is below its view is a safety violation", () => {
  const sim = new Simulation(leaderDown);
  const seen = staleField(sim, "proposal", "lastProposedView");
  assert.ok(seen.tampered > 0);
  const v = sim.result().violations;
  assert.ok(v.some((x) => x.kind === "safety" && x.message.includes("replica 1 sent a proposal")), JSON.stringify(v));
  assert.ok(!v.some((x) => x.message.includes("sent a vote") || x.message.includes("sent a timeout")), JSON.stringify(v));
});

test("the leader-down run without tampering has no violations, and it does send timeouts", () => {
  const sim = new Simulation(leaderDown);
  let timeouts = 0;
  runWithStep(sim, 1, (step) => (s, input, now) => {
    const r = step(s, input, now);
    timeouts += r.effects.filter((e) => e.kind === "broadcast" && e.message.kind === "timeout").length;
    return r;
  });
  assert.ok(timeouts > 0);
  assert.deepEqual(sim.result().violations, []);
});
