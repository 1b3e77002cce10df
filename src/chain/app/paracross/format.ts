/**
 * Paracross formats, version 1: the commit message para nodes sign, and the three main-chain transactions of the
 * paracross module (first bytes 0x20–0x22). Integers are big-endian; every structure ends exactly after its last
 * field. Decoders never throw: malformed bytes give `{ok: false, code, reason}`.
 *
 * Commit message — what each para node signs for one para block (src/node/para/ builds it, the main chain's
 * paracross module counts it):
 *
 *   size  field
 *      1  T        title length, 1..MAX_TITLE_BYTES
 *      T  title    UTF-8
 *      8  height   para height (≥ 1; para block h is made from main block startHeight + h)
 *      8  mainHeight  the main-chain height the block was made from
 *     32  blockHash   the para block's hash
 *     32  stateRoot   the para state root after executing the block
 *      4  R  ‖ R  results     encoded bitmap (crypto/bitmap codec): bit i set = packed para tx i failed
 *      4  C  ‖ C  crossTxs    encoded bitmap: bit i set = packed para tx i is a cross-chain (withdraw) tx
 *
 * Its BLS signature (Ethereum's POP ciphersuite, the para node's key from the para genesis) is over
 * `commitSigningBytes(msg)` = "QUIRE-PARA-COMMIT-V1" ‖ SHA-256(msg): a domain tag of its own, so a para signature is
 * never a valid vote, timeout or handshake signature and vice versa.
 *
 * 0x20 commit tx — a para node submits up to MAX_COMMITS_PER_TX consecutive commits at once (all or nothing):
 *
 *      1  tag = 0x20
 *      1  version = 1
 *      2  signer     the para node's index in the para genesis
 *      8  nonce      any 8 bytes; a resend carries a new one, so it is a new tx id
 *      1  count      1..MAX_COMMITS_PER_TX
 *   count × ( 4 M ‖ M message ‖ 96 signature (compressed G2) )
 *
 * 0x21 para tx — a transaction of a para chain, ordered by the main chain and executed only by the para chain:
 *
 *      1  tag = 0x21
 *      1  T ‖ T title
 *      rest  inner      the para chain's own tx bytes (KV, accounts transfer or withdraw signed for the para chain)
 *
 * 0x22 group — legs that the main chain executes as one (each main leg must succeed, or all of the group's writes
 * are rolled back and its result bit is set); para legs (0x21) are not executed by the main chain, and a para node
 * packs a group's para legs only when the group succeeded on the main chain (Chain33's group rule):
 *
 *      1  tag = 0x22
 *      1  count      2..MAX_GROUP_LEGS
 *   count × ( 4 L ‖ L leg )         a leg is any tx but another group
 */
import type { Hasher } from "../../../crypto/hasher.js";
import { QuireError } from "../../../util/errors.js";
import { utf8 } from "../../../util/bytes.js";
import { MAX_TITLE_BYTES } from "../accounts/accountTx.js";

export const COMMIT_TX_TAG = 0x20;
export const PARA_TX_TAG = 0x21;
export const GROUP_TX_TAG = 0x22;
export const PARACROSS_VERSION = 1;
/** A para node's sending queue holds at most this many commits, sent as one tx (the seed's 20). */
export const MAX_COMMITS_PER_TX = 20;
export const MAX_GROUP_LEGS = 16;
export const COMMIT_SIGNATURE_BYTES = 96;
/** A commit tx before its commits: tag, version, signer, nonce, count. */
export const COMMIT_TX_HEADER_BYTES = 13;
export const COMMIT_DOMAIN = "QUIRE-PARA-COMMIT-V1";
/** A bitmap in a commit message: generous for a para block of MAX_BLOCK_TXS txs. */
const MAX_BITMAP_BYTES = 1 << 20;

export type ParaFormatErrorCode = "TRUNCATED" | "TRAILING_BYTES" | "BAD_TAG" | "BAD_VERSION" | "BAD_TITLE" | "BAD_HEIGHT" | "BAD_COUNT" | "BAD_LENGTH" | "NESTED_GROUP" | "BAD_ARGUMENT";

export class ParaFormatError extends QuireError<ParaFormatErrorCode> {}

type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly code: ParaFormatErrorCode; readonly reason: string };

export interface CommitMessage {
  readonly title: string;
  readonly height: number;
  readonly mainHeight: number;
  readonly blockHash: Uint8Array;
  readonly stateRoot: Uint8Array;
  /** Encoded bitmap: bit i set = packed para tx i failed. */
  readonly results: Uint8Array;
  /** Encoded bitmap: bit i set = packed para tx i is a cross-chain tx. */
  readonly crossTxs: Uint8Array;
}

export interface SignedCommit {
  /** The encoded commit message (what is hashed and signed). */
  readonly message: Uint8Array;
  readonly decoded: CommitMessage;
  /** 96-byte compressed G2 signature. */
  readonly signature: Uint8Array;
}

export interface CommitTx {
  readonly signer: number;
  readonly nonce: Uint8Array;
  readonly commits: readonly SignedCommit[];
}

export interface ParaTx {
  readonly title: string;
  readonly inner: Uint8Array;
}

function titleBytes(title: string): Uint8Array {
  const t = utf8(title);
  if (t.length === 0 || t.length > MAX_TITLE_BYTES) throw new ParaFormatError("BAD_TITLE", `a title is 1..${MAX_TITLE_BYTES} bytes of UTF-8`);
  return t;
}

/** Encodes a commit message. Throws ParaFormatError. */
export function encodeCommitMessage(m: CommitMessage): Uint8Array {
  const t = titleBytes(m.title);
  if (!Number.isSafeInteger(m.height) || m.height < 1) throw new ParaFormatError("BAD_HEIGHT", "para height must be an integer ≥ 1");
  if (!Number.isSafeInteger(m.mainHeight) || m.mainHeight < 0) throw new ParaFormatError("BAD_HEIGHT", "main height must be a non-negative integer");
  if (m.blockHash.length !== 32 || m.stateRoot.length !== 32) throw new ParaFormatError("BAD_ARGUMENT", "block hash and state root are 32 bytes");
  const out = new Uint8Array(1 + t.length + 8 + 8 + 32 + 32 + 4 + m.results.length + 4 + m.crossTxs.length);
  const dv = new DataView(out.buffer);
  let p = 0;
  out[p++] = t.length;
  out.set(t, p);
  p += t.length;
  dv.setBigUint64(p, BigInt(m.height));
  dv.setBigUint64(p + 8, BigInt(m.mainHeight));
  p += 16;
  out.set(m.blockHash, p);
  out.set(m.stateRoot, p + 32);
  p += 64;
  dv.setUint32(p, m.results.length);
  out.set(m.results, p + 4);
  p += 4 + m.results.length;
  dv.setUint32(p, m.crossTxs.length);
  out.set(m.crossTxs, p + 4);
  return out;
}

export function decodeCommitMessage(b: Uint8Array): Decoded<CommitMessage> {
  const r = new Reader(b);
  const title = r.title();
  if (typeof title !== "string") return title;
  const height = r.u64("height");
  const mainHeight = r.u64("main height");
  const blockHash = r.bytes(32, "block hash");
  const stateRoot = r.bytes(32, "state root");
  const results = r.sized("results", MAX_BITMAP_BYTES);
  const crossTxs = r.sized("cross-tx bitmap", MAX_BITMAP_BYTES);
  if (r.error !== null) return r.error;
  if (height! < 1) return bad("BAD_HEIGHT", "para height 0 is the para genesis, never committed");
  const end = r.end();
  if (end !== null) return end;
  return { ok: true, value: { title, height: height!, mainHeight: mainHeight!, blockHash: blockHash!, stateRoot: stateRoot!, results: results!, crossTxs: crossTxs! } };
}

/** What a para node's BLS key signs for `message`: domain ‖ SHA-256(message). */
export function commitSigningBytes(message: Uint8Array, hasher: Hasher): Uint8Array {
  const d = utf8(COMMIT_DOMAIN);
  const out = new Uint8Array(d.length + 32);
  out.set(d, 0);
  out.set(hasher.digest(message), d.length);
  return out;
}

export function encodeCommitTx(tx: { readonly signer: number; readonly nonce: Uint8Array; readonly commits: readonly { readonly message: Uint8Array; readonly signature: Uint8Array }[] }): Uint8Array {
  if (!Number.isInteger(tx.signer) || tx.signer < 0 || tx.signer > 0xffff) throw new ParaFormatError("BAD_ARGUMENT", "signer index is a u16");
  if (tx.nonce.length !== 8) throw new ParaFormatError("BAD_ARGUMENT", "nonce is 8 bytes");
  const n = tx.commits.length;
  if (n < 1 || n > MAX_COMMITS_PER_TX) throw new ParaFormatError("BAD_COUNT", `a commit tx carries 1..${MAX_COMMITS_PER_TX} commits`);
  let size = 13;
  for (const c of tx.commits) {
    if (c.signature.length !== COMMIT_SIGNATURE_BYTES) throw new ParaFormatError("BAD_ARGUMENT", `a commit signature is ${COMMIT_SIGNATURE_BYTES} bytes`);
    size += 4 + c.message.length + COMMIT_SIGNATURE_BYTES;
  }
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out[0] = COMMIT_TX_TAG;
  out[1] = PARACROSS_VERSION;
  dv.setUint16(2, tx.signer);
  out.set(tx.nonce, 4);
  out[12] = n;
  let p = 13;
  for (const c of tx.commits) {
    dv.setUint32(p, c.message.length);
    out.set(c.message, p + 4);
    p += 4 + c.message.length;
    out.set(c.signature, p);
    p += COMMIT_SIGNATURE_BYTES;
  }
  return out;
}

export function decodeCommitTx(b: Uint8Array): Decoded<CommitTx> {
  if (b.length < 1 || b[0] !== COMMIT_TX_TAG) return bad("BAD_TAG", "not a commit tx (first byte 0x20)");
  if (b.length < 13) return bad("TRUNCATED", "the tx ends inside its 13-byte header");
  if (b[1] !== PARACROSS_VERSION) return bad("BAD_VERSION", `unknown paracross version ${b[1]}`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const signer = dv.getUint16(2);
  const nonce = b.subarray(4, 12);
  const count = b[12]!;
  if (count < 1 || count > MAX_COMMITS_PER_TX) return bad("BAD_COUNT", `a commit tx carries 1..${MAX_COMMITS_PER_TX} commits, not ${count}`);
  const r = new Reader(b, 13);
  const commits: SignedCommit[] = [];
  for (let i = 0; i < count; i++) {
    const message = r.sized("commit message", b.length);
    const signature = r.bytes(COMMIT_SIGNATURE_BYTES, "signature");
    if (r.error !== null) return r.error;
    const d = decodeCommitMessage(message!);
    if (!d.ok) return d;
    commits.push({ message: message!, decoded: d.value, signature: signature! });
  }
  const end = r.end();
  if (end !== null) return end;
  return { ok: true, value: { signer, nonce, commits } };
}

export function encodeParaTx(title: string, inner: Uint8Array): Uint8Array {
  const t = titleBytes(title);
  if (inner.length === 0) throw new ParaFormatError("BAD_LENGTH", "a para tx wraps a non-empty tx");
  const out = new Uint8Array(2 + t.length + inner.length);
  out[0] = PARA_TX_TAG;
  out[1] = t.length;
  out.set(t, 2);
  out.set(inner, 2 + t.length);
  return out;
}

export function decodeParaTx(b: Uint8Array): Decoded<ParaTx> {
  if (b.length < 1 || b[0] !== PARA_TX_TAG) return bad("BAD_TAG", "not a para tx (first byte 0x21)");
  const r = new Reader(b, 1);
  const title = r.title();
  if (typeof title !== "string") return title;
  const inner = b.subarray(r.pos);
  if (inner.length === 0) return bad("TRUNCATED", "a para tx without its inner tx");
  return { ok: true, value: { title, inner } };
}

export function encodeGroupTx(legs: readonly Uint8Array[]): Uint8Array {
  if (legs.length < 2 || legs.length > MAX_GROUP_LEGS) throw new ParaFormatError("BAD_COUNT", `a group has 2..${MAX_GROUP_LEGS} legs`);
  let size = 2;
  for (const l of legs) {
    if (l.length === 0) throw new ParaFormatError("BAD_LENGTH", "an empty leg");
    if (l[0] === GROUP_TX_TAG) throw new ParaFormatError("NESTED_GROUP", "a group inside a group");
    size += 4 + l.length;
  }
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out[0] = GROUP_TX_TAG;
  out[1] = legs.length;
  let p = 2;
  for (const l of legs) {
    dv.setUint32(p, l.length);
    out.set(l, p + 4);
    p += 4 + l.length;
  }
  return out;
}

export function decodeGroupTx(b: Uint8Array): Decoded<readonly Uint8Array[]> {
  if (b.length < 1 || b[0] !== GROUP_TX_TAG) return bad("BAD_TAG", "not a group (first byte 0x22)");
  if (b.length < 2) return bad("TRUNCATED", "a group without its count");
  const count = b[1]!;
  if (count < 2 || count > MAX_GROUP_LEGS) return bad("BAD_COUNT", `a group has 2..${MAX_GROUP_LEGS} legs, not ${count}`);
  const r = new Reader(b, 2);
  const legs: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const leg = r.sized("leg", b.length);
    if (r.error !== null) return r.error;
    if (leg!.length === 0) return bad("BAD_LENGTH", `leg ${i} is empty`);
    if (leg![0] === GROUP_TX_TAG) return bad("NESTED_GROUP", `leg ${i} is a group`);
    legs.push(leg!);
  }
  const end = r.end();
  if (end !== null) return end;
  return { ok: true, value: legs };
}

function bad(code: ParaFormatErrorCode, reason: string): { ok: false; code: ParaFormatErrorCode; reason: string } {
  return { ok: false, code, reason };
}

/** A bounds-checked cursor: the first failure sticks in `error`, later reads return undefined. */
class Reader {
  error: { ok: false; code: ParaFormatErrorCode; reason: string } | null = null;
  private readonly dv: DataView;

  constructor(
    private readonly b: Uint8Array,
    public pos = 0,
  ) {
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  title(): string | { ok: false; code: ParaFormatErrorCode; reason: string } {
    if (this.pos >= this.b.length) return bad("TRUNCATED", "the bytes end before the title");
    const t = this.b[this.pos]!;
    if (t === 0 || t > MAX_TITLE_BYTES) return bad("BAD_TITLE", `a title is 1..${MAX_TITLE_BYTES} bytes, not ${t}`);
    if (this.pos + 1 + t > this.b.length) return bad("TRUNCATED", "the bytes end inside the title");
    try {
      const s = new TextDecoder("utf-8", { fatal: true }).decode(this.b.subarray(this.pos + 1, this.pos + 1 + t));
      this.pos += 1 + t;
      return s;
    } catch {
      return bad("BAD_TITLE", "the title is not UTF-8");
    }
  }

  u64(what: string): number | undefined {
    if (this.error !== null) return undefined;
    if (this.pos + 8 > this.b.length) return this.fail("TRUNCATED", `the bytes end inside the ${what}`);
    const v = this.dv.getBigUint64(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) return this.fail("BAD_HEIGHT", `${what} above 2^53 - 1`);
    return Number(v);
  }

  bytes(n: number, what: string): Uint8Array | undefined {
    if (this.error !== null) return undefined;
    if (this.pos + n > this.b.length) return this.fail("TRUNCATED", `the bytes end inside the ${what}`);
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  sized(what: string, max: number): Uint8Array | undefined {
    if (this.error !== null) return undefined;
    if (this.pos + 4 > this.b.length) return this.fail("TRUNCATED", `the bytes end inside the ${what} length`);
    const n = this.dv.getUint32(this.pos);
    this.pos += 4;
    if (n > max) return this.fail("BAD_LENGTH", `${what} of ${n} bytes is over ${max}`);
    return this.bytes(n, what);
  }

  end(): { ok: false; code: ParaFormatErrorCode; reason: string } | null {
    return this.pos === this.b.length ? null : bad("TRAILING_BYTES", `${this.b.length - this.pos} bytes after the end`);
  }

  private fail(code: ParaFormatErrorCode, reason: string): undefined {
    this.error = bad(code, reason);
    return undefined;
  }
}
