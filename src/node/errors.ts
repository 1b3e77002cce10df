import { QuireError } from "../util/errors.js";

/**
 * Why a node refused to start or stopped. Configuration and genesis errors name the offending field (`payload.field`,
 * a dotted path such as `rpc.port` or `validators[2].proofOfPossession`) and the file it came from, so the operator
 * can fix it without reading code.
 */
export type NodeErrorCode =
  /** A node config file that is missing, not JSON, or has a field with a wrong value. */
  | "BAD_CONFIG"
  /** A genesis file that is missing, not JSON, or has a field with a wrong value (including a bad proof of possession). */
  | "BAD_GENESIS"
  /** The key file's public key is not the genesis validator's key at the configured index. */
  | "KEY_NOT_IN_GENESIS"
  /** The stored consensus safety state does not decode: the data directory is damaged. */
  | "CORRUPT_SAFETY_STATE"
  /** An internal invariant broke while running (the node stops rather than limp on with corrupted state). */
  | "FATAL"
  /** A tool that checks certificates against the genesis set (`quire verify`), given a chain whose set changes by epoch. */
  | "EPOCHS_UNSUPPORTED";

export interface NodeErrorPayload {
  /** The config or genesis field at fault, as a dotted path. */
  readonly field?: string;
  /** The file the field came from. */
  readonly file?: string;
}

export class NodeError extends QuireError<NodeErrorCode, NodeErrorPayload> {}
