/**
 * One Quire validator node: every layer wired together (DESIGN §2), constructed from a validated config.
 *
 *   config + genesis + key file
 *     → LMDB chain store (refuses another chain id or genesis) → KV application → executor (genesis committed once)
 *     → mempool → BLS verifier pool → uWS transport (BLS handshake) → replica + validation → consensus shell
 *     → RPC server (NodeApi implemented here, over the store, mempool and shell)
 *
 * Lifecycle: `QuireNode.open(config)` first takes the validator's locks (its data directory and its key file, `lock.ts`:
 * a second process with the same config stops here, exit 1, naming the holder), then builds everything (nothing listens
 * yet); `start()` opens the transport, resumes
 * consensus from the store and binds the RPC port; `stop()` closes the RPC server, stops consensus between two steps
 * (every store write is synchronous, so none is ever cut in half), closes the links, the pool and the store, and
 * releases the locks.
 * `done` resolves when the node stopped, with the exit code (0 after `stop()`, 1 after a fatal error).
 */
import { settle } from "../util/errors.js";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { Registry } from "prom-client";
import { loadBlsBackend } from "../crypto/bls/backend.js";
import type { BlsBackend } from "../crypto/bls/backend.js";
import { loadKeyFile } from "../crypto/bls/keyFile.js";
import { PooledBlsVerifier } from "../crypto/bls/pool.js";
import { bitmapSignerSets } from "../consensus/adapters/bitmapSignerSets.js";
import { BlsScheme, blsSigner } from "../consensus/adapters/blsScheme.js";
import { SchemeCertificates } from "../consensus/scheme.js";
import { CachingVerifier } from "../consensus/validation/verifier.js";
import type { CommittedSummary } from "../chain/executor.js";
import { LmdbChainStore } from "../chain/store/lmdbStore.js";
import type { ChainStore } from "../chain/store/interface.js";
import { blsLinkIdentity, blsLinkVerify } from "../net/blsLink.js";
import { SystemScheduler } from "../util/clock.js";
import { UwsTransport } from "../net/uwsTransport.js";
import type { BlockSummary, ConsensusView, EpochView, GeoApi, NodeApi, NodeHealth, NodeStatus, PeerView, SubmitResult, TxStatus, ValidatorRole, ValidatorSetView, ValidatorView, XShardTransferView } from "../rpc/api.js";
import { createRpcMetrics } from "../rpc/metrics.js";
import { RpcServer } from "../rpc/server.js";
import { bytesEqual, toHex } from "../util/bytes.js";
import { operatorConfigJson } from "./config.js";
import type { NodeConfig } from "./config.js";
import { assessHealth, honestBackedHeight, notCommittingThresholdMs, peersNeededForQuorum } from "./health.js";
import { DEFAULT_CATCH_UP } from "./catchUp.js";
import { maxFaulty } from "../domain/quorum.js";
import { viewDuration } from "../consensus/pacemaker.js";
import type { SignerSetCodec } from "../consensus/scheme.js";
import type { EpochSet, EpochShell } from "./epochShell.js";
import type { EpochCrypto } from "./consensusStack.js";
import { observerSigner } from "../consensus/signing.js";
import { buildConsensusStack } from "./consensusStack.js";
import type { LeaderElection } from "../consensus/leaderElection.js";
import type { EvidenceReport } from "../consensus/validation/evidence.js";
import { ChainReads, CommittedChainApi } from "./chainReads.js";
import { createHasher, defaultHasher, setDefaultHasher } from "../crypto/hash/backends.js";
import { blockHasher } from "../consensus/blockHash.js";
import { buildApplication } from "../chain/app/build.js";
import type { DoneCommit, ParaStatus } from "../chain/app/paracross/module.js";
import type { BuiltApplication } from "../chain/app/build.js";
import type { Mempool } from "../chain/mempool.js";
import { NodeError } from "./errors.js";
import { appSpecOf, genesisBlock, genesisJson, isGeoCluster, loadGenesis } from "./genesis.js";
import { loadNetworkManifest } from "./shardNetwork.js";
import type { NetworkManifest } from "./shardNetwork.js";
import { GeoService } from "./geo/geoService.js";
import { checkManifest, startRelaying } from "./xshardLink.js";
import type { Genesis } from "./genesis.js";
import { LineLogger } from "./logger.js";
import type { Logger } from "./logger.js";
import { blsVerifierMetrics, createMetrics, recordCommit, shellMetrics, splitRefusals } from "./metrics.js";
import type { Metrics } from "./metrics.js";
import { PooledPrecheck } from "./precheck.js";
import { DEFAULT_PENALTIES, PeerPenalties } from "./penalties.js";
import { lockValidator } from "./lock.js";
import type { FileLock } from "./lock.js";
import { submitJournaled, TxJournal } from "./txJournal.js";

export interface NodeOpenOptions {
  /** Default: a `LineLogger` on stderr at the config's level, prefixed with the node index. */
  readonly logger?: Logger;
}

export class QuireNode extends CommittedChainApi implements NodeApi {
  readonly config: NodeConfig;
  readonly genesis: Genesis;
  readonly logger: Logger;
  readonly store: ChainStore;
  readonly mempool: Mempool;
  readonly shell: EpochShell;
  /** The reputation scores of an epoch's leader election (ConsensusStack.scores). */
  private readonly scoresOf: (epoch: number) => readonly number[] | null;
  readonly transport: UwsTransport;
  readonly rpc: RpcServer;
  /** Every node series, on the registry `GET /metrics` renders (with the RPC server's own). */
  readonly metrics: Metrics;
  /** Resolves with the process exit code once the node has stopped. */
  readonly done: Promise<number>;

  private app!: BuiltApplication;
  private readonly pool: PooledBlsVerifier;
  /** The running epoch's verdict cache and precheck (replaced at each epoch: they hold its keys and domain). */
  private precheckVerifier: CachingVerifier;
  private precheck: PooledPrecheck;
  private readonly penalties: PeerPenalties;
  private readonly locks: readonly FileLock[];
  /** Acknowledged client txs, durable before their 202 (txJournal.ts). */
  private readonly journal: TxJournal;
  private resolveDone!: (code: number) => void;
  private state: "new" | "running" | "stopping" | "stopped" = "new";
  private readonly registry: Registry;
  /** Cross-shard relaying (a shard with `xshard.manifest` in its config). */
  private relaying: { stop(): void } | null = null;
  /** A geo cluster's sharing and global order (node/geo); null on other chains. */
  private readonly geoService: GeoService | null = null;
  private readonly startedAt = Date.now();
  /**
   * When this node last committed a block (its start before the first), on the monotonic clock: a step of the wall
   * clock must not make `GET /v1/health` report NOT_COMMITTING (review finding).
   */
  private lastCommitAt = performance.now();
  private readonly notCommittingAfterMs: number;
  private readonly signerSets: SignerSetCodec;
  /** `GET /v1/genesis`: rendered once from the parsed genesis, so equivalent files give identical text. */
  private readonly genesisText: string;

  private constructor(parts: {
    config: NodeConfig;
    genesis: Genesis;
    logger: Logger;
    backend: BlsBackend;
    store: ChainStore;
    key: Awaited<ReturnType<typeof loadKeyFile>>;
    locks: readonly FileLock[];
    geoManifest: NetworkManifest | null;
  }) {
    super();
    const { config, genesis, logger, backend, store, key } = parts;
    this.locks = parts.locks;
    this.config = config;
    this.genesis = genesis;
    this.genesisText = JSON.stringify(genesisJson(genesis));
    this.logger = logger;
    this.store = store;
    // A geo cluster's KV, account and supply reads are of the global state (node/geo), not of its order-only chain.
    this.reads = new ChainReads(store, () => this.geoService?.order.built ?? this.app);
    this.done = new Promise<number>((resolve) => (this.resolveDone = resolve));
    const n = genesis.validators.length;
    const self = config.validatorIndex;
    const publicKeys = genesis.validators.map((v) => v.publicKey);
    // The transport's peers: the genesis validators, then validators added later that the config lists with keys.
    const transportPeers = config.peers.map((p, i) => ({ publicKey: i < n ? publicKeys[i]! : p.publicKey!, address: { host: p.host, port: p.port } }));
    // Built first (the pool reports into it); the sources are read only at scrape time, when every part exists.
    const registry = (this.registry = new Registry());
    this.metrics = createMetrics(registry, {
      committedHeight: () => store.head()?.height ?? 0,
      view: () => this.shell.view,
      peersConnected: () => this.peersConnected(),
      mempoolTxs: () => this.mempool.size,
      mempoolBytes: () => this.mempool.bytes,
      mempoolAccepted: () => this.mempool.metrics().accepted,
      precheckHits: () => this.precheckVerifier.hits,
      precheckMisses: () => this.precheckVerifier.misses,
      precheckRefused: () => this.precheck.refused,
      uptimeSeconds: () => Math.floor((Date.now() - this.startedAt) / 1000),
      reputation: () => this.validatorSet().validators.flatMap((v) => (v.score === null ? [] : [{ validator: v.index, score: v.score }])),
      p2p: () => {
        const st = this.transport.stats();
        return { ...splitRefusals(st.refused), pendingHandshakes: st.admission.pendingHandshakes, backedOffSources: st.admission.backedOffSources, heldConnections: st.admission.heldConnections, bannedPeers: st.admission.bannedPeers.length, bans: this.penalties.bans };
      },
    });

    const gBlock = genesisBlock(genesis);
    this.pool = new PooledBlsVerifier({ backend: config.bls.backend, workers: config.bls.workers }, { metrics: blsVerifierMetrics(this.metrics) });
    this.transport = new UwsTransport(
      {
        self,
        chainId: genesis.chainIdBytes,
        validators: transportPeers,
        listen: config.p2p,
      },
      { identity: blsLinkIdentity(backend, key), verify: blsLinkVerify(this.pool) },
    );
    const signerSets = (this.signerSets = bitmapSignerSets());
    this.notCommittingAfterMs = notCommittingThresholdMs(genesis.consensus.baseTimeoutMs, config.block.emptyIntervalMs);
    // Each epoch's certificates over its set's keys, signing under its domain (epoch 0: the genesis set and chain id).
    // One verdict cache per epoch: the pool's precheck fills it, validation reads it.
    const epochCrypto = (set: { readonly domain: Uint8Array; readonly publicKeys: readonly Uint8Array[]; readonly members: readonly number[]; readonly self: number }): EpochCrypto => {
      const certificates = new SchemeCertificates({ chainId: set.domain, validatorCount: set.members.length }, new BlsScheme(backend, set.publicKeys), signerSets);
      const verifier = (this.precheckVerifier = new CachingVerifier(certificates));
      const precheck = (this.precheck = new PooledPrecheck({ chainId: set.domain, publicKeys: set.publicKeys }, { backend, pool: this.pool, signerSets, cache: verifier }));
      const signer = set.self < set.members.length ? blsSigner(backend, key.secretKey, set.self) : observerSigner(set.self);
      return { certificates, validationVerifier: verifier, signer, precheck };
    };
    const genesisCrypto = epochCrypto({ domain: genesis.chainIdBytes, publicKeys, members: publicKeys.map((_, i) => i), self });
    this.precheckVerifier = genesisCrypto.validationVerifier as CachingVerifier;
    this.precheck = genesisCrypto.precheck as PooledPrecheck;
    // The consensus clock also stamps blocks: milliseconds since the Unix epoch.
    const scheduler = new SystemScheduler(Date.now);
    // Peers that keep earning penalties are banned by the transport, not only muted (penalties.ts has the policy).
    this.penalties = new PeerPenalties(DEFAULT_PENALTIES, () => scheduler.now(), (peer, ms) => {
      logger.warn("peer banned", { peer, seconds: ms / 1000 });
      this.transport.ban(peer, ms);
    });
    const stack = buildConsensusStack(
      {
        chainId: genesis.chainIdBytes,
        self,
        validatorCount: n,
        genesis: gBlock,
        pacemaker: genesis.consensus,
        leaderConfig: genesis.consensus,
        block: config.block,
        gossip: config.gossip,
        mempool: { maxTxs: config.mempool.maxTxs, maxBytes: config.mempool.maxBytes },
        bucketBits: genesis.app.bucketBits,
      },
      {
        store,
        ...genesisCrypto,
        epochCrypto,
        selfKey: key.publicKeyBytes,
        onEpoch: (set) => this.onEpoch(set),
        transport: this.transport,
        scheduler,
        penalties: this.penalties,
        logger,
        onCommit: (blocks) => this.onCommit(blocks),
        // A geo cluster's leaders wait for the global order (node/geo/geoReplica.ts `hold`); built after the stack.
        proposeHold: (height) => this.geoService?.hold(height) ?? false,
        onFatal: (e) => this.onFatal(e),
        metrics: shellMetrics(this.metrics),
        application: (committed) => {
          this.app = buildApplication(appSpecOf(genesis), { committed, bls: backend });
          return { app: this.app.app, validators: this.app.validators };
        },
      },
    );
    this.mempool = stack.mempool;
    this.shell = stack.shell;
    this.scoresOf = (epoch) => stack.scores(epoch);
    this.transport.setHandler({
      onMessage: (from, payload) => this.shell.onMessage(from, payload),
      onPeerUp: (peer) => {
        logger.info("peer up", { peer });
        this.shell.onPeerUp(peer);
      },
      onPeerDown: (peer, reason) => {
        logger.info("peer down", { peer, reason });
        this.shell.onPeerDown(peer);
      },
      onPeerFlagged: (peer, code) => logger.warn("peer flagged", { peer, code }),
    });
    if (parts.geoManifest !== null) {
      this.geoService = new GeoService(
        { genesis, manifest: parts.geoManifest, validatorIndex: config.validatorIndex, remoteTimeoutMs: config.geo!.remoteTimeoutMs },
        { backend, signer: blsSigner(backend, key.secretKey, config.validatorIndex), store, shell: this.shell, logger, registry, onFatal: (e) => this.onFatal(e) },
      );
    }
    this.journal = new TxJournal({ store, defer: (fn) => setImmediate(fn), now: Date.now, onError: (e) => this.onFatal(e) });
    this.rpc = new RpcServer({ host: config.rpc.host, port: config.rpc.port, limits: config.rpc.limits ?? {} }, { api: this, logger, metrics: createRpcMetrics(registry) });
  }

  /** Loads genesis and key, opens the store (refusing another chain), and builds every layer. Listens on nothing yet. */
  static async open(config: NodeConfig, opts: NodeOpenOptions = {}): Promise<QuireNode> {
    const logger = opts.logger ?? new LineLogger(config.log.level, `node${config.validatorIndex} `);
    // Locks first: a second process with this config must stop before it reads the store or binds a port.
    await mkdir(config.dataDir, { recursive: true });
    const { locks, warnings } = await lockValidator(config.dataDir, config.keyFile);
    for (const w of warnings) logger.warn(w);
    for (const l of locks) {
      if (l.tookOver !== undefined) logger.warn("took over a stale lock", { file: l.file, pid: l.tookOver.pid, startedAt: l.tookOver.startedAt });
    }
    try {
      return await QuireNode.openLocked(config, logger, locks);
    } catch (e) {
      for (const l of locks) await l.release();
      throw e;
    }
  }

  private static async openLocked(config: NodeConfig, logger: Logger, locks: readonly FileLock[]): Promise<QuireNode> {
    // Before anything is built: the mempool, executor and KV app take the thread's default hasher when constructed.
    if (config.hash !== undefined) setDefaultHasher(createHasher(config.hash.backend));
    const backend = await loadBlsBackend(config.bls.backend);
    const genesis = await loadGenesis(config.genesisFile, backend);
    const n = genesis.validators.length;
    const changes = genesis.app.modules.includes("validators");
    // Without the validators module the peers are exactly the genesis validators; with it, validators added later may
    // follow, each with its key (a validator waiting to be added lists itself at the registry index it will get).
    if (changes ? config.peers.length < n : config.peers.length !== n) {
      throw new NodeError("BAD_CONFIG", `${config.file}: peers: lists ${config.peers.length} validators but genesis has ${n}`, { field: "peers", file: config.file });
    }
    config.peers.forEach((p, i) => {
      if ((i < n) !== (p.publicKey === undefined)) {
        throw new NodeError("BAD_CONFIG", `${config.file}: peers[${i}]: ${i < n ? "a genesis validator's key comes from genesis (no publicKey)" : "a validator added after genesis needs its publicKey"}`, { field: `peers.${i}.publicKey`, file: config.file });
      }
    });
    const key = await loadKeyFile(config.keyFile, backend);
    const listed = config.validatorIndex < n ? genesis.validators[config.validatorIndex]!.publicKey : config.peers[config.validatorIndex]!.publicKey!;
    if (!bytesEqual(key.publicKeyBytes, listed)) {
      throw new NodeError("KEY_NOT_IN_GENESIS", `${config.keyFile}: its public key is not validators[${config.validatorIndex}] of ${config.validatorIndex < n ? config.genesisFile : config.file}`, { field: "keyFile", file: config.file });
    }
    let geoManifest: NetworkManifest | null = null;
    if (isGeoCluster(genesis)) {
      if (config.geo === undefined) throw new NodeError("BAD_CONFIG", `${config.file}: a geo cluster's node needs geo.manifest (quire init --clusters writes it)`, { field: "geo.manifest", file: config.file });
      geoManifest = await loadNetworkManifest(config.geo.manifest);
      checkManifest(geoManifest, genesis.network!, config.geo.manifest, "geo.manifest");
    } else if (config.geo !== undefined) throw new NodeError("BAD_CONFIG", `${config.file}: geo is for a geo cluster's node; this genesis is not one (network.kind clusters)`, { field: "geo", file: config.file });
    const gHash = blockHasher()(genesisBlock(genesis).header);
    if (geoManifest !== null && !bytesEqual(geoManifest.shards[genesis.network!.shard]!.genesisHash, gHash)) {
      throw new NodeError("BAD_CONFIG", `${config.geo!.manifest}: cluster ${genesis.network!.shard}'s genesisHash is not the hash of ${config.genesisFile}`, { field: "geo.manifest", file: config.file });
    }
    const store = await LmdbChainStore.open({ path: join(config.dataDir, "chain"), chainId: genesis.chainIdBytes, genesisHash: gHash });
    try {
      return new QuireNode({ config, genesis, logger, backend, store, key, locks, geoManifest });
    } catch (e) {
      await store.close();
      throw e;
    }
  }

  async start(): Promise<void> {
    if (this.state !== "new") throw new Error(`QuireNode.start: node is ${this.state}`);
    this.state = "running";
    try {
      // Acknowledged txs of the previous run back into the mempool before anything is served (they gossip from here).
      const replay = this.journal.replay(this.mempool);
      if (replay.replayed + replay.dropped + replay.invalid + replay.full > 0) this.logger.info("acknowledged txs replayed", { ...replay });
      if (replay.full > 0) this.logger.warn("acknowledged txs left out of a full mempool: offered again as commits make room", { full: replay.full });
      await this.transport.start();
      this.shell.start();
      await this.rpc.start();
      await this.startRelaying();
      this.geoService?.start();
    } catch (e) {
      await this.stop(1);
      throw e;
    }
    const head = this.store.head();
    this.logger.info("node started", {
      chain: this.genesis.chainId,
      index: this.config.validatorIndex,
      height: head?.height ?? 0,
      p2p: `${this.config.p2p.host}:${this.transport.listenPort}`,
      rpc: this.rpc.url,
      hash: defaultHasher().backend,
      bls: this.config.bls.backend,
    });
  }

  /** Graceful stop; idempotent. Resolves once everything is closed. */
  async stop(code = 0): Promise<void> {
    if (this.state === "stopping" || this.state === "stopped") return;
    this.state = "stopping";
    this.logger.info("stopping", { height: this.store.head()?.height ?? 0 });
    this.relaying?.stop();
    this.geoService?.stop();
    this.shell.stop();
    await settle(this.rpc.stop());
    await settle(this.transport.stop());
    await settle(this.pool.close());
    // Submissions admitted in this last turn: written (and their answers released) before the store closes.
    this.journal.flushNow();
    await settle(this.store.close());
    for (const l of this.locks) await l.release();
    this.state = "stopped";
    this.logger.info("stopped");
    this.resolveDone(code);
  }

  private async startRelaying(): Promise<void> {
    const x = this.app?.xshard ?? null;
    const cfg = this.config.xshard;
    if (x === null || cfg === undefined || this.genesis.network === undefined) return;
    const manifest = await loadNetworkManifest(cfg.manifest);
    checkManifest(manifest, this.genesis.network, cfg.manifest);
    this.relaying = startRelaying({
      xshard: x,
      head: () => this.store.head()?.height ?? 0,
      commitProof: (h) => this.reads.commitProof(h),
      manifest,
      validatorIndex: this.config.validatorIndex,
      validatorCount: this.genesis.validators.length,
      intervalMs: cfg.relayIntervalMs,
      logger: this.logger,
      registry: this.registry,
    });
  }

  private onFatal(e: unknown): void {
    this.logger.error("fatal: stopping the node", { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e), stack: e instanceof Error ? e.stack : undefined });
    void this.stop(1);
  }

  private onCommit(blocks: readonly CommittedSummary[]): void {
    this.geoService?.onCommit(blocks);
    const now = Date.now();
    if (blocks.length > 0) this.lastCommitAt = performance.now();
    const retried = this.journal.retryLeftOut(this.mempool);
    if (retried !== undefined && retried.replayed > 0) this.logger.info("acknowledged txs left out at start now replayed", { ...retried });
    for (const b of blocks) {
      recordCommit(this.metrics, b.block.header.timestampMs, b.txIds.length, now);
      const info: BlockSummary = { hash: b.hash, header: b.block.header, txCount: b.block.txs.length, qc: b.qc };
      this.notifyCommitted(info);
    }
    const last = blocks[blocks.length - 1];
    if (last !== undefined) this.logger.debug("committed", { height: last.height, txs: last.txIds.length, hash: toHex(last.hash).slice(0, 16) });
  }

  // ---------------------------------------------------------------------------------------------------------------
  // NodeApi

  /** `POST /v1/geo`, `GET /v1/geo/status|rounds` (a geo cluster's node only). */
  get geo(): GeoApi | undefined {
    return this.geoService ?? undefined;
  }

  submitTx(tx: Uint8Array, clientId: string): SubmitResult {
    return submitJournaled(this.mempool, this.journal, tx, clientId);
  }

  txStatus(id: Uint8Array): TxStatus | null {
    const loc = this.store.txLocation(id);
    if (loc !== undefined && this.geoService !== null) {
      // A geo cluster orders only: a tx is final, with its result, once its round ran in the global order. Rounds
      // older than the records kept report the ordering result (committed, executed long ago: outcome not kept).
      const outcome = this.geoService.txOutcome(loc.height, loc.index);
      if (outcome === "pending") return { status: "pending" };
      return { status: "committed", height: loc.height, index: loc.index, ok: outcome === null ? loc.ok : outcome.ok };
    }
    if (loc !== undefined) return { status: "committed", height: loc.height, index: loc.index, ok: loc.ok };
    return this.mempool.has(id) ? { status: "pending" } : null;
  }

  /** Blocks, proofs, KV, accounts, supply and paracross reads over the store (shared with the para node). */
  protected readonly reads: ChainReads;

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
    const view = this.shell.view;
    return {
      chainId: this.genesis.chainId,
      nodeIndex: this.config.validatorIndex,
      committedHeight: this.store.head()?.height ?? 0,
      view,
      leader: this.shell.leader(view),
      peersConnected: this.peersConnected(),
      mempoolSize: this.mempool.size,
    };
  }

  genesisDocument(): string {
    return this.genesisText;
  }

  evidence(): EvidenceReport {
    return this.shell.evidence();
  }

  health(): NodeHealth {
    const op = this.shell.operatorView();
    const committedHeight = this.store.head()?.height ?? 0;
    // Catch-up starts on any one peer's word (it costs that peer penalties if it lied); health waits for a height
    // f+1 peers vouch for, so one liar cannot take an honest node out of a load balancer.
    const members = this.shell.epoch?.members.length ?? this.genesis.validators.length;
    const backed = honestBackedHeight(this.shell.peerHeights.values(), maxFaulty(members));
    return assessHealth({
      committedHeight,
      lastCommitAgeMs: Math.max(0, Math.round(performance.now() - this.lastCommitAt)),
      notCommittingAfterMs: this.notCommittingAfterMs,
      peersConnected: this.peersConnected(),
      peersTotal: this.transport.peers.length,
      peersNeeded: peersNeededForQuorum(members),
      catchingUp: (op?.catchingUp ?? false) && backed > committedHeight + DEFAULT_CATCH_UP.behindBlocks,
      catchUpTarget: Math.max(0, backed),
    });
  }

  peers(): PeerView[] {
    const t = this.transport;
    // The transport stamps on its own monotonic clock: shifted onto the wall clock here (src/node/ reads the clock).
    const offset = Date.now() - t.scheduler.now();
    const wall = (at: number | null): number | null => (at === null ? null : Math.round(at + offset));
    const heights = this.shell.peerHeights;
    return t.peers.map((p) => {
      const a = t.peerActivity(p);
      return {
        index: p,
        // Genesis validators, then the config's later entries, then validators added by a change (the registry).
        publicKey: this.genesis.validators[p]?.publicKey ?? this.config.peers[p]?.publicKey ?? this.app?.validators?.registry()[p]?.publicKey ?? new Uint8Array(48),
        address: this.config.peers[p] ?? this.app?.validators?.registry()[p]?.address ?? null,
        connected: t.isConnected(p),
        connectedSince: wall(a.connectedSince),
        lastMessageAt: wall(a.lastReceivedAt),
        committedHeight: heights.get(p) ?? null,
        penalties: { points: this.penalties.points(p), muted: this.penalties.muted(p), strikes: this.penalties.strikes(p), banned: t.isBanned(p) },
      };
    });
  }

  validators(): ValidatorSetView {
    return this.validatorSet();
  }

  /** Every epoch of the committed state; epoch 0 over the genesis validators on a chain without the validators module. */
  epochs(): readonly EpochView[] {
    return this.app?.validators?.epochs() ?? [{ epoch: 0, startHeight: 1, members: this.genesis.validators.map((_, i) => i) }];
  }

  /**
   * The validator set this node runs with: the current epoch's members (registry indices), one vote each. Addresses
   * are the config's for the validators it lists, else the one the change tx announced. The one place the set is
   * computed for the RPC.
   */
  validatorSet(): ValidatorSetView {
    const self = this.config.validatorIndex;
    const set = this.shell.epoch;
    const registry = this.app?.validators?.registry() ?? null;
    const scores = this.scoresOf(set?.epoch ?? 0);
    if (set === null || registry === null) {
      return {
        epoch: 0,
        startHeight: 1,
        validators: this.genesis.validators.map((v, index) => ({ index, publicKey: v.publicKey, votingPower: 1, address: this.config.peers[index] ?? null, self: index === self, score: scores?.[index] ?? null, role: "member" })),
      };
    }
    const view = (index: number, score: number | null, role: ValidatorRole): ValidatorView => {
      const p = this.config.peers[index];
      return { index, publicKey: registry[index]!.publicKey, votingPower: role === "member" ? 1 : 0, address: p === undefined ? registry[index]!.address : { host: p.host, port: p.port }, self: index === self, score, role };
    };
    // Committees: every registry validator, with the score the module's rotations read (committed state) and its role.
    const committee = this.app?.validators?.scores() ?? null;
    if (committee !== null) {
      return { epoch: set.epoch, startHeight: set.startHeight, validators: registry.map((_, index) => view(index, Math.floor(committee[index]! / 1000), set.members.includes(index) ? "member" : "passive")) };
    }
    return { epoch: set.epoch, startHeight: set.startHeight, validators: set.members.map((index, position) => view(index, scores?.[position] ?? null, "member")) };
  }

  /**
   * A new epoch started: every registry entry becomes a transport peer (a validator added by a change is dialled at
   * the address it announced). Registry indices are transport peer ids, so an entry must land on its own index.
   */
  private onEpoch(set: EpochSet): void {
    this.logger.info("validator set", { epoch: set.epoch, startHeight: set.startHeight, members: set.members.join(","), member: set.self < set.members.length });
    const registry = this.app?.validators?.registry() ?? [];
    for (const e of registry) {
      const known = this.transport.peerIndexOf(e.publicKey);
      if (known === e.index) continue;
      // The transport's ids are the validators it lists, this node included.
      const next = this.transport.peers.length + 1;
      if (known !== undefined || e.index !== next || e.address === null) {
        this.logger.error("a registry entry cannot become a transport peer at its index", { index: e.index, known: known ?? null, transportPeers: next });
        continue;
      }
      this.transport.addPeer({ publicKey: e.publicKey, address: e.address });
    }
  }

  effectiveConfig(): Record<string, unknown> {
    return operatorConfigJson(this.config);
  }

  consensus(): ConsensusView {
    const op = this.shell.operatorView();
    // The RPC server starts after the shell: only a stopped-before-start node gets here without a state.
    if (op === null) throw new Error("consensus has not started");
    const { safety } = op;
    // Signer bitmaps count the current epoch's members.
    const n = this.shell.epoch?.members.length ?? this.genesis.validators.length;
    return {
      view: op.view,
      leader: this.shell.leader(op.view),
      // The consensus scheduler reads Date.now (see the constructor): its deadline is already wall ms.
      viewDeadlineMs: op.viewDeadline,
      viewTimeoutMs: viewDuration(this.genesis.consensus, op.view, safety.highQc.view),
      lastVote: safety.lastVote === null ? null : { view: safety.lastVote.view, blockHash: safety.lastVote.blockHash },
      highQc: { view: safety.highQc.view, blockHash: safety.highQc.blockHash, signers: this.signerSets.decode(safety.highQc.signers, n)?.length ?? 0 },
      lastTcView: safety.lastTc?.view ?? null,
      timeouts: { local: op.localTimeouts, tcs: op.tcs },
      lastVotedView: safety.lastVotedView,
      lastProposedView: safety.lastProposedView,
      committedHeight: this.store.head()?.height ?? 0,
    };
  }

  private peersConnected(): number {
    return this.transport.peers.filter((p) => this.transport.isConnected(p)).length;
  }
}
