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
import type { ModularApplication } from "../chain/app/modular.js";
import { Executor, executionCheck } from "../chain/executor.js";
import type { CommittedSummary } from "../chain/executor.js";
import { Mempool } from "../chain/mempool.js";
import type { MempoolOptions } from "../chain/mempool.js";
import type { ChainStore } from "../chain/store/interface.js";
import { blockHasher } from "../consensus/blockHash.js";
import type { BlockHasher } from "../consensus/blockHash.js";
import type { CertificateAggregator } from "../consensus/certificates.js";
import { DEFAULT_REPUTATION, ReputationElection } from "../consensus/leaderElection.js";
import { bitmapSignerSets } from "../consensus/adapters/bitmapSignerSets.js";
import type { LeaderElection } from "../consensus/leaderElection.js";
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
}

export interface ConsensusStackModules {
  readonly store: ChainStore;
  /** Builds QCs/TCs for the core and checks them for validation (`SchemeCertificates`). */
  readonly certificates: CertificateAggregator & CertificateVerifier;
  /** What validation asks; default `certificates` (the node passes the precheck's verdict cache in front of them). */
  readonly validationVerifier?: CertificateVerifier;
  readonly signer: ConsensusSigner;
  readonly precheck: SignaturePrecheck | null;
  readonly transport: Pick<Transport, "peers" | "send"> & Partial<Pick<Transport, "queuedBytes">>;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  readonly leaders?: LeaderElection;
  readonly penalties?: PeerPenalties;
  readonly hashBlock?: BlockHasher;
  /** Wraps the mempool as the proposer's payload source (the simulator's twins make their blocks differ). */
  readonly payload?: (mempool: Mempool) => PayloadSource;
  readonly onCommit: (blocks: readonly CommittedSummary[]) => void;
  readonly onFatal: (error: unknown) => void;
  readonly metrics?: ShellMetrics;
  /** The chain's application over the store (default: the KV module alone, `bucketBits` from the options). */
  readonly application?: (store: ChainStore) => ModularApplication;
}

export interface ConsensusStack {
  readonly shell: ConsensusShell;
  readonly replica: Replica;
  readonly validator: MessageValidator;
  readonly executor: Executor;
  readonly mempool: Mempool;
  readonly app: ModularApplication;
  readonly leaders: LeaderElection;
  readonly penalties: PeerPenalties;
  readonly genesisHash: Hash;
}

/** Builds the stack over `store`, committing genesis into it first if it is empty. Starts nothing. */
export function buildConsensusStack(o: ConsensusStackOptions, m: ConsensusStackModules): ConsensusStack {
  const store = m.store;
  const hashBlock = m.hashBlock ?? blockHasher();
  const genesisHash = hashBlock(o.genesis.header);
  const app = m.application?.(store) ?? new KvApplication({ bucketBits: o.bucketBits }, { committed: store });
  const executor = genesisExecutor(store, app, o.genesis, genesisHash);
  const mempool = new Mempool(o.mempool ?? {}, { check: (tx) => app.check(tx), isCommitted: (id) => store.txLocation(id) !== undefined, now: () => m.scheduler.now() });
  // Leaders that missed their recent views are skipped (consensus/leaderElection.ts); a test may pass round robin.
  const signerSets = bitmapSignerSets();
  const leaders = m.leaders ?? new ReputationElection(o.validatorCount, DEFAULT_REPUTATION, (qc) => signerSets.decode(qc.signers, o.validatorCount));
  const penalties = m.penalties ?? new PeerPenalties(DEFAULT_PENALTIES, () => m.scheduler.now());
  const replica = new Replica(
    { chainId: o.chainId, self: o.self, validatorCount: o.validatorCount, genesis: o.genesis, pacemaker: o.pacemaker },
    { signer: m.signer, aggregator: m.certificates, leaders, hashBlock, execution: executionCheck(executor) },
  );
  const validator = new MessageValidator(
    { self: o.self, validatorCount: o.validatorCount, genesisHash, voteSignatures: o.voteSignatures ?? "verify" },
    { verifier: m.validationVerifier ?? m.certificates, txRoot: (txs) => merkleRoot(txs), leaders, hashBlock },
  );
  const shell = new ConsensusShell(
    { chainId: o.chainId, self: o.self, validatorCount: o.validatorCount, block: o.block, gossip: o.gossip, leaderDownGraceMs: leaderDownGrace(o.pacemaker) },
    {
      replica,
      validator,
      precheck: m.precheck,
      store,
      executor,
      mempool,
      payload: m.payload?.(mempool),
      transport: m.transport,
      leaders,
      penalties,
      logger: m.logger,
      scheduler: m.scheduler,
      onCommit: m.onCommit,
      onFatal: m.onFatal,
      metrics: m.metrics,
    },
  );
  return { shell, replica, validator, executor, mempool, app, leaders, penalties, genesisHash };
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
