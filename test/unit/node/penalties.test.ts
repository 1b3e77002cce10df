import { test } from "node:test";
import assert from "node:assert/strict";
import { PeerPenalties } from "../../../src/node/penalties.js";

test("a peer is muted when its points reach the threshold, for muteMs, and points decay with the half-life", () => {
  let now = 1_000;
  const p = new PeerPenalties({ threshold: 100, halfLifeMs: 10_000, muteMs: 30_000 }, () => now);
  for (let i = 0; i < 9; i++) p.add(2, 10);
  assert.equal(p.muted(2), false);
  assert.equal(p.points(2), 90);
  p.add(2, 10);
  assert.equal(p.muted(2), true);
  assert.equal(p.muted(1), false, "other peers are unaffected");
  assert.equal(p.mutes, 1);
  now += 29_999;
  assert.equal(p.muted(2), true);
  now += 1;
  assert.equal(p.muted(2), false);
  // Decay: 80 points halve to 40 after one half-life, so 50 more do not reach 100.
  p.add(3, 80);
  now += 10_000;
  assert.equal(p.points(3), 40);
  p.add(3, 50);
  assert.equal(p.muted(3), false);
  p.add(3, 10);
  assert.equal(p.muted(3), true);
  // Zero or negative points change nothing.
  p.add(4, 0);
  p.add(4, -5);
  assert.equal(p.points(4), 0);
});
