/**
 * Geo-cluster runs (issue 15; node/geo/README.md): Z clusters of N replicas, each cluster its own chain running the
 * shipping shell (a `ShardSimulation` shard, with the scenario's faults inside it), an order-only application, and on
 * every replica the node's `GeoReplica` and `GlobalOrder` — sharing committed blocks across clusters, remote view
 * changes, pulls — over links with inter-cluster latency, all on one virtual clock.
 *
 *   const r = runGeoSimulation({ clusters: 3, validators: 4, seed: 1, kinds: "random" });
 *   r.violations   // each cluster's safety/validity/liveness, plus "globalOrder": every honest replica executed the
 *                  // same blocks in the same order with the same state roots, and all of them reached the target round
 *
 * The globalOrder checker keeps the first record of every round any honest replica reported and compares every other
 * report with it (a restarted replica re-executes from genesis and is compared again). Liveness: once every cluster's
 * run ended, every honest replica that is up must execute every round up to the lowest height all clusters committed
 * (`target`) within the settle time.
 *
 * Geo messages travel outside the clusters' in-memory networks: `linkDelayMs` (default: 1 ms inside a cluster, 50 ms
 * between clusters; a WAN model can be plugged in) decides each message's delay, or loses it (null). Messages to a
 * replica that is down are lost; a restarted replica gets a fresh geo layer that replays its own chain and pulls the
 * other clusters' blocks.
 */
import { buildApplication } from "../chain/app/build.js";
import { encodeKvTx } from "../chain/app/kvTx.js";
import type { CommittedSummary } from "../chain/executor.js";
import { SchemeCertificates } from "../consensus/scheme.js";
import { blockHasher } from "../consensus/blockHash.js";
import { merkleRoot } from "../crypto/merkle.js";
import type { Block } from "../domain/types.js";
import { GeoReplica } from "../node/geo/geoReplica.js";
import type { GeoBehaviour, GeoCluster } from "../node/geo/geoReplica.js";
import { GlobalOrder, sameRound } from "../node/geo/globalOrder.js";
import type { RoundRecord } from "../node/geo/globalOrder.js";
import { buildGenesisBlock } from "../chain/blocks.js";
import { toHex, utf8, writeU64BE } from "../util/bytes.js";
import type { Violation } from "./checkers.js";
import { faultyValidators } from "./scenario.js";
import type { ScenarioKind, ScenarioPlan } from "./scenario.js";
import { SeededRng } from "../util/rng.js";
import { maxFaulty } from "../domain/quorum.js";
import { ShardSimulation, shardChainId, shardSeed } from "./shardSimulation.js";
import type { ShardSimResult } from "./shardSimulation.js";
import { SIM_BUCKET_BITS } from "./simReplica.js";
import { testSimCrypto } from "./simulation.js";
import type { SimCrypto } from "./simulation.js";
import type { CostModel } from "./costModel.js";
import type { WanModel } from "./wan.js";

export const GEO_NETWORK_ID = utf8("quire-sim-geo");

/** Default client load per cluster (tx/s): a few txs per block, so every cluster's blocks differ. */
export const DEFAULT_GEO_LOAD = 100;

/** A geo member that misbehaves in its geo layer only (it counts against its cluster's f). */
export interface GeoFault {
  readonly cluster: number;
  readonly member: number;
  readonly behaviour: GeoBehaviour;
}

export interface GeoSimOptions {
  readonly clusters: number;
  readonly validators: number;
  readonly seed: number;
  readonly kinds: readonly ScenarioKind[] | "random";
  /** Each cluster runs until an honest replica reaches this view (default 30). */
  readonly views?: number;
  readonly byzantine?: number;
  readonly plan?: (cluster: number, drawn: ScenarioPlan) => ScenarioPlan;
  /** Rounds a cluster may run ahead of the global order before its leaders hold (GeoReplicaOptions.leadRounds). */
  readonly leadRounds?: number;
  /** Remote timeout (default 1,000 ms). */
  readonly remoteTimeoutMs?: number;
  /**
   * Geo-layer faults (silent or partial sharers), or "random": per cluster, with probability 1/2, one member turns
   * silent or partial — a member the cluster's plan already made faulty when it has one, so no cluster gets more
   * than its plan's faulty count or one, whichever is larger (≤ f whenever the plan keeps to f and f ≥ 1).
   */
  readonly faults?: readonly GeoFault[] | "random";
  /**
   * The WAN (wan.ts) every cluster runs over: cluster c's validators are global nodes c·N .. c·N+N−1, inside the
   * clusters' networks and for geo messages alike (one uplink per node for both). Without it geo messages take
   * `linkDelayMs`.
   */
  readonly wan?: WanModel;
  /** Delay of one geo message (ms), or null when it is lost. Default: 1 ms inside a cluster, 50 ms between. */
  readonly linkDelayMs?: (from: { cluster: number; member: number }, to: { cluster: number; member: number }, bytes: number) => number | null;
  readonly costs?: CostModel;
  /** Client load per cluster (tx/s, "saturate", or 0; default DEFAULT_GEO_LOAD). */
  readonly load?: number | "saturate";
  readonly warmupMs?: number;
  readonly windowMs?: number;
  /** Virtual ms the run may go on after the clusters ended for every replica to reach the target (default 20,000). */
  readonly settleMs?: number;
  /**
   * TEST ONLY: replica (cluster, member) executes each round's clusters in reverse order — a broken run the
   * globalOrder checker must catch.
   */
  readonly breakOrderAt?: { readonly cluster: number; readonly member: number };
}

export interface GeoSimResult {
  readonly seed: number;
  readonly clusters: ShardSimResult;
  readonly violations: readonly Violation[];
  /** The round every honest live replica had to reach, and the lowest it did reach. */
  readonly targetRound: number;
  readonly minRound: number;
  /** Rounds checked (distinct rounds reported by honest replicas). */
  readonly rounds: number;
  /** Counter totals over every geo replica (shares sent, remote view changes accepted, pulls …). */
  readonly counters: Record<string, number>;
  /** Txs executed in the global order by the reference replica (cluster 0's first honest one) in the window. */
  readonly windowTxs: number;
  readonly globalTxPerSec: number;
  /** The longest any honest replica's global execution waited for one other cluster's block (ms; by the geo tick). */
  readonly longestRemoteWaitMs: number;
  /** The run's geo-layer faults. */
  readonly faults: readonly GeoFault[];
}

export function runGeoSimulation(opts: GeoSimOptions): GeoSimResult {
  const sim = new GeoSimulation(opts);
  sim.run();
  return sim.result();
}

interface Slot {
  geo: GeoReplica | null;
  order: GlobalOrder | null;
  incarnation: number;
  /** The longest remote wait over this replica's incarnations. */
  maxWaitMs: number;
  /** A global-order execution event is queued on the replica's CPU. */
  executing: boolean;
  /** `order.txs` when last accounted (see `account`). */
  accounted: number;
}

export class GeoSimulation {
  readonly sim: ShardSimulation;
  private readonly slots: Slot[][];
  private readonly crypto: SimCrypto[];
  private readonly clusters: GeoCluster[];
  private readonly genesis: { block: Block; hash: Uint8Array }[];
  private readonly canonical = new Map<number, RoundRecord>();
  private readonly violations: Violation[] = [];
  private readonly counters: Record<string, number> = {};
  private target = -1;
  private windowTxs = 0;
  private faults = new Map<string, GeoBehaviour>();
  /** Jitter and loss of geo messages over the WAN. */
  private readonly rng: SeededRng;

  constructor(readonly opts: GeoSimOptions) {
    const Z = opts.clusters;
    const N = opts.validators;
    if (!Number.isInteger(Z) || Z < 1 || Z > 64) throw new RangeError(`clusters must be in 1..64, got ${Z}`);
    const hashBlock = blockHasher();
    this.crypto = Array.from({ length: Z }, (_, c) => testSimCrypto(N, shardSeed(opts.seed, c)));
    // Distinct genesis blocks (time = the cluster index), so no two clusters ever build the same block.
    this.genesis = Array.from({ length: Z }, (_, c) => {
      const block = buildGenesisBlock({ timestampMs: c });
      return { block, hash: hashBlock(block.header) };
    });
    this.clusters = this.crypto.map((cr, c) => ({
      size: N,
      scheme: cr.scheme,
      share: { hashBlock, txRoot: (txs) => merkleRoot(txs), certificates: new SchemeCertificates({ chainId: shardChainId(c), validatorCount: N }, cr.scheme, cr.signerSets) },
    }));
    this.slots = Array.from({ length: Z }, () => []);
    this.sim = new ShardSimulation({
      shards: Z,
      validators: N,
      seed: opts.seed,
      kinds: opts.kinds,
      views: opts.views ?? 30,
      byzantine: opts.byzantine,
      plan: opts.plan,
      costs: opts.costs,
      load: opts.load ?? DEFAULT_GEO_LOAD,
      ...(opts.wan !== undefined ? { wan: opts.wan } : {}),
      warmupMs: opts.warmupMs,
      windowMs: opts.windowMs,
      hooks: {
        application: (_c, store, chainId) => buildApplication({ bucketBits: SIM_BUCKET_BITS, modules: ["kv"], chainId, orderOnly: true }, { committed: store }),
        crypto: (c) => this.crypto[c]!,
        genesis: (c) => this.genesis[c]!.block,
        onCommitted: (_sim, c, instance, blocks) => this.onCommitted(c, instance, blocks),
        proposeHold: (c, instance, height) => this.slots[c]?.[instance]?.geo?.hold(height) ?? false,
        clientTx: (c, seq) => {
          const nonce = new Uint8Array(8);
          writeU64BE(new DataView(nonce.buffer), 0, seq);
          return encodeKvTx({ op: "put", nonce, key: utf8(`geo/${seq % 16}`), value: utf8(`${c}/${seq}`) });
        },
        tick: () => this.tick(),
        tickMs: 20,
        settled: () => this.settled(),
        settleMs: opts.settleMs ?? 20_000,
      },
    });
    const faults = opts.faults === "random" ? this.drawFaults() : (opts.faults ?? []);
    this.faults = new Map(faults.map((f) => [`${f.cluster}:${f.member}`, f.behaviour]));
    this.rng = new SeededRng((opts.seed ^ 0x2c1b3c6d) >>> 0);
  }

  /** The geo faults of this run (`faults`, or the random draw). */
  get geoFaults(): readonly GeoFault[] {
    return [...this.faults].map(([k, behaviour]) => {
      const [cluster, member] = k.split(":").map(Number) as [number, number];
      return { cluster, member, behaviour };
    });
  }

  private drawFaults(): GeoFault[] {
    const rng = new SeededRng((this.opts.seed ^ 0x6e0c1a57) >>> 0);
    const out: GeoFault[] = [];
    this.sim.shards.forEach((s, c) => {
      if (!rng.chance(0.5) || maxFaulty(this.opts.validators) < 1) return;
      const faulty = [...faultyValidators(s.plan)].sort((a, b) => a - b);
      const member = faulty.length > 0 ? faulty[rng.int(faulty.length)]! : rng.int(this.opts.validators);
      out.push({ cluster: c, member, behaviour: rng.chance(0.5) ? "silent" : "partial" });
    });
    return out;
  }

  run(): void {
    this.sim.run();
  }

  result(): GeoSimResult {
    const clusters = this.sim.result();
    const violations = [...clusters.violations.map((v) => ({ ...v, message: v.message.replace(/^shard /, "cluster ") })), ...this.violations];
    let minRound = Infinity;
    this.forEachHonestUp((slot) => (minRound = Math.min(minRound, slot.order?.completedRound ?? -1)));
    if (minRound === Infinity) minRound = -1;
    let longest = 0;
    for (const [c, list] of this.slots.entries()) list.forEach((slot, i) => {
      if (this.isHonest(c, i)) longest = Math.max(longest, slot.maxWaitMs, slot.geo?.longestRemoteWait.ms ?? 0);
    });
    if (this.target >= 0 && minRound < this.target) violations.push({ kind: "liveness", message: `globalOrder: an honest replica executed rounds up to ${minRound} only, all clusters committed ${this.target}`, instances: [] });
    const windowS = (this.sim.windowMs || 1) / 1000;
    return { seed: this.opts.seed >>> 0, clusters, violations, targetRound: this.target, minRound, rounds: this.canonical.size, counters: { ...this.counters }, windowTxs: this.windowTxs, globalTxPerSec: this.windowTxs / windowS, longestRemoteWaitMs: longest, faults: this.geoFaults };
  }

  /** The global order of (cluster, instance), or null while it is down. */
  order(cluster: number, instance: number): GlobalOrder | null {
    return this.slots[cluster]?.[instance]?.order ?? null;
  }

  // ---------------------------------------------------------------------------------------------------------------

  private isHonest(cluster: number, instance: number): boolean {
    const s = this.sim.shards[cluster]!;
    if (!s.honest.includes(instance)) return false;
    return !this.faults.has(`${cluster}:${s.replicas[instance]!.validatorOf(instance)}`);
  }

  private forEachHonestUp(f: (slot: Slot, cluster: number, instance: number) => void): void {
    this.sim.shards.forEach((s, c) =>
      s.replicas.forEach((r, i) => {
        if (r.up && this.isHonest(c, i)) f(this.slot(c, i), c, i);
      }),
    );
  }

  /** The replica's geo layer, built (again) for its running incarnation. */
  private slot(cluster: number, instance: number): Slot {
    const list = this.slots[cluster]!;
    let slot = list[instance];
    if (slot === undefined) list[instance] = slot = { geo: null, order: null, incarnation: -1, maxWaitMs: 0, executing: false, accounted: 0 };
    if (slot.geo !== null) slot.maxWaitMs = Math.max(slot.maxWaitMs, slot.geo.longestRemoteWait.ms);
    const r = this.sim.shards[cluster]!.replicas[instance]!;
    if (!r.up) {
      slot.geo = null;
      slot.order = null;
      return slot;
    }
    if (slot.geo !== null && slot.incarnation === r.crashes) return slot;
    const store = r.chainStore!;
    const member = r.validatorOf(instance);
    const honest = this.isHonest(cluster, instance);
    const broken = this.opts.breakOrderAt !== undefined && this.opts.breakOrderAt.cluster === cluster && this.opts.breakOrderAt.member === member;
    const order = new GlobalOrder(
      { clusters: this.opts.clusters, modules: ["kv"], bucketBits: SIM_BUCKET_BITS, chainId: GEO_NETWORK_ID, ...(broken ? { testExecutionOrder: Array.from({ length: this.opts.clusters }, (_, c) => this.opts.clusters - 1 - c) } : {}) },
      {
        genesis: this.genesis.map((g) => g.hash),
        onRound: (rec) => (honest ? this.checkRound(cluster, instance, rec) : undefined),
        onRefused: () => (this.counters["block_refused"] = (this.counters["block_refused"] ?? 0) + 1),
      },
    );
    slot.order = order;
    slot.incarnation = r.crashes;
    slot.executing = false;
    slot.accounted = 0;
    slot.geo = new GeoReplica(
      { networkId: GEO_NETWORK_ID, cluster, member, remoteTimeoutMs: this.opts.remoteTimeoutMs ?? 1_000, ...(this.opts.leadRounds !== undefined ? { leadRounds: this.opts.leadRounds } : {}), behaviour: this.faults.get(`${cluster}:${member}`) },
      {
        clusters: this.clusters,
        order,
        signer: this.crypto[cluster]!.signer(member),
        scheduler: this.sim.scheduler,
        chain: store,
        send: (toCluster, toMember, bytes) => this.send({ cluster, member }, { cluster: toCluster, member: toMember }, bytes),
        remoteTimeout: () => r.remoteTimeout(),
        currentLeader: () => r.leader,
        count: (name) => (this.counters[name] = (this.counters[name] ?? 0) + 1),
        scheduleExecution: () => {
          if (slot!.executing) return;
          slot!.executing = true;
          this.onCpu(cluster, instance, 0, (s) => {
            s.executing = false;
            s.order?.run();
          });
        },
      },
    );
    return slot;
  }

  /** Inside the replica's commit (already an event of its CPU): the global execution it triggers is charged there. */
  private onCommitted(cluster: number, instance: number, blocks: readonly CommittedSummary[]): void {
    const slot = this.slot(cluster, instance);
    slot.geo?.onLocalCommit(blocks);
    this.account(slot, cluster, instance);
  }



  private send(from: { cluster: number; member: number }, to: { cluster: number; member: number }, bytes: Uint8Array): void {
    const N = this.opts.validators;
    const now = this.sim.scheduler.now();
    const wan = this.opts.wan;
    const delay = wan !== undefined ? nullMinus(wan.send(from.cluster * N + from.member, to.cluster * N + to.member, bytes.length, now, this.rng), now) : this.opts.linkDelayMs !== undefined ? this.opts.linkDelayMs(from, to, bytes.length) : from.cluster === to.cluster ? 1 : 50;
    if (delay === null) return;
    this.sim.scheduler.setTimeout(() => {
      const s = this.sim.shards[to.cluster]!;
      s.replicas.forEach((r, i) => {
        if (!r.up || r.validatorOf(i) !== to.member) return;
        this.onCpu(to.cluster, i, bytes.length, (slot) => {
          const reply = slot.geo?.onMessage(bytes) ?? null;
          if (reply !== null) this.send(to, from, reply);
        });
      });
    }, delay);
  }

  private tick(): void {
    this.sim.shards.forEach((s, c) =>
      s.replicas.forEach((r, i) => {
        if (r.up) this.onCpu(c, i, 0, (slot) => slot.geo?.tick(), false);
      }),
    );
  }

  /**
   * Runs `f` on the replica's geo layer as one event of its virtual CPU (with a cost model): charged per message and
   * byte, two aggregate verifications per share checked (its commit proof's two QCs) and one execution per tx the
   * global order ran — every replica executes every cluster's txs, as every replica of a flat cluster executes all.
   */
  private onCpu(cluster: number, instance: number, bytes: number, f: (slot: Slot) => void, essential = true): void {
    const cpu = this.sim.shards[cluster]!.cpus?.[instance];
    const run = (): void => {
      const slot = this.slot(cluster, instance);
      const verified = this.counters["share_verified"] ?? 0;
      f(slot);
      this.account(slot, cluster, instance, ((this.counters["share_verified"] ?? 0) - verified) * 2 * (this.sim.cpu?.model.aggregateVerifyUs ?? 0));
    };
    if (cpu === undefined) run();
    else cpu.run(run, bytes === 0 ? 0 : cpu.messageCost(bytes), essential);
  }

  /**
   * The txs the replica's global order executed since last accounted: counted for the window (the reference replica)
   * and charged to the event being handled, with `extraUs` more. A watermark, so nested events never count twice.
   */
  private account(slot: Slot, cluster: number, instance: number, extraUs = 0): void {
    const order = slot.order;
    const c = this.sim.cpu;
    if (order === null) return;
    const done = order.txs - slot.accounted;
    slot.accounted = order.txs;
    if (c !== null) c.charge(done * c.model.txExecuteUs + extraUs);
    if (cluster !== 0 || !this.sim.isReference(0, instance)) return;
    const now = this.sim.scheduler.now();
    if (now >= this.sim.warmupMs && now < this.sim.warmupMs + this.sim.windowMs) this.windowTxs += done;
  }

  /** Once every cluster's run ended: every honest replica that is up executed every round all clusters committed. */
  private settled(): boolean {
    if (this.target < 0) {
      let target = Infinity;
      this.sim.shards.forEach((s, c) => {
        let best = 0;
        s.replicas.forEach((r, i) => {
          if (this.isHonest(c, i)) best = Math.max(best, r.chainStore?.head()?.height ?? 0);
        });
        target = Math.min(target, best);
      });
      // The last block of a cluster may not be provable yet (no consecutive pair above it): two below is.
      this.target = Math.max(0, target - 2);
    }
    let ok = true;
    this.forEachHonestUp((slot) => {
      if ((slot.order?.completedRound ?? -1) < this.target) ok = false;
    });
    return ok;
  }

  private checkRound(cluster: number, instance: number, rec: RoundRecord): void {
    const first = this.canonical.get(rec.round);
    if (first === undefined) {
      this.canonical.set(rec.round, rec);
      return;
    }
    if (sameRound(first, rec)) return;
    if (this.violations.length >= 20) return;
    const what = (r: RoundRecord): string => `${r.blocks.map((b) => `${b.cluster}@${b.height}:${toHex(b.hash).slice(0, 8)}`).join(" ")} root ${toHex(r.stateRoot).slice(0, 12)}`;
    this.violations.push({ kind: "safety", message: `globalOrder: round ${rec.round} at cluster ${cluster} instance ${instance} is [${what(rec)}], first reported as [${what(first)}]`, instances: [instance] });
  }
}

function nullMinus(at: number | null, now: number): number | null {
  return at === null ? null : at - now;
}

