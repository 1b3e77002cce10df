/**
 * Link authentication: each side proves it holds its validator's BLS key, and the two agree on the keys of the
 * authenticated channel (channel.ts) that carries every later frame. The dialer proves first:
 *
 *   dialer                                              listener
 *                                                    ←  challenge {version, chainId, pkL, nL, ekL}        (no signature)
 *     proof {version, chainId, pkD, nD, ekD, peerNonce nL, sig_D}  →
 *                                                       listener verifies sig_D, and only then signs:
 *                                                    ←  proof {…challenge fields, peerNonce nD, sig_L}
 *
 * Both sides sign the same transcript T with their own role byte:
 *
 *   DOMAIN ‖ role ‖ T,   T = len(chainId) ‖ chainId ‖ nD ‖ nL ‖ pkD ‖ pkL ‖ ekD ‖ ekL
 *
 * (n: 256-bit fresh nonces, pk: BLS validator keys, ek: X25519 ephemeral keys of this connection). Because both fresh
 * nonces are inside, an old proof never verifies again (replay); because both validator keys and the role are inside,
 * a relay between two honest validators cannot splice one link's proof into another link, nor reflect a proof back
 * to its signer; because both ephemeral keys are inside, a relay cannot substitute its own and sit in the middle of
 * the channel keys.
 *
 * Why the dialer proves first: the listener accepts connections from anyone, and a BLS signature is its most expensive
 * step (≈ 1 ms). In the old order (both challenges at once, then both proofs) it signed for anyone who claimed a
 * validator's public key, a free signing oracle and CPU sink. Now the listener's challenge is cheap (a random nonce
 * and an X25519 key, ≈ 50 µs), and the listener signs only after a valid dialer proof, which only a validator can
 * produce. The link gives the dialer PROOF_TIMEOUT_MS (1 s) from accept to present that proof; see link.ts.
 *
 * Refusals: wrong version or chain id, a key that is not a validator (or is our own), a peer that should not dial us,
 * a nonce seen before (replay or reflection), a proof whose peerNonce is not our nonce, a bad signature, a missing or
 * unusable ephemeral key (MALFORMED_HANDSHAKE); the link owner adds HANDSHAKE_TIMEOUT and PROOF_TIMEOUT. Each is
 * counted by the transport.
 */
import { bytesEqual, concatBytes, toHex, utf8 } from "../util/bytes.js";
import { PROTOCOL_VERSION } from "../domain/types.js";
import { decodeHandshake, encodeHandshake, MAX_CHAIN_ID_BYTES, NONCE_BYTES } from "./handshakeCodec.js";
import type { HandshakeMessage } from "./handshakeCodec.js";
import { deriveChannelKeys, generateEphemeral } from "./channel.js";
import type { ChannelKeys, EphemeralKeyPair } from "./channel.js";
import type { PeerId, RefusalCode } from "./transport.js";

/** Protocol version carried in the handshake (the wire schema's); a peer with another version is refused. */
export const LINK_VERSION = PROTOCOL_VERSION;
/**
 * Domain separation tag: a handshake signature can never be mistaken for a vote or any other signed Quire message.
 * V2: the dialer proves first, and the signed transcript includes both ephemeral channel keys.
 */
export const HANDSHAKE_DOMAIN = utf8("QUIRE-LINK-HANDSHAKE-V2");

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
  /**
   * Listener only, optional: asked before a dialer's proof is verified (a refusal code skips the verification: a
   * banned validator, or a claimed key whose failed-proof budget is spent) and told the verdict after.
   * `source` is the connection's admission key (its address), when the socket knows it.
   */
  proofGate?: ProofGate;
}

export interface ProofGate {
  before(peer: PeerId, source: string | undefined): RefusalCode | undefined;
  after(peer: PeerId, source: string | undefined, ok: boolean): void;
}

/** The handshake transcript T (see the header): everything both signatures and the channel keys are bound to. */
export function handshakeTranscript(
  chainId: Uint8Array,
  dialerNonce: Uint8Array,
  listenerNonce: Uint8Array,
  dialerKey: Uint8Array,
  listenerKey: Uint8Array,
  dialerEphemeral: Uint8Array,
  listenerEphemeral: Uint8Array,
): Uint8Array {
  return concatBytes(Uint8Array.of(chainId.length), chainId, dialerNonce, listenerNonce, dialerKey, listenerKey, dialerEphemeral, listenerEphemeral);
}

/** The bytes a side signs: DOMAIN ‖ role ‖ T. `signer` is the role of the side signing. */
export function handshakeSigningMessage(signer: Role, transcript: Uint8Array): Uint8Array {
  return concatBytes(HANDSHAKE_DOMAIN, Uint8Array.of(signer === "dialer" ? 0x44 /* D */ : 0x4c /* L */), transcript);
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
  | { kind: "done"; peer: PeerId; keys: ChannelKeys }
  | { kind: "refuse"; code: RefusalCode }
  | { kind: "wait" };

/**
 * One side of one handshake, independent of sockets. `start()` yields the listener's challenge (nothing for a dialer,
 * which waits for it); each received handshake body goes to `receive()`, which resolves to the steps to take in order
 * (send our proof; done with the channel keys; or refuse).
 */
export class HandshakeSession {
  private readonly nonce: Uint8Array;
  private readonly ephemeral: EphemeralKeyPair;
  private state: "new" | "busy" | "proved" | "done" | "failed" = "new";
  private peerChallenge: HandshakeMessage | undefined;
  private peerIndex: PeerId | undefined;

  /**
   * `expected`: for a dialer, the validator we dialed (the key on the other end must be that one's). `source`: for a
   * listener, the connection's address key (for `ctx.proofGate`).
   */
  constructor(
    private readonly ctx: HandshakeContext,
    readonly role: Role,
    private readonly expected?: PeerId,
    private readonly source?: string,
  ) {
    this.nonce = ctx.randomBytes(NONCE_BYTES);
    ctx.nonces.add(this.nonce);
    this.ephemeral = generateEphemeral();
  }

  /** The peer's index once its challenge (dialer) or proof (listener) was accepted. */
  get peer(): PeerId | undefined {
    return this.peerIndex;
  }

  /** The first handshake message to send: the listener's challenge; undefined for a dialer. */
  start(): Uint8Array | undefined {
    if (this.ctx.chainId.length < 1 || this.ctx.chainId.length > MAX_CHAIN_ID_BYTES) throw new RangeError("bad chain id length");
    if (this.role === "dialer") return undefined;
    return encodeHandshake(this.ownMessage());
  }

  /**
   * Handles one handshake body from the peer. The caller must not call again before the previous call settled
   * (the link serialises them). Rejects only if our own signer fails (an internal error, not the peer's fault).
   */
  async receive(body: Uint8Array): Promise<HandshakeStep[]> {
    const m = decodeHandshake(body);
    if (m === undefined) return this.fail("MALFORMED_HANDSHAKE");
    if (this.role === "dialer") return this.state === "new" ? this.dialerOnChallenge(m) : this.dialerOnProof(m);
    return this.state === "new" ? this.listenerOnProof(m) : this.fail("MALFORMED_HANDSHAKE");
  }

  /** Dialer, first message: the listener's challenge. Answer with our proof. */
  private async dialerOnChallenge(m: HandshakeMessage): Promise<HandshakeStep[]> {
    if (m.signature !== undefined) return this.fail("MALFORMED_HANDSHAKE"); // a proof before the challenge
    const refusal = this.checkPeer(m);
    if (refusal !== undefined) return this.fail(refusal);
    this.peerChallenge = copyMessage(m);
    this.state = "busy";
    const signature = await this.ctx.identity.sign(this.signingMessage(this.role));
    if (this.state !== "busy") return [{ kind: "wait" }]; // failed meanwhile
    this.state = "proved";
    return [{ kind: "send", bytes: encodeHandshake({ ...this.ownMessage(), peerNonce: m.nonce, signature }) }];
  }

  /** Dialer, second message: the listener's proof, which must repeat its challenge. */
  private async dialerOnProof(m: HandshakeMessage): Promise<HandshakeStep[]> {
    if (this.state !== "proved") return this.fail("MALFORMED_HANDSHAKE"); // our proof is still being signed, or finished
    const c = this.peerChallenge!;
    if (m.signature === undefined || m.peerNonce === undefined) return this.fail("MALFORMED_HANDSHAKE");
    if (m.version !== c.version || !bytesEqual(m.chainId, c.chainId) || !bytesEqual(m.publicKey, c.publicKey) || !bytesEqual(m.nonce, c.nonce) || !bytesEqual(m.ephemeralKey, c.ephemeralKey)) {
      return this.fail("MALFORMED_HANDSHAKE"); // the proof must repeat the challenge it belongs to
    }
    if (!bytesEqual(m.peerNonce, this.nonce)) return this.fail("NONCE_MISMATCH");
    this.state = "done"; // no further handshake message is acceptable, whatever the verdict
    if (!(await this.verifyPeer(m.signature))) return this.fail("BAD_SIGNATURE");
    const keys = this.keys();
    if (keys === undefined) return this.fail("MALFORMED_HANDSHAKE");
    return [{ kind: "done", peer: this.peerIndex!, keys }];
  }

  /** Listener, only message: the dialer's proof. Verify it; only then sign ours. */
  private async listenerOnProof(m: HandshakeMessage): Promise<HandshakeStep[]> {
    if (m.signature === undefined || m.peerNonce === undefined) return this.fail("MALFORMED_HANDSHAKE");
    const refusal = this.checkPeer(m);
    if (refusal !== undefined) return this.fail(refusal);
    if (!bytesEqual(m.peerNonce, this.nonce)) return this.fail("NONCE_MISMATCH");
    this.peerChallenge = copyMessage(m);
    const gated = this.ctx.proofGate?.before(this.peerIndex!, this.source);
    if (gated !== undefined) return this.fail(gated);
    this.state = "busy";
    const ok = await this.verifyPeer(m.signature);
    this.ctx.proofGate?.after(this.peerIndex!, this.source, ok);
    if (!ok) return this.fail("BAD_SIGNATURE");
    if (this.state !== "busy") return [{ kind: "wait" }];
    const keys = this.keys();
    if (keys === undefined) return this.fail("MALFORMED_HANDSHAKE");
    const signature = await this.ctx.identity.sign(this.signingMessage(this.role));
    if (this.state !== "busy") return [{ kind: "wait" }];
    this.state = "done";
    return [
      { kind: "send", bytes: encodeHandshake({ ...this.ownMessage(), peerNonce: m.nonce, signature }) },
      { kind: "done", peer: this.peerIndex!, keys },
    ];
  }

  private ownMessage(): HandshakeMessage {
    return { version: LINK_VERSION, chainId: this.ctx.chainId, publicKey: this.ctx.identity.publicKey, nonce: this.nonce, ephemeralKey: this.ephemeral.publicKey };
  }

  /** The transcript T of this handshake (the peer's message is known). */
  private transcript(): Uint8Array {
    const c = this.peerChallenge!;
    const own = this.ownMessage();
    const [d, l] = this.role === "dialer" ? [own, c] : [c, own];
    return handshakeTranscript(this.ctx.chainId, d.nonce, l.nonce, d.publicKey, l.publicKey, d.ephemeralKey, l.ephemeralKey);
  }

  private signingMessage(signer: Role): Uint8Array {
    return handshakeSigningMessage(signer, this.transcript());
  }

  private async verifyPeer(signature: Uint8Array): Promise<boolean> {
    const peerRole: Role = this.role === "dialer" ? "listener" : "dialer";
    try {
      return (await this.ctx.verify(this.peerChallenge!.publicKey, this.signingMessage(peerRole), signature)) === true;
    } catch {
      return false; // a verifier that throws on a hostile key or signature encoding: still just a bad signature
    }
  }

  /** The channel keys (derived once per session: the ephemeral key pair is this connection's only). */
  private keys(): ChannelKeys | undefined {
    return deriveChannelKeys(this.ephemeral.privateKey, this.peerChallenge!.ephemeralKey, this.transcript(), this.role === "dialer");
  }

  /** Checks the peer's identity fields (challenge or proof) and remembers its index. */
  private checkPeer(m: HandshakeMessage): RefusalCode | undefined {
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

function copyMessage(m: HandshakeMessage): HandshakeMessage {
  return { ...m, chainId: m.chainId.slice(), publicKey: m.publicKey.slice(), nonce: m.nonce.slice(), ephemeralKey: m.ephemeralKey.slice() };
}
