/**
 * A follower (issue 16): a full node that never votes or proposes. It receives certified blocks from upstream nodes'
 * RPC, verifies them from the genesis alone (consensus/certifiedChain.ts; on a chain that changes its validator set,
 * each height with its epoch's set, which `EpochVerifiers` derives from the change txs: node/epochSets.ts), executes
 * and stores them through the same executor a validator commits with, and serves the whole RPC over its own store —
 * blocks, tx status, proofs, receipts, accounts, KV, `/v1/stream` — so client reads need not touch validators. Client
 * transactions are forwarded to a validator (txForwarder.ts). It holds no key: it signs nothing, and it needs none to check certificates.
 *
 *   config + genesis → data-directory lock → LMDB chain store (refuses another chain id or genesis)
 *     → application (genesis modules) → executor (genesis committed once; consensusStack.ts `genesisExecutor`)
 *     → upstream pool (bounded fan-out) + certified chain + chain follower → RPC server (NodeApi here)
 *
 * Lifecycle as `QuireNode`: `open` locks the data directory and builds everything; `start` binds the RPC port and
 * starts following; `stop` stops following, closes the RPC server and the store, releases the lock.
 */
import { settle } from "../../util/errors.js";
import { NodeError } from "../errors.js";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { Counter, Registry } from "prom-client";
import { buildApplication } from "../../chain/app/build.js";
import type { BuiltApplication } from "../../chain/app/build.js";
import type { DoneCommit, ParaStatus } from "../../chain/app/paracross/module.js";
import type { Executor } from "../../chain/executor.js";
import { LmdbChainStore } from "../../chain/store/lmdbStore.js";
import type { ChainStore } from "../../chain/store/interface.js";
import { blockHasher } from "../../consensus/blockHash.js";
import { CertifiedChain } from "../../consensus/certifiedChain.js";
import type { CertifiedBlock } from "../../consensus/certifiedChain.js";
import type { EvidenceReport } from "../../consensus/validation/evidence.js";
import { loadBlsBackend } from "../../crypto/bls/backend.js";
import type { BlsBackend } from "../../crypto/bls/backend.js";
import { createHasher, setDefaultHasher } from "../../crypto/hash/backends.js";
import { merkleRoot } from "../../crypto/merkle.js";
import type { Block, BlockHeader } from "../../domain/types.js";
import type { BatchSubmitResult, BlockSummary, ConsensusView, EpochView, NodeApi, NodeHealth, NodeStatus, PeerView, SubmitResult, TxStatus, ValidatorSetView, XShardTransferView } from "../../rpc/api.js";
import { createRpcMetrics } from "../../rpc/metrics.js";
import { RpcServer } from "../../rpc/server.js";
import { SystemScheduler } from "../../util/clock.js";
import type { Scheduler } from "../../util/clock.js";
import { ChainReads, CommittedChainApi } from "../chainReads.js";
import { EpochSets, EpochVerifiers } from "../epochSets.js";
import { genesisExecutor } from "../consensusStack.js";
import { appSpecOf, genesisBlock, genesisCertificates, genesisJson, loadGenesis } from "../genesis.js";
import type { Genesis } from "../genesis.js";
import { FileLock } from "../lock.js";
import { LineLogger } from "../logger.js";
import type { Logger } from "../logger.js";
import { scrapeGauge } from "../metrics.js";
import { ChainFollower } from "./chainFollower.js";
import type { FollowerConfig } from "./followerConfig.js";
import { followerConfigJson, rpcUrlOf } from "./followerConfig.js";
import { CONFIG_DEFAULTS } from "../config.js";
import { DEFAULT_CATCH_UP } from "../catchUp.js";
import { assessHealth, notCommittingThresholdMs } from "../health.js";
import { TxForwarder } from "./txForwarder.js";
import type { SubmitTarget } from "./txForwarder.js";
import { UpstreamPool, wsSubscribe } from "./upstreams.js";
import type { Subscribe, UpstreamSource } from "./upstreams.js";

export interface FollowerOpenOptions {
  readonly logger?: Logger;
  readonly scheduler?: Scheduler;
  /** Default: `RpcClient`s over `config.follow.upstreams`. */
  readonly upstreams?: readonly UpstreamSource[];
  /** Default: the real `/v1/stream`. */
  readonly subscribe?: Subscribe;
  /** Default: `RpcClient`s over `config.submit`. */
  readonly submitTargets?: readonly SubmitTarget[];
}

const EMPTY_EVIDENCE: EvidenceReport = { total: 0, dropped: 0, byValidator: {}, proposals: [] };

export class FollowerNode extends CommittedChainApi implements NodeApi {
  readonly config: FollowerConfig;
  readonly genesis: Genesis;
  readonly logger: Logger;
  readonly store: ChainStore;
  readonly rpc: RpcServer;
  readonly follower: ChainFollower;
  readonly done: Promise<number>;

  private app!: BuiltApplication;
  private readonly executor: Executor;
  private readonly chain: CertifiedChain;
  /** The sets by height on a chain that changes them by epoch (null without the validators module). */
  private readonly epochs_: EpochVerifiers | null;
  private readonly pool: UpstreamPool;
  private readonly forwarder: TxForwarder;
  protected readonly reads: ChainReads;
  private readonly genesisText: string;
  private readonly lock: FileLock;
  private readonly refused: Counter;
  private resolveDone!: (code: number) => void;
  private state: "new" | "running" | "stopping" | "stopped" = "new";
  /** performance.now() of the last block applied (of the start before the first): the health rule's commit age. */
  private lastCommitAt = performance.now();

  private constructor(parts: { config: FollowerConfig; genesis: Genesis; logger: Logger; backend: BlsBackend; store: ChainStore; lock: FileLock; opts: FollowerOpenOptions }) {
    super();
    const { config, genesis, logger, backend, store, opts } = parts;
    this.config = config;
    this.genesis = genesis;
    this.logger = logger;
    this.store = store;
    this.lock = parts.lock;
    this.genesisText = JSON.stringify(genesisJson(genesis));
    this.done = new Promise<number>((resolve) => (this.resolveDone = resolve));
    this.reads = new ChainReads(store, () => this.app);
    const hashBlock = blockHasher();
    const gBlock = genesisBlock(genesis);
    this.app = buildApplication(appSpecOf(genesis), { committed: store, bls: backend });
    this.executor = genesisExecutor(store, this.app.app, gBlock, hashBlock(gBlock.header));
    const head = store.head()!;
    this.epochs_ = this.app.validators === null ? null : new EpochVerifiers(new EpochSets(genesis, backend).replayCommitted(this.app.validators.epochs(), head.height, (h) => changeTxs(store, h)));
    const epochs = this.epochs_;
    this.chain = new CertifiedChain(
      {
        hashBlock,
        certificates: genesisCertificates(genesis, backend),
        txRoot: (txs) => merkleRoot(txs),
        ...(epochs !== null ? { certificatesFor: (height: number, below: readonly Block[]) => epochs.certificatesFor(height, below) } : {}),
      },
      { height: head.height, hash: head.hash },
    );
    const scheduler = opts.scheduler ?? new SystemScheduler(Date.now);
    const i = config.followerIndex;
    this.pool = new UpstreamPool({ urls: config.follow.upstreams.map(rpcUrlOf), fanout: config.follow.fanout, start: 0 }, { logger, ...(opts.upstreams !== undefined ? { sources: opts.upstreams } : {}) });
    this.forwarder = new TxForwarder({ urls: config.submit.map(rpcUrlOf), start: i }, { logger, ...(opts.submitTargets !== undefined ? { targets: opts.submitTargets } : {}) });
    this.follower = new ChainFollower(
      { rangeBlocks: config.follow.rangeBlocks, retryMs: config.follow.retryMs },
      {
        pool: this.pool,
        subscribe: opts.subscribe ?? wsSubscribe,
        chain: this.chain,
        scheduler,
        logger,
        apply: (blocks, next) => this.apply(blocks, next),
        onRefused: (code) => this.refused.inc({ code }),
        onFatal: (e) => this.onFatal(e),
      },
    );
    const registry = new Registry();
    this.refused = new Counter({ name: "quire_follower_refused_total", help: "Offers of served blocks refused by verification, by code (consensus/certifiedChain.ts)", labelNames: ["code"], registers: [registry] });
    scrapeGauge(registry, "quire_committed_height", "Highest committed block height", () => this.store.head()?.height ?? 0);
    scrapeGauge(registry, "quire_follower_upstream_height", "The upstream's committed height as last heard", () => this.follower.upstreamHeight);
    scrapeGauge(registry, "quire_follower_lag_blocks", "Upstream committed height minus this follower's (at least 0)", () => this.lag());
    scrapeGauge(registry, "quire_follower_pending_blocks", "Verified blocks waiting for commit evidence", () => this.chain.pending.length);
    scrapeGauge(registry, "quire_follower_forwarded_pending_txs", "Txs a validator acknowledged through this follower, not committed here yet", () => this.forwarder.pendingCount);
    this.rpc = new RpcServer({ host: config.rpc.host, port: config.rpc.port, limits: config.rpc.limits ?? {} }, { api: this, logger, metrics: createRpcMetrics(registry) });
  }

  /** Locks the data directory, loads the genesis, opens the store (refusing another chain). Listens on nothing yet. */
  static async open(config: FollowerConfig, opts: FollowerOpenOptions = {}): Promise<FollowerNode> {
    const logger = opts.logger ?? new LineLogger(config.log.level, `follower${config.followerIndex} `);
    await mkdir(config.dataDir, { recursive: true });
    const lock = await FileLock.acquire(join(config.dataDir, "quire.lock"), "data directory");
    if (lock.tookOver !== undefined) logger.warn("took over a stale lock", { file: lock.file, pid: lock.tookOver.pid });
    try {
      if (config.hash !== undefined) setDefaultHasher(createHasher(config.hash.backend));
      const backend = await loadBlsBackend(config.bls.backend);
      const genesis = await loadGenesis(config.genesisFile, backend);
      const gHash = blockHasher()(genesisBlock(genesis).header);
      const store = await LmdbChainStore.open({ path: join(config.dataDir, "chain"), chainId: genesis.chainIdBytes, genesisHash: gHash });
      try {
        return new FollowerNode({ config, genesis, logger, backend, store, lock, opts });
      } catch (e) {
        await store.close();
        throw e;
      }
    } catch (e) {
      await lock.release();
      throw e;
    }
  }

  async start(): Promise<void> {
    if (this.state !== "new") throw new Error(`FollowerNode.start: node is ${this.state}`);
    this.state = "running";
    try {
      await this.rpc.start();
    } catch (e) {
      await this.stop(1);
      throw e;
    }
    this.follower.start();
    this.logger.info("follower started", { chain: this.genesis.chainId, index: this.config.followerIndex, height: this.store.head()?.height ?? 0, rpc: this.rpc.url, upstreams: this.pool.active.join(",") });
  }

  async stop(code = 0): Promise<void> {
    if (this.state === "stopping" || this.state === "stopped") return;
    this.state = "stopping";
    this.follower.stop();
    await settle(this.rpc.stop());
    await settle(this.follower.idle());
    await settle(this.store.close());
    await this.lock.release();
    this.state = "stopped";
    this.logger.info("stopped");
    this.resolveDone(code);
  }

  private onFatal(e: unknown): void {
    this.logger.error("fatal: stopping the follower", { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    void this.stop(1);
  }

  private lag(): number {
    return Math.max(0, this.follower.upstreamHeight - (this.store.head()?.height ?? 0));
  }

  /**
   * Commits blocks the certified chain released, as a validator's shell does (executor: execution, state, blocks, QCs
   * and the tx index in one store transaction), checking the execution against what the validators certified before
   * anything is written: each header carries its parent's state root and result bitmap — the first block's is the
   * stored head's, `next` (the verified header above the batch) carries the last one's. A mismatch
   * (`EXECUTION_MISMATCH`) stores nothing of the batch and means this node's application disagrees with the
   * validators' — an invariant break: the follower stops rather than serve a wrong state.
   */
  private apply(blocks: readonly CertifiedBlock[], next: BlockHeader | undefined): void {
    const summaries = this.executor.commit(blocks, { above: next });
    for (const x of summaries) this.epochs_?.committed(x.block.header, x.block.txs, x.results);
    const now = Date.now();
    this.lastCommitAt = performance.now();
    for (const s of summaries) {
      this.forwarder.onCommitted(s.txIds);
      const info: BlockSummary = { hash: s.hash, header: s.block.header, txCount: s.block.txs.length, qc: s.qc };
      this.notifyCommitted(info);
    }
    const last = summaries[summaries.length - 1];
    if (last !== undefined) this.logger.debug("committed", { height: last.height, txs: last.txIds.length, lagMs: now - last.block.header.timestampMs });
  }

  // ---------------------------------------------------------------------------------------------------------------
  // NodeApi: reads over the follower's own store; submissions forwarded

  submitTx(tx: Uint8Array, _clientId: string): Promise<SubmitResult> {
    return this.forwarder.submitTx(tx);
  }

  submitTxs(txs: readonly Uint8Array[], _clientId: string): Promise<BatchSubmitResult[]> {
    return this.forwarder.submitTxs(txs);
  }

  txStatus(id: Uint8Array): TxStatus | null {
    const loc = this.store.txLocation(id);
    if (loc !== undefined) return { status: "committed", height: loc.height, index: loc.index, ok: loc.ok };
    return this.forwarder.isPending(id) ? { status: "pending" } : null;
  }

  paraStatus(title: string): ParaStatus | null {
    return this.reads.paraStatus(title);
  }

  paraCommit(title: string, height: number): DoneCommit | null {
    return this.reads.paraCommit(title, height);
  }

  xshardTransfer(xid: Uint8Array): XShardTransferView | null {
    return this.reads.xshardTransfer(xid);
  }

  status(): NodeStatus {
    const head = this.store.head();
    const rec = head === null ? undefined : this.store.committedAt(head.height);
    return {
      chainId: this.genesis.chainId,
      nodeIndex: this.config.followerIndex,
      committedHeight: head?.height ?? 0,
      // A follower is in no view: the view of its committed head (what it last saw certified).
      view: rec?.block.header.view ?? 0,
      leader: rec?.block.header.proposer ?? 0,
      peersConnected: this.pool.active.length,
      mempoolSize: this.forwarder.pendingCount,
      follower: { upstream: this.state === "running" ? this.pool.url : null, upstreamHeight: this.follower.upstreamHeight, lag: this.lag(), pending: this.chain.pending.length },
    };
  }

  genesisDocument(): string {
    return this.genesisText;
  }

  evidence(): EvidenceReport {
    return EMPTY_EVIDENCE;
  }

  /**
   * The health rule of every node (node/health.ts) over a follower's figures: its "peers" are its upstreams (one
   * answering is enough), catching up is being more than catch-up's threshold behind the highest height a quorum is
   * known to have certified (`ChainFollower.certifiedHeight`: the verified tip, or an upstream head whose QC verified —
   * not a height an upstream merely announced, so a lying upstream cannot hold the follower in CATCHING_UP), and it
   * is not committing when no block arrived for the threshold of the genesis's view timer.
   */
  health(): NodeHealth {
    const committedHeight = this.store.head()?.height ?? 0;
    const upstreamHeight = this.follower.certifiedHeight;
    return assessHealth({
      committedHeight,
      lastCommitAgeMs: Math.max(0, Math.round(performance.now() - this.lastCommitAt)),
      notCommittingAfterMs: notCommittingThresholdMs(this.genesis.consensus.baseTimeoutMs, CONFIG_DEFAULTS.block.emptyIntervalMs),
      peersConnected: this.follower.upstreamAnswering ? 1 : 0,
      peersTotal: this.config.follow.upstreams.length,
      peersNeeded: 1,
      catchingUp: upstreamHeight - committedHeight > DEFAULT_CATCH_UP.behindBlocks,
      catchUpTarget: upstreamHeight,
    });
  }

  /** A follower has no validator links (it reads its upstreams over RPC). */
  peers(): PeerView[] {
    return [];
  }

  /** The validators of the committed state's latest epoch (the genesis set on a chain without changes); it is none of them. */
  validators(): ValidatorSetView {
    const v = this.app.validators;
    if (v === null) return { epoch: 0, startHeight: 1, validators: this.genesis.validators.map((g, index) => ({ index, publicKey: g.publicKey, votingPower: 1, address: null, self: false, score: null, role: "member" })) };
    const e = v.epochs().at(-1)!;
    const registry = v.registry();
    return { epoch: e.epoch, startHeight: e.startHeight, validators: e.members.map((index) => ({ index, publicKey: registry[index]!.publicKey, votingPower: 1, address: registry[index]!.address, self: false, score: null, role: "member" })) };
  }

  /** Every epoch of the committed state (epoch 0 of the genesis alone on a chain without the validators module). */
  epochs(): readonly EpochView[] {
    return this.app.validators?.epochs() ?? [{ epoch: 0, startHeight: 1, members: this.genesis.validators.map((_, i) => i) }];
  }

  /** The follower config (it has no key). */
  effectiveConfig(): Record<string, unknown> {
    return { file: this.config.file, ...followerConfigJson(this.config) };
  }

  /** No consensus of its own: the route answers NO_CONSENSUS. */
  consensus(): ConsensusView | null {
    return null;
  }
}

/** The txs of committed block `height` (a change block the follower's own state names). */
function changeTxs(store: ChainStore, height: number): { readonly header: BlockHeader; readonly txs: readonly Uint8Array[]; readonly results: Uint8Array } {
  const rec = store.committedAt(height);
  if (rec === undefined) throw new NodeError("FATAL", `the committed change block ${height} is not in the store: the data directory is damaged`);
  return { header: rec.block.header, txs: rec.block.txs, results: rec.results };
}
