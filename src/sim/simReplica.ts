/**
 * One simulated validator instance: the node's own consensus stack (src/node/consensusStack.ts — the shipping
 * `ConsensusShell` with its proposer, tx gossip, executor, KV application and mempool) over `MemoryChainStore` and the
 * in-memory network, on the simulator's virtual clock. What this file adds is only what a simulation needs on top:
 *
 * - **Crashes.** The "disk" is a `MemoryChainData` that outlives the stack. A crash can be armed to happen just before
 *   the k-th IO operation of the instance (a durable write or one message handed to the network): that operation and
 *   everything after it never happen, and the stack is thrown away; a restart builds a new one over the same data,
 *   exactly as `quire node` restarts over its LMDB directory.
 * - **Byzantine rewriting.** A misbehaving validator runs an honest stack whose outgoing messages are rewritten
 *   (byzantine.ts): all other replicas can observe. A few behaviours also make up messages from what they receive.
 * - **Twins.** Two instances of one validator: the shell addresses validators, this endpoint maps them to instances.
 * - **The persist-before-send check**, on every message that leaves, against the safety state the store holds at that
 *   moment (the rule is checkers.ts `uncoveredSend`).
 * - **A client** that submits one KV transaction to this instance every `clientIntervalMs`, so blocks carry real
 *   transactions through the mempool, gossip, execution and commit.
 */
import { encodeKvTx } from "../chain/app/kvTx.js";
import { MemoryChainData, MemoryChainStore } from "../chain/store/memoryStore.js";
import type { ChainStore } from "../chain/store/interface.js";
import type { CommittedSummary } from "../chain/executor.js";
import type { ModularApplication } from "../chain/app/modular.js";
import { decodeSafetyRecord } from "../chain/store/records.js";
import type { SafetyRecord } from "../chain/store/records.js";
import type { BlockHasher } from "../consensus/blockHash.js";
import type { CertificateAggregator } from "../consensus/certificates.js";
import type { LeaderConfig } from "../consensus/leaderElection.js";
import type { PacemakerConfig } from "../consensus/pacemaker.js";
import type { ConsensusSigner } from "../consensus/signing.js";
import type { CertificateVerifier } from "../consensus/validation/verifier.js";
import type { Block, Message } from "../domain/types.js";
import { Priority, SendStatus } from "../net/transport.js";
import type { Transport } from "../net/transport.js";
import { buildConsensusStack } from "../node/consensusStack.js";
import type { EpochReader, EpochSet } from "../node/epochShell.js";
import type { ConsensusStack } from "../node/consensusStack.js";
import type { PayloadSource } from "../node/proposer.js";
import { SILENT } from "../node/logger.js";
import { InlinePrecheck } from "../node/precheck.js";
import { CachingVerifier } from "../consensus/validation/verifier.js";
import { bytesEqual, utf8, writeU64BE } from "../util/bytes.js";
import type { Scheduler, TimerHandle } from "../util/clock.js";
import type { SeededRng } from "../util/rng.js";
import { decodeEnvelope, encodeMessage } from "../wire/codec.js";
import { byzantineReceive, byzantineRewrite, RECEIVING_BEHAVIOURS } from "./byzantine.js";
import type { EvidenceReport } from "../consensus/validation/evidence.js";
import type { RunRecorder } from "./checkers.js";
import type { Behaviour } from "./scenario.js";

/** The sim's block policy: propose at once, with what the mempool holds (the happy-path latency test counts on it). */
const SIM_BLOCK = { maxTxs: 256, maxBytes: 1 << 20, minIntervalMs: 0, emptyIntervalMs: 0 } as const;
/** Keys each simulated client writes (in turn): the state holds at most this many per instance. */
const SIM_CLIENT_KEYS = 16;
/** A small state tree for that small state: 64 buckets, so every block rehashes a 6-level path per touched bucket. */
export const SIM_BUCKET_BITS = 6;
const SIM_GOSSIP = { intervalMs: 10, maxBatchTxs: 256, maxBatchBytes: 1 << 20 } as const;

/** Thrown from a store write when an armed crash is due: the write never happens (see the module comment). */
export class SimCrash extends Error {
  constructor() {
    super("simulated crash");
  }
}

export interface SimReplicaDeps {
  readonly instance: number;
  readonly validator: number;
  readonly validatorCount: number;
  readonly chainId: Uint8Array;
  readonly genesis: Block;
  readonly pacemaker: PacemakerConfig;
  /** The genesis's leader mode (default skip-inactive). */
  readonly leaderConfig?: LeaderConfig;
  readonly certificates: CertificateAggregator & CertificateVerifier;
  readonly optimisticVotes: boolean;
  readonly signer: ConsensusSigner;
  readonly hashBlock: BlockHasher;
  readonly txRoot: (txs: readonly Uint8Array[]) => Uint8Array;
  /** This instance's endpoint on the in-memory network (instance-indexed). */
  readonly network: Transport;
  readonly scheduler: Scheduler;
  readonly recorder: RunRecorder;
  /** Instances of each validator (twins have two). */
  readonly instancesOf: readonly (readonly number[])[];
  readonly validatorOfInstance: readonly number[];
  readonly behaviour: Behaviour | null;
  /** For Byzantine choices (a stream of its own, so honest behaviour does not depend on it). */
  readonly rng: SeededRng;
  /** Virtual ms between two client transactions to this instance (0: no client). */
  readonly clientIntervalMs: number;
  /** Most txs per block (default SIM_BLOCK's 256): throughput measurements over a WAN raise it. */
  readonly blockMaxTxs?: number;
  /**
   * The chain's application over the store, built once per incarnation (default: the KV module alone). Multi-chain
   * runs pass the main chain's, and keep each instance's handle on its modules (hence the instance).
   */
  readonly application?: (store: ChainStore, instance: number) => ModularApplication | { readonly app: ModularApplication; readonly validators: EpochReader | null };
  /**
   * Validator-set epochs (reconfig.ts): the certificates and signer of each epoch's set (this file puts the node's
   * precheck and verdict cache in front of them, as for epoch 0), and this instance's BLS key in the registry.
   */
  readonly epochs?: { readonly crypto: (set: EpochSet) => { readonly certificates: CertificateAggregator & CertificateVerifier; readonly signer: ConsensusSigner }; readonly selfKey: Uint8Array };
  /** Also told of every commit of this instance (after the recorder): multi-chain runs feed para nodes from it. */
  readonly onCommitted?: (instance: number, blocks: readonly CommittedSummary[]) => void;
  /** Geo runs: whether this instance holds its proposal of the block at `height` (ConsensusStackModules.proposeHold). */
  readonly proposeHold?: (instance: number, height: number) => boolean;
}

export class SimReplica {
  /** What survives a crash. */
  readonly data = new MemoryChainData();
  stack: ConsensusStack | null = null;
  private store: MemoryChainStore | null = null;
  private clientTimer: TimerHandle | null = null;
  private clientSeq = 0;
  private twinSeq = 0;
  /** IO operations (durable writes, messages handed to the network) since the first start, over all incarnations. */
  ioRun = 0;
  /** Crash just before IO operation number `crashBeforeIo` (absolute, see `ioRun`); null: never. */
  crashBeforeIo: number | null = null;
  private pastRejections = new Map<string, number>();
  private pastEvidence = 0;
  /** From start to crash: IO operations happen (a crashed incarnation's leftover calls are dropped). */
  private alive = false;
  /** While the stack is built (the genesis commit of a first start is not an operation a crash is aimed at). */
  private booting = false;
  crashes = 0;
  /** Exceptions other than simulated crashes that stopped the stack (a bug: the run reports them). */
  readonly fatal: unknown[] = [];
  private lastPayload: Uint8Array | null = null;
  private lastMessage: Message | null = null;
  /** The epoch `lastPayload` carried: a Byzantine rewrite keeps it. */
  private lastEpoch = 0;
  private lastRewrite: Map<number, Message[]> | null = null;
  private safetyBytes: Uint8Array | undefined;
  private safety: SafetyRecord | null = null;
  /** Instances whose link to this one is up. */
  private readonly linked = new Set<number>();

  constructor(readonly deps: SimReplicaDeps) {
    const receiving = deps.behaviour !== null && RECEIVING_BEHAVIOURS.has(deps.behaviour);
    deps.network.setHandler({
      onMessage: (from, payload) => {
        this.stack?.shell.onMessage(this.validatorOf(from), payload);
        if (receiving) this.byzantineReceive(from, payload);
      },
      onPeerUp: (peer) => {
        this.linked.add(peer);
        this.stack?.shell.onPeerUp(this.validatorOf(peer));
      },
      // A validator is down for the shell only when no instance of it (twins share one) is linked to us any more.
      onPeerDown: (peer) => {
        this.linked.delete(peer);
        const v = this.validatorOf(peer);
        for (const other of this.linked) if (this.validatorOf(other) === v) return;
        this.stack?.shell.onPeerDown(v);
      },
    });
  }

  get up(): boolean {
    return this.stack !== null;
  }

  /** The running incarnation's committed chain store (null while down): what a main node's RPC would read. */
  get chainStore(): ChainStore | null {
    return this.store;
  }

  /** The replica's current view (0 when down). */
  get view(): number {
    return this.stack?.shell.view ?? 0;
  }

  /** The validator that leads the current view (-1 when down). */
  get leader(): number {
    const s = this.stack?.shell;
    return s === undefined ? -1 : s.leader(s.view);
  }

  /** A remote view change asked by another geo cluster (node/geo): the shell times out its current view. */
  remoteTimeout(): void {
    this.stack?.shell.remoteTimeout();
  }

  /** Starts (first time) or restarts over the surviving data. */
  start(): void {
    if (this.up) return;
    const d = this.deps;
    // MemoryTransport starts (and stops) synchronously — the promise only reports it — so the run stays deterministic.
    void d.network.start();
    const store = MemoryChainStore.open({ chainId: d.chainId, genesisHash: d.hashBlock(d.genesis.header) }, this.data);
    this.store = store;
    this.alive = true;
    // The node's precheck, on the main thread: verdicts go into the cache validation reads, synchronously.
    const cache = new CachingVerifier(d.certificates);
    const precheck = new InlinePrecheck({ validatorCount: d.validatorCount }, { verifier: d.certificates, cache, hashBlock: d.hashBlock });
    this.booting = true;
    const stack = buildConsensusStack(
      {
        chainId: d.chainId,
        self: d.validator,
        validatorCount: d.validatorCount,
        genesis: d.genesis,
        pacemaker: d.pacemaker,
        leaderConfig: d.leaderConfig,
        block: d.blockMaxTxs === undefined ? SIM_BLOCK : { ...SIM_BLOCK, maxTxs: d.blockMaxTxs },
        gossip: SIM_GOSSIP,
        voteSignatures: d.optimisticVotes ? "defer" : "verify",
        bucketBits: SIM_BUCKET_BITS,
      },
      {
        store: this.crashableStore(store),
        certificates: d.certificates,
        validationVerifier: cache,
        signer: d.signer,
        precheck,
        transport: this.endpoint(),
        scheduler: d.scheduler,
        logger: SILENT,
        hashBlock: d.hashBlock,
        payload: d.behaviour === "twin" && d.instancesOf[d.validator]![0] !== d.instance ? (mempool) => this.twinPayload(mempool) : undefined,
        onCommit: (blocks) => {
          d.recorder.committed(d.instance, blocks, d.scheduler.now());
          d.onCommitted?.(d.instance, blocks);
        },
        onFatal: (e) => this.onFatal(e),
        ...(d.proposeHold !== undefined ? { proposeHold: (h: number) => d.proposeHold!(d.instance, h) } : {}),
        application: d.application === undefined ? undefined : (s) => d.application!(s, d.instance),
        selfKey: d.epochs?.selfKey,
        epochCrypto:
          d.epochs === undefined
            ? undefined
            : (set) => {
                const c = d.epochs!.crypto(set);
                const epochCache = new CachingVerifier(c.certificates);
                return { certificates: c.certificates, signer: c.signer, validationVerifier: epochCache, precheck: new InlinePrecheck({ validatorCount: set.members.length }, { verifier: c.certificates, cache: epochCache, hashBlock: d.hashBlock }) };
              },
        onEpoch: (set) => {
          d.recorder.epochStarted(d.instance, set.epoch, set.startHeight, set.members);
          d.recorder.event(d.scheduler.now(), d.instance, "epoch", set.epoch, `from height ${set.startHeight}: members ${set.members.join(",")}${set.self < set.members.length ? "" : " (observer)"}`);
        },
      },
    );
    this.booting = false;
    this.stack = stack;
    d.recorder.event(d.scheduler.now(), d.instance, "start", 0, this.crashes === 0 ? "start" : "restart");
    try {
      stack.shell.start();
    } catch (e) {
      this.onFatal(e);
      return;
    }
    if (this.stack === null) return;
    this.armClient();
  }

  /** Crashes after `afterIo` more IO operations (0: now). */
  armCrash(afterIo: number): void {
    if (!this.up) return;
    if (afterIo <= 0) this.crash();
    else this.crashBeforeIo = this.ioRun + afterIo;
  }

  crash(): void {
    const stack = this.stack;
    if (stack === null) return;
    const d = this.deps;
    const totals = this.stats();
    this.pastRejections = totals.rejections;
    this.pastEvidence = totals.evidence;
    stack.shell.stop();
    this.stack = null;
    this.alive = false;
    // A crashed process closes nothing: the store object is dropped and the next incarnation reopens the same data.
    // (Not `close()`: that is async, and its continuation, queued behind a sweep that never yields, would keep every
    // crashed incarnation's tables alive until the sweep ends — 4.6 GB after 9,000 runs at n = 7.)
    this.data.inUse = false;
    this.store = null;
    void d.network.stop();
    this.clientTimer?.cancel();
    this.clientTimer = null;
    this.crashBeforeIo = null;
    this.lastPayload = this.lastMessage = null;
    this.lastRewrite = null;
    this.crashes++;
    d.recorder.event(d.scheduler.now(), d.instance, "crash", 0, "crash");
  }

  /** Rejections by code and equivocation evidence, over every incarnation so far (the running one included). */
  stats(): { rejections: Map<string, number>; evidence: number } {
    const rejections = new Map(this.pastRejections);
    let evidence = this.pastEvidence;
    const stack = this.stack;
    if (stack !== null) {
      for (const [code, n] of stack.shell.counters) rejections.set(code, (rejections.get(code) ?? 0) + n);
      evidence += stack.shell.evidenceTotal();
    }
    return { rejections, evidence };
  }

  /** The running incarnation's equivocation evidence, as the node's operator would read it (null while down). */
  evidence(): EvidenceReport | null {
    return this.stack?.shell.evidence() ?? null;
  }

  /** Hands `tx` to this instance's mempool, as a client would (false while down or when the pool refuses it). */
  submit(tx: Uint8Array, client: string): boolean {
    const stack = this.stack;
    return stack !== null && stack.mempool.add(tx, client).kind === "accepted";
  }

  validatorOf(instance: number): number {
    return this.deps.validatorOfInstance[instance] ?? -1;
  }

  /** The persisted safety state (decoded again only when its bytes changed: the store hands out a copy per read). */
  persistedSafety(): SafetyRecord | null {
    const bytes = this.store?.loadSafetyState();
    const same = bytes === undefined ? this.safetyBytes === undefined : this.safetyBytes !== undefined && bytesEqual(bytes, this.safetyBytes);
    if (!same) {
      this.safetyBytes = bytes;
      this.safety = bytes === undefined ? null : decodeSafetyRecord(bytes);
    }
    return this.safety;
  }

  private onFatal(e: unknown): void {
    if (e instanceof SimCrash) return;
    this.fatal.push(e);
    this.crash();
  }

  /** True when the armed crash is due now: it happens, and the operation must not. */
  private cut(): boolean {
    if (this.booting) return false;
    if (!this.alive) return true;
    if (this.crashBeforeIo !== null && this.ioRun >= this.crashBeforeIo) {
      this.crash();
      return true;
    }
    this.ioRun++;
    return false;
  }

  /**
   * The store as the stack sees it: every write is an IO operation an armed crash can cut (the write then throws
   * `SimCrash` before touching the data). Every other member is the store's own, called on the store itself.
   */
  private crashableStore(store: MemoryChainStore): ChainStore {
    const writes = new Set<PropertyKey>(["commit", "saveConsensusState", "saveSafetyState", "savePending"]);
    const members = new Map<PropertyKey, unknown>();
    return new Proxy(store, {
      get: (target, prop) => {
        let m = members.get(prop);
        if (m !== undefined) return m;
        const v: unknown = Reflect.get(target, prop, target);
        if (typeof v !== "function") return v;
        const f = v as (...a: unknown[]) => unknown;
        m = writes.has(prop)
          ? (...a: unknown[]) => {
              if (this.cut()) throw new SimCrash();
              return f.apply(target, a);
            }
          : f.bind(target);
        members.set(prop, m);
        return m;
      },
    });
  }

  /** The transport the shell sees: validator-addressed, over this instance's instance-addressed network endpoint. */
  private endpoint(): Pick<Transport, "peers" | "send"> {
    const d = this.deps;
    const peers: number[] = [];
    // Every registry entry with an instance (spares included: they join and leave by epoch).
    for (let v = 0; v < d.instancesOf.length; v++) if (v !== d.validator || d.instancesOf[v]!.length > 1) peers.push(v);
    return {
      peers,
      send: (to: number, priority: Priority, payload: Uint8Array): SendStatus => {
        for (const instance of d.instancesOf[to] ?? []) if (instance !== d.instance) this.sendTo(instance, priority, payload);
        return SendStatus.Queued;
      },
    };
  }

  private sendTo(instance: number, priority: Priority, payload: Uint8Array): void {
    if (this.cut()) return;
    const d = this.deps;
    // A broadcast hands the same bytes once per peer: decode, check and rewrite them once.
    if (payload !== this.lastPayload) {
      this.lastPayload = payload;
      const env = decodeEnvelope(payload);
      const msg = env.message;
      this.lastMessage = msg;
      this.lastEpoch = env.epoch;
      this.lastRewrite = null;
      this.checkPersistedBeforeSend(msg);
      // Proposers are positions in the epoch's set (the registry index in epoch 0 without changes).
      if (msg.kind === "proposal" && msg.body.block.header.proposer === (this.stack?.shell.epoch?.self ?? d.validator)) {
        d.recorder.proposed(d.hashBlock(msg.body.block.header));
        d.recorder.event(d.scheduler.now(), d.instance, "propose", msg.body.block.header.view, `height ${msg.body.block.header.height}`);
      } else if (d.recorder.trace !== null) {
        const b = msg.body as { view?: number };
        d.recorder.event(d.scheduler.now(), d.instance, msg.kind, b.view ?? this.view, `to ${instance}`);
      }
      if (d.behaviour !== null) {
        const others = d.validatorOfInstance.map((_, i) => i).filter((i) => i !== d.instance);
        const plan = new Map<number, Message[]>();
        for (const [m, to] of byzantineRewrite(d.behaviour, msg, others, this)) for (const t of to) plan.set(t, [...(plan.get(t) ?? []), m]);
        this.lastRewrite = plan;
      }
    }
    d.recorder.messages++;
    const plan = this.lastRewrite;
    if (plan === null) {
      d.network.send(instance, priority, payload);
      return;
    }
    for (const m of plan.get(instance) ?? []) d.network.send(instance, priority, m === this.lastMessage ? payload : encodeMessage(m, this.lastEpoch));
  }

  /** Messages a Byzantine behaviour makes up from one it received (byzantine.ts), sent to every other instance. */
  private byzantineReceive(fromInstance: number, payload: Uint8Array): void {
    const d = this.deps;
    if (d.behaviour === null || !this.up) return;
    let env: { message: Message; epoch: number };
    try {
      env = decodeEnvelope(payload);
    } catch {
      return; // not ours to judge: the honest stack refused it already
    }
    for (const m of byzantineReceive(d.behaviour, this.validatorOf(fromInstance), env.message, this)) {
      const bytes = encodeMessage(m, env.epoch);
      for (let i = 0; i < d.validatorOfInstance.length; i++) {
        if (i === d.instance || this.cut()) continue;
        d.recorder.messages++;
        d.network.send(i, Priority.Consensus, bytes);
      }
    }
  }

  /** "Persist before send", checked on what leaves (the rule: checkers.ts `uncoveredSend`). */
  private checkPersistedBeforeSend(m: Message): void {
    const d = this.deps;
    if (m.kind !== "vote" && m.kind !== "timeout" && m.kind !== "proposal") return;
    // Its own messages name it by its position in the epoch's set.
    d.recorder.sent(d.instance, this.stack?.shell.epoch?.self ?? d.validator, this.persistedSafety(), m, d.scheduler.now());
  }

  /** One KV put per interval, named by instance and sequence, into this instance's mempool as a client would. */
  private armClient(): void {
    const d = this.deps;
    if (d.clientIntervalMs <= 0) return;
    this.clientTimer = d.scheduler.setTimeout(() => {
      this.clientTimer = null;
      const stack = this.stack;
      if (stack === null) return;
      const nonce = new Uint8Array(8);
      writeU64BE(new DataView(nonce.buffer), 0, this.clientSeq);
      // A few keys per client, rewritten over and over: the state stays small, every tx id stays distinct (nonce).
      const seq = this.clientSeq++;
      const key = utf8(`sim/${d.instance}/${seq % SIM_CLIENT_KEYS}`);
      stack.mempool.add(encodeKvTx({ op: "put", nonce, key, value: utf8(`${this.crashes}/${seq}`) }), `client:${d.instance}`);
      this.armClient();
    }, d.clientIntervalMs);
  }

  /**
   * The second instance of a twin pair proposes its own block for every slot: its payload carries one transaction
   * its twin's cannot (DiemBFT Twins: two honest-looking instances, one key, different blocks).
   */
  private twinPayload(mempool: PayloadSource): PayloadSource {
    return {
      get size() {
        return mempool.size;
      },
      reap: (maxTxs, maxBytes, exclude) => [...mempool.reap(maxTxs - 1, maxBytes, exclude), utf8(`quire-sim/twin/${this.deps.instance}/${this.twinSeq++}`)],
    };
  }

  /** A block like `block` with one extra transaction (a different block for the same slot: equivocation, twins). */
  variantOf(block: Block, tag: string): Block {
    const d = this.deps;
    const txs = [...block.txs, utf8(`quire-sim/${d.instance}/${block.header.view}/${tag}`)];
    return { header: { ...block.header, txRoot: d.txRoot(txs) }, txs };
  }
}
