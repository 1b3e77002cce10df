/**
 * Link authentication: each side proves it holds its validator's BLS key before any other frame is accepted.
 *
 *   dialer                                   listener
 *     challenge {version, chainId, pkD, nD}  →
 *                                            ←  challenge {version, chainId, pkL, nL}
 *     proof {…, peerNonce nL, sig_D}         →
 *                                            ←  proof {…, peerNonce nD, sig_L}
 *
 * (both challenges are sent at once; the order above is only one interleaving). Each side signs
 *
 *   DOMAIN ‖ len(chainId) ‖ chainId ‖ role ‖ nD ‖ nL ‖ pkD ‖ pkL
 *
 * with the nonces ordered by role (dialer first) and its own role byte. Because both fresh nonces are inside, an old
 * proof never verifies again (replay), and because both keys and the role are inside, a relay between two honest
 * validators cannot splice one link's proof into another link, nor reflect a proof back to its signer.
 * Refusals: wrong version or chain id, a key that is not a validator (or is our own), a peer that should not dial us,
 * a nonce seen before (replay or reflection), a proof whose peerNonce is not our nonce, a bad signature; the link
 * owner adds HANDSHAKE_TIMEOUT. Each is counted by the transport.
 */
import { bytesEqual, toHex, utf8 } from "../util/bytes.js";
import { PROTOCOL_VERSION } from "../domain/types.js";
import { decodeHandshake, encodeHandshake, MAX_CHAIN_ID_BYTES, NONCE_BYTES } from "./handshakeCodec.js";
import type { HandshakeMessage } from "./handshakeCodec.js";
import type { PeerId, RefusalCode } from "./transport.js";

/** Protocol version carried in the handshake (the wire schema's); a peer with another version is refused. */
export const LINK_VERSION = PROTOCOL_VERSION;
/** Domain separation tag: a handshake signature can never be mistaken for a vote or any other signed Quire message. */
export const HANDSHAKE_DOMAIN = utf8("QUIRE-LINK-HANDSHAKE-V1");

/** This node's validator key, as the link layer sees it (the BLS module implements it; tests inject blst directly). */
export interface LinkIdentity {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

/** Checks `signature` by `publicKey` over `message`. Must return false (not throw) for malformed keys/signatures. */
export type VerifyFn = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean | Promise<boolean>;

export type Role = "dialer" | "listener";

/** Who may connect: the validator set and the direction rule. Shared by every session of one transport. */
export interface HandshakeContext {
  self: PeerId;
  chainId: Uint8Array;
  identity: LinkIdentity;
  verify: VerifyFn;
  /** Validator index of a public key, or undefined when it is not a validator. */
  indexOf(publicKey: Uint8Array): PeerId | undefined;
  /** Whether `peer` is the side that dials us (one connection per pair, chosen deterministically). */
  dialsUs(peer: PeerId): boolean;
  nonces: NonceCache;
  randomBytes(n: number): Uint8Array;
}

/** The bytes a side signs. `signer` is the role of the side signing. */
export function handshakeSigningMessage(
  chainId: Uint8Array,
  signer: Role,
  dialerNonce: Uint8Array,
  listenerNonce: Uint8Array,
  dialerKey: Uint8Array,
  listenerKey: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(HANDSHAKE_DOMAIN.length + 1 + chainId.length + 1 + 2 * NONCE_BYTES + dialerKey.length + listenerKey.length);
  let o = 0;
  const put = (b: Uint8Array): void => {
    out.set(b, o);
    o += b.length;
  };
  put(HANDSHAKE_DOMAIN);
  out[o++] = chainId.length;
  put(chainId);
  out[o++] = signer === "dialer" ? 0x44 /* D */ : 0x4c /* L */;
  put(dialerNonce);
  put(listenerNonce);
  put(dialerKey);
  put(listenerKey);
  return out;
}

/**
 * Remembers recently seen nonces (ours and peers'), bounded, oldest forgotten first. A nonce seen twice means a replayed
 * challenge or our own challenge reflected back. 256-bit random nonces never collide by chance.
 */
export class NonceCache {
  private readonly seen = new Set<string>();

  constructor(private readonly capacity = 4096) {}

  /** Records `nonce`; returns false if it was already known. */
  add(nonce: Uint8Array): boolean {
    const k = toHex(nonce);
    if (this.seen.has(k)) return false;
    this.seen.add(k);
    if (this.seen.size > this.capacity) this.seen.delete(this.seen.values().next().value!);
    return true;
  }
}

/** What the session wants its link to do next. */
export type HandshakeStep =
  | { kind: "send"; bytes: Uint8Array }
  | { kind: "done"; peer: PeerId }
  | { kind: "refuse"; code: RefusalCode }
  | { kind: "wait" };

/**
 * One side of one handshake, independent of sockets. `start()` yields the challenge to send; each received handshake
 * body goes to `receive()`, which resolves to the steps to take in order (send the proof; done; or refuse).
 */
export class HandshakeSession {
  private readonly nonce: Uint8Array;
  private state: "new" | "challenged" | "proved" | "done" | "failed" = "new";
  private peerChallenge: HandshakeMessage | undefined;
  private peerIndex: PeerId | undefined;

  /** `expected`: for a dialer, the validator we dialed (the key on the other end must be that one's). */
  constructor(
    private readonly ctx: HandshakeContext,
    readonly role: Role,
    private readonly expected?: PeerId,
  ) {
    this.nonce = ctx.randomBytes(NONCE_BYTES);
    ctx.nonces.add(this.nonce);
  }

  /** The peer's index once its challenge was accepted. */
  get peer(): PeerId | undefined {
    return this.peerIndex;
  }

  start(): Uint8Array {
    if (this.ctx.chainId.length < 1 || this.ctx.chainId.length > MAX_CHAIN_ID_BYTES) throw new RangeError("bad chain id length");
    return encodeHandshake({ version: LINK_VERSION, chainId: this.ctx.chainId, publicKey: this.ctx.identity.publicKey, nonce: this.nonce });
  }

  /**
   * Handles one handshake body from the peer. The caller must not call again before the previous call settled
   * (the link serialises them). Rejects only if our own signer fails (an internal error, not the peer's fault).
   */
  async receive(body: Uint8Array): Promise<HandshakeStep[]> {
    const m = decodeHandshake(body);
    if (m === undefined) return this.fail("MALFORMED_HANDSHAKE");
    if (this.state === "new") {
      if (m.signature !== undefined) return this.fail("MALFORMED_HANDSHAKE"); // a proof before the challenge
      const refusal = this.checkChallenge(m);
      if (refusal !== undefined) return this.fail(refusal);
      this.peerChallenge = { ...m, chainId: m.chainId.slice(), publicKey: m.publicKey.slice(), nonce: m.nonce.slice() };
      this.state = "challenged";
      const myKey = this.ctx.identity.publicKey;
      const [dn, ln, dk, lk] = this.role === "dialer" ? [this.nonce, m.nonce, myKey, m.publicKey] : [m.nonce, this.nonce, m.publicKey, myKey];
      const signature = await this.ctx.identity.sign(handshakeSigningMessage(this.ctx.chainId, this.role, dn, ln, dk, lk));
      if (this.state !== "challenged") return [{ kind: "wait" }]; // failed meanwhile
      this.state = "proved";
      return [{ kind: "send", bytes: encodeHandshake({ version: LINK_VERSION, chainId: this.ctx.chainId, publicKey: myKey, nonce: this.nonce, peerNonce: m.nonce, signature }) }];
    }
    if (this.state === "proved") {
      const c = this.peerChallenge!;
      if (m.signature === undefined || m.peerNonce === undefined) return this.fail("MALFORMED_HANDSHAKE");
      if (m.version !== c.version || !bytesEqual(m.chainId, c.chainId) || !bytesEqual(m.publicKey, c.publicKey) || !bytesEqual(m.nonce, c.nonce)) {
        return this.fail("MALFORMED_HANDSHAKE"); // the proof must repeat the challenge it belongs to
      }
      if (!bytesEqual(m.peerNonce, this.nonce)) return this.fail("NONCE_MISMATCH");
      const myKey = this.ctx.identity.publicKey;
      const peerRole: Role = this.role === "dialer" ? "listener" : "dialer";
      const [dn, ln, dk, lk] = this.role === "dialer" ? [this.nonce, c.nonce, myKey, c.publicKey] : [c.nonce, this.nonce, c.publicKey, myKey];
      this.state = "done"; // no further handshake message is acceptable, whatever the verdict
      let ok: boolean;
      try {
        ok = await this.ctx.verify(c.publicKey, handshakeSigningMessage(this.ctx.chainId, peerRole, dn, ln, dk, lk), m.signature);
      } catch {
        ok = false; // a verifier that throws on a hostile key or signature encoding: still just a bad signature
      }
      if (ok !== true) return this.fail("BAD_SIGNATURE");
      return [{ kind: "done", peer: this.peerIndex! }];
    }
    // "challenged" (our proof is being signed) or finished: a further handshake message is a protocol violation.
    return this.fail("MALFORMED_HANDSHAKE");
  }

  private checkChallenge(m: HandshakeMessage): RefusalCode | undefined {
    if (m.version !== LINK_VERSION) return "BAD_VERSION";
    if (!bytesEqual(m.chainId, this.ctx.chainId)) return "WRONG_CHAIN";
    const idx = this.ctx.indexOf(m.publicKey);
    if (idx === undefined) return "UNKNOWN_KEY";
    if (idx === this.ctx.self) return "SELF_CONNECTION";
    // A dialer reached the address of validator `expected`: any other validator's key there is as good as unknown.
    if (this.role === "dialer" && idx !== this.expected) return "UNKNOWN_KEY";
    if (this.role === "listener" && !this.ctx.dialsUs(idx)) return "WRONG_DIRECTION";
    if (!this.ctx.nonces.add(m.nonce)) return "REPLAYED_NONCE";
    this.peerIndex = idx;
    return undefined;
  }

  private fail(code: RefusalCode): HandshakeStep[] {
    this.state = "failed";
    return [{ kind: "refuse", code }];
  }
}
