/**
 * The accounts module's transaction format, version 1 (first byte 0x10). Accounts are Ed25519 public keys (32 bytes,
 * RFC 8032); amounts are integers in [1, 2^53 − 1]. Integers are big-endian; the tx ends exactly after its signature.
 *
 *   offset  size  field
 *        0     1  tag      = 0x10
 *        1     1  op       0x01 transfer | 0x02 deposit (main → para) | 0x03 withdraw (para → main) | 0x04 mint
 *        2    32  from     the sender's public key (mint: the credited account)
 *       34     8  nonce    the sender's next nonce: its number of successful signed txs so far (mint: 0)
 *       42     8  amount   1 .. 2^53 − 1
 *       50    32  to       transfer: the recipient on this chain; deposit: the recipient on the para chain;
 *                          withdraw: the recipient on the main chain; mint: 32 zero bytes
 *       82     1  T        title length: 1..MAX_TITLE_BYTES for deposit and withdraw, 0 otherwise
 *       83     T  title    the para chain (UTF-8)
 *   83 + T    64  sig      Ed25519 signature of signingMessage(chainId, tx without sig) — absent for mint
 *
 * signingMessage = "quire-account-tx-v1" ‖ u8 len(chainId) ‖ chainId ‖ tx[0 .. 83 + T): the chain id binds a
 * signature to one chain (a deposit is signed for the main chain, a para transfer or withdraw for the para chain), the
 * nonce to one use. Mint is unsigned and valid only in a genesis block (height 0): genesis allocations.
 *
 * Example (transfer of 5 with nonce 0): 10 01 <from 32> 0000000000000000 0000000000000005 <to 32> 00 <sig 64>
 */
import { MAX_UINT53 } from "../../../domain/limits.js";
import { QuireError } from "../../../util/errors.js";
import { utf8 } from "../../../util/bytes.js";

export const ACCOUNT_TX_TAG = 0x10;
export const ACCOUNT_OP = { transfer: 0x01, deposit: 0x02, withdraw: 0x03, mint: 0x04 } as const;
export type AccountOpName = keyof typeof ACCOUNT_OP;
export const PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;
/** Longest para-chain title, in UTF-8 bytes. */
export const MAX_TITLE_BYTES = 32;
export const ACCOUNT_TX_DOMAIN = "quire-account-tx-v1";
const FIXED = 83;

export type AccountTxErrorCode = "TRUNCATED" | "TRAILING_BYTES" | "BAD_TAG" | "BAD_OP" | "BAD_AMOUNT" | "BAD_TITLE" | "BAD_NONCE" | "BAD_ARGUMENT";

/** Thrown by the encoder for input it cannot encode; the decoder returns the same codes as values. */
export class AccountTxError extends QuireError<AccountTxErrorCode> {}

/** A decoded account tx. Byte fields are views into the tx. */
export interface AccountTx {
  readonly op: AccountOpName;
  readonly from: Uint8Array;
  readonly nonce: number;
  readonly amount: number;
  readonly to: Uint8Array;
  /** The para chain's title (deposit, withdraw), else "". */
  readonly title: string;
  /** The 64-byte signature; empty for mint. */
  readonly signature: Uint8Array;
  /** The bytes the signature covers, after the chain-bound prefix (tx without its signature). */
  readonly body: Uint8Array;
}

export type AccountTxDecode = { readonly ok: true; readonly tx: AccountTx } | { readonly ok: false; readonly code: AccountTxErrorCode; readonly reason: string };

export interface AccountTxInput {
  readonly op: AccountOpName;
  readonly from: Uint8Array;
  readonly nonce: number;
  readonly amount: number;
  readonly to?: Uint8Array;
  readonly title?: string;
}

/** The unsigned body of an account tx (everything before the signature). Throws AccountTxError. */
export function encodeAccountTxBody(input: AccountTxInput): Uint8Array {
  const { op, from, nonce, amount } = input;
  if (!(op in ACCOUNT_OP)) throw new AccountTxError("BAD_OP", `unknown op ${String(op)}`);
  if (from.length !== PUBLIC_KEY_BYTES) throw new AccountTxError("BAD_ARGUMENT", `from must be ${PUBLIC_KEY_BYTES} bytes`);
  const to = input.to ?? new Uint8Array(PUBLIC_KEY_BYTES);
  if (to.length !== PUBLIC_KEY_BYTES) throw new AccountTxError("BAD_ARGUMENT", `to must be ${PUBLIC_KEY_BYTES} bytes`);
  if (!Number.isSafeInteger(nonce) || nonce < 0) throw new AccountTxError("BAD_NONCE", `nonce must be an integer in [0, 2^53)`);
  if (!Number.isSafeInteger(amount) || amount < 1) throw new AccountTxError("BAD_AMOUNT", `amount must be an integer in [1, 2^53)`);
  const titled = op === "deposit" || op === "withdraw";
  const title = titled ? utf8(input.title ?? "") : new Uint8Array(0);
  if (titled && (title.length === 0 || title.length > MAX_TITLE_BYTES)) throw new AccountTxError("BAD_TITLE", `a ${op} names a title of 1..${MAX_TITLE_BYTES} bytes`);
  if (!titled && input.title !== undefined && input.title !== "") throw new AccountTxError("BAD_TITLE", `a ${op} carries no title`);
  const out = new Uint8Array(FIXED + title.length);
  const dv = new DataView(out.buffer);
  out[0] = ACCOUNT_TX_TAG;
  out[1] = ACCOUNT_OP[op];
  out.set(from, 2);
  dv.setBigUint64(34, BigInt(nonce));
  dv.setBigUint64(42, BigInt(amount));
  out.set(to, 50);
  out[82] = title.length;
  out.set(title, FIXED);
  return out;
}

/** The bytes an Ed25519 signature covers: the domain, the chain id and the body. */
export function signingMessage(chainId: Uint8Array, body: Uint8Array): Uint8Array {
  return boundMessage(ACCOUNT_TX_DOMAIN, chainId, body);
}

/** domain ‖ u8 len(id) ‖ id ‖ body: a signed body bound to one chain (or network) id, under its own domain. */
export function boundMessage(domainName: string, id: Uint8Array, body: Uint8Array): Uint8Array {
  const domain = utf8(domainName);
  if (id.length > 255) throw new AccountTxError("BAD_ARGUMENT", "id longer than 255 bytes");
  const out = new Uint8Array(domain.length + 1 + id.length + body.length);
  out.set(domain, 0);
  out[domain.length] = id.length;
  out.set(id, domain.length + 1);
  out.set(body, domain.length + 1 + id.length);
  return out;
}

/** Body ‖ signature. */
export function attachSignature(body: Uint8Array, signature: Uint8Array): Uint8Array {
  if (signature.length !== ED25519_SIGNATURE_BYTES) throw new AccountTxError("BAD_ARGUMENT", `signature must be ${ED25519_SIGNATURE_BYTES} bytes`);
  const out = new Uint8Array(body.length + signature.length);
  out.set(body, 0);
  out.set(signature, body.length);
  return out;
}

/** Decodes an account tx. Never throws. */
export function decodeAccountTx(tx: Uint8Array): AccountTxDecode {
  const n = tx.length;
  if (n < 1 || tx[0] !== ACCOUNT_TX_TAG) return bad("BAD_TAG", "not an account tx (first byte 0x10)");
  if (n < FIXED) return bad("TRUNCATED", `the tx ends inside its ${FIXED}-byte header`);
  const opByte = tx[1]!;
  const op = (Object.keys(ACCOUNT_OP) as AccountOpName[]).find((k) => ACCOUNT_OP[k] === opByte);
  if (op === undefined) return bad("BAD_OP", `unknown op 0x${opByte.toString(16).padStart(2, "0")}`);
  const dv = new DataView(tx.buffer, tx.byteOffset, tx.byteLength);
  const nonce = dv.getBigUint64(34);
  const amount = dv.getBigUint64(42);
  if (nonce > BigInt(MAX_UINT53)) return bad("BAD_NONCE", "nonce above 2^53 - 1");
  if (amount < 1n || amount > BigInt(MAX_UINT53)) return bad("BAD_AMOUNT", "amount outside 1 .. 2^53 - 1");
  const t = tx[82]!;
  const titled = op === "deposit" || op === "withdraw";
  if (titled ? t === 0 || t > MAX_TITLE_BYTES : t !== 0) return bad("BAD_TITLE", titled ? `a ${op} names a title of 1..${MAX_TITLE_BYTES} bytes` : `a ${op} carries no title`);
  if (n < FIXED + t) return bad("TRUNCATED", "the tx ends inside its title");
  let title = "";
  if (t > 0) {
    try {
      title = new TextDecoder("utf-8", { fatal: true }).decode(tx.subarray(FIXED, FIXED + t));
    } catch {
      return bad("BAD_TITLE", "the title is not UTF-8");
    }
  }
  const sigLen = op === "mint" ? 0 : ED25519_SIGNATURE_BYTES;
  if (n < FIXED + t + sigLen) return bad("TRUNCATED", "the tx ends inside its signature");
  if (n > FIXED + t + sigLen) return bad("TRAILING_BYTES", `${n - FIXED - t - sigLen} bytes after the end of the ${op} tx`);
  if (op === "mint" && nonce !== 0n) return bad("BAD_NONCE", "a mint has nonce 0");
  return {
    ok: true,
    tx: {
      op,
      from: tx.subarray(2, 34),
      nonce: Number(nonce),
      amount: Number(amount),
      to: tx.subarray(50, 82),
      title,
      signature: tx.subarray(FIXED + t, n),
      body: tx.subarray(0, FIXED + t),
    },
  };
}

function bad(code: AccountTxErrorCode, reason: string): AccountTxDecode {
  return { ok: false, code, reason };
}
