/**
 * The in-memory network: the transport contract without sockets, for tests and the deterministic simulator.
 *
 *   const sched = new ManualScheduler();
 *   const net = new MemoryNetwork({ size: 4, seed: 42, faults: { delay: { kind: "uniform", minMs: 5, maxMs: 20 }, loss: 0.01 } }, { scheduler: sched });
 *   const t0 = net.transport(0);          // a Transport; setHandler + start like any other
 *   …
 *   const p = net.partition([[0, 1], [2, 3]]);   // links across groups go down (peer down events), traffic is lost
 *   sched.advance(1_000);                 // the simulator steps virtual time; deliveries and timers run in order
 *   p.heal();                             // or net.heal(); links come back up (peer up events)
 *
 * Model:
 * - A message sent at t arrives at t + delay, delay drawn from the (from → to) link's distribution. Links are FIFO
 *   (like TCP): without the reorder fault a message never overtakes an earlier one on the same link.
 * - loss drops, duplicate adds a copy with its own delay, reorder takes a message out of FIFO order with extra delay.
 * - A link is up when both ends are started and no partition separates them. Crossing a partition, or reaching a
 *   stopped (or restarted) node, loses the message — checked when it is sent and again when it would arrive.
 * - `block(from, to)` silently drops one direction without any peer event (an asymmetric fault).
 * - `Transport.ban(peer, ms)` cuts the pair both ways until it expires, like a two-node partition (peer down events,
 *   drops counted as "partition"), then the link comes back up.
 * - `setInterceptor(fn)` sees every message at send time and may drop, delay or replace it: content-aware faults
 *   for scenario tests (drop the votes of one view, delay one leader's proposals, corrupt a signature…).
 * - Bandwidth (optional, `modules.uplinks`): a peer given an `Uplink` (uplink.ts) serialises its outbound bytes FIFO
 *   over all its links at the uplink's rate; a message then arrives when its last byte has left plus the link's delay.
 *   The uplink object may be shared with another channel sending from the same node (the simulator's WAN model).
 *   Lost messages used the uplink (the bytes left); ones refused at send time (partition, block, down, interceptor)
 *   did not. The queue is unbounded: `send` never returns Rejected and `queuedBytes` stays 0. Without uplinks nothing
 *   queues.
 * - Geography (optional, `modules.links`, a `LinkModel`): a per-pair base delay (and loss) drawn per message and added
 *   to the faults' delay — a WAN's latency matrix and jitter beneath the scenario's faults. Without it links are
 *   exactly the faults, and the random stream is the one runs without it always drew.
 * - Every event (peer up/down, delivery) runs from the scheduler, never synchronously inside a call.
 * Randomness comes from one `SeededRng(seed)`; with a `ManualScheduler` a run replays exactly.
 */
import type { Scheduler } from "../util/clock.js";
import { SeededRng } from "../util/rng.js";
import { Deque } from "./deque.js";
import type { Uplink } from "./uplink.js";
import { PERFECT_LINK, sampleDelay, validateFaults } from "./faults.js";
import type { LinkFaults } from "./faults.js";
import { checkPriority, DEFAULT_MAX_MESSAGE_BYTES, emptyClassStats, NetError, PRIORITY_COUNT, SendStatus } from "./transport.js";
import type { ClassStats, PeerId, Priority, Transport, TransportHandler, TransportStats } from "./transport.js";

export interface MemoryNetworkOptions {
  /** Number of validators (PeerIds 0..size-1). */
  size: number;
  seed: number;
  /** Faults of every link (defaults: PERFECT_LINK fields). */
  faults?: Partial<LinkFaults>;
  /** Largest payload; same meaning as in UwsTransport (default DEFAULT_MAX_MESSAGE_BYTES). */
  maxMessageBytes?: number;
}

/** What the network reports to an optional tracer (the simulator's event log). */
export type NetTraceEvent =
  | { kind: "send"; at: number; from: PeerId; to: PeerId; priority: Priority; bytes: number }
  | { kind: "deliver"; at: number; from: PeerId; to: PeerId; priority: Priority; bytes: number; duplicate: boolean }
  | { kind: "drop"; at: number; from: PeerId; to: PeerId; priority: Priority; bytes: number; reason: DropReason }
  | { kind: "link"; at: number; a: PeerId; b: PeerId; up: boolean };

export type DropReason = "loss" | "partition" | "blocked" | "down" | "intercepted";

/** What an interceptor sees: one message at send time (before the link's faults apply). */
export interface InterceptedMessage {
  at: number;
  from: PeerId;
  to: PeerId;
  priority: Priority;
  payload: Uint8Array;
}

/**
 * An interceptor's decision; `undefined` lets the message through unchanged. `delay` holds back only this message
 * (it leaves the link's FIFO order, later messages may overtake it); `replace` delivers other bytes instead.
 */
export type InterceptVerdict = { action: "drop" } | { action: "delay"; ms: number } | { action: "replace"; payload: Uint8Array };

export type Interceptor = (m: InterceptedMessage) => InterceptVerdict | undefined;

/**
 * Properties of the directed links that come from where the peers are (a WAN's regions), beneath the faults: its
 * delay is added to the faults' delay and its loss applies after theirs. Draws come from the network's own RNG.
 */
export interface LinkModel {
  /** One-way delay from → to of one message (ms, >= 0). */
  delay(from: PeerId, to: PeerId, rng: SeededRng): number;
  /** Probability in [0, 1] that a message from → to is lost. */
  loss(from: PeerId, to: PeerId): number;
}

export interface MemoryNetworkModules {
  scheduler: Scheduler;
  trace?: (e: NetTraceEvent) => void;
  /** Each peer's outbound bandwidth (index = PeerId; missing or undefined: unlimited). May be shared with other channels. */
  uplinks?: readonly (Uplink | undefined)[];
  links?: LinkModel;
}

/** Counters of the whole network. */
export interface MemoryNetworkStats {
  sent: number;
  delivered: number;
  duplicated: number;
  reordered: number;
  dropped: Record<DropReason, number>;
  inFlight: number;
}

/** A partition created by `MemoryNetwork.partition`; `heal()` removes it (idempotent). */
export interface Partition {
  readonly groups: readonly (readonly PeerId[])[];
  heal(): void;
}

interface InFlight {
  from: PeerId;
  to: PeerId;
  priority: Priority;
  payload: Uint8Array;
  /** Receiver's start epoch when sent: a restart in between loses the message. */
  epoch: number;
  duplicate: boolean;
  done: boolean;
}

interface DirectedLink {
  /** Arrival time of the last FIFO message, to keep FIFO order under random delays. */
  lastArrival: number;
  /** FIFO messages in send order; each one's timer delivers everything up to and including it. */
  fifo: Deque<InFlight>;
  faults: LinkFaults | undefined;
  blocked: boolean;
}

export class MemoryNetwork {
  readonly size: number;
  readonly maxMessageBytes: number;
  private readonly rng: SeededRng;
  private readonly scheduler: Scheduler;
  private readonly trace: ((e: NetTraceEvent) => void) | undefined;
  private faults: LinkFaults;
  private readonly links: DirectedLink[];
  private readonly transports: (MemoryTransport | undefined)[];
  private partitions: { groupOf: Map<PeerId, number> }[] = [];
  /** Current link state per unordered pair, to emit up/down events on changes only. */
  private readonly up: boolean[];
  private readonly counters: MemoryNetworkStats = { sent: 0, delivered: 0, duplicated: 0, reordered: 0, dropped: { loss: 0, partition: 0, blocked: 0, down: 0, intercepted: 0 }, inFlight: 0 };
  private interceptor: Interceptor | undefined;
  /** Banned pairs (`a * size + b`, a < b) → until (scheduler ms). */
  private readonly bans = new Map<number, number>();
  private readonly uplinks: readonly (Uplink | undefined)[];
  private readonly linkModel: LinkModel | undefined;

  constructor(opts: MemoryNetworkOptions, modules: MemoryNetworkModules) {
    if (!Number.isInteger(opts.size) || opts.size < 1) throw new NetError("BAD_CONFIG", "size must be a positive integer");
    this.size = opts.size;
    this.maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.rng = new SeededRng(opts.seed);
    this.scheduler = modules.scheduler;
    this.trace = modules.trace;
    this.uplinks = modules.uplinks ?? [];
    if (this.uplinks.length > opts.size) throw new NetError("BAD_CONFIG", `${this.uplinks.length} uplinks for ${opts.size} peers`);
    this.linkModel = modules.links;
    this.faults = validateFaults({ ...PERFECT_LINK, ...opts.faults });
    this.links = Array.from({ length: opts.size * opts.size }, () => ({ lastArrival: -Infinity, fifo: new Deque<InFlight>(), faults: undefined, blocked: false }));
    this.transports = new Array<MemoryTransport | undefined>(opts.size).fill(undefined);
    this.up = new Array<boolean>(opts.size * opts.size).fill(false);
  }

  /** The transport of validator `i` (one object per index, restartable with stop()/start()). */
  transport(i: PeerId): MemoryTransport {
    this.checkPeer(i);
    let t = this.transports[i];
    if (t === undefined) {
      t = new MemoryTransport(this, i);
      this.transports[i] = t;
    }
    return t;
  }

  /** Replaces the faults of every link without an override. */
  setFaults(faults: Partial<LinkFaults>): void {
    this.faults = validateFaults({ ...this.faults, ...faults });
  }

  /** Overrides the faults of the directed link from → to (`undefined` returns it to the network-wide faults). */
  setLinkFaults(from: PeerId, to: PeerId, faults: Partial<LinkFaults> | undefined): void {
    const l = this.link(from, to);
    l.faults = faults === undefined ? undefined : validateFaults({ ...this.faults, ...faults });
  }

  /** Silently drops everything from → to (or stops doing so). No peer events: the sender cannot tell. */
  block(from: PeerId, to: PeerId, blocked = true): void {
    this.link(from, to).blocked = blocked;
  }

  /** Installs (or with `undefined` removes) the message interceptor. */
  setInterceptor(fn: Interceptor | undefined): void {
    this.interceptor = fn;
  }

  /**
   * Splits the network: peers in different groups cannot talk. Peers not named form one more group together.
   * Several partitions may be active; two peers are connected only if no active partition separates them.
   * `healAfterMs` schedules `heal()` on the network's scheduler.
   */
  partition(groups: readonly (readonly PeerId[])[], opts: { healAfterMs?: number } = {}): Partition {
    const groupOf = new Map<PeerId, number>();
    groups.forEach((g, gi) =>
      g.forEach((p) => {
        this.checkPeer(p);
        if (groupOf.has(p)) throw new NetError("BAD_CONFIG", `peer ${p} is in two groups`);
        groupOf.set(p, gi);
      }),
    );
    for (let p = 0; p < this.size; p++) if (!groupOf.has(p)) groupOf.set(p, groups.length);
    const entry = { groupOf };
    this.partitions.push(entry);
    this.refreshLinks();
    const heal = (): void => {
      const i = this.partitions.indexOf(entry);
      if (i < 0) return;
      this.partitions.splice(i, 1);
      this.refreshLinks();
    };
    if (opts.healAfterMs !== undefined) this.scheduler.setTimeout(heal, opts.healAfterMs);
    return { groups: groups.map((g) => [...g]), heal };
  }

  /** `partition([[peer]])`: cuts one peer off from everyone. */
  isolate(peer: PeerId): Partition {
    return this.partition([[peer]]);
  }

  /** Removes every partition. */
  heal(): void {
    this.partitions = [];
    this.refreshLinks();
  }

  /** Whether a and b can currently exchange messages (both started, not partitioned; blocks not considered). */
  connected(a: PeerId, b: PeerId): boolean {
    return a !== b && this.isStarted(a) && this.isStarted(b) && !this.separated(a, b);
  }

  stats(): MemoryNetworkStats {
    return { ...this.counters, dropped: { ...this.counters.dropped } };
  }

  // ---- used by MemoryTransport ----

  /** @internal cuts a–b until `ms` from now (a longer cut already running stands). */
  banPair(a: PeerId, b: PeerId, ms: number): void {
    const k = Math.min(a, b) * this.size + Math.max(a, b);
    const until = this.scheduler.now() + ms;
    if (!(ms > 0) || until <= (this.bans.get(k) ?? 0)) return;
    this.bans.set(k, until);
    this.refreshLinks();
    this.scheduler.setTimeout(() => {
      if (this.bans.get(k) === until) this.bans.delete(k);
      this.refreshLinks();
    }, ms);
  }

  /** @internal */
  pairBanned(a: PeerId, b: PeerId): boolean {
    return (this.bans.get(Math.min(a, b) * this.size + Math.max(a, b)) ?? 0) > this.scheduler.now();
  }

  /** @internal */
  isStarted(i: PeerId): boolean {
    return this.transports[i]?.started ?? false;
  }

  /** @internal a transport started or stopped. */
  refreshLinks(): void {
    for (let a = 0; a < this.size; a++) {
      for (let b = a + 1; b < this.size; b++) {
        const now = this.connected(a, b);
        const k = a * this.size + b;
        if (now === this.up[k]) continue;
        this.up[k] = now;
        this.trace?.({ kind: "link", at: this.scheduler.now(), a, b, up: now });
        // Events go through the scheduler, each to the transport that is started at the time they fire.
        const reason = now ? "" : !(this.isStarted(a) && this.isStarted(b)) ? "stopped" : this.pairBanned(a, b) ? "banned" : "partition";
        for (const [x, y] of [[a, b], [b, a]] as const) {
          const t = this.transports[x];
          if (t === undefined) continue;
          const epoch = t.epoch;
          this.scheduler.setTimeout(() => {
            if (t.started && t.epoch === epoch) t.peerEvent(y, now, reason);
          }, 0);
        }
      }
    }
  }

  /** @internal */
  post(from: PeerId, to: PeerId, priority: Priority, payload: Uint8Array): void {
    const c = this.counters;
    c.sent++;
    const at = this.scheduler.now();
    const bytes = payload.length;
    this.trace?.({ kind: "send", at, from, to, priority, bytes });
    const link = this.link(from, to);
    const drop = this.dropReason(from, to, link);
    if (drop !== undefined) return this.dropped(drop, from, to, priority, bytes);
    let extraDelay = 0;
    if (this.interceptor !== undefined) {
      const v = this.interceptor({ at, from, to, priority, payload });
      if (v?.action === "drop") return this.dropped("intercepted", from, to, priority, bytes);
      if (v?.action === "delay") extraDelay = Math.max(0, v.ms);
      if (v?.action === "replace") payload = v.payload;
    }
    const f = link.faults ?? this.faults;
    // The bytes leave the sender's uplink whether or not the network then loses them; `queued` is the wait for that.
    const uplink = this.uplinks[from];
    const queued = uplink === undefined ? 0 : uplink.depart(at, payload.length) - at;
    if (f.loss > 0 && this.rng.chance(f.loss)) return this.dropped("loss", from, to, priority, bytes);
    const model = this.linkModel;
    if (model !== undefined) {
      const p = model.loss(from, to);
      if (p > 0 && this.rng.chance(p)) return this.dropped("loss", from, to, priority, bytes);
    }
    const epoch = this.transports[to]!.epoch;
    const msg: InFlight = { from, to, priority, payload, epoch, duplicate: false, done: false };
    const delay = queued + this.linkDelay(f, from, to);
    if (extraDelay > 0) {
      // Only this message is held back (an adversary's scheduling), not the link behind it.
      this.scheduleLoose(msg, delay + extraDelay);
    } else if (f.reorder > 0 && this.rng.chance(f.reorder)) {
      c.reordered++;
      this.scheduleLoose(msg, delay + this.rng.float() * f.reorderExtraMs);
    } else {
      const arrival = Math.max(at + delay, link.lastArrival);
      link.lastArrival = arrival;
      link.fifo.push(msg);
      c.inFlight++;
      this.scheduler.setTimeout(() => this.deliverFifoThrough(link, msg), arrival - at);
    }
    if (f.duplicate > 0 && this.rng.chance(f.duplicate)) {
      c.duplicated++;
      // The network makes the copy after the original left the sender: it does not use the uplink again.
      this.scheduleLoose({ ...msg, duplicate: true }, queued + this.linkDelay(f, from, to));
    }
  }

  /** One message's delay over from → to: the faults' draw, plus the link model's when there is one. */
  private linkDelay(f: LinkFaults, from: PeerId, to: PeerId): number {
    const d = sampleDelay(f.delay, this.rng);
    return this.linkModel === undefined ? d : d + this.linkModel.delay(from, to, this.rng);
  }

  private scheduleLoose(msg: InFlight, delay: number): void {
    this.counters.inFlight++;
    this.scheduler.setTimeout(() => this.arrive(msg), delay);
  }

  /** Delivers the link's FIFO messages up to and including `msg` (timers may fire in any order at equal times). */
  private deliverFifoThrough(link: DirectedLink, msg: InFlight): void {
    while (!msg.done) {
      const head = link.fifo.shift();
      if (head === undefined) return;
      this.arrive(head);
    }
  }

  private arrive(msg: InFlight): void {
    if (msg.done) return;
    msg.done = true;
    this.counters.inFlight--;
    const { from, to, priority } = msg;
    const bytes = msg.payload.length;
    const t = this.transports[to];
    if (t === undefined || !t.started || t.epoch !== msg.epoch) return this.dropped("down", from, to, priority, bytes);
    const link = this.link(from, to);
    const drop = this.dropReason(from, to, link);
    if (drop !== undefined) return this.dropped(drop, from, to, priority, bytes);
    this.counters.delivered++;
    this.trace?.({ kind: "deliver", at: this.scheduler.now(), from, to, priority, bytes, duplicate: msg.duplicate });
    t.receive(from, priority, msg.payload);
  }

  private dropReason(from: PeerId, to: PeerId, link: DirectedLink): DropReason | undefined {
    if (!this.isStarted(to)) return "down";
    if (this.separated(from, to)) return "partition";
    if (link.blocked) return "blocked";
    return undefined;
  }

  private dropped(reason: DropReason, from: PeerId, to: PeerId, priority: Priority, bytes: number): void {
    this.counters.dropped[reason]++;
    this.trace?.({ kind: "drop", at: this.scheduler.now(), from, to, priority, bytes, reason });
  }

  private separated(a: PeerId, b: PeerId): boolean {
    if (this.bans.size > 0 && this.pairBanned(a, b)) return true;
    for (const p of this.partitions) if (p.groupOf.get(a) !== p.groupOf.get(b)) return true;
    return false;
  }

  private link(from: PeerId, to: PeerId): DirectedLink {
    this.checkPeer(from);
    this.checkPeer(to);
    return this.links[from * this.size + to]!;
  }

  private checkPeer(p: PeerId): void {
    if (!Number.isInteger(p) || p < 0 || p >= this.size) throw new NetError("UNKNOWN_PEER", `no peer ${p}`);
  }
}

/** One validator's endpoint on a `MemoryNetwork`. Implements `Transport`; restartable (stop, then start again). */
export class MemoryTransport implements Transport {
  readonly peers: readonly PeerId[];
  readonly maxMessageBytes: number;
  /** @internal */ started = false;
  /** @internal incremented by every start: messages addressed to an earlier incarnation are lost. */ epoch = 0;
  private handler: TransportHandler = { onMessage: () => {} };
  private readonly classes: ClassStats[][];
  private readonly connects: number[];

  constructor(
    private readonly net: MemoryNetwork,
    readonly self: PeerId,
  ) {
    this.peers = Array.from({ length: net.size }, (_, i) => i).filter((i) => i !== self);
    this.maxMessageBytes = net.maxMessageBytes;
    this.classes = Array.from({ length: net.size }, () => Array.from({ length: PRIORITY_COUNT }, emptyClassStats));
    this.connects = new Array<number>(net.size).fill(0);
  }

  setHandler(handler: TransportHandler): void {
    this.handler = handler;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.epoch++;
    this.net.refreshLinks();
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.net.refreshLinks();
  }

  send(to: PeerId, priority: Priority, payload: Uint8Array): SendStatus {
    this.check(priority, payload);
    if (to === this.self || !Number.isInteger(to) || to < 0 || to >= this.net.size) throw new NetError("UNKNOWN_PEER", `no peer ${to}`);
    this.post(to, priority, payload);
    return SendStatus.Queued;
  }

  multicast(to: Iterable<PeerId>, priority: Priority, payload: Uint8Array): number {
    this.check(priority, payload);
    const targets: PeerId[] = [];
    const seen = new Set<PeerId>();
    for (const p of to) {
      if (p === this.self || seen.has(p)) continue;
      if (!Number.isInteger(p) || p < 0 || p >= this.net.size) throw new NetError("UNKNOWN_PEER", `no peer ${p}`);
      seen.add(p);
      targets.push(p);
    }
    for (const p of targets) this.post(p, priority, payload);
    return 0;
  }

  broadcast(priority: Priority, payload: Uint8Array): number {
    return this.multicast(this.peers, priority, payload);
  }

  isConnected(peer: PeerId): boolean {
    return this.started && this.net.connected(this.self, peer);
  }

  ban(peer: PeerId, ms: number): void {
    if (peer === this.self || !Number.isInteger(peer) || peer < 0 || peer >= this.net.size) throw new NetError("UNKNOWN_PEER", `no peer ${peer}`);
    this.net.banPair(this.self, peer, ms);
  }

  isBanned(peer: PeerId): boolean {
    return this.net.pairBanned(this.self, peer);
  }

  queuedBytes(peer: PeerId): number {
    if (peer === this.self || !Number.isInteger(peer) || peer < 0 || peer >= this.net.size) throw new NetError("UNKNOWN_PEER", `no peer ${peer}`);
    return 0;
  }

  stats(): TransportStats {
    return {
      self: this.self,
      peers: this.peers.map((p) => ({
        peer: p,
        connected: this.isConnected(p),
        flagged: false,
        connects: this.connects[p]!,
        socketBufferedBytes: 0,
        classes: this.classes[p]!.map((c) => ({ ...c })),
      })),
      refused: {},
      admission: { pendingHandshakes: 0, backedOffSources: 0, heldConnections: 0, bannedPeers: this.peers.filter((p) => this.isBanned(p)) },
    };
  }

  /** @internal */
  receive(from: PeerId, priority: Priority, payload: Uint8Array): void {
    const st = this.classes[from]![priority]!;
    st.receivedMessages++;
    st.receivedBytes += payload.length;
    this.handler.onMessage(from, payload, priority);
  }

  /** @internal */
  peerEvent(peer: PeerId, up: boolean, reason: string): void {
    if (up) {
      this.connects[peer]!++;
      this.handler.onPeerUp?.(peer);
    } else {
      this.handler.onPeerDown?.(peer, reason);
    }
  }

  private post(to: PeerId, priority: Priority, payload: Uint8Array): void {
    const st = this.classes[to]![priority]!;
    st.sentMessages++;
    st.sentBytes += payload.length;
    this.net.post(this.self, to, priority, payload);
  }

  private check(priority: Priority, payload: Uint8Array): void {
    if (!this.started) throw new NetError("NOT_STARTED", "transport is not started");
    checkPriority(priority);
    if (payload.length > this.maxMessageBytes) throw new NetError("MESSAGE_TOO_LARGE", `${payload.length} bytes > maxMessageBytes ${this.maxMessageBytes}`);
  }
}
