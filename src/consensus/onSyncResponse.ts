/**
 * Blocks we asked for (validation checked each block's hash against its QC, the QCs, and that heights and parent
 * links are consecutive). Check: it answers our outstanding request, from the peer we asked, and starts at the height
 * we asked from (an answer may be empty, never skip ahead). Apply: insert the blocks that extend our tree, each with
 * its QC (which applies the commit rule and moves our view on; what they commit goes out as one `commit` effect), then
 * retry buffered proposals and, if some still lack ancestors, ask again.
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
import type { CommittedBlock, Effect, VerifiedCertifiedBlock } from "./types.js";

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
  const start = d.effects.length;
  const inserted = insertCertified(d, from, blocks);
  oneCommitEffect(d, start);
  d.sync = { ...req, answered: true, progressed: inserted > 0 };
  if (inserted > 0 && d.pendingProposals.length > 0) {
    let target = 0;
    for (const p of d.pendingProposals) target = Math.max(target, p.proposal.block.header.height - 1);
    requestSync(d, from, target);
  }
}

/**
 * Certified blocks from the shell's catch-up (the `certifiedBlocks` input): inserted like a sync response's, without
 * the request bookkeeping (the shell fetched them from several peers at once). A catch-up step commits many blocks:
 * their commits go out as one `commit` effect (one store transaction), and blocks committed within the step are not
 * also saved as uncommitted blocks (the commit writes them).
 */
export function onCertifiedBlocks(d: Draft, from: number, blocks: readonly VerifiedCertifiedBlock[]): void {
  const start = d.effects.length;
  insertCertified(d, from, blocks);
  oneCommitEffect(d, start);
}

/**
 * The commits of a step's effects from `start` on, merged into one `commit` effect where the first was (one store
 * transaction: a 256-block sync response committed block by block cost one fsync per block, ≈ 16 ms each in `quire
 * bench catchup`); blocks committed by it are not also saved as uncommitted blocks.
 */
function oneCommitEffect(d: Draft, start: number): void {
  const committed: CommittedBlock[] = [];
  const committedKeys = new Set<string>();
  for (let i = start; i < d.effects.length; i++) {
    const e = d.effects[i]!;
    if (e.kind !== "commit") continue;
    for (const c of e.blocks) {
      committed.push(c);
      committedKeys.add(bytesKey(c.hash));
    }
  }
  if (committed.length === 0) return;
  const kept: Effect[] = [];
  let placed = false;
  for (let i = start; i < d.effects.length; i++) {
    const e = d.effects[i]!;
    if (e.kind === "saveBlock" && committedKeys.has(bytesKey(e.stored.hash))) continue;
    if (e.kind === "commit") {
      if (!placed) kept.push({ kind: "commit", blocks: committed });
      placed = true;
      continue;
    }
    kept.push(e);
  }
  d.effects.splice(start, d.effects.length - start, ...kept);
}

/**
 * Inserts the blocks that extend the tree, each with its QC (which applies the commit rule and moves the view on), and
 * retries buffered proposals. Stops at the first block that cannot link. Returns how many blocks were inserted.
 */
function insertCertified(d: Draft, from: number, blocks: readonly VerifiedCertifiedBlock[]): number {
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
  return inserted;
}
