import { test } from "node:test";
import assert from "node:assert/strict";
import { EXECUTION_BUDGET_MS, ExecutionPace, MIN_PACED_TXS, Proposer } from "../../../src/node/proposer.js";
import { ManualScheduler } from "../../../src/util/clock.js";

test("execution pace: no cap before a sample, then the budget at the recent ms per tx, never below the minimum", () => {
  const pace = new ExecutionPace();
  assert.equal(pace.txsWithin(EXECUTION_BUDGET_MS), Infinity);
  pace.observe(10, 500); // too small a block to say anything
  assert.equal(pace.txsWithin(EXECUTION_BUDGET_MS), Infinity);
  pace.observe(1000, 50); // 0.05 ms per tx
  assert.equal(pace.txsWithin(250), 5000);
  pace.observe(1000, 150); // EWMA: 0.7 * 0.05 + 0.3 * 0.15 = 0.08 ms per tx
  assert.equal(pace.txsWithin(250), 3125);
  for (let i = 0; i < 50; i++) pace.observe(100, 1000); // 10 ms per tx: 25 txs would fit, the floor holds
  assert.equal(pace.txsWithin(250), MIN_PACED_TXS);
});

test("execution pace: a virtual clock (0 ms per block) never caps", () => {
  const pace = new ExecutionPace();
  pace.observe(5000, 0);
  assert.equal(pace.txsWithin(EXECUTION_BUDGET_MS), Infinity);
});

test("a held proposal goes out after maxHoldMs, also on a fractional clock (no zero-delay re-arming at the end)", () => {
  const sched = new ManualScheduler();
  sched.advance(0.123456789);
  const delivered: number[] = [];
  let holds = 0;
  const proposer = new Proposer(
    { self: 1, block: { maxTxs: 10, maxBytes: 1 << 20, minIntervalMs: 0, emptyIntervalMs: 0 }, maxHoldMs: 204.00000000000003 },
    {
      scheduler: sched,
      payload: { size: 0, reap: () => [] },
      executor: { parentExecution: () => ({ stateRoot: new Uint8Array(32), results: new Uint8Array(0) }), txIdsInBranch: () => new Set() },
      hold: () => {
        holds++;
        return true;
      },
      wanted: () => true,
      deliver: (view) => delivered.push(view),
      skipped: () => assert.fail("skipped"),
      fatal: (e) => assert.fail(String(e)),
    },
  );
  proposer.request({ view: 3, parentHash: new Uint8Array(32), parentHeight: 7, parentView: 2, parentSigners: new Uint8Array(0) });
  // Bounded: the scheduler runs out of events once the proposal left (a zero-delay loop would never end).
  for (let i = 0; i < 1_000 && delivered.length === 0; i++) sched.advance(1);
  assert.deepEqual(delivered, [3]);
  assert.ok(holds >= 20 && holds <= 22, `held ${holds} polls of 10 ms`);
  assert.ok(sched.now() >= 204 && sched.now() < 206);
});
