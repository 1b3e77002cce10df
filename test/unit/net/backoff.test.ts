import { test } from "node:test";
import assert from "node:assert/strict";
import { backoffDelay, DEFAULT_BACKOFF } from "../../../src/net/backoff.js";

test("reconnect back-off doubles, is capped, and jitters within [cap/2, cap]", () => {
  const o = { initialMs: 100, maxMs: 10_000, factor: 2 };
  const caps = [100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000];
  caps.forEach((cap, attempt) => {
    assert.equal(backoffDelay(attempt, o, () => 0), cap / 2, `attempt ${attempt} low end`);
    assert.ok(Math.abs(backoffDelay(attempt, o, () => 0.999999) - cap) < 0.01, `attempt ${attempt} high end`);
  });
  // Huge attempt counts stay finite and capped.
  assert.equal(backoffDelay(1e9, o, () => 0.5), 7500);
});

test("the default back-off redials a restarted peer within 1 s, however long it was down", () => {
  for (const attempt of [0, 1, 5, 20, 1e6]) {
    const worst = backoffDelay(attempt, DEFAULT_BACKOFF, () => 0.999999);
    assert.ok(worst < 1_000, `attempt ${attempt}: worst delay ${worst} ms`);
  }
});
