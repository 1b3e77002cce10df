/**
 * The contract between the RPC server and the node behind it. The RPC layer knows nothing about stores, mempools or
 * consensus: `src/node/` implements `NodeApi` on top of them, and tests implement it with a fake
 * (test/support/fakeNodeApi.ts).
 *
 * Every query may answer synchronously or with a promise (`Awaitable`): LMDB reads are synchronous, a proxying
 * implementation would not be. Byte fields are `Uint8Array`; the server renders them as lower-case hex.
 *
 * An implementation may throw (or reject) on an internal failure: the server answers 500 `INTERNAL`, counts it and
 * logs it, and keeps serving. Expected outcomes (not found, mempool full, invalid tx) are values, never exceptions.
 */
import type { EvidenceReport } from "../consensus/validation/evidence.js";
import type { BlockHeader, QuorumCert } from "../domain/types.js";
import type { RootedInclusionProof } from "../crypto/merkle.js";
import type { DoneCommit, ParaStatus } from "../chain/app/paracross/module.js";

/** A value, or a promise of one. */
export type Awaitable<T> = T | Promise<T>;

/**
 * What the mempool did with one submitted transaction.
 *
 * `durable`, when present on an admitted tx, resolves once the tx survives a crash of the node (it is journaled):
 * the server answers 202/200 only after it resolved, and 500 if it rejects. It is separate from the admission
 * decision so that a batch can be admitted item by item (each item's outcome decides whether the next is offered)
 * and then made durable by one group write instead of one write per item.
 */
export type SubmitResult =
  /** New to this node: admitted to the mempool. `id` = SHA-256(tx). */
  | { readonly kind: "accepted"; readonly id: Uint8Array; readonly durable?: Promise<void> }
  /** Already pending or committed here: nothing changed (safe outcome of a client retry). */
  | { readonly kind: "duplicate"; readonly id: Uint8Array; readonly durable?: Promise<void> }
  /**
   * Refused for lack of room (count, bytes or this client's share), or with `reason` when the application's check is
   * at its admission budget; nothing was kept. Retry after this many seconds.
   */
  | { readonly kind: "full"; readonly retryAfterSec: number; readonly reason?: string }
  /**
   * Malformed for the application (fails its stateless check). The client sees `"<code>: <reason>"` (or the reason
   * alone without a code): the mempool's `{code, reason}` passes through unchanged.
   */
  | { readonly kind: "invalid"; readonly reason: string; readonly code?: string };

/**
 * One item of a batch a node hands on whole (`NodeApi.submitTxs`: a follower forwards it to a validator): a
 * `SubmitResult`, or what the validator answered for an item it did not decide — `skipped` (not offered, after a full
 * pool) or `error` (it failed on it; nothing about the item is acknowledged).
 */
export type BatchSubmitResult = SubmitResult | { readonly kind: "skipped" } | { readonly kind: "error" };

/** Where a transaction is. `null` from `NodeApi.txStatus` means this node has never heard of it (or forgot it). */
export type TxStatus =
  | { readonly status: "pending" }
  | {
      readonly status: "committed";
      readonly height: number;
      /** Position of the tx in its block (the Merkle leaf index). */
      readonly index: number;
      /**
       * Whether execution succeeded (its bit in the block's result bitmap is clear). `null` while the committed block
       * has not been executed yet, for a node that executes after it acknowledges the commit.
       */
      readonly ok: boolean | null;
    };

/** A committed block as the RPC shows it: its header, hash, size and certificate (never the transactions). */
export interface BlockSummary {
  /** The block hash (32 bytes). */
  readonly hash: Uint8Array;
  readonly header: BlockHeader;
  readonly txCount: number;
  /** The QC that certifies this block (`qc.blockHash == hash`); null for genesis, which nobody votes for. */
  readonly qc: QuorumCert | null;
}

/**
 * `GET /v1/tx/:id/receipt`: what proves a committed tx and its result from the genesis alone
 * (chain/receipt.ts): the tx, its audit path in block h's txRoot, the result, and the commit proof of h (whose
 * second block's `parentResults` certifies the result).
 */
export interface TxReceipt {
  readonly id: Uint8Array;
  readonly height: number;
  readonly index: number;
  readonly tx: Uint8Array;
  readonly failed: boolean;
  readonly inclusion: RootedInclusionProof;
  /** The blocks h..k+1 with their QCs, as `GET /v1/blocks/:h/commit-proof` serves them. */
  readonly blocks: readonly BlockSummary[];
}

/** A committed block's transactions and its own encoded result bitmap (`GET /v1/blocks/:height/body`). */
export interface BlockBody {
  /** Encoded bitmap (crypto/bitmap codec): bit i set = tx i failed on execution. */
  readonly results: Uint8Array;
  readonly txs: readonly Uint8Array[];
}

/** Outcome of an inclusion-proof query. */
export type ProofResult =
  /**
   * `cached`: false when the node had to read the block and build its tree for this request (the server charges a
   * read like a block read, see `RpcLimits.txsPerToken`); true or absent for a lookup.
   */
  | { readonly kind: "ok"; readonly proof: RootedInclusionProof; readonly cached?: boolean }
  /** No committed block at that height. */
  | { readonly kind: "noBlock" }
  /** The block exists but has only `txCount` transactions. */
  | { readonly kind: "noTx"; readonly txCount: number };

/** A snapshot of the node for `GET /v1/status`. */
export interface NodeStatus {
  /** The chain id as written in genesis. */
  readonly chainId: string;
  readonly nodeIndex: number;
  readonly committedHeight: number;
  /** The consensus view this node is in. */
  readonly view: number;
  /** Index of the leader of `view`. */
  readonly leader: number;
  readonly peersConnected: number;
  /** Transactions waiting in the mempool. */
  readonly mempoolSize: number;
  /** Set by a para node only (src/node/para/): its title and progress against the main chain. */
  readonly para?: ParaNodeStatus;
  /** Set by a follower only (src/node/follow/): whom it follows and how far behind it is. */
  readonly follower?: FollowerNodeStatus;
}

/** A follower's progress: `GET /v1/status` carries it as `"follower"` (absent on a validator). */
export interface FollowerNodeStatus {
  /** RPC URL of the upstream it streams from now, or null while it has none. */
  readonly upstream: string | null;
  /** The upstream's committed height as last heard. */
  readonly upstreamHeight: number;
  /** `upstreamHeight − committedHeight`, at least 0. */
  readonly lag: number;
  /** Verified blocks waiting for commit evidence (consensus/certifiedChain.ts). */
  readonly pending: number;
}

/** A para node's progress: `GET /v1/status` carries it as `"para"` (absent on a validator). */
export interface ParaNodeStatus {
  readonly title: string;
  /** The main chain's done height for this title, as last heard. */
  readonly doneHeight: number;
  /** The main chain's head as last heard. */
  readonly mainHeight: number;
  /** Why the node stopped making para blocks, or null. */
  readonly stalled: string | null;
}

/** An account's committed state (`GET /v1/accounts/:pubkey`); zeros for an account never credited. */
export interface AccountView {
  readonly publicKey: Uint8Array;
  readonly balance: number;
  /** The nonce the account's next signed tx must carry. */
  readonly nonce: number;
}

/** `GET /v1/supply`: Σ balances on this chain, and what each registered para chain's escrow holds (main chain). */
export interface SupplyView {
  readonly supply: number;
  readonly escrows: ReadonlyMap<string, number>;
  /**
   * On a shard of a sharded network: what this shard holds in cross-shard escrow and what it credited as an output
   * shard. Σ over shards of supply + escrowed − imported is the network's genesis total (chain/app/xshard/module.ts).
   */
  readonly xshard?: { readonly escrowed: number; readonly imported: number };
}

/** `GET /v1/xshard/:xid`: what this shard knows of a cross-shard transfer (chain/app/xshard/module.ts). */
export interface XShardTransferView {
  readonly xid: Uint8Array;
  readonly shard: number;
  /** This shard's legs, as an input shard: escrowed | invalid | refunded | aborted, or null (not run here). */
  readonly leg: string | null;
  /** As the output shard: collecting | credited | aborted, the arrived input-shard mask and the sum so far; or null. */
  readonly output: { readonly status: string; readonly arrived: number; readonly sum: number } | null;
}

/** Why `GET /v1/health` answers 503 (src/rpc/README.md, *Operator routes*). */
export type HealthReason =
  /** Fewer than a quorum of validators (this node included) are connected: this node cannot help form a QC. */
  | "NO_PEERS"
  /** No block committed for longer than `notCommittingAfterMs` (an idle chain still commits its empty blocks). */
  | "NOT_COMMITTING"
  /** The catch-up component is fetching committed ranges: this node is far behind its peers. */
  | "CATCHING_UP";

/** `GET /v1/health`: 200 when `ok`, else 503 with the first failing `reason`. */
export interface NodeHealth {
  readonly ok: boolean;
  /** Null when `ok`. */
  readonly reason: HealthReason | null;
  /** For people: what failed, with the numbers; null when `ok`. */
  readonly detail: string | null;
  readonly committedHeight: number;
  /** Milliseconds since this node last committed a block (since it started, before its first commit). */
  readonly lastCommitAgeMs: number;
  /** The age past which the node reports NOT_COMMITTING. */
  readonly notCommittingAfterMs: number;
  readonly peersConnected: number;
  /** Peers this node needs connected to be part of a quorum (quorum − 1). */
  readonly peersNeeded: number;
}

/** How many penalty points a peer holds and what they cost it (node/penalties.ts, the transport's bans). */
export interface PeerPenaltyView {
  /** Current points (decayed to now); a peer is muted when they reach the threshold. */
  readonly points: number;
  readonly muted: boolean;
  /** Strikes on record (the second within the strike memory bans). */
  readonly strikes: number;
  readonly banned: boolean;
}

/** One validator peer as this node sees it (`GET /v1/peers`). Times are ms since the Unix epoch. */
export interface PeerView {
  readonly index: number;
  readonly publicKey: Uint8Array;
  /** Its p2p address from this node's config, or null when unknown. */
  readonly address: { readonly host: string; readonly port: number } | null;
  readonly connected: boolean;
  /** When the current link came up; null while disconnected. */
  readonly connectedSince: number | null;
  /**
   * When the last frame from it arrived (a message, or a liveness ping when the link is quiet; peers push a hello every
   * second), on the current link or the last one; null if it never connected.
   */
  readonly lastMessageAt: number | null;
  /** Its committed height as it last announced it (hello); null when unknown (no hello since its link came up). */
  readonly committedHeight: number | null;
  readonly penalties: PeerPenaltyView;
}

/** One member of the validator set (`GET /v1/validators`). */
export interface ValidatorView {
  readonly index: number;
  readonly publicKey: Uint8Array;
  readonly votingPower: number;
  /** Its p2p address from this node's config, or null when unknown. */
  readonly address: { readonly host: string; readonly port: number } | null;
  /** Whether this is the node answering. */
  readonly self: boolean;
  /**
   * Its reputation score 0..100 from committed history (consensus/reputation.ts), as this node's leader election
   * holds it; null where none is kept (a follower, a para node).
   */
  readonly score: number | null;
  /**
   * "member": votes in the epoch; "passive": a registered validator outside the committee (genesis
   * `consensus.committee`): it follows and executes, never votes (`votingPower` 0), and re-enters once its score is
   * among the top m at a rotation. With committees every registry validator is listed and `score` is the validators
   * module's (the one its rotations read, committed state); without, the epoch's members and the election's scores.
   */
  readonly role: ValidatorRole;
}

export type ValidatorRole = "member" | "passive";

/** The validator set of an epoch (one epoch, 0, until validator-set changes land). */
export interface ValidatorSetView {
  readonly epoch: number;
  /** The epoch's first height (1 for epoch 0). */
  readonly startHeight: number;
  readonly validators: readonly ValidatorView[];
}

/** One epoch of `GET /v1/epochs`: its members (registry indices, ascending) certify heights `startHeight..` up to the next epoch's. */
export interface EpochView {
  readonly epoch: number;
  readonly startHeight: number;
  readonly members: readonly number[];
}

/** A certificate's or vote's (view, block hash). */
export interface ViewAndBlock {
  readonly view: number;
  readonly blockHash: Uint8Array;
}

/** `GET /v1/consensus`: the replica's pacemaker and safety state, for operators. Times are ms since the Unix epoch. */
export interface ConsensusView {
  readonly view: number;
  readonly leader: number;
  /** When the current view times out here. */
  readonly viewDeadlineMs: number;
  /** The current view's timer length (the pacemaker's back-off applied). */
  readonly viewTimeoutMs: number;
  /** The last vote this replica sent, or null. */
  readonly lastVote: ViewAndBlock | null;
  readonly highQc: ViewAndBlock & { readonly signers: number };
  /** The view of the highest TC this replica holds, or null. */
  readonly lastTcView: number | null;
  /** Since the process started: view timers that fired here, and TCs formed or received that raised `lastTcView`. */
  readonly timeouts: { readonly local: number; readonly tcs: number };
  readonly lastVotedView: number;
  readonly lastProposedView: number;
  readonly committedHeight: number;
}

/** A committed-block listener. Called once per block, in height order, with no gaps. */
export type CommittedBlockListener = (block: BlockSummary) => void;

/** Everything the RPC server asks of the node. */
export interface NodeApi {
  /**
   * Offers one raw transaction to the mempool. `clientId` names the submitter for the mempool's per-client fairness
   * (the server passes the request's source: the peer's IPv4 address as text, or its IPv6 /64 as "a:b:c:d::/64").
   */
  submitTx(tx: Uint8Array, clientId: string): Awaitable<SubmitResult>;
  /**
   * A whole `POST /v1/txs` batch at once, one result per tx in order. Optional: a node that hands batches on (a
   * follower forwarding to a validator, in one request) implements it; without it the server offers items one by one.
   */
  submitTxs?(txs: readonly Uint8Array[], clientId: string): Promise<readonly BatchSubmitResult[]>;
  /** Status of the transaction with this 32-byte id, or null if unknown. */
  txStatus(id: Uint8Array): Awaitable<TxStatus | null>;
  /** The committed block at `height` (or the highest committed one), or null if not committed yet. */
  block(height: number | "latest"): Awaitable<BlockSummary | null>;
  /**
   * The ids (SHA-256 of each tx) of the committed block at `height`, packed in block order: id i at bytes
   * [32i, 32i + 32). Null when nothing is committed there. For bulk checks (`quire load`'s lost-tx check reads every
   * block of a run this way instead of asking for each tx).
   */
  blockTxIds(height: number): Awaitable<Uint8Array | null>;
  /**
   * The transactions of the committed block at `height` and the result bitmap executing it produced (from the
   * node's committed record); null when nothing is committed there. What a para node follows the main chain with.
   */
  blockBody(height: number): Awaitable<BlockBody | null>;
  /**
   * The committed blocks h..k+1 (each with its QC) that prove block h committed from the genesis alone
   * (consensus/commitProof.ts); null when h is not committed or not provable yet. Optional: absent, the route is 404.
   */
  commitProof?(height: number): Awaitable<readonly BlockSummary[] | null>;
  /** RFC 6962 inclusion proof of transaction `index` of the committed block at `height`, against its `txRoot`. */
  proof(height: number, index: number): Awaitable<ProofResult>;
  /** The committed value of `key` in the application state, or null if absent. */
  kv(key: Uint8Array): Awaitable<Uint8Array | null>;
  /**
   * Paracross (a main chain): a registered para chain's progress (committed state), or null for an unknown title.
   * Absent on a node without the paracross module (every para route answers PARA_NOT_FOUND).
   */
  paraStatus?(title: string): Awaitable<ParaStatus | null>;
  /** The done commit of para height `height` of `title`, or null when that height is not done (yet). */
  paraCommit?(title: string, height: number): Awaitable<DoneCommit | null>;
  status(): Awaitable<NodeStatus>;
  /** The committed state of an Ed25519 account (32-byte key); null when the chain runs no accounts module. */
  account(publicKey: Uint8Array): Awaitable<AccountView | null>;
  /** The committed supply and escrows; null when the chain runs no accounts module. */
  supply(): Awaitable<SupplyView | null>;
  /** A cross-shard transfer's committed status on this shard; absent or null when the chain runs no xshard module. */
  xshardTransfer?(xid: Uint8Array): Awaitable<XShardTransferView | null>;
  /**
   * The genesis document this node runs, as JSON text. The node renders it from the genesis it parsed (not the file's
   * bytes), so two nodes that loaded equivalent files serve identical text: `quire audit` compares it byte for byte.
   */
  genesisDocument(): Awaitable<string>;
  /**
   * Equivocation evidence this node holds: totals per validator and each proposal equivocation as self-contained JSON
   * (two signed proposals of one view by one proposer), which anyone can check with the genesis alone
   * (`verifyEquivocationEvidence` in src/consensus/validation/evidence.ts).
   */
  evidence(): Awaitable<EvidenceReport>;
  /** `GET /v1/health`: whether this node is connected, in sync and committing. */
  health(): Awaitable<NodeHealth>;
  /** `GET /v1/peers`: every other validator, ascending by index (empty on a node without validator peers). */
  peers(): Awaitable<readonly PeerView[]>;
  /** `GET /v1/validators`: the validator set this node runs with. */
  validators(): Awaitable<ValidatorSetView>;
  /**
   * `GET /v1/epochs`: every epoch of the committed state, oldest first (epoch 0 over the genesis validators alone on a
   * chain without the validators module). A hint for `quire audit`, which derives each set itself.
   */
  epochs(): Awaitable<readonly EpochView[]>;
  /**
   * `GET /v1/config`: the node's effective config (after `--set` overrides) as a JSON document, without secrets: key
   * file paths at most, never key material.
   */
  effectiveConfig(): Awaitable<Readonly<Record<string, unknown>>>;
  /**
   * A geo cluster's node (node/geo): `POST /v1/geo` takes a geo message and answers a pull; `GET /v1/geo/status` and
   * `GET /v1/geo/rounds?from&to` show the global order. Absent elsewhere: the routes answer NO_GEO.
   */
  geo?: GeoApi;
  /** `GET /v1/consensus`: null on a node that runs no consensus (a para node): the route answers NO_CONSENSUS. */
  consensus(): Awaitable<ConsensusView | null>;
  /**
   * Registers a listener for blocks as they commit; returns the function that removes it. The listener is called
   * synchronously from the commit path and must not throw (the server's listener catches everything).
   */
  onCommittedHeader(listener: CommittedBlockListener): () => void;
  // No metrics method: the node registers its series on the registry the server renders (RpcServerModules.metrics).
}

/** The logging the RPC server does: structured and leveled. `src/node/` adapts its logger to this. */
export interface RpcLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** A logger that drops everything (the default). */
export const SILENT_LOGGER: RpcLogger = {
  debug: () => {},
  warn: () => {},
  error: () => {},
};

/** A geo node's routes (NodeApi.geo). */
export interface GeoApi {
  /** A geo message's bytes; the reply to send back (a pull's answer), or null. Never throws for bad input. */
  receive(bytes: Uint8Array): Uint8Array | null;
  status(): GeoStatusDoc;
  /** Executed rounds from..to (inclusive) this node still keeps. */
  roundRange(from: number, to: number): readonly GeoRoundView[];
}

/** `GET /v1/geo/status`. */
export interface GeoStatusDoc {
  readonly network: string;
  readonly cluster: number;
  readonly member: number;
  readonly clusters: number;
  readonly round: number;
  readonly next: { readonly round: number; readonly cluster: number };
  readonly stateRoot: string;
  readonly txs: number;
  readonly longestRemoteWaitMs: number;
  readonly events: Record<string, number>;
}

/** One executed round of the global order: its blocks in cluster order and the state root after them. */
export interface GeoRoundView {
  readonly round: number;
  readonly blocks: readonly { readonly cluster: number; readonly height: number; readonly hash: Uint8Array; readonly txCount: number; readonly failed: readonly number[] }[];
  readonly stateRoot: Uint8Array;
}
