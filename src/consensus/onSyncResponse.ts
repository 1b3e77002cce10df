/**
 * Blocks we asked for (validation checked each block's hash against its QC, the QCs, and that heights and parent
 * links are consecutive). Check: it answers our outstanding request, from the peer we asked, and starts at the height
 * we asked from (an answer may be empty, never skip ahead). Apply: insert the blocks that extend our tree, each with
 * its QC (which applies the commit rule and moves our view on), then retry buffered proposals and, if some still lack
 * ancestors, ask again.
 *
 * A block is linked only under a parent that is certified (the root always is): otherwise a peer could answer with a
 * certified child while leaving out the QC of an uncertified block we hold, and the child's QC would then commit that
 * block without its certificate. Starting at `fromHeight` (root + 1 when we asked) means an honest chain brings each
 * parent's QC before the child.
 */
import { bytesKey } from "../util/bytes.js";
import { getNode, hasBlock, insertBlock } from "./blockTree.js";
import { processQc, requestSync, retryPending } from "./core.js";
import type { Draft } from "./core.js";
import type { VerifiedCertifiedBlock } from "./types.js";

export function onSyncResponse(d: Draft, from: number, requestId: number, blocks: readonly VerifiedCertifiedBlock[]): void {
  const req = d.sync;
  if (req === null || req.requestId !== requestId || req.peer !== from || req.answered) {
    d.reject(from, "UNEXPECTED_SYNC_RESPONSE");
    return;
  }
  const first = blocks[0];
  if (first !== undefined && first.block.header.height !== req.fromHeight) {
    d.sync = { ...req, answered: true, progressed: false };
    d.reject(from, "SYNC_WRONG_START");
    return;
  }
  let inserted = 0;
  for (const b of blocks) {
    const h = b.block.header;
    if (h.height <= d.tree.root.block.header.height) continue;
    const key = bytesKey(b.hash);
    if (!hasBlock(d.tree, key)) {
      const parent = getNode(d.tree, bytesKey(h.parent));
      // A gap, a branch we do not share, or an uncertified parent: the rest cannot link either (one chain).
      if (parent === undefined || parent.qc === null || h.height !== parent.block.header.height + 1 || h.view <= parent.block.header.view) break;
      d.tree = insertBlock(d.tree, b.block, b.hash, key, b.qc);
      d.effects.push({ kind: "saveBlock", stored: { block: b.block, hash: b.hash, qc: b.qc, parentQc: parent.qc } });
      inserted++;
    }
    processQc(d, b.qc, from);
    retryPending(d, key);
  }
  d.sync = { ...req, answered: true, progressed: inserted > 0 };
  if (inserted > 0 && d.pendingProposals.length > 0) {
    let target = 0;
    for (const p of d.pendingProposals) target = Math.max(target, p.proposal.block.header.height - 1);
    requestSync(d, from, target);
  }
}
