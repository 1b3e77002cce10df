/**
 * The health rule (node/health.ts): which reason a node reports, in which order, and a NOT_COMMITTING threshold that
 * an idle chain (an empty block every `emptyIntervalMs`) never reaches.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { assessHealth, MIN_NOT_COMMITTING_MS, notCommittingThresholdMs, peersNeededForQuorum, honestBackedHeight } from "../../../src/node/health.js";
import type { HealthFigures } from "../../../src/node/health.js";
import { CONFIG_DEFAULTS } from "../../../src/node/config.js";
import { DEFAULT_CONSENSUS } from "../../../src/node/genesis.js";

const HEALTHY: HealthFigures = {
  committedHeight: 100,
  lastCommitAgeMs: 300,
  notCommittingAfterMs: 10_000,
  peersConnected: 3,
  peersTotal: 3,
  peersNeeded: 2,
  catchingUp: false,
  catchUpTarget: 100,
};

test("peers needed: quorum − 1 (3 of 4 → 2, 43 of 64 → 42); a single validator needs none", () => {
  assert.deepEqual([1, 2, 3, 4, 7, 64].map(peersNeededForQuorum), [0, 1, 2, 2, 4, 42]);
});

test("healthy: ok, no reason, the figures passed through", () => {
  assert.deepEqual(assessHealth(HEALTHY), { ok: true, reason: null, detail: null, committedHeight: 100, lastCommitAgeMs: 300, notCommittingAfterMs: 10_000, peersConnected: 3, peersNeeded: 2 });
});

test("NO_PEERS below quorum − 1 peers; exactly quorum − 1 is enough", () => {
  const h = assessHealth({ ...HEALTHY, peersConnected: 1 });
  assert.equal(h.ok, false);
  assert.equal(h.reason, "NO_PEERS");
  assert.match(h.detail!, /1 of 3 peers connected; 2 needed/);
  assert.equal(assessHealth({ ...HEALTHY, peersConnected: 2 }).ok, true);
  assert.equal(assessHealth({ ...HEALTHY, peersConnected: 0, peersTotal: 0, peersNeeded: 0 }).ok, true, "a lone validator");
});

test("CATCHING_UP while catch-up fetches ranges", () => {
  const h = assessHealth({ ...HEALTHY, catchingUp: true, catchUpTarget: 5000 });
  assert.equal(h.reason, "CATCHING_UP");
  assert.match(h.detail!, /committed height 100, peers announced 5000/);
});

test("NOT_COMMITTING past the threshold (not at it), or when the node stalled on purpose", () => {
  assert.equal(assessHealth({ ...HEALTHY, lastCommitAgeMs: 10_000 }).ok, true);
  const h = assessHealth({ ...HEALTHY, lastCommitAgeMs: 10_001 });
  assert.equal(h.reason, "NOT_COMMITTING");
  assert.match(h.detail!, /no commit for 10001 ms \(threshold 10000 ms\)/);
  const s = assessHealth({ ...HEALTHY, stalled: "done height 3 behind" });
  assert.equal(s.reason, "NOT_COMMITTING");
  assert.match(s.detail!, /stalled: done height 3 behind/);
});

test("the first failing reason is reported: NO_PEERS before CATCHING_UP before NOT_COMMITTING", () => {
  const all = { ...HEALTHY, peersConnected: 0, catchingUp: true, lastCommitAgeMs: 60_000 };
  assert.equal(assessHealth(all).reason, "NO_PEERS");
  assert.equal(assessHealth({ ...all, peersConnected: 3 }).reason, "CATCHING_UP");
  assert.equal(assessHealth({ ...all, peersConnected: 3, catchingUp: false }).reason, "NOT_COMMITTING");
});

test("threshold: 10 s with the default genesis and config, far above an idle chain's empty-block interval; scales with slower timing", () => {
  const t = notCommittingThresholdMs(DEFAULT_CONSENSUS.baseTimeoutMs, CONFIG_DEFAULTS.block.emptyIntervalMs);
  assert.equal(t, MIN_NOT_COMMITTING_MS);
  assert.ok(t >= 40 * CONFIG_DEFAULTS.block.emptyIntervalMs, "an idle chain commits an empty block every emptyIntervalMs");
  assert.equal(notCommittingThresholdMs(5_000, 250), 50_000);
  assert.equal(notCommittingThresholdMs(1_000, 2_000), 20_000);
});

test("the catch-up height health believes is the (f+1)-th highest announced: one liar cannot move it", () => {
  // n = 4, f = 1: three peers; one announces 10^9.
  assert.equal(honestBackedHeight([1_000_000_000, 120, 118], 1), 120);
  assert.equal(honestBackedHeight([120, 1_000_000_000, 118], 1), 120);
  // Two honest peers far ahead do move it.
  assert.equal(honestBackedHeight([500, 499, 3], 1), 499);
  // Fewer announcements than f+1: nothing is vouched for.
  assert.equal(honestBackedHeight([1_000_000_000], 1), -1);
  assert.equal(honestBackedHeight([], 0), -1);
  assert.equal(honestBackedHeight([7], 0), 7);
});
