import { test } from "node:test";
import assert from "node:assert/strict";
import { chartFile, geometricRates, saturationReasons } from "../../../src/cli/benchCluster.js";

const step = (over: Partial<Parameters<typeof saturationReasons>[0]> = {}) => ({
  offeredTxPerSecond: 10_000,
  committedTxPerSecond: 9_950,
  latencyMs: { p50: 300, p90: 600, p99: 900, max: 1200, count: 100_000 },
  offered: 150_000,
  rejected503: 0,
  shed: 0,
  failedTxs: 0,
  ...over,
});

test("saturation: a step that keeps up has no reason; each threshold alone saturates it, at its boundary", () => {
  assert.deepEqual(saturationReasons(step()), []);
  // Committed below 90 % of offered (9,000 of 10,000 is exactly 90 %: still keeping up).
  assert.deepEqual(saturationReasons(step({ committedTxPerSecond: 9_000 })), []);
  assert.match(saturationReasons(step({ committedTxPerSecond: 8_999 })).join(), /committed 8999 < 90 % of offered 10000/);
  // p99 above 1 s (exactly 1,000 ms meets the target).
  assert.deepEqual(saturationReasons(step({ latencyMs: { p50: 300, p90: 600, p99: 1000, max: 1500, count: 1 } })), []);
  assert.match(saturationReasons(step({ latencyMs: { p50: 300, p90: 600, p99: 1001, max: 1500, count: 1 } })).join(), /p99 1001 ms > 1000 ms/);
  // Refusals over 1 % of what was offered, whoever refused: the nodes (503), the generator (shed), failed requests.
  assert.deepEqual(saturationReasons(step({ rejected503: 1_500 })), []);
  for (const k of ["rejected503", "shed", "failedTxs"] as const) assert.equal(saturationReasons(step({ [k]: 1_501 })).length, 1, k);
  assert.equal(saturationReasons(step({ rejected503: 800, shed: 701 })).length, 1, "the kinds add up");
  // Nothing committed at all.
  const none = saturationReasons(step({ committedTxPerSecond: null, latencyMs: null }));
  assert.equal(none.length, 2);
  assert.ok(none.includes("no commit seen"));
});

test("the default sweep grows x1.5 from the start rate, rounded to 100 tx/s; the chart sits next to the JSON", () => {
  assert.deepEqual(geometricRates(2000, 6), [2000, 3000, 4500, 6800, 10100, 15200]);
  assert.equal(chartFile("/tmp/run.json"), "/tmp/run.svg");
  assert.equal(chartFile("out"), "out.svg");
});
