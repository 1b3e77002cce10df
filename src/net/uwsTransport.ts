/**
 * The real transport: authenticated WebSocket links between validators.
 *
 * - Every node listens with a uWS server; for each pair of validators the lower index dials the higher one with the
 *   `ws` client (one connection per pair, carrying both directions). A new authenticated connection from a peer
 *   replaces an old one (the dialer noticed a dead link before we did).
 * - Per-peer `PeerQueue`s (bounded, prioritised) survive reconnects; the flush loop coalesces queued messages into
 *   frames and hands them to the socket while its buffered amount is under `socketHighWaterBytes`, then waits for
 *   the socket's drain. So memory per peer is bounded by the queue limits plus high-water plus one frame.
 * - Lost links are redialled with capped exponential back-off and jitter (dialer side only).
 * - Inbound connections are admitted per source address at the upgrade (`admission.ts`: pending handshakes capped per
 *   source and globally with room for new sources, back-off for sources whose handshakes keep failing); every
 *   listener-side handshake that ends reports its outcome to the admission table here (`linkAuthenticated`,
 *   `linkClosed`).
 * - `ban(peer, ms)`: the node's penalties disconnect a validator that keeps misbehaving and refuse its handshakes
 *   (close code BANNED) until the ban expires; we do not dial it meanwhile.
 * - Validators join at runtime: a validator-set change appends a validator to the registry (genesis validators are
 *   0..n−1, the next added key gets n, and so on; indices are stable, and peer ids are those indices), and the node
 *   calls `addPeer` so links to it come up without a restart. A joiner always takes an index above every validator
 *   already known, so the usual rule (the lower index dials) has every existing validator dial the newcomer, and the
 *   newcomer — built with its future index as `self` and the registry up to it in `validators` — dials none of them:
 *   it listens, and each link comes up when that validator adds it (until then the validator does not know its key,
 *   so it neither dials it nor accepts it). What scales with the validator count (admission's per-source cap) is
 *   recomputed on each add; the proof budget and the dial direction depend on indices alone.
 *
 * Start one:
 *   const t = new UwsTransport({ self, chainId, validators, listen: { host: "127.0.0.1", port: 0 } }, { identity, verify });
 *   t.setHandler({ onMessage(from, payload, priority) { … } });
 *   await t.start();            // listens (t.listenPort) and dials the higher-indexed validators with known addresses
 *   t.setPeerAddress(j, { host, port });  // when an address becomes known later
 *   …
 *   await t.stop();
 */
import { randomBytes as nodeRandomBytes } from "node:crypto";
import { toHex } from "../util/bytes.js";
import { SystemScheduler } from "../util/clock.js";
import type { Scheduler, TimerHandle } from "../util/clock.js";
import { Admission, DEFAULT_ADMISSION, DEFAULT_PROOF_BUDGET, ProofBudget, sourceKeyOfText } from "./admission.js";
import type { AdmissionOptions } from "./admission.js";
import { backoffDelay, DEFAULT_BACKOFF } from "./backoff.js";
import type { BackoffOptions } from "./backoff.js";
import { authenticateFrames, TAG_BYTES } from "./channel.js";
import type { FrameAuthFactory } from "./channel.js";
import { NonceCache } from "./handshake.js";
import type { HandshakeContext, LinkIdentity, VerifyFn } from "./handshake.js";
import { Link } from "./link/link.js";
import type { LinkOwner, LinkTimings } from "./link/link.js";
import { UwsServer } from "./link/uwsServer.js";
import type { UpgradeRefusal, UwsServerSocket } from "./link/uwsServer.js";
import { WsClientSocket } from "./link/wsClient.js";
import { DEFAULT_QUEUE_LIMITS, MIN_FRAME_BYTES, PeerQueue } from "./peerQueue.js";
import type { QueueLimits } from "./peerQueue.js";
import { checkPriority, DEFAULT_MAX_MESSAGE_BYTES, NetError, Priority, SendStatus } from "./transport.js";
import type { PeerAddress, PeerId, PeerStats, RefusalCode, Transport, TransportHandler, TransportStats, ValidatorEntry } from "./transport.js";

export type { PeerAddress, ValidatorEntry };

export interface UwsTransportOptions {
  self: PeerId;
  chainId: Uint8Array;
  /** The registry as known at construction, indexed by `PeerId`; `validators[self]` is our key. More via `addPeer`. */
  validators: readonly ValidatorEntry[];
  listen: PeerAddress;
  /** WebSocket route path. */
  path?: string;
  /** Largest message `send` accepts (and a peer may send), bytes. */
  maxMessageBytes?: number;
  /** Frame size: small messages are coalesced up to this, larger ones fragmented into pieces of this. */
  frameBytes?: number;
  /** Stop handing frames to a socket that has this many bytes buffered; resume on drain. */
  socketHighWaterBytes?: number;
  queueLimits?: QueueLimits;
  handshakeTimeoutMs?: number;
  /** Listener side: a dialer must present its handshake proof this long after accept (link.ts). */
  proofTimeoutMs?: number;
  pingIntervalMs?: number;
  idleTimeoutMs?: number;
  /** `stop()` waits this long for close handshakes before dropping connections. */
  closeTimeoutMs?: number;
  backoff?: BackoffOptions;
  /**
   * Inbound connections allowed to be mid-handshake at once, all sources together (`AdmissionOptions.maxPending`).
   * The per-source cap and the room kept for new sources shrink with it when it is small (see `admissionOptions`).
   */
  maxPendingHandshakes?: number;
  /** The rest of the admission policy (per-source cap, reserve, back-off); defaults `DEFAULT_ADMISSION`. */
  admission?: Partial<Omit<AdmissionOptions, "maxPending">>;
}

export interface UwsTransportModules {
  identity: LinkIdentity;
  verify: VerifyFn;
  scheduler?: Scheduler;
  /** Uniform [0,1) for reconnect jitter. */
  random?: () => number;
  /** Handshake nonces: must be unpredictable (default: node:crypto). */
  randomBytes?: (n: number) => Uint8Array;
  /**
   * The channel's frame authentication (default `authenticateFrames`). Only `quire bench net` replaces it, with a
   * stub on both ends, to measure the channel-off baseline in the same run; src/node never sets it.
   */
  frameAuth?: FrameAuthFactory;
}

/**
 * Defaults, in one place.
 * - frameBytes 256 KiB: `quire bench net --frame-bytes N` on this 2-core machine (3 trials, noisy), one-way
 *   200 B ws→uWS / uWS→ws and 64 KiB ws→uWS / uWS→ws: 64 KiB frames 5.3M / 4.7M msg/s, 2.0 / 1.5 GB/s;
 *   256 KiB 6.6M / 5.3M msg/s, 4.0 / 2.4 GB/s; 1 MiB 6.7M / 6.4M msg/s, 3.1 / 2.5 GB/s. 256 KiB has the throughput
 *   of 1 MiB frames with a quarter of the wait a consensus message can have behind one bulk frame.
 * - socketHighWaterBytes 1 MiB: 4 MiB bought no clear gain in the same sweep; the high-water mark plus one frame is
 *   the most bulk data a vote can queue behind in user space (≈ 0.5 ms at the 2.4 GB/s measured here, ≈ 10 ms
 *   on a 1 Gbit/s link), so smaller is better for consensus latency once throughput is saturated.
 * - proofTimeoutMs 1 s: the dialer proves first; one round trip and one BLS signature need a few ms (link.ts).
 * - idle/ping: uWS's own idle timer has a 4-second granularity; ours pings after 5 s of silence, gives up after 20 s.
 */
export const UWS_TRANSPORT_DEFAULTS = {
  path: "/quire/link",
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  frameBytes: 256 * 1024,
  socketHighWaterBytes: 1024 * 1024,
  handshakeTimeoutMs: 5_000,
  proofTimeoutMs: 1_000,
  pingIntervalMs: 5_000,
  idleTimeoutMs: 20_000,
  closeTimeoutMs: 1_000,
  maxPendingHandshakes: DEFAULT_ADMISSION.maxPending,
} as const;

interface PeerSlot {
  readonly id: PeerId;
  readonly publicKey: Uint8Array;
  address: PeerAddress | undefined;
  readonly queue: PeerQueue;
  /** The authenticated link, if up. */
  link: Link | undefined;
  /** Our outbound connection attempt in progress (dialer side). */
  dialing: Link | undefined;
  reconnectTimer: TimerHandle | undefined;
  attempt: number;
  flushScheduled: boolean;
  blocked: boolean;
  hadQueued: boolean;
  flagged: boolean;
  connects: number;
  /** Banned until this time (scheduler ms); 0 when not banned. */
  bannedUntil: number;
  /** When the current link authenticated (scheduler ms); -1 without a link. For `peerActivity` only. */
  connectedSince: number;
  /** When the last frame arrived on a link that has since closed (scheduler ms); -1 before any. For `peerActivity`. */
  lastReceivedAt: number;
}

type Resolved = Required<Omit<UwsTransportOptions, "queueLimits" | "backoff" | "listen" | "validators" | "self" | "chainId" | "admission">>;

/**
 * The admission policy for a global cap of `maxPending` and `validators` validators: defaults scaled down for small
 * caps (tests), and the per-source cap raised to n − 1 when more validators than the default allows could dial us from
 * one address (a local cluster of n on one host: every other validator dials or redials us at once after a restart).
 */
function admissionOptions(maxPending: number, validators: number, o: Partial<Omit<AdmissionOptions, "maxPending">> | undefined): AdmissionOptions {
  return {
    ...DEFAULT_ADMISSION,
    maxPending,
    maxPendingPerSource: Math.min(Math.max(DEFAULT_ADMISSION.maxPendingPerSource, validators - 1), maxPending),
    reservedForNewSources: Math.min(DEFAULT_ADMISSION.reservedForNewSources, Math.floor(maxPending / 4)),
    ...stripUndefined(o ?? {}),
  };
}

/** HTTP answers to refused upgrades: overload is 503; a source in back-off is told when to come back (429). */
const UPGRADE_STATUS = {
  PENDING_HANDSHAKE_LIMIT: "503 Service Unavailable",
  PENDING_RESERVED: "503 Service Unavailable",
  SOURCE_PENDING_LIMIT: "503 Service Unavailable",
  SOURCE_BACKOFF: "429 Too Many Requests",
} as const;

export class UwsTransport implements Transport, LinkOwner {
  readonly self: PeerId;
  readonly peers: readonly PeerId[];
  readonly maxMessageBytes: number;
  readonly maxPreAuthBytes: number;
  /**
   * Largest frame accepted from a peer: `frameBytes`, since larger messages travel in pieces. Validators must agree
   * on frameBytes and maxMessageBytes (network parameters), or the larger side's frames or messages are refused.
   */
  readonly maxFrameBytes: number;
  readonly ctx: HandshakeContext;
  readonly scheduler: Scheduler;
  readonly timings: LinkTimings;
  readonly frameAuth: FrameAuthFactory;

  private readonly o: Resolved;
  private readonly listenAt: PeerAddress;
  private readonly backoff: BackoffOptions;
  private readonly random: () => number;
  /** Indexed by `PeerId`, self's entry undefined; its length is the registry size known here (`addPeer` appends). */
  private readonly slots: (PeerSlot | undefined)[] = [];
  private readonly byKey = new Map<string, PeerId>();
  /** What `peers` shows. */
  private readonly peerList: PeerId[] = [];
  private readonly queueLimits: QueueLimits;
  /** The caller's admission overrides, kept to recompute the policy as validators join. */
  private readonly admissionOverrides: Partial<Omit<AdmissionOptions, "maxPending">> | undefined;
  /** Listener-side links still in their handshake, with their admission source. */
  private readonly pendingInbound = new Map<Link, string>();
  private readonly admission: Admission;
  private readonly proofBudget: ProofBudget;
  private readonly refusedCounts: Record<string, number> = {};
  private handler: TransportHandler = { onMessage: () => {} };
  private server: UwsServer | undefined;
  private state: "new" | "starting" | "started" | "stopping" | "stopped" = "new";
  private closeWaiters: (() => void)[] = [];

  constructor(opts: UwsTransportOptions, modules: UwsTransportModules) {
    this.o = { ...UWS_TRANSPORT_DEFAULTS, ...stripUndefined(opts) } as Resolved;
    const o = this.o;
    if (!Number.isInteger(opts.self) || opts.self < 0 || opts.self >= opts.validators.length) throw new NetError("BAD_CONFIG", `self ${opts.self} is not a validator index`);
    if (o.frameBytes < MIN_FRAME_BYTES) throw new NetError("BAD_CONFIG", `frameBytes must be >= ${MIN_FRAME_BYTES}`);
    if (o.maxMessageBytes < 1 || o.maxMessageBytes > 0x3fffffff) throw new NetError("BAD_CONFIG", "maxMessageBytes out of range");
    if (!(o.pingIntervalMs > 0 && o.idleTimeoutMs > o.pingIntervalMs)) throw new NetError("BAD_CONFIG", "need 0 < pingIntervalMs < idleTimeoutMs");
    if (opts.chainId.length < 1 || opts.chainId.length > 64) throw new NetError("BAD_CONFIG", "chainId must be 1..64 bytes");
    const selfKey = opts.validators[opts.self]!.publicKey;
    if (toHex(selfKey) !== toHex(modules.identity.publicKey)) throw new NetError("BAD_CONFIG", "identity key differs from validators[self]");
    this.self = opts.self;
    this.listenAt = opts.listen;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.maxMessageBytes = o.maxMessageBytes;
    this.maxFrameBytes = o.frameBytes;
    // The listener may send right after it sent its proof while we (the dialer) still verify that proof (≈ 1 ms with
    // blst): room for a few frames. Only a dialer holds frames (link.ts), so only what answers at an address we dial
    // gets this much buffered, once per connection attempt.
    this.maxPreAuthBytes = Math.max(2 * 1024 * 1024, 2 * o.frameBytes);
    this.scheduler = modules.scheduler ?? new SystemScheduler();
    this.random = modules.random ?? Math.random;
    this.frameAuth = modules.frameAuth ?? authenticateFrames;
    this.timings = { handshakeTimeoutMs: o.handshakeTimeoutMs, proofTimeoutMs: o.proofTimeoutMs, pingIntervalMs: o.pingIntervalMs, idleTimeoutMs: o.idleTimeoutMs };
    this.proofBudget = new ProofBudget(DEFAULT_PROOF_BUDGET, () => this.scheduler.now());
    this.admissionOverrides = opts.admission;
    this.admission = new Admission(admissionOptions(o.maxPendingHandshakes, opts.validators.length, opts.admission), () => this.scheduler.now());
    this.queueLimits = opts.queueLimits ?? DEFAULT_QUEUE_LIMITS;
    this.peers = this.peerList;
    opts.validators.forEach((v, i) => {
      const k = toHex(v.publicKey);
      if (this.byKey.has(k)) throw new NetError("BAD_CONFIG", `validators ${this.byKey.get(k)} and ${i} share a public key`);
      this.byKey.set(k, i);
      if (i === opts.self) this.slots.push(undefined);
      else this.pushPeer(v);
    });
    for (const v of opts.validators) this.trustAddress(v.address);
    this.ctx = {
      self: opts.self,
      chainId: opts.chainId,
      identity: modules.identity,
      verify: modules.verify,
      indexOf: (pk) => this.byKey.get(toHex(pk)),
      dialsUs: (peer) => peer < this.self,
      nonces: new NonceCache(),
      randomBytes: modules.randomBytes ?? ((n) => new Uint8Array(nodeRandomBytes(n))),
      // Before verifying a dialer's proof: a banned validator is refused without the verification (and without our
      // signature), and a claimed key whose failed-proof budget is spent only from its last good address.
      proofGate: {
        before: (peer, source) => (this.isBanned(peer) ? "BANNED" : this.proofBudget.allows(peer, source) ? undefined : "PROOF_BUDGET"),
        after: (peer, source, ok) => this.proofBudget.record(peer, source, ok),
      },
    };
  }

  /** The port the server listens on (after `start()`). */
  get listenPort(): number {
    return this.server?.port ?? 0;
  }

  setHandler(handler: TransportHandler): void {
    this.handler = handler;
  }

  async start(): Promise<void> {
    if (this.state !== "new") throw new NetError("ALREADY_STARTED", "a UwsTransport starts once; create a new one to restart");
    this.state = "starting";
    const o = this.o;
    const server = new UwsServer(
      {
        host: this.listenAt.host,
        port: this.listenAt.port,
        path: o.path,
        maxFrameBytes: this.maxFrameBytes,
        maxBackpressureBytes: o.socketHighWaterBytes + 2 * o.frameBytes,
        idleTimeoutSec: Math.max(8, Math.ceil((2 * o.idleTimeoutMs) / 1000)),
      },
      o.socketHighWaterBytes / 2,
      (s) => this.accept(s),
      (source) => this.admit(source),
      this.scheduler,
    );
    try {
      await server.listen();
    } catch (e) {
      this.state = "stopped";
      throw new NetError("LISTEN_FAILED", e instanceof Error ? e.message : String(e));
    }
    if (this.state !== "starting") {
      // stop() was called while we were binding.
      server.close();
      return;
    }
    this.server = server;
    this.state = "started";
    for (const p of this.peers) if (this.weDial(p)) this.dial(this.slots[p]!);
  }

  async stop(): Promise<void> {
    if (this.state === "stopped" || this.state === "stopping") return;
    if (this.state === "new" || this.state === "starting") {
      this.state = "stopped";
      return;
    }
    this.state = "stopping";
    this.server?.stopListening();
    const links: Link[] = [...this.pendingInbound.keys()];
    for (const s of this.slots) {
      if (s === undefined) continue;
      s.reconnectTimer?.cancel();
      s.reconnectTimer = undefined;
      if (s.link !== undefined) links.push(s.link);
      if (s.dialing !== undefined && s.dialing !== s.link) links.push(s.dialing);
    }
    const open = links.filter((l) => !l.isClosed);
    if (open.length > 0) {
      // Close handshakes, bounded by closeTimeoutMs; then whatever remains is dropped.
      const done = new Promise<void>((resolve) => this.closeWaiters.push(resolve));
      const timer = this.scheduler.setTimeout(() => {
        for (const l of open) l.socket.terminate();
      }, this.o.closeTimeoutMs);
      for (const l of open) l.refuse("SHUTDOWN");
      if (open.some((l) => !l.isClosed)) await done;
      timer.cancel();
    }
    this.server?.close();
    this.server = undefined;
    for (const s of this.slots) s?.queue.clear();
    this.closeWaiters = [];
    this.state = "stopped";
  }

  /**
   * Adds the validator a validator-set change appended to the registry (`Transport.addPeer`): it gets the next index
   * (the registry size known so far), its address is trusted as a configured validator's is, and — once started, when
   * the lower index dials, which is always us since it is the highest index — it is dialled now.
   */
  addPeer(entry: ValidatorEntry): PeerId {
    if (this.state === "stopping" || this.state === "stopped") throw new NetError("NOT_STARTED", "transport is stopped");
    const k = toHex(entry.publicKey);
    const had = this.byKey.get(k);
    if (had !== undefined) throw new NetError("BAD_CONFIG", `public key already belongs to validator ${had}`);
    const s = this.pushPeer(entry);
    this.byKey.set(k, s.id);
    this.trustAddress(entry.address);
    // More validators may share one source address (a local cluster): the per-source cap follows the count.
    this.admission.setOptions(admissionOptions(this.o.maxPendingHandshakes, this.slots.length, this.admissionOverrides));
    if (this.state === "started" && this.weDial(s.id)) this.dial(s);
    return s.id;
  }

  /** The index of `publicKey` (self included), or undefined. */
  peerIndexOf(publicKey: Uint8Array): PeerId | undefined {
    return this.byKey.get(toHex(publicKey));
  }

  /** Sets (or changes) where a validator listens; dials it now if it is ours to dial and not connected. */
  setPeerAddress(peer: PeerId, address: PeerAddress): void {
    const s = this.slot(peer);
    s.address = address;
    this.trustAddress(address);
    if (this.state === "started" && this.weDial(peer) && s.link === undefined && s.dialing === undefined) {
      s.reconnectTimer?.cancel();
      s.reconnectTimer = undefined;
      s.attempt = 0;
      this.dial(s);
    }
  }

  send(to: PeerId, priority: Priority, payload: Uint8Array): SendStatus {
    if (this.state !== "started") throw new NetError("NOT_STARTED", "transport is not started");
    const s = this.slots[to];
    if (s === undefined) throw new NetError("UNKNOWN_PEER", `no peer ${to}`);
    checkPriority(priority);
    if (payload.length > this.maxMessageBytes) throw new NetError("MESSAGE_TOO_LARGE", `${payload.length} bytes > maxMessageBytes ${this.maxMessageBytes}`);
    return this.enqueue(s, priority, payload);
  }

  multicast(to: Iterable<PeerId>, priority: Priority, payload: Uint8Array): number {
    if (this.state !== "started") throw new NetError("NOT_STARTED", "transport is not started");
    checkPriority(priority);
    if (payload.length > this.maxMessageBytes) throw new NetError("MESSAGE_TOO_LARGE", `${payload.length} bytes > maxMessageBytes ${this.maxMessageBytes}`);
    // Validate every destination before queueing anything: a bad id must not leave a half-sent multicast.
    const targets: PeerSlot[] = [];
    const seen = new Set<PeerId>();
    for (const p of to) {
      if (p === this.self || seen.has(p)) continue;
      const s = this.slots[p];
      if (s === undefined) throw new NetError("UNKNOWN_PEER", `no peer ${p}`);
      seen.add(p);
      targets.push(s);
    }
    let refused = 0;
    for (const s of targets) if (this.enqueue(s, priority, payload) === SendStatus.Rejected) refused++;
    return refused;
  }

  broadcast(priority: Priority, payload: Uint8Array): number {
    return this.multicast(this.peers, priority, payload);
  }

  isConnected(peer: PeerId): boolean {
    return this.slots[peer]?.link?.isOpen ?? false;
  }

  queuedBytes(peer: PeerId): number {
    return this.slot(peer).queue.bytes;
  }

  /**
   * Disconnects `peer` and refuses it for `ms` (from now; a longer ban already running stands): its handshakes are
   * refused with BANNED once it authenticated (counted, not held against its address), and we do not dial it.
   */
  ban(peer: PeerId, ms: number): void {
    const s = this.slot(peer);
    if (!(ms > 0)) return;
    const until = this.scheduler.now() + ms;
    if (until <= s.bannedUntil) return;
    s.bannedUntil = until;
    if (s.link !== undefined) s.link.refuse("BANNED");
    if (s.dialing !== undefined && s.dialing !== s.link) s.dialing.refuse("BANNED");
  }

  /** Whether `peer` is banned now. */
  isBanned(peer: PeerId): boolean {
    return (this.slots[peer]?.bannedUntil ?? 0) > this.scheduler.now();
  }

  /**
   * When `peer`'s current link came up, and when the last frame from it arrived (a message or a liveness ping/pong, on
   * the current link or the last one), on this transport's scheduler clock; null: not connected / never connected.
   * Read-only, for operators (`GET /v1/peers`). It costs the message path nothing: the arrival time is the link's
   * liveness stamp, read once per frame anyway (link.ts); only link-up and link-down write here.
   */
  peerActivity(peer: PeerId): { connectedSince: number | null; lastReceivedAt: number | null } {
    const s = this.slot(peer);
    const up = s.link?.isOpen ?? false;
    const last = s.link !== undefined ? s.link.lastReceivedAt : s.lastReceivedAt;
    return { connectedSince: up && s.connectedSince >= 0 ? s.connectedSince : null, lastReceivedAt: last >= 0 ? last : null };
  }

  stats(): TransportStats {
    const peers: PeerStats[] = [];
    for (const s of this.slots) {
      if (s === undefined) continue;
      peers.push({
        peer: s.id,
        connected: s.link?.isOpen ?? false,
        flagged: s.flagged,
        connects: s.connects,
        socketBufferedBytes: s.link?.isOpen ? s.link.socket.bufferedAmount() : 0,
        classes: s.queue.classes.map((c) => ({ ...c })),
      });
    }
    return {
      self: this.self,
      peers,
      refused: { ...this.refusedCounts },
      admission: {
        pendingHandshakes: this.admission.pending,
        backedOffSources: this.admission.backedOffSources(),
        heldConnections: this.server?.heldUpgrades ?? 0,
        bannedPeers: this.peers.filter((p) => this.isBanned(p)),
      },
    };
  }

  // ---- LinkOwner ----

  linkAuthenticated(link: Link, peer: PeerId): void {
    const s = this.slots[peer]!;
    if (s.bannedUntil > this.scheduler.now()) {
      // A banned validator proved its key: refused, but not held against its address (it may share one with others).
      this.settleInbound(link, "neutral");
      link.refuse("BANNED");
      return;
    }
    if (link.role === "listener") {
      this.settleInbound(link, "authenticated");
      const old = s.link;
      if (old !== undefined) {
        s.link = undefined;
        old.refuse("DUPLICATE_CONNECTION");
        this.handler.onPeerDown?.(peer, "replaced");
      }
    } else {
      s.dialing = undefined;
      s.attempt = 0;
    }
    if (this.state !== "started") {
      link.refuse("SHUTDOWN");
      return;
    }
    s.link = link;
    s.connects++;
    s.connectedSince = this.scheduler.now();
    s.blocked = false;
    this.handler.onPeerUp?.(peer);
    this.scheduleFlush(s);
  }

  linkMessage(link: Link, priority: Priority, payload: Uint8Array): void {
    const s = this.slots[link.peer!]!;
    if (s.link !== link) return; // a replaced link's last frames
    const st = s.queue.classes[priority]!;
    st.receivedMessages++;
    st.receivedBytes += payload.length;
    this.handler.onMessage(s.id, payload, priority);
  }

  linkWritable(link: Link): void {
    const s = this.slots[link.peer!]!;
    if (s.link !== link) return;
    s.blocked = false;
    this.flush(s);
  }

  linkClosed(link: Link, refusal: RefusalCode | undefined, byPeer: boolean): void {
    if (byPeer && refusal !== undefined && refusal !== "SHUTDOWN" && refusal !== "DUPLICATE_CONNECTION") this.count(`peer:${refusal}`);
    // A listener-side handshake that ends here never authenticated: its source failed one, unless we were stopping.
    this.settleInbound(link, this.state === "started" && refusal !== "SHUTDOWN" ? "failed" : "neutral");
    const peer = link.peer ?? link.expected;
    const s = peer === undefined ? undefined : this.slots[peer];
    if (s !== undefined) {
      if (s.dialing === link) s.dialing = undefined;
      if (s.link === link) {
        s.link = undefined;
        s.blocked = false;
        s.connectedSince = -1;
        s.lastReceivedAt = link.lastReceivedAt;
        this.handler.onPeerDown?.(s.id, refusal ?? "closed");
      }
      if (this.state === "started" && link.role === "dialer" && s.link === undefined && s.dialing === undefined) this.scheduleReconnect(s);
    }
    if (this.state === "stopping" && this.allClosed()) {
      const w = this.closeWaiters;
      this.closeWaiters = [];
      for (const f of w) f();
    }
  }

  refused(code: RefusalCode): void {
    this.count(code);
  }

  internalError(err: unknown): void {
    // Our own signer failed: not the peer's fault and not recoverable here. Surface it as an uncaught error.
    queueMicrotask(() => {
      throw err;
    });
  }

  // ---- internals ----

  /** Appends a peer slot (and its id to `peers`) at the next index. */
  private pushPeer(v: ValidatorEntry): PeerSlot {
    const s: PeerSlot = {
      id: this.slots.length,
      publicKey: v.publicKey,
      address: v.address,
      queue: new PeerQueue(this.queueLimits),
      link: undefined,
      dialing: undefined,
      reconnectTimer: undefined,
      attempt: 0,
      flushScheduled: false,
      blocked: false,
      hadQueued: false,
      flagged: false,
      connects: 0,
      bannedUntil: 0,
      connectedSince: -1,
      lastReceivedAt: -1,
    };
    this.slots.push(s);
    this.peerList.push(s.id);
    return s;
  }

  private slot(peer: PeerId): PeerSlot {
    const s = this.slots[peer];
    if (s === undefined) throw new NetError("UNKNOWN_PEER", `no peer ${peer}`);
    return s;
  }

  private weDial(peer: PeerId): boolean {
    return this.self < peer;
  }

  private count(code: string): void {
    this.refusedCounts[code] = (this.refusedCounts[code] ?? 0) + 1;
  }

  private enqueue(s: PeerSlot, priority: Priority, payload: Uint8Array): SendStatus {
    const r = s.queue.push(priority, payload);
    if (r.status === SendStatus.Rejected) {
      if (priority === Priority.Consensus && !s.flagged) {
        s.flagged = true;
        this.handler.onPeerFlagged?.(s.id, "CONSENSUS_QUEUE_FULL");
      }
      return r.status;
    }
    s.hadQueued = true;
    // Flush in a microtask: every message sent in the current task lands in the same frames.
    if (!s.flushScheduled && !s.blocked && s.link !== undefined) this.scheduleFlush(s);
    return r.status;
  }

  private scheduleFlush(s: PeerSlot): void {
    if (s.flushScheduled) return;
    s.flushScheduled = true;
    queueMicrotask(() => {
      s.flushScheduled = false;
      this.flush(s);
    });
  }

  /** Hands frames to the socket until its buffer reaches high-water or the queues are empty. */
  private flush(s: PeerSlot): void {
    const link = s.link;
    if (link === undefined || !link.isOpen || s.blocked) return;
    const sock = link.socket;
    const hw = this.o.socketHighWaterBytes;
    const fb = this.o.frameBytes;
    let dropped = false;
    sock.cork(() => {
      let buffered = sock.bufferedAmount();
      while (buffered < hw && sock.writable) {
        // Built in the socket's reused frame memory; the link seals the frame's last TAG_BYTES.
        const frame = s.queue.nextFrame(fb, TAG_BYTES, sock.frameBuffer);
        if (frame === null) break;
        if (!link.sendFrame(frame)) {
          // Open link, frame refused: uWS dropped it over maxBackpressure. Cannot happen while we stop at high-water
          // (maxBackpressure leaves two frames of room), but if it does, the frame's messages are gone: say so,
          // and reset the link rather than carry on with a hole in the stream.
          dropped = true;
          break;
        }
        buffered = sock.bufferedAmount();
      }
    });
    if (dropped) {
      link.refuse("SEND_DROPPED");
      return;
    }
    // The flag marks a peer whose consensus queue overflowed; it clears once that queue has drained.
    if (s.queue.classes[Priority.Consensus]!.queuedMessages === 0) s.flagged = false;
    if (!s.queue.isEmpty()) {
      if (link.isOpen) {
        s.blocked = true;
        sock.wantWritable();
      }
      return;
    }
    if (s.hadQueued) {
      s.hadQueued = false;
      this.handler.onDrain?.(s.id);
    }
  }

  /** A validator's configured address is never put in back-off (admission.ts `trust`). */
  private trustAddress(address: PeerAddress | undefined): void {
    const key = address === undefined ? undefined : sourceKeyOfText(address.host);
    if (key !== undefined) this.admission.trust(key);
  }

  /** The upgrade handler's question (`UwsServer`): may a connection from `source` become a pending handshake? */
  private admit(source: string): UpgradeRefusal | undefined {
    const v = this.admission.admit(source);
    if (v.ok) return undefined;
    this.count(v.code);
    // A source in back-off is tarpitted (held unanswered, bounded: uwsServer.ts TARPIT): answering it at once would
    // let it reconnect at once, ≈ 60 µs of our CPU per connection however cheap the refusal.
    return { status: UPGRADE_STATUS[v.code], retryAfterSec: Math.max(1, Math.ceil(v.retryAfterMs / 1000)), reason: v.code, hold: v.code === "SOURCE_BACKOFF" };
  }

  private accept(sock: UwsServerSocket): void {
    const link = new Link(this, sock, "listener");
    if (this.state !== "started") {
      link.refuse("SHUTDOWN");
      return;
    }
    if (link.isClosed) return;
    // Synchronous with the upgrade (uWS runs `open` inside `res.upgrade`): the next upgrade's admission sees this slot.
    this.admission.opened(sock.source);
    this.pendingInbound.set(link, sock.source);
  }

  /** Ends `link`'s admission slot, if it holds one, with this outcome. */
  private settleInbound(link: Link, outcome: "authenticated" | "failed" | "neutral"): void {
    const source = this.pendingInbound.get(link);
    if (source === undefined) return;
    this.pendingInbound.delete(link);
    this.admission.closed(source, outcome);
  }

  private dial(s: PeerSlot): void {
    if (s.address === undefined || this.state !== "started") return;
    const wait = s.bannedUntil - this.scheduler.now();
    if (wait > 0) {
      // Banned: dial again when the ban ends.
      s.reconnectTimer?.cancel();
      s.reconnectTimer = this.scheduler.setTimeout(() => {
        s.reconnectTimer = undefined;
        if (this.state === "started" && s.link === undefined && s.dialing === undefined) this.dial(s);
      }, wait);
      return;
    }
    const { host, port } = s.address;
    const h = host.includes(":") ? `[${host}]` : host;
    const sock = new WsClientSocket(`ws://${h}:${port}${this.o.path}`, {
      maxFrameBytes: this.maxFrameBytes,
      connectTimeoutMs: this.o.handshakeTimeoutMs,
      lowWaterBytes: this.o.socketHighWaterBytes / 2,
    });
    s.dialing = new Link(this, sock, "dialer", s.id);
  }

  private scheduleReconnect(s: PeerSlot): void {
    if (s.reconnectTimer !== undefined) return;
    const delay = backoffDelay(s.attempt++, this.backoff, this.random);
    s.reconnectTimer = this.scheduler.setTimeout(() => {
      s.reconnectTimer = undefined;
      if (this.state === "started" && s.link === undefined && s.dialing === undefined) this.dial(s);
    }, delay);
  }

  private allClosed(): boolean {
    if (this.pendingInbound.size > 0) return false;
    for (const s of this.slots) if (s !== undefined && (s.link !== undefined || s.dialing !== undefined)) return false;
    return true;
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
