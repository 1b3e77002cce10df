/**
 * Byzantine behaviours, as rewrites of what an otherwise honest replica sends. The replica's own state stays honest;
 * only its messages lie, which is all other replicas can observe.
 */
import { voteMessage } from "../consensus/signing.js";
import type { Message, Vote } from "../domain/types.js";
import type { Behaviour } from "./scenario.js";
import type { SimReplica } from "./simReplica.js";

/** The messages to send instead of `msg` to `targets`, as (message, targets) pairs. */
export function byzantineRewrite(b: Behaviour, msg: Message, targets: readonly number[], r: SimReplica): [Message, readonly number[]][] {
  const d = r.deps;
  if (b === "equivocate" && msg.kind === "proposal" && msg.body.block.header.proposer === d.validator) {
    // A second block for the same view and parent, with a different payload: half the replicas get each.
    const h = msg.body.block.header;
    const alt = r.buildBlock({ view: h.view, parentHash: h.parent, parentHeight: h.height - 1, parentView: 0 }, "/equivocation");
    d.recorder.proposed(d.replica.ctx.hashBlock(alt.header));
    d.recorder.event(d.scheduler.now(), d.instance, "equivocate", h.view, "second proposal");
    // One random target gets both, in random order: a replica that sees both must record evidence and act on one.
    const half = Math.ceil(targets.length / 2);
    const first = targets.slice(0, half);
    const second = targets.slice(half);
    const both = targets.length > 0 ? d.rng.pick(targets) : -1;
    const altMsg: Message = { kind: "proposal", body: { ...msg.body, block: alt } };
    const out: [Message, readonly number[]][] = [
      [msg, first.includes(both) ? first : [...first, both]],
      [altMsg, second.includes(both) ? second : [...second, both]],
    ];
    return d.rng.chance(0.5) ? out : [out[1]!, out[0]!];
  }
  if (b === "double-vote" && msg.kind === "vote" && msg.body.voter === d.validator) {
    // Also vote for a block that does not exist, signed: the next leader sees two votes from us in one view.
    const blockHash = d.rng.bytes(32);
    const view = msg.body.view;
    const second: Vote = { view, blockHash, voter: d.validator, signature: d.signer.sign(voteMessage(d.chainId, view, blockHash)) };
    d.recorder.event(d.scheduler.now(), d.instance, "double-vote", view, "second vote");
    const pair: [Message, readonly number[]][] = [
      [msg, targets],
      [{ kind: "vote", body: second }, targets],
    ];
    return d.rng.chance(0.5) ? pair : [pair[1]!, pair[0]!];
  }
  if (b === "bad-vote" && msg.kind === "vote" && msg.body.voter === d.validator) {
    // The right vote with one signature bit flipped: validation refuses it (BAD_SIGNATURE), or in optimistic mode the
    // collector's aggregate check fails and bisection names this voter.
    const signature = Uint8Array.from(msg.body.signature);
    signature[d.rng.int(signature.length)]! ^= 1 << d.rng.int(8);
    d.recorder.event(d.scheduler.now(), d.instance, "bad-vote", msg.body.view, "corrupted signature");
    return [[{ kind: "vote", body: { ...msg.body, signature } }, targets]];
  }
  return [[msg, targets]];
}
