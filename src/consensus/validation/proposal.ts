/**
 * Proposal: check origin (sender = proposer = leader of the view) → check content (header, justification shape,
 * QC/TC, tx root, one proposal per leader and view) → hand the core a `VerifiedProposal` with its block hash.
 */
import { bytesEqual } from "../../util/bytes.js";
import { bytesKey } from "../../util/bytes.js";
import type { Proposal } from "../../domain/types.js";
import { maxHighQcView } from "../safetyRules.js";
import type { VerifiedProposal } from "../types.js";
import { checkBlockContent, checkHeaderShape, checkQc, checkTc, validIndex } from "./context.js";
import type { CheckContext } from "./context.js";
import type { RejectCode } from "./codes.js";

export function checkProposal(ctx: CheckContext, from: number, p: Proposal, now: number): RejectCode | VerifiedProposal {
  const h = p.block.header;
  // origin
  if (!validIndex(ctx, h.proposer)) return "UNKNOWN_VALIDATOR";
  if (from !== h.proposer) return "WRONG_SENDER";
  if (checkHeaderShape(p.block) !== null) return "MALFORMED";
  if (ctx.leaders.leader(h.view) !== h.proposer) return "NOT_LEADER";
  // justification shape (cheap, before any signature work)
  if (p.qc.view >= h.view) return "QC_VIEW_NOT_BELOW";
  if (!bytesEqual(p.qc.blockHash, h.parent)) return "QC_NOT_FOR_PARENT";
  if (p.tc === null) {
    if (h.view !== p.qc.view + 1) return "UNJUSTIFIED";
  } else {
    if (p.tc.view !== h.view - 1) return "TC_VIEW_MISMATCH";
    if (p.qc.view < maxHighQcView(p.tc)) return "UNJUSTIFIED";
  }
  // repetition: a network duplicate costs one hash, not a re-verification
  const hash = ctx.hashBlock(h);
  const key = bytesKey(hash);
  if (ctx.tracker.peek("proposal", h.proposer, h.view, key) === "duplicate") return "DUPLICATE";
  // content
  const content = checkBlockContent(ctx, p.block, now);
  if (content !== null) return content;
  const qc = checkQc(ctx, p.qc);
  if (qc !== null) return qc;
  if (p.tc !== null) {
    const tc = checkTc(ctx, p.tc);
    if (tc !== null) return tc;
  }
  const seen = ctx.tracker.record("proposal", h.proposer, h.view, key, p);
  if (seen !== "new") return seen === "duplicate" ? "DUPLICATE" : "EQUIVOCATION";
  return { block: p.block, hash, qc: p.qc, tc: p.tc };
}
