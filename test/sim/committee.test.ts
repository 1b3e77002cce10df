/**
 * Committees by reputation in the simulator (issue 15): the validators module rotates the top m of the registry every
 * E heights (chain/app/validators/README.md, *Committees*). The long sweep is
 * `quire sim --validators 7 --scenario committee,crash-restart --committee 5 --committee-every 20 --views 300`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadBlsBackend } from "../../src/crypto/bls/backend.js";
import { runSweep } from "../../src/sim/runner.js";
import { runSimulation } from "../../src/sim/simulation.js";
import { seededRng } from "../support/seed.js";

const bls = await loadBlsBackend("blst");
const CRASHED = 2;

test("a member that crashes is evicted, follows passively after its restart, and re-enters", () => {
  const r = runSimulation({
    validators: 7,
    seed: 3,
    kinds: ["happy"],
    views: 400,
    reconfig: { bls, committee: { size: 5, everyHeights: 20 } },
    // Validator 2 crashes once the first committee (0–4, every score tied) is in, and restarts. Back at the passive cap
    // it takes the seat of the next member to fall below it (here the member whose votes arrive last: reputation.ts,
    // *Known limit*), tied with the other passive one at the cap: the lower index wins.
    plan: (p) => ({ ...p, kinds: ["happy", "crash-restart"], crashes: [{ instance: CRASHED, atMs: 1_500, restartAtMs: 4_000, cutAfterIo: 0 }] }),
  });
  assert.deepEqual(r.violations, []);
  const c = r.reconfig?.committee;
  assert.ok(c !== undefined && c !== null);
  const epochs = c.epochs;
  const isIn = epochs.map((e) => e.members.includes(CRASHED));
  const out = isIn.indexOf(false);
  assert.ok(out > 0, `validator ${CRASHED} left the committee (epochs: ${JSON.stringify(epochs)})`);
  assert.ok(isIn.slice(out).includes(true), `validator ${CRASHED} came back (epochs: ${JSON.stringify(epochs)})`);
  // Every epoch after the genesis one is a committee of 5; the restarted replica followed them all (it committed).
  for (const e of epochs.slice(1)) assert.equal(e.members.length, 5);
  const logs = [...r.recorder.epochs.values()];
  for (const log of logs) for (const e of log) assert.equal(e.members, logs[0]!.find((x) => x.epoch === e.epoch)?.members ?? e.members);
  assert.ok(r.recorder.commits[CRASHED]!.length > 0);
});

test("random faults under committees: 12 seeds at n = 7, m = 5, zero safety violations, liveness misses only where known", (t) => {
  const first = seededRng(t).u32();
  const s = runSweep({ validators: 7, seeds: 12, firstSeed: first, kinds: "random", views: 120, reconfig: { bls, committee: { size: 5, everyHeights: 20 } } });
  // Known liveness misses, printed, not hidden: more faulty validators (crash-stops plus Byzantine ones, twins included)
  // than a committee of 5 tolerates (1), all inside it — the committee stalls, for good with two crash-stops, since
  // only commits rotate it (validators README, *Committees*, known limits). Over seeds 1–300 the misses are exactly
  // 54 and 296 (two crash-stops) and 285 (twin 1 and crashed 5 both members: a 31.6 s stall). One fault never stalls.
  const faulty = (plan: string): number => (plan.match(/\(stop\)/g) ?? []).length + (plan.match(/(?:^|[\s=])\d+:[a-z][a-z-]*/g) ?? []).length;
  const known = (plan: string, kind: string): boolean => kind === "liveness" && faulty(plan) > 1;
  assert.equal(faulty("kinds=partition,crash-stop,twins n=7 instances=8 byzantine=1:twin crashes=5@4434(stop)+0 partitions=1284-3025:[3,4][7,5]"), 2);
  assert.equal(faulty("kinds=crash-stop,partition n=7 instances=7 crashes=5@3264->4000+2 partitions=1284-3025:[3,4][7,5]"), 0);
  const unexplained = s.failures.flatMap((f) => f.violations.filter((v) => !known(f.plan, v.kind)).map((v) => `seed ${f.seed}: ${f.plan}\n  ${v.message}`));
  for (const f of s.failures) if (f.violations.every((v) => known(f.plan, v.kind))) t.diagnostic(`known liveness miss (more faulty than the committee tolerates): seed ${f.seed}`);
  assert.deepEqual(unexplained, [], `from seed ${first}`);
  assert.ok(s.reconfig?.committee != null && s.reconfig.committee.rotations > 0, "no rotation at all");
});
