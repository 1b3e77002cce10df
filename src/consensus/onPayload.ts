/**
 * The shell's block for a `proposeRequest` (a local event). Check: we asked for exactly this view, still lead it, have
 * not proposed in it, and the block extends our high QC's block at the next height, naming that QC's signers. Apply: record the proposal in the
 * safety state (persisted before the proposal leaves: never two proposals in one view, even across a restart),
 * sign it and broadcast it with its justification, and process it like any proposal (insert, vote). A block built on a parent that
 * is no longer the high QC's block is refused and the request re-issued for the current parent.
 */
import { bytesKey } from "../util/bytes.js";
import { acceptProposal, justification, payloadFits } from "./core.js";
import type { Draft } from "./core.js";
import type { Block } from "../domain/types.js";
import { proposalMessage } from "./signing.js";

export function onPayload(d: Draft, view: number, block: Block): void {
  const fit = payloadFits(d, view, block);
  if (fit !== "ok") {
    d.reject(d.ctx.self, fit);
    // A stale answer: the high QC moved (within the view) while the shell built the block on the old parent. Forget
    // the request so that `finish` asks again for the new parent (or fetches it first); otherwise the view would
    // time out without a proposal. Only for a different parent: a block on the right parent at the wrong height is
    // a shell bug, and asking again would just repeat it.
    if (fit === "PAYLOAD_BAD_PARENT" && bytesKey(block.header.parent) !== bytesKey(d.safety.highQc.blockHash)) d.awaitingPayload = 0;
    return;
  }
  const hash = d.ctx.hashBlock(block.header);
  const { qc, tc } = justification(d, view);
  d.setSafety({ lastProposedView: view });
  d.awaitingPayload = 0;
  // Signed here, as votes and timeouts are (the injected signer: BLS in the node, the test scheme in the simulator), and
  // only after `lastProposedView` is raised: the persist effect precedes the broadcast, so no restart can make this
  // replica sign a second proposal for the view — which would be transferable evidence against it.
  const signature = d.ctx.signer.sign(proposalMessage(d.ctx.chainId, view, hash));
  d.effects.push({ kind: "broadcast", message: { kind: "proposal", body: { block, qc, tc, signature } } });
  acceptProposal(d, d.ctx.self, { block, hash, qc, tc });
}
