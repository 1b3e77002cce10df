import { test } from "node:test";
import assert from "node:assert/strict";
import { safeToTimeout, safeToVote } from "../../../src/consensus/safetyRules.js";
import type { SafetyState } from "../../../src/consensus/types.js";
import type { QuorumCert, TimeoutCert } from "../../../src/domain/types.js";

const qc = (view: number): QuorumCert => ({ view, blockHash: new Uint8Array(32), signers: new Uint8Array(0), aggregateSignature: new Uint8Array(96) });
/** A TC carrying a QC of `carried` (default: the largest claim, as validation requires). */
const tc = (view: number, highQcViews: number[], carried = Math.max(...highQcViews)): TimeoutCert => ({ view, signers: new Uint8Array(0), highQcViews, aggregateSignature: new Uint8Array(96), highQc: qc(carried) });
const safety = (lastVotedView: number): SafetyState => ({ lastVotedView, highQc: qc(0), lastProposedView: 0, lastVote: null, lastTimeout: null, lastTc: null });

test("voting rule (DiemBFT v4): view above lastVotedView and justified by a QC of view-1 or a TC of view-1", () => {
  const cases: [string, number, number, number, TimeoutCert | null, boolean][] = [
    ["happy path", 4, 5, 4, null, true],
    ["already voted in the view", 5, 5, 4, null, false],
    ["voted in a later view", 6, 5, 4, null, false],
    ["QC not of view-1 and no TC", 2, 5, 3, null, false],
    ["TC of view-1, QC >= max high QC", 2, 5, 3, tc(4, [1, 3, 2]), true],
    ["TC of view-1, QC below max high QC", 2, 5, 2, tc(4, [1, 3, 2]), false],
    // The bar is what the signers signed, not the carried QC (validation makes them equal; the rule does not rely on it).
    ["TC of view-1 carrying a lower QC, QC below max high QC", 2, 5, 2, tc(4, [1, 3, 2], 2), false],
    ["TC not of view-1", 2, 5, 3, tc(3, [1]), false],
    ["timed out in the view (lastVotedView = view)", 5, 5, 3, tc(4, [3]), false],
  ];
  for (const [name, last, view, qcView, t, want] of cases) assert.equal(safeToVote(safety(last), view, qc(qcView), t), want, name);
});

test("a timeout may follow a vote in the same view, never precede a view already left", () => {
  assert.equal(safeToTimeout(safety(5), 5), true);
  assert.equal(safeToTimeout(safety(5), 6), true);
  assert.equal(safeToTimeout(safety(5), 4), false);
});
