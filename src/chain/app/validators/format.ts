/**
 * Validator-set change transactions, version 1 (first byte 0x40; design in README.md beside this file). Integers are
 * big-endian; a tx ends exactly after its last field; the decoder never throws (`{ok: false, code, reason}`).
 *
 *   size  field
 *      1  tag = 0x40
 *      1  op = 0x01 (change)
 *      8  epoch        the epoch whose validator set signs this change (the latest epoch: replay protection)
 *      1  kind         0x01 add, 0x02 remove
 *   add:    48 publicKey (BLS, compressed) ‖ 96 joinSignature ‖ 1 len ‖ len host ‖ 2 port
 *           host: 1..253 ASCII characters of [A-Za-z0-9.-:] (domain/address.ts, the config's rule too)
 *   remove:  4 index       a registry index that is a member of the epoch
 *      2  s ‖ s        signers: the crypto layer's compact bitmap over the epoch's member positions (ascending)
 *     96  signature    aggregate BLS signature of every signer over changeMessage
 *
 *   change        = kind ‖ (add or remove fields above)
 *   changeMessage = "quire-valset-change-v1" ‖ u8 len(chainId) ‖ chainId ‖ u64 epoch ‖ change
 *   joinMessage   = "quire-valset-join-v1" ‖ u8 len(chainId) ‖ chainId ‖ publicKey ‖ u8 len ‖ host ‖ u16 port
 *
 * The join signature is the added key's own signature over joinMessage: a proof of possession in the sense of an
 * Ethereum deposit signature (a domain-separated message signed with the new key), which also binds the address the
 * others will dial. It is checked with the ordinary synchronous `verify`, so execution stays synchronous; the
 * ciphersuite's POP-DST proof (the genesis key files carry one) is only available asynchronously here.
 */
import { isHostName, MAX_HOST_LENGTH } from "../../../domain/address.js";
import { utf8 } from "../../../util/bytes.js";
import { boundMessage } from "../accounts/accountTx.js";

export const VALSET_TX_TAG = 0x40;
export const OP_CHANGE = 0x01;
export const KIND_ADD = 0x01;
export const KIND_REMOVE = 0x02;
export const PUBLIC_KEY_BYTES = 48;
export const BLS_SIGNATURE_BYTES = 96;
/** A signer bitmap over at most 2^16 members is far below this; it bounds the decoder's work on hostile bytes. */
export const MAX_SIGNERS_BYTES = 8192;

const CHANGE_DOMAIN = "quire-valset-change-v1";
const JOIN_DOMAIN = "quire-valset-join-v1";

/** Adds a key that announces the address the others dial. */
export interface AddChange {
  readonly kind: "add";
  readonly publicKey: Uint8Array;
  readonly joinSignature: Uint8Array;
  readonly host: string;
  readonly port: number;
}

export type ValsetChange = AddChange | { readonly kind: "remove"; readonly index: number };

export interface ValsetChangeTx {
  readonly epoch: number;
  readonly change: ValsetChange;
  /** The change's own bytes (kind ‖ fields), what `changeMessage` signs. */
  readonly changeBytes: Uint8Array;
  readonly signers: Uint8Array;
  readonly signature: Uint8Array;
}

export type ValsetFormatCode = "TRUNCATED" | "TRAILING_BYTES" | "BAD_TAG" | "BAD_OP" | "BAD_KIND" | "BAD_EPOCH" | "BAD_HOST" | "BAD_PORT" | "BAD_SIGNERS";
export type ValsetDecode = { readonly ok: true; readonly tx: ValsetChangeTx } | { readonly ok: false; readonly code: ValsetFormatCode; readonly reason: string };

/** kind ‖ fields of a change. */
export function encodeChange(c: ValsetChange): Uint8Array {
  if (c.kind === "remove") {
    const out = new Uint8Array(5);
    out[0] = KIND_REMOVE;
    new DataView(out.buffer).setUint32(1, c.index);
    return out;
  }
  if (!isHostName(c.host)) throw new RangeError(`host must be a host name or IP address of at most ${MAX_HOST_LENGTH} characters`);
  const host = utf8(c.host);
  if (!Number.isInteger(c.port) || c.port < 1 || c.port > 65535) throw new RangeError(`bad port ${c.port}`);
  if (c.publicKey.length !== PUBLIC_KEY_BYTES || c.joinSignature.length !== BLS_SIGNATURE_BYTES) throw new RangeError("publicKey is 48 bytes, joinSignature 96");
  const out = new Uint8Array(1 + PUBLIC_KEY_BYTES + BLS_SIGNATURE_BYTES + 1 + host.length + 2);
  let p = 0;
  out[p++] = KIND_ADD;
  out.set(c.publicKey, p);
  p += PUBLIC_KEY_BYTES;
  out.set(c.joinSignature, p);
  p += BLS_SIGNATURE_BYTES;
  out[p++] = host.length;
  out.set(host, p);
  p += host.length;
  new DataView(out.buffer).setUint16(p, c.port);
  return out;
}

/** What the epoch's signers sign. */
export function changeMessage(chainId: Uint8Array, epoch: number, changeBytes: Uint8Array): Uint8Array {
  const body = new Uint8Array(8 + changeBytes.length);
  new DataView(body.buffer).setBigUint64(0, BigInt(epoch));
  body.set(changeBytes, 8);
  return boundMessage(CHANGE_DOMAIN, chainId, body);
}

/** What an added key signs (its proof of possession, binding its address). */
export function joinMessage(chainId: Uint8Array, publicKey: Uint8Array, host: string, port: number): Uint8Array {
  return boundMessage(JOIN_DOMAIN, chainId, keyAddressBytes(publicKey, host, port));
}

/** publicKey ‖ u8 len ‖ host ‖ u16 port: the joined key and its address (also the module's registry entry). */
export function keyAddressBytes(publicKey: Uint8Array, host: string, port: number): Uint8Array {
  if (!isHostName(host)) throw new RangeError(`host must be a host name or IP address of at most ${MAX_HOST_LENGTH} characters`);
  const h = utf8(host);
  const out = new Uint8Array(PUBLIC_KEY_BYTES + 1 + h.length + 2);
  out.set(publicKey, 0);
  out[PUBLIC_KEY_BYTES] = h.length;
  out.set(h, PUBLIC_KEY_BYTES + 1);
  new DataView(out.buffer).setUint16(PUBLIC_KEY_BYTES + 1 + h.length, port);
  return out;
}

export function encodeChangeTx(epoch: number, changeBytes: Uint8Array, signers: Uint8Array, signature: Uint8Array): Uint8Array {
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new RangeError(`bad epoch ${epoch}`);
  if (signers.length < 1 || signers.length > MAX_SIGNERS_BYTES) throw new RangeError("bad signer bitmap length");
  if (signature.length !== BLS_SIGNATURE_BYTES) throw new RangeError("the signature is 96 bytes");
  const out = new Uint8Array(2 + 8 + changeBytes.length + 2 + signers.length + BLS_SIGNATURE_BYTES);
  const dv = new DataView(out.buffer);
  out[0] = VALSET_TX_TAG;
  out[1] = OP_CHANGE;
  dv.setBigUint64(2, BigInt(epoch));
  out.set(changeBytes, 10);
  let p = 10 + changeBytes.length;
  dv.setUint16(p, signers.length);
  out.set(signers, p + 2);
  p += 2 + signers.length;
  out.set(signature, p);
  return out;
}

export function decodeChangeTx(tx: Uint8Array): ValsetDecode {
  if (tx.length < 11) return bad("TRUNCATED", "shorter than the fixed header");
  if (tx[0] !== VALSET_TX_TAG) return bad("BAD_TAG", "not a validator-set tx");
  if (tx[1] !== OP_CHANGE) return bad("BAD_OP", `unknown op ${tx[1]}`);
  const dv = new DataView(tx.buffer, tx.byteOffset, tx.byteLength);
  const epochBig = dv.getBigUint64(2);
  if (epochBig > BigInt(Number.MAX_SAFE_INTEGER)) return bad("BAD_EPOCH", "epoch above 2^53 - 1");
  const epoch = Number(epochBig);
  const start = 10;
  let p = start;
  let change: ValsetChange;
  const kind = tx[p++];
  if (kind === KIND_REMOVE) {
    if (p + 4 > tx.length) return bad("TRUNCATED", "the bytes end inside the index");
    change = { kind: "remove", index: dv.getUint32(p) };
    p += 4;
  } else if (kind === KIND_ADD) {
    if (p + PUBLIC_KEY_BYTES + BLS_SIGNATURE_BYTES + 1 > tx.length) return bad("TRUNCATED", "the bytes end inside the added key");
    const publicKey = tx.subarray(p, p + PUBLIC_KEY_BYTES);
    p += PUBLIC_KEY_BYTES;
    const joinSignature = tx.subarray(p, p + BLS_SIGNATURE_BYTES);
    p += BLS_SIGNATURE_BYTES;
    const len = tx[p++]!;
    if (len < 1 || len > MAX_HOST_LENGTH) return bad("BAD_HOST", `a host is 1..${MAX_HOST_LENGTH} bytes`);
    if (p + len + 2 > tx.length) return bad("TRUNCATED", "the bytes end inside the address");
    // ASCII only (the config's host rule): one spelling per host, nothing to normalise, nothing a log or dialer misreads.
    const host = String.fromCharCode(...tx.subarray(p, p + len));
    if (!isHostName(host)) return bad("BAD_HOST", "not a host name or IP address");
    p += len;
    const port = dv.getUint16(p);
    p += 2;
    if (port === 0) return bad("BAD_PORT", "port 0");
    change = { kind: "add", publicKey, joinSignature, host, port };
  } else {
    return bad("BAD_KIND", `unknown change kind ${kind}`);
  }
  const changeBytes = tx.subarray(start, p);
  if (p + 2 > tx.length) return bad("TRUNCATED", "the bytes end before the signers");
  const s = dv.getUint16(p);
  p += 2;
  if (s < 1 || s > MAX_SIGNERS_BYTES) return bad("BAD_SIGNERS", `signer bitmap of ${s} bytes`);
  if (p + s + BLS_SIGNATURE_BYTES > tx.length) return bad("TRUNCATED", "the bytes end inside the signers or signature");
  const signers = tx.subarray(p, p + s);
  p += s;
  const signature = tx.subarray(p, p + BLS_SIGNATURE_BYTES);
  p += BLS_SIGNATURE_BYTES;
  if (p !== tx.length) return bad("TRAILING_BYTES", `${tx.length - p} bytes after the signature`);
  return { ok: true, tx: { epoch, change, changeBytes, signers, signature } };
}

function bad(code: ValsetFormatCode, reason: string): ValsetDecode {
  return { ok: false, code, reason };
}
