/**
 * An in-memory `NodeApi` for RPC tests: a bounded mempool, a chain of blocks committed on demand (real RFC 6962
 * tx roots and proofs), a KV map, and switches to make any method throw, answer asynchronously, or never answer.
 */
import type { EvidenceReport } from "../../src/consensus/validation/evidence.js";
import { createHash } from "node:crypto";
import { Gauge } from "prom-client";
import type { Registry } from "prom-client";
import type { AccountView, Awaitable, BlockBody, BlockSummary, CommittedBlockListener, ConsensusView, EpochView, NodeApi, NodeHealth, NodeStatus, PeerView, ProofResult, SubmitResult, SupplyView, TxStatus, ValidatorSetView } from "../../src/rpc/api.js";
import type { BlockHeader } from "../../src/domain/types.js";
import type { DoneCommit, ParaStatus } from "../../src/chain/app/paracross/module.js";
import { merkleProof, merkleRoot } from "../../src/crypto/merkle.js";
import { toHex } from "../../src/util/bytes.js";
import { encodeBitmapIndices } from "../../src/crypto/bitmap/index.js";

export const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash("sha256").update(b).digest());

/** First byte of a transaction the fake application refuses. */
export const INVALID_TX_PREFIX = 0xff;
export const INVALID_REASON = "BAD_OP: fake app: opcode 0xff is refused";

export interface FakeNodeOptions {
  /** Mempool capacity in transactions (default 1,000). */
  capacity?: number;
  /** "sync" answers directly; "async" answers from a later macrotask (setImmediate). Default "sync". */
  mode?: "sync" | "async";
}

/** A NodeApi method, or "metrics" for the fake's scrape-time collector. */
export type FakeMethod = keyof NodeApi | "metrics";

interface FakeBlock {
  info: BlockSummary;
  txs: Uint8Array[];
  /** The block's own encoded result bitmap. */
  results: Uint8Array;
}

export class FakeNodeApi implements NodeApi {
  capacity: number;
  mode: "sync" | "async";
  retryAfterSec = 2;
  /** Methods that throw (sync mode) or reject (async mode) with an Error; "metrics" is the fake's scrape collector. */
  readonly throwOn = new Set<FakeMethod>();
  /** When set, every query (not onCommittedHeader) returns a promise that never settles. */
  hang = false;
  /** Every submitTx call: its bytes and client id. */
  readonly submissions: { tx: Uint8Array; clientId: string }[] = [];
  /** Calls per method. */
  readonly calls = new Map<string, number>();
  readonly pool = new Map<string, Uint8Array>();
  readonly blocks: FakeBlock[] = [];
  readonly kvStore = new Map<string, Uint8Array>();
  /** Para chains (a main chain's paracross module): status by title, done commits by `${title}/${height}`. */
  readonly paraStatuses = new Map<string, ParaStatus>();
  readonly paraCommits = new Map<string, DoneCommit>();
  /** Accounts by hex public key; null: the chain runs no accounts module (the routes answer NO_ACCOUNTS). */
  accounts: Map<string, { balance: number; nonce: number }> | null = new Map();
  /** Escrows by title (what `supply` answers next to the sum of `accounts`). */
  readonly escrows = new Map<string, number>();
  private readonly where = new Map<string, { height: number; index: number; ok: boolean | null }>();
  private readonly listeners = new Set<CommittedBlockListener>();
  view = 1;
  peersConnected = 3;
  /** What `genesisDocument` answers. */
  genesisText = '{"type":"quire-genesis","chainId":"quire-test"}';
  /** What `evidence` answers. */
  evidenceReport: EvidenceReport = { total: 0, dropped: 0, byValidator: {}, proposals: [] };
  /** What the operator routes answer (`GET /v1/health`, `/v1/peers`, `/v1/validators`, `/v1/config`, `/v1/consensus`). */
  healthState: NodeHealth = { ok: true, reason: null, detail: null, committedHeight: 0, lastCommitAgeMs: 120, notCommittingAfterMs: 10_000, peersConnected: 3, peersNeeded: 2 };
  peerViews: PeerView[] = [];
  validatorSet: ValidatorSetView = { epoch: 0, startHeight: 1, validators: [] };
  epochList: EpochView[] = [{ epoch: 0, startHeight: 1, members: [0, 1, 2, 3] }];
  configDoc: Record<string, unknown> = { type: "quire-node-config", version: 1, keyFile: "/tmp/node2/validator.key" };
  /** Null: the node runs no consensus (as a para node). */
  consensusView: ConsensusView | null = null;

  constructor(opts: FakeNodeOptions = {}) {
    this.capacity = opts.capacity ?? 1000;
    this.mode = opts.mode ?? "sync";
    const zero = new Uint8Array(32);
    const header: BlockHeader = { parent: zero, view: 0, height: 0, proposer: 0, timestampMs: 0, txRoot: merkleRoot([]), parentStateRoot: zero, parentResults: new Uint8Array(0), parentSigners: new Uint8Array(0) };
    this.blocks.push({ info: { hash: sha256(new Uint8Array([0x67])), header, txCount: 0, qc: null }, txs: [], results: encodeBitmapIndices(0, new Uint32Array(0)) });
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  get height(): number {
    return this.blocks.length - 1;
  }

  /** Commits the pending transactions (in arrival order) plus `extra`, as one block; `failed` marks results. */
  commit(opts: { extra?: Uint8Array[]; failed?: number[]; notify?: boolean } = {}): BlockSummary {
    const txs = [...this.pool.values(), ...(opts.extra ?? [])];
    this.pool.clear();
    const parent = this.blocks[this.blocks.length - 1]!.info;
    const height = parent.header.height + 1;
    const view = this.view++;
    const header: BlockHeader = {
      parent: parent.hash,
      view,
      height,
      proposer: view % 4,
      timestampMs: 1_700_000_000_000 + height,
      txRoot: merkleRoot(txs),
      parentStateRoot: sha256(new Uint8Array([1, height & 255])),
      // As on a real chain: the parent's own result bitmap.
      parentResults: this.blocks[this.blocks.length - 1]!.results,
      parentSigners: new Uint8Array(0),
    };
    const hash = sha256(new Uint8Array([...header.parent, ...header.txRoot, height & 255, (height >> 8) & 255]));
    const aggregateSignature = new Uint8Array(96).map((_, i) => (i * 7 + height) & 255);
    const info: BlockSummary = { hash, header, txCount: txs.length, qc: { view, blockHash: hash, signers: new Uint8Array([0x01, 0x0e]), aggregateSignature } };
    const failed = new Set(opts.failed ?? []);
    this.blocks.push({ info, txs, results: encodeBitmapIndices(txs.length, Uint32Array.from([...failed].sort((a, b) => a - b))) });
    txs.forEach((tx, index) => this.where.set(toHex(sha256(tx)), { height, index, ok: !failed.has(index) }));
    if (opts.notify !== false) for (const l of this.listeners) l(info);
    return info;
  }

  /** Calls the committed-block listeners with `info` directly (no chain change): for stream tests. */
  emit(info: BlockSummary): void {
    for (const l of this.listeners) l(info);
  }

  /** Sets a committed KV entry. */
  setKv(key: Uint8Array, value: Uint8Array): void {
    this.kvStore.set(toHex(key), value);
  }

  /** Marks a committed transaction's execution result as not yet known. */
  setUnexecuted(id: Uint8Array): void {
    const w = this.where.get(toHex(id));
    if (w !== undefined) w.ok = null;
  }

  txsOf(height: number): Uint8Array[] {
    return this.blocks[height]!.txs;
  }

  submitTx(tx: Uint8Array, clientId: string): Awaitable<SubmitResult> {
    return this.answer("submitTx", () => {
      // Keep a copy: the server's buffer is its own, but a test must see exactly what arrived.
      this.submissions.push({ tx: tx.slice(), clientId });
      // Code and reason arrive separately, as the mempool reports them; the client sees "<code>: <reason>".
      if (tx[0] === INVALID_TX_PREFIX) return { kind: "invalid", code: "BAD_OP", reason: "fake app: opcode 0xff is refused" };
      const id = sha256(tx);
      const key = toHex(id);
      if (this.pool.has(key) || this.where.has(key)) return { kind: "duplicate", id };
      if (this.pool.size >= this.capacity) return { kind: "full", retryAfterSec: this.retryAfterSec };
      this.pool.set(key, tx.slice());
      return { kind: "accepted", id };
    });
  }

  txStatus(id: Uint8Array): Awaitable<TxStatus | null> {
    return this.answer("txStatus", () => {
      const key = toHex(id);
      if (this.pool.has(key)) return { status: "pending" };
      const w = this.where.get(key);
      return w === undefined ? null : { status: "committed", ...w };
    });
  }

  block(height: number | "latest"): Awaitable<BlockSummary | null> {
    return this.answer("block", () => (height === "latest" ? this.blocks[this.blocks.length - 1]!.info : (this.blocks[height]?.info ?? null)));
  }

  blockTxIds(height: number): Awaitable<Uint8Array | null> {
    return this.answer("blockTxIds", () => {
      const b = this.blocks[height];
      if (b === undefined) return null;
      const out = new Uint8Array(32 * b.txs.length);
      b.txs.forEach((tx, i) => out.set(sha256(tx), 32 * i));
      return out;
    });
  }

  blockBody(height: number): Awaitable<BlockBody | null> {
    return this.answer("blockBody", () => {
      const b = this.blocks[height];
      return b === undefined ? null : { results: b.results, txs: b.txs };
    });
  }

  proof(height: number, index: number): Awaitable<ProofResult> {
    return this.answer("proof", (): ProofResult => {
      const b = this.blocks[height];
      if (b === undefined) return { kind: "noBlock" };
      if (index >= b.txs.length) return { kind: "noTx", txCount: b.txs.length };
      return { kind: "ok", proof: merkleProof(b.txs, index) };
    });
  }

  kv(key: Uint8Array): Awaitable<Uint8Array | null> {
    return this.answer("kv", () => this.kvStore.get(toHex(key)) ?? null);
  }

  paraStatus(title: string): Awaitable<ParaStatus | null> {
    return this.answer("paraStatus", () => this.paraStatuses.get(title) ?? null);
  }

  paraCommit(title: string, height: number): Awaitable<DoneCommit | null> {
    return this.answer("paraCommit", () => this.paraCommits.get(`${title}/${height}`) ?? null);
  }

  account(publicKey: Uint8Array): Awaitable<AccountView | null> {
    return this.answer("account", () => {
      if (this.accounts === null) return null;
      const a = this.accounts.get(toHex(publicKey)) ?? { balance: 0, nonce: 0 };
      return { publicKey, balance: a.balance, nonce: a.nonce };
    });
  }

  supply(): Awaitable<SupplyView | null> {
    return this.answer("supply", () => {
      if (this.accounts === null) return null;
      let supply = 0;
      for (const a of this.accounts.values()) supply += a.balance;
      return { supply, escrows: new Map(this.escrows) };
    });
  }

  status(): Awaitable<NodeStatus> {
    return this.answer("status", () => ({
      chainId: "quire-test",
      nodeIndex: 2,
      committedHeight: this.height,
      view: this.view,
      leader: this.view % 4,
      peersConnected: this.peersConnected,
      mempoolSize: this.pool.size,
    }));
  }

  genesisDocument(): Awaitable<string> {
    return this.answer("genesisDocument", () => this.genesisText);
  }

  evidence(): Awaitable<EvidenceReport> {
    return this.answer("evidence", () => this.evidenceReport);
  }

  health(): Awaitable<NodeHealth> {
    return this.answer("health", () => this.healthState);
  }

  peers(): Awaitable<readonly PeerView[]> {
    return this.answer("peers", () => this.peerViews);
  }

  validators(): Awaitable<ValidatorSetView> {
    return this.answer("validators", () => this.validatorSet);
  }

  epochs(): Awaitable<readonly EpochView[]> {
    return this.answer("epochs", () => this.epochList);
  }

  effectiveConfig(): Awaitable<Readonly<Record<string, unknown>>> {
    return this.answer("effectiveConfig", () => this.configDoc);
  }

  consensus(): Awaitable<ConsensusView | null> {
    return this.answer("consensus", () => this.consensusView);
  }

  onCommittedHeader(listener: CommittedBlockListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Registers the fake node's own series (`quire_fake_up 1`) as QuireNode registers its own: read at scrape time,
   * through the same switches as every method, so throwOn/mode/hang reach `GET /metrics` too.
   */
  registerMetrics(registry: Registry): void {
    const answer = <T>(fn: () => T) => this.answer("metrics", fn);
    new Gauge({
      name: "quire_fake_up",
      help: "The fake node is up.",
      registers: [registry],
      collect(this: Gauge) {
        return answer(() => this.set(1));
      },
    });
  }

  private answer<T>(method: FakeMethod, fn: () => T): Awaitable<T> {
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
    if (this.hang) return new Promise<T>(() => {});
    const run = (): T => {
      if (this.throwOn.has(method)) throw new Error(`fake ${method} failure`);
      return fn();
    };
    if (this.mode === "sync") return run();
    return new Promise<T>((resolve, reject) =>
      setImmediate(() => {
        try {
          resolve(run());
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      }),
    );
  }
}
