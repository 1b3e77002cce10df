/**
 * Bytes of the two handshake messages. This file is the only place that knows their encoding, so switching to the
 * wire codec's `Handshake` table (src/wire) changes nothing else.
 *
 * Interim encoding (little-endian), mirroring the schema's Handshake table field for field:
 *   version:u32 | chainIdLen:u8 chainId | pkLen:u8 publicKey | nonce[32] | hasProof:u8 (0|1)
 *   [ peerNonce[32] | sigLen:u8 signature ]      (when hasProof = 1)
 * Every length is checked; trailing bytes are refused.
 */

/** Nonce size: 256 bits of fresh randomness per connection attempt. */
export const NONCE_BYTES = 32;
export const MAX_CHAIN_ID_BYTES = 64;

/**
 * A handshake message. The first one each side sends is a challenge (no `peerNonce`, no `signature`); the second is
 * the proof, repeating the challenge fields and adding the nonce it received and its signature.
 */
export interface HandshakeMessage {
  version: number;
  chainId: Uint8Array;
  publicKey: Uint8Array;
  nonce: Uint8Array;
  peerNonce?: Uint8Array;
  signature?: Uint8Array;
}

export function encodeHandshake(m: HandshakeMessage): Uint8Array {
  const proof = m.peerNonce !== undefined && m.signature !== undefined;
  if (m.chainId.length < 1 || m.chainId.length > MAX_CHAIN_ID_BYTES) throw new RangeError(`chain id must be 1..${MAX_CHAIN_ID_BYTES} bytes`);
  if (m.publicKey.length < 1 || m.publicKey.length > 255) throw new RangeError("public key must be 1..255 bytes");
  if (m.nonce.length !== NONCE_BYTES || (proof && m.peerNonce!.length !== NONCE_BYTES)) throw new RangeError(`nonces are ${NONCE_BYTES} bytes`);
  if (proof && (m.signature!.length < 1 || m.signature!.length > 255)) throw new RangeError("signature must be 1..255 bytes");
  const size = 4 + 1 + m.chainId.length + 1 + m.publicKey.length + NONCE_BYTES + 1 + (proof ? NONCE_BYTES + 1 + m.signature!.length : 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, m.version >>> 0, true);
  let o = 4;
  out[o++] = m.chainId.length;
  out.set(m.chainId, o);
  o += m.chainId.length;
  out[o++] = m.publicKey.length;
  out.set(m.publicKey, o);
  o += m.publicKey.length;
  out.set(m.nonce, o);
  o += NONCE_BYTES;
  out[o++] = proof ? 1 : 0;
  if (proof) {
    out.set(m.peerNonce!, o);
    o += NONCE_BYTES;
    out[o++] = m.signature!.length;
    out.set(m.signature!, o);
  }
  return out;
}

/** Decodes a handshake message; `undefined` for any malformed input (the caller refuses MALFORMED_HANDSHAKE). */
export function decodeHandshake(b: Uint8Array): HandshakeMessage | undefined {
  let o = 0;
  const take = (n: number): Uint8Array | undefined => {
    if (n < 0 || o + n > b.length) return undefined;
    const v = b.subarray(o, o + n);
    o += n;
    return v;
  };
  const u8 = (): number | undefined => (o < b.length ? b[o++] : undefined);
  if (b.length < 4) return undefined;
  const version = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  o = 4;
  const chainLen = u8();
  if (chainLen === undefined || chainLen < 1 || chainLen > MAX_CHAIN_ID_BYTES) return undefined;
  const chainId = take(chainLen);
  const pkLen = u8();
  if (chainId === undefined || pkLen === undefined || pkLen < 1) return undefined;
  const publicKey = take(pkLen);
  const nonce = take(NONCE_BYTES);
  const hasProof = u8();
  if (publicKey === undefined || nonce === undefined || (hasProof !== 0 && hasProof !== 1)) return undefined;
  if (hasProof === 0) return o === b.length ? { version, chainId, publicKey, nonce } : undefined;
  const peerNonce = take(NONCE_BYTES);
  const sigLen = u8();
  if (peerNonce === undefined || sigLen === undefined || sigLen < 1) return undefined;
  const signature = take(sigLen);
  if (signature === undefined || o !== b.length) return undefined;
  return { version, chainId, publicKey, nonce, peerNonce, signature };
}
