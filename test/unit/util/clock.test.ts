import { test } from "node:test";
import assert from "node:assert/strict";
import { ManualScheduler } from "../../../src/util/clock.js";
import { seededRng } from "../../support/seed.js";

test("ManualScheduler runs nothing until time is stepped, then in (time, scheduling order)", () => {
  const s = new ManualScheduler(100);
  const log: string[] = [];
  s.setTimeout(() => log.push("b@10"), 10);
  s.setTimeout(() => log.push("a@5"), 5);
  s.setTimeout(() => log.push("c@10"), 10);
  s.setTimeout(() => log.push("z@0"), -3); // clamped to now
  assert.deepEqual(log, []);
  assert.equal(s.pending(), 4);
  assert.equal(s.nextAt(), 100);
  assert.equal(s.advance(5), 2);
  assert.deepEqual(log, ["z@0", "a@5"]);
  assert.equal(s.now(), 105);
  assert.equal(s.advance(100), 2);
  assert.deepEqual(log, ["z@0", "a@5", "b@10", "c@10"]);
  assert.equal(s.now(), 205);
  assert.equal(s.pending(), 0);
});

test("ManualScheduler: events scheduled inside the window run in the same advance; cancel is idempotent", () => {
  const s = new ManualScheduler();
  const log: number[] = [];
  const h = s.setTimeout(() => log.push(-1), 3);
  s.setTimeout(() => {
    log.push(s.now());
    s.setTimeout(() => log.push(s.now()), 2); // at 4, inside the window
    s.setTimeout(() => log.push(s.now()), 20); // at 22, outside
  }, 2);
  h.cancel();
  h.cancel();
  assert.equal(s.pending(), 1);
  s.advance(10);
  assert.deepEqual(log, [2, 4]);
  assert.equal(s.pending(), 1);
  assert.equal(s.runNext(), true);
  assert.deepEqual(log, [2, 4, 22]);
  assert.equal(s.runNext(), false);
});

test("ManualScheduler.runUntil stops when the condition holds, or at the deadline", () => {
  const s = new ManualScheduler();
  let n = 0;
  const tick = (): void => {
    n++;
    s.setTimeout(tick, 10);
  };
  s.setTimeout(tick, 10);
  assert.equal(s.runUntil(() => n === 3, 1000), true);
  assert.equal(s.now(), 30);
  assert.equal(s.runUntil(() => n === 1000, 95), false);
  assert.equal(n, 9);
  assert.equal(s.now(), 95);
  assert.throws(() => s.runUntilIdle(50), RangeError); // a timer that re-arms forever is reported, not a hang
  assert.throws(() => s.advance(-1), RangeError);
});

test("ManualScheduler orders a random schedule exactly like a sort by (time, order)", (t) => {
  const rng = seededRng(t);
  const s = new ManualScheduler();
  const expected: { at: number; id: number }[] = [];
  const got: number[] = [];
  const handles = [];
  for (let id = 0; id < 2000; id++) {
    const at = rng.int(50);
    handles.push(s.setTimeout(() => got.push(id), at));
    expected.push({ at, id });
  }
  const cancelled = new Set<number>();
  for (let k = 0; k < 300; k++) {
    const id = rng.int(2000);
    cancelled.add(id);
    handles[id]!.cancel();
  }
  s.runUntilIdle();
  const want = expected.filter((e) => !cancelled.has(e.id)).sort((a, b) => a.at - b.at || a.id - b.id).map((e) => e.id);
  assert.deepEqual(got, want);
});
