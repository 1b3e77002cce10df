/**
 * Proposal: check origin (proposer = leader of the view, and the proposer's signature over the view and block hash) →
 * check content (header, justification shape, QC/TC, tx root, one proposal per leader and view) → hand the core a
 * `VerifiedProposal` with its block hash.
 *
 * Origin is the signature, not the link (protocol version 3). A proposal relayed by another validator is accepted like
 * the leader's own: the signature shows the leader made it, so a relay can neither forge one nor alter one, and a
 * relayed second proposal of a view is exactly what makes equivocation evidence travel. Honest replicas do not relay
 * proposals today; `from` is still who pays for a rejection (a relay should not pass on what it would refuse) and where
 * the core fetches a buffered proposal's missing ancestors (whoever showed us the block is likely to hold its parent).
 * A replay of an old proposal costs one hash and a cache lookup (DUPLICATE), or is ignored by the core as stale.
 */
import { bytesEqual } from "../../util/bytes.js";
import { bytesKey } from "../../util/bytes.js";
import { VOTE_SIGNATURE_BYTES } from "../../domain/limits.js";
import type { Proposal, SignedProposalHash } from "../../domain/types.js";
import { maxHighQcView } from "../safetyRules.js";
import type { VerifiedProposal } from "../types.js";
import { checkBlockContent, checkHeaderShape, checkQc, checkTc, validIndex } from "./context.js";
import type { CheckContext } from "./context.js";
import type { RejectCode } from "./codes.js";

export function checkProposal(ctx: CheckContext, _from: number, p: Proposal, now: number): RejectCode | VerifiedProposal {
  const h = p.block.header;
  // origin: who proposed is whoever signed (cheap checks first, then the one signature check)
  if (!validIndex(ctx, h.proposer)) return "UNKNOWN_VALIDATOR";
  if (checkHeaderShape(p.block) !== null || p.signature.length !== VOTE_SIGNATURE_BYTES) return "MALFORMED";
  if (ctx.leaders.leader(h.view) !== h.proposer) return "NOT_LEADER";
  const hash = ctx.hashBlock(h);
  const signed: SignedProposalHash = { view: h.view, blockHash: hash, proposer: h.proposer, signature: p.signature };
  // Before anything acts on it — the duplicate check included, so a forged copy of a real proposal is refused as
  // forged (the precheck verified it ahead in the node, so a real duplicate costs a cache hit here).
  if (!ctx.verifier.verifyProposal(signed)) return "BAD_PROPOSAL_SIGNATURE";
  // justification shape (cheap)
  if (p.qc.view >= h.view) return "QC_VIEW_NOT_BELOW";
  if (!bytesEqual(p.qc.blockHash, h.parent)) return "QC_NOT_FOR_PARENT";
  if (!bytesEqual(p.qc.signers, h.parentSigners)) return "SIGNERS_NOT_QC";
  if (p.tc === null) {
    if (h.view !== p.qc.view + 1) return "UNJUSTIFIED";
  } else {
    if (p.tc.view !== h.view - 1) return "TC_VIEW_MISMATCH";
    if (p.qc.view < maxHighQcView(p.tc)) return "UNJUSTIFIED";
  }
  // repetition: a network duplicate is not checked again
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
  const seen = ctx.tracker.record("proposal", h.proposer, h.view, key, { header: h, signed });
  if (seen !== "new") return seen === "duplicate" ? "DUPLICATE" : "EQUIVOCATION";
  return { block: p.block, hash, qc: p.qc, tc: p.tc };
}
