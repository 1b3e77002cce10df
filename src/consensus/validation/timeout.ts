/**
 * Timeout: check origin (sender = voter) → check content (high QC below the view, view window, high QC, signature,
 * one timeout per voter and view) → the core counts it. A timeout for a view below ours is passed on as a cheap
 * `stale` verdict without any signature work: the core only answers it with a certificate (public data).
 */
import { VOTE_SIGNATURE_BYTES } from "../../domain/limits.js";
import type { Timeout } from "../../domain/types.js";
import { checkQc, validIndex, validView } from "./context.js";
import type { CheckContext, Verdict } from "./context.js";

export function checkTimeout(ctx: CheckContext, from: number, t: Timeout, currentView: number): Verdict | "stale" {
  if (!validIndex(ctx, t.voter)) return "UNKNOWN_VALIDATOR";
  if (from !== t.voter) return "WRONG_SENDER";
  if (!validView(t.view) || t.signature.length !== VOTE_SIGNATURE_BYTES) return "MALFORMED";
  if (t.highQc.view >= t.view) return "HIGH_QC_NOT_BELOW";
  if (t.view < currentView) return "stale";
  if (t.view > currentView + ctx.viewWindow) return "VIEW_TOO_FAR";
  // The signed content is (view, highQc.view): that is what makes two timeouts different.
  const key = String(t.highQc.view);
  if (ctx.tracker.peek("timeout", t.voter, t.view, key) === "duplicate") return "DUPLICATE";
  const qc = checkQc(ctx, t.highQc);
  if (qc !== null) return qc;
  if (!ctx.verifier.verifyTimeout(t)) return "BAD_SIGNATURE";
  const seen = ctx.tracker.record("timeout", t.voter, t.view, key, t);
  if (seen !== "new") return seen === "duplicate" ? "DUPLICATE" : "EQUIVOCATION";
  return null;
}
