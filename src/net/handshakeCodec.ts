/**
 * Bytes of the two handshake messages: the wire codec's `Handshake` envelope (src/wire/quire.fbs). This file is the
 * only place in the link layer that knows that, so the handshake logic (handshake.ts) never touches FlatBuffers.
 */
import { decodeMessage, encodeMessage } from "../wire/codec.js";
import { WireError } from "../wire/errors.js";
import { MAX_CHAIN_ID_BYTES as WIRE_MAX_CHAIN_ID_BYTES, NONCE_BYTES as WIRE_NONCE_BYTES } from "../domain/limits.js";

/** Nonce size: 256 bits of fresh randomness per connection attempt. */
export const NONCE_BYTES = WIRE_NONCE_BYTES;
export const MAX_CHAIN_ID_BYTES = WIRE_MAX_CHAIN_ID_BYTES;

/**
 * A handshake message: a challenge (no `peerNonce`, no `signature`; only the listener sends one) or a proof, carrying
 * the sender's identity fields, the nonce it received and its signature (handshake.ts).
 */
export interface HandshakeMessage {
  version: number;
  chainId: Uint8Array;
  publicKey: Uint8Array;
  nonce: Uint8Array;
  /** The sender's X25519 ephemeral public key (channel.ts). Optional in the schema, required on a link. */
  ephemeralKey: Uint8Array;
  peerNonce?: Uint8Array;
  signature?: Uint8Array;
}

/** Encodes a handshake envelope. Throws `WireError` on fields the schema does not allow (wrong key size…). */
export function encodeHandshake(m: HandshakeMessage): Uint8Array {
  return encodeMessage({
    kind: "handshake",
    body: {
      version: m.version,
      chainId: m.chainId,
      publicKey: m.publicKey,
      nonce: m.nonce,
      peerNonce: m.peerNonce ?? null,
      signature: m.signature ?? null,
      ephemeralKey: m.ephemeralKey,
    },
  });
}

/**
 * Decodes a handshake envelope; `undefined` for anything else — malformed bytes, another message kind, a message
 * without an ephemeral key (an older peer), or a proof carrying only one of peerNonce and signature (the caller
 * refuses MALFORMED_HANDSHAKE). Byte fields are views.
 */
export function decodeHandshake(b: Uint8Array): HandshakeMessage | undefined {
  let msg;
  try {
    msg = decodeMessage(b);
  } catch (e) {
    if (e instanceof WireError) return undefined;
    throw e;
  }
  if (msg.kind !== "handshake") return undefined;
  const h = msg.body;
  if ((h.peerNonce === null) !== (h.signature === null) || h.ephemeralKey === null) return undefined;
  const out: HandshakeMessage = { version: h.version, chainId: h.chainId, publicKey: h.publicKey, nonce: h.nonce, ephemeralKey: h.ephemeralKey };
  if (h.peerNonce !== null && h.signature !== null) {
    out.peerNonce = h.peerNonce;
    out.signature = h.signature;
  }
  return out;
}
