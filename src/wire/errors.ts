import { QuireError } from "../util/errors.js";

/**
 * Why bytes were refused (decode) or a domain object could not be encoded (encode).
 * - `TOO_SHORT`: smaller than the smallest envelope (root offset + file identifier).
 * - `TOO_LARGE`: the message, a transaction or a bitmap exceeds its byte limit.
 * - `BAD_IDENTIFIER`: the file identifier is not "QWR1" (not a Quire message, or another wire version).
 * - `OUT_OF_BOUNDS`: an offset, vtable, field, vector or table reaches outside the buffer or its table.
 * - `BAD_VTABLE`: a vtable whose size is odd or smaller than its header.
 * - `UNKNOWN_MESSAGE`: the envelope's union type is NONE or not one this version knows.
 * - `MISSING_FIELD`: a required table or byte field is absent.
 * - `BAD_LENGTH`: a fixed-size byte field (hash, key, signature, nonce) or the chain id has the wrong length.
 * - `TOO_MANY`: a count exceeds its limit (transactions, blocks, signers).
 * - `OUT_OF_RANGE`: a uint64 above 2^53 - 1, a negative or fractional number, or an inverted height range.
 * - `BAD_TX_LAYOUT`: the packed transaction index is not non-decreasing or does not end at the data length.
 * - `ALIASED`: offsets reuse the same bytes for more objects than the buffer could hold (a decompression-bomb
 *   shape: without this check a 1 MiB message could expand into millions of decoded objects).
 */
export type WireErrorCode =
  | "TOO_SHORT"
  | "TOO_LARGE"
  | "BAD_IDENTIFIER"
  | "OUT_OF_BOUNDS"
  | "BAD_VTABLE"
  | "UNKNOWN_MESSAGE"
  | "MISSING_FIELD"
  | "BAD_LENGTH"
  | "TOO_MANY"
  | "OUT_OF_RANGE"
  | "BAD_TX_LAYOUT"
  | "ALIASED";

/** Where it went wrong: the schema path of the field (e.g. "vote.signature"), and the offending and allowed values. */
export interface WireErrorPayload {
  field: string;
  got?: number;
  limit?: number;
}

/** The only error the codec throws for bad input. Decoding untrusted bytes never throws anything else. */
export class WireError extends QuireError<WireErrorCode, WireErrorPayload> {}
