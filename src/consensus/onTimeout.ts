/**
 * A verified timeout (sender = voter, signature over its view and its high QC's view, the high QC itself, view
 * window, one timeout per voter and view). Apply: learn its high QC, then count it — or, when the sender is behind
 * us, answer with the certificate that moved us past its view (catch-up). A `staleTimeout` input is the cheap form
 * validation produces for a timeout below our view: nothing in it is trusted except who sent it, and the answer is a
 * certificate anyone may have, so it needs no signature check.
 */
import { addTimeout, processQc } from "./core.js";
import type { Draft } from "./core.js";
import type { Timeout } from "../domain/types.js";

export function onTimeout(d: Draft, from: number, t: Timeout): void {
  processQc(d, t.highQc, from);
  if (t.view < d.view) sendCatchUp(d, from, t.view);
  else addTimeout(d, t);
}

export function onStaleTimeout(d: Draft, from: number, view: number): void {
  if (view < d.view) sendCatchUp(d, from, view);
}

/** Sends `to` (stuck in `view`) our highest certificate at or above `view`: a TC or a QC, whichever is higher. */
function sendCatchUp(d: Draft, to: number, view: number): void {
  if (to === d.ctx.self) return;
  const qc = d.safety.highQc;
  const tc = d.safety.lastTc;
  if (tc !== null && tc.view >= view && tc.view >= qc.view) d.effects.push({ kind: "send", to, message: { kind: "tc", body: tc } });
  else if (qc.view >= view) d.effects.push({ kind: "send", to, message: { kind: "qc", body: qc } });
}
