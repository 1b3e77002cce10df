/**
 * One validator's consensus stack, wired once for everyone who runs it: the node (LMDB, uWS, BLS, the real clock),
 * the simulator (memory store, in-memory network, the fast test scheme or BLS, virtual time) and the shell tests.
 *
 *   chain store → KV application → executor (genesis committed once) → mempool
 *   → replica (its execution check is the executor's) + message validator → consensus shell (proposer, tx gossip)
 *
 * What differs between them is only what is passed in: the store, the certificates' signature scheme, the signer, the
 * precheck, the transport and the scheduler.
 */
import { KvApplication } from "../chain/app/kvApp.js";
import { evidenceTxOf, provenMisbehaviour } from "../chain/app/evidence/format.js";
import type { Evidence } from "../consensus/validation/equivocation.js";
import { ModularApplication } from "../chain/app/modular.js";
import { Executor, executionCheck } from "../chain/executor.js";
import type { CommittedSummary } from "../chain/executor.js";
import { Mempool } from "../chain/mempool.js";
import type { MempoolOptions } from "../chain/mempool.js";
import type { ChainStore } from "../chain/store/interface.js";
import { blockHasher } from "../consensus/blockHash.js";
import type { BlockHasher } from "../consensus/blockHash.js";
import type { CertificateAggregator } from "../consensus/certificates.js";
import { buildLeaderElection } from "../consensus/leaderElection.js";
import { bitmapSignerSets } from "../consensus/adapters/bitmapSignerSets.js";
import type { LeaderConfig, LeaderElection } from "../consensus/leaderElection.js";
import { DEFAULT_PACEMAKER } from "../consensus/pacemaker.js";
import type { PacemakerConfig } from "../consensus/pacemaker.js";
import { Replica } from "../consensus/replica.js";
import { genesisQc } from "../consensus/signing.js";
import type { ConsensusSigner } from "../consensus/signing.js";
import { MessageValidator } from "../consensus/validation/validator.js";
import type { CertificateVerifier } from "../consensus/validation/verifier.js";
import { merkleRoot } from "../crypto/merkle.js";
import type { Block, Hash } from "../domain/types.js";
import type { Transport } from "../net/transport.js";
import type { Scheduler } from "../util/clock.js";
import type { BlockPolicy, GossipPolicy } from "./config.js";
import { ConsensusShell } from "./consensusShell.js";
import { EpochShell } from "./epochShell.js";
import type { EpochInstance, EpochPorts, EpochReader, EpochSet } from "./epochShell.js";
import type { PayloadSource } from "./proposer.js";
import type { SignaturePrecheck } from "./precheck.js";
import type { Logger } from "./logger.js";
import type { ShellMetrics } from "./metrics.js";
import { DEFAULT_PENALTIES, PeerPenalties } from "./penalties.js";

export interface ConsensusStackOptions {
  readonly chainId: Uint8Array;
  readonly self: number;
  readonly validatorCount: number;
  readonly genesis: Block;
  readonly pacemaker?: PacemakerConfig;
  readonly block: BlockPolicy;
  readonly gossip: GossipPolicy;
  readonly mempool?: MempoolOptions;
  /** The KV application's state-tree buckets (a power of two; part of the state root). */
  readonly bucketBits?: number;
  /** Optimistic vote collection (the certificates must be built with `optimisticVotes`). Default "verify". */
  readonly voteSignatures?: "verify" | "defer";
  /** The genesis's leader mode, for every epoch (default: `skip-inactive`, consensus/leaderElection.ts). */
  readonly leaderConfig?: LeaderConfig;
}

export interface ConsensusStackModules {
  readonly store: ChainStore;
  /** Epoch 0's (the genesis set's): builds QCs/TCs for the core and checks them for validation (`SchemeCertificates`). */
  readonly certificates: CertificateAggregator & CertificateVerifier;
  /** What validation asks; default `certificates` (the node passes the precheck's verdict cache in front of them). */
  readonly validationVerifier?: CertificateVerifier;
  readonly signer: ConsensusSigner;
  readonly precheck: SignaturePrecheck | null;
  /**
   * The same four for a later epoch (src/node/epochShell.ts): over the set's keys, signing under its domain, with a
   * signer for the set's position of this node (index `members.length` when it is not a member: it never signs).
   * Required when the application has the validators module.
   */
  readonly epochCrypto?: (set: EpochSet) => EpochCrypto;
  /** This node's BLS public key (its registry entry); required with the validators module. */
  readonly selfKey?: Uint8Array;
  readonly transport: Pick<Transport, "peers" | "send"> & Partial<Pick<Transport, "queuedBytes">>;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  /** Epoch 0's leader election (a test may pass round robin); later epochs get a fresh one of `leaderConfig`'s mode. */
  readonly leaders?: LeaderElection;
  readonly penalties?: PeerPenalties;
  readonly hashBlock?: BlockHasher;
  /** Wraps the mempool as the proposer's payload source (the simulator's twins make their blocks differ). */
  readonly payload?: (mempool: Mempool) => PayloadSource;
  /**
   * Geo clusters (node/geo): whether to hold the proposal of the block at `height` (the cluster ran ahead of the
   * global order). Held at most 40 % of the base view timer, then proposed anyway.
   */
  readonly proposeHold?: (height: number) => boolean;
  readonly onCommit: (blocks: readonly CommittedSummary[]) => void;
  readonly onFatal: (error: unknown) => void;
  readonly metrics?: ShellMetrics;
  /**
   * The chain's application over the store (default: the KV module alone, `bucketBits` from the options), with the
   * validators module's reads when it runs it (then the set changes by epoch).
   */
  readonly application?: (store: ChainStore) => ModularApplication | { readonly app: ModularApplication; readonly validators: EpochReader | null };
  /** A new epoch started (the node re-dials, the simulator records it). */
  readonly onEpoch?: (set: EpochSet) => void;
}

/** What an epoch's instance signs and verifies with. */
export interface EpochCrypto {
  readonly certificates: CertificateAggregator & CertificateVerifier;
  readonly validationVerifier?: CertificateVerifier;
  readonly signer: ConsensusSigner;
  readonly precheck: SignaturePrecheck | null;
}

export interface ConsensusStack {
  /** The shell of the running epoch's instance, and the epochs around it. */
  readonly shell: EpochShell;
  readonly executor: Executor;
  readonly mempool: Mempool;
  readonly app: ModularApplication;
  readonly penalties: PeerPenalties;
  readonly genesisHash: Hash;
  /** The reputation scores (0..100, by position in the set) of `epoch`'s leader election; null if not built or kept. */
  scores(epoch: number): readonly number[] | null;
}

/** Builds the stack over `store`, committing genesis into it first if it is empty. Starts nothing. */
export function buildConsensusStack(o: ConsensusStackOptions, m: ConsensusStackModules): ConsensusStack {
  const store = m.store;
  const hashBlock = m.hashBlock ?? blockHasher();
  const genesisHash = hashBlock(o.genesis.header);
  const built = m.application?.(store) ?? new KvApplication({ bucketBits: o.bucketBits }, { committed: store });
  const app = built instanceof ModularApplication ? built : built.app;
  const reader = built instanceof ModularApplication ? null : built.validators;
  if (reader !== null && (m.epochCrypto === undefined || m.selfKey === undefined)) throw new Error("buildConsensusStack: the validators module needs epochCrypto and selfKey");
  const executor = genesisExecutor(store, app, o.genesis, genesisHash);
  const mempool = new Mempool(o.mempool ?? {}, { check: (tx) => app.check(tx), isCommitted: (id) => store.txLocation(id) !== undefined, now: () => m.scheduler.now() });
  const penalties = m.penalties ?? new PeerPenalties(DEFAULT_PENALTIES, () => m.scheduler.now());
  const elections = new Map<number, LeaderElection>();
  const evidenceOnChain = app.moduleNames().includes("evidence");
  const build = (set: EpochSet, ports: EpochPorts): EpochInstance => {
    const n = set.members.length;
    // The genesis set's keys serve epoch 0 when this node holds its genesis index; anything else is built per epoch.
    const crypto: EpochCrypto = set.epoch === 0 && set.self === o.self ? m : epochCryptoOf(m, set);
    // The genesis's leader mode (consensus/leaderElection.ts), scores included; a test may pass round robin.
    const signerSets = bitmapSignerSets();
    const leaders =
      set.epoch === 0 && m.leaders !== undefined ? m.leaders : buildLeaderElection(o.leaderConfig ?? {}, n, (bits, k) => signerSets.decode(bits, k), evidenceOnChain ? provenMisbehaviour : undefined);
    // The last two epochs' elections: the running one, and the next one while it starts.
    elections.set(set.epoch, leaders);
    for (const e of elections.keys()) if (e < set.epoch - 1) elections.delete(e);
    const replica = new Replica(
      { chainId: set.domain, self: set.self, validatorCount: n, genesis: o.genesis, epochRoot: set.root ?? undefined, pacemaker: o.pacemaker },
      { signer: crypto.signer, aggregator: crypto.certificates, leaders, hashBlock, execution: executionCheck(executor) },
    );
    const validator = new MessageValidator(
      { self: set.self, validatorCount: n, genesisHash, root: set.root === null ? undefined : { hash: replica.root.hash, view: set.root.header.view }, voteSignatures: o.voteSignatures ?? "verify" },
      { verifier: crypto.validationVerifier ?? crypto.certificates, txRoot: (txs) => merkleRoot(txs), leaders, hashBlock },
    );
    const shell = new ConsensusShell(
      { chainId: o.chainId, self: set.self, validatorCount: n, epoch: set.epoch, block: o.block, gossip: o.gossip, leaderDownGraceMs: leaderDownGrace(o.pacemaker), maxHoldMs: 0.4 * (o.pacemaker ?? DEFAULT_PACEMAKER).baseTimeoutMs },
      {
        replica,
        validator,
        precheck: crypto.precheck,
        store,
        executor,
        mempool,
        payload: m.payload?.(mempool),
        ...(m.proposeHold !== undefined ? { proposeHold: m.proposeHold } : {}),
        transport: ports.transport,
        leaders,
        penalties: ports.penalties,
        logger: m.logger,
        scheduler: m.scheduler,
        onCommit: m.onCommit,
        onFatal: m.onFatal,
        metrics: m.metrics,
        epochs: ports.epochs,
        counters: ports.counters,
        // Evidence txs name genesis indices: epoch 0 only (the evidence module refuses to run with set changes).
        onEvidence: set.epoch === 0 && evidenceOnChain ? (e) => submitEvidence(mempool, e, m.logger) : undefined,
      },
    );
    return { shell, leaders, validator };
  };
  const shell = new EpochShell(
    { chainId: o.chainId, validatorCount: o.validatorCount, self: o.self, selfKey: m.selfKey },
    { store, transport: m.transport, penalties, reader, build, logger: m.logger, onEpoch: m.onEpoch },
  );
  return { shell, executor, mempool, app, penalties, genesisHash, scores: (epoch) => elections.get(epoch)?.scores?.() ?? null };
}

/**
 * Evidence validation recorded, as a tx in this node's mempool (a duplicate or a full pool only logs). Validation
 * verified its signatures, so it skips the admission check and its budget (the evidence module's `check`).
 */
function submitEvidence(mempool: Mempool, e: Evidence, logger: Logger): void {
  const tx = evidenceTxOf(e);
  if (tx === null) return;
  const r = mempool.add(tx, "evidence", { verified: true });
  logger.info("equivocation evidence submitted", { kind: e.kind, validator: e.validator, view: e.view, result: r.kind });
}

function epochCryptoOf(m: ConsensusStackModules, set: EpochSet): EpochCrypto {
  if (m.epochCrypto === undefined) throw new Error(`buildConsensusStack: epoch ${set.epoch} needs epochCrypto`);
  return m.epochCrypto(set);
}

/**
 * The executor over `store`, genesis committed into it first if the store is empty: a validator's stack and a
 * follower (node/follow/) commit through the same executor the same way.
 */
export function genesisExecutor(store: ChainStore, app: ModularApplication, genesis: Block, genesisHash: Hash): Executor {
  const executor = new Executor({}, { store, app });
  if (store.head() === null) executor.commitGenesis({ block: genesis, hash: genesisHash, qc: genesisQc(genesisHash) });
  return executor;
}

/**
 * 15 % of the base view timer (150 ms by default): room for the messages already in flight from a validator that
 * stopped, short next to a whole view timer. A link that drops and comes back within it costs nothing.
 */
function leaderDownGrace(p: PacemakerConfig | undefined): number {
  return (p ?? DEFAULT_PACEMAKER).baseTimeoutMs * 0.15;
}
