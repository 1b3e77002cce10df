/**
 * The key-value application's transaction format, version 1. Integers are big-endian; every field has a fixed
 * position or an explicit length, and the tx must end exactly after its last field.
 *
 *   offset  size  field
 *        0     1  version  = 0x01
 *        1     1  op       0x01 put | 0x02 delete | 0x03 cas (compare-and-set)
 *        2     8  nonce    any 8 bytes chosen by the client; tx id = SHA-256(tx), so a new nonce makes a repeated
 *                          put a new tx (the chain commits a given tx id successfully at most once)
 *       10     2  K        key length, 1..MAX_KEY_BYTES
 *       12     K  key
 *   then, by op:
 *     put     4  V  value length; V value                  sets key = value (always succeeds)
 *     delete  —                                             removes key; fails with NOT_FOUND when it is absent
 *     cas     4  E  expected length; E expected;            sets key = value if its current value equals expected;
 *             4  V  value length; V value                   fails with NOT_FOUND (absent) or CAS_MISMATCH
 *
 * Values may be empty. The whole tx is at most MAX_TX_BYTES (64 KiB). Example, put "k" = "v" with nonce 0:
 *   01 01 0000000000000000 0001 6b 00000001 76
 */
import { QuireError } from "../../util/errors.js";
import { MAX_TX_BYTES } from "../../domain/limits.js";

export const KV_TX_VERSION = 1;
/** Longest key. Keys address state, values carry data: 1 KiB leaves room for structured names. */
export const MAX_KEY_BYTES = 1024;
export const KV_NONCE_BYTES = 8;

export const KV_OP = { put: 0x01, delete: 0x02, cas: 0x03 } as const;
export type KvOpName = keyof typeof KV_OP;

/** A decoded KV transaction. Byte fields are views into the tx bytes. */
export type KvTx =
  | { readonly op: "put"; readonly nonce: Uint8Array; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly op: "delete"; readonly nonce: Uint8Array; readonly key: Uint8Array }
  | { readonly op: "cas"; readonly nonce: Uint8Array; readonly key: Uint8Array; readonly expected: Uint8Array; readonly value: Uint8Array };

/** Why bytes are not a KV transaction (check() answers with these codes; the RPC turns them into 400s). */
export type KvTxErrorCode =
  /** Zero bytes. */
  | "EMPTY"
  /** More than MAX_TX_BYTES. */
  | "TOO_LARGE"
  /** A version byte other than KV_TX_VERSION. */
  | "BAD_VERSION"
  /** An op byte that names no operation. */
  | "BAD_OP"
  /** The bytes end inside a field. */
  | "TRUNCATED"
  /** A key of length 0 or above MAX_KEY_BYTES. */
  | "BAD_KEY_LENGTH"
  /** Bytes after the last field. */
  | "TRAILING_BYTES"
  /** Encoder input that cannot be encoded (a nonce that is not 8 bytes, a field too long). */
  | "BAD_ARGUMENT";

/** Thrown by `encodeKvTx` for input it cannot encode; `decodeKvTx` returns the same codes as values. */
export class KvTxError extends QuireError<KvTxErrorCode> {}

export type KvDecodeResult = { readonly ok: true; readonly tx: KvTx } | { readonly ok: false; readonly code: KvTxErrorCode; readonly reason: string };

const HEADER_BYTES = 12;

/** Input of `encodeKvTx`. */
export type KvTxInput =
  | { readonly op: "put"; readonly nonce: Uint8Array; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly op: "delete"; readonly nonce: Uint8Array; readonly key: Uint8Array }
  | { readonly op: "cas"; readonly nonce: Uint8Array; readonly key: Uint8Array; readonly expected: Uint8Array; readonly value: Uint8Array };

/** Encodes a KV transaction (what `quire tx put KEY VALUE` sends). Throws KvTxError for input it cannot encode. */
export function encodeKvTx(input: KvTxInput): Uint8Array {
  const { op, nonce, key } = input;
  if (!(nonce instanceof Uint8Array) || nonce.length !== KV_NONCE_BYTES) throw new KvTxError("BAD_ARGUMENT", `nonce must be ${KV_NONCE_BYTES} bytes`);
  if (!(key instanceof Uint8Array) || key.length === 0 || key.length > MAX_KEY_BYTES) {
    throw new KvTxError("BAD_KEY_LENGTH", `key must be 1..${MAX_KEY_BYTES} bytes, got ${key instanceof Uint8Array ? key.length : typeof key}`);
  }
  let size = HEADER_BYTES + key.length;
  if (op === "put") size += 4 + input.value.length;
  else if (op === "cas") size += 8 + input.expected.length + input.value.length;
  else if (op !== "delete") throw new KvTxError("BAD_ARGUMENT", `unknown op ${String(op)}`);
  if (size > MAX_TX_BYTES) throw new KvTxError("TOO_LARGE", `the tx would be ${size} bytes, more than ${MAX_TX_BYTES}`);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out[0] = KV_TX_VERSION;
  out[1] = KV_OP[op];
  out.set(nonce, 2);
  dv.setUint16(10, key.length);
  out.set(key, HEADER_BYTES);
  let pos = HEADER_BYTES + key.length;
  const sized = (b: Uint8Array): void => {
    dv.setUint32(pos, b.length);
    out.set(b, pos + 4);
    pos += 4 + b.length;
  };
  if (op === "put") sized(input.value);
  else if (op === "cas") {
    sized(input.expected);
    sized(input.value);
  }
  return out;
}

/** Decodes a KV transaction. Never throws: malformed bytes give `{ok: false, code, reason}`. */
export function decodeKvTx(tx: Uint8Array): KvDecodeResult {
  const n = tx.length;
  if (n === 0) return bad("EMPTY", "the tx is empty");
  if (n > MAX_TX_BYTES) return bad("TOO_LARGE", `the tx is ${n} bytes, more than ${MAX_TX_BYTES}`);
  if (tx[0] !== KV_TX_VERSION) return bad("BAD_VERSION", `unknown tx version ${tx[0]} (expected ${KV_TX_VERSION})`);
  if (n < 2) return bad("TRUNCATED", "the tx ends before its op byte");
  const opByte = tx[1]!;
  const op = opByte === KV_OP.put ? "put" : opByte === KV_OP.delete ? "delete" : opByte === KV_OP.cas ? "cas" : null;
  if (op === null) return bad("BAD_OP", `unknown op 0x${opByte.toString(16).padStart(2, "0")}`);
  if (n < HEADER_BYTES) return bad("TRUNCATED", `the tx ends inside its ${HEADER_BYTES}-byte header`);
  const dv = new DataView(tx.buffer, tx.byteOffset, tx.byteLength);
  const nonce = tx.subarray(2, 10);
  const keyLen = dv.getUint16(10);
  if (keyLen === 0 || keyLen > MAX_KEY_BYTES) return bad("BAD_KEY_LENGTH", `key length ${keyLen} is outside 1..${MAX_KEY_BYTES}`);
  let pos = HEADER_BYTES;
  if (pos + keyLen > n) return bad("TRUNCATED", `the tx ends inside its ${keyLen}-byte key`);
  const key = tx.subarray(pos, pos + keyLen);
  pos += keyLen;
  const sized = (what: string): Uint8Array | string => {
    if (pos + 4 > n) return `the tx ends inside the ${what} length`;
    const len = dv.getUint32(pos);
    pos += 4;
    if (len > n - pos) return `the tx ends inside its ${len}-byte ${what}`;
    const v = tx.subarray(pos, pos + len);
    pos += len;
    return v;
  };
  let decoded: KvTx;
  if (op === "put") {
    const value = sized("value");
    if (typeof value === "string") return bad("TRUNCATED", value);
    decoded = { op, nonce, key, value };
  } else if (op === "delete") {
    decoded = { op, nonce, key };
  } else {
    const expected = sized("expected value");
    if (typeof expected === "string") return bad("TRUNCATED", expected);
    const value = sized("value");
    if (typeof value === "string") return bad("TRUNCATED", value);
    decoded = { op, nonce, key, expected, value };
  }
  if (pos !== n) return bad("TRAILING_BYTES", `${n - pos} bytes after the end of the ${op} tx`);
  return { ok: true, tx: decoded };
}

function bad(code: KvTxErrorCode, reason: string): KvDecodeResult {
  return { ok: false, code, reason };
}
