/**
 * Validator-set epochs around the one consensus shell (issue 16; the plan is src/chain/app/validators/README.md).
 *
 * Each epoch is a fresh instance of the unchanged core — a `ConsensusShell` with its own replica, validation,
 * certificates, leaders and precheck — rooted at the block that ended the previous epoch, as Aptos starts an epoch
 * from the last epoch's ledger info. This class keeps what outlives an epoch (store, executor, mempool, transport,
 * penalties, counters) and swaps the instance when the current one commits its last block.
 *
 *   a change tx committed in block h (validators module) → epoch e + 1 starts at h + 2, so E = h + 1 ends epoch e
 *   → the instance of e commits up to E and stops (nothing above E is committed under e's set; E's certified child C,
 *     whose QC committed E, is kept as the proof that ended e)
 *   → `ChainStore.beginEpoch`: the proof, no uncommitted blocks, a fresh safety state of e + 1, in one transaction
 *   → the instance of e + 1 starts from E (certified here by `rootQc` at E's view), signing under
 *     `epochDomain(chainId, e + 1)`; messages of e + 1 held meanwhile are handed to it; the QC that committed E goes
 *     to every peer, so that one still in e commits E too.
 *
 * **Peer identities.** The transport and the penalties count registry indices (stable for a validator's life: the
 * genesis validators are 0..n−1). An instance counts positions in its epoch's member list — votes, bitmaps and
 * leaders are per epoch — so this class maps: member at position p ↔ id p; any other registry index r ↔ id n + 1 + r
 * (a non-member: it may sync from us and we from it, and its consensus messages of the epoch are refused,
 * `NOT_IN_EPOCH`); id n is this node itself when it is not a member (an observer: it follows, never signs).
 *
 * **Envelopes carry the epoch** (wire/codec.ts). Hello, sync requests and tx batches belong to no epoch. A consensus
 * message or sync response of the current epoch goes to the instance; of the next, it is held (bounded per peer,
 * oldest dropped, no penalty: it cannot be verified yet) until the switch; of an earlier one, it is stale and dropped.
 * Sync responses never cross an epoch: the serving instance cuts a range at its epoch's end and appends the proof
 * (`EpochBoundary.syncCut`).
 *
 * **Committees** (genesis `consensus.committee`): the validators module also schedules epochs itself, at every height
 * ≡ E − 2 (mod E) whose top-m committee differs from the latest set; commits are cut after those heights too
 * (`mayScheduleEpoch`), and the rest is the same switch. Non-members of an epoch are its observers: they follow,
 * execute and serve, and the module's tracker lets them back in once their score recovers.
 *
 * Without the validators module there is one epoch for ever: members 0..n−1, ids equal registry indices, the chain
 * id as the signing domain, no envelope field — exactly the single-epoch node.
 */
import type { CommitteeConfig, Epoch, RegistryEntry } from "../chain/app/validators/module.js";
import { VALSET_TX_TAG } from "../chain/app/validators/format.js";
import type { ChainStore } from "../chain/store/interface.js";
import { decodeSafetyRecord, encodeSafetyRecord } from "../chain/store/records.js";
import { epochDomain, rootQc } from "../consensus/signing.js";
import type { LeaderElection } from "../consensus/leaderElection.js";
import type { EvidenceReport } from "../consensus/validation/evidence.js";
import type { MessageValidator } from "../consensus/validation/validator.js";
import type { Block, CertifiedBlock, Message } from "../domain/types.js";
import { Priority } from "../net/transport.js";
import type { Transport } from "../net/transport.js";
import { bytesEqual } from "../util/bytes.js";
import { decodeEnvelope, encodeMessage } from "../wire/codec.js";
import { WireError } from "../wire/errors.js";
import type { ConsensusShell, EpochBoundary, ShellOperatorView } from "./consensusShell.js";
import type { Logger } from "./logger.js";
import { PENALTY } from "./penalties.js";
import type { PeerPenalties } from "./penalties.js";

/** Messages of the next epoch held per peer until the switch; beyond it the oldest is dropped (`EPOCH_HOLD_DROPPED`). */
export const MAX_HELD_PER_PEER = 16;

/** The committed epochs and registry (the validators module's reads). */
export interface EpochReader {
  epochs(): readonly Epoch[];
  registry(): readonly RegistryEntry[];
  /** Committees by reputation: a rotation may schedule an epoch at every height ≡ everyHeights − 2 (null/absent: none). */
  readonly committee?: CommitteeConfig | null;
}

/** Whether committing `block` may schedule the next epoch: it carries a change, or it is a committee's rotation height. */
export function mayScheduleEpoch(block: Block, committee: CommitteeConfig | null | undefined): boolean {
  if (committee != null && block.header.height % committee.everyHeights === committee.everyHeights - 2) return true;
  return block.txs.some((tx) => tx[0] === VALSET_TX_TAG);
}

/** One epoch as an instance runs it. */
export interface EpochSet {
  readonly epoch: number;
  readonly startHeight: number;
  /** Registry indices, ascending: position p in this list is validator p of the instance. */
  readonly members: readonly number[];
  /** The members' BLS public keys, by position. */
  readonly publicKeys: readonly Uint8Array[];
  /** What the instance's signatures are bound to (`epochDomain`). */
  readonly domain: Uint8Array;
  /** This node's position, or `members.length`: not a member (an observer of this epoch). */
  readonly self: number;
  /** The committed block that ended the previous epoch; null for epoch 0 (genesis is the root). */
  readonly root: Block | null;
}

/** What an instance is built with, besides its set: the ports this class maps (see the module comment). */
export interface EpochPorts {
  readonly transport: Pick<Transport, "peers" | "send"> & Partial<Pick<Transport, "queuedBytes">>;
  readonly penalties: Pick<PeerPenalties, "add" | "muted">;
  readonly epochs: EpochBoundary | undefined;
  readonly counters: Map<string, number>;
}

/** An epoch's instance. */
export interface EpochInstance {
  readonly shell: ConsensusShell;
  readonly leaders: LeaderElection;
  readonly validator: MessageValidator;
}

export interface EpochShellOptions {
  readonly chainId: Uint8Array;
  /** The genesis set's size and this node's index in it (the one epoch of a chain without the validators module). */
  readonly validatorCount: number;
  readonly self: number;
  /** This node's BLS public key: with the module, its registry index is found by it. */
  readonly selfKey?: Uint8Array;
}

export interface EpochShellModules {
  readonly store: Pick<ChainStore, "head" | "committedAt" | "beginEpoch" | "epochEndProof" | "loadSafetyState" | "pendingBlocks">;
  /** Registry-indexed, as the transport's peers. */
  readonly transport: Pick<Transport, "peers" | "send"> & Partial<Pick<Transport, "queuedBytes">>;
  readonly penalties: Pick<PeerPenalties, "add" | "muted">;
  /** The validators module's committed reads; null: the chain has one epoch. */
  readonly reader: EpochReader | null;
  readonly build: (set: EpochSet, ports: EpochPorts) => EpochInstance;
  readonly logger: Logger;
  /** A new epoch started (after the store write, before the held messages are replayed). Must not throw. */
  readonly onEpoch?: (set: EpochSet) => void;
}

const EPOCHLESS: ReadonlySet<Message["kind"]> = new Set(["hello", "syncRequest", "txBatch", "handshake"]);

export class EpochShell {
  /** Rejection and drop counters of every epoch's instance, and this class's own. */
  readonly counters = new Map<string, number>();
  private current: { readonly set: EpochSet; readonly inst: EpochInstance; readonly n: number } | null = null;
  private readonly held = new Map<number, Message[]>();
  /** Peers whose later-epoch messages nudged catch-up in the running epoch. */
  private readonly nudged = new Set<number>();
  private stopped = false;
  private switches = 0;
  private pastEvidence = 0;

  constructor(
    private readonly o: EpochShellOptions,
    private readonly m: EpochShellModules,
  ) {}

  /** The running instance's set (null before start). */
  get epoch(): EpochSet | null {
    return this.current?.set ?? null;
  }

  /** Epoch switches since start. */
  get epochSwitches(): number {
    return this.switches;
  }

  get view(): number {
    return this.current?.inst.shell.view ?? 0;
  }

  get peerHeights(): ReadonlyMap<number, number> {
    const c = this.current;
    if (c === null) return new Map();
    const out = new Map<number, number>();
    for (const [id, h] of c.inst.shell.peerHeights) out.set(this.regOf(id), h);
    return out;
  }

  /** The registry index of the validator that leads `view` in the current epoch. */
  leader(view: number): number {
    const c = this.current;
    return c === null ? -1 : this.regOf(c.inst.leaders.leader(view));
  }

  operatorView(): ShellOperatorView | null {
    return this.current?.inst.shell.operatorView() ?? null;
  }

  evidence(): EvidenceReport {
    return this.current!.inst.shell.evidence();
  }

  /** Equivocation evidence recorded in every epoch so far (the current instance's log and its drops included). */
  evidenceTotal(): number {
    const v = this.current?.inst.validator;
    return this.pastEvidence + (v === undefined ? 0 : v.evidence().length + v.evidenceDropped());
  }

  /** The running instance's shell and validation (tests, the simulator's probes). */
  get instance(): EpochInstance | null {
    return this.current?.inst ?? null;
  }

  start(): void {
    if (this.stopped || this.current !== null) throw new Error("EpochShell.start: already started or stopped");
    const set = this.setAt(this.nextHeight());
    if (set.epoch > 0) this.settle(set);
    this.startEpoch(set);
  }

  /**
   * A restart in epoch e ≥ 1 whose store still holds another epoch's safety state: the node crashed between
   * committing the block that ended e − 1 and `beginEpoch`. That write is done now — a fresh safety state, no
   * uncommitted blocks (they are e − 1's: restored under the new root they could be committed by its two-chain rule;
   * review finding), and the end proof if this node still holds one among them.
   */
  private settle(set: EpochSet): void {
    const saved = this.m.store.loadSafetyState();
    if (saved !== undefined && decodeSafetyRecord(saved).epoch === set.epoch) return;
    const root = set.root!;
    const rootHash = this.m.store.committedAt(root.header.height)!.hash;
    let endedBy: CertifiedBlock[] | null = null;
    // The blocks above E are still pending only while E is the head.
    if (this.m.store.epochEndProof(set.epoch - 1) === undefined && this.m.store.head()!.height === root.header.height) {
      const child = this.m.store.pendingBlocks().find((p) => p.qc !== null && bytesEqual(p.block.header.parent, rootHash) && p.block.header.view === root.header.view + 1);
      if (child !== undefined) endedBy = [{ block: child.block, qc: child.qc! }];
    }
    this.m.store.beginEpoch({ epoch: set.epoch, endedBy, safety: freshSafety(set.epoch, rootHash, root.header.view) });
    this.count("EPOCH_SETTLED");
  }

  stop(): void {
    this.stopped = true;
    this.current?.inst.shell.stop();
    this.held.clear();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Transport events (registry indices)

  onMessage(from: number, payload: Uint8Array): void {
    const c = this.current;
    if (c === null || this.stopped) return;
    const id = this.idOf(from);
    let env: { message: Message; epoch: number };
    try {
      env = decodeEnvelope(payload);
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      // The instance counts and penalises it like any undecodable message.
      c.inst.shell.onMessage(id, payload);
      return;
    }
    const msg = env.message;
    if (EPOCHLESS.has(msg.kind)) {
      c.inst.shell.onDecoded(id, msg);
      return;
    }
    const epoch = c.set.epoch;
    if (this.m.reader === null && env.epoch !== 0) {
      // A chain without the validators module has one epoch: a peer that says otherwise is broken.
      this.count("EPOCH_UNEXPECTED");
      this.m.penalties.add(from, PENALTY.invalid);
      return;
    }
    if (env.epoch === epoch) {
      // A non-member signs nothing of this epoch: its proposals, votes and timeouts are refused. Certificates (which
      // an observer forwards, e.g. answering a stale timeout) and sync answers are verified like anyone's.
      if ((msg.kind === "proposal" || msg.kind === "vote" || msg.kind === "timeout") && id >= c.n) {
        this.count("NOT_IN_EPOCH");
        this.m.penalties.add(from, PENALTY.invalid);
        return;
      }
      c.inst.shell.onDecoded(id, msg);
    } else if (env.epoch === epoch + 1 && msg.kind !== "syncResponse") {
      this.hold(from, msg);
    } else if (env.epoch > epoch) {
      // Further ahead (or a next-epoch sync answer, which this epoch's catch-up cannot use): behind by whole epochs.
      this.count("EPOCH_AHEAD");
      this.nudgeOnce(from);
    } else {
      this.count("EPOCH_STALE");
    }
  }

  onPeerUp(peer: number): void {
    this.current?.inst.shell.onPeerUp(this.idOf(peer));
  }

  onPeerDown(peer: number): void {
    this.current?.inst.shell.onPeerDown(this.idOf(peer));
  }

  /** See ConsensusShell.remoteTimeout (geo clusters). */
  remoteTimeout(): void {
    this.current?.inst.shell.remoteTimeout();
  }

  private hold(from: number, msg: Message): void {
    let q = this.held.get(from);
    if (q === undefined) this.held.set(from, (q = []));
    if (q.length >= MAX_HELD_PER_PEER) {
      q.shift();
      this.count("EPOCH_HOLD_DROPPED");
    }
    q.push(msg);
    this.count("EPOCH_HELD");
    this.nudgeOnce(from);
  }

  /**
   * `from` has left our epoch: what ended it is committed somewhere; catch up with it. Once per peer and epoch, so a
   * peer cannot keep catch-up running by itself (review finding).
   */
  private nudgeOnce(from: number): void {
    if (this.nudged.has(from)) return;
    this.nudged.add(from);
    this.current?.inst.shell.nudgeCatchUp();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Epochs

  private nextHeight(): number {
    return (this.m.store.head()?.height ?? 0) + 1;
  }

  /** The set that certifies block `height`, from committed state. */
  private setAt(height: number): EpochSet {
    const reader = this.m.reader;
    if (reader === null) {
      const members = Array.from({ length: this.o.validatorCount }, (_, i) => i);
      return { epoch: 0, startHeight: 1, members, publicKeys: [], domain: this.o.chainId, self: this.o.self, root: null };
    }
    const all = reader.epochs();
    let e = all[0]!;
    for (const x of all) if (x.startHeight <= height) e = x;
    const registry = reader.registry();
    const publicKeys = e.members.map((r) => registry[r]!.publicKey);
    const selfKey = this.o.selfKey;
    const selfReg = selfKey === undefined ? -1 : registry.findIndex((r) => bytesEqual(r.publicKey, selfKey));
    const pos = e.members.indexOf(selfReg);
    let root: Block | null = null;
    if (e.epoch > 0) {
      const rec = this.m.store.committedAt(e.startHeight - 1);
      if (rec === undefined) throw new Error(`EpochShell: the block that ended epoch ${e.epoch - 1} (height ${e.startHeight - 1}) is not committed`);
      root = rec.block;
    }
    return { epoch: e.epoch, startHeight: e.startHeight, members: e.members, publicKeys, domain: epochDomain(this.o.chainId, e.epoch), self: pos < 0 ? e.members.length : pos, root };
  }

  /** The last height of epoch `epoch`, once the next one is scheduled (committed). */
  private endOf(epoch: number): number {
    const reader = this.m.reader;
    if (reader === null) return Infinity;
    const next = reader.epochs().find((x) => x.epoch === epoch + 1);
    return next === undefined ? Infinity : next.startHeight - 1;
  }

  private epochOfHeight(height: number): number {
    const reader = this.m.reader;
    if (reader === null) return 0;
    let e = 0;
    for (const x of reader.epochs()) if (x.startHeight <= height) e = x.epoch;
    return e;
  }

  private startEpoch(set: EpochSet): void {
    const n = set.members.length;
    const boundary: EpochBoundary | undefined =
      this.m.reader === null
        ? undefined
        : {
            lastHeight: () => this.endOf(set.epoch),
            mayScheduleNext: (block) => mayScheduleEpoch(block, this.m.reader?.committee),
            ended: (endedBy) => this.ended(set, endedBy),
            syncCut: (fromHeight) => {
              const epoch = this.epochOfHeight(fromHeight);
              const end = this.endOf(epoch);
              return { epoch, end, endedBy: Number.isFinite(end) ? this.m.store.epochEndProof(epoch) : undefined };
            },
          };
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const outer = this;
    const ports: EpochPorts = {
      transport: {
        get peers() {
          return outer.m.transport.peers.map((r) => outer.idIn(set, r));
        },
        send: (id, priority, bytes) => this.m.transport.send(this.regIn(set, id), priority, bytes),
        queuedBytes: (id) => this.m.transport.queuedBytes?.(this.regIn(set, id)) ?? 0,
      },
      penalties: { add: (id, points) => this.m.penalties.add(this.regIn(set, id), points), muted: (id) => this.m.penalties.muted(this.regIn(set, id)) },
      epochs: boundary,
      counters: this.counters,
    };
    const inst = this.m.build(set, ports);
    this.current = { set, inst, n };
    this.nudged.clear();
    this.m.onEpoch?.(set);
    if (this.stopped) return;
    inst.shell.start();
    // Messages of this epoch that arrived early, in arrival order per peer.
    const held = [...this.held];
    this.held.clear();
    for (const [from, q] of held) for (const msg of q) if (!this.stopped && this.current?.inst === inst) this.deliverHeld(from, msg);
  }

  private deliverHeld(from: number, msg: Message): void {
    const c = this.current!;
    const id = this.idOf(from);
    if (id >= c.n) {
      this.count("NOT_IN_EPOCH");
      return;
    }
    c.inst.shell.onDecoded(id, msg);
  }

  /** The instance of `set` committed its last block E (it has stopped). */
  private ended(set: EpochSet, endedBy: readonly CertifiedBlock[] | null): void {
    if (this.stopped) return;
    const next = this.setAt(this.nextHeight());
    if (next.epoch !== set.epoch + 1 || next.root === null) throw new Error(`EpochShell: epoch ${set.epoch} ended, but the committed state starts epoch ${next.epoch}`);
    const rootHash = this.m.store.head()!.hash;
    this.m.store.beginEpoch({ epoch: next.epoch, endedBy, safety: freshSafety(next.epoch, rootHash, next.root.header.view) });
    this.switches++;
    this.pastEvidence = this.evidenceTotal();
    this.count("EPOCH_SWITCH");
    this.m.logger.info("epoch started", { epoch: next.epoch, startHeight: next.startHeight, members: next.members.length, member: next.self < next.members.length });
    if (endedBy !== null && set.self < set.members.length) {
      // Whoever is still in `set` commits E on the QC of the two-chain (asking us for the blocks if it lacks them).
      // A member sends it: from an observer it would be a non-member's message of that epoch.
      const bytes = encodeMessage({ kind: "qc", body: endedBy[endedBy.length - 1]!.qc }, set.epoch);
      for (const r of this.m.transport.peers) this.m.transport.send(r, Priority.Consensus, bytes);
    }
    // Stopped meanwhile (the simulator crashes a replica at any IO): no instance may start after a stop.
    if (this.stopped) return;
    this.startEpoch(next);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Identities

  private idOf(reg: number): number {
    const c = this.current;
    return c === null ? reg : this.idIn(c.set, reg);
  }

  private regOf(id: number): number {
    const c = this.current;
    return c === null ? id : this.regIn(c.set, id);
  }

  private idIn(set: EpochSet, reg: number): number {
    const p = set.members.indexOf(reg);
    return p >= 0 ? p : set.members.length + 1 + reg;
  }

  private regIn(set: EpochSet, id: number): number {
    const n = set.members.length;
    return id < n ? set.members[id]! : id - n - 1;
  }

  private count(code: string): void {
    this.counters.set(code, (this.counters.get(code) ?? 0) + 1);
  }
}

/** The first safety state of `epoch`: nothing voted, the high QC its root's certificate (`rootQc`). */
function freshSafety(epoch: number, rootHash: Uint8Array, rootView: number): Uint8Array {
  return encodeSafetyRecord({ epoch, lastVotedView: 0, highQc: rootQc(rootHash, rootView), lastProposedView: 0, lastVote: null, lastTimeout: null, lastTc: null });
}
