/**
 * DiemBFT v4 / Jolteon safety rules (DESIGN §3), as pure predicates over the safety state.
 *
 * - Vote for block B (view v, justified by qc and maybe tc) only if v > lastVotedView, and either v == qc.view + 1,
 *   or v == tc.view + 1 and qc.view >= max(tc.highQcViews). The bar is what the TC's signers signed (that is what
 *   safety rests on: no certified block they know of is abandoned); the QC the TC carries has exactly that view
 *   (validation checks it), which is what makes the bar reachable for whoever accepted the TC.
 * - Time out in view v only if v >= lastVotedView (a timeout may follow a vote in v; a vote never follows a timeout
 *   in v because the timeout raises lastVotedView to v).
 * - Commit B when a QC certifies a child B' of B with B'.view == B.view + 1 (two-chain).
 */
import type { QuorumCert, TimeoutCert } from "../domain/types.js";
import type { SafetyState } from "./types.js";

/** The largest high-QC view a TC's signers signed (−1 for an empty list, which a valid TC never has). */
export function maxHighQcView(tc: TimeoutCert): number {
  let m = -1;
  for (const v of tc.highQcViews) if (v > m) m = v;
  return m;
}

/** Whether a block of `view`, justified by `qc` (and `tc` when the previous view timed out), may be voted for. */
export function safeToVote(safety: SafetyState, view: number, qc: QuorumCert, tc: TimeoutCert | null): boolean {
  if (view <= safety.lastVotedView) return false;
  if (view === qc.view + 1) return true;
  return tc !== null && view === tc.view + 1 && qc.view >= maxHighQcView(tc);
}

/** Whether a timeout for `view` may be signed. */
export function safeToTimeout(safety: SafetyState, view: number): boolean {
  return view >= safety.lastVotedView;
}
