/**
 * The one quorum definition every layer uses. Oracles: the sizes the protocol documents (DESIGN §1, README), a
 * brute-force search for f, the two BFT properties checked directly, and the other closed form, ⌊2n/3⌋ + 1.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { maxFaulty, quorumSize } from "../../../src/domain/quorum.js";

test("documented sizes: 2f+1 of n = 3f+1 (1 of 1, 3 of 4, 5 of 7, 43 of 64, 171 of 256)", () => {
  assert.deepEqual([1, 4, 7, 64, 256].map(quorumSize), [1, 3, 5, 43, 171]);
  assert.deepEqual([1, 4, 7, 64, 256].map(maxFaulty), [0, 1, 2, 21, 85]);
});

test("f is the largest number of faults with 3f < n, found by search", () => {
  for (let n = 1; n <= 1000; n++) {
    let f = 0;
    while (3 * (f + 1) < n) f++;
    assert.equal(maxFaulty(n), f, `n = ${n}`);
  }
});

test("any two quorums share an honest validator, f silent ones cannot block a quorum, and it equals ⌊2n/3⌋ + 1", () => {
  for (let n = 1; n <= 1000; n++) {
    const f = maxFaulty(n);
    const q = quorumSize(n);
    assert.ok(2 * q - n >= f + 1, `safety at n = ${n}`);
    assert.ok(q <= n - f, `liveness at n = ${n}`);
    assert.equal(q, Math.floor((2 * n) / 3) + 1, `closed form at n = ${n}`);
  }
});
