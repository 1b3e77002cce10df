/**
 * Leader election from committed history must not stall the chain (found in review): validator 3 crashes long
 * enough to leave the window of active validators, then validator 2 crash-stops, leaving exactly the three live
 * validators 0, 1, 3 — but the window holds only 0, 1, 2. Without the stale-anchor fallback to round robin, every
 * three consecutive views included the dead 2, nothing committed after GST, and the liveness checker reported it.
 * The `reputation` leader mode keeps that fallback: the same run under it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runSimulation } from "../../src/sim/simulation.js";

test("a crash after another validator left the active window does not stop commits (default and reputation modes)", () => {
  for (const leaderMode of ["skip-inactive", "reputation"] as const) {
    const r = runSimulation({
      validators: 4,
      seed: 5,
      kinds: ["happy"],
      views: 120,
      byzantine: 0,
      leaderMode,
      plan: (p) => ({
        ...p,
        crashes: [
          { instance: 3, atMs: 500, restartAtMs: 8_000, cutAfterIo: 0 },
          { instance: 2, atMs: 8_200, restartAtMs: null, cutAfterIo: 0 },
        ],
        partitions: [],
        gstMs: 9_000,
      }),
    });
    assert.deepEqual(
      r.violations.map((v) => `${v.kind}: ${v.message}`),
      [],
      leaderMode,
    );
    assert.ok(r.committedHeight > 0);
  }
});
