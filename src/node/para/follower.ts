/**
 * The main-chain follower: walks the main chain's committed blocks in order from a main node this para node trusts,
 * feeding each to the sender (which watches for its commit txs and the done height) and, while the sender lets it
 * (`canBuild`: not stalled, notification queue not full), to the builder.
 *
 * Two cursors, because the two consumers pause differently: the sender must keep seeing main blocks while building
 * is paused — a full notification queue drains only when the main chain carries this node's commit txs, which it
 * learns from those blocks — while the builder resumes from its own last main height. So while building is paused
 * only the watch cursor moves; on resume the bodies the builder skipped are fetched again (they are immutable).
 *
 * New heights arrive from the main node's stream; on start, after a stream loss and after any failure, the follower
 * asks the head and catches up from its cursors. Retries wait `retryMs` on the injected scheduler.
 */
import type { Scheduler, TimerHandle } from "../../util/clock.js";
import { StepLoop } from "../../util/stepLoop.js";
import type { Logger } from "../logger.js";
import type { MainBlock, MainChainClient } from "./mainChain.js";

export interface FollowerOptions {
  /** Wait after a failed request or a lost stream before trying again (default 1,000 ms). */
  readonly retryMs?: number;
}

/** What the follower drives: the builder's side. */
export interface FollowerBuilder {
  readonly lastMainHeight: number;
  apply(b: MainBlock): number | null;
}

/** What the follower drives: the sender's side. */
export interface FollowerSender {
  readonly canBuild: boolean;
  onMainBlock(b: MainBlock): Promise<void>;
  onParaBlock(height: number): Promise<void>;
}

export interface FollowerModules {
  readonly main: MainChainClient;
  readonly scheduler: Scheduler;
  readonly builder: FollowerBuilder;
  readonly sender: FollowerSender;
  readonly logger: Logger;
  /** Called after each para block is made (metrics, the para node's block stream). */
  readonly onParaBlock?: (height: number) => void;
}

export class MainFollower {
  private readonly retryMs: number;
  private readonly m: FollowerModules;
  /** Highest main height the sender has seen. */
  private watched: number;
  private knownHead = -1;
  private running = false;
  private readonly loop: StepLoop;
  private unsubscribe: (() => void) | null = null;
  private retry: TimerHandle | null = null;

  constructor(opts: FollowerOptions, modules: FollowerModules) {
    this.retryMs = opts.retryMs ?? 1_000;
    this.m = modules;
    this.watched = modules.builder.lastMainHeight;
    this.loop = new StepLoop(
      () => this.step(),
      (e) => {
        this.m.logger.warn("main chain follower: request failed, retrying", { error: e instanceof Error ? e.message : String(e), retryMs: this.retryMs });
        this.scheduleRetry();
      },
      () => this.running,
    );
  }

  /** The main chain's head as last heard. */
  get mainHeight(): number {
    return this.knownHead;
  }

  /** Subscribes to new heads and catches up from the cursors. */
  start(): Promise<void> {
    this.running = true;
    this.subscribe();
    return this.refreshHead();
  }

  stop(): void {
    this.running = false;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.retry?.cancel();
    this.retry = null;
  }

  /** Resolves when the current catch-up run (if any) is over. */
  idle(): Promise<void> {
    return this.loop.idle();
  }

  /** A new main head (from the stream). */
  onHead(height: number): Promise<void> {
    if (height > this.knownHead) this.knownHead = height;
    return this.pump();
  }

  /** Walks forward as far as the known head allows. Single-flight: a call during a run makes the run go on. */
  pump(): Promise<void> {
    return this.loop.trigger();
  }

  /** Processes one main height; false when there is nothing to do until the next head. */
  private async step(): Promise<boolean> {
    const build = this.m.sender.canBuild;
    const buildNext = this.m.builder.lastMainHeight + 1;
    const next = build ? Math.min(buildNext, this.watched + 1) : this.watched + 1;
    if (next > this.knownHead) return false;
    const b = await this.m.main.blockBody(next);
    if (b === null) return false;
    if (next > this.watched) {
      await this.m.sender.onMainBlock(b);
      this.watched = next;
    }
    // Asked again: feeding the sender may have stalled or filled the queue.
    if (next === buildNext && this.m.sender.canBuild) {
      const p = this.m.builder.apply(b);
      if (p !== null) {
        await this.m.sender.onParaBlock(p);
        this.m.onParaBlock?.(p);
      }
    }
    return true;
  }

  private async refreshHead(): Promise<void> {
    try {
      const h = await this.m.main.head();
      if (h > this.knownHead) this.knownHead = h;
    } catch (e) {
      this.m.logger.warn("main chain follower: no head, retrying", { error: e instanceof Error ? e.message : String(e), retryMs: this.retryMs });
      this.scheduleRetry();
      return;
    }
    await this.pump();
  }

  private subscribe(): void {
    if (!this.running || this.unsubscribe !== null) return;
    this.unsubscribe = this.m.main.subscribeHeads(
      (h) => void this.onHead(h),
      () => {
        this.unsubscribe = null;
        if (this.running) this.scheduleRetry();
      },
    );
  }

  private scheduleRetry(): void {
    if (!this.running || this.retry !== null) return;
    this.retry = this.m.scheduler.setTimeout(() => {
      this.retry = null;
      this.subscribe();
      void this.refreshHead();
    }, this.retryMs);
  }
}
