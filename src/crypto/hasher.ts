import { QuireError } from "../util/errors.js";

/** Length of a SHA-256 digest in bytes. */
export const DIGEST_LENGTH = 32;

/**
 * The SHA-256 implementations Quire can run; all give identical bytes. `auto` is not a fourth implementation: it
 * sends each call to `wasm` or `node`, whichever is faster for it (hash/auto.ts), and is the default.
 */
export type HashBackend = "wasm" | "node" | "noble" | "auto";
export const HASH_BACKENDS: readonly HashBackend[] = ["wasm", "node", "noble", "auto"];

export type HashErrorCode =
  /** A prefix that is not an integer in 0..255. */
  | "BAD_PREFIX"
  /** Level input whose length is not a multiple of 64. */
  | "BAD_LEVEL_LENGTH"
  /** An output buffer or offset that cannot hold the digests. */
  | "OUTPUT_TOO_SMALL"
  /** A backend name that does not exist. */
  | "UNKNOWN_BACKEND";

/** Bad input to a hasher: raised before any hashing starts. */
export class HashError extends QuireError<HashErrorCode> {}

/**
 * SHA-256, the contract every backend implements. Where a method takes `prefix`, that one byte (0..255) is hashed
 * before each message without copying it — RFC 6962 leaf hashes are `digest(data, 0)`, node hashes
 * `digest(left ‖ right, 1)`.
 */
export interface Hasher {
  readonly backend: HashBackend;
  /** SHA-256 of `prefix? ‖ data` as a new 32-byte array. */
  digest(data: Uint8Array, prefix?: number): Uint8Array;
  /** SHA-256 of `prefix? ‖ data` written to out[offset, offset + 32). */
  digestInto(data: Uint8Array, out: Uint8Array, offset?: number, prefix?: number): void;
  /** SHA-256 of each message (transaction ids, RFC 6962 leaf hashes), packed: digest i at bytes [32i, 32i + 32). */
  digestMany(messages: readonly Uint8Array[], prefix?: number): Uint8Array;
  /**
   * Level hashing: SHA-256 of each consecutive 64-byte chunk of `input` (two child hashes), digest i written to
   * out[32i, 32i + 32). `out` may be `input` itself: digest i lands at or before chunk i, after chunk i is read.
   */
  digestLevel(input: Uint8Array, out: Uint8Array, prefix?: number): void;
}

/**
 * A hasher that computes whole RFC 6962 trees itself in one call (the WASM core). The Merkle API uses these
 * methods when present and its TypeScript implementation over `Hasher` otherwise; the bytes are identical.
 * Arguments are validated by the caller (src/crypto/merkle.ts).
 */
export interface TreeHasher extends Hasher {
  treeRoot(leaves: readonly Uint8Array[]): Uint8Array;
  treeProof(leaves: readonly Uint8Array[], leafIndex: number): { root: Uint8Array; leafHash: Uint8Array; proof: Uint8Array[] };
  /** RFC 9162 §2.1.3.2 verification; returns a TREE_VERIFY_* code. */
  treeVerify(leafHash: Uint8Array, leafIndex: number, treeSize: number, proof: readonly Uint8Array[], root: Uint8Array): number;
}

/** Result codes of `TreeHasher.treeVerify` (the WASM core returns the same numbers). */
export const TREE_VERIFY_OK = 0;
export const TREE_VERIFY_INDEX_OUT_OF_RANGE = 1;
export const TREE_VERIFY_PROOF_TOO_LONG = 2;
export const TREE_VERIFY_PROOF_TOO_SHORT = 3;
export const TREE_VERIFY_ROOT_MISMATCH = 4;

export function isTreeHasher(h: Hasher): h is TreeHasher {
  const t = h as Partial<TreeHasher>;
  return typeof t.treeRoot === "function" && typeof t.treeProof === "function" && typeof t.treeVerify === "function";
}

/** Validates an optional prefix; returns -1 for none. */
export function checkPrefix(prefix: number | undefined): number {
  if (prefix === undefined) return -1;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 255) throw new HashError("BAD_PREFIX", `prefix must be an integer in 0..255, got ${prefix}`);
  return prefix;
}

/** Validates that out[offset, offset + 32) exists. */
export function checkDigestOutput(out: Uint8Array, offset: number): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + DIGEST_LENGTH > out.length) {
    throw new HashError("OUTPUT_TOO_SMALL", `no room for a digest at offset ${offset} of a ${out.length}-byte output`);
  }
}

/** Validates level input and output sizes; returns the number of 64-byte chunks. */
export function checkLevel(input: Uint8Array, out: Uint8Array): number {
  if (input.length % 64 !== 0) throw new HashError("BAD_LEVEL_LENGTH", `level input must be a multiple of 64 bytes, got ${input.length}`);
  const n = input.length / 64;
  if (out.length < n * DIGEST_LENGTH) throw new HashError("OUTPUT_TOO_SMALL", `level output needs ${n * DIGEST_LENGTH} bytes, has ${out.length}`);
  return n;
}
