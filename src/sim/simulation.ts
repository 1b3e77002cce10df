/**
 * One simulated run: n replicas (plus twins) in one process, on virtual time, over the in-memory network, with the
 * faults of a `ScenarioPlan` — a pure function of its options and seed, so any run replays exactly.
 *
 *   const result = runSimulation({ validators: 4, seed: 7, kinds: "random", views: 50 });
 *   result.violations   // [] when safety, validity and liveness held
 */
import type { LeaderMode } from "../consensus/leaderElection.js";
import { toHex, utf8 } from "../util/bytes.js";
import { SeededRng } from "../util/rng.js";
import { maxFaulty } from "../domain/quorum.js";
import { blockHasher } from "../consensus/blockHash.js";
import type { Sha256 } from "../consensus/blockHash.js";
import type { SignatureScheme, SignerSetCodec } from "../consensus/scheme.js";
import { SchemeCertificates } from "../consensus/scheme.js";
import type { ConsensusSigner } from "../consensus/signing.js";
import type { TxRootFn } from "../consensus/validation/context.js";
import { checkEpochs, checkLiveness, checkSafety, checkValidity, commitLatency, RunRecorder } from "./checkers.js";
import type { CommitLatency, TraceEvent, Violation } from "./checkers.js";
import { InsecureTestScheme } from "./insecureTestScheme.js";
import { bitmapSignerSets } from "../consensus/adapters/bitmapSignerSets.js";
import { merkleRoot } from "../crypto/merkle.js";
import { MemoryNetwork } from "../net/memoryNetwork.js";
import { ManualScheduler } from "../util/clock.js";
import { faultyValidators, planScenario } from "./scenario.js";
import type { ScenarioKind, ScenarioPlan } from "./scenario.js";
import { SimReplica, SIM_BUCKET_BITS } from "./simReplica.js";
import { buildGenesisBlock } from "../chain/blocks.js";
import type { Block } from "../domain/types.js";
import type { ChainStore } from "../chain/store/interface.js";
import type { CommittedSummary } from "../chain/executor.js";
import type { ModularApplication } from "../chain/app/modular.js";
import { hash } from "node:crypto";
import { buildApplication } from "../chain/app/build.js";
import { meterApplication } from "./costModel.js";
import { epochSigner, registryKeys, remapScheme, SimOperator } from "./reconfig.js";
import type { CommitteeSummary } from "./reconfig.js";
import type { ReconfigOptions } from "./reconfig.js";
import type { EpochReader, EpochSet } from "../node/epochShell.js";
import { observerSigner } from "../consensus/signing.js";
import type { CpuCluster, VirtualCpu } from "./costModel.js";
import { wanPlan } from "./wan.js";
import type { WanModel } from "./wan.js";

export const SIM_CHAIN_ID = utf8("quire-sim");

/** Each instance's client submits one KV transaction this often (virtual ms): blocks carry a few txs each. */
export const SIM_CLIENT_INTERVAL_MS = 100;

/** The signature scheme and helpers a run uses. `testSimCrypto` by default; BLS through `blsSimCrypto`. */
export interface SimCrypto {
  readonly scheme: SignatureScheme;
  signer(index: number): ConsensusSigner;
  readonly signerSets: SignerSetCodec;
  readonly txRoot: TxRootFn;
  readonly sha256: Sha256;
}

const nodeSha256: Sha256 = (data) => hash("sha256", data, "buffer");

/** The fast insecure test scheme (see insecureTestScheme.ts). */
export function testSimCrypto(validators: number, seed: number): SimCrypto {
  const scheme = new InsecureTestScheme(validators, seed);
  return { scheme, signer: (i) => scheme.signer(i), signerSets: bitmapSignerSets(), txRoot: (txs) => merkleRoot(txs), sha256: nodeSha256 };
}

export interface SimOptions {
  readonly validators: number;
  readonly seed: number;
  readonly kinds: readonly ScenarioKind[] | "random";
  /** Run until an honest replica reaches this view (after GST and the liveness witnesses), or the deadline. */
  readonly views: number;
  readonly byzantine?: number;
  /** Default: the insecure test scheme. */
  readonly crypto?: SimCrypto;
  /** Keep a full event trace (for replaying a failure). */
  readonly trace?: boolean;
  /** Fixed link delay of the "happy" scenario. */
  readonly happyDelayMs?: number;
  /** Replaces the drawn plan (tests build exact scenarios). */
  readonly plan?: (drawn: ScenarioPlan) => ScenarioPlan;
  /** Virtual ms between client transactions to each instance (default SIM_CLIENT_INTERVAL_MS; 0: empty blocks only). */
  readonly clientIntervalMs?: number;
  /**
   * TEST ONLY: "claimed" runs every replica with the TC rule before protocol version 2 (`SchemeCertificatesOptions.tcRule`),
   * to show what the forged-tc behaviour did to it (test/sim/forgedTc.test.ts). Not reachable from `quire sim`.
   */
  readonly tcRule?: "carried" | "claimed";
  /**
   * Multi-chain runs: the main chain's application (built per instance and incarnation) and genesis block (default:
   * KV alone, an empty genesis).
   */
  readonly application?: (store: ChainStore, instance: number) => ModularApplication;
  readonly genesis?: Block;
  /** Multi-chain runs: told of every commit of every instance. */
  readonly onCommitted?: (instance: number, blocks: readonly CommittedSummary[]) => void;
  /** Geo runs: whether an instance holds its proposal of the block at `height`. */
  readonly proposeHold?: (instance: number, height: number) => boolean;
  /** Multi-chain runs: the virtual clock shared with the other chains (default: a clock of this run's own). */
  readonly scheduler?: ManualScheduler;
  /** The chain's id (default SIM_CHAIN_ID): shards each have their own. */
  readonly chainId?: Uint8Array;
  /**
   * The CPU-cost model (costModel.ts): each instance gets a virtual CPU of this cluster, and signing, verification,
   * tx checks and executions and network bytes cost virtual time. Off by default (events cost nothing).
   */
  readonly cpu?: CpuCluster;
  /**
   * Validator-set changes (reconfig.ts): the validators module, spare registry entries with instances of their own,
   * and an operator changing the set every few views. Not with `application` or `cpu`.
   */
  readonly reconfig?: ReconfigOptions;
  /** Who leads a view (genesis `consensus.leaderMode`, consensus/leaderElection.ts; default skip-inactive). */
  readonly leaderMode?: LeaderMode;
  /** `weighted` mode: one positive integer per validator (default: equal weights). */
  readonly leaderWeights?: readonly number[];
  /**
   * The WAN model (wan.ts): the network's latency, jitter, loss and per-node uplinks come from it, and the plan's
   * post-GST delay, Δ, timers and liveness bound are adapted to it (`wanPlan`, before `plan`). Off by default.
   */
  readonly wan?: SimWan;
  /** Most txs per block (default 256, simReplica.ts's SIM_BLOCK). */
  readonly blockMaxTxs?: number;
}

/** A run's place in a WAN model: its validator v is the model's global node `offset + v` (twins share their validator's). */
export interface SimWan {
  /** One model per run (it holds the uplink queues), shared by every cluster of a geo run and its inter-cluster layer. */
  readonly model: WanModel;
  /** Global node of validator 0 (a cluster c of N validators: c·N; default 0, a flat cluster). */
  readonly offset?: number;
}

export interface SimResult {
  readonly seed: number;
  readonly plan: ScenarioPlan;
  readonly violations: readonly Violation[];
  /** Highest committed height over honest replicas. */
  readonly committedHeight: number;
  /** Highest view over honest replicas at the end. */
  readonly maxView: number;
  readonly messages: number;
  readonly endMs: number;
  readonly maxFirstCommitAfterGstMs: number | null;
  /** Proposal-to-commit latency at honest replicas. */
  readonly latency: CommitLatency;
  /** Equivocation evidence recorded by honest replicas. */
  readonly evidence: number;
  /** Rejections at honest replicas by code. */
  readonly rejections: Record<string, number>;
  readonly trace: readonly TraceEvent[] | null;
  /** Reconfig runs: the changes the operator submitted, and the epochs every honest replica reached. */
  readonly reconfig: { readonly changes: number; readonly maxEpoch: number; readonly switches: number; readonly committee: CommitteeSummary | null } | null;
  /** Per-instance commit logs (for tests and latency measurements). */
  readonly recorder: RunRecorder;
  readonly replicas: readonly SimReplica[];
}

/** Builds the plan and the replicas, runs to completion, and checks. */
export function runSimulation(opts: SimOptions): SimResult {
  const sim = new Simulation(opts);
  sim.run();
  return sim.result();
}

export class Simulation {
  readonly plan: ScenarioPlan;
  readonly scheduler: ManualScheduler;
  readonly chainId: Uint8Array;
  /** Each instance's virtual CPU (null without a cost model). */
  readonly cpus: readonly VirtualCpu[] | null;
  readonly network: MemoryNetwork;
  readonly recorder: RunRecorder;
  readonly replicas: SimReplica[];
  readonly honest: number[];
  readonly live: number[];
  readonly genesis: Block;
  /** Reconfig runs: the operator (null otherwise). */
  readonly operator: SimOperator | null = null;
  /** Reconfig and committee runs: each instance's store and validators module (null otherwise). */
  private reads: readonly ({ readonly store: ChainStore; readonly reader: EpochReader } | null)[] | null = null;
  private endMs = 0;

  constructor(readonly opts: SimOptions) {
    const seed = opts.seed >>> 0;
    const drawn = planScenario(new SeededRng(seed), { validators: opts.validators, kinds: opts.kinds, byzantine: opts.byzantine, happyDelayMs: opts.happyDelayMs });
    const wan = opts.wan;
    // Global node of each validator (a cluster's are offset by its first); twins and spares come after the plan.
    const wanNode = (v: number): number => (wan?.offset ?? 0) + v;
    const adapted = wan === undefined ? drawn : wanPlan(drawn, wan.model, drawn.validatorOf.map(wanNode));
    const plan = opts.plan ? opts.plan(adapted) : adapted;
    this.plan = plan;
    const n = plan.validators;
    const reconfig = opts.reconfig;
    if (reconfig !== undefined && (opts.application !== undefined || opts.cpu !== undefined)) throw new Error("Simulation: reconfig does not combine with application or cpu");
    // A committee run's registry is the genesis set (its rotations pick among them); a change run adds spares.
    const spares = reconfig === undefined ? 0 : reconfig.spares ?? (reconfig.committee !== undefined ? 0 : 1);
    // Spares (reconfig runs): registry entries n.., one instance each after the plan's.
    const validatorOf = [...plan.validatorOf, ...Array.from({ length: spares }, (_, k) => n + k)];
    const instances = validatorOf.length;
    const baseCrypto = opts.crypto ?? testSimCrypto(n + spares, seed);
    const cpu = opts.cpu;
    const crypto = cpu === undefined ? baseCrypto : { ...baseCrypto, scheme: cpu.meterScheme(baseCrypto.scheme), signer: (i: number) => cpu.meterSigner(baseCrypto.signer(i)) };
    this.scheduler = opts.scheduler ?? new ManualScheduler();
    const chainId = (this.chainId = opts.chainId ?? SIM_CHAIN_ID);
    const cpus = (this.cpus = cpu === undefined ? null : plan.validatorOf.map(() => cpu.cpu()));
    const keys = reconfig === undefined ? null : registryKeys(reconfig.bls, n + spares, seed);
    const reads: ({ readonly store: ChainStore; readonly reader: EpochReader } | null)[] = validatorOf.map(() => null);
    if (reconfig !== undefined) this.reads = reads;
    const reconfigApp =
      keys === null
        ? undefined
        : (store: ChainStore, instance: number) => {
            const b = buildApplication(
              { bucketBits: SIM_BUCKET_BITS, modules: ["kv", "validators"], chainId, validators: keys.publicKeys.slice(0, n), ...(reconfig!.committee !== undefined ? { committee: reconfig!.committee } : {}) },
              { committed: store, bls: reconfig!.bls },
            );
            reads[instance] = { store, reader: b.validators! };
            return { app: b.app, validators: b.validators };
          };
    const application = reconfigApp ?? (cpu === undefined ? opts.application : (store: ChainStore, instance: number) => meterApplication(opts.application?.(store, instance) ?? buildApplication({ bucketBits: SIM_BUCKET_BITS, modules: ["kv"], chainId }, { committed: store }).app, cpu));
    const geography = wan === undefined ? {} : wan.model.networkModules(validatorOf.map(wanNode));
    this.network = new MemoryNetwork({ size: instances, seed: (seed ^ 0x5bd1e995) >>> 0, faults: plan.preGst }, { scheduler: this.scheduler, ...geography });
    this.recorder = new RunRecorder(instances, opts.trace ?? false);
    const certs = new SchemeCertificates({ chainId, validatorCount: n, optimisticVotes: plan.optimisticVotes, tcRule: opts.tcRule }, crypto.scheme, crypto.signerSets);
    const hashBlock = blockHasher(crypto.sha256);
    this.genesis = opts.genesis ?? buildGenesisBlock({ timestampMs: 0 });
    const instancesOf: number[][] = Array.from({ length: n + spares }, () => []);
    validatorOf.forEach((v, i) => instancesOf[v]!.push(i));
    const epochs =
      keys === null
        ? undefined
        : (v: number) => ({
            selfKey: keys.publicKeys[v]!,
            crypto: (set: EpochSet) => ({
              certificates: new SchemeCertificates({ chainId: set.domain, validatorCount: set.members.length, optimisticVotes: plan.optimisticVotes, tcRule: opts.tcRule }, remapScheme(crypto.scheme, set.members), crypto.signerSets),
              signer: epochSigner(set, (r) => crypto.signer(r)),
            }),
          });
    const byzRng = new SeededRng((seed ^ 0x27d4eb2f) >>> 0);
    this.replicas = validatorOf.map(
      (v, instance) =>
        new SimReplica({
          instance,
          validator: v,
          validatorCount: n,
          chainId,
          genesis: this.genesis,
          pacemaker: plan.pacemaker,
          leaderConfig: { leaderMode: opts.leaderMode, leaderWeights: opts.leaderWeights },
          certificates: certs,
          optimisticVotes: plan.optimisticVotes,
          signer: v < n ? crypto.signer(v) : observerSigner(n),
          hashBlock,
          txRoot: crypto.txRoot,
          network: cpus === null ? this.network.transport(instance) : cpus[instance]!.transport(this.network.transport(instance)),
          scheduler: cpus === null ? this.scheduler : cpus[instance]!.scheduler,
          recorder: this.recorder,
          instancesOf,
          validatorOfInstance: validatorOf,
          epochs: epochs?.(v),
          behaviour: plan.byzantine.get(v) ?? null,
          rng: byzRng,
          clientIntervalMs: opts.clientIntervalMs ?? SIM_CLIENT_INTERVAL_MS,
          blockMaxTxs: opts.blockMaxTxs,
          application,
          onCommitted: opts.onCommitted,
          proposeHold: opts.proposeHold,
        }),
    );
    this.honest = validatorOf.map((_, i) => i).filter((i) => !plan.byzantine.has(validatorOf[i]!));
    // A committee run's epochs come from its rotations alone (reconfig.ts: changes and rotations are tested together).
    if (keys !== null && reconfig!.committee === undefined) {
      this.operator = new SimOperator(
        { chainId, everyViews: reconfig!.everyViews ?? 20, genesisCount: n },
        {
          bls: reconfig!.bls,
          secrets: keys.secrets,
          scheduler: this.scheduler,
          rng: new SeededRng((seed ^ 0x68e31da4) >>> 0),
          maxView: () => Math.max(0, ...this.honest.map((i) => this.replicas[i]!.view)),
          targets: this.replicas.map((r, i) => ({
            reads: () => {
              const x = reads[i];
              return !r.up || x === null || x === undefined ? null : { height: x.store.head()?.height ?? 0, reader: x.reader };
            },
            submit: (tx: Uint8Array) => r.submit(tx, "operator"),
          })),
        },
      );
    }
    const stopped = new Set(plan.crashes.filter((c) => c.restartAtMs === null).map((c) => c.instance));
    this.live = this.honest.filter((i) => !stopped.has(i));
  }

  /** Schedules the plan's events, starts every instance and runs until done or the deadline. */
  run(): void {
    const { done, deadline } = this.begin();
    this.scheduler.runUntil(done, deadline);
    this.end();
  }

  /**
   * Like `run`, for runs that also drive asynchronous parts on the virtual clock (the para nodes of a multi-chain run:
   * their main-chain client is promise-based): after every event the pending promise callbacks run before the next
   * event, so the run stays a deterministic function of its seed. Stops when `done` and `also()` hold, or at the
   * deadline plus `extraMs`.
   */
  async runAsync(also: () => boolean, extraMs: number): Promise<void> {
    const { done, deadline } = this.begin();
    const s = this.scheduler;
    const end = deadline + extraMs;
    while (!(done() && also())) {
      const at = s.nextAt();
      if (at === undefined || at > end) break;
      s.runNext();
      await drainMicrotasks();
    }
    this.endMs = s.now();
  }

  /** Marks the end of a run driven from outside (several chains on one shared clock): the liveness check reads it. */
  end(): void {
    this.endMs = this.scheduler.now();
  }

  /**
   * Schedules the plan's events and starts every instance; returns when the run is done and its deadline. `run` and
   * `runAsync` call it; multi-chain runs on a shared clock call it for each chain and drive the clock themselves.
   */
  begin(): { done: () => boolean; deadline: number } {
    const { plan, scheduler, network, recorder } = this;
    for (const p of plan.partitions) {
      scheduler.setTimeout(() => {
        const handle = network.partition(p.groups);
        recorder.event(scheduler.now(), -1, "partition", 0, p.groups.map((g) => `[${g.join(",")}]`).join(""));
        scheduler.setTimeout(() => {
          handle.heal();
          recorder.event(scheduler.now(), -1, "heal", 0, "partition healed");
        }, p.toMs - p.fromMs);
      }, p.fromMs);
    }
    for (const c of plan.crashes) {
      const r = this.replicas[c.instance]!;
      scheduler.setTimeout(() => r.armCrash(c.cutAfterIo), c.atMs);
      if (c.restartAtMs !== null) {
        scheduler.setTimeout(() => {
          r.crash(); // if the armed crash has not happened yet
          r.start();
        }, c.restartAtMs);
      }
    }
    scheduler.setTimeout(() => {
      network.heal();
      network.setFaults(plan.postGst);
      recorder.event(scheduler.now(), -1, "gst", 0, "network synchronous from now on");
    }, plan.gstMs);
    // Every endpoint is up before the first replica speaks (the leader of view 1 proposes as it starts).
    for (let i = 0; i < this.replicas.length; i++) void network.transport(i).start();
    for (const r of this.replicas) r.start();
    const views0 = this.opts.views;
    this.operator?.start(50, plan.gstMs + plan.livenessBoundMs + views0 * 2 * plan.pacemaker.baseTimeoutMs);

    const f = maxFaulty(plan.validators);
    const checkLive = faultyValidators(plan).size <= f;
    const views = this.opts.views;
    const deadline = plan.gstMs + plan.livenessBoundMs + views * 2 * plan.pacemaker.baseTimeoutMs;
    const done = (): boolean => {
      if (scheduler.now() <= plan.gstMs) return false;
      let maxView = 0;
      for (const i of this.honest) maxView = Math.max(maxView, this.replicas[i]!.view);
      if (maxView < views) return false;
      // Every live honest replica has committed since GST (the liveness witnesses), when liveness is expected.
      if (!checkLive) return true;
      for (const i of this.live) {
        const log = recorder.commits[i]!;
        const last = log[log.length - 1];
        if (last === undefined || last.at <= plan.gstMs) return false;
      }
      return true;
    };
    return { done, deadline };
  }

  private reconfigSummary(): { changes: number; maxEpoch: number; switches: number; committee: CommitteeSummary | null } {
    let maxEpoch = 0;
    let switches = 0;
    for (const i of this.honest) {
      const sh = this.replicas[i]!.stack?.shell;
      if (sh === undefined) continue;
      maxEpoch = Math.max(maxEpoch, sh.epoch?.epoch ?? 0);
      switches += sh.epochSwitches;
    }
    return { changes: this.operator?.submitted.length ?? 0, maxEpoch, switches, committee: this.opts.reconfig?.committee === undefined ? null : this.committeeSummary() };
  }

  /** The epochs of the honest replica that committed the most, as committee moves (see `CommitteeSummary`). */
  private committeeSummary(): CommitteeSummary {
    let best: { height: number; reader: EpochReader } | null = null;
    for (const i of this.honest) {
      const x = this.reads?.[i];
      const h = x?.store.head()?.height ?? 0;
      if (x !== null && x !== undefined && (best === null || h > best.height)) best = { height: h, reader: x.reader };
    }
    const epochs = best?.reader.epochs() ?? [];
    const left = new Set<number>();
    let leaves = 0;
    let returns = 0;
    for (let k = 1; k < epochs.length; k++) {
      const before = epochs[k - 1]!.members;
      const after = epochs[k]!.members;
      for (const v of before) if (!after.includes(v)) (leaves++, left.add(v));
      for (const v of after) if (!before.includes(v) && left.has(v)) returns++;
    }
    return { rotations: Math.max(0, epochs.length - 1), leaves, returns, epochs: epochs.map((e) => ({ startHeight: e.startHeight, members: e.members })) };
  }

  result(): SimResult {
    const { plan, recorder } = this;
    const honestSet = new Set(this.honest);
    const violations: Violation[] = [
      ...checkSafety(recorder, this.honest),
      ...checkEpochs(recorder, this.honest),
      ...checkValidity(recorder, this.honest, toHex(this.replicas[0]!.deps.hashBlock(this.genesis.header))),
      ...recorder.unpersistedSends.filter((v) => honestSet.has(v.instances[0]!)).slice(0, 5),
    ];
    const checkLive = faultyValidators(plan).size <= maxFaulty(plan.validators);
    const live = checkLive ? checkLiveness(recorder, this.live, plan.gstMs, plan.livenessBoundMs, this.endMs) : { violations: [], maxFirstCommitAfterGstMs: null };
    violations.push(...live.violations);
    let committedHeight = 0;
    let maxView = 0;
    let evidence = 0;
    const rejections: Record<string, number> = {};
    for (const i of this.honest) {
      const r = this.replicas[i]!;
      const log = recorder.commits[i]!;
      committedHeight = Math.max(committedHeight, log[log.length - 1]?.height ?? 0);
      maxView = Math.max(maxView, r.view);
      const stats = r.stats();
      evidence += stats.evidence;
      for (const [code, c] of stats.rejections) rejections[code] = (rejections[code] ?? 0) + c;
      for (const e of r.fatal) violations.push({ kind: "safety", message: `replica ${i} stopped on an internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`, instances: [i] });
    }
    return {
      seed: this.opts.seed >>> 0,
      plan,
      violations,
      committedHeight,
      maxView,
      messages: recorder.messages,
      endMs: this.endMs,
      maxFirstCommitAfterGstMs: live.maxFirstCommitAfterGstMs,
      latency: commitLatency(recorder, this.honest),
      evidence,
      rejections,
      trace: recorder.trace,
      reconfig: this.reads === null ? null : this.reconfigSummary(),
      recorder,
      replicas: this.replicas,
    };
  }
}

/** Lets every pending promise callback (and those they queue) run: one macrotask turn. */
function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
