/**
 * The mempool: transactions accepted from clients (and from peers' gossip) waiting for a block.
 *
 * - Dedup by tx id (SHA-256 of the tx): a tx already pending, or already committed (`isCommitted`), is answered
 *   `duplicate`.
 * - Bounded by count and bytes, overall and per client. A full pool answers `full` with a retry-after hint and never
 *   evicts: an accepted tx stays until it is committed (`removeCommitted`). Quotas, in the order they are checked:
 *   1. hard per-client cap (default half the pool, count and bytes);
 *   2. headroom for new clients: once the pool is `headroomAt` full (default 75 %, by count or by bytes), a client
 *      already holding `smallClientTxs` (default maxTxs / 64, 312 of 20,000) or `smallClientBytes` (maxBytes / 64)
 *      is refused, while a client holding less still gets in up to the whole pool. So however many sources flood
 *      the pool, the last quarter stays open to clients with little pending: with the defaults a flooding source
 *      fills the pool to 75 %, and after that the remaining 5,000 slots serve at least 16 light clients' worth of
 *      312 txs each. 75 % because the pool must still absorb an honest burst (10,000 txs of the load test spread
 *      over four nodes fill about half of each pool) without refusing it; 1/64 because a light client (a wallet,
 *      a person) rarely has more than a few hundred txs pending, and 312 txs drain in one block;
 *   3. the pool's own bounds (count and bytes).
 * - Relayed txs count against their origin. A tx a peer gossips carries the id of the client that submitted it to
 *   that peer (TxBatch.origins). It is accounted under the pair (relaying peer, origin) — not under the origin alone,
 *   or a Byzantine relayer could claim an honest client's id and use up that client's quota here — and each relaying
 *   peer's total is capped as well (`maxTxsPerRelay`, default a quarter of the pool, and `maxBytesPerRelay`), so a
 *   relayer that invents origins gets no more than that quarter. The pair keys obey the same quotas as direct
 *   clients (the headroom rule included), so one flooding client who submits to every node ends up with one direct
 *   and n - 1 relayed keys per node, each refused past the headroom line.
 * - Fair reaping: `reap` takes one tx per client in turn (each client's txs in arrival order), and each call starts
 *   one client further along, so a client with 10,000 pending txs cannot starve one with 10.
 * - Gossip: txs added with `gossip: true` (the default, i.e. from the node's own clients) queue for
 *   `takeNewForGossip`; txs received from peers are added with `gossip: false` and are not relayed again (every
 *   validator gossips its own clients' txs to all peers, so one hop reaches everyone).
 * - No re-check after a commit: `check` is stateless (the application contract), so a tx valid at submission stays
 *   valid; execution-time failures (e.g. a delete of a missing key) are decided in the block, not here.
 *
 * All methods are synchronous and O(1) per tx, except `reap` (O(txs returned + clients)).
 */
import type { Hasher } from "../crypto/hasher.js";
import { defaultHasher } from "../crypto/hash/backends.js";
import { MAX_TX_BYTES } from "../domain/limits.js";
import type { Hash } from "../domain/types.js";
import { QuireError } from "../util/errors.js";
import type { CheckResult } from "./app/interface.js";
import { bytesKey } from "../util/bytes.js";

export interface MempoolOptions {
  /** Most pending txs. Default 20,000 (two seconds of the 10,000-tx target load with headroom). */
  readonly maxTxs?: number;
  /** Most pending bytes. Default 64 MiB. */
  readonly maxBytes?: number;
  /** Most pending txs of one client. Default: half of maxTxs. */
  readonly maxTxsPerClient?: number;
  /** Most pending bytes of one client. Default: half of maxBytes. */
  readonly maxBytesPerClient?: number;
  /** Pool occupancy (fraction of maxTxs or of maxBytes) from which heavy clients are refused. Default 0.75. */
  readonly headroomAt?: number;
  /** Past `headroomAt`, a client holding this many txs is refused. Default max(1, maxTxs / 64). */
  readonly smallClientTxs?: number;
  /** Past `headroomAt`, a client holding this many bytes is refused. Default max(1, maxBytes / 64). */
  readonly smallClientBytes?: number;
  /** Most pending txs relayed by one peer (all origins together). Default max(1, maxTxs / 4). */
  readonly maxTxsPerRelay?: number;
  /** Most pending bytes relayed by one peer. Default max(1, maxBytes / 4). */
  readonly maxBytesPerRelay?: number;
  /** Largest accepted tx. Default and upper bound: MAX_TX_BYTES (the wire limit). */
  readonly maxTxBytes?: number;
  /** Retry-after hint when no drain rate is known yet (ms). Default 1,000. */
  readonly defaultRetryAfterMs?: number;
  /** Bounds of the retry-after hint (ms). Default 100 .. 30,000. */
  readonly minRetryAfterMs?: number;
  readonly maxRetryAfterMs?: number;
}

export interface MempoolModules {
  /** Stateless validation (the application's `check`). Default: every tx is valid. */
  readonly check?: (tx: Uint8Array) => CheckResult;
  /** Whether a tx id is already committed (the store's tx index). Default: never. */
  readonly isCommitted?: (id: Hash) => boolean;
  /** SHA-256 for tx ids; default: the WASM core. */
  readonly hasher?: Hasher;
  /** A millisecond clock for the drain-rate estimate behind retry-after hints; without it the hint is the default. */
  readonly now?: () => number;
}

export interface AddOptions {
  /** Queue the tx for `takeNewForGossip` (default true; false for txs that came from a peer). */
  readonly gossip?: boolean;
  /**
   * The peer that relayed the tx (e.g. "peer:2"), for gossip: the tx is accounted under (relay, client) and against
   * the relay's cap. Absent for the node's own clients.
   */
  readonly relay?: string;
  /**
   * The node made this tx from what it verified itself (the equivocation evidence its validation recorded): the
   * application's admission check — and its budget, which a flood of forged submissions may have spent — is skipped.
   * Never for txs from clients or peers.
   */
  readonly verified?: boolean;
}

/** A tx handed to gossip, with the client that submitted it (carried to the peers, see AddOptions.relay). */
export interface GossipItem {
  readonly tx: Uint8Array;
  readonly origin: string;
}

/** What `add` did with a tx. */
export type AddResult =
  | { readonly kind: "accepted"; readonly id: Hash }
  /** Already pending, or already committed (`committed: true`): nothing to do, the tx is not lost. */
  | { readonly kind: "duplicate"; readonly id: Hash; readonly committed: boolean }
  /**
   * No room (the whole pool, or this client's quota), or the application's check is at its admission budget
   * (`check`): try again after `retryAfterMs` (HTTP 503 + Retry-After).
   */
  | { readonly kind: "full"; readonly id: Hash; readonly scope: "pool" | "client" | "check"; readonly retryAfterMs: number; readonly reason?: string }
  /** The tx can never be accepted (HTTP 400): too large, empty, or refused by the application's check. */
  | { readonly kind: "invalid"; readonly id: Hash; readonly code: string; readonly reason: string };

export interface MempoolMetrics {
  readonly size: number;
  readonly bytes: number;
  /** Clients with at least one pending tx. */
  readonly clients: number;
  readonly accepted: number;
  /**
   * Rejections by reason: duplicate, full (pool; client: hard per-client cap; headroom: heavy client past the
   * headroom line; relay: the relaying peer's cap; checkBusy: the application's check at its admission budget),
   * invalid (all codes).
   */
  readonly rejected: {
    readonly duplicate: number;
    readonly fullPool: number;
    readonly fullClient: number;
    readonly fullHeadroom: number;
    readonly fullRelay: number;
    readonly checkBusy: number;
    readonly invalid: number;
  };
  /** Invalid rejections by code (TOO_LARGE, EMPTY and the application's codes). */
  readonly invalidByCode: Readonly<Record<string, number>>;
  /** Txs handed to proposers (a tx reaped twice counts twice). */
  readonly reaped: number;
  /** Txs removed because they were committed. */
  readonly committed: number;
  /** Estimated drain rate (committed txs per second), or null before the first measurement. */
  readonly drainPerSecond: number | null;
}

/** Bad mempool configuration. */
export class MempoolError extends QuireError<"BAD_OPTION"> {}

interface Entry {
  readonly id: Hash;
  readonly key: string;
  readonly tx: Uint8Array;
  readonly client: ClientQueue;
  /** The submitting client's id as gossip carries it (the queue id without the relay). */
  readonly origin: string;
  prev: Entry | null;
  next: Entry | null;
  /** False once committed (entries may still sit in the gossip queue). */
  live: boolean;
}

/** One client's pending txs in arrival order (doubly linked: committed txs leave from anywhere in O(1)). */
interface ClientQueue {
  readonly id: string;
  /** The relaying peer's totals, for relayed clients. */
  readonly relay: Usage | null;
  first: Entry | null;
  last: Entry | null;
  count: number;
  bytes: number;
}

interface Usage {
  count: number;
  bytes: number;
}

/** Weight of the newest sample in the drain-rate average. */
const DRAIN_EWMA_ALPHA = 0.3;

export class Mempool {
  readonly maxTxs: number;
  readonly maxBytes: number;
  readonly maxTxsPerClient: number;
  readonly maxBytesPerClient: number;
  readonly maxTxBytes: number;
  readonly headroomAt: number;
  readonly smallClientTxs: number;
  readonly smallClientBytes: number;
  readonly maxTxsPerRelay: number;
  readonly maxBytesPerRelay: number;
  private readonly defaultRetryAfterMs: number;
  private readonly minRetryAfterMs: number;
  private readonly maxRetryAfterMs: number;

  private readonly check: (tx: Uint8Array) => CheckResult;
  private readonly isCommitted: (id: Hash) => boolean;
  private readonly hasher: Hasher;
  private readonly now: (() => number) | undefined;

  private readonly entries = new Map<string, Entry>();
  /** Clients with pending txs, in first-arrival order (the round-robin ring). */
  private readonly clients = new Map<string, ClientQueue>();
  /** Pending totals per relaying peer (entries leave when they reach zero). */
  private readonly relays = new Map<string, Usage>();
  private totalBytes = 0;
  private rrCursor = 0;
  private gossipQueue: Entry[] = [];
  private gossipHead = 0;

  private accepted = 0;
  private readonly rejected = { duplicate: 0, fullPool: 0, fullClient: 0, fullHeadroom: 0, fullRelay: 0, checkBusy: 0, invalid: 0 };
  private readonly invalidByCode: Record<string, number> = {};
  private reaped = 0;
  private committed = 0;
  private drainRate: number | null = null;
  private lastDrainAt: number | null = null;

  constructor(opts: MempoolOptions = {}, modules: MempoolModules = {}) {
    this.maxTxs = positive(opts.maxTxs ?? 20_000, "maxTxs");
    this.maxBytes = positive(opts.maxBytes ?? 64 * 1024 * 1024, "maxBytes");
    this.maxTxsPerClient = positive(opts.maxTxsPerClient ?? Math.max(1, Math.floor(this.maxTxs / 2)), "maxTxsPerClient");
    this.maxBytesPerClient = positive(opts.maxBytesPerClient ?? Math.max(1, Math.floor(this.maxBytes / 2)), "maxBytesPerClient");
    this.maxTxBytes = positive(opts.maxTxBytes ?? MAX_TX_BYTES, "maxTxBytes");
    this.headroomAt = opts.headroomAt ?? 0.75;
    if (!(this.headroomAt > 0 && this.headroomAt <= 1)) throw new MempoolError("BAD_OPTION", `headroomAt must be in (0, 1], got ${this.headroomAt}`);
    this.smallClientTxs = positive(opts.smallClientTxs ?? Math.max(1, Math.floor(this.maxTxs / 64)), "smallClientTxs");
    this.smallClientBytes = positive(opts.smallClientBytes ?? Math.max(1, Math.floor(this.maxBytes / 64)), "smallClientBytes");
    this.maxTxsPerRelay = positive(opts.maxTxsPerRelay ?? Math.max(1, Math.floor(this.maxTxs / 4)), "maxTxsPerRelay");
    this.maxBytesPerRelay = positive(opts.maxBytesPerRelay ?? Math.max(1, Math.floor(this.maxBytes / 4)), "maxBytesPerRelay");
    if (this.maxTxBytes > MAX_TX_BYTES) throw new MempoolError("BAD_OPTION", `maxTxBytes ${this.maxTxBytes} exceeds the wire limit ${MAX_TX_BYTES}`);
    this.minRetryAfterMs = positive(opts.minRetryAfterMs ?? 100, "minRetryAfterMs");
    this.maxRetryAfterMs = positive(opts.maxRetryAfterMs ?? 30_000, "maxRetryAfterMs");
    this.defaultRetryAfterMs = positive(opts.defaultRetryAfterMs ?? 1_000, "defaultRetryAfterMs");
    if (this.minRetryAfterMs > this.maxRetryAfterMs) throw new MempoolError("BAD_OPTION", "minRetryAfterMs exceeds maxRetryAfterMs");
    this.check = modules.check ?? (() => ({ ok: true }));
    this.isCommitted = modules.isCommitted ?? (() => false);
    this.hasher = modules.hasher ?? defaultHasher();
    this.now = modules.now;
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** The id of a tx (SHA-256), as `add` computes it. */
  txId(tx: Uint8Array): Hash {
    return this.hasher.digest(tx);
  }

  /** Whether a tx with this id is pending. */
  has(id: Hash): boolean {
    return this.entries.has(bytesKey(id));
  }

  /**
   * Offers a tx from `clientId` (an RPC client address; for gossip the origin the batch names, with `opts.relay` the
   * peer that sent it).
   */
  add(tx: Uint8Array, clientId: string, opts: AddOptions = {}): AddResult {
    const id = this.hasher.digest(tx);
    if (tx.length === 0) return this.invalid(id, "EMPTY", "the tx is empty");
    if (tx.length > this.maxTxBytes) return this.invalid(id, "TOO_LARGE", `the tx is ${tx.length} bytes, the limit is ${this.maxTxBytes}`);
    const key = bytesKey(id);
    if (this.entries.has(key)) {
      this.rejected.duplicate++;
      return { kind: "duplicate", id, committed: false };
    }
    if (this.isCommitted(id)) {
      this.rejected.duplicate++;
      return { kind: "duplicate", id, committed: true };
    }
    const checked = opts.verified === true ? ({ ok: true } as const) : this.check(tx);
    if (!checked.ok) {
      if (checked.retryAfterMs === undefined) return this.invalid(id, checked.code, checked.reason);
      this.rejected.checkBusy++;
      return { kind: "full", id, scope: "check", retryAfterMs: Math.max(1, checked.retryAfterMs), reason: `${checked.code}: ${checked.reason}` };
    }
    const queueId = opts.relay === undefined ? clientId : `${opts.relay}|${clientId}`;
    const client = this.clients.get(queueId);
    const clientCount = client?.count ?? 0;
    const clientBytes = client?.bytes ?? 0;
    // A client's txs drain at about 1/clients of the pool's rate under round-robin reaping.
    const share = Math.max(1, this.clients.size);
    if (clientCount + 1 > this.maxTxsPerClient || clientBytes + tx.length > this.maxBytesPerClient) {
      this.rejected.fullClient++;
      const need = Math.max(clientCount + 1 - this.maxTxsPerClient, this.txsToFree(clientBytes + tx.length - this.maxBytesPerClient));
      return { kind: "full", id, scope: "client", retryAfterMs: this.retryAfter(need, share) };
    }
    if (
      (clientCount >= this.smallClientTxs || clientBytes >= this.smallClientBytes) &&
      (this.entries.size + 1 > this.headroomAt * this.maxTxs || this.totalBytes + tx.length > this.headroomAt * this.maxBytes)
    ) {
      // Heavy client past the headroom line: the rest of the pool is kept for clients with little pending.
      this.rejected.fullHeadroom++;
      const need = Math.max(1, clientCount + 1 - this.smallClientTxs);
      return { kind: "full", id, scope: "client", retryAfterMs: this.retryAfter(need, share) };
    }
    let relay: Usage | null = null;
    if (opts.relay !== undefined) {
      relay = this.relays.get(opts.relay) ?? { count: 0, bytes: 0 };
      if (relay.count + 1 > this.maxTxsPerRelay || relay.bytes + tx.length > this.maxBytesPerRelay) {
        this.rejected.fullRelay++;
        return { kind: "full", id, scope: "client", retryAfterMs: this.retryAfter(relay.count + 1 - this.maxTxsPerRelay, 1) };
      }
    }
    if (this.entries.size + 1 > this.maxTxs || this.totalBytes + tx.length > this.maxBytes) {
      this.rejected.fullPool++;
      const need = Math.max(this.entries.size + 1 - this.maxTxs, this.txsToFree(this.totalBytes + tx.length - this.maxBytes));
      return { kind: "full", id, scope: "pool", retryAfterMs: this.retryAfter(need, 1) };
    }
    let q = client;
    if (q === undefined) {
      q = { id: queueId, relay, first: null, last: null, count: 0, bytes: 0 };
      this.clients.set(queueId, q);
    }
    if (relay !== null) {
      if (relay.count === 0) this.relays.set(opts.relay!, relay);
      relay.count++;
      relay.bytes += tx.length;
    }
    const e: Entry = { id, key, tx, client: q, origin: clientId, prev: q.last, next: null, live: true };
    if (q.last === null) q.first = e;
    else q.last.next = e;
    q.last = e;
    q.count++;
    q.bytes += tx.length;
    this.entries.set(key, e);
    this.totalBytes += tx.length;
    this.accepted++;
    if (opts.gossip ?? true) this.gossipQueue.push(e);
    return { kind: "accepted", id };
  }

  /**
   * Up to `maxTxs` txs and `maxBytes` bytes for a proposal, round-robin over clients (one tx per client per round,
   * each client's in arrival order). Txs whose id is in `exclude` (bytesKey strings, e.g. Executor.txIdsInBranch:
   * txs already in the uncommitted blocks the proposal extends) are skipped. Reaped txs stay pending until
   * `removeCommitted`, so a proposal that never commits loses nothing.
   */
  reap(maxTxs: number, maxBytes: number, exclude?: ReadonlySet<string>): Uint8Array[] {
    const out: Uint8Array[] = [];
    const ring = [...this.clients.values()];
    if (ring.length === 0 || maxTxs <= 0 || maxBytes <= 0) return out;
    const start = this.rrCursor % ring.length;
    this.rrCursor = (start + 1) % ring.length;
    // Per client: the next entry to consider, or null once the client is done for this reap.
    const cursors: (Entry | null)[] = [];
    for (let i = 0; i < ring.length; i++) cursors.push(ring[(start + i) % ring.length]!.first);
    let bytes = 0;
    let active = ring.length;
    while (active > 0 && out.length < maxTxs) {
      active = 0;
      for (let i = 0; i < cursors.length && out.length < maxTxs; i++) {
        let e = cursors[i] ?? null;
        while (e !== null && exclude?.has(e.key) === true) e = e.next;
        if (e === null) {
          cursors[i] = null;
          continue;
        }
        if (bytes + e.tx.length > maxBytes) {
          // Keep the client's order: it gets no later, smaller tx in this block either.
          cursors[i] = null;
          continue;
        }
        out.push(e.tx);
        bytes += e.tx.length;
        cursors[i] = e.next;
        active++;
      }
    }
    this.reaped += out.length;
    return out;
  }

  /** Removes committed txs (ids not pending are ignored); returns how many were removed. */
  removeCommitted(ids: Iterable<Hash>): number {
    let n = 0;
    for (const id of ids) {
      const e = this.entries.get(bytesKey(id));
      if (e === undefined) continue;
      this.unlink(e);
      n++;
    }
    this.committed += n;
    if (n > 0) this.sampleDrain(n);
    return n;
  }

  /**
   * Newly accepted client txs not yet handed to gossip, oldest first, up to `maxTxs` and `maxBytes` (at least one tx
   * if any is waiting, whatever its size), each with its origin client. Each tx is returned once.
   */
  takeNewForGossip(maxTxs: number, maxBytes: number): GossipItem[] {
    const out: GossipItem[] = [];
    let bytes = 0;
    const q = this.gossipQueue;
    while (this.gossipHead < q.length && out.length < maxTxs) {
      const e = q[this.gossipHead]!;
      if (e.live) {
        if (out.length > 0 && bytes + e.tx.length > maxBytes) break;
        out.push({ tx: e.tx, origin: e.origin });
        bytes += e.tx.length;
      }
      this.gossipHead++;
    }
    // Compact once the consumed prefix dominates, so the queue stays proportional to what is waiting.
    if (this.gossipHead > 1024 && this.gossipHead * 2 > q.length) {
      this.gossipQueue = q.slice(this.gossipHead);
      this.gossipHead = 0;
    }
    return out;
  }

  /** Number of txs waiting for gossip (an upper bound: committed ones are skipped lazily). */
  get gossipBacklog(): number {
    return this.gossipQueue.length - this.gossipHead;
  }

  metrics(): MempoolMetrics {
    return {
      size: this.entries.size,
      bytes: this.totalBytes,
      clients: this.clients.size,
      accepted: this.accepted,
      rejected: { ...this.rejected },
      invalidByCode: { ...this.invalidByCode },
      reaped: this.reaped,
      committed: this.committed,
      drainPerSecond: this.drainRate,
    };
  }

  // ---------------------------------------------------------------------------------------------------------------

  private invalid(id: Hash, code: string, reason: string): AddResult {
    this.rejected.invalid++;
    this.invalidByCode[code] = (this.invalidByCode[code] ?? 0) + 1;
    return { kind: "invalid", id, code, reason };
  }

  private unlink(e: Entry): void {
    const q = e.client;
    if (e.prev === null) q.first = e.next;
    else e.prev.next = e.next;
    if (e.next === null) q.last = e.prev;
    else e.next.prev = e.prev;
    e.prev = e.next = null;
    e.live = false;
    q.count--;
    q.bytes -= e.tx.length;
    if (q.count === 0) this.clients.delete(q.id);
    const r = q.relay;
    if (r !== null) {
      r.count--;
      r.bytes -= e.tx.length;
      if (r.count === 0) this.relays.delete(q.id.slice(0, q.id.indexOf("|")));
    }
    this.entries.delete(e.key);
    this.totalBytes -= e.tx.length;
  }

  /** How many average-sized txs must leave to free `bytes` bytes. */
  private txsToFree(bytes: number): number {
    if (bytes <= 0) return 0;
    const avg = this.entries.size === 0 ? bytes : this.totalBytes / this.entries.size;
    return Math.ceil(bytes / Math.max(1, avg));
  }

  /** Time until `need` txs have drained at the measured rate divided by `share`, clamped; the default without a rate. */
  private retryAfter(need: number, share: number): number {
    if (this.drainRate === null || this.drainRate <= 0) return this.defaultRetryAfterMs;
    const ms = (Math.max(1, need) * share * 1000) / this.drainRate;
    return Math.min(this.maxRetryAfterMs, Math.max(this.minRetryAfterMs, Math.ceil(ms)));
  }

  private sampleDrain(n: number): void {
    if (this.now === undefined) return;
    const t = this.now();
    const last = this.lastDrainAt;
    this.lastDrainAt = t;
    if (last === null || t <= last) return;
    const rate = (n * 1000) / (t - last);
    this.drainRate = this.drainRate === null ? rate : DRAIN_EWMA_ALPHA * rate + (1 - DRAIN_EWMA_ALPHA) * this.drainRate;
  }
}

function positive(v: number, name: string): number {
  if (!Number.isSafeInteger(v) || v <= 0) throw new MempoolError("BAD_OPTION", `${name} must be a positive integer, got ${v}`);
  return v;
}
