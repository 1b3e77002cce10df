import { test } from "node:test";
import assert from "node:assert/strict";
import { Deque } from "../../../src/net/deque.js";
import { seededRng } from "../../support/seed.js";

test("Deque behaves like an array used as a FIFO (random push/shift/removeSecond/at, growth across wrap-around)", (t) => {
  const rng = seededRng(t);
  const d = new Deque<number>(4);
  const oracle: number[] = [];
  let next = 0;
  for (let step = 0; step < 20_000; step++) {
    const op = rng.int(10);
    if (op < 5) {
      d.push(next);
      oracle.push(next++);
    } else if (op < 8) {
      assert.equal(d.shift(), oracle.shift());
    } else if (op === 8) {
      const want = oracle.length >= 2 ? oracle.splice(1, 1)[0] : undefined;
      assert.equal(d.removeSecond(), want);
    } else {
      const i = rng.int(oracle.length + 2) - 1;
      assert.equal(d.at(i), oracle[i]);
    }
    assert.equal(d.length, oracle.length);
    assert.equal(d.peek(), oracle[0]);
  }
  d.clear();
  assert.equal(d.length, 0);
  assert.equal(d.shift(), undefined);
});
