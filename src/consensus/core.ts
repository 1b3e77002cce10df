/**
 * Operations shared by the input handlers (on*.ts). A step works on a `Draft`: a shallow, mutable copy of the
 * immutable `ReplicaState` whose fields are replaced (never mutated in place) with new immutable values, plus the
 * effects produced so far. `finish` turns it back into a state and orders the effects (persist before sends).
 */
import { bytesEqual, bytesKey } from "../util/bytes.js";
import { MAX_SYNC_BLOCKS } from "../domain/limits.js";
import type { Block, QuorumCert, Timeout, TimeoutCert, Vote } from "../domain/types.js";
import { attachQc, commitTo, getNode, hasBlock, insertBlock } from "./blockTree.js";
import type { BlockHasher } from "./blockHash.js";
import type { CertificateAggregator } from "./certificates.js";
import type { LeaderElection } from "./leaderElection.js";
import { viewDuration } from "./pacemaker.js";
import type { PacemakerConfig } from "./pacemaker.js";
import { maxHighQcView, safeToTimeout, safeToVote } from "./safetyRules.js";
import { timeoutMessage, voteMessage } from "./signing.js";
import type { ConsensusSigner } from "./signing.js";
import type {
  BlockTree,
  CoreRejectCode,
  Effect,
  ExecutionCheck,
  PendingProposal,
  ReplicaState,
  SafetyState,
  StepResult,
  SyncInFlight,
  TimeoutCollection,
  VerifiedProposal,
  VoteCollection,
} from "./types.js";

/** Everything about a replica that does not change between steps: configuration and injected modules. */
export interface ReplicaContext {
  readonly chainId: Uint8Array;
  readonly self: number;
  /** `self` is not in this instance's set (`self === n`): it never signs a vote, timeout or proposal. */
  readonly observer: boolean;
  readonly n: number;
  /** 2f+1. */
  readonly quorum: number;
  /** f + 1: enough timeouts for a view that at least one honest replica sent one. */
  readonly weakQuorum: number;
  readonly pacemaker: PacemakerConfig;
  readonly leaders: LeaderElection;
  readonly signer: ConsensusSigner;
  readonly aggregator: CertificateAggregator;
  readonly hashBlock: BlockHasher;
  /** Checks a proposed block's parent execution outcome before the core inserts it and votes for it. */
  readonly execution: ExecutionCheck;
}

/**
 * Proposals whose parent is unknown are kept while their ancestors are fetched; a few are enough (the newest matter),
 * and the bound keeps a peer from filling memory with orphans.
 */
export const MAX_PENDING_PROPOSALS = 16;

export class Draft {
  view: number;
  viewDeadline: number;
  safety: SafetyState;
  safetyDirty: boolean;
  tree: BlockTree;
  votes: ReadonlyMap<number, VoteCollection>;
  timeouts: ReadonlyMap<number, TimeoutCollection>;
  awaitingPayload: number;
  pendingProposals: readonly PendingProposal[];
  highQcSource: number;
  sync: SyncInFlight | null;
  nextRequestId: number;
  readonly effects: Effect[] = [];
  private readonly startView: number;
  private readonly startDeadline: number;

  constructor(
    readonly ctx: ReplicaContext,
    s: ReplicaState,
    readonly now: number,
  ) {
    this.view = s.view;
    this.viewDeadline = s.viewDeadline;
    this.safety = s.safety;
    this.safetyDirty = s.safetyDirty;
    this.tree = s.tree;
    this.votes = s.votes;
    this.timeouts = s.timeouts;
    this.awaitingPayload = s.awaitingPayload;
    this.pendingProposals = s.pendingProposals;
    this.highQcSource = s.highQcSource;
    this.sync = s.sync;
    this.nextRequestId = s.nextRequestId;
    this.startView = s.view;
    this.startDeadline = s.viewDeadline;
  }

  setSafety(patch: Partial<SafetyState>): void {
    this.safety = { ...this.safety, ...patch };
    this.safetyDirty = true;
  }

  reject(from: number, code: CoreRejectCode): void {
    this.effects.push({ kind: "rejected", from, code });
  }

  /**
   * Completes the step: proposes if this replica now leads a view it can propose in, (re)arms the view timer if the
   * view or its deadline moved, and moves the durable writes — `saveBlock`s, then one `persist` when the safety state
   * changed — before the first vote, timeout or proposal that leaves the node. Writing the step's final safety state
   * ahead of earlier sends is safe: it only ever moves forward, and it covers every message of the step.
   */
  finish(): StepResult {
    maybePropose(this);
    if (this.view !== this.startView || this.viewDeadline !== this.startDeadline) {
      this.effects.push({ kind: "setTimer", view: this.view, at: this.viewDeadline });
    }
    const durable: Effect[] = this.effects.filter((e) => e.kind === "saveBlock");
    if (this.safetyDirty) {
      durable.push({ kind: "persist", safety: this.safety });
      this.safetyDirty = false;
    }
    let effects: Effect[] = this.effects;
    if (durable.length > 0) {
      const rest = this.effects.filter((e) => e.kind !== "saveBlock");
      const i = rest.findIndex(needsPersistedSafety);
      effects = i < 0 ? [...rest, ...durable] : [...rest.slice(0, i), ...durable, ...rest.slice(i)];
    }
    const state: ReplicaState = {
      view: this.view,
      viewDeadline: this.viewDeadline,
      safety: this.safety,
      safetyDirty: false,
      tree: this.tree,
      votes: this.votes,
      timeouts: this.timeouts,
      awaitingPayload: this.awaitingPayload,
      pendingProposals: this.pendingProposals,
      highQcSource: this.highQcSource,
      sync: this.sync,
      nextRequestId: this.nextRequestId,
    };
    return { state, effects };
  }
}

/** Messages that depend on the persisted safety state: votes, timeouts, proposals (never two per view). */
export function needsPersistedSafety(e: Effect): boolean {
  if (e.kind !== "send" && e.kind !== "broadcast") return false;
  const k = e.message.kind;
  return k === "vote" || k === "timeout" || k === "proposal";
}

// ---------------------------------------------------------------------------------------------------------------
// Views

/** Moves to `view` (> current): arms its timer and drops collections that can no longer matter. */
export function enterView(d: Draft, view: number): void {
  if (view <= d.view) return;
  d.view = view;
  d.viewDeadline = d.now + viewDuration(d.ctx.pacemaker, view, d.safety.highQc.view);
  // Votes for view - 1 can still form the QC that the leader of `view` needs; anything older is moot.
  if (firstKeyBelow(d.votes, view - 1)) d.votes = dropBelow(d.votes, view - 1);
  if (firstKeyBelow(d.timeouts, view)) d.timeouts = dropBelow(d.timeouts, view);
  if (d.awaitingPayload !== 0 && d.awaitingPayload < view) d.awaitingPayload = 0;
}

function firstKeyBelow(m: ReadonlyMap<number, unknown>, bound: number): boolean {
  for (const k of m.keys()) if (k < bound) return true;
  return false;
}

function dropBelow<V>(m: ReadonlyMap<number, V>, bound: number): ReadonlyMap<number, V> {
  const out = new Map<number, V>();
  for (const [k, v] of m) if (k >= bound) out.set(k, v);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Certificates

/**
 * A verified QC from `from`: raise the high QC, attach it to its block, apply the two-chain commit rule, enter the
 * next view, and fetch the block if it is unknown.
 */
export function processQc(d: Draft, qc: QuorumCert, from: number): void {
  if (qc.view > d.safety.highQc.view) {
    d.setSafety({ highQc: qc });
    d.highQcSource = from;
  }
  const key = bytesKey(qc.blockHash);
  const node = getNode(d.tree, key);
  if (node !== undefined) {
    if (node.qc === null) d.tree = attachQc(d.tree, key, qc);
    commitByTwoChain(d, key);
  } else if (qc.view > d.tree.root.block.header.view) {
    // Heights grow by one per block and views by at least one, so the block is at most this high.
    const root = d.tree.root.block.header;
    requestSync(d, from, root.height + (qc.view - root.view));
  }
  enterView(d, qc.view + 1);
}

/** A certified block `key` commits its parent when their views are consecutive (and the parent is not committed). */
export function commitByTwoChain(d: Draft, key: string): void {
  const node = d.tree.nodes.get(key);
  if (node === undefined || node.qc === null) return;
  const parentKey = node.parentKey;
  const parent = d.tree.nodes.get(parentKey);
  if (parent === undefined) return; // the parent is the root (already committed) or was pruned
  if (node.block.header.view !== parent.block.header.view + 1) return;
  const { tree, committed } = commitTo(d.tree, parentKey);
  d.tree = tree;
  if (committed.length > 0) d.effects.push({ kind: "commit", blocks: committed });
  // Pending proposals below the new root can never be inserted.
  const rootHeight = tree.root.block.header.height;
  if (d.pendingProposals.some((p) => p.proposal.block.header.height <= rootHeight)) {
    d.pendingProposals = d.pendingProposals.filter((p) => p.proposal.block.header.height > rootHeight);
  }
}

/**
 * A verified TC from `from`: learn the QC it carries (raising the high QC to it and fetching its block if unknown, as
 * for any QC), remember the TC (for proposing and for laggards), and enter the next view. The carried QC reaches the
 * TC's bar (its largest claimed high-QC view), so after this the high QC meets the bar of every TC kept: any TC of a
 * view serves as well as another, and a faulty aggregator cannot hand us one we could not build on.
 */
export function processTc(d: Draft, tc: TimeoutCert, from: number): void {
  processQc(d, tc.highQc, from);
  const cur = d.safety.lastTc;
  if (cur === null || tc.view > cur.view) d.setSafety({ lastTc: tc });
  enterView(d, tc.view + 1);
}

// ---------------------------------------------------------------------------------------------------------------
// Blocks and votes

/**
 * Inserts a verified proposal's block (its parent must be in the tree), then votes for it if the safety rules allow.
 * Returns false when the parent is unknown (the caller buffers the proposal).
 */
export function acceptProposal(d: Draft, from: number, p: VerifiedProposal): boolean {
  const h = p.block.header;
  const key = bytesKey(p.hash);
  if (h.height <= d.tree.root.block.header.height) {
    if (key !== d.tree.root.key) d.reject(from, "BELOW_ROOT");
    return true;
  }
  if (!hasBlock(d.tree, key)) {
    const parent = getNode(d.tree, bytesKey(h.parent));
    if (parent === undefined) return false;
    if (h.height !== parent.block.header.height + 1) {
      d.reject(from, "BAD_HEIGHT");
      return true;
    }
    if (h.view <= parent.block.header.view) {
      d.reject(from, "VIEW_NOT_ABOVE_PARENT");
      return true;
    }
    const verdict = d.ctx.execution.check(p.block, (hash) => getNode(d.tree, bytesKey(hash))?.block ?? committedInStep(d, hash));
    if (verdict !== "ok") {
      d.reject(from, verdict === "UNAVAILABLE" ? "EXECUTION_UNAVAILABLE" : verdict);
      return true;
    }
    // The proposal's QC certifies the parent. If the proposal waited for its ancestors, the QC could not be attached
    // when it arrived: attach it now (and apply the commit rule it may complete).
    if (parent.qc === null) processQc(d, p.qc, from);
    d.tree = insertBlock(d.tree, p.block, p.hash, key, null);
    d.effects.push({ kind: "saveBlock", stored: { block: p.block, hash: p.hash, qc: null, parentQc: p.qc } });
    // Its QC may have arrived first (in a timeout or from the vote collector): attach it and apply the commit rule.
    if (key === bytesKey(d.safety.highQc.blockHash)) processQc(d, d.safety.highQc, from);
  }
  tryVote(d, p);
  retryPending(d, key);
  return true;
}

/**
 * A block this step committed (pruned from the tree, its commit effect not yet written by the shell): the execution
 * check may need it as an ancestor when a sync response inserted and committed it within the same step.
 */
function committedInStep(d: Draft, hash: Uint8Array): Block | undefined {
  const key = bytesKey(hash);
  for (const e of d.effects) {
    if (e.kind !== "commit") continue;
    for (const c of e.blocks) if (bytesKey(c.hash) === key) return c.block;
  }
  return undefined;
}

/** Votes for `p` when it is for the current view and the voting rule allows it. */
function tryVote(d: Draft, p: VerifiedProposal): void {
  const view = p.block.header.view;
  if (d.ctx.observer || view !== d.view || !safeToVote(d.safety, view, p.qc, p.tc)) return;
  const vote: Vote = { view, blockHash: p.hash, voter: d.ctx.self, signature: d.ctx.signer.sign(voteMessage(d.ctx.chainId, view, p.hash)) };
  d.setSafety({ lastVotedView: view, lastVote: vote });
  sendVote(d, vote);
}

/** Sends `vote` to the leader of the next view (counting it directly when that is this replica). */
export function sendVote(d: Draft, vote: Vote): void {
  const to = d.ctx.leaders.leader(vote.view + 1);
  if (to === d.ctx.self) addVote(d, vote);
  else d.effects.push({ kind: "send", to, message: { kind: "vote", body: vote } });
}

/** Counts a verified vote; 2f+1 votes for one block form a QC. */
export function addVote(d: Draft, vote: Vote): void {
  if (vote.view <= d.safety.highQc.view) return; // that view is certified already
  const col = d.votes.get(vote.view);
  if (col !== undefined && col.voters.has(vote.voter)) return;
  const key = bytesKey(vote.blockHash);
  const forBlock = [...(col?.byBlock.get(key) ?? []), vote];
  const byBlock = new Map(col?.byBlock);
  byBlock.set(key, forBlock);
  const voters = new Set(col?.voters);
  voters.add(vote.voter);
  const votes = new Map(d.votes);
  votes.set(vote.view, { byBlock, voters });
  d.votes = votes;
  if (forBlock.length >= d.ctx.quorum) {
    const { qc, invalidVoters } = d.ctx.aggregator.assembleQc(forBlock);
    for (const v of invalidVoters) d.reject(v, "INVALID_VOTE_SIGNATURE");
    if (qc === null) {
      // Optimistic mode found bad signatures: drop those votes (their voters stay counted, so they cannot vote again
      // in this view) and wait for more.
      const kept = forBlock.filter((v) => !invalidVoters.includes(v.voter));
      const byBlockKept = new Map(byBlock);
      byBlockKept.set(key, kept);
      const next = new Map(d.votes);
      next.set(vote.view, { byBlock: byBlockKept, voters });
      d.votes = next;
      return;
    }
    const rest = new Map(d.votes);
    rest.delete(vote.view);
    d.votes = rest;
    // If we lack the block, its proposer (the leader of that view) has it.
    processQc(d, qc, d.ctx.leaders.leader(vote.view));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Timeouts

/**
 * Counts a verified timeout for a view >= ours (its high QC has been processed by the caller). f+1 timeouts for a
 * view make this replica time out there too (at least one honest replica gave up on it, so waiting is pointless);
 * 2f+1 form a TC.
 */
export function addTimeout(d: Draft, t: Timeout): void {
  if (t.view < d.view) return;
  const col = d.timeouts.get(t.view);
  if (col !== undefined && col.byVoter.has(t.voter)) return;
  const byVoter = new Map(col?.byVoter);
  byVoter.set(t.voter, t);
  const timeouts = new Map(d.timeouts);
  timeouts.set(t.view, { byVoter });
  d.timeouts = timeouts;
  if (byVoter.size >= d.ctx.weakQuorum && d.safety.lastTimeout?.view !== t.view && t.view >= d.view) {
    enterView(d, t.view);
    localTimeout(d);
  }
  const all = d.timeouts.get(t.view);
  if (all !== undefined && all.byVoter.size >= d.ctx.quorum && (d.safety.lastTc === null || d.safety.lastTc.view < t.view)) {
    const sorted = [...all.byVoter.values()].sort((a, b) => a.voter - b.voter);
    // Every timeout's high QC was processed as it arrived (with its sender as the source), so the carried QC is known.
    processTc(d, d.ctx.aggregator.aggregateTc(sorted), d.ctx.self);
  }
}

/**
 * Gives up on the current view: signs and broadcasts a timeout (once per view; later calls re-broadcast the same one,
 * which is how a replica whose timeout was lost, or who is behind, gets help), and re-arms the timer.
 */
export function localTimeout(d: Draft): void {
  const view = d.view;
  const last = d.safety.lastTimeout;
  let t: Timeout;
  if (d.ctx.observer) {
    // An observer only waits for the set's certificates; its timer keeps running so that sync retries go on.
    d.viewDeadline = d.now + viewDuration(d.ctx.pacemaker, view, d.safety.highQc.view);
    return;
  }
  if (last !== null && last.view === view) {
    t = last;
  } else {
    if (!safeToTimeout(d.safety, view)) return;
    const highQc = d.safety.highQc;
    t = { view, highQc, voter: d.ctx.self, signature: d.ctx.signer.sign(timeoutMessage(d.ctx.chainId, view, highQc.view)) };
    d.setSafety({ lastVotedView: Math.max(d.safety.lastVotedView, view), lastTimeout: t });
  }
  d.effects.push({ kind: "broadcast", message: { kind: "timeout", body: t } });
  d.viewDeadline = d.now + viewDuration(d.ctx.pacemaker, view, d.safety.highQc.view);
  addTimeout(d, t);
}

// ---------------------------------------------------------------------------------------------------------------
// Proposing

/**
 * Asks the shell for a block when this replica leads the current view, has not proposed (or given up) in it, can
 * justify a proposal (a QC of view - 1, or a TC of view - 1 whose bar its high QC meets — always, since processing the
 * TC raised the high QC to the QC it carries; checked anyway, as the voters will) and holds the parent block.
 */
export function maybePropose(d: Draft): void {
  const view = d.view;
  if (d.ctx.leaders.leader(view) !== d.ctx.self) return;
  if (view <= d.safety.lastProposedView || view <= d.safety.lastVotedView || d.awaitingPayload === view) return;
  const qc = d.safety.highQc;
  const tc = d.safety.lastTc;
  const justified = qc.view === view - 1 || (tc !== null && tc.view === view - 1 && qc.view >= maxHighQcView(tc));
  if (!justified) return;
  const parent = getNode(d.tree, bytesKey(qc.blockHash));
  if (parent === undefined) {
    const root = d.tree.root.block.header;
    requestSync(d, d.highQcSource, root.height + (qc.view - root.view));
    return;
  }
  d.awaitingPayload = view;
  const h = parent.block.header;
  d.effects.push({ kind: "proposeRequest", request: { view, parentHash: parent.hash, parentHeight: h.height, parentView: h.view, parentSigners: qc.signers } });
}

/** The justification a proposal in `view` carries: the high QC, plus the TC of view - 1 unless the QC is of view - 1. */
export function justification(d: Draft, view: number): { qc: QuorumCert; tc: TimeoutCert | null } {
  const qc = d.safety.highQc;
  return { qc, tc: qc.view === view - 1 ? null : d.safety.lastTc };
}

/** Whether `block` is a proper answer to the outstanding propose request of the current view. */
export function payloadFits(d: Draft, view: number, block: Block): "ok" | CoreRejectCode {
  if (view !== d.view || d.awaitingPayload !== view || view <= d.safety.lastProposedView) return "PAYLOAD_NOT_EXPECTED";
  const h = block.header;
  if (h.view !== view || h.proposer !== d.ctx.self) return "PAYLOAD_NOT_EXPECTED";
  // The high QC's block may be unknown when the QC moved after the request: that too is a stale parent.
  const parent = getNode(d.tree, bytesKey(d.safety.highQc.blockHash));
  if (parent === undefined || bytesKey(h.parent) !== parent.key || h.height !== parent.block.header.height + 1) return "PAYLOAD_BAD_PARENT";
  if (!bytesEqual(h.parentSigners, d.safety.highQc.signers)) return "PAYLOAD_BAD_PARENT";
  return "ok";
}

// ---------------------------------------------------------------------------------------------------------------
// Fetching missing blocks

/** How long an unanswered block request blocks a new one: one base view timer. */
export function syncRetryMs(d: Draft): number {
  return d.ctx.pacemaker.baseTimeoutMs;
}

/**
 * Asks a peer for the blocks above our committed root up to `targetHeight` (at most MAX_SYNC_BLOCKS). The peer
 * answers from its committed chain and its certified branch.
 *
 * Pacing: one request per `syncRetryMs`, except right after an answer that brought new blocks (a long catch-up then
 * proceeds batch after batch). Peer choice: `hint` (the peer that showed us the missing block's certificate or the
 * orphan proposal), unless the previous request went unanswered or brought nothing — then the next validator in
 * turn, so that a peer that lacks the block (or is down) cannot stall us: some honest signer of the QC has it.
 */
export function requestSync(d: Draft, hint: number, targetHeight: number): void {
  const fromHeight = d.tree.root.block.header.height + 1;
  if (targetHeight < fromHeight || d.ctx.n === 1) return;
  const last = d.sync;
  const fresh = last === null || (last.answered && last.progressed);
  if (!fresh && d.now - last.sentAt < syncRetryMs(d)) return;
  let peer = fresh && hint >= 0 && hint < d.ctx.n ? hint : (last?.peer ?? d.ctx.self) + 1;
  peer %= d.ctx.n;
  if (peer === d.ctx.self) peer = (peer + 1) % d.ctx.n;
  const toHeight = Math.min(targetHeight, fromHeight + MAX_SYNC_BLOCKS - 1);
  const requestId = d.nextRequestId;
  d.nextRequestId = requestId + 1;
  d.sync = { requestId, peer, fromHeight, toHeight, sentAt: d.now, answered: false, progressed: false };
  d.effects.push({ kind: "send", to: peer, message: { kind: "syncRequest", body: { requestId, fromHeight, toHeight } } });
}

/** Buffers a proposal whose parent is unknown (newest views kept) and asks its sender for the ancestors. */
export function bufferProposal(d: Draft, from: number, p: VerifiedProposal): void {
  const key = bytesKey(p.hash);
  if (!d.pendingProposals.some((x) => bytesKey(x.proposal.hash) === key)) {
    const next = [...d.pendingProposals, { from, proposal: p }];
    next.sort((a, b) => b.proposal.block.header.view - a.proposal.block.header.view);
    d.pendingProposals = next.slice(0, MAX_PENDING_PROPOSALS);
  }
  requestSync(d, from, p.block.header.height - 1);
}

/** Inserts buffered proposals whose parent just became known (`parentKey`), recursively. */
export function retryPending(d: Draft, parentKey: string): void {
  const ready = d.pendingProposals.filter((x) => bytesKey(x.proposal.block.header.parent) === parentKey);
  if (ready.length === 0) return;
  d.pendingProposals = d.pendingProposals.filter((x) => bytesKey(x.proposal.block.header.parent) !== parentKey);
  ready.sort((a, b) => a.proposal.block.header.view - b.proposal.block.header.view);
  for (const x of ready) acceptProposal(d, x.from, x.proposal);
}
