/**
 * Acknowledged means durable: the journal of client transactions the node admitted and has not committed yet.
 *
 * The RPC answers 202 only once `record(...)`'s promise resolved, i.e. once the tx is in the store's pending-tx table
 * (ChainStore.savePendingTxs, one durable LMDB transaction). A `kill -9` after the 202 therefore loses nothing: at
 * its next start the node replays the table into its mempool (`replay`, before the RPC listens) and re-gossips it.
 *
 * Group commit: one fsync per submission would cap the RPC at a few hundred txs/s. Submissions are collected until
 * the end of the current event-loop turn (`defer`, setImmediate in the node) and written in one transaction, then
 * every submitter of that group is answered. While the synchronous write runs, new requests queue in the kernel and
 * form the next group, so the group size grows with the load by itself. A group is also written at once when it
 * reaches MAX_GROUP_TXS or MAX_GROUP_BYTES, so no transaction grows without bound (a 1,000-tx POST /v1/txs is one
 * group). Figures: `quire bench rpc` (see the README).
 *
 * Deletion: the commit that indexes a tx removes its record in the same store transaction (tableStore.ts), so a crash
 * can never leave a committed tx un-dropped nor drop an uncommitted one. Txs received by gossip are not journaled:
 * the node that acknowledged them to the client has them journaled and re-gossips them after a restart of its own;
 * a receiver that crashes loses only a copy.
 *
 * Failure: a store write that throws rejects every submitter of the group (the RPC answers 500 and the client must
 * retry) and is reported to `onError` (the node treats a failing store as fatal, as it does for block commits).
 */
import type { Hash } from "../domain/types.js";
import type { ChainStore, PendingTx } from "../chain/store/interface.js";
import type { AddResult, Mempool } from "../chain/mempool.js";
import type { SubmitResult } from "../rpc/api.js";

/** Most txs in one group transaction (one POST /v1/txs carries at most a few thousand). */
export const MAX_GROUP_TXS = 4_096;
/** Most tx bytes in one group transaction: a write of this size costs a few ms, comparable to the fsync itself. */
export const MAX_GROUP_BYTES = 8 * 1024 * 1024;

export interface TxJournalModules {
  readonly store: Pick<ChainStore, "savePendingTxs" | "pendingTxs" | "removePendingTxs">;
  /** Runs `fn` after the current batch of I/O callbacks (the node: setImmediate; tests: a manual queue). */
  readonly defer: (fn: () => void) => void;
  /** Wall clock in ms, seeding `seq` so replay order follows submission order across restarts. */
  readonly now: () => number;
  /** The group write failed (the submitters see the rejection too). */
  readonly onError: (e: unknown) => void;
}

export interface ReplaySummary {
  /** Back in the mempool. */
  readonly replayed: number;
  /** Committed meanwhile (or pending already): their records were dropped. */
  readonly dropped: number;
  /** Invalid now (e.g. a smaller configured tx limit): records dropped. */
  readonly invalid: number;
  /**
   * No room (a pool configured smaller than before the restart), or the application's admission budget spent (more
   * journaled evidence txs than the evidence module checks in a burst): records kept, so they are tried again; they
   * wait outside the mempool until then (the node logs the count).
   */
  readonly full: number;
}

interface Group {
  readonly txs: PendingTx[];
  bytes: number;
  readonly done: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class TxJournal {
  private open: Group | null = null;
  /** The last group handed to the store (written or being written): a duplicate submission waits for it. */
  private lastDone: Promise<void> = Promise.resolve();
  private seq = 0;
  /** Groups and txs written so far (the bench reads them). */
  groups = 0;
  written = 0;

  constructor(private readonly m: TxJournalModules) {}

  /**
   * Journals `tx` (admitted by the mempool as `id`, from `origin`); the promise resolves once it is durable. Every
   * record call of one event-loop turn shares one transaction.
   */
  record(id: Hash, tx: Uint8Array, origin: string): Promise<void> {
    let g = this.open;
    if (g === null) {
      g = this.open = newGroup();
      this.m.defer(() => this.flush(g!));
    }
    // Ascending across restarts too: never below the clock in µs-units (seq is a safe integer until the year 2255).
    this.seq = Math.max(this.seq + 1, Math.floor(this.m.now()) * 1000);
    g.txs.push({ id, seq: this.seq, origin, tx });
    g.bytes += tx.length;
    const done = g.done;
    if (g.txs.length >= MAX_GROUP_TXS || g.bytes >= MAX_GROUP_BYTES) this.flush(g);
    return done;
  }

  /**
   * Resolves once every tx recorded so far is durable. A duplicate submission answers after this: the first copy may
   * still sit in an unwritten group, and a 200 "already pending" must not be given for a tx a crash could still lose.
   */
  /** Records the last replay could not put into the mempool (it was full). */
  private leftOut = 0;

  settled(): Promise<void> {
    return this.open?.done ?? this.lastDone;
  }

  /**
   * Puts every journaled tx back into `mempool` (from its origin, queued for gossip) and drops the records of txs
   * committed meanwhile or invalid now. Called once at start, before the RPC listens.
   */
  replay(mempool: Pick<Mempool, "add">): ReplaySummary {
    let replayed = 0;
    let dropped = 0;
    let invalid = 0;
    let full = 0;
    const drop: Hash[] = [];
    for (const p of this.m.store.pendingTxs()) {
      this.seq = Math.max(this.seq, p.seq);
      const r: AddResult = mempool.add(p.tx, p.origin);
      if (r.kind === "accepted") replayed++;
      else if (r.kind === "full") full++;
      else if (r.kind === "duplicate") {
        // Committed meanwhile: the record goes. Still pending (a second pass, below): it stays until its commit.
        if (r.committed) {
          dropped++;
          drop.push(p.id);
        }
      } else {
        invalid++;
        drop.push(p.id);
      }
    }
    this.m.store.removePendingTxs(drop);
    this.leftOut = full;
    return { replayed, dropped, invalid, full };
  }

  /**
   * After a commit made room: if the start's replay left records out of a full mempool, offers them again (a second
   * replay pass; txs already pending are duplicates and stay journaled). Without it they would wait for the next start.
   */
  retryLeftOut(mempool: Pick<Mempool, "add">): ReplaySummary | undefined {
    return this.leftOut > 0 ? this.replay(mempool) : undefined;
  }

  /** Writes the open group now (the node's stop, before the store closes). */
  flushNow(): void {
    if (this.open !== null) this.flush(this.open);
  }

  private flush(g: Group): void {
    if (this.open !== g) return; // written already (a full group) — the deferred call finds nothing to do
    this.open = null;
    this.lastDone = g.done;
    try {
      this.m.store.savePendingTxs(g.txs);
      this.groups++;
      this.written += g.txs.length;
      g.resolve();
    } catch (e) {
      g.reject(e);
      this.m.onError(e);
    }
  }
}

/**
 * The node's `NodeApi.submitTx`: offers `tx` to the mempool and, when admitted, journals it; the RPC acknowledges once
 * `durable` resolved. `journal` null: nothing is journaled (the before case of `quire bench rpc`).
 */
export function submitJournaled(mempool: Pick<Mempool, "add">, journal: TxJournal | null, tx: Uint8Array, clientId: string): SubmitResult {
  const r = mempool.add(tx, clientId);
  switch (r.kind) {
    case "accepted":
      // Journaled in this event-loop turn's group; the RPC answers once it is written (SubmitResult.durable).
      return journal === null ? { kind: "accepted", id: r.id } : { kind: "accepted", id: r.id, durable: journal.record(r.id, tx, clientId) };
    case "duplicate":
      // Pending already: its first copy may sit in a group not yet written (or came by gossip and is journaled by
      // the node its client used); committed: durable anyway.
      return r.committed || journal === null ? { kind: "duplicate", id: r.id } : { kind: "duplicate", id: r.id, durable: journal.settled() };
    case "full":
      return { kind: "full", retryAfterSec: Math.max(1, Math.ceil(r.retryAfterMs / 1000)), ...(r.reason !== undefined ? { reason: r.reason } : {}) };
    case "invalid":
      return { kind: "invalid", code: r.code, reason: r.reason };
  }
}

function newGroup(): Group {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Rejections reach the submitters; this keeps a group nobody awaits any more from being an unhandled rejection.
  done.catch(() => {});
  return { txs: [], bytes: 0, done, resolve, reject };
}
