/**
 * Blocks we asked for (validation checked each block's hash against its QC, the QCs, and that heights and parent
 * links are consecutive). Check: it answers our outstanding request, from the peer we asked. Apply: insert the blocks
 * that extend our tree, each with its QC (which applies the commit rule and moves our view on), then retry buffered
 * proposals and, if some still lack ancestors, ask again.
 */
import { hashKey } from "./hashKey.js";
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
  let inserted = 0;
  for (const b of blocks) {
    const h = b.block.header;
    if (h.height <= d.tree.root.block.header.height) continue;
    const key = hashKey(b.hash);
    if (!hasBlock(d.tree, key)) {
      const parent = getNode(d.tree, hashKey(h.parent));
      // A gap or a branch we do not share: the rest cannot link either (the response is one chain).
      if (parent === undefined || h.height !== parent.block.header.height + 1 || h.view <= parent.block.header.view) break;
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
