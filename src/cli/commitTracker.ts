/**
 * Follows a load run's txs into the chain, from the nodes' point of view:
 *
 *  - live: node 0's block stream (`/v1/stream`) gives each block's commit time as this process sees it; its tx ids
 *    (`GET /v1/blocks/:height/txids`, fetched in height order, gaps filled) are looked up in the generator's id
 *    table. A tx's end-to-end latency is commit time − its due time (its slot in the open-loop schedule), so it
 *    includes any wait in the generator, the request, the mempool, consensus and execution.
 *  - at the end (`checkNodes`): every node's committed blocks since the run started are read the same way, and
 *    every tx a node acknowledged (202, or 200 duplicate) must be among the ids of every node's blocks. One missing
 *    is reported as lost. The ids are computed by the generator as SHA-256 of the bytes it sent (node:crypto), the
 *    node's are SHA-256 of the committed bytes (chain/executor.ts txIds), so a tx changed or dropped on the way shows.
 */
import { RpcClient } from "../rpc/client.js";
import { subscribeBlocks } from "../rpc/streamClient.js";
import type { BlockSubscription } from "../rpc/streamClient.js";
import { toHex } from "../util/bytes.js";
import { GrowableBytes, LatencyHistogram, TxIdIndex } from "./txIdIndex.js";

/** What the tracker reads of a load generator. */
export interface TrackedLoad {
  readonly ids: TxIdIndex;
  readonly acked: GrowableBytes;
  /** Indices below this were sent (or shed). */
  readonly indexLimit: number;
  dueAt(index: number): number;
  /** The id of tx `index` (SHA-256 of its bytes). */
  idOf(index: number): Uint8Array;
}

export interface CommitTrackerOptions {
  readonly urls: readonly string[];
  /** The committed height before the run: blocks above it are the run's. */
  readonly startHeight: number;
  /** Txs with an index at or above this count in the `window` histogram (after the warm-up); default 0. */
  readonly windowFromIndex?: number;
  /** Parallel txids requests per node during the final check. */
  readonly checkConcurrency?: number;
}

/** One node's part of the final check. */
export interface NodeCheck {
  readonly url: string;
  /** Highest committed height read. */
  readonly height: number;
  /** Txs of the run found in its blocks. */
  readonly committed: number;
  /** Acknowledged txs missing from its blocks. */
  readonly lost: number;
  /** Up to 5 lost tx ids (hex) and indices, for the report. */
  readonly lostSamples: readonly { readonly index: number; readonly id: string }[];
}

/** Marks the run's txs among `ids` (packed 32-byte tx ids) in `marks`; returns how many were new. */
export function markCommitted(ids: Uint8Array, index: TxIdIndex, marks: GrowableBytes): number {
  let found = 0;
  for (let off = 0; off + 32 <= ids.length; off += 32) {
    const i = index.get(ids, off);
    if (i >= 0 && marks.get(i) === 0) {
      marks.set(i, 1);
      found++;
    }
  }
  return found;
}

/** Indices below `limit` acknowledged (`acked`) but not in `marks`. */
export function findLost(acked: GrowableBytes, marks: GrowableBytes, limit: number): number[] {
  const lost: number[] = [];
  for (let i = 0; i < limit; i++) if (acked.get(i) === 1 && marks.get(i) === 0) lost.push(i);
  return lost;
}

export class CommitTracker {
  /** Latency of every committed tx of the run. */
  readonly all = new LatencyHistogram();
  /** Latency of the committed txs at or after `windowFromIndex`. */
  readonly window = new LatencyHistogram();
  /** Txs of the run seen committed on node 0, and how many of them were acknowledged. */
  committed = 0;
  committedAcked = 0;
  /** (commit time, txs of the run in the block) per block of node 0, in order. */
  readonly commits: { readonly at: number; readonly txs: number }[] = [];
  /** Commit time of the last block holding txs of the run (performance.now() ms; 0 before any). */
  lastCommitAt = 0;
  /** The first failure of the live follower (stream or txids), if any. */
  error: string | null = null;
  private readonly marks0 = new GrowableBytes();
  private readonly client0: RpcClient;
  private sub: BlockSubscription | undefined;
  private lastHeight: number;
  private queue: { height: number; at: number }[] = [];
  private working = false;
  private lastNewAt = performance.now();

  constructor(
    private readonly o: CommitTrackerOptions,
    private readonly load: TrackedLoad,
  ) {
    this.client0 = new RpcClient({ url: o.urls[0]!, timeoutMs: 30_000, rateLimitRetries: 100_000 });
    this.lastHeight = o.startHeight;
  }

  /** Subscribes to node 0's stream; resolves once it is open (rejects when it cannot be opened). */
  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      let open = false;
      this.sub = subscribeBlocks(this.o.urls[0]!, {
        onOpen: () => {
          open = true;
          resolve();
        },
        onBlock: (b) => {
          this.queue.push({ height: b.header.height, at: performance.now() });
          void this.work();
        },
        onError: (e) => {
          this.error ??= `stream of ${this.o.urls[0]}: ${e.message}`;
          if (!open) reject(new Error(this.error));
        },
        onClose: (code) => {
          if (!open) reject(new Error(`stream of ${this.o.urls[0]} closed (${code}) before it opened`));
        },
      });
    });
  }

  stop(): void {
    this.sub?.close();
  }

  /**
   * Waits until every acknowledged tx is committed on node 0, or no tx of the run committed for `idleMs`, or
   * `maxMs` passed. Returns whether everything acknowledged was seen committed.
   */
  async drain(acknowledged: () => number, idleMs: number, maxMs: number): Promise<boolean> {
    const deadline = performance.now() + maxMs;
    this.lastNewAt = Math.max(this.lastNewAt, performance.now());
    for (;;) {
      if (this.committedAcked >= acknowledged()) return true;
      const now = performance.now();
      if (now - this.lastNewAt > idleMs || now > deadline) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async work(): Promise<void> {
    if (this.working) return;
    this.working = true;
    try {
      while (this.queue.length > 0) {
        const { height, at } = this.queue.shift()!;
        // A gap (a frame the stream never sent) is filled from the RPC, stamped with this block's time.
        for (let h = this.lastHeight + 1; h <= height; h++) {
          const ids = await this.client0.blockTxIds(h);
          if (ids === null) throw new Error(`node 0 streamed height ${height} but has no block ${h}`);
          this.record(ids, at);
        }
        this.lastHeight = Math.max(this.lastHeight, height);
      }
    } catch (e) {
      this.error ??= `txids of ${this.o.urls[0]}: ${e instanceof Error ? e.message : String(e)}`;
    } finally {
      this.working = false;
    }
  }

  private record(ids: Uint8Array, at: number): void {
    const from = this.o.windowFromIndex ?? 0;
    let found = 0;
    for (let off = 0; off + 32 <= ids.length; off += 32) {
      const i = this.load.ids.get(ids, off);
      if (i < 0 || this.marks0.get(i) !== 0) continue;
      this.marks0.set(i, 1);
      found++;
      if (this.load.acked.get(i) === 1) this.committedAcked++;
      const ms = at - this.load.dueAt(i);
      this.all.add(ms);
      if (i >= from) this.window.add(ms);
    }
    if (found > 0) {
      this.committed += found;
      this.lastNewAt = performance.now();
      this.lastCommitAt = at;
    }
    this.commits.push({ at, txs: found });
  }

  /** Txs of the run committed (on node 0) with a commit time in [from, to) (performance.now() ms). */
  committedBetween(from: number, to: number): number {
    let n = 0;
    for (const c of this.commits) if (c.at >= from && c.at < to) n += c.txs;
    return n;
  }

  /**
   * The final check: for every node, its blocks above the start height (up to node 0's head at the time, waiting up
   * to `catchUpMs` for a node behind it), every acknowledged tx of the run looked up among their ids.
   */
  async checkNodes(catchUpMs = 30_000): Promise<NodeCheck[]> {
    const target = (await this.client0.status()).committedHeight;
    // Nodes in parallel (each has its own request bucket). A block read is charged by its size (rpc/README.md,
    // *Rate*): 1 + txs/16 tokens of this source's 5,000/s, so a long run's check (1.8 M txs: ~112,000 tokens per
    // node) outruns the burst and is paced by 429s — waited out (Retry-After), never given up on.
    return Promise.all(this.o.urls.map((url) => this.checkNode(url, target, catchUpMs)));
  }

  private async checkNode(url: string, target: number, catchUpMs: number): Promise<NodeCheck> {
    const client = new RpcClient({ url, timeoutMs: 30_000, rateLimitRetries: 100_000 });
    const deadline = performance.now() + catchUpMs;
    let height = (await client.status()).committedHeight;
    while (height < target && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      height = (await client.status()).committedHeight;
    }
    const marks = new GrowableBytes();
    let committed = 0;
    let next = this.o.startHeight + 1;
    const worker = async () => {
      for (;;) {
        const h = next++;
        if (h > height) return;
        const ids = await client.blockTxIds(h);
        if (ids !== null) committed += markCommitted(ids, this.load.ids, marks);
      }
    };
    await Promise.all(Array.from({ length: this.o.checkConcurrency ?? 8 }, worker));
    const lost = findLost(this.load.acked, marks, this.load.indexLimit);
    return { url, height, committed, lost: lost.length, lostSamples: lost.slice(0, 5).map((index) => ({ index, id: this.idHex(index) })) };
  }

  private idHex(index: number): string {
    return toHex(this.load.idOf(index));
  }
}
