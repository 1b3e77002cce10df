// SyncLimiter (issue 11, sync amplification): per-peer token buckets on heights and bytes served, and no answer while
// the peer's send queue is full. The shell-level regression (a flood of max-range requests answered only up to the
// buckets) is in consensusShell.test.ts; the real-process attack in test/adversarial/syncAmplification.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SyncLimiter } from "../../../src/node/syncLimiter.js";

const LIMITS = { heightsPerSec: 100, heightBurst: 300, bytesPerSec: 1000, byteBurst: 4000, maxQueuedBytes: 50 };

test("syncLimiter: requests are clamped to the heights left, refused when none is, and refill with time", () => {
  const l = new SyncLimiter(LIMITS);
  assert.deepEqual(l.admit(1, 256, 0, 0), { ok: true, heights: 256 });
  l.charge(1, 256, 100, 0);
  assert.deepEqual(l.admit(1, 256, 0, 0), { ok: true, heights: 44 });
  l.charge(1, 44, 100, 0);
  assert.deepEqual(l.admit(1, 256, 0, 0), { ok: false, reason: "SYNC_RATE_LIMITED" });
  // Another peer has its own buckets.
  assert.deepEqual(l.admit(2, 10, 0, 0), { ok: true, heights: 10 });
  // 0.5 s later: 50 heights back.
  assert.deepEqual(l.admit(1, 256, 0, 500), { ok: true, heights: 50 });
  // Never above the burst, however long the peer was quiet.
  assert.deepEqual(l.admit(1, 1000, 0, 1_000_000), { ok: true, heights: 300 });
});

test("syncLimiter: the byte bucket may go one response into debt, then refuses until it refilled", () => {
  const l = new SyncLimiter(LIMITS);
  assert.equal(l.admit(1, 1, 0, 0).ok, true);
  l.charge(1, 1, 10_000, 0); // one big response: 6,000 in debt
  assert.deepEqual(l.admit(1, 1, 0, 0), { ok: false, reason: "SYNC_RATE_LIMITED" });
  assert.deepEqual(l.admit(1, 1, 0, 5_999), { ok: false, reason: "SYNC_RATE_LIMITED" });
  assert.equal(l.admit(1, 1, 0, 6_001).ok, true);
});

test("syncLimiter: nothing is built while the peer's send queue holds more than maxQueuedBytes", () => {
  const l = new SyncLimiter(LIMITS);
  assert.deepEqual(l.admit(1, 1, 51, 0), { ok: false, reason: "SYNC_QUEUE_FULL" });
  assert.equal(l.admit(1, 1, 50, 0).ok, true);
});
