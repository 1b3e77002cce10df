/**
 * Why validation refused a message. Every code is a protocol rejection: counted, maybe logged, never a crash.
 * Tests assert these exact codes.
 */
export const REJECT_CODES = [
  // origin
  /** A kind the consensus validator does not take (handshake, hello, tx batches, sync requests: other layers). */
  "NOT_CONSENSUS",
  /** A proposer or voter index outside the validator set. */
  "UNKNOWN_VALIDATOR",
  /** The authenticated sender is not the proposer/voter named in the message (no relaying in this protocol). */
  "WRONG_SENDER",
  /** The proposer does not lead the proposal's view. */
  "NOT_LEADER",
  /** A vote for view v sent to a replica that does not lead view v + 1. */
  "NOT_NEXT_LEADER",
  // structure and views
  /** Wrong byte lengths or a zero view/height where none is allowed (the codec already refuses most of these). */
  "MALFORMED",
  /** A vote for a view below current − 1: no QC can come of it any more. */
  "VIEW_TOO_OLD",
  /** A vote or timeout for a view beyond the window ahead of ours (bounds what a peer can make us store). */
  "VIEW_TOO_FAR",
  /** A block timestamp further in the future than the allowed clock skew. */
  "TIMESTAMP_IN_FUTURE",
  /** The block's txRoot is not the RFC 6962 root of its transactions. */
  "BAD_TX_ROOT",
  // justification of a proposal
  /** The proposal's QC does not certify the block's parent. */
  "QC_NOT_FOR_PARENT",
  /** The proposal's QC is not from an earlier view than the block. */
  "QC_VIEW_NOT_BELOW",
  /** The TC is not for the view right before the block's. */
  "TC_VIEW_MISMATCH",
  /** Neither view == qc.view + 1, nor (view == tc.view + 1 and qc.view >= max(tc.highQcViews)). */
  "UNJUSTIFIED",
  /** A timeout whose high QC is not from an earlier view. */
  "HIGH_QC_NOT_BELOW",
  // signatures and certificates
  "BAD_SIGNATURE",
  /** A view-0 QC that is not exactly the genesis certificate. */
  "BAD_GENESIS_QC",
  "QC_BAD_SIGNERS",
  "QC_BELOW_QUORUM",
  "QC_BAD_AGGREGATE",
  "TC_BAD_SIGNERS",
  "TC_BELOW_QUORUM",
  "TC_BAD_AGGREGATE",
  /** highQcViews does not have one entry per signer, or has an entry >= the TC's view. */
  "TC_BAD_HIGH_QC_VIEWS",
  // sync responses
  /** Blocks not at consecutive heights, or not each the parent of the next. */
  "SYNC_NOT_CHAIN",
  /** A block whose QC certifies another block or view. */
  "SYNC_QC_MISMATCH",
  // repetition
  /** The same message again (a network duplicate): dropped without re-verification. */
  "DUPLICATE",
  /** A second, different proposal/vote/timeout from one validator in one view: evidence recorded, never acted on. */
  "EQUIVOCATION",
] as const;

export type RejectCode = (typeof REJECT_CODES)[number];
