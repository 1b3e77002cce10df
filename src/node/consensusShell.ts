/**
 * The IO shell around the consensus core (DESIGN §2-3): what src/sim/simReplica.ts does on virtual time, done with
 * real IO.
 *
 *   bytes from a peer → decode (WireError: counted, peer penalised) → signature precheck in the BLS pool
 *   → validation (MessageValidator, in arrival order) → execution check of proposals (held back until their parent is
 *   here) → Replica.step → effects, in order:
 *     persist    the safety state, fsync'd (ChainStore.saveSafetyState) — the core orders it before any vote/timeout
 *     saveBlock  the uncommitted block, fsync'd (ChainStore.savePending) — before the vote for it leaves
 *     send / broadcast  encoded with the wire codec, handed to the transport
 *     setTimer   the single view timer, on the real clock
 *     commit     executed and written through the Executor (one LMDB transaction), txs leave the mempool
 *     proposeRequest  a block from the mempool (after a short batching delay), fed back as a `payload` input
 *
 * Every store write is synchronous, so an effect list runs to completion within one task: a stop requested by a
 * signal handler always lands between two steps, never inside a write.
 *
 * Also here: serving sync requests from the store, hello on link-up, and tx gossip (TxBatch to the next leaders).
 */
import { Priority, SendStatus } from "../net/transport.js";
import type { Transport } from "../net/transport.js";
import { decodeMessage, encodeMessage } from "../wire/codec.js";
import { WireError } from "../wire/errors.js";
import type { Block, Hello, Message, SyncRequest, TxBatch } from "../domain/types.js";
import { bytesKey } from "../util/bytes.js";
import { bytesEqual } from "../util/bytes.js";
import { serveSyncRequest } from "../consensus/sync.js";
import type { CommittedChain } from "../consensus/sync.js";
import type { Replica } from "../consensus/replica.js";
import type { LeaderElection } from "../consensus/leaderElection.js";
import type { MessageValidator } from "../consensus/validation/validator.js";
import type { Effect, Input, ProposeRequest, ReplicaState } from "../consensus/types.js";
import { buildBlock } from "../chain/blocks.js";
import { ExecutionError } from "../chain/errors.js";
import type { CommittedSummary, Executor } from "../chain/executor.js";
import type { Mempool } from "../chain/mempool.js";
import type { ChainStore, PendingBlock } from "../chain/store/interface.js";
import { decodeSafetyRecord, encodeSafetyRecord } from "../chain/store/records.js";
import type { BlockPolicy, GossipPolicy } from "./config.js";
import type { Logger } from "./logger.js";
import { PENALTY } from "./penalties.js";
import type { PeerPenalties } from "./penalties.js";
import type { SignaturePrecheck } from "./precheck.js";

/** Messages waiting for their signature precheck, at most; beyond it new consensus messages are dropped (counted). */
const MAX_INBOUND = 4_096;
/** While a leader waits for transactions, it looks at the mempool this often. */
const PROPOSE_POLL_MS = 10;
/** Proposals waiting for their parent, at most (the newest views are kept: older ones are moot once we catch up). */
const MAX_ORPHANS = 16;
/** Distinct next leaders a gossip batch goes to (all peers in a 4-validator network). */
const GOSSIP_FANOUT = 3;
/** Gossip batches sent per tick at most (the rest waits for the next tick). */
const GOSSIP_BATCHES_PER_TICK = 8;

/** Validation codes an honest peer never causes: they cost the sender penalty points. */
const PENALISED = new Set<string>([
  "UNKNOWN_VALIDATOR",
  "WRONG_SENDER",
  "NOT_LEADER",
  "MALFORMED",
  "BAD_TX_ROOT",
  "QC_NOT_FOR_PARENT",
  "QC_VIEW_NOT_BELOW",
  "TC_VIEW_MISMATCH",
  "UNJUSTIFIED",
  "HIGH_QC_NOT_BELOW",
  "BAD_SIGNATURE",
  "BAD_GENESIS_QC",
  "QC_BAD_SIGNERS",
  "QC_BELOW_QUORUM",
  "QC_BAD_AGGREGATE",
  "TC_BAD_SIGNERS",
  "TC_BELOW_QUORUM",
  "TC_BAD_AGGREGATE",
  "TC_BAD_HIGH_QC_VIEWS",
  "SYNC_NOT_CHAIN",
  "SYNC_QC_MISMATCH",
  "EQUIVOCATION",
  "BAD_PARENT_STATE_ROOT",
  "BAD_PARENT_RESULTS",
]);

export interface ConsensusShellOptions {
  readonly chainId: Uint8Array;
  readonly self: number;
  readonly validatorCount: number;
  readonly block: BlockPolicy;
  readonly gossip: GossipPolicy;
}

export interface ConsensusShellModules {
  readonly replica: Replica;
  readonly validator: MessageValidator;
  /** Null: every signature is verified inline by validation. */
  readonly precheck: SignaturePrecheck | null;
  readonly store: ChainStore;
  readonly executor: Executor;
  readonly mempool: Mempool;
  readonly transport: Transport;
  readonly leaders: LeaderElection;
  readonly penalties: PeerPenalties;
  readonly logger: Logger;
  /** Wall-clock milliseconds since the epoch (block timestamps, view timers). */
  readonly now: () => number;
  /** Blocks just committed (after the store write and the mempool update). Must not throw. */
  readonly onCommit: (blocks: readonly CommittedSummary[]) => void;
  /** An internal invariant broke: the node must stop. */
  readonly onFatal: (error: unknown) => void;
}

type ProposalInput = Extract<Input, { kind: "proposal" }>;

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
  private readonly inbound: InboundEntry[] = [];
  private orphans: ProposalInput[] = [];
  private viewTimer: ReturnType<typeof setTimeout> | undefined;
  private proposeTimer: ReturnType<typeof setTimeout> | undefined;
  private gossipTimer: ReturnType<typeof setTimeout> | undefined;
  private proposeWaitingSince = 0;
  /** Rejections and dropped messages by code (validation codes, `CORE_*`, `WIRE_*`, shell codes). */
  readonly counters = new Map<string, number>();
  /** Committed heights peers announced in their hello. */
  readonly peerHeights = new Map<number, number>();
  /** Totals for metrics. */
  proposals = 0;
  committedTxs = 0;
  gossipSent = 0;

  constructor(
    private readonly o: ConsensusShellOptions,
    private readonly m: ConsensusShellModules,
  ) {}

  /** The current view (0 before start). */
  get view(): number {
    return this.state?.view ?? 0;
  }

  /** Resumes from the store (genesis must be committed) and starts the timers. */
  start(): void {
    const m = this.m;
    const head = m.store.head();
    if (head === null) throw new ExecutionError("NO_GENESIS", "the store has no committed block: commit genesis first");
    const rec = m.store.committedAt(head.height);
    if (rec === undefined) throw new ExecutionError("NO_GENESIS", `the store has no record of its head at height ${head.height}`);
    const saved = m.store.loadSafetyState();
    const safety = saved === undefined ? null : decodeSafetyRecord(saved);
    const r = m.replica.restore(safety, { block: rec.block, hash: rec.hash, qc: rec.qc }, m.store.pendingBlocks(), m.now());
    this.state = r.state;
    m.logger.info("consensus started", { height: head.height, view: r.state.view, lastVotedView: safety?.lastVotedView ?? 0 });
    this.execute(r.effects);
    this.drain();
    this.scheduleGossip();
  }

  /** Stops processing: timers cancelled, queued inputs dropped. Idempotent; safe between any two tasks. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.viewTimer);
    clearTimeout(this.proposeTimer);
    clearTimeout(this.gossipTimer);
    this.inbox.length = 0;
    this.inbound.length = 0;
    this.orphans = [];
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
    switch (msg.kind) {
      case "txBatch":
        this.onTxBatch(from, msg.body);
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
    const head = this.m.store.head();
    if (head === null) return;
    const hello: Hello = { chainId: this.o.chainId, committedHeight: head.height, committedHash: head.hash };
    this.transmit([peer], { kind: "hello", body: hello }, Priority.Sync);
  }

  /**
   * Consensus messages are validated in arrival order, each once its signatures came back from the pool (the pool
   * may answer out of order; order matters, e.g. a proposal before the vote that follows it).
   */
  private enqueue(from: number, msg: Message): void {
    if (this.inbound.length >= MAX_INBOUND) {
      this.count("INBOUND_OVERFLOW");
      return;
    }
    const entry: InboundEntry = { from, msg, ready: this.m.precheck === null };
    this.inbound.push(entry);
    if (this.m.precheck === null) {
      this.pump();
      return;
    }
    const done = (): void => {
      entry.ready = true;
      this.pump();
    };
    this.m.precheck.prepare(from, msg).then(done, done);
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
    const now = this.m.now();
    let v: ReturnType<MessageValidator["validate"]>;
    try {
      v = this.m.validator.validate(from, msg, state.view, now);
    } catch (e) {
      // A validation bug must not let one peer's message stop the node: count it loudly instead.
      this.count("VALIDATION_ERROR");
      this.m.penalties.add(from, PENALTY.invalid);
      this.m.logger.error("validation threw", { from, kind: msg.kind, error: e instanceof Error ? e.message : String(e) });
      return;
    }
    if (!v.ok) {
      this.reject(from, v.code);
      return;
    }
    if (v.input.kind === "proposal") {
      this.offerProposal(v.input);
      return;
    }
    this.input(v.input);
  }

  /**
   * A validated proposal reaches the core only once its block is known to carry its parent's execution outcome (state
   * root, result bitmap): the core votes for what it inserts, and it cannot check execution itself. A proposal whose
   * parent is not here yet waits in `orphans` (the newest few) while its certificates go to the core — they make it
   * fetch the missing blocks (sync) and move to the proposal's view —, and is offered again after every step.
   */
  private offerProposal(p: ProposalInput): void {
    const c = this.checkExecution(p.proposal.block);
    if (c === "unknown") {
      this.keepOrphan(p);
      this.input({ kind: "qc", from: p.from, qc: p.proposal.qc });
      if (p.proposal.tc !== null) this.input({ kind: "tc", from: p.from, tc: p.proposal.tc });
      return;
    }
    if (c !== null) {
      this.reject(p.from, c);
      return;
    }
    this.input(p);
  }

  private keepOrphan(p: ProposalInput): void {
    const key = bytesKey(p.proposal.hash);
    if (this.orphans.some((o) => bytesKey(o.proposal.hash) === key)) return;
    this.count("PROPOSAL_AWAITING_PARENT");
    this.orphans.push(p);
    this.orphans.sort((a, b) => b.proposal.block.header.view - a.proposal.block.header.view);
    if (this.orphans.length > MAX_ORPHANS) {
      this.count("ORPHAN_DROPPED", this.orphans.length - MAX_ORPHANS);
      this.orphans.length = MAX_ORPHANS;
    }
  }

  /** Offers again the orphans whose parent arrived; drops those at or below the committed height. Any queued? */
  private retryOrphans(): boolean {
    if (this.orphans.length === 0) return false;
    const store = this.m.store;
    const headHeight = store.head()?.height ?? 0;
    let queued = false;
    const keep: ProposalInput[] = [];
    for (const o of this.orphans) {
      const h = o.proposal.block.header;
      if (h.height <= headHeight) continue;
      if (store.blockByHash(h.parent) === undefined) {
        keep.push(o);
        continue;
      }
      const c = this.checkExecution(o.proposal.block);
      if (c === "unknown") keep.push(o);
      else if (c !== null) this.reject(o.from, c);
      else {
        this.inbox.push(o);
        queued = true;
      }
    }
    this.orphans = keep;
    return queued;
  }

  /** null: the block carries its parent's outcome (or its parent forks below the head: the core refuses it). */
  private checkExecution(block: Block): "BAD_PARENT_STATE_ROOT" | "BAD_PARENT_RESULTS" | "unknown" | null {
    try {
      const c = this.m.executor.checkParentExecution(block);
      if (c === "UNKNOWN_PARENT") return "unknown";
      if (c === "PARENT_NOT_ON_CHAIN") return null;
      return c;
    } catch (e) {
      if (e instanceof ExecutionError) {
        this.count(`EXECUTION_${e.code}`);
        return "unknown";
      }
      throw e;
    }
  }

  private onTxBatch(from: number, batch: TxBatch): void {
    let invalid = 0;
    for (const tx of batch.txs) {
      // A copy: the decoded tx is a view into the whole frame, which it would otherwise keep alive in the mempool.
      const r = this.m.mempool.add(tx.slice(), `peer:${from}`, { gossip: false });
      if (r.kind === "invalid") invalid++;
      else if (r.kind === "full") this.count("GOSSIP_MEMPOOL_FULL");
    }
    if (invalid > 0) {
      this.count("GOSSIP_INVALID_TX", invalid);
      this.m.penalties.add(from, PENALTY.invalid);
    }
  }

  private onHello(from: number, hello: Hello): void {
    if (!bytesEqual(hello.chainId, this.o.chainId)) {
      this.count("HELLO_WRONG_CHAIN");
      this.m.penalties.add(from, PENALTY.invalid);
      return;
    }
    this.peerHeights.set(from, hello.committedHeight);
    const head = this.m.store.head();
    if (head !== null && hello.committedHeight > head.height) {
      this.m.logger.info("peer is ahead", { peer: from, peerHeight: hello.committedHeight, height: head.height });
    }
  }

  private onSyncRequest(from: number, req: SyncRequest): void {
    const state = this.state;
    if (state === null) return;
    const store = this.m.store;
    const head = store.head();
    const chain: CommittedChain = {
      height: head?.height ?? 0,
      at: (h) => {
        const rec = store.committedAt(h);
        return rec === undefined ? undefined : { block: rec.block, hash: rec.hash, qc: rec.qc };
      },
    };
    const res = serveSyncRequest(state, chain, req);
    this.transmit([from], { kind: "syncResponse", body: res }, Priority.Sync);
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
      do {
        while (this.inbox.length > 0 && !this.stopped && this.state !== null) {
          const next = this.inbox.shift()!;
          const r = this.m.replica.step(this.state, next, this.m.now());
          this.state = r.state;
          this.execute(r.effects);
        }
      } while (!this.stopped && this.retryOrphans());
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
            if (d.kind === "persist") safety = encodeSafetyRecord(d.safety);
            else if (d.kind === "saveBlock") pending.push(d.stored);
            else break;
          }
          k--;
          m.store.saveConsensusState(safety === undefined ? { pending } : { safety, pending });
          break;
        }
        case "send":
          this.transmit([e.to], e.message, priorityOf(e.message));
          break;
        case "broadcast":
          if (e.message.kind === "proposal") this.proposals++;
          this.transmit(m.transport.peers, e.message, priorityOf(e.message));
          break;
        case "setTimer": {
          clearTimeout(this.viewTimer);
          const view = e.view;
          this.viewTimer = setTimeout(
            () => {
              this.viewTimer = undefined;
              if (!this.stopped) this.input({ kind: "timer", view });
            },
            Math.max(0, e.at - m.now()),
          );
          break;
        }
        case "commit":
          this.commit(e.blocks);
          break;
        case "proposeRequest":
          this.schedulePropose(e.request);
          break;
        case "rejected":
          this.count(`CORE_${e.code}`);
          break;
      }
    }
  }

  private commit(blocks: Extract<Effect, { kind: "commit" }>["blocks"]): void {
    // An executor or store failure here is an invariant break (the core only commits blocks extending the head).
    const summaries = this.m.executor.commit(blocks);
    let txs = 0;
    for (const s of summaries) {
      this.m.mempool.removeCommitted(s.txIds);
      txs += s.txIds.length;
    }
    this.committedTxs += txs;
    this.m.onCommit(summaries);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Proposing

  /**
   * A leader proposes once it has transactions and `minIntervalMs` passed (so a block carries what arrived meanwhile),
   * or after `emptyIntervalMs` with an empty mempool (an idle chain keeps committing, slowly).
   */
  private schedulePropose(req: ProposeRequest): void {
    clearTimeout(this.proposeTimer);
    this.proposeWaitingSince = this.m.now();
    this.proposeTimer = setTimeout(() => this.tryPropose(req), this.o.block.minIntervalMs);
  }

  private tryPropose(req: ProposeRequest): void {
    this.proposeTimer = undefined;
    const state = this.state;
    if (this.stopped || state === null || state.view !== req.view || state.awaitingPayload !== req.view) return;
    const waited = this.m.now() - this.proposeWaitingSince;
    if (this.m.mempool.size === 0 && waited < this.o.block.emptyIntervalMs) {
      this.proposeTimer = setTimeout(() => this.tryPropose(req), Math.min(PROPOSE_POLL_MS, this.o.block.emptyIntervalMs - waited));
      return;
    }
    let block;
    try {
      const ex = this.m.executor;
      const exclude = ex.txIdsInBranch(req.parentHash);
      const txs = this.m.mempool.reap(this.o.block.maxTxs, this.o.block.maxBytes, exclude);
      block = buildBlock({
        parentHash: req.parentHash,
        parentHeight: req.parentHeight,
        view: req.view,
        proposer: this.o.self,
        timestampMs: this.m.now(),
        txs,
        parentExecution: ex.parentExecution(req.parentHash),
      });
    } catch (e) {
      if (!(e instanceof ExecutionError)) {
        this.fatal(e);
        return;
      }
      // The parent cannot be executed here (not stored yet): skip this view; its timer moves us on.
      this.count(`PROPOSE_${e.code}`);
      this.m.logger.warn("cannot propose", { view: req.view, code: e.code, message: e.message });
      return;
    }
    this.input({ kind: "payload", view: req.view, block });
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Gossip

  private scheduleGossip(): void {
    if (this.stopped) return;
    this.gossipTimer = setTimeout(() => {
      this.gossipTick();
      this.scheduleGossip();
    }, this.o.gossip.intervalMs);
  }

  /** New client txs go to the next few leaders (the ones that can put them in a block soonest). */
  private gossipTick(): void {
    if (this.stopped || this.state === null) return;
    const targets = this.nextLeaders();
    if (targets.length === 0) return;
    const g = this.o.gossip;
    for (let i = 0; i < GOSSIP_BATCHES_PER_TICK; i++) {
      const txs = this.m.mempool.takeNewForGossip(g.maxBatchTxs, g.maxBatchBytes);
      if (txs.length === 0) return;
      this.transmit(targets, { kind: "txBatch", body: { txs } }, Priority.Gossip);
      this.gossipSent += txs.length;
    }
  }

  private nextLeaders(): number[] {
    const out: number[] = [];
    const n = this.o.validatorCount;
    const v = this.view;
    for (let k = 0; k < 2 * n && out.length < GOSSIP_FANOUT; k++) {
      const l = this.m.leaders.leader(v + k);
      if (l !== this.o.self && !out.includes(l)) out.push(l);
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------------------------

  /** Encodes once and queues for each target; transport refusals are counted, never thrown. */
  private transmit(targets: readonly number[], msg: Message, priority: Priority): void {
    let bytes: Uint8Array;
    try {
      bytes = encodeMessage(msg);
    } catch (e) {
      this.count("ENCODE_FAILED");
      this.m.logger.error("cannot encode an outgoing message", { kind: msg.kind, error: e instanceof Error ? e.message : String(e) });
      return;
    }
    for (const t of targets) {
      if (t === this.o.self) continue;
      try {
        if (this.m.transport.send(t, priority, bytes) === SendStatus.Rejected) this.count(`SEND_REJECTED_${msg.kind}`);
      } catch (e) {
        this.count("SEND_FAILED");
        this.m.logger.error("send failed", { to: t, kind: msg.kind, error: e instanceof Error ? e.message : String(e) });
      }
    }
  }

  private reject(from: number, code: string): void {
    this.count(code);
    if (PENALISED.has(code)) this.m.penalties.add(from, PENALTY.invalid);
    if (PENALISED.has(code)) this.m.logger.warn("message rejected", { from, code });
  }

  private count(code: string, n = 1): void {
    this.counters.set(code, (this.counters.get(code) ?? 0) + n);
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
