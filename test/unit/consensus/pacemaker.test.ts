import { test } from "node:test";
import assert from "node:assert/strict";
import { checkPacemaker, viewDuration } from "../../../src/consensus/pacemaker.js";
import { ConsensusError } from "../../../src/consensus/errors.js";

const pm = { baseTimeoutMs: 100, backoffFactor: 2, maxTimeoutMs: 1_000 };

test("base timer after a QC, doubling per view without one, capped", () => {
  assert.equal(viewDuration(pm, 10, 9), 100);
  assert.equal(viewDuration(pm, 11, 9), 200);
  assert.equal(viewDuration(pm, 12, 9), 400);
  assert.equal(viewDuration(pm, 13, 9), 800);
  assert.equal(viewDuration(pm, 14, 9), 1_000);
  assert.equal(viewDuration(pm, 10_000, 9), 1_000);
  // A high QC ahead of the view (a replica catching up) never shortens below the base.
  assert.equal(viewDuration(pm, 5, 9), 100);
});

test("nonsense pacemaker settings are refused with BAD_CONFIG", () => {
  for (const bad of [{ ...pm, baseTimeoutMs: 0 }, { ...pm, backoffFactor: 0.5 }, { ...pm, maxTimeoutMs: 50 }]) {
    assert.throws(() => checkPacemaker(bad), (e: unknown) => e instanceof ConsensusError && e.code === "BAD_CONFIG");
  }
});
