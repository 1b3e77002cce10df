/**
 * One connection to one peer over a `LinkSocket`: handshake first, then data frames; liveness by ping/idle timer.
 *
 * States: handshake → open → closed. While in handshake only handshake frames are accepted (the listener's challenge
 * and proof for a dialer, the dialer's proof for a listener), except, on the dialer, data frames that arrive after
 * the listener's proof while that proof is still being verified (an honest listener waits for our READY, see below,
 * so only a misbehaving one sends them); those are held, bounded by `maxPreAuthBytes`, and checked and decoded once the
 * peer is authenticated.
 *
 * Deadlines: `handshakeTimeoutMs` (5 s) covers connect, upgrade and the whole handshake on both sides. A listener
 * also gives the dialer `proofTimeoutMs` (1 s) from accept to present its proof: the dialer proves first
 * (handshake.ts), and an honest one needs one round trip plus one BLS signature (≈ 1 ms), so a connection that is
 * silent for a second is holding one of the listener's `maxPendingHandshakes` slots for nothing (PROOF_TIMEOUT).
 *
 * Once open, every data frame is checked by the authenticated channel (channel.ts) before it is decoded; a frame that
 * fails closes the link with BAD_FRAME_TAG, and nothing is read after a refusal. Frames we send are sealed by
 * `sendFrame`.
 *
 * Ready: the dialer's first sealed frame is a READY frame, sent the moment it verified the listener's proof, and the
 * listener sends no data until it received it (`isOpen` is false until then). Otherwise the listener would flush its
 * whole backlog (queues kept while the peer was away, tens of MiB) into the dialer's bounded pre-authentication
 * buffer while the dialer still verifies: PRE_AUTH_OVERFLOW, and the dequeued frames lost. READY also confirms both
 * sides derived the same keys before anything of value is sent.
 */
import type { Scheduler, TimerHandle } from "../../util/clock.js";
import { TAG_BYTES } from "../channel.js";
import type { ChannelKeys, FrameAuth, FrameAuthFactory } from "../channel.js";
import { FRAME_DATA, FRAME_HANDSHAKE, FRAME_HEADER_BYTES, FRAME_READY, FrameDecoder, handshakeFrame } from "../framing.js";
import { HandshakeSession } from "../handshake.js";
import type { HandshakeContext, HandshakeStep, Role } from "../handshake.js";
import { closeCodeOf, refusalOfCloseCode } from "../transport.js";
import type { PeerId, Priority, RefusalCode } from "../transport.js";
import type { LinkSocket } from "./socket.js";

export interface LinkTimings {
  handshakeTimeoutMs: number;
  /** Listener only: the dialer's proof must arrive this long after accept (PROOF_TIMEOUT). */
  proofTimeoutMs: number;
  /** A ping goes out when nothing was received for this long. */
  pingIntervalMs: number;
  /** The link closes (IDLE_TIMEOUT) when nothing at all was received for this long. */
  idleTimeoutMs: number;
}

/** What a link reports to the transport that owns it. */
export interface LinkOwner {
  readonly ctx: HandshakeContext;
  readonly scheduler: Scheduler;
  readonly timings: LinkTimings;
  readonly maxMessageBytes: number;
  readonly maxPreAuthBytes: number;
  /** Makes each direction's frame authenticator (channel.ts `authenticateFrames`). */
  readonly frameAuth: FrameAuthFactory;
  linkAuthenticated(link: Link, peer: PeerId): void;
  linkMessage(link: Link, priority: Priority, payload: Uint8Array): void;
  linkWritable(link: Link): void;
  /** `refusal`: our refusal, or the peer's (decoded from its close code), if the link ended on one. */
  linkClosed(link: Link, refusal: RefusalCode | undefined, byPeer: boolean): void;
  /** Counts a refusal we made. */
  refused(code: RefusalCode): void;
  /** Our signer failed: an internal error, the owner decides (it rethrows). */
  internalError(err: unknown): void;
}

export class Link {
  private state: "connecting" | "handshake" | "open" | "closed" = "connecting";
  private readonly session: HandshakeSession;
  private readonly decoder: FrameDecoder;
  private handshakeQueue: Promise<void> = Promise.resolve();
  private handshakeFramesSeen = 0;
  private preAuth: Uint8Array[] = [];
  private preAuthBytes = 0;
  private handshakeTimer: TimerHandle | undefined;
  private proofTimer: TimerHandle | undefined;
  private sealer: FrameAuth | undefined;
  private opener: FrameAuth | undefined;
  /** Handshake frames the peer sends us: the challenge and the proof to a dialer, the proof to a listener. */
  private readonly handshakeFrames: number;
  private livenessTimer: TimerHandle | undefined;
  private lastReceived = 0;
  private ourRefusal: RefusalCode | undefined;
  /** Listener: the dialer's READY arrived (we may send). A dialer sets it when it opens (it sends READY itself). */
  private peerReady = false;
  private authenticatedPeer: PeerId | undefined;
  private readonly deliver: (priority: Priority, payload: Uint8Array) => void;

  constructor(
    private readonly owner: LinkOwner,
    readonly socket: LinkSocket,
    readonly role: Role,
    /** For a dialer: the validator dialed. */
    readonly expected?: PeerId,
  ) {
    this.session = new HandshakeSession(owner.ctx, role, expected, socket.source);
    this.handshakeFrames = role === "dialer" ? 2 : 1;
    this.decoder = new FrameDecoder(owner.maxMessageBytes);
    this.deliver = (priority, payload) => this.owner.linkMessage(this, priority, payload);
    socket.setEvents({
      onOpen: () => this.begin(),
      onFrame: (f) => this.onFrame(f),
      onActivity: () => {
        this.lastReceived = this.owner.scheduler.now();
      },
      onWritable: () => {
        if (this.state === "open") this.owner.linkWritable(this);
      },
      onClose: (code) => this.onClosed(code),
    });
    // The handshake deadline covers the TCP connect and upgrade too.
    this.handshakeTimer = owner.scheduler.setTimeout(() => this.refuse("HANDSHAKE_TIMEOUT"), owner.timings.handshakeTimeoutMs);
    if (role === "listener") this.proofTimer = owner.scheduler.setTimeout(() => this.refuse("PROOF_TIMEOUT"), owner.timings.proofTimeoutMs);
    if (socket.openAtStart) this.begin();
  }

  /** The authenticated peer (undefined until the handshake is done). */
  get peer(): PeerId | undefined {
    return this.authenticatedPeer;
  }

  /** Authenticated, not closing, and (for a listener) the dialer's READY received: frames may be sent. */
  get isOpen(): boolean {
    return this.state === "open" && this.ourRefusal === undefined && this.peerReady;
  }

  get isClosed(): boolean {
    return this.state === "closed";
  }

  /** When the last frame (or ping/pong) arrived from the peer, on the owner's scheduler clock: the liveness stamp. */
  get lastReceivedAt(): number {
    return this.lastReceived;
  }

  /**
   * Seals and sends a data frame whose last TAG_BYTES bytes are room for the channel tag (written here, in place).
   * Returns false if the link is not open.
   */
  sendFrame(frame: Uint8Array): boolean {
    if (!this.isOpen) return false;
    this.sealer!.seal(frame);
    return this.socket.send(frame);
  }

  /** Closes the link, telling the peer why. */
  refuse(code: RefusalCode): void {
    // Already closing (a close handshake can take a while): the first reason stands.
    if (this.state === "closed" || this.ourRefusal !== undefined) return;
    if (code !== "SHUTDOWN" && code !== "DUPLICATE_CONNECTION") this.owner.refused(code);
    this.ourRefusal = code;
    this.socket.close(closeCodeOf(code), code);
  }

  private begin(): void {
    if (this.state !== "connecting") return;
    this.state = "handshake";
    this.lastReceived = this.owner.scheduler.now();
    const challenge = this.session.start();
    if (challenge !== undefined) this.socket.send(handshakeFrame(challenge));
    this.armLiveness();
  }

  private onFrame(lent: Uint8Array, borrowed = this.socket.framesBorrowed): void {
    // Nothing is read once we refused: the `ws` client keeps delivering frames while its close handshake runs, and a
    // relay that replaced one frame must not get the frames after it through (their counters no longer line up with
    // what was dropped, but a frame it passes on unchanged would still verify).
    if (this.state === "closed" || this.ourRefusal !== undefined) return;
    this.lastReceived = this.owner.scheduler.now();
    const kind = lent.length >= FRAME_HEADER_BYTES ? lent[0] : -1;
    // A lent data frame of an open link is checked and decoded in place (the decoder copies out what it delivers);
    // any other frame may be kept past this call (handshake steps are asynchronous, pre-auth frames are held): copied.
    const inPlace = this.state === "open" && kind === FRAME_DATA;
    const frame = borrowed && !inPlace ? lent.slice() : lent;
    if (this.state === "open") {
      if ((kind !== FRAME_DATA && kind !== FRAME_READY) || frame.length < FRAME_HEADER_BYTES + TAG_BYTES) return this.refuse("MALFORMED_FRAME");
      if (!this.opener!.open(frame)) return this.refuse("BAD_FRAME_TAG");
      if (kind === FRAME_READY) {
        // Only a dialer sends READY, once, as its first frame.
        if (this.role !== "listener" || this.peerReady || frame.length !== FRAME_HEADER_BYTES + TAG_BYTES) return this.refuse("MALFORMED_FRAME");
        this.peerReady = true;
        this.owner.linkWritable(this);
        return;
      }
      if (!this.peerReady) return this.refuse("MESSAGE_BEFORE_AUTH");
      const err = this.decoder.decode(frame.subarray(0, frame.length - TAG_BYTES), this.deliver, borrowed && inPlace);
      if (err !== undefined) this.refuse(err);
      return;
    }
    if (kind === FRAME_HANDSHAKE) {
      if (++this.handshakeFramesSeen > this.handshakeFrames) return this.refuse("MALFORMED_HANDSHAKE");
      if (this.handshakeFramesSeen === this.handshakeFrames) this.cancelProofTimer(); // the dialer's proof is here
      const body = frame.subarray(FRAME_HEADER_BYTES);
      // Serialised: the peer's proof can arrive while our own proof is still being signed.
      this.handshakeQueue = this.handshakeQueue.then(() => this.handshakeStep(body));
      return;
    }
    if (kind === FRAME_DATA && this.role === "dialer" && this.handshakeFramesSeen === this.handshakeFrames) {
      this.preAuthBytes += frame.length;
      if (this.preAuthBytes > this.owner.maxPreAuthBytes) return this.refuse("PRE_AUTH_OVERFLOW");
      this.preAuth.push(frame);
      return;
    }
    this.refuse(kind === FRAME_DATA ? "MESSAGE_BEFORE_AUTH" : "MALFORMED_FRAME");
  }

  private async handshakeStep(body: Uint8Array): Promise<void> {
    if (this.state !== "handshake") return;
    let steps: HandshakeStep[];
    try {
      steps = await this.session.receive(body);
    } catch (err) {
      this.socket.terminate();
      this.owner.internalError(err);
      return;
    }
    for (const step of steps) {
      if (this.state !== "handshake") return; // closed meanwhile
      switch (step.kind) {
        case "send":
          this.socket.send(handshakeFrame(step.bytes));
          break;
        case "refuse":
          this.refuse(step.code);
          return;
        case "done":
          this.open(step.peer, step.keys);
          break;
        case "wait":
          break;
      }
    }
  }

  private open(peer: PeerId, keys: ChannelKeys): void {
    this.handshakeTimer?.cancel();
    this.handshakeTimer = undefined;
    this.sealer = this.owner.frameAuth(keys.send);
    this.opener = this.owner.frameAuth(keys.receive);
    this.state = "open";
    this.authenticatedPeer = peer;
    if (this.role === "dialer") {
      // READY first: the listener holds its data until it has it (see the header).
      this.peerReady = true;
      const ready = new Uint8Array(FRAME_HEADER_BYTES + TAG_BYTES);
      ready[0] = FRAME_READY;
      this.sendFrame(ready);
    }
    this.owner.linkAuthenticated(this, peer);
    // Frames that raced the verification of the peer's proof.
    const held = this.preAuth;
    this.preAuth = [];
    this.preAuthBytes = 0;
    for (const f of held) {
      if (!this.isOpen) return;
      this.onFrame(f, false); // copied when held
    }
  }

  private cancelProofTimer(): void {
    this.proofTimer?.cancel();
    this.proofTimer = undefined;
  }

  private armLiveness(): void {
    const { pingIntervalMs, idleTimeoutMs } = this.owner.timings;
    const tick = (): void => {
      if (this.state === "closed") return;
      const quiet = this.owner.scheduler.now() - this.lastReceived;
      if (quiet >= idleTimeoutMs) return this.refuse("IDLE_TIMEOUT");
      if (quiet >= pingIntervalMs) this.socket.ping();
      this.livenessTimer = this.owner.scheduler.setTimeout(tick, Math.min(pingIntervalMs, idleTimeoutMs - quiet));
    };
    this.livenessTimer = this.owner.scheduler.setTimeout(tick, Math.min(pingIntervalMs, idleTimeoutMs));
  }

  private onClosed(code: number): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.handshakeTimer?.cancel();
    this.cancelProofTimer();
    this.livenessTimer?.cancel();
    this.handshakeTimer = undefined;
    this.livenessTimer = undefined;
    this.preAuth = [];
    const peerRefusal = this.ourRefusal === undefined ? refusalOfCloseCode(code) : undefined;
    this.owner.linkClosed(this, this.ourRefusal ?? peerRefusal, this.ourRefusal === undefined && peerRefusal !== undefined);
  }
}
