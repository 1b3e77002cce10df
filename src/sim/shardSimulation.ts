/**
 * Sharded runs (issue 14, part 4): S shards, each an independent chain of N replicas — one `Simulation` per shard
 * (the shipping shell, its own chain id, validator keys, network and scenario faults) — all on ONE virtual clock, with
 * an optional CPU-cost model per replica (costModel.ts) so that shard scaling can be measured in virtual time.
 *
 *   const r = runShardSimulation({ shards: 4, validators: 4, seed: 1, kinds: ["happy"], costs: CALIBRATED_COSTS, load: "saturate" });
 *   r.committedTxPerSec   // summed over shards, in the window after the warm-up
 *   r.violations          // per-shard safety, validity and liveness (checkers.ts), tagged with the shard
 *
 * A client per shard feeds transactions into the shard's mempools: open loop at `load` tx/s, or "saturate" (keeps
 * each replica it submits to topped up to `SATURATE_POOL_TXS` pending txs — a client with a bounded window, so an
 * overloaded shard is measured at its capacity instead of drowning in admission checks). Submissions are events on
 * the receiving replica's CPU (one per replica and tick), charged per message, byte and tx check.
 *
 * Cross-shard traffic plugs in through `ShardHooks` (crossShard.ts uses them all): the application, genesis and
 * signature scheme per shard, a callback on every commit of every replica, a tick on the virtual clock, a settle
 * condition the run waits for after the shards' own end, and `ShardSimulation.relay`, which hands txs to a shard's
 * mempool after a virtual delay and reports the mempool's answers. Hooks that answer through promises (the node's
 * relayer) run under `runAsync`.
 */
import { buildApplication } from "../chain/app/build.js";
import type { BuiltApplication } from "../chain/app/build.js";
import { encodeKvTx } from "../chain/app/kvTx.js";
import type { CommittedSummary } from "../chain/executor.js";
import type { AddResult } from "../chain/mempool.js";
import type { ChainStore } from "../chain/store/interface.js";
import type { Block } from "../domain/types.js";
import { utf8, writeU64BE } from "../util/bytes.js";
import { ManualScheduler } from "../util/clock.js";
import type { Violation } from "./checkers.js";
import { CpuCluster } from "./costModel.js";
import type { CostModel, CpuStats } from "./costModel.js";
import type { ScenarioKind, ScenarioPlan } from "./scenario.js";
import { SIM_BUCKET_BITS } from "./simReplica.js";
import { Simulation } from "./simulation.js";
import type { SimCrypto, SimResult } from "./simulation.js";
import type { WanModel } from "./wan.js";

/** How often each shard's client submits (virtual ms). */
export const LOAD_TICK_MS = 10;
/** "saturate": the client keeps the replica it submits to holding this many pending txs (4 full sim blocks). */
export const SATURATE_POOL_TXS = 1_024;
/** Most txs one submission event carries (bounds the work of one tick when a pool drains at once). */
const MAX_TXS_PER_SUBMIT = 2_048;

/** Shard k's chain id. */
export function shardChainId(shard: number): Uint8Array {
  return utf8(`quire-sim-shard-${shard}`);
}

/** Shard k's seed: shard 0 runs the plain run's seed (a 1-shard run draws the plan `quire sim` draws). */
export function shardSeed(seed: number, shard: number): number {
  return (seed + Math.imul(shard, 0x9e3779b9)) >>> 0;
}

/** What phase 2 (cross-shard transactions) plugs in. Every member is optional. */
export interface ShardHooks {
  /** Shard `shard`'s application, built per instance and incarnation (default: kv + accounts, bound to its chain id). */
  application?(shard: number, store: ChainStore, chainId: Uint8Array): BuiltApplication;
  /** Shard `shard`'s genesis block (default: empty, time 0): mints go here. */
  genesis?(shard: number): Block;
  /** Geo runs: whether an instance of a shard (cluster) holds its proposal of the block at `height`. */
  proposeHold?(shard: number, instance: number, height: number): boolean;
  /** Every commit of every instance of every shard (after the shard's own recorder); may call `sim.relay`. */
  onCommitted?(sim: ShardSimulation, shard: number, instance: number, blocks: readonly CommittedSummary[]): void;
  /** The client's tx number `seq` for `shard` (default: a KV put with a distinct nonce over a few keys). */
  clientTx?(shard: number, seq: number): Uint8Array;
  /** Shard `shard`'s signature scheme (default: the insecure test scheme); cross-shard runs need real BLS. */
  crypto?(shard: number): SimCrypto;
  /** Called on every virtual tick of `tickMs` once the shards started (cross-shard clients and relayers). */
  tick?(sim: ShardSimulation, now: number): void;
  readonly tickMs?: number;
  /** The run goes on past the shards' own end until this holds (or `settleMs` more virtual ms passed). */
  settled?(sim: ShardSimulation): boolean;
  readonly settleMs?: number;
}

export interface RelayOptions {
  readonly clientId?: string;
  /** Extra CPU charged at the receiving replica (µs). */
  readonly verifyUs?: number;
  /** Which of the shard's replicas that are up receives it (index mod their count; default the first). */
  readonly to?: number;
  /** The receiving mempool's answers, on its CPU (null: no replica of the shard was up). */
  readonly onResult?: (results: readonly AddResult[] | null) => void;
}

export interface ShardSimOptions {
  readonly shards: number;
  readonly validators: number;
  readonly seed: number;
  /** Fault scenario inside every shard (each shard draws its own plan from its own seed). */
  readonly kinds: readonly ScenarioKind[] | "random";
  /** Each shard runs until an honest replica reaches this view and its liveness witnesses committed (default 10). */
  readonly views?: number;
  readonly byzantine?: number;
  readonly happyDelayMs?: number;
  /** Replaces each shard's drawn plan. */
  readonly plan?: (shard: number, drawn: ScenarioPlan) => ScenarioPlan;
  /** The CPU-cost model (default: none — events cost no virtual time). */
  readonly costs?: CostModel;
  /** Client load per shard: tx/s offered open loop, "saturate", or 0 for none (default 0). */
  readonly load?: number | "saturate";
  /** Throughput window: committed txs are counted from `warmupMs` for `windowMs` (defaults 1,000 and 2,000). */
  readonly warmupMs?: number;
  readonly windowMs?: number;
  readonly hooks?: ShardHooks;
  readonly trace?: boolean;
  /**
   * The WAN model (wan.ts) every shard runs over: shard k's validators are its global nodes k·N .. k·N+N-1 (N =
   * `validators`), so the model needs at least shards × N nodes. One model per run: its uplinks are the nodes' own,
   * shared with whatever else sends from them (a geo run's inter-cluster layer, through `model.send`).
   */
  readonly wan?: WanModel;
  /** Most txs per block (default 256); "saturate" then keeps 4 blocks' worth pending at the replica it submits to. */
  readonly blockMaxTxs?: number;
}

export interface ShardReport {
  readonly shard: number;
  readonly result: SimResult;
  /** Txs committed in the window at the shard's reference replica (its first live honest one). */
  readonly windowTxs: number;
  readonly committedTxPerSec: number;
  readonly submitted: number;
}

export interface ShardSimResult {
  readonly seed: number;
  readonly shards: readonly ShardReport[];
  /** Every shard's violations, each message prefixed with its shard. */
  readonly violations: readonly Violation[];
  /** Sum over shards of `committedTxPerSec`. */
  readonly committedTxPerSec: number;
  readonly endMs: number;
  /** Summed over every replica of every shard (null without a cost model). */
  readonly cpu: CpuStats | null;
  /** Mean CPU utilisation of the replicas over the run (busy virtual time / elapsed), null without a cost model. */
  readonly utilisation: number | null;
  readonly relayed: number;
}

export function runShardSimulation(opts: ShardSimOptions): ShardSimResult {
  const sim = new ShardSimulation(opts);
  sim.run();
  return sim.result();
}

export class ShardSimulation {
  readonly scheduler = new ManualScheduler();
  readonly cpu: CpuCluster | null;
  readonly shards: readonly Simulation[];
  /** Each shard's application handles, by instance (the running incarnation's). */
  readonly apps: readonly Map<number, BuiltApplication>[];
  private readonly submitted: number[];
  private readonly windowTxs: number[];
  private readonly reference: number[];
  private readonly clientSeq: number[];
  private relayed = 0;
  readonly warmupMs: number;
  readonly windowMs: number;

  constructor(readonly opts: ShardSimOptions) {
    if (!Number.isInteger(opts.shards) || opts.shards < 1 || opts.shards > 256) throw new RangeError(`shards must be in 1..256, got ${opts.shards}`);
    this.warmupMs = opts.warmupMs ?? 1_000;
    this.windowMs = opts.windowMs ?? 2_000;
    if (!(this.windowMs > 0) || !(this.warmupMs >= 0)) throw new RangeError("the throughput window must be positive and the warm-up non-negative");
    this.cpu = opts.costs === undefined ? null : new CpuCluster(opts.costs, this.scheduler);
    const S = opts.shards;
    this.apps = Array.from({ length: S }, () => new Map<number, BuiltApplication>());
    this.submitted = new Array<number>(S).fill(0);
    this.windowTxs = new Array<number>(S).fill(0);
    this.clientSeq = new Array<number>(S).fill(0);
    const hooks = opts.hooks ?? {};
    const shards: Simulation[] = [];
    for (let k = 0; k < S; k++) {
      const chainId = shardChainId(k);
      const genesis = hooks.genesis?.(k);
      shards.push(
        new Simulation({
          validators: opts.validators,
          seed: shardSeed(opts.seed, k),
          kinds: opts.kinds,
          views: opts.views ?? 10,
          byzantine: opts.byzantine,
          ...(hooks.crypto === undefined ? {} : { crypto: hooks.crypto(k) }),
          happyDelayMs: opts.happyDelayMs,
          trace: opts.trace,
          plan: opts.plan === undefined ? undefined : (drawn) => opts.plan!(k, drawn),
          // The shard's client is ours (below): the per-instance KV client of plain runs stays off.
          clientIntervalMs: 0,
          scheduler: this.scheduler,
          chainId,
          ...(genesis === undefined ? {} : { genesis }),
          ...(this.cpu === null ? {} : { cpu: this.cpu }),
          application: (store, instance) => {
            const built = hooks.application?.(k, store, chainId) ?? buildApplication({ bucketBits: SIM_BUCKET_BITS, modules: ["kv", "accounts"], chainId }, { committed: store });
            this.apps[k]!.set(instance, built);
            return built.app;
          },
          onCommitted: (instance, blocks) => this.onCommitted(k, instance, blocks),
          ...(hooks.proposeHold !== undefined ? { proposeHold: (instance: number, height: number) => hooks.proposeHold!(k, instance, height) } : {}),
          ...(opts.wan === undefined ? {} : { wan: { model: opts.wan, offset: k * opts.validators } }),
          ...(opts.blockMaxTxs === undefined ? {} : { blockMaxTxs: opts.blockMaxTxs }),
        }),
      );
    }
    this.shards = shards;
    this.reference = shards.map((s) => s.live[0] ?? s.honest[0] ?? 0);
  }

  /** Starts every shard and the clients, and runs the shared clock until every shard is done and the window is over. */
  run(): void {
    const { done, deadline } = this.begin();
    this.scheduler.runUntil(done, deadline);
    for (const s of this.shards) s.end();
  }

  /**
   * Like `run`, for hooks whose parts answer through promises (the cross-shard relayer's sink): after an event that
   * settled one (`wake()`), the pending promise callbacks run before the next event, so the run stays a deterministic
   * function of its seed.
   */
  async runAsync(): Promise<void> {
    const { done, deadline } = this.begin();
    const s = this.scheduler;
    while (!done()) {
      const at = s.nextAt();
      if (at === undefined || at > deadline) break;
      s.runNext();
      if (this.woken) {
        this.woken = false;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    for (const sh of this.shards) sh.end();
  }

  /** Tells `runAsync` that a promise was settled by the event being run. */
  wake(): void {
    this.woken = true;
  }

  private woken = false;

  private begin(): { done: () => boolean; deadline: number } {
    const parts = this.shards.map((s) => s.begin());
    this.armClients();
    const hooks = this.opts.hooks ?? {};
    if (hooks.tick !== undefined) {
      const every = hooks.tickMs ?? 100;
      const step = (): void => {
        hooks.tick!(this, this.scheduler.now());
        this.scheduler.setTimeout(step, every);
      };
      this.scheduler.setTimeout(step, every);
    }
    const windowEnd = this.warmupMs + this.windowMs;
    const deadline = Math.max(windowEnd, ...parts.map((p) => p.deadline)) + (hooks.settled === undefined ? 0 : (hooks.settleMs ?? 10_000));
    const done = (): boolean => this.scheduler.now() >= windowEnd && parts.every((p) => p.done()) && (hooks.settled?.(this) ?? true);
    return { done, deadline };
  }

  /**
   * Hands `txs` to shard `to`'s mempool after `delayMs` virtual ms (the cross-shard relay): to its first replica that
   * is up, as one event on that replica's CPU, charged per message and byte, `verifyUs` more (checking the proof the
   * message carries) and each tx's admission check. Returns false when `to` is not a shard.
   */
  relay(to: number, txs: readonly Uint8Array[], delayMs: number, opts: RelayOptions = {}): boolean {
    const shard = this.shards[to];
    if (shard === undefined) return false;
    this.relayed++;
    this.scheduler.setTimeout(() => {
      const up = shard.replicas.map((r, i) => (r.up ? i : -1)).filter((i) => i >= 0);
      const i = opts.to === undefined ? (up[0] ?? -1) : (up.length === 0 ? -1 : up[opts.to % up.length]!);
      if (i >= 0) this.submit(to, i, txs, opts.clientId ?? "relay", opts.verifyUs ?? 0, opts.onResult);
      else opts.onResult?.(null);
    }, delayMs);
    return true;
  }

  /** Whether `instance` is the replica of `shard` whose commits the throughput counts (its first live honest one). */
  isReference(shard: number, instance: number): boolean {
    return this.reference[shard] === instance;
  }

  /** Shard `shard`'s application handles at `instance` (null while it is down). */
  app(shard: number, instance: number): BuiltApplication | null {
    const sim = this.shards[shard];
    if (sim === undefined || !sim.replicas[instance]?.up) return null;
    return this.apps[shard]!.get(instance) ?? null;
  }

  private onCommitted(shard: number, instance: number, blocks: readonly CommittedSummary[]): void {
    if (instance === this.reference[shard]) {
      const now = this.scheduler.now();
      if (now >= this.warmupMs && now < this.warmupMs + this.windowMs) for (const b of blocks) this.windowTxs[shard]! += b.block.txs.length;
    }
    this.opts.hooks?.onCommitted?.(this, shard, instance, blocks);
  }

  /** `txs` into `instance`'s mempool as one event on its CPU (charged per message and byte, and per check by the app). */
  private submit(shard: number, instance: number, txs: readonly Uint8Array[], clientId: string, extraUs = 0, onResult?: (r: readonly AddResult[] | null) => void): void {
    const r = this.shards[shard]!.replicas[instance]!;
    const add = (): void => {
      const stack = r.stack;
      if (stack === null) {
        onResult?.(null);
        return;
      }
      const results = txs.map((tx) => stack.mempool.add(tx, clientId));
      onResult?.(results);
    };
    const cpu = this.shards[shard]!.cpus?.[instance];
    if (cpu === undefined) {
      add();
      return;
    }
    let bytes = 0;
    for (const tx of txs) bytes += tx.length;
    cpu.run(add, cpu.messageCost(bytes) + extraUs);
  }

  private armClients(): void {
    const load = this.opts.load ?? 0;
    if (load === 0) return;
    if (load !== "saturate" && !(load > 0)) throw new RangeError(`load must be a positive rate or "saturate", got ${load}`);
    const s = this.scheduler;
    const start = s.now();
    // SATURATE_POOL_TXS is 4 blocks of the default 256 txs; larger blocks get 4 of theirs (still MAX_TXS_PER_SUBMIT a tick).
    const poolTxs = this.opts.blockMaxTxs === undefined ? SATURATE_POOL_TXS : 4 * this.opts.blockMaxTxs;
    let tick = 0;
    const step = (): void => {
      tick++;
      for (let k = 0; k < this.shards.length; k++) {
        const sim = this.shards[k]!;
        const n = sim.replicas.length;
        // Round robin over the replicas that are up.
        let target = -1;
        for (let j = 0; j < n; j++) {
          const i = (tick + j) % n;
          if (sim.replicas[i]!.up) {
            target = i;
            break;
          }
        }
        if (target < 0) continue;
        let count: number;
        if (load === "saturate") count = Math.max(0, poolTxs - sim.replicas[target]!.stack!.mempool.size);
        else count = Math.floor((load * (s.now() - start)) / 1000) - this.submitted[k]!;
        count = Math.min(count, MAX_TXS_PER_SUBMIT);
        if (count <= 0) continue;
        const txs: Uint8Array[] = [];
        for (let c = 0; c < count; c++) txs.push(this.clientTx(k, this.clientSeq[k]!++));
        this.submitted[k]! += count;
        this.submit(k, target, txs, `client:${k}`);
      }
      s.setTimeout(step, LOAD_TICK_MS);
    };
    s.setTimeout(step, LOAD_TICK_MS);
  }

  private clientTx(shard: number, seq: number): Uint8Array {
    const custom = this.opts.hooks?.clientTx;
    if (custom !== undefined) return custom(shard, seq);
    const nonce = new Uint8Array(8);
    writeU64BE(new DataView(nonce.buffer), 0, seq);
    return encodeKvTx({ op: "put", nonce, key: utf8(`load/${seq % 64}`), value: utf8(String(seq)) });
  }

  result(): ShardSimResult {
    const windowS = this.windowMs / 1000;
    const shards: ShardReport[] = this.shards.map((sim, k) => ({
      shard: k,
      result: sim.result(),
      windowTxs: this.windowTxs[k]!,
      committedTxPerSec: this.windowTxs[k]! / windowS,
      submitted: this.submitted[k]!,
    }));
    const violations: Violation[] = [];
    for (const r of shards) for (const v of r.result.violations) violations.push({ ...v, message: `shard ${r.shard}: ${v.message}` });
    const endMs = this.scheduler.now();
    const cpu = this.cpu?.stats() ?? null;
    const replicas = this.cpu?.cpus.length ?? 0;
    return {
      seed: this.opts.seed >>> 0,
      shards,
      violations,
      committedTxPerSec: shards.reduce((a, r) => a + r.committedTxPerSec, 0),
      endMs,
      cpu,
      utilisation: cpu === null || replicas === 0 || endMs === 0 ? null : cpu.busyUs / 1000 / (endMs * replicas),
      relayed: this.relayed,
    };
  }
}
