/**
 * The global order of a geo network (README.md in this folder): round ρ is every cluster's committed block at local
 * height ρ, executed in cluster order 0, 1, …, Z−1, on one global state. Round 0 is the clusters' genesis blocks (their
 * allocations seed the state). Every node of every cluster runs one `GlobalOrder` over the same blocks, so every node
 * computes the same sequence, the same results and the same state root after each round. Round 0 is the network's
 * genesis: its allocations (the same list in every cluster's genesis file) execute once, as one block, then the
 * clusters' genesis blocks are recorded (a cluster chain's genesis carries no transactions of its own to execute).
 *
 *
 * Blocks arrive in any order (own commits, verified shares, pulls); each cluster's are buffered by height until the
 * round that needs them. `offer` is only given blocks whose commit a proof showed, but a proof binds a block to its
 * cluster's chain id and keys, not to this network's genesis (a network re-created with the same id and keys has
 * other certified blocks). So a block executes only if it extends the cluster's block executed before it (the genesis
 * hash for height 1); one that does not is dropped and counted (`onRefused`), and the right one comes again (pulls,
 * remote view changes). A second, different block offered for a height already held is refused the same way
 * ("conflict") — never a throw: what a peer sends must not stop a node.
 *
 * Execution uses the chain's own application (chain/app/build.ts) over an in-memory state, exactly as a chain's
 * executor drives it: beginBlock, deliver each tx, commit. The state lives in memory: a restarted node replays the
 * rounds from genesis (README: limits).
 */
import { buildApplication } from "../../chain/app/build.js";
import type { BuiltApplication, ModuleName } from "../../chain/app/build.js";
import { MapState } from "../../chain/app/mapState.js";
import type { ModularApplication } from "../../chain/app/modular.js";
import type { Block, Hash } from "../../domain/types.js";
import { bytesEqual, toHex } from "../../util/bytes.js";
import { buildGenesisBlock } from "../../chain/blocks.js";

/** One block of a round, as executed. */
export interface RoundBlock {
  readonly cluster: number;
  readonly height: number;
  readonly hash: Hash;
  readonly txCount: number;
  /** Indices of the txs that failed in global execution. */
  readonly failed: readonly number[];
}

/** A completed round: its blocks in cluster order and the global state root after the last of them. */
export interface RoundRecord {
  readonly round: number;
  readonly blocks: readonly RoundBlock[];
  readonly stateRoot: Uint8Array;
}

export interface GlobalOrderOptions {
  readonly clusters: number;
  /** The global application: its modules, state-tree buckets and chain id (the network id: what accounts sign for). */
  readonly modules: readonly ModuleName[];
  readonly bucketBits: number;
  readonly chainId: Uint8Array;
  /** Blocks buffered per cluster above the next round at most; further ones are refused ("full") and come again. */
  readonly maxBuffered?: number;
  /**
   * TEST ONLY: the order clusters execute in within a round (a permutation of 0..Z−1; default ascending) — a broken
   * node for the simulator's globalOrder checker to catch.
   */
  readonly testExecutionOrder?: readonly number[];
}

export interface GlobalOrderModules {
  /** Each cluster's genesis hash, in cluster order (round 0's records). */
  readonly genesis: readonly Hash[];
  /** The network's genesis transactions (account allocations), executed once at the start of round 0. */
  readonly allocations?: readonly Uint8Array[];
  /** Told of every completed round, in order (round 0 included). */
  readonly onRound?: (r: RoundRecord) => void;
  /** A buffered block that does not extend its cluster's previous block was dropped. */
  readonly onRefused?: (cluster: number, height: number) => void;
}

export type OfferResult = "new" | "known" | "full" | "conflict";

const DEFAULT_MAX_BUFFERED = 4_096;
const EMPTY_HEADER = buildGenesisBlock({ timestampMs: 0 }).header;

export class GlobalOrder {
  private readonly state = new MapState();
  private readonly app: ModularApplication;
  /** The global application's module handles: what a geo node's KV, account and supply reads query. */
  readonly built: BuiltApplication;
  /** Per cluster: buffered blocks by height (heights > the executed round, or = it for clusters after `nextCluster`). */
  private readonly buffered: Map<number, { readonly hash: Hash; readonly block: Block }>[];
  /** The round being assembled and the next cluster to execute in it. */
  private round = 0;
  /** Position in the round of the next cluster to execute (`orderOf[position]` is the cluster). */
  private nextCluster = 0;
  private readonly orderOf: readonly number[];
  private readonly positionOf: readonly number[];
  private blocks: RoundBlock[] = [];
  private executedTxs = 0;
  private lastRoot: Uint8Array = new Uint8Array(32);
  /** The state root after the last completed round. */
  private roundRoot: Uint8Array = new Uint8Array(32);
  private readonly maxBuffered: number;
  /** Hashes of executed blocks of the current and previous round per cluster (to tell a duplicate from a fork). */
  private readonly executedHash: Map<number, string>[];

  constructor(
    private readonly o: GlobalOrderOptions,
    private readonly m: GlobalOrderModules,
  ) {
    if (!Number.isInteger(o.clusters) || o.clusters < 1) throw new RangeError(`clusters must be a positive integer, got ${o.clusters}`);
    if (m.genesis.length !== o.clusters) throw new RangeError(`one genesis block per cluster: ${m.genesis.length} for ${o.clusters}`);
    this.built = buildApplication({ bucketBits: o.bucketBits, modules: o.modules, chainId: o.chainId }, { committed: this.state });
    this.app = this.built.app;
    this.maxBuffered = o.maxBuffered ?? DEFAULT_MAX_BUFFERED;
    this.orderOf = o.testExecutionOrder ?? Array.from({ length: o.clusters }, (_, c) => c);
    const positions: number[] = [];
    this.orderOf.forEach((c, p) => (positions[c] = p));
    this.positionOf = positions;
    this.buffered = Array.from({ length: o.clusters }, () => new Map());
    this.executedHash = Array.from({ length: o.clusters }, () => new Map());
    // Round 0: the allocations, then every cluster's genesis block (recorded, nothing of its own to execute).
    const allocations = m.allocations ?? [];
    const failed = this.execute({ header: EMPTY_HEADER, txs: allocations });
    const blocks = m.genesis.map((hash, c) => ({ cluster: c, height: 0, hash, txCount: c === 0 ? allocations.length : 0, failed: c === 0 ? failed : [] }));
    m.genesis.forEach((hash, c) => this.executedHash[c]!.set(0, toHex(hash)));
    this.round = 1;
    this.roundRoot = this.lastRoot;
    m.onRound?.({ round: 0, blocks, stateRoot: this.lastRoot });
  }

  /** The last completed round (0 once the genesis round ran). */
  get completedRound(): number {
    return this.round - 1;
  }

  /** The next block global execution waits for. */
  get next(): { readonly round: number; readonly cluster: number } {
    return { round: this.round, cluster: this.orderOf[this.nextCluster]! };
  }

  /** Txs executed so far (all rounds). */
  get txs(): number {
    return this.executedTxs;
  }

  /** The global state root after the last completed round. */
  get stateRoot(): Uint8Array {
    return this.roundRoot;
  }

  /** Whether `cluster`'s block at `height` was executed or is buffered. */
  has(cluster: number, height: number): boolean {
    return height < this.executedBelow(cluster) || this.buffered[cluster]!.has(height);
  }

  /** The lowest height of `cluster` neither executed nor buffered (what a pull asks from). */
  missingFrom(cluster: number): number {
    let h = this.executedBelow(cluster);
    const b = this.buffered[cluster]!;
    while (b.has(h)) h++;
    return h;
  }

  /** A committed block of `cluster` (height ≥ 1). "conflict": another block is held at that height (kept). */
  offer(cluster: number, height: number, hash: Hash, block: Block): OfferResult {
    if (!(cluster >= 0 && cluster < this.o.clusters)) throw new RangeError(`cluster ${cluster} outside 0..${this.o.clusters - 1}`);
    if (!(height >= 1)) return "known";
    const held = this.heldHash(cluster, height);
    if (held !== undefined) return held === toHex(hash) ? "known" : "conflict";
    if (height < this.executedBelow(cluster)) return "known";
    if (height - this.round > this.maxBuffered) return "full";
    this.buffered[cluster]!.set(height, { hash, block });
    return "new";
  }

  /** Executes blocks that are next in order and present, at most `maxBlocks` of them. Returns the rounds completed. */
  run(maxBlocks = Infinity): number {
    let completed = 0;
    for (let n = 0; n < maxBlocks; n++) {
      const c = this.orderOf[this.nextCluster]!;
      const entry = this.buffered[c]!.get(this.round);
      if (entry === undefined) return completed;
      this.buffered[c]!.delete(this.round);
      const { block, hash } = entry;
      const parent = this.executedHash[c]!.get(this.round - 1);
      if (block.header.height !== this.round || parent === undefined || toHex(block.header.parent) !== parent) {
        this.m.onRefused?.(c, this.round);
        return completed;
      }
      const failed = this.execute(block);
      this.blocks.push({ cluster: c, height: this.round, hash, txCount: block.txs.length, failed });
      const hashes = this.executedHash[c]!;
      hashes.set(this.round, toHex(hash));
      hashes.delete(this.round - 2);
      this.nextCluster++;
      if (this.nextCluster === this.o.clusters) {
        const record: RoundRecord = { round: this.round, blocks: this.blocks, stateRoot: this.lastRoot };
        this.roundRoot = this.lastRoot;
        this.blocks = [];
        this.nextCluster = 0;
        this.round++;
        completed++;
        this.m.onRound?.(record);
      }
    }
    return completed;
  }

  /** Whether a block is ready to execute now. */
  get ready(): boolean {
    return this.buffered[this.orderOf[this.nextCluster]!]!.has(this.round);
  }

  /** The committed global value of an application key (what `GET /v1/kv/:key` reads on a geo node). */
  query(key: Uint8Array): Uint8Array | undefined {
    return this.app.query(key);
  }

  private execute(block: Block): number[] {
    const app = this.app;
    // Round 0 is one block (the allocations); round r ≥ 1 block of cluster c is global block 1 + (r−1)·Z + c.
    const height = this.round === 0 ? 0 : 1 + (this.round - 1) * this.o.clusters + this.nextCluster;
    app.beginBlock(this.state, { height, txCount: block.txs.length, txs: block.txs });
    const failed: number[] = [];
    block.txs.forEach((tx, i) => {
      if (!app.deliver(tx, i).ok) failed.push(i);
    });
    this.lastRoot = app.commit();
    this.executedTxs += block.txs.length;
    return failed;
  }

  /** Heights of `cluster` below this are executed. */
  private executedBelow(cluster: number): number {
    return this.positionOf[cluster]! < this.nextCluster ? this.round + 1 : this.round;
  }

  private heldHash(cluster: number, height: number): string | undefined {
    const b = this.buffered[cluster]!.get(height);
    if (b !== undefined) return toHex(b.hash);
    return this.executedHash[cluster]!.get(height);
  }
}

/** Whether two round records say the same (what the globalOrder checker and the e2e test compare). */
export function sameRound(a: RoundRecord, b: RoundRecord): boolean {
  if (a.round !== b.round || a.blocks.length !== b.blocks.length || !bytesEqual(a.stateRoot, b.stateRoot)) return false;
  return a.blocks.every((x, i) => {
    const y = b.blocks[i]!;
    return x.cluster === y.cluster && x.height === y.height && bytesEqual(x.hash, y.hash) && x.failed.length === y.failed.length && x.failed.every((f, k) => f === y.failed[k]);
  });
}
