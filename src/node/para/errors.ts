import { QuireError } from "../../util/errors.js";

/** Why the para node refused a main block or its own configuration. */
export type ParaNodeErrorCode =
  /** A main block given out of order (a gap): the follower feeds them one by one. */
  | "BAD_MAIN_BLOCK"
  /** A main block body that does not match its header (txRoot) or does not decode. */
  | "BAD_MAIN_BODY"
  /** The main chain does not register this para chain's title (its genesis `paras`). */
  | "NOT_REGISTERED"
  /** A configured main node runs another chain than the para genesis's main chain (chain id or genesis block). */
  | "WRONG_MAIN_CHAIN"
  /** A main block's results, as served, differ from what the next block's header certifies (parentResults). */
  | "MAIN_RESULTS_MISMATCH"
  /** Every configured main node failed to answer. */
  | "MAIN_UNAVAILABLE"
  /** A para option out of range (e.g. an empty-block interval below 1). */
  | "BAD_OPTION";

export class ParaNodeError extends QuireError<ParaNodeErrorCode> {}
