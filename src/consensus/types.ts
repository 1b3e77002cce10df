/**
 * The vocabulary of the consensus core: its state, the inputs it accepts and the effects it returns.
 *
 * The core is `Replica.step(state, input, now) -> { state, effects }` (replica.ts): synchronous, deterministic, no IO.
 * Inputs are messages that the validation layer (validation/) has already checked — structure, origin, view range,
 * signatures, certificates — plus timer firings and local events. Effects are instructions for the shell, which must
 * execute them in order; in particular a `persist` must be durable before any later `send`/`broadcast` of the same
 * step leaves the node (that is what makes a vote or timeout safe to send; see `SafetyState`).
 *
 * State values are immutable: `step` never mutates the state it is given, so a caller may keep an old state (the
 * simulator's crash tests and the purity test do) and stepping the same (state, input, now) twice gives equal results.
 */
import type { Block, Hash, Message, QuorumCert, Timeout, TimeoutCert, Vote } from "../domain/types.js";

/** A block with its hash and the QC that certifies it (when one is known). */
export interface TreeNode {
  readonly block: Block;
  readonly hash: Hash;
  /** `bytesKey(hash)`: the key of this node in `BlockTree.nodes`. */
  readonly key: string;
  /** `bytesKey` of the parent hash (kept to avoid re-encoding it on every walk). */
  readonly parentKey: string;
  /** A QC for this block, learnt from a child's proposal, a sync response or vote aggregation; null until then. */
  readonly qc: QuorumCert | null;
}

/**
 * The uncommitted blocks as a tree rooted at the last committed block (DESIGN §4 "fork database"). Every node's parent
 * is the root or another node; committing prunes every node that does not descend from the new root.
 */
export interface BlockTree {
  readonly root: TreeNode;
  /** Uncommitted blocks by `bytesKey` (the root is not in here). */
  readonly nodes: ReadonlyMap<string, TreeNode>;
}

/**
 * What must survive a crash for the replica to stay safe (DiemBFT v4 safety rules). The shell persists it when the
 * core says so (`persist` effect) and feeds it back to `Replica.restore` after a restart.
 */
export interface SafetyState {
  /** Highest view this replica voted in or timed out in: it never votes in a view <= this again. */
  readonly lastVotedView: number;
  /** The highest QC this replica knows. Reported in its timeouts; it must never go back (see the TC voting rule). */
  readonly highQc: QuorumCert;
  /** Highest view this replica proposed in as leader: never two proposals in one view, even across a restart. */
  readonly lastProposedView: number;
  /** The last vote sent (re-sent to the next leader after a restart), or null. */
  readonly lastVote: Vote | null;
  /** The last timeout sent (re-broadcast after a restart while still in its view), or null. */
  readonly lastTimeout: Timeout | null;
  /**
   * The TC of the highest view that timed out, or null. Not needed for safety but for liveness across restarts: the
   * first honest replica to enter any view did so with a QC or TC of the view before, and keeping that TC lets it
   * lift replicas stuck behind it (catch-up answers) even after it crashed and restarted. It also justifies a
   * proposal after a timeout.
   */
  readonly lastTc: TimeoutCert | null;
}

/** Votes collected for one view by the leader of the next view. */
export interface VoteCollection {
  /** Votes by `bytesKey` of the block hash. A voter appears at most once in the whole collection (see `voters`). */
  readonly byBlock: ReadonlyMap<string, readonly Vote[]>;
  /** Every voter already counted in this view: a second vote from one validator is never counted. */
  readonly voters: ReadonlySet<number>;
}

/** Timeouts collected for one view (every replica collects them: timeouts are broadcast). */
export interface TimeoutCollection {
  /** By voter; first one wins. */
  readonly byVoter: ReadonlyMap<number, Timeout>;
}

/** The latest request for blocks (see sync.ts and `requestSync` in core.ts). */
export interface SyncInFlight {
  readonly requestId: number;
  readonly peer: number;
  readonly fromHeight: number;
  readonly toHeight: number;
  readonly sentAt: number;
  /** Set when the answer came: whether it brought blocks we did not have. */
  readonly answered: boolean;
  readonly progressed: boolean;
}

/** The whole replica state. Plain immutable data; see the module comment. */
export interface ReplicaState {
  /** The current view (>= 1). */
  readonly view: number;
  /** When the current view's timer fires (virtual or wall ms, whatever `now` the shell passes). */
  readonly viewDeadline: number;
  readonly safety: SafetyState;
  /** Whether `safety` changed since the last `persist` effect (always false between steps: steps flush it). */
  readonly safetyDirty: boolean;
  readonly tree: BlockTree;
  /** Vote collections by view (only views this replica leads the next view of). */
  readonly votes: ReadonlyMap<number, VoteCollection>;
  /** Timeout collections by view. */
  readonly timeouts: ReadonlyMap<number, TimeoutCollection>;
  /** The view a `proposeRequest` is outstanding for (the shell answers with a `payload` input), or 0. */
  readonly awaitingPayload: number;
  /** Proposals whose parent block is unknown, waiting for a sync response (bounded; see sync.ts). */
  readonly pendingProposals: readonly PendingProposal[];
  /** The peer that showed us the highest QC: where to fetch its block from if we lack it. */
  readonly highQcSource: number;
  readonly sync: SyncInFlight | null;
  readonly nextRequestId: number;
}

/** A verified proposal waiting for its ancestors. */
export interface PendingProposal {
  readonly from: number;
  readonly proposal: VerifiedProposal;
}

/** A proposal that passed validation: its block hash is computed and its certificates are verified. */
export interface VerifiedProposal {
  readonly block: Block;
  readonly hash: Hash;
  readonly qc: QuorumCert;
  readonly tc: TimeoutCert | null;
}

/** A block of a sync response that passed validation (hash computed, QC verified and certifying it). */
export interface VerifiedCertifiedBlock {
  readonly block: Block;
  readonly hash: Hash;
  readonly qc: QuorumCert;
}

/** The inputs of `step`. Message inputs carry the (authenticated) validator index they came from. */
export type Input =
  | { readonly kind: "proposal"; readonly from: number; readonly proposal: VerifiedProposal }
  | { readonly kind: "vote"; readonly from: number; readonly vote: Vote }
  | { readonly kind: "timeout"; readonly from: number; readonly timeout: Timeout }
  /** A timeout for a view below ours: the sender is behind; we answer with the certificate that moved us on. */
  | { readonly kind: "staleTimeout"; readonly from: number; readonly view: number }
  | { readonly kind: "qc"; readonly from: number; readonly qc: QuorumCert }
  | { readonly kind: "tc"; readonly from: number; readonly tc: TimeoutCert }
  | { readonly kind: "syncResponse"; readonly from: number; readonly requestId: number; readonly blocks: readonly VerifiedCertifiedBlock[] }
  /**
   * Certified blocks from the shell's catch-up (node/catchUp.ts): consecutive from the committed root + 1, verified
   * like a sync response, fetched without a request of the core's own (it asked several peers for committed ranges).
   */
  | { readonly kind: "certifiedBlocks"; readonly from: number; readonly blocks: readonly VerifiedCertifiedBlock[] }
  /** The view timer set by a `setTimer` effect fired. Stale firings (another view) are ignored. */
  | { readonly kind: "timer"; readonly view: number }
  /**
   * The shell lost its link to the validator this replica waits for in `view` (the leader, or the next leader
   * collecting its vote): time out now instead of at the deadline. A local liveness hint; a timeout is always safe.
   */
  | { readonly kind: "leaderDown"; readonly view: number }
  /**
   * f + 1 replicas of another geo cluster asked, with valid signatures, for this cluster to replace the validator
   * that failed to share its blocks or to unblock a stalled cluster (node/geo/geoReplica.ts): time out now. Like
   * `leaderDown` a liveness hint from outside the core — verified by the shell, rate-limited there, and safe whatever
   * its cause, since a timeout is always safe.
   */
  | { readonly kind: "remoteTimeout"; readonly view: number }
  /** The shell's answer to `proposeRequest`: the block to propose in `view`. */
  | { readonly kind: "payload"; readonly view: number; readonly block: Block };

export type InputKind = Input["kind"];

/** A block the core decided, with the QC that certifies it (what the chain layer stores and serves to syncing peers). */
export interface CommittedBlock {
  readonly block: Block;
  readonly hash: Hash;
  readonly qc: QuorumCert;
}

/**
 * An uncommitted block as the shell stores it (the fork database), so that a restarted replica still has — and can
 * serve — the blocks it voted for: their QCs may exist elsewhere while the blocks themselves exist nowhere else.
 */
export interface StoredBlock {
  readonly block: Block;
  readonly hash: Hash;
  /** A QC certifying this block, when known at insertion (blocks from a sync response). */
  readonly qc: QuorumCert | null;
  /** A QC certifying its parent (a proposal's justify QC), when known. */
  readonly parentQc: QuorumCert | null;
}

/** The parent a new proposal must extend (the block of the replica's highest QC). */
export interface ProposeRequest {
  readonly view: number;
  readonly parentHash: Hash;
  readonly parentHeight: number;
  /** The parent's own view (a timestamp rule may want the parent's time: the shell has the block). */
  readonly parentView: number;
  /** The signers of the QC the proposal will carry: the block's `parentSigners`. */
  readonly parentSigners: Uint8Array;
}

/**
 * Instructions for the shell, to be executed in order. Sends never go to `self` (the core handles its own votes).
 * `persist` and `saveBlock` always precede the first vote, timeout or proposal send of their step.
 */
export type Effect =
  | { readonly kind: "persist"; readonly safety: SafetyState }
  /** Store an uncommitted block durably (before the vote for it leaves). The shell may drop stored blocks at or below
   *  the committed height. */
  | { readonly kind: "saveBlock"; readonly stored: StoredBlock }
  | { readonly kind: "send"; readonly to: number; readonly message: Message }
  | { readonly kind: "broadcast"; readonly message: Message }
  /** (Re)arms the single view timer: deliver `{kind: "timer", view}` at time `at`; replaces any earlier timer. */
  | { readonly kind: "setTimer"; readonly view: number; readonly at: number }
  /** Blocks newly committed, in ascending height, each extending the previous one (and the previous commit). */
  | { readonly kind: "commit"; readonly blocks: readonly CommittedBlock[] }
  /** This replica leads `view` and may propose now: answer with a `payload` input carrying a block for `view`. */
  | { readonly kind: "proposeRequest"; readonly request: ProposeRequest }
  /** A verified input the core refused on a state-dependent rule (counted by the shell, never acted on). */
  | { readonly kind: "rejected"; readonly from: number; readonly code: CoreRejectCode };

export type EffectKind = Effect["kind"];

/**
 * Whether a proposed block carries its parent's execution outcome (state root, result bitmap): the core inserts and
 * votes only for blocks that do, so a vote always vouches for the execution it builds on. Injected (the executor in
 * the node and the simulator; "ok" for tests of the core alone). `ancestor` finds uncommitted blocks the core holds
 * that the shell may not have stored yet (a sync response inserted them earlier in the same step).
 */
export interface ExecutionCheck {
  check(block: Block, ancestor: (hash: Hash) => Block | undefined): ExecutionVerdict;
}

/** `UNAVAILABLE`: the parent's outcome cannot be computed here (an ancestor missing, or the parent forks off). */
export type ExecutionVerdict = "ok" | "BAD_PARENT_STATE_ROOT" | "BAD_PARENT_RESULTS" | "UNAVAILABLE";

/** Accepts every block: for tests of the core that run no application. */
export const NO_EXECUTION_CHECK: ExecutionCheck = { check: () => "ok" };

/** Why the core refused an already-validated input (validation cannot see these: they need the block tree). */
export type CoreRejectCode =
  /** A proposal whose block carries a state root other than its parent's (the proposer executed differently). */
  | "BAD_PARENT_STATE_ROOT"
  /** A proposal whose block carries a result bitmap other than its parent's. */
  | "BAD_PARENT_RESULTS"
  /** A proposal whose parent's outcome cannot be computed here: not voted for (no penalty, it may be our gap). */
  | "EXECUTION_UNAVAILABLE"
  /** A block whose height is not its parent's height + 1. */
  | "BAD_HEIGHT"
  /** A block whose view is not above its parent's view. */
  | "VIEW_NOT_ABOVE_PARENT"
  /** A block below the committed root (its branch was pruned). */
  | "BELOW_ROOT"
  /** A sync response nobody asked for (or an old one). */
  | "UNEXPECTED_SYNC_RESPONSE"
  /** A sync response whose first block is not at the height we asked from. */
  | "SYNC_WRONG_START"
  /** A payload input for a view this replica may not propose in (not leader, not current, already proposed). */
  | "PAYLOAD_NOT_EXPECTED"
  /** A payload block that does not extend the requested parent. */
  | "PAYLOAD_BAD_PARENT"
  /** Optimistic vote collection: this voter's signature failed the collector's aggregate check (named by bisection). */
  | "INVALID_VOTE_SIGNATURE";

/** Result of `step`. */
export interface StepResult {
  readonly state: ReplicaState;
  readonly effects: readonly Effect[];
}
