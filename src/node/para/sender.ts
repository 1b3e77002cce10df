/**
 * The commit sender (paracross README, "The sender"; the seed's rules). Para blocks this node made wait in the
 * **notification queue** (bounded: when it is full the node stops taking main blocks to build from); up to
 * `maxCommitsPerTx` consecutive ones move to the **sending queue** and go out as one 0x20 commit tx, all or nothing,
 * with only that tx in flight. The tx is finished when a committed main block carries it with its result bit clear,
 * or when the main chain's done height covers all its heights. Not carried within `resendAfterBlocks` main blocks: sent
 * again with a new nonce (a new tx id). Carried but failed: the done height is asked again, the commits it covers are
 * dropped and the rest is sent again — one commit at a time, because the result bit does not say which commit was
 * refused: a single commit that fails above the done height was refused as a duplicate of one the main chain already
 * counted (this node's previous run sent it), so it is passed over. When the para head runs `stallAfterBlocks` ahead
 * of the done height the node stops making blocks and says why (`stalled`), until the done height catches up.
 *
 * Work is serialised (one promise chain): events from the follower and the builder arrive in any order, and the
 * queues change only inside one step at a time. No timers: the main chain's blocks are the clock.
 */
import { randomBytes } from "node:crypto";
import { COMMIT_SIGNATURE_BYTES, COMMIT_TX_HEADER_BYTES, COMMIT_TX_TAG, encodeCommitTx } from "../../chain/app/paracross/format.js";
import { MAX_TX_BYTES } from "../../domain/limits.js";
import { decodeBitmap } from "../../crypto/bitmap/index.js";
import { bytesEqual } from "../../util/bytes.js";
import type { Logger } from "../logger.js";
import type { OwnCommit } from "./builder.js";
import type { MainBlock, MainChainClient } from "./mainChain.js";

/**
 * Main blocks that cannot carry a tx sent when the main chain's committed head was H: under two-chain HotStuff the
 * blocks H+1 and H+2 are already proposed (certified, waiting for the QC that commits them) when H commits, so the
 * first block that can carry the tx is H+3. The seed's "not there within 2 blocks" counts from there: without this,
 * every commit tx of a 4-validator local network was resent once (seen in the first end-to-end run: resends on every
 * send, the resent copies refused as DUPLICATE_COMMIT).
 */
export const MAIN_PIPELINE_BLOCKS = 2;

export interface ParaSenderOptions {
  readonly title: string;
  /** This node's index in the para genesis (the commit tx's signer). */
  readonly nodeIndex: number;
  /** Commits made and not yet sending, at most (seed: 100). */
  readonly notificationQueue: number;
  /** Commits per 0x20 tx (≤ MAX_COMMITS_PER_TX = 20). */
  readonly maxCommitsPerTx: number;
  /** Main blocks to wait for the tx before sending it again (seed: 2). */
  readonly resendAfterBlocks: number;
  /** Para head − done height at which the node stops making blocks (seed: 100). */
  readonly stallAfterBlocks: number;
}

/** The counters the sender moves (prom-client Counters fit). */
export interface SenderMetrics {
  readonly resends: { inc(n?: number): void };
  readonly commitsSent: { inc(n?: number): void };
}

export interface ParaSenderModules {
  readonly main: Pick<MainChainClient, "paraStatus" | "submitTx">;
  /** This node's signed commit for a para height (`ParaBuilder.commit`). */
  readonly commit: (height: number) => OwnCommit | undefined;
  /** The para head height. */
  readonly paraHead: () => number;
  readonly logger: Logger;
  readonly metrics?: SenderMetrics;
  /** 8 fresh bytes per send (default: the OS CSPRNG). */
  readonly nonce?: () => Uint8Array;
}

interface InFlight {
  readonly from: number;
  readonly to: number;
  readonly nonce: Uint8Array;
  /** The commit tx as sent: what a committed main block must carry, byte for byte. */
  readonly tx: Uint8Array;
  /** The main head when it was (last) sent. */
  readonly sentAt: number;
}

export class ParaSender {
  private readonly opts: ParaSenderOptions;
  private readonly m: ParaSenderModules;
  private readonly nonce: () => Uint8Array;
  private done = 0;
  /** Highest para height the main chain accepted from this node (carried with a clear result bit, or done). */
  private accepted = 0;
  private mainHead = 0;
  private sending: InFlight | null = null;
  /** After a failed tx: send one commit at a time until one goes through. */
  private single = false;
  private stalledWhy: string | null = null;
  private work: Promise<void> = Promise.resolve();
  private started = false;

  constructor(opts: ParaSenderOptions, modules: ParaSenderModules) {
    this.opts = opts;
    this.m = modules;
    this.nonce = modules.nonce ?? (() => new Uint8Array(randomBytes(8)));
  }

  /** The main chain's done height for this title, as last heard. */
  get doneHeight(): number {
    return this.done;
  }

  /** Heights in the notification queue: made, not sending, not accepted. */
  get notified(): number {
    const from = this.sending !== null ? this.sending.to : Math.max(this.accepted, this.done);
    return Math.max(0, this.m.paraHead() - from);
  }

  /** True when the notification queue is full: the builder takes no main block until it drains. */
  get queueFull(): boolean {
    return this.notified >= this.opts.notificationQueue;
  }

  /** Why the node stopped making blocks, or null. */
  get stalled(): string | null {
    return this.stalledWhy;
  }

  /** Whether the builder may make the next para block now (neither stalled nor the notification queue full). */
  get canBuild(): boolean {
    return this.started && this.stalledWhy === null && !this.queueFull;
  }

  /** The in-flight tx's heights, for status and tests. */
  get inFlight(): { readonly from: number; readonly to: number; readonly nonce: Uint8Array } | null {
    return this.sending;
  }

  /**
   * Asks the main chain for the done height and queues every commit above it (those made before a restart included:
   * they are re-made from the store), so no hole is left.
   */
  start(mainHead: number): Promise<void> {
    return this.serial(async () => {
      this.mainHead = mainHead;
      this.done = (await this.m.main.paraStatus(this.opts.title)).doneHeight;
      this.accepted = this.done;
      this.started = true;
      this.checkStall();
      await this.trySend();
    });
  }

  /** The builder made para block `height`. */
  onParaBlock(_height: number): Promise<void> {
    return this.serial(async () => {
      this.checkStall();
      await this.trySend();
    });
  }

  /** A committed main block (fed by the follower, in order, even while building is paused). */
  onMainBlock(b: MainBlock): Promise<void> {
    return this.serial(async () => {
      if (!this.started) return;
      this.mainHead = Math.max(this.mainHead, b.height);
      const s = this.sending;
      const found = s === null ? -1 : this.findOwnTx(b, s.tx);
      let failed = false;
      if (s !== null && found >= 0) {
        failed = decodeBitmap(b.results, { length: b.txs.length }).get(found);
        if (!failed) {
          this.accepted = Math.max(this.accepted, s.to);
          this.single = false;
          this.sending = null;
        }
      }
      // The done height moves with every main block that carried commits; asking each block keeps the stall rule
      // and "finished when done covers it" current (one small GET per main block).
      if (this.sending !== null || this.stalledWhy !== null || this.notified > 0) await this.refreshDone();
      if (failed && this.sending !== null) {
        const f = this.sending;
        this.sending = null;
        if (f.from === f.to && this.single) {
          // One commit refused above the done height: the main chain already has this node's commit for it.
          this.m.logger.warn("para commit refused by the main chain: counted before, passing over it", { height: f.from, done: this.done });
          this.accepted = Math.max(this.accepted, f.to);
          this.single = false;
        } else {
          this.single = true;
          this.m.metrics?.resends.inc();
        }
      } else if (this.sending !== null && this.mainHead >= this.sending.sentAt + MAIN_PIPELINE_BLOCKS + this.opts.resendAfterBlocks) {
        const f = this.sending;
        this.sending = null;
        this.m.logger.info("para commit tx not carried: sending it again with a new nonce", { from: f.from, to: f.to, sentAt: f.sentAt, mainHead: this.mainHead });
        this.m.metrics?.resends.inc();
      }
      this.checkStall();
      await this.trySend();
    });
  }

  /** Resolves when every event given so far has been handled (tests, shutdown); never rejects. */
  idle(): Promise<void> {
    return this.work;
  }

  /**
   * Runs `fn` after every earlier step. The caller sees the step's failure (a main node down: the follower retries
   * the block, the node retries its start); the chain itself goes on, so a failed step never wedges later ones.
   */
  private serial(fn: () => Promise<void>): Promise<void> {
    const next = this.work.then(fn);
    this.work = next.catch(() => {});
    return next;
  }

  private async refreshDone(): Promise<void> {
    const d = (await this.m.main.paraStatus(this.opts.title)).doneHeight;
    if (d > this.done) this.done = d;
    if (this.accepted < this.done) this.accepted = this.done;
    if (this.sending !== null && this.sending.to <= this.done) {
      this.sending = null;
      this.single = false;
    }
  }

  private checkStall(): void {
    const lag = this.m.paraHead() - this.done;
    if (lag >= this.opts.stallAfterBlocks) {
      if (this.stalledWhy === null) {
        this.stalledWhy = `para head ${this.m.paraHead()} is ${lag} blocks above the main chain's done height ${this.done} (stallAfterBlocks ${this.opts.stallAfterBlocks}): not making para blocks until it catches up`;
        this.m.logger.warn("para node stalled", { paraHead: this.m.paraHead(), done: this.done, stallAfterBlocks: this.opts.stallAfterBlocks });
      }
    } else if (this.stalledWhy !== null) {
      this.stalledWhy = null;
      this.m.logger.info("para node resumed: the done height caught up", { paraHead: this.m.paraHead(), done: this.done });
    }
  }

  /** Sends the next run of commits when nothing is in flight. */
  private async trySend(): Promise<void> {
    if (!this.started || this.sending !== null) return;
    const from = Math.max(this.accepted, this.done) + 1;
    const to = Math.min(this.m.paraHead(), from + (this.single ? 1 : this.opts.maxCommitsPerTx) - 1);
    if (to < from) return;
    const commits: OwnCommit[] = [];
    // Count and bytes: a commit of a large para block carries kilobytes of bitmaps, and a tx over MAX_TX_BYTES would
    // be refused at every submission (review finding, Dec 3). The first commit always fits: the packing rule caps a
    // para block's txs (MAX_PARA_BLOCK_TXS), so its two bitmaps stay far below the limit.
    let bytes = COMMIT_TX_HEADER_BYTES;
    for (let h = from; h <= to; h++) {
      const c = this.m.commit(h);
      if (c === undefined) break;
      const size = 4 + c.message.length + COMMIT_SIGNATURE_BYTES;
      if (commits.length > 0 && bytes + size > MAX_TX_BYTES) break;
      bytes += size;
      commits.push(c);
    }
    if (commits.length === 0) return;
    const nonce = this.nonce();
    const tx = encodeCommitTx({ signer: this.opts.nodeIndex, nonce, commits });
    this.sending = { from, to: from + commits.length - 1, nonce, tx, sentAt: this.mainHead };
    this.m.metrics?.commitsSent.inc(commits.length);
    // A submission that fails (main node down, mempool full) is a tx not carried: resent after resendAfterBlocks.
    try {
      await this.m.main.submitTx(tx);
    } catch (e) {
      this.m.logger.warn("para commit tx not submitted", { from, error: e instanceof Error ? e.message : String(e) });
    }
  }

  /**
   * Index of this node's in-flight commit tx in `b`, or −1: the very bytes it sent. Matching on (signer, nonce) only
   * let anyone copy the nonce into a tx with a broken signature, have it fail, and make this node take the failure
   * for its own and pass over heights (review finding, Dec 3).
   */
  private findOwnTx(b: MainBlock, sent: Uint8Array): number {
    for (let i = 0; i < b.txs.length; i++) {
      const tx = b.txs[i]!;
      if (tx.length === sent.length && tx[0] === COMMIT_TX_TAG && bytesEqual(tx, sent)) return i;
    }
    return -1;
  }
}
