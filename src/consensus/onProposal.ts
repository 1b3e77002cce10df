/**
 * A verified proposal (validation checked its origin — the proposer's signature, the proposer leading the view — its
 * structure, the justification's shape and its certificates). `from` is the peer that delivered it, the leader or a
 * relay. Apply: learn its certificates (which may commit blocks and move us to its view), then insert the block and
 * vote for it, or buffer it and fetch its ancestors (from `from`) when its parent is unknown.
 */
import { acceptProposal, bufferProposal, processQc, processTc } from "./core.js";
import type { Draft } from "./core.js";
import type { VerifiedProposal } from "./types.js";

export function onProposal(d: Draft, from: number, p: VerifiedProposal): void {
  processQc(d, p.qc, from);
  if (p.tc !== null) processTc(d, p.tc, from);
  if (!acceptProposal(d, from, p)) bufferProposal(d, from, p);
}
