import { QuireError } from "../../util/errors.js";

/** Why a BLS primitive refused its input. */
export type BlsErrorCode =
  /** Secret key bytes are not 32 bytes or not in [1, r). */
  | "BAD_SECRET_KEY"
  /** Public key bytes: wrong length, bad flags, not on the curve, not in G1, or the identity. */
  | "BAD_PUBLIC_KEY"
  /** Signature bytes: wrong length, bad flags, not on the curve, not in G2 (when validated), or the identity. */
  | "BAD_SIGNATURE"
  /** Key generation input material shorter than 32 bytes. */
  | "BAD_SEED"
  /** An aggregate or multi-verification over zero items. */
  | "EMPTY_INPUT"
  /** Parallel arrays (messages/keys) of different lengths. */
  | "LENGTH_MISMATCH"
  /** A key or signature handle created by another backend. */
  | "WRONG_BACKEND"
  /** A backend name that is not blst, noble or herumi. */
  | "UNKNOWN_BACKEND";

/** Thrown by the BLS backends and helpers on malformed input. Never carries secret material in its message or payload. */
export class BlsError extends QuireError<BlsErrorCode> {}
