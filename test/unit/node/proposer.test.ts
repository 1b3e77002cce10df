import { test } from "node:test";
import assert from "node:assert/strict";
import { EXECUTION_BUDGET_MS, ExecutionPace, MIN_PACED_TXS } from "../../../src/node/proposer.js";

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
