/**
 * Byzantine behaviours, as rewrites of what an otherwise honest replica sends (and, for "forged-tc", messages it makes
 * up from what it receives). The replica's own state stays honest; only its messages lie, which is all other replicas
 * can observe.
 */
import { proposalMessage, timeoutMessage, voteMessage } from "../consensus/signing.js";
import { maxFaulty, quorumSize } from "../domain/quorum.js";
import type { Block, Message, Proposal, QuorumCert, Timeout, Vote } from "../domain/types.js";
import type { Behaviour } from "./scenario.js";
import type { SimReplica } from "./simReplica.js";

type Rewrite = [Message, readonly number[]][];

/** The messages to send instead of `msg` to `targets` (instances), as (message, targets) pairs. */
export function byzantineRewrite(b: Behaviour, msg: Message, targets: readonly number[], r: SimReplica): Rewrite {
  const d = r.deps;
  // Its honest stack would propose, time out, and answer laggards with the certificates it holds (the QC it collected
  // as leader among them): all withheld, so views time out and no honest replica can back the claims it forges.
  if (b === "forged-tc") return msg.kind === "proposal" || msg.kind === "timeout" || msg.kind === "qc" || msg.kind === "tc" ? [] : [[msg, targets]];
  const own = (msg.kind === "proposal" && msg.body.block.header.proposer === d.validator) || ((msg.kind === "vote" || msg.kind === "timeout") && msg.body.voter === d.validator);
  if (!own && msg.kind !== "syncResponse") return [[msg, targets]];
  switch (b) {
    case "equivocate":
      return msg.kind === "proposal" ? equivocate(msg, targets, r) : [[msg, targets]];
    case "twin":
      // Twins send honestly: the second instance's blocks differ by their payload (SimReplica.twinPayload).
      return [[msg, targets]];
    case "double-vote": {
      if (msg.kind !== "vote") return [[msg, targets]];
      // Also vote for a block that does not exist, signed: the next leader sees two votes from us in one view.
      const blockHash = d.rng.bytes(32);
      const view = msg.body.view;
      const second: Vote = { view, blockHash, voter: d.validator, signature: d.signer.sign(voteMessage(d.chainId, view, blockHash)) };
      d.recorder.event(d.scheduler.now(), d.instance, "double-vote", view, "second vote");
      const pair: Rewrite = [
        [msg, targets],
        [{ kind: "vote", body: second }, targets],
      ];
      return d.rng.chance(0.5) ? pair : [pair[1]!, pair[0]!];
    }
    case "bad-vote": {
      if (msg.kind !== "vote") return [[msg, targets]];
      // The right vote with one signature bit flipped: validation refuses it (BAD_SIGNATURE), or in optimistic mode
      // the collector's aggregate check fails and bisection names this voter.
      const signature = Uint8Array.from(msg.body.signature);
      signature[d.rng.int(signature.length)]! ^= 1 << d.rng.int(8);
      d.recorder.event(d.scheduler.now(), d.instance, "bad-vote", msg.body.view, "corrupted signature");
      return [[{ kind: "vote", body: { ...msg.body, signature } }, targets]];
    }
    case "withhold-proposal": {
      if (msg.kind !== "proposal") return [[msg, targets]];
      // A leader that shows its block to a few replicas only (at most f + 1 of them, at least one): the rest must
      // learn it by sync from its QC, or time the view out.
      const keep = d.rng.shuffle([...targets]).slice(0, 1 + d.rng.int(maxFaulty(d.validatorCount) + 1));
      d.recorder.event(d.scheduler.now(), d.instance, "withhold", msg.body.block.header.view, `proposal to ${keep.join(",")} only`);
      return [[msg, keep]];
    }
    case "stale-qc":
      return msg.kind === "proposal" ? staleJustify(msg, targets, r) : [[msg, targets]];
    case "inflated-qc": {
      if (msg.kind !== "proposal") return [[msg, targets]];
      // Claims a certificate above the real one: same signers and signature, a higher view (or a flipped signature
      // byte). Validation must refuse it on the signature, never let it raise anyone's high QC.
      const qc = msg.body.qc;
      const inflated: QuorumCert = d.rng.chance(0.5) ? { ...qc, view: qc.view + 1 + d.rng.int(1_000) } : { ...qc, aggregateSignature: flipByte(qc.aggregateSignature, r) };
      d.recorder.event(d.scheduler.now(), d.instance, "inflated-qc", msg.body.block.header.view, `justify claims view ${inflated.view}`);
      return [[{ kind: "proposal", body: { ...msg.body, qc: inflated } }, targets]];
    }
    case "lying-sync":
      return msg.kind === "syncResponse" ? lyingSync(msg, targets, r) : [[msg, targets]];
    case "forge-proposal":
      // Sends its own messages honestly; its forgeries are made from what it receives (`byzantineReceive`).
      return [[msg, targets]];
    case "bad-exec": {
      if (msg.kind !== "proposal") return [[msg, targets]];
      // A block that claims another execution of its parent: one byte of the state root (or of the result bitmap)
      // flipped. Well-formed and well-certified, so validation passes it; the core's execution check must refuse it.
      const h = msg.body.block.header;
      const header = d.rng.chance(0.5) || h.parentResults.length === 0 ? { ...h, parentStateRoot: flipByte(h.parentStateRoot, r) } : { ...h, parentResults: flipByte(h.parentResults, r) };
      const block = { header, txs: msg.body.block.txs };
      d.recorder.proposed(d.hashBlock(header));
      d.recorder.event(d.scheduler.now(), d.instance, "bad-exec", h.view, "parent outcome forged");
      // Signed with its own key, as the proposer: only the core's execution check can catch this block.
      return [[{ kind: "proposal", body: signed(r, { ...msg.body, block }) }, targets]];
    }
  }
}

function equivocate(msg: Extract<Message, { kind: "proposal" }>, targets: readonly number[], r: SimReplica): Rewrite {
  const d = r.deps;
  // A second block for the same view and parent, with a different payload: half the replicas get each.
  const alt = r.variantOf(msg.body.block, "equivocation");
  d.recorder.proposed(d.hashBlock(alt.header));
  d.recorder.event(d.scheduler.now(), d.instance, "equivocate", alt.header.view, "second proposal");
  // One random target gets both, in random order: a replica that sees both must record evidence and act on one.
  const half = Math.ceil(targets.length / 2);
  const first = targets.slice(0, half);
  const second = targets.slice(half);
  const both = targets.length > 0 ? d.rng.pick(targets) : -1;
  // Both signed with its key: a replica that sees both holds evidence that anyone can check.
  const altMsg: Message = { kind: "proposal", body: signed(r, { ...msg.body, block: alt }) };
  const out: Rewrite = [
    [msg, first.includes(both) ? first : [...first, both]],
    [altMsg, second.includes(both) ? second : [...second, both]],
  ];
  return d.rng.chance(0.5) ? out : [out[1]!, out[0]!];
}

/** The justifications of this replica's earlier proposals, newest last (what a stale proposal can build on). */
const earlier = new WeakMap<SimReplica, Extract<Message, { kind: "proposal" }>["body"][]>();

/**
 * A leader that builds on an older certified block than the highest one it knows: the block extends the parent of
 * one of its earlier proposals, justified by that proposal's (real, valid) QC, with the parent's true execution
 * outcome. Its certificate verifies, but a proposal whose view is not its QC's view + 1 needs a TC: validation
 * refuses it as UNJUSTIFIED (and the voting rule would refuse to vote for it if it got through).
 */
function staleJustify(msg: Extract<Message, { kind: "proposal" }>, targets: readonly number[], r: SimReplica): Rewrite {
  const d = r.deps;
  const past = earlier.get(r) ?? [];
  earlier.set(r, [...past, msg.body].slice(-8));
  const old = past.length > 0 && d.rng.chance(0.7) ? d.rng.pick(past) : null;
  if (old === null || old.qc.view >= msg.body.qc.view) return [[msg, targets]];
  const h = msg.body.block.header;
  const block = r.variantOf({ header: { ...old.block.header, view: h.view, timestampMs: h.timestampMs }, txs: old.block.txs }, "stale");
  d.recorder.proposed(d.hashBlock(block.header));
  d.recorder.event(d.scheduler.now(), d.instance, "stale-qc", h.view, `justified by the QC of view ${old.qc.view}, not ${msg.body.qc.view}`);
  return [[{ kind: "proposal", body: signed(r, { block, qc: old.qc, tc: null, signature: msg.body.signature }) }, targets]];
}

/** A sync peer that lies: a forged QC aggregate, a block whose transactions do not match its root, or a withheld range. */
function lyingSync(msg: Extract<Message, { kind: "syncResponse" }>, targets: readonly number[], r: SimReplica): Rewrite {
  const d = r.deps;
  const blocks = msg.body.blocks;
  if (blocks.length === 0) return [[msg, targets]];
  const k = d.rng.int(blocks.length);
  const b = blocks[k]!;
  const lie = d.rng.int(3);
  let lied: typeof blocks;
  if (lie === 0) lied = blocks.map((x, i) => (i === k ? { ...x, qc: { ...x.qc, aggregateSignature: flipByte(x.qc.aggregateSignature, r) } } : x));
  else if (lie === 1) lied = blocks.map((x, i) => (i === k ? { ...x, block: { header: x.block.header, txs: [...x.block.txs, Uint8Array.of(0xba, 0xd0)] } } : x));
  else lied = [];
  d.recorder.event(d.scheduler.now(), d.instance, "lying-sync", b.block.header.view, ["forged aggregate", "wrong tx root", "withheld range"][lie]!);
  return [[{ kind: "syncResponse", body: { ...msg.body, blocks: lied } }, targets]];
}

/** Behaviours that also act on what the replica receives (`byzantineReceive`). */
export const RECEIVING_BEHAVIOURS: ReadonlySet<Behaviour> = new Set(["forged-tc", "forge-proposal"]);

/** A "forged-tc" replica's view of the timeouts it received, and the views it already forged a TC for. */
interface ForgeState {
  readonly byView: Map<number, Map<number, Timeout>>;
  readonly forged: Set<number>;
}
const forging = new WeakMap<SimReplica, ForgeState>();

/** Views of received timeouts a forger keeps (older views can no longer matter). */
const FORGE_MEMORY_VIEWS = 8;

/**
 * What a Byzantine replica sends, to every other instance, on receiving `msg` from validator `from` (its honest stack
 * gets the message too). Only "forged-tc" acts: once 2f other validators' timeouts of view v are in, it signs a timeout
 * of its own for v claiming a high QC of view v − 1 — above every other claim, so a QC nobody else reported (one exists
 * only if this replica formed it as the leader of v and withheld it) — aggregates the 2f + 1 into a TC whose signature
 * verifies, and carries in it only the best QC the others' timeouts showed. Under
 * the current rule validation refuses that TC (TC_HIGH_QC_MISMATCH); under the old one (`tcRule: "claimed"`, a test-only
 * switch) replicas that receive it before completing their own TC enter v + 1 with a bar the next leader cannot meet.
 */
export function byzantineReceive(b: Behaviour, from: number, msg: Message, r: SimReplica): Message[] {
  if (b === "forge-proposal") return msg.kind === "proposal" ? forgeProposal(msg.body, r) : [];
  if (b !== "forged-tc" || msg.kind !== "timeout") return [];
  const d = r.deps;
  const t = msg.body;
  if (t.voter !== from || t.voter === d.validator || !d.certificates.verifyTimeout(t)) return [];
  let st = forging.get(r);
  if (st === undefined) forging.set(r, (st = { byView: new Map(), forged: new Set() }));
  if (st.forged.has(t.view)) return [];
  let byVoter = st.byView.get(t.view);
  if (byVoter === undefined) {
    st.byView.set(t.view, (byVoter = new Map()));
    for (const v of st.byView.keys()) if (v < t.view - FORGE_MEMORY_VIEWS) st.byView.delete(v);
    for (const v of st.forged) if (v < t.view - FORGE_MEMORY_VIEWS) st.forged.delete(v);
  }
  byVoter.set(t.voter, t);
  const needed = quorumSize(d.validatorCount) - 1;
  if (byVoter.size < needed) return [];
  const others = [...byVoter.values()].sort((a, b) => a.voter - b.voter).slice(0, needed);
  let best = others[0]!.highQc;
  for (const o of others) if (o.highQc.view > best.view) best = o.highQc;
  const claim = t.view - 1;
  if (claim <= best.view) return []; // the others' claims already reach v − 1: nothing to forge
  // Its own timeout "reports" a QC of the claimed view: only the view is signed, so any QC-shaped value will do here,
  // and it is replaced by the others' best below.
  const own: Timeout = { view: t.view, highQc: { ...best, view: claim }, voter: d.validator, signature: d.signer.sign(timeoutMessage(d.chainId, t.view, claim)) };
  const tc = { ...d.certificates.aggregateTc([...others, own]), highQc: best };
  st.forged.add(t.view);
  st.byView.delete(t.view);
  d.recorder.event(d.scheduler.now(), d.instance, "forged-tc", t.view, `claims a QC of view ${claim}, carries view ${best.view}`);
  return [{ kind: "tc", body: tc }];
}

/**
 * "forge-proposal": another leader's proposal comes back as a different block of the same view, still naming that
 * leader as proposer, signed with this replica's own key (all it can sign with). Not recorded as proposed: should a
 * replica ever commit it, the validity checker reports a block nobody proposed.
 */
function forgeProposal(p: Proposal, r: SimReplica): Message[] {
  const d = r.deps;
  const h = p.block.header;
  if (h.proposer === d.validator) return [];
  const block: Block = r.variantOf(p.block, "forged");
  d.recorder.event(d.scheduler.now(), d.instance, "forge-proposal", h.view, `a block in the name of validator ${h.proposer}`);
  return [{ kind: "proposal", body: signed(r, { ...p, block }) }];
}

/** `p` with its signature made by this replica's key over its (view, block hash), as an honest proposer signs. */
function signed(r: SimReplica, p: Proposal): Proposal {
  const d = r.deps;
  const h = p.block.header;
  return { ...p, signature: d.signer.sign(proposalMessage(d.chainId, h.view, d.hashBlock(h))) };
}

function flipByte(bytes: Uint8Array, r: SimReplica): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[r.deps.rng.int(out.length)]! ^= 1 << r.deps.rng.int(8);
  return out;
}
