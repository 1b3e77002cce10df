/**
 * Persist before send, tested by crashing a replica at every IO boundary (issue 5 item 2): for each position i in
 * the stream of IO operations a replica's shipping shell performs (durable writes, messages handed to the network), a
 * run crashes it just before operation i and restarts it over its store data 30 ms later. Every run must keep safety, validity and liveness, the replica must never send a vote, timeout or
 * proposal its persisted state does not cover (checked by the shell on every send), and no replica may record
 * equivocation evidence against it — a restarted replica never signs a second, different vote or timeout in a view.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Simulation } from "../../src/sim/simulation.js";
import type { SimOptions } from "../../src/sim/simulation.js";

function crashRun(opts: SimOptions, instance: number, before: number): { result: ReturnType<Simulation["result"]>; crashed: boolean } {
  const sim = new Simulation({ ...opts, plan: (p) => ({ ...p, crashes: [] }) });
  const r = sim.replicas[instance]!;
  r.crashBeforeIo = before;
  const crash = r.crash.bind(r);
  let crashed = false;
  r.crash = () => {
    if (!r.up) return;
    crash();
    crashed = true;
    sim.scheduler.setTimeout(() => r.start(), 30);
  };
  sim.run();
  return { result: sim.result(), crashed };
}

function sweep(opts: SimOptions, instance: number, boundaries: number): number {
  let crashes = 0;
  for (let i = 0; i < boundaries; i++) {
    const { result, crashed } = crashRun(opts, instance, i);
    assert.deepEqual(result.violations, [], `crash of replica ${instance} before IO operation ${i}`);
    assert.equal(result.evidence, 0, `evidence after a crash of replica ${instance} before IO operation ${i}`);
    if (crashed) crashes++;
  }
  return crashes;
}

test("happy path: crash each of two replicas before every one of their first 120 IO operations", () => {
  const opts: SimOptions = { validators: 4, seed: 11, kinds: ["happy"], views: 40, happyDelayMs: 5 };
  for (const instance of [1, 2]) assert.equal(sweep(opts, instance, 120), 120);
});

test("lossy network with timeouts and TCs: crash a replica before every one of its first 150 IO operations", () => {
  // Seed 21 draws a lossy plan whose pre-GST phase has timeouts (checked below), so timeout effects are covered.
  const opts: SimOptions = { validators: 4, seed: 21, kinds: ["lossy"], views: 40 };
  const probe = new Simulation({ ...opts, trace: true, plan: (p) => ({ ...p, crashes: [] }) });
  probe.run();
  const t = probe.result().trace ?? [];
  assert.ok(t.some((e) => e.instance === 3 && e.kind === "timeout"), "the plan has no timeout for replica 3 to crash around");
  assert.ok(sweep(opts, 3, 150) > 100);
});
