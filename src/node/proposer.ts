/**
 * The leader's half of the shell: turns the core's `proposeRequest` into a block built from the mempool and hands it
 * back as a `payload` input. A leader proposes once it has transactions and `minIntervalMs` passed (so a block carries
 * what arrived meanwhile), or after `emptyIntervalMs` with an empty mempool (an idle chain keeps committing, slowly).
 *
 * Time comes from the injected `Scheduler`, so the simulator runs this on virtual time exactly as the node does on the
 * real clock.
 */
import { buildBlock } from "../chain/blocks.js";
import { ExecutionError } from "../chain/errors.js";
import type { Executor } from "../chain/executor.js";
import type { Block } from "../domain/types.js";
import type { ProposeRequest } from "../consensus/types.js";
import type { Scheduler, TimerHandle } from "../util/clock.js";
import type { BlockPolicy } from "./config.js";

/** While a leader waits for transactions, it looks at the mempool this often. */
const PROPOSE_POLL_MS = 10;

/** Where a block's transactions come from (the mempool). */
export interface PayloadSource {
  /** Transactions waiting. */
  readonly size: number;
  /** Up to `maxTxs` / `maxBytes` transactions, oldest first, leaving out the ids (bytesKey strings) in `exclude`. */
  reap(maxTxs: number, maxBytes: number, exclude?: ReadonlySet<string>): Uint8Array[];
}

export interface ProposerOptions {
  readonly self: number;
  readonly block: BlockPolicy;
}

export interface ProposerModules {
  readonly scheduler: Scheduler;
  readonly payload: PayloadSource;
  /** The parent's execution outcome (carried in the header) and the txs already in its uncommitted branch. */
  readonly executor: Pick<Executor, "parentExecution" | "txIdsInBranch">;
  /** Whether the core still waits for a payload for this request (the view may have moved on meanwhile). */
  readonly wanted: (req: ProposeRequest) => boolean;
  /** The block for `req`: the shell feeds it to the core as a `payload` input. */
  readonly deliver: (view: number, block: Block) => void;
  /** The parent cannot be executed here (not stored yet): this view is skipped, its timer moves the replica on. */
  readonly skipped: (view: number, error: ExecutionError) => void;
  /** An unexpected exception: an invariant broke. */
  readonly fatal: (error: unknown) => void;
}

export class Proposer {
  private timer: TimerHandle | null = null;
  private waitingSince = 0;

  constructor(
    private readonly o: ProposerOptions,
    private readonly m: ProposerModules,
  ) {}

  /** A new request replaces any outstanding one. */
  request(req: ProposeRequest): void {
    this.cancel();
    this.waitingSince = this.m.scheduler.now();
    this.arm(req, this.o.block.minIntervalMs);
  }

  cancel(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  private arm(req: ProposeRequest, delayMs: number): void {
    this.timer = this.m.scheduler.setTimeout(() => {
      this.timer = null;
      this.tryPropose(req);
    }, delayMs);
  }

  private tryPropose(req: ProposeRequest): void {
    if (!this.m.wanted(req)) return;
    const now = this.m.scheduler.now();
    const waited = now - this.waitingSince;
    const empty = this.o.block.emptyIntervalMs;
    if (this.m.payload.size === 0 && waited < empty) {
      this.arm(req, Math.min(PROPOSE_POLL_MS, empty - waited));
      return;
    }
    let block: Block;
    try {
      block = this.build(req, now);
    } catch (e) {
      if (e instanceof ExecutionError) this.m.skipped(req.view, e);
      else this.m.fatal(e);
      return;
    }
    this.m.deliver(req.view, block);
  }

  private build(req: ProposeRequest, now: number): Block {
    const ex = this.m.executor;
    const exclude = ex.txIdsInBranch(req.parentHash);
    const p = this.o.block;
    return buildBlock({
      parentHash: req.parentHash,
      parentHeight: req.parentHeight,
      view: req.view,
      proposer: this.o.self,
      timestampMs: Math.floor(now),
      txs: this.m.payload.reap(p.maxTxs, p.maxBytes, exclude),
      parentExecution: ex.parentExecution(req.parentHash),
    });
  }
}
