/**
 * The leader's half of the shell: turns the core's `proposeRequest` into a block built from the mempool and hands it
 * back as a `payload` input. A leader proposes once it has transactions and `minIntervalMs` passed (so a block carries
 * what arrived meanwhile), or after `emptyIntervalMs` with an empty mempool (an idle chain keeps committing, slowly).
 * A `hold` (geo clusters: this cluster ran too far ahead of the global order) delays the proposal up to `maxHoldMs`,
 * so clusters that order faster than the network executes wait for it instead of piling up rounds.
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

/**
 * Execution time one block may take on this node, by its recent pace (`ExecutionPace`): every replica executes a
 * block's parent before it votes and the next leader before it proposes, so a block that takes longer than the view
 * timer (1 s base) to execute on a loaded machine times the view out, its work is thrown away and the next, larger
 * block does worse. 7 validators on this 2-core machine (`quire bench cluster --validators 7`, 15 s steps, one run
 * each, load average 1-7) committed 1,261 / 1,046 / 814 tx/s at 1,500 / 2,000 / 3,000 tx/s offered without this bound
 * and 1,363 / 1,426 / 1,093 with it: past saturation the rate still falls, less. A quarter of the base view timer
 * leaves the view its round trips and fsyncs.
 */
export const EXECUTION_BUDGET_MS = 250;
/** Never fewer txs per block than this, whatever the pace says (a slow sample must not starve the chain). */
export const MIN_PACED_TXS = 256;

/** The node's recent execution speed, in ms per tx (an EWMA of whole blocks executed on this node). */
export class ExecutionPace {
  private msPerTx: number | null = null;

  /** A block of `txs` transactions took `ms` to execute. Blocks of fewer than 64 txs say little and are ignored. */
  observe(txs: number, ms: number): void {
    if (txs < 64 || !(ms >= 0)) return;
    const sample = ms / txs;
    this.msPerTx = this.msPerTx === null ? sample : 0.7 * this.msPerTx + 0.3 * sample;
  }

  /** Most txs that fit `budgetMs` of execution at the recent pace (Infinity before any sample). */
  txsWithin(budgetMs: number): number {
    return this.msPerTx === null || this.msPerTx === 0 ? Infinity : Math.max(MIN_PACED_TXS, Math.floor(budgetMs / this.msPerTx));
  }
}

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
  /** Longest a `hold` may delay one proposal (default 0: holds are ignored). Keep it well below the view timer. */
  readonly maxHoldMs?: number;
}

export interface ProposerModules {
  readonly scheduler: Scheduler;
  /** This node's recent execution speed: caps the block at EXECUTION_BUDGET_MS of execution (absent: no cap). */
  readonly pace?: ExecutionPace;
  readonly payload: PayloadSource;
  /** The parent's execution outcome (carried in the header) and the txs already in its uncommitted branch. */
  readonly executor: Pick<Executor, "parentExecution" | "txIdsInBranch">;
  /** Whether to wait before proposing the block at `height` (checked every poll, up to `maxHoldMs`). */
  readonly hold?: (height: number) => boolean;
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
    // Waits end when less than a millisecond is left: with fractional clocks (the simulator's WAN model) a remainder
    // like 1e-13 ms would re-arm at the same instant forever.
    if (this.m.payload.size === 0 && empty - waited >= 1) {
      this.arm(req, Math.min(PROPOSE_POLL_MS, empty - waited));
      return;
    }
    const maxHold = this.o.maxHoldMs ?? 0;
    if (maxHold - waited >= 1 && this.m.hold?.(req.parentHeight + 1) === true) {
      this.arm(req, Math.min(PROPOSE_POLL_MS, maxHold - waited));
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
      parentSigners: req.parentSigners,
      view: req.view,
      proposer: this.o.self,
      timestampMs: Math.floor(now),
      txs: this.m.payload.reap(Math.min(p.maxTxs, this.m.pace?.txsWithin(EXECUTION_BUDGET_MS) ?? Infinity), p.maxBytes, exclude),
      parentExecution: ex.parentExecution(req.parentHash),
    });
  }
}
