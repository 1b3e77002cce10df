import { test } from "node:test";
import assert from "node:assert/strict";
import { checkParaDone } from "../../../src/sim/paraChecker.js";
import type { ParaDoneView } from "../../../src/sim/paraChecker.js";
import { testMessage } from "../../../src/chain/app/paracross/testonly.js";

const TITLE = "demo";
/** The message "the honest para nodes computed" for height h (variant 0); variant 1 is another block. */
const honest = (h: number): Uint8Array => testMessage(TITLE, h, h);

/** A replica's view from a table height → [variant, signers] (a missing height is a hole). */
function view(instance: number, doneHeight: number, commits: Record<number, readonly [number, number]>): ParaDoneView {
  return {
    instance,
    doneHeight,
    commitAt: (h) => {
      const c = commits[h];
      return c === undefined ? null : { message: testMessage(TITLE, h, h, { variant: c[0] }), signerCount: c[1] };
    },
  };
}

const clean = { 1: [0, 3], 2: [0, 4], 3: [0, 3] } as const;

test("checkParaDone: contiguous done heights agreed by >= 2/3, the same everywhere and the honest one: no violation", () => {
  assert.deepEqual(checkParaDone(TITLE, 4, [view(0, 3, clean), view(1, 3, clean), view(2, 2, clean)], honest), []);
  // 2 of 3 is exactly 2/3: a quorum.
  assert.deepEqual(checkParaDone(TITLE, 3, [view(0, 2, { 1: [0, 2], 2: [0, 3] })], honest), []);
  // Done height 0: nothing to check.
  assert.deepEqual(checkParaDone(TITLE, 4, [view(0, 0, {})], honest), []);
});

test("checkParaDone reports a hole below the done height", () => {
  const v = checkParaDone(TITLE, 4, [view(0, 3, clean), view(1, 3, { 1: [0, 3], 3: [0, 3] })], honest);
  assert.equal(v.length, 1);
  assert.equal(v[0]!.kind, "para");
  assert.equal(v[0]!.height, 2);
  assert.deepEqual(v[0]!.instances, [1]);
  assert.match(v[0]!.message, /replica 1 reports done height 3 but no done commit at 2 \(a hole below done\)/);
});

test("checkParaDone reports a height declared done with fewer than 2/3 of the para nodes", () => {
  const v = checkParaDone(TITLE, 4, [view(0, 3, { 1: [0, 3], 2: [0, 2], 3: [0, 3] })], honest);
  assert.equal(v.length, 1);
  assert.equal(v[0]!.height, 2);
  assert.match(v[0]!.message, /declared height 2 done with 2 of 4 signers \(< 2\/3\)/);
  // 4 of 7 is below 2/3 (3·4 < 2·7), 5 of 7 is not.
  assert.equal(checkParaDone(TITLE, 7, [view(0, 1, { 1: [0, 4] })], honest).length, 1);
  assert.equal(checkParaDone(TITLE, 7, [view(0, 1, { 1: [0, 5] })], honest).length, 0);
});

test("checkParaDone reports two replicas holding different done commits for one height", () => {
  // No honest message to compare with (null): only the disagreement between the replicas is reported.
  const v = checkParaDone(TITLE, 4, [view(0, 3, clean), view(2, 3, { 1: [0, 3], 2: [1, 3], 3: [0, 3] })], () => null);
  assert.equal(v.length, 1);
  assert.equal(v[0]!.height, 2);
  assert.deepEqual(v[0]!.instances, [0, 2]);
  assert.match(v[0]!.message, /replicas 0 and 2 hold different done commits at height 2/);
});

test("checkParaDone reports a done commit that is not the one the honest para nodes computed", () => {
  const wrong = { 1: [0, 3], 2: [1, 3], 3: [1, 3] } as const;
  const v = checkParaDone(TITLE, 4, [view(0, 3, wrong)], honest);
  assert.deepEqual(
    v.map((x) => x.height),
    [2, 3],
  );
  for (const x of v) assert.match(x.message, /replica 0's done commit at height \d is not the one the honest para nodes computed/);
  // Where the honest nodes made no (agreed) message there is nothing to compare.
  assert.deepEqual(checkParaDone(TITLE, 4, [view(0, 3, wrong)], (h) => (h === 1 ? honest(h) : null)), []);
});
