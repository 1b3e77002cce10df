import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_PENALTIES, PeerPenalties } from "../../../src/node/penalties.js";

test("a peer is muted when its points reach the threshold, for muteMs, and points decay with the half-life", () => {
  let now = 1_000;
  const p = new PeerPenalties({ ...DEFAULT_PENALTIES, threshold: 100, halfLifeMs: 10_000, muteMs: 30_000 }, () => now);
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

test("a peer that keeps earning penalties is banned: strike 1 mutes only, strikes 2, 3, 4 ban for 60 s, 120 s, 240 s; the count is forgotten after 10 min", () => {
  let now = 0;
  const bans: [number, number][] = [];
  const p = new PeerPenalties({ ...DEFAULT_PENALTIES, threshold: 100, muteMs: 30_000, banMs: 60_000, maxBanMs: 200_000, strikeMemoryMs: 600_000 }, () => now, (peer, ms) => bans.push([peer, ms]));
  const offend = () => {
    for (let i = 0; i < 10; i++) p.add(7, 10);
  };
  offend();
  assert.deepEqual(bans, [], "a first strike mutes without a ban");
  assert.equal(p.muted(7), true);
  assert.equal(p.strikes(7), 1);
  offend(); // muted: a muted peer's messages are not processed (the shell skips them), and points here change nothing
  assert.deepEqual(bans, []);
  now += 30_000;
  offend();
  assert.deepEqual(bans, [[7, 60_000]]);
  assert.equal(p.muted(7), true, "muted for as long as it is banned");
  now += 59_999;
  assert.equal(p.muted(7), true);
  now += 1;
  offend();
  now += 120_000;
  offend(); // 240 s, capped at 200 s
  assert.deepEqual(bans, [[7, 60_000], [7, 120_000], [7, 200_000]]);
  assert.equal(p.bans, 3);
  assert.equal(p.mutes, 4);
  // 10 min after its last strike a peer starts over: the next strike only mutes.
  now += 200_000 + 600_000;
  assert.equal(p.strikes(7), 0);
  offend();
  assert.equal(bans.length, 3);
  assert.equal(p.strikes(7), 1);
});

test("without a ban function penalties only mute (the shell tests and the simulator)", () => {
  let now = 0;
  const p = new PeerPenalties(DEFAULT_PENALTIES, () => now);
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 10; i++) p.add(1, 10);
    assert.equal(p.muted(1), true);
    now += DEFAULT_PENALTIES.muteMs;
  }
  assert.equal(p.bans, 0);
  assert.equal(p.mutes, 3);
});
