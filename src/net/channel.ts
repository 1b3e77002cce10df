/**
 * The authenticated channel a link runs after its handshake: every data frame carries a 16-byte tag that only the two
 * validators of the link can compute, bound to the frame's position in its direction of the stream.
 *
 * Construction
 * - Key agreement. Each side of a handshake makes a fresh X25519 key pair (RFC 7748) per connection attempt and puts
 *   the public half in its handshake messages. The BLS signature each side sends covers the transcript
 *     T = len(chainId) ‖ chainId ‖ nonce_D ‖ nonce_L ‖ blsKey_D ‖ blsKey_L ‖ ephemeral_D ‖ ephemeral_L
 *   (handshake.ts), so each side knows that the other ephemeral key was chosen by the validator it authenticated, for
 *   this connection (both fresh nonces are in T).
 * - Key derivation. shared = X25519(own ephemeral secret, peer ephemeral public); then, with HKDF-SHA256 (RFC 5869),
 *     key_D→L = HKDF(ikm = shared, salt = DOMAIN ‖ T, info = DOMAIN ‖ "dialer->listener", 32 bytes)
 *     key_L→D = HKDF(ikm = shared, salt = DOMAIN ‖ T, info = DOMAIN ‖ "listener->dialer", 32 bytes)
 *   One key per direction (distinct `info`), so a frame sent by one side can never be reflected back to it as a frame
 *   of the other direction, and the two directions' counters never share a (key, nonce) pair.
 * - Tag. The frame's tag is the ChaCha20-Poly1305 (RFC 8439) tag with the direction's key, nonce = 0x00000000 ‖
 *   counter as a little-endian u64 (the counter is this direction's frame number, 0 for the first data frame), the
 *   whole frame before the tag as associated data, and an empty plaintext. The counter is implicit: it is never sent,
 *   both sides count. The tag occupies the frame's last TAG_BYTES bytes (framing.ts).
 *
 * Why this holds against a relay (a TCP proxy, a compromised router) between two honest validators:
 * - It cannot compute a tag: the keys come from an X25519 exchange whose public halves are signed by both validators'
 *   BLS keys; to learn them it would need an ephemeral secret (never leaves the process, never logged) or to break
 *   X25519. Replacing an ephemeral key breaks the BLS signature over T, so the handshake fails. The same holds for
 *   anyone who replays a recorded handshake: even past the nonce checks, it could not tag a single frame.
 * - Injected, modified or truncated frames fail the tag (Poly1305 is a one-time MAC keyed per (key, nonce); with an
 *   empty plaintext ChaCha20-Poly1305 is exactly that MAC over the associated data; a forgery succeeds with
 *   probability at most 8⌈ℓ/16⌉ / 2^106 for an ℓ-byte frame, ≈ 2^-89 at 256 KiB, and each attempt costs the relay
 *   the link).
 * - Replayed, reordered or dropped frames: the receiver computes the tag with the counter it expects next. A frame
 *   sent under counter i only verifies as the i-th frame, so a replay (i again), a reordering (i+1 before i) or a drop
 *   (i+1 where i was due) fails the next check. WebSocket runs over TCP, an ordered reliable stream, so honest frames
 *   always arrive in send order and an implicit counter needs no window: the first discrepancy is an attack or a bug.
 * - Frames of one link cannot be moved to another link, or to another chain: every connection has fresh keys.
 * - A counter never repeats under one key: it is a JS integer, and `seal`/`open` throw (an invariant break, not a
 *   protocol refusal) at 2^53 frames, 285 years at a million frames/s, long before any reuse.
 * - Every failure closes the link with BAD_FRAME_TAG (counted by the transport); the dialer redials with back-off and
 *   a new handshake starts with new keys and counters at 0.
 *
 * What is NOT protected
 * - Confidentiality. The frames are authenticated, not encrypted: their content is public consensus data (blocks,
 *   votes, certificates, signed transactions that every validator sees and stores anyway). Encrypting costs 4–8× more
 *   CPU per byte than authenticating (node:crypto, 256 KiB buffers on this machine: ChaCha20-Poly1305 tag over AAD
 *   only ≈ 10 GB/s, AES-256-GCM AAD only ≈ 7 GB/s, encrypting ≈ 1.2–2.5 GB/s), on both ends of every link, and would
 *   put the ≤ 10 % loss target at 64 KiB in `quire bench net` out of reach. Confidentiality, if ever wanted, would move the frame into the plaintext: the
 *   counters, keys and framing stay the same.
 * - WebSocket control frames (ping, pong, close) and the WebSocket framing itself. A relay can forge a close (it could
 *   as well cut TCP) or swallow pings (it could as well delay bytes): both are denial of service, which a relay can
 *   always do. Close codes are read as the peer's stated reason only for statistics.
 * - The handshake frames are not tagged; the BLS signatures over T protect them (handshake.ts).
 * - Traffic analysis: frame sizes and timing are visible.
 * - Availability: a relay can always drop the connection; the link is then refused and redialled.
 *
 * Why ChaCha20-Poly1305 over AES-GCM or HMAC: it was the fastest authenticate-only option measured above, is
 * constant-time without AES hardware, and node:crypto has it. A frame costs one cipher object (createCipheriv) and
 * one 16-byte tag buffer from node:crypto; the nonce buffer is reused per direction. Measured (CPU time, one side):
 * ≈ 3.5–4 µs per frame whatever its size, plus 0.1 ns per byte on a hot buffer (27 µs for a 256 KiB frame, 9.7 GB/s),
 * 0.16–0.28 ns per byte timed in place on a running link (`quire bench net` prints it per row; README). The
 * per-frame part is why the tag goes on whole frames, which coalesce small messages, and not on messages.
 */
import { createCipheriv, createPublicKey, createSecretKey, diffieHellman, generateKeyPairSync, hkdfSync, timingSafeEqual } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { EPHEMERAL_KEY_BYTES } from "../domain/limits.js";
import { concatBytes, utf8 } from "../util/bytes.js";

/** Bytes of the tag at the end of every data frame. */
export const TAG_BYTES = 16;
/** Separates these keys from any other HKDF use of the same shared secret. */
export const CHANNEL_DOMAIN = utf8("QUIRE-LINK-CHANNEL-V1");
export { EPHEMERAL_KEY_BYTES };

const CIPHER = "chacha20-poly1305";
const NONCE_BYTES = 12;
const KEY_BYTES = 32;
const INFO_D2L = concatBytes(CHANNEL_DOMAIN, utf8("dialer->listener"));
const INFO_L2D = concatBytes(CHANNEL_DOMAIN, utf8("listener->dialer"));

/** One side's ephemeral key pair for one connection attempt. The secret half stays a KeyObject (never exported). */
export interface EphemeralKeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: KeyObject;
}

/**
 * A fresh X25519 key pair. Raw keys go in and out as JWK (RFC 8037: `x` is the raw key, base64url): measured here,
 * JWK export/import cost 3 / 16 µs against 94 / 154 µs for DER SPKI (OpenSSL 3's decoders), and the keygen ≈ 80 µs.
 */
export function generateEphemeral(): EphemeralKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync("x25519");
  const x = publicKey.export({ format: "jwk" }).x;
  if (x === undefined) throw new Error("x25519 public key without a JWK x"); // an invariant of node:crypto
  return { publicKey: new Uint8Array(Buffer.from(x, "base64url")), privateKey };
}

/** The two directions' keys of one link, as seen by one side. */
export interface ChannelKeys {
  readonly send: KeyObject;
  readonly receive: KeyObject;
}

/**
 * Derives the link keys from our ephemeral secret, the peer's ephemeral public key and the handshake transcript T.
 * Returns undefined when the exchange fails (a peer key of small order gives an all-zero secret, which OpenSSL
 * refuses): the handshake then refuses the peer. `weAreDialer` picks which key sends.
 */
export function deriveChannelKeys(own: KeyObject, peerPublic: Uint8Array, transcript: Uint8Array, weAreDialer: boolean): ChannelKeys | undefined {
  if (peerPublic.length !== EPHEMERAL_KEY_BYTES) return undefined;
  let shared: Buffer;
  try {
    const peer = createPublicKey({ key: { kty: "OKP", crv: "X25519", x: Buffer.from(peerPublic).toString("base64url") }, format: "jwk" });
    shared = diffieHellman({ privateKey: own, publicKey: peer });
  } catch {
    return undefined;
  }
  if (shared.every((b) => b === 0)) return undefined; // belt and braces: never key a channel from a known secret
  const salt = concatBytes(CHANNEL_DOMAIN, transcript);
  const d2l = createSecretKey(new Uint8Array(hkdfSync("sha256", shared, salt, INFO_D2L, KEY_BYTES)));
  const l2d = createSecretKey(new Uint8Array(hkdfSync("sha256", shared, salt, INFO_L2D, KEY_BYTES)));
  shared.fill(0);
  return weAreDialer ? { send: d2l, receive: l2d } : { send: l2d, receive: d2l };
}

/** What a link needs from one direction of a channel (FrameAuthenticator; a benchmark baseline may stub it). */
export interface FrameAuth {
  /** Writes the tag into the last TAG_BYTES bytes of `frame`. */
  seal(frame: Uint8Array): void;
  /** Whether the last TAG_BYTES bytes of `frame` are the tag of the next frame. */
  open(frame: Uint8Array): boolean;
}

/** Makes one direction of a channel from its key. */
export type FrameAuthFactory = (key: KeyObject) => FrameAuth;

/** The real thing; what every link uses unless a benchmark injects its channel-off baseline. */
export const authenticateFrames: FrameAuthFactory = (key) => new FrameAuthenticator(key);

/**
 * One direction of a channel: a key and its frame counter. `seal` (sending side) writes the tag of the next frame;
 * `open` (receiving side) checks it. Each frame advances the counter by one, whether it verified or not: after a
 * failure the link is closed, so there is no resynchronisation.
 */
export class FrameAuthenticator implements FrameAuth {
  private counter = 0;
  private readonly nonce = Buffer.alloc(NONCE_BYTES);

  constructor(private readonly key: KeyObject) {}

  /** Frames processed so far in this direction. */
  get frames(): number {
    return this.counter;
  }

  /** Writes the tag into the last TAG_BYTES bytes of `frame`, computed over the bytes before them. */
  seal(frame: Uint8Array): void {
    if (frame.length < TAG_BYTES) throw new RangeError("frame has no room for its tag");
    const body = frame.length - TAG_BYTES;
    frame.set(this.nextTag(frame.subarray(0, body)), body);
  }

  /** Whether the last TAG_BYTES bytes of `frame` are the tag of the next frame of this direction. */
  open(frame: Uint8Array): boolean {
    if (frame.length < TAG_BYTES) return false;
    const body = frame.length - TAG_BYTES;
    return timingSafeEqual(this.nextTag(frame.subarray(0, body)), frame.subarray(body));
  }

  private nextTag(aad: Uint8Array): Buffer {
    const n = this.counter;
    if (n >= Number.MAX_SAFE_INTEGER) throw new RangeError("channel counter exhausted");
    this.counter = n + 1;
    return channelTag(this.key, n, aad, this.nonce);
  }
}

/**
 * The tag of the frame `aad` sent as frame number `counter` under `key`. `nonceScratch` (12 bytes) is overwritten.
 * Exported for the tests' independent recomputation.
 */
export function channelTag(key: KeyObject, counter: number, aad: Uint8Array, nonceScratch: Buffer = Buffer.alloc(NONCE_BYTES)): Buffer {
  nonceScratch.writeUInt32LE(0, 0);
  nonceScratch.writeUInt32LE(counter % 0x1_0000_0000, 4);
  nonceScratch.writeUInt32LE(Math.floor(counter / 0x1_0000_0000), 8);
  const c = createCipheriv(CIPHER, key, nonceScratch, { authTagLength: TAG_BYTES });
  c.setAAD(aad, { plaintextLength: 0 });
  c.final();
  return c.getAuthTag();
}
