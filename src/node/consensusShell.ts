/**
 * The IO shell around the consensus core (DESIGN §2-3) — the one shell: `quire node` runs it on the real clock over
 * LMDB and uWS, the simulator (src/sim/) on virtual time over the memory store and the in-memory network.
 *
 *   bytes from a peer → decode (WireError: counted, peer penalised) → signature precheck (the BLS pool in the node,
 *   the main-thread verifier in the simulator) → validation (MessageValidator, in arrival order) → Replica.step (whose
 *   execution check refuses a block that does not carry its parent's outcome) → effects, in order:
 *     persist    the safety state, durable (ChainStore.saveConsensusState) — the core orders it before any vote/timeout
 *     saveBlock  the uncommitted block, durable — in the same write, before the vote for it leaves
 *     send / broadcast  encoded with the wire codec, handed to the transport
 *     setTimer   the single view timer, on the injected scheduler
 *     commit     executed and written through the Executor (one store transaction), txs leave the mempool
 *     proposeRequest  handed to the `Proposer`, whose block comes back as a `payload` input
 *
 * The shell owns three parts with their own timers: `Proposer` (blocks from the mempool), `TxGossip` (client txs to
 * the next leaders) and `CatchUp` (committed ranges from several peers when far behind). It serves sync requests from
 * the store, pushes its committed height (hello) on link-up and every `statusIntervalMs`, feeds committed history to
 * the leader election, and turns a lost link to the validator the current view waits for into an early timeout
 * (`leaderDown`, after `leaderDownGraceMs`).
 *
 * Every store write is synchronous, so an effect list runs to completion within one task: a stop requested by a
 * signal handler always lands between two steps, never inside a write. Nothing here reads the wall clock or calls
 * `setTimeout`: time is the `Scheduler`'s.
 */
import { Priority, SendStatus } from "../net/transport.js";
import type { Transport } from "../net/transport.js";
import { decodeMessage, encodeMessage } from "../wire/codec.js";
import { WireError } from "../wire/errors.js";
import type { Block, CertifiedBlock, Hash, Hello, Message, QuorumCert, SyncRequest } from "../domain/types.js";
import { CatchUp, DEFAULT_CATCH_UP } from "./catchUp.js";
import type { CatchUpPolicy } from "./catchUp.js";
import { bytesEqual, toHex } from "../util/bytes.js";
import type { Scheduler, TimerHandle } from "../util/clock.js";
import { serveSyncRequest, syncBlockBytes } from "../consensus/sync.js";
import type { CommittedChain } from "../consensus/sync.js";
import type { Replica } from "../consensus/replica.js";
import type { LeaderElection } from "../consensus/leaderElection.js";
import { actionOf } from "../consensus/validation/codes.js";
import type { RejectCode } from "../consensus/validation/codes.js";
import type { MessageValidator } from "../consensus/validation/validator.js";
import type { EvidenceReport } from "../consensus/validation/evidence.js";
import type { Evidence } from "../consensus/validation/equivocation.js";
import type { CommittedBlock, Effect, Input, ReplicaState, SafetyState } from "../consensus/types.js";
import { ExecutionError } from "../chain/errors.js";
import type { CommittedSummary, Executor } from "../chain/executor.js";
import type { Mempool } from "../chain/mempool.js";
import type { ChainStore, PendingBlock } from "../chain/store/interface.js";
import { decodeSafetyRecord, encodeSafetyRecord } from "../chain/store/records.js";
import type { SafetyRecord } from "../chain/store/records.js";
import type { BlockPolicy, GossipPolicy } from "./config.js";
import type { Logger } from "./logger.js";
import { PENALTY } from "./penalties.js";
import type { PeerPenalties } from "./penalties.js";
import { NO_SHELL_METRICS } from "./metrics.js";
import type { ShellMetrics } from "./metrics.js";
import { ExecutionPace, Proposer } from "./proposer.js";
import type { PayloadSource } from "./proposer.js";
import type { SignaturePrecheck } from "./precheck.js";
import { TxGossip } from "./txGossip.js";
import { DEFAULT_SYNC_LIMITS, SyncLimiter } from "./syncLimiter.js";
import type { SyncLimits } from "./syncLimiter.js";

/** See `ConsensusShellOptions.leaderDownGraceMs`. */
export const DEFAULT_LEADER_DOWN_GRACE_MS = 150;

/** Messages waiting for their signature precheck, at most; beyond it new consensus messages are dropped (counted). */
const MAX_INBOUND = 4_096;

/** `ConsensusShell.operatorView()`: what operators read of the replica. */
export interface ShellOperatorView {
  readonly view: number;
  /** When the current view's timer fires, on the shell's scheduler clock. */
  readonly viewDeadline: number;
  readonly safety: SafetyState;
  /** View timers that fired here since start. */
  readonly localTimeouts: number;
  /** Steps that raised the replica's highest TC (a TC formed here or received) since start. */
  readonly tcs: number;
  /** Whether catch-up is fetching committed ranges (node/catchUp.ts: far behind its peers). */
  readonly catchingUp: boolean;
  /** The highest committed height a peer announced. */
  readonly catchUpTarget: number;
}

/** What the shell reads and writes in the chain store. */
export type ShellStore = Pick<ChainStore, "head" | "committedAt" | "loadSafetyState" | "pendingBlocks" | "saveConsensusState">;

export interface ConsensusShellOptions {
  readonly chainId: Uint8Array;
  readonly self: number;
  readonly validatorCount: number;
  readonly block: BlockPolicy;
  readonly gossip: GossipPolicy;
  /** Default `DEFAULT_CATCH_UP`. */
  readonly catchUp?: CatchUpPolicy;
  /**
   * How long after the link to the validator the current view waits for went down the replica times out early (at
   * once in a view entered later than that). Default 150 ms (`DEFAULT_LEADER_DOWN_GRACE_MS`).
   */
  /** Longest a proposal may be held (ProposerOptions.maxHoldMs). */
  readonly maxHoldMs?: number;
  readonly leaderDownGraceMs?: number;
  /** What one peer may make this node serve (syncLimiter.ts). Default `DEFAULT_SYNC_LIMITS`. */
  readonly syncLimits?: SyncLimits;
  /**
   * The validator-set epoch this shell runs (src/node/epochShell.ts; default 0): its consensus messages carry it in
   * the envelope, and its safety state is saved with it.
   */
  readonly epoch?: number;
}

/**
 * Where the epoch ends, for a shell run by `EpochShell` (absent: one epoch for ever, as a chain without the validators
 * module). All reads are of committed state.
 */
export interface EpochBoundary {
  /** The last height of this shell's epoch: the block E that ends it, once the change scheduling it is committed. */
  lastHeight(): number;
  /** Whether committing `block` may schedule the next epoch (it carries a validator-set change). */
  mayScheduleNext(block: Block): boolean;
  /**
   * E was just committed (and nothing after it): `endedBy` is what committed it — the certified blocks above E up to
   * the two-chain (`EpochEndProof`), which sync serves after E — or null if this replica holds none (it then serves
   * ranges up to E only).
   */
  ended(endedBy: readonly CertifiedBlock[] | null): void;
  /**
   * Serving a sync request from `fromHeight`: the epoch of that height, its last height if it has ended, and the
   * proof served after it. A response never crosses an epoch: its QCs are all of one set.
   */
  syncCut(fromHeight: number): { readonly epoch: number; readonly end: number; readonly endedBy: readonly CertifiedBlock[] | undefined };
}

export interface ConsensusShellModules {
  readonly replica: Replica;
  readonly validator: MessageValidator;
  /** Null: every signature is verified inline by validation. */
  readonly precheck: SignaturePrecheck | null;
  readonly store: ShellStore;
  /** Commits blocks; builds proposals' parent outcomes. (The core's execution check is injected into the replica.) */
  readonly executor: Pick<Executor, "commit" | "parentExecution" | "txIdsInBranch" | "execute" | "head" | "speculativeCount">;
  /** The pool gossip feeds and commits drain; by default also the payload source of proposals. */
  readonly mempool: Pick<Mempool, "size" | "reap" | "removeCommitted" | "add" | "takeNewForGossip">;
  /** Where proposals take their transactions from; default the mempool (the simulator's twins add to it). */
  readonly payload?: PayloadSource;
  /** See ProposerModules.hold (geo clusters). */
  readonly proposeHold?: (height: number) => boolean;
  /** `queuedBytes` gates sync answers (syncLimiter.ts); without it (the simulator's endpoint, which queues nothing) 0. */
  readonly transport: Pick<Transport, "peers" | "send"> & Partial<Pick<Transport, "queuedBytes">>;
  readonly leaders: LeaderElection;
  readonly penalties: Pick<PeerPenalties, "add" | "muted">;
  readonly logger: Logger;
  /**
   * Time and timers. Its clock is the consensus clock (view timers) and the proposer's block timestamps, so the node
   * passes one that reads milliseconds since the Unix epoch; the simulator passes its virtual clock.
   */
  readonly scheduler: Scheduler;
  /** Blocks just committed (after the store write and the mempool update). Must not throw. */
  readonly onCommit: (blocks: readonly CommittedSummary[]) => void;
  /** An internal invariant broke: the node must stop. */
  readonly onFatal: (error: unknown) => void;
  /** Default: none (`NO_SHELL_METRICS`). */
  readonly metrics?: ShellMetrics;
  /** Set by `EpochShell`: where this shell's epoch ends. */
  readonly epochs?: EpochBoundary;
  /** Rejection counters shared with the shells of other epochs (default: this shell's own). */
  readonly counters?: Map<string, number>;
  /**
   * Validation just recorded new equivocation evidence (a proposal or vote conflicting with one signed earlier): the
   * stack turns it into an evidence tx for the chain (chain/app/evidence/) when the chain runs that module.
   */
  readonly onEvidence?: (e: Evidence) => void;
}

interface InboundEntry {
  readonly from: number;
  readonly msg: Message;
  ready: boolean;
}

export class ConsensusShell {
  private state: ReplicaState | null = null;
  private stopped = false;
  private readonly inbox: Input[] = [];
  private draining = false;
  /**
   * Work taken off the critical path of a step, run by one zero-delay task right after it (`afterStep`): the commit
   * effects (in order), then the eager execution of the blocks just stored.
   */
  private readonly deferredCommits: Extract<Effect, { kind: "commit" }>["blocks"][] = [];
  private readonly executeAhead: { readonly block: Block; readonly hash: Hash }[] = [];
  private afterStepTimer: TimerHandle | null = null;
  /** How fast this node executed its recent blocks (timed in `afterStep`): bounds the blocks it proposes. */
  private readonly pace = new ExecutionPace();
  private readonly inbound: InboundEntry[] = [];
  private viewTimer: TimerHandle | null = null;
  private readonly proposer: Proposer;
  private readonly gossip: TxGossip;
  private readonly metrics: ShellMetrics;
  /** Rejections and dropped messages by code (validation codes, `CORE_*`, `WIRE_*`, shell codes). */
  readonly counters: Map<string, number>;
  private readonly catchUp: CatchUp;
  private readonly syncLimiter: SyncLimiter;
  private statusTimer: TimerHandle | null = null;
  private leaderDownTimer: TimerHandle | null = null;
  private leaderDownView = 0;
  private leaderDownFired = 0;
  /** Peers whose link went down (after having been up), since when. */
  private readonly downSince = new Map<number, number>();
  /** View timers that fired here, and steps that raised the replica's highest TC (formed here or received). */
  private localTimeouts = 0;
  private tcsSeen = 0;

  constructor(
    private readonly o: ConsensusShellOptions,
    private readonly m: ConsensusShellModules,
  ) {
    this.metrics = m.metrics ?? NO_SHELL_METRICS;
    this.counters = m.counters ?? new Map();
    this.proposer = new Proposer(
      { self: o.self, block: o.block, ...(o.maxHoldMs !== undefined ? { maxHoldMs: o.maxHoldMs } : {}) },
      {
        ...(m.proposeHold !== undefined ? { hold: m.proposeHold } : {}),
        scheduler: m.scheduler,
        pace: this.pace,
        payload: m.payload ?? m.mempool,
        executor: m.executor,
        wanted: (req) => !this.stopped && this.state !== null && this.state.view === req.view && this.state.awaitingPayload === req.view,
        deliver: (view, block) => this.input({ kind: "payload", view, block }),
        skipped: (view, e) => {
          this.count(`PROPOSE_${e.code}`);
          m.logger.warn("cannot propose", { view, code: e.code, message: e.message });
        },
        fatal: (e) => this.fatal(e),
      },
    );
    this.gossip = new TxGossip(
      { self: o.self, validatorCount: o.validatorCount, policy: o.gossip },
      {
        scheduler: m.scheduler,
        mempool: m.mempool,
        leaders: m.leaders,
        view: () => this.view,
        send: (targets, batch) => {
          this.transmit(targets, { kind: "txBatch", body: batch }, Priority.Gossip);
          this.metrics.txsGossiped(batch.txs.length);
        },
        misbehaved: (from) => m.penalties.add(from, PENALTY.invalid),
        count: (code, n) => this.count(code, n),
      },
    );
    this.syncLimiter = new SyncLimiter(o.syncLimits ?? DEFAULT_SYNC_LIMITS);
    this.catchUp = new CatchUp(o.catchUp ?? DEFAULT_CATCH_UP, {
      scheduler: m.scheduler,
      committedHeight: () => m.store.head()?.height ?? 0,
      // Heights past this epoch's last block are the next set's: their answers would be dropped (epochShell.ts).
      maxHeight: () => m.epochs?.lastHeight() ?? Infinity,
      send: (peer, req) => this.transmit([peer], { kind: "syncRequest", body: req }, Priority.Sync) === 0,
      deliver: (from, blocks) => {
        this.metrics.syncBlocksApplied(blocks.length);
        this.input({ kind: "certifiedBlocks", from, blocks });
      },
      withheld: (peer, code) => {
        this.count(code);
        m.penalties.add(peer, PENALTY.withheld);
      },
      count: (code, n) => this.count(code, n),
    });
  }

  /** Catch up with peers however little they are ahead (`CatchUp.nudge`: they have left this shell's epoch). */
  nudgeCatchUp(): void {
    if (!this.stopped) this.catchUp.nudge();
  }

  /** Committed heights peers announced in their hello. */
  get peerHeights(): ReadonlyMap<number, number> {
    return this.catchUp.peerHeights;
  }

  /** The current view (0 before start). */
  get view(): number {
    return this.state?.view ?? 0;
  }

  /**
   * Read-only, for operators (`GET /v1/consensus`, `/v1/health`): the replica's view, its deadline (scheduler ms) and
   * safety state, the timeouts seen since start, and whether catch-up is fetching ranges. Null before start.
   */
  operatorView(): ShellOperatorView | null {
    const st = this.state;
    if (st === null) return null;
    return { view: st.view, viewDeadline: st.viewDeadline, safety: st.safety, localTimeouts: this.localTimeouts, tcs: this.tcsSeen, catchingUp: this.catchUp.active, catchUpTarget: this.catchUp.target };
  }

  /** Resumes from the store (genesis must be committed) and starts the timers. Once: a stopped shell stays stopped. */
  start(): void {
    const m = this.m;
    if (this.stopped || this.state !== null) throw new Error("ConsensusShell.start: already started or stopped (build a new shell to restart)");
    const head = m.store.head();
    if (head === null) throw new ExecutionError("NO_GENESIS", "the store has no committed block: commit genesis first");
    const rec = m.store.committedAt(head.height);
    if (rec === undefined) throw new ExecutionError("NO_GENESIS", `the store has no record of its head at height ${head.height}`);
    const saved = m.store.loadSafetyState();
    const epoch = this.o.epoch ?? 0;
    let safety: SafetyRecord | null = saved === undefined ? null : decodeSafetyRecord(saved);
    // A safety state (and the uncommitted blocks stored with it) of another epoch is void here: its votes were signed
    // under another domain. `ChainStore.beginEpoch` replaces both when an epoch starts; a crash just before that write
    // leaves the old ones, dropped here.
    const current = safety !== null && safety.epoch === epoch;
    if (!current && epoch > 0) safety = null;
    const pending = current || epoch === 0 ? m.store.pendingBlocks() : [];
    this.observeHistory(head.height);
    const root = m.replica.root;
    // The epoch's root is certified here by its root QC (the stored one is the previous set's).
    const committed = epoch > 0 && bytesEqual(rec.hash, root.hash) ? root : { block: rec.block, hash: rec.hash, qc: rec.qc };
    const r = m.replica.restore(safety, committed, pending, m.scheduler.now());
    this.state = r.state;
    m.logger.info("consensus started", { height: head.height, view: r.state.view, lastVotedView: safety?.lastVotedView ?? 0 });
    this.execute(r.effects);
    this.drain();
    // A fatal error while resuming has stopped the shell: nothing may start after it.
    if (this.stopped) return;
    this.gossip.start();
    if (epoch > 0) this.sendHello(m.transport.peers);
    this.armStatusTimer();
  }

  /** The leader election's view of committed history after a restart: the newest blocks it asks for. */
  private observeHistory(head: number): void {
    const leaders = this.m.leaders;
    if (leaders.observe === undefined || leaders.historyBlocks === 0) return;
    const blocks = [];
    // Only this epoch's blocks: signer bitmaps of another epoch count other members.
    const first = Math.max(0, head - leaders.historyBlocks + 1, this.m.replica.root.block.header.height + 1);
    for (let h = first; h <= head; h++) {
      const rec = this.m.store.committedAt(h);
      if (rec !== undefined) blocks.push({ block: rec.block, hash: rec.hash, qc: rec.qc });
    }
    leaders.observe(blocks);
  }

  /** Stops processing: timers cancelled, queued inputs dropped. Idempotent; safe between any two tasks. */
  stop(): void {
    this.stopped = true;
    this.viewTimer?.cancel();
    this.viewTimer = null;
    this.statusTimer?.cancel();
    this.statusTimer = null;
    this.leaderDownTimer?.cancel();
    this.leaderDownTimer = null;
    this.proposer.cancel();
    this.gossip.stop();
    this.catchUp.stop();
    this.inbox.length = 0;
    this.inbound.length = 0;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Inbound

  /** Transport handler: bytes from an authenticated validator. Never throws on anything the peer sent. */
  onMessage(from: number, payload: Uint8Array): void {
    if (this.stopped || this.state === null) return;
    if (this.m.penalties.muted(from)) {
      this.count("PEER_MUTED");
      return;
    }
    let msg: Message;
    try {
      msg = decodeMessage(payload);
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      this.count(`WIRE_${e.code}`);
      this.m.penalties.add(from, PENALTY.undecodable);
      this.m.logger.debug("undecodable message", { from, code: e.code });
      return;
    }
    this.onDecoded(from, msg);
  }

  /** A message `EpochShell` decoded (and found to be of this shell's epoch, or of none). */
  onDecoded(from: number, msg: Message): void {
    if (this.stopped || this.state === null) return;
    if (this.m.penalties.muted(from)) {
      this.count("PEER_MUTED");
      return;
    }
    this.metrics.messageIn(msg.kind);
    switch (msg.kind) {
      case "txBatch":
        this.gossip.onBatch(from, msg.body);
        return;
      case "hello":
        this.onHello(from, msg.body);
        return;
      case "syncRequest":
        this.onSyncRequest(from, msg.body);
        return;
      case "handshake":
        // Handshakes belong to the link; one arriving as a message is a protocol violation.
        this.count("UNEXPECTED_HANDSHAKE");
        this.m.penalties.add(from, PENALTY.invalid);
        return;
      default:
        this.enqueue(from, msg);
    }
  }

  /** Transport handler: a link came up. */
  onPeerUp(peer: number): void {
    if (this.stopped) return;
    this.downSince.delete(peer);
    this.sendHello([peer]);
    // Stuck in a view that timed out here: tell the peer now, not at our next (possibly backed-off) timer. It was
    // persisted before it first left, so sending it again is safe; a peer that restarted learns our view from it.
    const t = this.state?.safety.lastTimeout;
    if (t !== undefined && t !== null && t.view === this.state!.view) this.transmit([peer], { kind: "timeout", body: t }, Priority.Consensus);
  }

  /** Transport handler: a link went down. */
  /**
   * A remote view change (node/geo/geoReplica.ts checked f + 1 signed requests and rate-limits): time out the current
   * view now. No-op before start and after stop.
   */
  remoteTimeout(): void {
    if (this.stopped || this.state === null) return;
    this.count("REMOTE_TIMEOUT");
    this.input({ kind: "remoteTimeout", view: this.state.view });
  }

  onPeerDown(peer: number): void {
    if (this.stopped) return;
    this.downSince.set(peer, this.m.scheduler.now());
    this.catchUp.onPeerDown(peer);
    if (this.awaited() === peer) this.armLeaderDownCheck();
  }

  private sendHello(targets: readonly number[]): void {
    const head = this.m.store.head();
    if (head === null) return;
    const hello: Hello = { chainId: this.o.chainId, committedHeight: head.height, committedHash: head.hash };
    this.transmit(targets, { kind: "hello", body: hello }, Priority.Sync);
  }

  /** Pushes the committed height to every peer, every `statusIntervalMs` (catch-up's view of who is ahead). */
  private armStatusTimer(): void {
    const every = (this.o.catchUp ?? DEFAULT_CATCH_UP).statusIntervalMs;
    this.statusTimer = this.m.scheduler.setTimeout(() => {
      this.statusTimer = null;
      if (this.stopped) return;
      this.sendHello(this.m.transport.peers);
      this.armStatusTimer();
    }, every);
  }

  /**
   * Consensus messages are validated in arrival order, each once its signatures came back from the precheck (the pool
   * may answer out of order; order matters, e.g. a proposal before the vote that follows it).
   */
  private enqueue(from: number, msg: Message): void {
    if (this.inbound.length >= MAX_INBOUND) {
      this.count("INBOUND_OVERFLOW");
      return;
    }
    const precheck = this.m.precheck;
    const entry: InboundEntry = { from, msg, ready: precheck === null };
    this.inbound.push(entry);
    if (precheck === null) {
      this.pump();
      return;
    }
    let called = false;
    precheck.prepare(from, msg, () => {
      if (called) return;
      called = true;
      entry.ready = true;
      this.pump();
    });
  }

  private pump(): void {
    while (!this.stopped && this.inbound.length > 0 && this.inbound[0]!.ready) {
      const e = this.inbound.shift()!;
      this.validateAndStep(e.from, e.msg);
    }
  }

  private validateAndStep(from: number, msg: Message): void {
    const state = this.state;
    if (state === null || this.stopped) return;
    let v: ReturnType<MessageValidator["validate"]>;
    const evidenceBefore = this.m.validator.evidenceTotal();
    try {
      v = this.m.validator.validate(from, msg, state.view, this.m.scheduler.now());
    } catch (e) {
      // A validation bug must not let one peer's message stop the node: count it loudly instead.
      this.count("VALIDATION_ERROR");
      this.m.penalties.add(from, PENALTY.invalid);
      this.m.logger.error("validation threw", { from, kind: msg.kind, error: e instanceof Error ? e.message : String(e) });
      return;
    }
    const catchUpId = msg.kind === "syncResponse" && CatchUp.owns(msg.body.requestId) ? msg.body.requestId : -1;
    if (this.m.onEvidence !== undefined && this.m.validator.evidenceTotal() > evidenceBefore) {
      const e = this.m.validator.evidence().at(-1);
      if (e !== undefined) this.m.onEvidence(e);
    }
    if (!v.ok) {
      if (v.code === "EQUIVOCATION" && msg.kind === "proposal") this.onProposalEquivocation(from, msg, evidenceBefore);
      else this.reject(from, v.code);
      if (catchUpId >= 0) this.catchUp.onInvalid(from, catchUpId);
      return;
    }
    if (v.input.kind === "syncResponse") {
      if (catchUpId >= 0) {
        this.catchUp.onResponse(from, catchUpId, v.input.blocks);
        return;
      }
      this.metrics.syncBlocksApplied(v.input.blocks.length);
    }
    this.input(v.input);
  }

  /**
   * A validly signed proposal that conflicts with the one its proposer signed earlier for the view (validation
   * returns EQUIVOCATION only after every other check, the signature included).
   *
   * - Blame: the proposer, whose two signatures prove it, not the peer that delivered the second one — which may be an
   *   honest relay passing the evidence on (below).
   * - When it made new evidence (the first conflict of that proposer and view here): counted (`PROPOSAL_EVIDENCE` in
   *   the shell's counters and `quire_rejected_total`), logged at warn with public data only (proposer, view, the two
   *   block hashes), and passed on: this second proposal goes to every other peer, which validates it like any relayed
   *   proposal and so records the evidence itself if it holds the first — the wire needs no evidence message. The cost
   *   is bounded: evidence is recorded once per proposer and view, so each replica relays at most one proposal per
   *   view an equivocator leads, in the Gossip class (oldest dropped when full: evidence is not urgent). A peer that
   *   had neither block treats it as the leader's proposal, which it is: safe, it votes at most once per view.
   */
  private onProposalEquivocation(from: number, msg: Extract<Message, { kind: "proposal" }>, evidenceBefore: number): void {
    const proposer = msg.body.block.header.proposer;
    this.count("EQUIVOCATION");
    if (proposer !== this.o.self) this.penalise(proposer, "EQUIVOCATION");
    const validator = this.m.validator;
    if (validator.evidenceTotal() === evidenceBefore) return;
    // An observer of the epoch (not in its set) records it but relays nothing: members refuse its proposals.
    if (this.o.self >= this.o.validatorCount) return;
    this.count("PROPOSAL_EVIDENCE");
    const e = validator.evidence().at(-1);
    if (e?.kind === "proposal") this.m.logger.warn("proposal equivocation: evidence recorded", { proposer: e.validator, view: e.view, first: toHex(e.first.blockHash), second: toHex(e.second.blockHash) });
    const others = this.m.transport.peers.filter((p) => p !== from && p !== proposer);
    if (others.length > 0 && this.transmit(others, msg, Priority.Gossip) < others.length) this.count("PROPOSAL_EVIDENCE_RELAYED");
  }

  /**
   * Equivocation evidence this replica holds, for operators: totals of every kind and each proposal equivocation as
   * self-contained JSON (`verifyEquivocationEvidence` checks it with the validator keys and chain id alone). Bounded by
   * validation's log (MAX_EVIDENCE entries). Meant for a read-only RPC route such as `GET /v1/evidence`.
   */
  evidence(): EvidenceReport {
    return this.m.validator.evidenceReport();
  }

  private onHello(from: number, hello: Hello): void {
    if (!bytesEqual(hello.chainId, this.o.chainId)) {
      this.count("HELLO_WRONG_CHAIN");
      this.m.penalties.add(from, PENALTY.invalid);
      return;
    }
    this.catchUp.onPeerHeight(from, hello.committedHeight);
  }

  private onSyncRequest(from: number, req: SyncRequest): void {
    const state = this.state;
    if (state === null) return;
    // The answer is the store's committed heights then the core's certified branch above its root: commits the core
    // decided but the shell has not applied yet would be a hole between the two (a review finding: [1, 2, 6] for
    // 1..10, refused by the requester as SYNC_NOT_CHAIN and blamed on this honest node).
    this.applyDeferredCommits();
    // Rate and queue room first: nothing is read from the store for a refused request (syncLimiter.ts).
    const now = this.m.scheduler.now();
    const grant = this.syncLimiter.admit(from, req.toHeight - req.fromHeight + 1, this.m.transport.queuedBytes?.(from) ?? 0, now);
    if (!grant.ok) {
      this.count(grant.reason);
      return;
    }
    if (grant.heights < req.toHeight - req.fromHeight + 1) req = { ...req, toHeight: req.fromHeight + grant.heights - 1 };
    const store = this.m.store;
    const head = store.head()?.height ?? 0;
    // Across epochs (epochShell.ts): only heights of the epoch `fromHeight` is in, then the proof that ended it.
    const cut = this.m.epochs?.syncCut(req.fromHeight);
    const epoch = this.o.epoch ?? 0;
    if (cut !== undefined && cut.epoch > epoch) {
      // The requester is past our epoch: we hold no block of its epoch (a branch above our E is ours, certified by our
      // set: labelled with its epoch it would be refused, and we blamed; review finding). An empty answer.
      this.transmit([from], { kind: "syncResponse", body: { requestId: req.requestId, blocks: [] } }, Priority.Sync, cut.epoch);
      return;
    }
    const ended = cut !== undefined && cut.end <= head;
    if (ended && req.toHeight > cut.end) req = { ...req, toHeight: cut.end };
    const chain: CommittedChain = {
      height: ended ? Math.min(head, cut.end) : head,
      at: (h) => {
        const rec = store.committedAt(h);
        return rec === undefined ? undefined : { block: rec.block, hash: rec.hash, qc: rec.qc };
      },
    };
    let res = serveSyncRequest(ended ? null : state, chain, req);
    const last = res.blocks.at(-1);
    if (ended && cut.endedBy !== undefined && last !== undefined && last.block.header.height === cut.end) res = { ...res, blocks: [...res.blocks, ...cut.endedBy] };
    // Charged by the size serveSyncRequest budgets with (payload + per-tx and per-block framing): no second encode.
    let bytes = 0;
    for (const b of res.blocks) bytes += syncBlockBytes(b);
    this.syncLimiter.charge(from, res.blocks.length, bytes, now);
    this.transmit([from], { kind: "syncResponse", body: res }, Priority.Sync, cut?.epoch ?? this.o.epoch ?? 0);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Core

  private input(i: Input): void {
    this.inbox.push(i);
    this.drain();
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      // A new input sees every decided commit applied (the executor, the leaders' history), as before the deferral.
      if (this.inbox.length > 0) this.applyDeferredCommits();
      while (this.inbox.length > 0 && !this.stopped && this.state !== null) {
        const next = this.inbox.shift()!;
        const before = this.state.view;
        const tcBefore = this.state.safety.lastTc;
        const now = this.m.scheduler.now();
        const r = this.m.replica.step(this.state, next, now);
        this.state = r.state;
        if (r.state.safety.lastTc !== tcBefore && r.state.safety.lastTc !== null) this.tcsSeen++;
        if (r.state.view !== before) this.metrics.viewEntered(r.state.view, now);
        this.execute(r.effects);
        if (this.downSince.size > 0 && this.downSince.has(this.awaited())) this.armLeaderDownCheck();
      }
    } catch (e) {
      this.fatal(e);
    } finally {
      this.draining = false;
    }
  }

  private execute(effects: readonly Effect[]): void {
    const m = this.m;
    for (let k = 0; k < effects.length; k++) {
      const e = effects[k]!;
      if (this.stopped) return;
      switch (e.kind) {
        case "persist":
        case "saveBlock": {
          // The core puts a step's durable writes side by side, ahead of the first vote/timeout/proposal: write them
          // in one transaction, one fsync (ChainStore.saveConsensusState), before going on to the sends.
          let safety: Uint8Array | undefined;
          const pending: PendingBlock[] = [];
          for (; k < effects.length; k++) {
            const d = effects[k]!;
            if (d.kind === "persist") safety = encodeSafetyRecord({ ...d.safety, epoch: this.o.epoch ?? 0 });
            else if (d.kind === "saveBlock") {
              pending.push(d.stored);
              this.executeAhead.push({ block: d.stored.block, hash: d.stored.hash });
              this.scheduleAfterStep();
            } else break;
          }
          k--;
          const done = this.metrics.storeWriteTimer();
          m.store.saveConsensusState(safety === undefined ? { pending } : { safety, pending });
          done();
          break;
        }
        case "send":
          this.transmit([e.to], e.message, priorityOf(e.message));
          break;
        case "broadcast":
          if (e.message.kind === "proposal") this.metrics.proposed();
          this.transmit(m.transport.peers, e.message, priorityOf(e.message));
          break;
        case "setTimer":
          this.armViewTimer(e.view, e.at);
          break;
        case "commit":
          this.deferredCommits.push(e.blocks);
          this.scheduleAfterStep();
          break;
        case "proposeRequest":
          this.proposer.request(e.request);
          break;
        case "rejected":
          this.count(`CORE_${e.code}`);
          if (actionOf(e.code) === "penalise") this.penalise(e.from, `CORE_${e.code}`);
          break;
      }
    }
  }

  /**
   * The single view timer, due at `at` on the scheduler's clock. A timer may fire early by that clock (Node's timers
   * run on a monotonic clock, the node's scheduler reads `Date.now`, and the wall clock can step): the core ignores a
   * timer input before its deadline and would not re-arm, so the shell re-arms for the rest instead of losing it.
   */
  private armViewTimer(view: number, at: number): void {
    this.viewTimer?.cancel();
    this.viewTimer = this.m.scheduler.setTimeout(() => {
      this.viewTimer = null;
      if (this.stopped) return;
      if (this.m.scheduler.now() < at) this.armViewTimer(view, at);
      else {
        this.localTimeouts++;
        this.input({ kind: "timer", view });
      }
    }, at - this.m.scheduler.now());
  }

  private scheduleAfterStep(): void {
    if (this.afterStepTimer !== null) return;
    this.afterStepTimer = this.m.scheduler.setTimeout(() => {
      this.afterStepTimer = null;
      if (!this.stopped) this.afterStep();
    }, 0);
  }

  /**
   * Applies the commits decided by earlier steps and not applied yet, in order. An executor or store failure here is
   * an invariant break: the shell stops (`fatal`), wherever this was called from.
   */
  private applyDeferredCommits(): void {
    try {
      while (this.deferredCommits.length > 0 && !this.stopped) this.commit(this.deferredCommits.shift()!);
    } catch (e) {
      this.fatal(e);
    }
  }

  /**
   * What a step decided but its sends need not wait for, run as the next task (after the transport has flushed the
   * step's messages):
   *
   * - Commits. The decision stands once the core made it; applying it (the executor's store transaction with its
   *   fsync, the mempool, the block stream) is local, so the step's vote or proposal leaves first. Until the task runs
   *   the executor still holds the decided blocks as speculative ones, so every reader sees the same state; a next
   *   input (`drain`) or a sync request (which serves store heights, then the core's branch) applies them first.
   * - Execute ahead. A block this replica just stored (it voted for it, or proposed it) is executed while its vote
   *   travels and the QC forms: the next proposal must carry its state root, and checking that proposal (or building
   *   it, on the next leader) then finds the outcome cached instead of executing on the view's critical path. A block
   *   whose ancestors cannot be executed yet is left for when it is needed.
   *
   * A trace of a 4-node run before this (3,000 tx/s offered, this machine) had voters spend 117–290 ms executing the
   * parent inside the proposal's step and 40–300 ms in the commit, both before their vote left.
   */
  private afterStep(): void {
    try {
      this.applyDeferredCommits();
      while (this.executeAhead.length > 0 && !this.stopped) {
        const { block, hash } = this.executeAhead.shift()!;
        const head = this.m.executor.head();
        if (head !== null && block.header.height <= head.height) continue;
        try {
          const t0 = this.m.scheduler.now();
          const before = this.m.executor.speculativeCount;
          this.m.executor.execute(block, hash);
          // Timed only when this call executed the block itself (not found cached, no ancestors run with it).
          if (this.m.executor.speculativeCount === before + 1) this.pace.observe(block.txs.length, this.m.scheduler.now() - t0);
        } catch (e) {
          if (!(e instanceof ExecutionError)) throw e;
        }
      }
    } catch (e) {
      this.fatal(e);
    }
  }

  private commit(blocks: Extract<Effect, { kind: "commit" }>["blocks"]): void {
    const epochs = this.m.epochs;
    if (epochs === undefined) {
      this.commitChunk(blocks);
      return;
    }
    // The epoch ends at E: nothing above it is committed by this set, so the blocks are committed in chunks that end
    // after each block that may schedule the next epoch, and E's end is read again after each.
    let i = 0;
    while (i < blocks.length && !this.stopped) {
      const end = epochs.lastHeight();
      if (blocks[i]!.block.header.height > end) break;
      let j = i;
      while (j < blocks.length - 1 && blocks[j]!.block.header.height < end && !epochs.mayScheduleNext(blocks[j]!.block)) j++;
      this.commitChunk(blocks.slice(i, j + 1));
      i = j + 1;
      // Nothing can schedule an epoch but a block the chunks end after: a head past the end is an invariant break.
      if (blocks[j]!.block.header.height > epochs.lastHeight()) throw new Error(`committed height ${blocks[j]!.block.header.height} past the end of epoch ${this.o.epoch ?? 0} (${epochs.lastHeight()})`);
      const e = blocks[j]!;
      if (e.block.header.height === epochs.lastHeight()) {
        const proof = this.endProof(e, [...blocks.slice(i), ...this.deferredCommits.flat()]);
        this.stop();
        // This shell is stopped: a failure of the switch (its store write) must still stop the node, which `fatal`
        // would now ignore (review finding: it was swallowed, leaving no instance running).
        try {
          epochs.ended(proof);
        } catch (err) {
          this.m.onFatal(err);
        }
        return;
      }
    }
  }

  /**
   * What committed E: the blocks the core committed above it (cut off here; each with its QC), then the certified
   * child, in its parent's next view, of the last of them — or of E itself — from the core's tree. Null if the tree
   * holds no such child (it always does when the core committed E; defensive).
   */
  private endProof(e: CommittedBlock, above: readonly CommittedBlock[]): CertifiedBlock[] | null {
    const proof: CertifiedBlock[] = above.map((b) => ({ block: b.block, qc: b.qc }));
    const last = above.at(-1) ?? e;
    const tree = this.state?.tree;
    if (tree === undefined) return null;
    for (const n of [tree.root, ...tree.nodes.values()]) {
      if (n.qc !== null && bytesEqual(n.block.header.parent, last.hash) && n.block.header.view === last.block.header.view + 1) return [...proof, { block: n.block, qc: n.qc }];
    }
    return null;
  }

  private commitChunk(blocks: readonly CommittedBlock[]): void {
    // An executor or store failure here is an invariant break (the core only commits blocks extending the head).
    const summaries = this.m.executor.commit(blocks);
    this.m.leaders.observe?.(blocks);
    for (const s of summaries) this.m.mempool.removeCommitted(s.txIds);
    this.m.onCommit(summaries);
  }

  /**
   * The validator the current view waits for: its leader until this replica voted in it, then the next view's leader
   * (who collects the vote into the QC everyone waits for). -1 when that is this replica.
   */
  private awaited(): number {
    const s = this.state;
    if (s === null) return -1;
    const who = s.safety.lastVotedView >= s.view ? this.m.leaders.leader(s.view + 1) : this.m.leaders.leader(s.view);
    return who === this.o.self ? -1 : who;
  }

  /**
   * After the grace period, if the replica is still in the same view and the validator it waits for is still
   * unreachable, it times out now (`leaderDown`): a killed leader then costs a fraction of a view timer, not all of it.
   * A link that never came up does not count (peers are still connecting at start).
   */
  private armLeaderDownCheck(): void {
    if (this.state === null) return;
    const view = this.state.view;
    // Once per view: after the early timeout the replica waits for the TC like any other.
    if (this.leaderDownFired === view || (this.leaderDownTimer !== null && this.leaderDownView === view)) return;
    const since = this.downSince.get(this.awaited());
    if (since === undefined) return;
    this.leaderDownTimer?.cancel();
    this.leaderDownView = view;
    // The grace runs from when the link dropped: a view entered after it (the dead validator led the next view too)
    // times out at once.
    const grace = this.o.leaderDownGraceMs ?? DEFAULT_LEADER_DOWN_GRACE_MS;
    this.leaderDownTimer = this.m.scheduler.setTimeout(() => {
      this.leaderDownTimer = null;
      if (this.stopped || this.state === null || this.state.view !== view) return;
      if (!this.downSince.has(this.awaited())) return;
      this.leaderDownFired = view;
      this.count("LEADER_DOWN_TIMEOUT");
      this.input({ kind: "leaderDown", view });
    }, Math.max(0, since + grace - this.m.scheduler.now()));
  }

  // ---------------------------------------------------------------------------------------------------------------

  /**
   * Encodes once and queues for each target; transport refusals are counted, never thrown. Returns how many targets
   * did not get it queued (refused, failed, or nothing could be encoded).
   */
  private transmit(targets: readonly number[], msg: Message, priority: Priority, epoch = this.o.epoch ?? 0): number {
    if (this.stopped) return targets.length;
    let bytes: Uint8Array;
    try {
      bytes = encodeMessage(msg, epoch);
    } catch (e) {
      this.count("ENCODE_FAILED");
      this.m.logger.error("cannot encode an outgoing message", { kind: msg.kind, error: e instanceof Error ? e.message : String(e) });
      return targets.length;
    }
    let sent = 0;
    let failed = 0;
    for (const t of targets) {
      if (t === this.o.self) continue;
      sent++;
      try {
        if (this.m.transport.send(t, priority, bytes) === SendStatus.Rejected) {
          failed++;
          this.count(`SEND_REJECTED_${msg.kind}`);
        }
      } catch (e) {
        failed++;
        this.count("SEND_FAILED");
        this.m.logger.error("send failed", { to: t, kind: msg.kind, error: e instanceof Error ? e.message : String(e) });
      }
    }
    this.metrics.messageOut(msg.kind, sent);
    return failed;
  }

  private reject(from: number, code: RejectCode): void {
    this.count(code);
    if (actionOf(code) === "penalise") this.penalise(from, code);
  }

  private penalise(from: number, code: string): void {
    this.m.penalties.add(from, PENALTY.invalid);
    this.m.logger.warn("message rejected", { from, code });
  }

  private count(code: string, n = 1): void {
    this.counters.set(code, (this.counters.get(code) ?? 0) + n);
    this.metrics.rejected(code, n);
  }

  private fatal(e: unknown): void {
    if (this.stopped) return;
    this.stop();
    this.m.onFatal(e);
  }
}

function priorityOf(msg: Message): Priority {
  return msg.kind === "syncRequest" || msg.kind === "syncResponse" || msg.kind === "hello" ? Priority.Sync : Priority.Consensus;
}
