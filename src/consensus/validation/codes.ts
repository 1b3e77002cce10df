/**
 * Why validation refused a message, and what that says about the sender. Every code is a protocol rejection: counted,
 * maybe logged, never a crash. Tests assert these exact codes.
 *
 * Each code carries its peer-scoring action, decided here once for every shell that scores peers — and so do the
 * core's rejections of verified inputs (`CoreRejectCode`, consensus/types.ts), in a second table below:
 * - "penalise": an honest peer never causes it — it sent bytes that are malformed, unjustified or badly signed, or
 *   it equivocated — so the sender loses points.
 * - "ignore": honest peers can cause it — through timing alone (late or early messages, network duplicates, clock
 *   skew) or through a gap of ours — so the message is dropped and nobody is blamed. Three core codes are "ignore"
 *   only because the shell never penalised them (see their entries).
 */
import type { CoreRejectCode } from "../types.js";

/** What a rejection costs the sender. */
export type PeerAction = "ignore" | "penalise";

/** Every rejection code with its action, in the order validation checks (origin → content → repetition). */
const ACTIONS = {
  // origin
  /** A kind the consensus validator does not take (handshake, hello, tx batches, sync requests: other layers). */
  NOT_CONSENSUS: "ignore",
  /** A proposer or voter index outside the validator set. */
  UNKNOWN_VALIDATOR: "penalise",
  /**
   * The authenticated sender is not the voter named in a vote or timeout (those are not relayed). Proposals are
   * exempt since they are signed (protocol version 3): their origin is the signature (BAD_PROPOSAL_SIGNATURE).
   */
  WRONG_SENDER: "penalise",
  /**
   * The proposer does not lead the proposal's view as far as we know: leaders come from committed history
   * (consensus/leaderElection.ts), so a replica that lags behind may disagree with an honest proposer. Checked before
   * any signature work, so refusing costs nothing.
   */
  NOT_LEADER: "ignore",
  /** A vote for view v sent to a replica that does not lead view v + 1 (a voter behind on the leader schedule). */
  NOT_NEXT_LEADER: "ignore",
  /**
   * A proposal whose signature is not its block's proposer's over (chain id, view, block hash): forged, altered on
   * the way, or signed for another view or block. Checked right after the leader check, before anything acts on the
   * proposal. Penalises the peer that sent it (the proposer's own link or a relay that passed on what it should have
   * refused); the named proposer is never blamed — it may be the victim.
   */
  BAD_PROPOSAL_SIGNATURE: "penalise",
  // structure and views
  /** Wrong byte lengths or a zero view/height where none is allowed (the codec already refuses most of these). */
  MALFORMED: "penalise",
  /** A vote for a view below current − 1: no QC can come of it any more (it was merely slow). */
  VIEW_TOO_OLD: "ignore",
  /** A vote or timeout for a view beyond the window ahead of ours (bounds what a peer can make us store). */
  VIEW_TOO_FAR: "ignore",
  /** A block timestamp further in the future than the allowed clock skew (our clock may be the one behind). */
  TIMESTAMP_IN_FUTURE: "ignore",
  /** The block's txRoot is not the RFC 6962 root of its transactions. */
  BAD_TX_ROOT: "penalise",
  // justification of a proposal
  /** The proposal's QC does not certify the block's parent. */
  QC_NOT_FOR_PARENT: "penalise",
  /** The header's parentSigners are not the signers of the proposal's QC (the committed record of who voted). */
  SIGNERS_NOT_QC: "penalise",
  /** The proposal's QC is not from an earlier view than the block. */
  QC_VIEW_NOT_BELOW: "penalise",
  /** The TC is not for the view right before the block's. */
  TC_VIEW_MISMATCH: "penalise",
  /** Neither view == qc.view + 1, nor (view == tc.view + 1 and qc.view >= max(tc.highQcViews)). */
  UNJUSTIFIED: "penalise",
  /** A timeout whose high QC is not from an earlier view. */
  HIGH_QC_NOT_BELOW: "penalise",
  // signatures and certificates
  /** A vote's or timeout's own signature does not verify for its voter and content. */
  BAD_SIGNATURE: "penalise",
  /** A view-0 QC that is not exactly the genesis certificate. */
  BAD_GENESIS_QC: "penalise",
  /** A QC's signer bitmap is not a canonical encoding of a subset of the validators. */
  QC_BAD_SIGNERS: "penalise",
  /** A QC with fewer signers than the quorum. */
  QC_BELOW_QUORUM: "penalise",
  /** A QC's aggregate signature does not verify for its signers over its (view, block hash). */
  QC_BAD_AGGREGATE: "penalise",
  /** A TC's signer bitmap is not a canonical encoding of a subset of the validators. */
  TC_BAD_SIGNERS: "penalise",
  /** A TC with fewer signers than the quorum. */
  TC_BELOW_QUORUM: "penalise",
  /** A TC's aggregate signature does not verify for its signers over their (view, high-QC view) messages. */
  TC_BAD_AGGREGATE: "penalise",
  /** highQcViews does not have one entry per signer, or has an entry >= the TC's view. */
  TC_BAD_HIGH_QC_VIEWS: "penalise",
  /**
   * The QC a TC carries is not of the largest high-QC view its signers claimed: a claim nobody can back with a QC (the
   * forged-claim attack on liveness), since an honest aggregator carries the highest QC of the timeouts it signs over.
   */
  TC_HIGH_QC_MISMATCH: "penalise",
  // sync responses
  /** Blocks not at consecutive heights, or not each the parent of the next. */
  SYNC_NOT_CHAIN: "penalise",
  /** A block whose QC certifies another block or view. */
  SYNC_QC_MISMATCH: "penalise",
  // repetition
  /** The same message again (a network duplicate): dropped without re-verification. */
  DUPLICATE: "ignore",
  /** A second, different proposal/vote/timeout from one validator in one view: evidence recorded, never acted on. */
  EQUIVOCATION: "penalise",
} as const satisfies Record<string, PeerAction>;

export type RejectCode = keyof typeof ACTIONS;

/** Every rejection code, in table order. */
export const REJECT_CODES = Object.keys(ACTIONS) as readonly RejectCode[];

/**
 * The core's rejections (`rejected` effects; their meaning is documented on `CoreRejectCode`) with their actions. A
 * mapped type, so a new core code without an action does not compile.
 */
const CORE_ACTIONS: { readonly [K in CoreRejectCode]: PeerAction } = {
  /** The proposer's block claims a parent outcome it did not compute: an honest proposer executes alike. */
  BAD_PARENT_STATE_ROOT: "penalise",
  /** As above, for the parent's result bitmap. */
  BAD_PARENT_RESULTS: "penalise",
  /** Our own gap (the parent's outcome is not computable here yet), not the sender's fault. */
  EXECUTION_UNAVAILABLE: "ignore",
  /** Not penalised so far (the shell's list before this table); validated proposals rarely reach it. */
  BAD_HEIGHT: "ignore",
  /** Not penalised so far, as BAD_HEIGHT. */
  VIEW_NOT_ABOVE_PARENT: "ignore",
  /** A block on a branch pruned by a commit the sender may not have seen yet. */
  BELOW_ROOT: "ignore",
  /** A late or duplicated answer to a sync request. */
  UNEXPECTED_SYNC_RESPONSE: "ignore",
  /** An answer to an older request of ours. */
  SYNC_WRONG_START: "ignore",
  /** Local input (our own proposer), never a peer's. */
  PAYLOAD_NOT_EXPECTED: "ignore",
  /** Local input (our own proposer), never a peer's. */
  PAYLOAD_BAD_PARENT: "ignore",
  /** Not penalised so far: in optimistic mode the collector names the voter, validation did not check it. */
  INVALID_VOTE_SIGNATURE: "ignore",
};

/** Every core rejection code, in table order. */
export const CORE_REJECT_CODES = Object.keys(CORE_ACTIONS) as readonly CoreRejectCode[];

/** What a rejection with `code` (validation's or the core's) costs its sender (see the module comment). */
export function actionOf(code: RejectCode | CoreRejectCode): PeerAction {
  return code in ACTIONS ? ACTIONS[code as RejectCode] : CORE_ACTIONS[code as CoreRejectCode];
}
