/**
 * The simulator's shell around one replica instance — what src/node/ will do with real IO, done on virtual time:
 * decode → validate → step → execute effects in order (persist first, then sends), with a "disk" (safety state and
 * committed blocks) that survives crashes. Byzantine behaviours are implemented here, by rewriting what an otherwise
 * honest replica sends (byzantine.ts); twins are simply two instances of one validator.
 */
import { decodeMessage, encodeMessage } from "../wire/codec.js";
import { WireError } from "../wire/errors.js";
import type { Block, Message } from "../domain/types.js";
import { bytesEqual, utf8 } from "../util/bytes.js";
import { bytesKey } from "../util/bytes.js";
import type { SeededRng } from "../util/rng.js";
import type { Replica } from "../consensus/replica.js";
import { serveSyncRequest } from "../consensus/sync.js";
import type { CommittedChain } from "../consensus/sync.js";
import type { CommittedBlock, Effect, Input, ProposeRequest, ReplicaState, SafetyState, StoredBlock } from "../consensus/types.js";
import { MessageValidator } from "../consensus/validation/validator.js";
import type { ValidatorModules } from "../consensus/validation/validator.js";
import type { ConsensusSigner } from "../consensus/signing.js";
import type { RunRecorder } from "./checkers.js";
import { Priority } from "../net/transport.js";
import type { Transport } from "../net/transport.js";
import type { Scheduler } from "../util/clock.js";
import type { Behaviour } from "./scenario.js";
import { byzantineRewrite } from "./byzantine.js";

const ZERO_HASH = new Uint8Array(32);
const NO_RESULTS = new Uint8Array(0);

/** What survives a crash. */
export interface Disk {
  safety: SafetyState | null;
  /** committed[h] is the block at height h (committed[0] is genesis). */
  readonly committed: CommittedBlock[];
  /** Uncommitted blocks by `bytesKey` (the fork database), pruned on commit. */
  readonly blocks: Map<string, StoredBlock>;
}

export interface SimReplicaDeps {
  readonly instance: number;
  readonly validator: number;
  readonly replica: Replica;
  readonly validatorModules: ValidatorModules;
  readonly voteSignatures: "verify" | "defer";
  readonly signer: ConsensusSigner;
  /** This instance's endpoint on the in-memory network: the same Transport contract the node uses. */
  readonly transport: Transport;
  readonly scheduler: Scheduler;
  readonly recorder: RunRecorder;
  /** Instances of each validator (twins have two). */
  readonly instancesOf: readonly (readonly number[])[];
  readonly validatorOfInstance: readonly number[];
  readonly instanceCount: number;
  readonly behaviour: Behaviour | null;
  /** For Byzantine choices (a stream of its own, so honest behaviour does not depend on it). */
  readonly rng: SeededRng;
  readonly txRoot: (txs: readonly Uint8Array[]) => Uint8Array;
  readonly chainId: Uint8Array;
}

export class SimReplica {
  readonly disk: Disk;
  state: ReplicaState | null = null;
  private validator: MessageValidator | null = null;
  private timer: { cancel(): void } | null = null;
  private readonly inbox: Input[] = [];
  private draining = false;
  /** Effects left to run before an armed crash happens (null: no crash armed). */
  private cutAfter: number | null = null;
  /** Effects executed since the first start (over all incarnations): the crash-at-every-boundary test aims at these. */
  effectsRun = 0;
  /** Crash just before effect number `crashBeforeEffect` (absolute, see `effectsRun`) runs; null: never. */
  crashBeforeEffect: number | null = null;
  /** Rejections from validation and the core, by code, summed over restarts. */
  readonly rejections = new Map<string, number>();
  evidence = 0;
  crashes = 0;

  constructor(readonly deps: SimReplicaDeps) {
    this.disk = { safety: null, committed: [deps.replica.genesis], blocks: new Map() };
    deps.transport.setHandler({ onMessage: (from, payload) => this.onMessage(from, payload) });
  }

  get up(): boolean {
    return this.state !== null;
  }

  /** Starts (first time) or restarts from the disk. */
  start(): void {
    if (this.up) return;
    const d = this.deps;
    // MemoryTransport starts (and stops) synchronously — the promise only reports it — so the run stays deterministic.
    void d.transport.start();
    this.validator = new MessageValidator(
      { self: d.validator, validatorCount: d.instancesOf.length, genesisHash: d.replica.genesis.hash, voteSignatures: d.voteSignatures },
      d.validatorModules,
    );
    const last = this.disk.committed[this.disk.committed.length - 1]!;
    const r = d.replica.restore(this.disk.safety, last, [...this.disk.blocks.values()], d.scheduler.now());
    this.state = r.state;
    d.recorder.event(d.scheduler.now(), d.instance, "start", r.state.view, this.crashes === 0 ? "start" : `restart (lastVoted ${this.disk.safety?.lastVotedView ?? 0})`);
    this.execute(r.effects);
    this.drain();
  }

  /** Crashes after `afterEffects` more effects have run (0: at the next effect boundary, i.e. now if idle). */
  armCrash(afterEffects: number): void {
    if (!this.up) return;
    if (afterEffects <= 0) this.crash();
    else this.cutAfter = afterEffects;
  }

  crash(): void {
    if (!this.up) return;
    const d = this.deps;
    this.collectValidatorStats();
    void d.transport.stop();
    this.timer?.cancel();
    this.timer = null;
    d.recorder.event(d.scheduler.now(), d.instance, "crash", this.state?.view ?? 0, "crash");
    this.state = null;
    this.validator = null;
    this.inbox.length = 0;
    this.cutAfter = null;
    this.crashes++;
  }

  /** Folds the current validator's counters into the totals (call before dropping it and at the end of a run). */
  collectValidatorStats(): void {
    const v = this.validator;
    if (v === null) return;
    for (const [code, count] of Object.entries(v.rejections())) if (count > 0) this.rejections.set(code, (this.rejections.get(code) ?? 0) + count);
    this.evidence += v.evidence().length + v.evidenceDropped();
    this.validator = null;
  }

  private onMessage(fromInstance: number, payload: Uint8Array): void {
    if (!this.up) return;
    let msg: Message;
    try {
      msg = decodeMessage(payload);
    } catch (e) {
      if (e instanceof WireError) {
        this.count(`WIRE_${e.code}`);
        return;
      }
      throw e;
    }
    const from = this.validatorOf(fromInstance);
    if (msg.kind === "syncRequest") {
      const state = this.state!;
      const chain: CommittedChain = { height: this.disk.committed.length - 1, at: (h) => this.disk.committed[h] };
      this.transmit([fromInstance], { kind: "syncResponse", body: serveSyncRequest(state, chain, msg.body) });
      return;
    }
    const v = this.validator!.validate(from, msg, this.state!.view, this.deps.scheduler.now());
    if (!v.ok) {
      this.count(v.code);
      return;
    }
    this.input(v.input);
  }

  private input(i: Input): void {
    this.inbox.push(i);
    this.drain();
  }

  /** Steps through queued inputs (local ones, like a payload, queue up while effects run). */
  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.inbox.length > 0 && this.up) {
        const next = this.inbox.shift()!;
        const before = this.state!.view;
        const r = this.deps.replica.step(this.state!, next, this.deps.scheduler.now());
        this.state = r.state;
        if (r.state.view !== before) this.deps.recorder.event(this.deps.scheduler.now(), this.deps.instance, "view", r.state.view, `entered on ${next.kind}`);
        this.execute(r.effects);
      }
    } finally {
      this.draining = false;
    }
  }

  private execute(effects: readonly Effect[]): void {
    const d = this.deps;
    for (const e of effects) {
      if (this.crashBeforeEffect === this.effectsRun) {
        this.crashBeforeEffect = null;
        this.crash();
        return;
      }
      this.effectsRun++;
      if (this.cutAfter !== null) {
        if (this.cutAfter === 0) {
          this.crash();
          return;
        }
        this.cutAfter--;
      }
      switch (e.kind) {
        case "persist":
          this.disk.safety = e.safety;
          break;
        case "saveBlock":
          this.disk.blocks.set(bytesKey(e.stored.hash), e.stored);
          break;
        case "send":
          this.emit(e.message, d.instancesOf[e.to] ?? []);
          break;
        case "broadcast":
          this.emit(e.message, this.allOthers());
          break;
        case "setTimer": {
          this.timer?.cancel();
          const view = e.view;
          this.timer = d.scheduler.setTimeout(() => {
            this.timer = null;
            if (this.up) this.input({ kind: "timer", view });
          }, e.at - d.scheduler.now());
          break;
        }
        case "commit":
          for (const b of d.recorder.committed(d.instance, e.blocks, d.scheduler.now())) this.disk.committed.push(b);
          this.pruneStoredBlocks();
          break;
        case "proposeRequest":
          this.inbox.push({ kind: "payload", view: e.request.view, block: this.buildBlock(e.request) });
          break;
        case "rejected":
          this.count(e.code);
          break;
      }
    }
    if (this.cutAfter === 0) this.crash();
  }

  /** Sends `message` to `targets` (instances), through the Byzantine rewrite when this validator misbehaves. */
  private emit(message: Message, targets: readonly number[]): void {
    const d = this.deps;
    if (d.recorder.trace !== null && message.kind !== "proposal") {
      const b = message.body as { view?: number; requestId?: number };
      d.recorder.event(d.scheduler.now(), d.instance, message.kind, b.view ?? this.state?.view ?? 0, `to ${targets.join(",")}`);
    }
    const others = targets.filter((t) => t !== d.instance);
    this.checkPersistedBeforeSend(message);
    if (message.kind === "proposal") {
      d.recorder.proposed(d.replica.ctx.hashBlock(message.body.block.header));
      d.recorder.event(d.scheduler.now(), d.instance, "propose", message.body.block.header.view, `height ${message.body.block.header.height}`);
    }
    if (d.behaviour !== null) {
      for (const [msg, to] of byzantineRewrite(d.behaviour, message, others, this)) this.transmit(to, msg);
    } else {
      this.transmit(others, message);
    }
  }

  /**
   * The shell-side check of "persist before send": a vote of ours may only leave when it is the persisted safety
   * state's last vote (same view and block), a timeout when the persisted state covers its view and holds a timeout
   * for it, and a proposal when it covers the proposal's view. Any breach is recorded as a
   * safety violation of the run.
   */
  private checkPersistedBeforeSend(m: Message): void {
    const d = this.deps;
    const safety = this.disk.safety;
    let view = -1;
    let covered = true;
    if (m.kind === "vote" && m.body.voter === d.validator) {
      view = m.body.view;
      // Exactly this vote must be the persisted last vote: a view merely covered by lastVotedView would also pass a
      // vote sent after timing out in its view, or a second, different vote in one view.
      const last = safety?.lastVote ?? null;
      covered = safety !== null && safety.lastVotedView >= view && last !== null && last.view === view && bytesEqual(last.blockHash, m.body.blockHash);
    } else if (m.kind === "timeout" && m.body.voter === d.validator) {
      view = m.body.view;
      covered = safety !== null && safety.lastVotedView >= view && safety.lastTimeout?.view === view;
    } else if (m.kind === "proposal" && m.body.block.header.proposer === d.validator) {
      view = m.body.block.header.view;
      covered = safety !== null && safety.lastProposedView >= view;
    }
    if (!covered) d.recorder.unpersisted(d.instance, m.kind, view, d.scheduler.now());
  }

  /** Encodes once and hands the bytes to the network for each target instance. */
  transmit(targets: readonly number[], message: Message): void {
    if (targets.length === 0) return;
    const bytes = encodeMessage(message);
    for (const t of targets) {
      if (t === this.deps.instance) continue;
      this.deps.transport.send(t, Priority.Consensus, bytes);
      this.deps.recorder.messages++;
    }
  }

  private allOthers(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.deps.instanceCount; i++) if (i !== this.deps.instance) out.push(i);
    return out;
  }

  validatorOf(instance: number): number {
    return this.deps.validatorOfInstance[instance] ?? -1;
  }

  /** The block this instance proposes: one small transaction naming the instance and view (twins differ). */
  buildBlock(req: ProposeRequest, tag = ""): Block {
    const d = this.deps;
    const txs = [utf8(`quire-sim/${d.validator}/${d.instance}/${req.view}${tag}`)];
    return {
      header: {
        parent: req.parentHash,
        view: req.view,
        height: req.parentHeight + 1,
        proposer: d.validator,
        timestampMs: Math.floor(d.scheduler.now()),
        txRoot: d.txRoot(txs),
        parentStateRoot: ZERO_HASH,
        parentResults: NO_RESULTS,
      },
      txs,
    };
  }

  /** Stored blocks at or below the committed height are committed (kept in `committed`) or on dead forks. */
  private pruneStoredBlocks(): void {
    const h = this.disk.committed.length - 1;
    for (const [k, b] of this.disk.blocks) if (b.block.header.height <= h) this.disk.blocks.delete(k);
  }

  private count(code: string): void {
    this.rejections.set(code, (this.rejections.get(code) ?? 0) + 1);
  }
}
