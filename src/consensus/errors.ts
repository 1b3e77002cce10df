import { QuireError } from "../util/errors.js";

export type ConsensusErrorCode =
  /** A configuration that cannot work (n < 1, self out of range, a bad pacemaker setting, a malformed genesis). */
  | "BAD_CONFIG"
  /** Persisted state that does not fit the configuration (e.g. a high QC below the committed block). */
  | "BAD_PERSISTED_STATE"
  /** An internal invariant broke: the replica must stop rather than limp on with corrupted state. */
  | "INVARIANT";

/** Thrown by the consensus core for configuration errors and broken invariants (never for peer input). */
export class ConsensusError extends QuireError<ConsensusErrorCode> {}
