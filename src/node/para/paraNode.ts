/**
 * One para node (paracross README): follows the main chain, builds and commits para blocks into its own LMDB store,
 * signs a commit per para block and sends them to the main chain, and serves its chain over the ordinary RPC.
 *
 *   config + para genesis + key file
 *     → LMDB chain store (the para chain id, the para genesis hash) → application (genesis modules) → executor
 *     → builder (packParaTxs) + sender (queues, resend, stall) + follower (main stream + bodies, fail-over)
 *     → RPC server (NodeApi over the para store; `POST /v1/tx` refused: para txs go to the main chain)
 *
 * Lifecycle as `QuireNode`: `open` takes the data-directory and key-file locks and builds everything; `start` binds the
 * RPC port, asks the main chain for the done height (retrying on the scheduler while no main node answers) and starts
 * following; `stop` stops following, closes the RPC server and the store, releases the locks.
 */
import { settle } from "../../util/errors.js";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { Registry } from "prom-client";
import type { BuiltApplication } from "../../chain/app/build.js";
import { ChainReads, CommittedChainApi } from "../chainReads.js";
import { LmdbChainStore } from "../../chain/store/lmdbStore.js";
import type { ChainStore } from "../../chain/store/interface.js";
import { loadBlsBackend } from "../../crypto/bls/backend.js";
import type { BlsBackend } from "../../crypto/bls/backend.js";
import { loadKeyFile } from "../../crypto/bls/keyFile.js";
import type { ValidatorKey } from "../../crypto/bls/keyFile.js";
import { blockHasher } from "../../consensus/blockHash.js";
import type { EvidenceReport } from "../../consensus/validation/evidence.js";
import type { BlockSummary, ConsensusView, EpochView, NodeApi, NodeHealth, NodeStatus, PeerView, SubmitResult, TxStatus, ValidatorSetView } from "../../rpc/api.js";
import { HttpError } from "../../rpc/errors.js";
import { createRpcMetrics } from "../../rpc/metrics.js";
import { RpcServer } from "../../rpc/server.js";
import { bytesEqual } from "../../util/bytes.js";
import { SystemScheduler } from "../../util/clock.js";
import type { Scheduler, TimerHandle } from "../../util/clock.js";
import { NodeError } from "../errors.js";
import { lockValidator } from "../lock.js";
import type { FileLock } from "../lock.js";
import { LineLogger } from "../logger.js";
import type { Logger } from "../logger.js";
import { ParaBuilder } from "./builder.js";
import { buildParaStack } from "./paraStack.js";
import { MainFollower } from "./follower.js";
import type { MainChainClient } from "./mainChain.js";
import { paraNodeConfigJson } from "./paraConfig.js";
import type { ParaNodeConfig } from "./paraConfig.js";
import { DEFAULT_CATCH_UP } from "../catchUp.js";
import { assessHealth, MIN_NOT_COMMITTING_MS } from "../health.js";
import { loadParaGenesis, paraGenesisBlock, paraGenesisJson } from "./paraGenesis.js";
import type { ParaGenesis } from "./paraGenesis.js";
import { createParaMetrics } from "./paraMetrics.js";
import type { ParaMetrics } from "./paraMetrics.js";
import { RpcMainChain } from "./rpcMainChain.js";
import { ParaSender } from "./sender.js";

export interface ParaNodeOpenOptions {
  readonly logger?: Logger;
  /** Default: real time. */
  readonly scheduler?: Scheduler;
  /** Default: `RpcMainChain` over `config.mainRpc`. */
  readonly main?: MainChainClient;
}

const EMPTY_EVIDENCE: EvidenceReport = { total: 0, dropped: 0, byValidator: {}, proposals: [] };
/** Wait between attempts to reach the main chain at start. */
const START_RETRY_MS = 1_000;

export class ParaNode extends CommittedChainApi implements NodeApi {
  readonly config: ParaNodeConfig;
  readonly genesis: ParaGenesis;
  readonly logger: Logger;
  readonly store: ChainStore;
  readonly builder: ParaBuilder;
  readonly sender: ParaSender;
  readonly follower: MainFollower;
  readonly rpc: RpcServer;
  readonly metrics: ParaMetrics;
  /** Resolves with the exit code once the node stopped. */
  readonly done: Promise<number>;

  private readonly app: BuiltApplication;
  private readonly main: MainChainClient;
  private readonly scheduler: Scheduler;
  private readonly locks: readonly FileLock[];
  /** Blocks, proofs, KV, accounts and supply reads over the store (shared with the validator node). */
  protected readonly reads: ChainReads;
  private readonly genesisText: string;
  private resolveDone!: (code: number) => void;
  private state: "new" | "running" | "stopping" | "stopped" = "new";
  private startRetry: TimerHandle | null = null;
  /** When the last para block was made (scheduler ms; the node's creation before the first): `GET /v1/health`. */
  private lastParaBlockAt: number;

  private constructor(parts: { config: ParaNodeConfig; genesis: ParaGenesis; logger: Logger; backend: BlsBackend; key: ValidatorKey; store: ChainStore; locks: readonly FileLock[]; opts: ParaNodeOpenOptions }) {
    super();
    const { config, genesis, logger, backend, key, store } = parts;
    this.config = config;
    this.genesis = genesis;
    this.logger = logger;
    this.store = store;
    this.reads = new ChainReads(store, () => this.app);
    this.locks = parts.locks;
    this.genesisText = JSON.stringify(paraGenesisJson(genesis));
    this.done = new Promise<number>((resolve) => (this.resolveDone = resolve));
    this.scheduler = parts.opts.scheduler ?? new SystemScheduler(Date.now);
    this.lastParaBlockAt = this.scheduler.now();
    this.main = parts.opts.main ?? new RpcMainChain({ urls: config.mainRpc, expect: { chainId: genesis.mainChainId, genesisHash: genesis.mainGenesisHash } }, { logger });
    const registry = new Registry();
    // Read at scrape time, when every part exists.
    this.metrics = createParaMetrics(registry, {
      height: () => this.builder.paraHeight,
      doneHeight: () => this.sender.doneHeight,
      mainHeight: () => Math.max(0, this.follower.mainHeight),
      stalled: () => this.sender.stalled !== null,
    });
    const stack = buildParaStack(
      { genesis, nodeIndex: config.nodeIndex, blockPolicy: config.blockPolicy ?? undefined, sender: config.sender },
      {
        store,
        main: this.main,
        scheduler: this.scheduler,
        logger,
        sign: (m) => backend.signatureToBytes(backend.sign(key.secretKey, m)),
        metrics: { resends: this.metrics.resends, commitsSent: this.metrics.commitsSent },
        onParaBlock: (h) => this.onParaBlock(h),
      },
    );
    this.app = stack.app;
    this.builder = stack.builder;
    this.sender = stack.sender;
    this.follower = stack.follower;
    this.rpc = new RpcServer({ host: config.rpc.host, port: config.rpc.port }, { api: this, logger, metrics: createRpcMetrics(registry) });
  }

  /** Takes the locks, loads the para genesis and key, opens the store (refusing another chain). Listens on nothing yet. */
  static async open(config: ParaNodeConfig, opts: ParaNodeOpenOptions = {}): Promise<ParaNode> {
    const logger = opts.logger ?? new LineLogger(config.log.level, `para${config.nodeIndex} `);
    await mkdir(config.dataDir, { recursive: true });
    const { locks, warnings } = await lockValidator(config.dataDir, config.keyFile);
    for (const w of warnings) logger.warn(w);
    try {
      const backend = await loadBlsBackend("blst");
      const genesis = await loadParaGenesis(config.paraGenesisFile, backend);
      if (config.nodeIndex >= genesis.nodes.length) {
        throw new NodeError("BAD_CONFIG", `${config.file}: nodeIndex: ${config.nodeIndex} is not a node of the para genesis (${genesis.nodes.length} nodes)`, { field: "nodeIndex", file: config.file });
      }
      const key = await loadKeyFile(config.keyFile, backend);
      if (!bytesEqual(key.publicKeyBytes, genesis.nodes[config.nodeIndex]!.publicKey)) {
        throw new NodeError("KEY_NOT_IN_GENESIS", `${config.keyFile}: its public key is not nodes[${config.nodeIndex}] of ${config.paraGenesisFile}`, { field: "keyFile", file: config.file });
      }
      const gHash = blockHasher()(paraGenesisBlock(genesis).header);
      const store = await LmdbChainStore.open({ path: join(config.dataDir, "chain"), chainId: genesis.chainIdBytes, genesisHash: gHash });
      try {
        return new ParaNode({ config, genesis, logger, backend, key, store, locks, opts });
      } catch (e) {
        await store.close();
        throw e;
      }
    } catch (e) {
      for (const l of locks) await l.release();
      throw e;
    }
  }

  async start(): Promise<void> {
    if (this.state !== "new") throw new Error(`ParaNode.start: node is ${this.state}`);
    this.state = "running";
    try {
      await this.rpc.start();
    } catch (e) {
      await this.stop(1);
      throw e;
    }
    this.logger.info("para node started", { title: this.genesis.title, chain: this.genesis.chainId, index: this.config.nodeIndex, height: this.builder.paraHeight, mainHeight: this.builder.lastMainHeight, rpc: this.rpc.url });
    await this.connect();
  }

  /** Asks the main chain for its head and the done height, then follows it; retried until a main node answers. */
  private async connect(): Promise<void> {
    if (this.state !== "running") return;
    try {
      const head = await this.main.head();
      await this.sender.start(head);
    } catch (e) {
      this.logger.warn("main chain not reachable: retrying", { error: e instanceof Error ? e.message : String(e), retryMs: START_RETRY_MS });
      this.startRetry = this.scheduler.setTimeout(() => {
        this.startRetry = null;
        void this.connect();
      }, START_RETRY_MS);
      return;
    }
    await this.follower.start();
  }

  async stop(code = 0): Promise<void> {
    if (this.state === "stopping" || this.state === "stopped") return;
    this.state = "stopping";
    this.startRetry?.cancel();
    this.follower.stop();
    await settle(this.rpc.stop());
    await settle(this.follower.idle());
    await settle(this.sender.idle());
    await settle(this.store.close());
    for (const l of this.locks) await l.release();
    this.state = "stopped";
    this.logger.info("stopped");
    this.resolveDone(code);
  }

  private onParaBlock(height: number): void {
    this.lastParaBlockAt = this.scheduler.now();
    const rec = this.store.committedAt(height);
    if (rec === undefined) return;
    this.logger.debug("para block", { height, mainHeight: rec.block.header.view, txs: rec.block.txs.length });
    const info: BlockSummary = { hash: rec.hash, header: rec.block.header, txCount: rec.block.txs.length, qc: rec.qc };
    this.notifyCommitted(info);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // NodeApi over the para store

  submitTx(_tx: Uint8Array, _clientId: string): SubmitResult {
    throw new HttpError("PARA_SUBMIT_TO_MAIN", `para txs go to the main chain wrapped in a 0x21 para tx (title "${this.genesis.title}")`);
  }

  txStatus(id: Uint8Array): TxStatus | null {
    const loc = this.store.txLocation(id);
    return loc === undefined ? null : { status: "committed", height: loc.height, index: loc.index, ok: loc.ok };
  }

  status(): NodeStatus {
    return {
      chainId: this.genesis.chainId,
      nodeIndex: this.config.nodeIndex,
      committedHeight: this.builder.paraHeight,
      view: Math.max(0, this.builder.lastMainHeight),
      leader: 0,
      peersConnected: 0,
      mempoolSize: 0,
      para: { title: this.genesis.title, doneHeight: this.sender.doneHeight, mainHeight: Math.max(0, this.follower.mainHeight), stalled: this.sender.stalled },
    };
  }

  genesisDocument(): string {
    return this.genesisText;
  }

  /**
   * A para node's health from its own progress: its "peers" are the main-chain nodes it follows (NO_PEERS until one
   * answered), CATCHING_UP while more than catch-up's `behindBlocks` main blocks are unprocessed, NOT_COMMITTING when
   * the sender stalled or no para block was made for 10 s (one para block per main block, and an idle main chain
   * still commits empty blocks several times a second).
   */
  health(): NodeHealth {
    const mainHeight = this.follower.mainHeight;
    return assessHealth({
      committedHeight: this.builder.paraHeight,
      lastCommitAgeMs: Math.max(0, this.scheduler.now() - this.lastParaBlockAt),
      notCommittingAfterMs: MIN_NOT_COMMITTING_MS,
      peersConnected: mainHeight >= 0 ? 1 : 0,
      peersTotal: this.config.mainRpc.length,
      peersNeeded: 1,
      catchingUp: mainHeight - this.builder.lastMainHeight > DEFAULT_CATCH_UP.behindBlocks,
      catchUpTarget: Math.max(0, mainHeight),
      stalled: this.sender.stalled,
    });
  }

  /** A para node has no validator links (it reads the main chain over RPC). */
  peers(): PeerView[] {
    return [];
  }

  /** The para nodes of the para genesis: the signers of this chain's commit messages (one vote each, epoch 0). */
  validators(): ValidatorSetView {
    const self = this.config.nodeIndex;
    return { epoch: 0, startHeight: 1, validators: this.genesis.nodes.map((v, index) => ({ index, publicKey: v.publicKey, votingPower: 1, address: null, self: index === self, score: null, role: "member" })) };
  }

  /** One epoch for ever: the para nodes of the para genesis. */
  epochs(): EpochView[] {
    return [{ epoch: 0, startHeight: 1, members: this.genesis.nodes.map((_, i) => i) }];
  }

  /** The para node config (a key file path at most, never the key). */
  effectiveConfig(): Record<string, unknown> {
    return { file: this.config.file, ...paraNodeConfigJson(this.config) };
  }

  /** No consensus of its own: the route answers NO_CONSENSUS. */
  consensus(): ConsensusView | null {
    return null;
  }

  evidence(): EvidenceReport {
    return EMPTY_EVIDENCE;
  }
}
