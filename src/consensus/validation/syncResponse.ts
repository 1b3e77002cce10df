/**
 * Sync response: content only (whether we asked, and whom, is the core's check): consecutive heights with parent
 * links, each block's QC certifying exactly that block in its view, tx roots, and the QCs themselves.
 */
import { bytesEqual } from "../../util/bytes.js";
import type { SyncResponse } from "../../domain/types.js";
import type { VerifiedCertifiedBlock } from "../types.js";
import { checkBlockContent, checkHeaderShape, checkQc } from "./context.js";
import type { CheckContext } from "./context.js";
import type { RejectCode } from "./codes.js";

export function checkSyncResponse(ctx: CheckContext, r: SyncResponse, now: number): RejectCode | VerifiedCertifiedBlock[] {
  const out: VerifiedCertifiedBlock[] = [];
  let prev: VerifiedCertifiedBlock | undefined;
  for (const b of r.blocks) {
    const h = b.block.header;
    if (checkHeaderShape(b.block) !== null) return "MALFORMED";
    const content = checkBlockContent(ctx, b.block, now);
    if (content !== null) return content;
    if (prev !== undefined && (h.height !== prev.block.header.height + 1 || !bytesEqual(h.parent, prev.hash))) return "SYNC_NOT_CHAIN";
    const hash = ctx.hashBlock(h);
    if (b.qc.view !== h.view || !bytesEqual(b.qc.blockHash, hash)) return "SYNC_QC_MISMATCH";
    const qc = checkQc(ctx, b.qc);
    if (qc !== null) return qc;
    prev = { block: b.block, hash, qc: b.qc };
    out.push(prev);
  }
  return out;
}
