/**
 * The follower's loop: learn the upstream's committed head (its `/v1/stream` frames, and `GET /v1/blocks/latest` at
 * start, after a lost stream and after a failure), fetch the heights above the verified tip in ranges
 * (`GET /v1/blocks?from&to` for certified headers + QCs, `GET /v1/blocks/:h/body` for the transactions), offer them to
 * the `CertifiedChain` (every check, and the two-chain release rule), and apply what it releases as committed.
 *
 * Driven like the para node's main-chain follower (node/para/follower.ts): the same single-flight `StepLoop`, a
 * stream-driven head, retries on the injected scheduler; but not the same steps: that one trusts its main node and walks one block at a
 * time for two consumers; this one verifies everything and walks ranges for one.
 *
 * A refused offer (a forged QC, a block that does not link, a body that is not the header's) costs the upstream its
 * place: the pool moves to the next one, the refusal is counted by code, and the range is fetched again after
 * `retryMs`. Nothing of a refused offer is applied. Two exceptions: a range whose first block does not extend the
 * pending (certified, uncommitted) blocks is fetched again from above the committed head, without blame — a pending
 * block may be orphaned, served by another upstream; and an empty range below the announced head (a head the
 * primary does not serve) demotes the primary and asks again after `retryMs`.
 */
import type { CertifiedBlock, CertifiedChain, CertifiedChainCode, ServedBlock } from "../../consensus/certifiedChain.js";
import type { BlockHeader } from "../../domain/types.js";
import type { Scheduler, TimerHandle } from "../../util/clock.js";
import { toHex } from "../../util/bytes.js";
import { StepLoop } from "../../util/stepLoop.js";
import type { Logger } from "../logger.js";
import type { StreamHandle, Subscribe, UpstreamPool } from "./upstreams.js";

export interface ChainFollowerOptions {
  readonly rangeBlocks: number;
  readonly retryMs: number;
}

export interface ChainFollowerModules {
  readonly pool: UpstreamPool;
  readonly subscribe: Subscribe;
  readonly chain: CertifiedChain;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  /**
   * Executes and stores blocks released as committed, in order; `next` is the verified header above the last of them
   * (its certified parentStateRoot/parentResults check the execution). Throws on an invariant break (fatal).
   */
  apply(blocks: readonly CertifiedBlock[], next: BlockHeader | undefined): void;
  /** A refused offer, by code (metrics). */
  onRefused?(code: CertifiedChainCode): void;
  /** `apply` threw: the node must stop. */
  onFatal(e: unknown): void;
}

export class ChainFollower {
  private knownHead = 0;
  private running = false;
  private readonly loop: StepLoop;
  private stream: StreamHandle | null = null;
  private streamUrl = "";
  private retry: TimerHandle | null = null;
  private answered = false;
  private rewind = false;
  /** The tip (hex hash) the last refetch from the committed head started from. */
  private rewoundAt: string | null = null;
  private certifiedHead = 0;

  constructor(
    private readonly o: ChainFollowerOptions,
    private readonly m: ChainFollowerModules,
  ) {
    this.loop = new StepLoop(
      () => this.step(),
      (e) => {
        this.answered = false;
        this.m.logger.warn("follower: request failed, retrying", { error: e instanceof Error ? e.message : String(e), retryMs: this.o.retryMs });
        this.scheduleRetry();
      },
      () => this.running,
    );
  }

  /** The upstream's committed head as last heard (unverified: a height in a stream frame; what ranges are asked up to). */
  get upstreamHeight(): number {
    return this.knownHead;
  }

  /**
   * The highest height a quorum is known to have certified: the verified tip, or an upstream's `latest` block whose
   * QC verified (asked at start, after a lost stream and after a failure). Not an upstream's word: health's target.
   */
  get certifiedHeight(): number {
    return Math.max(this.certifiedHead, this.m.chain.tip.height);
  }

  /** Whether the last request to the upstreams was answered (health: a follower without an upstream has no peer). */
  get upstreamAnswering(): boolean {
    return this.answered;
  }

  start(): void {
    this.running = true;
    this.subscribe();
    void this.refreshHead();
  }

  stop(): void {
    this.running = false;
    this.stream?.close();
    this.stream = null;
    this.retry?.cancel();
    this.retry = null;
  }

  /** Resolves when the current run (if any) is over. */
  idle(): Promise<void> {
    return this.loop.idle();
  }

  /** A new upstream head (from the stream). */
  onHead(height: number): Promise<void> {
    if (height > this.knownHead) this.knownHead = height;
    return this.pump();
  }

  /** Walks forward as far as the known head allows. Single-flight: a call during a run makes the run go on. */
  pump(): Promise<void> {
    return this.loop.trigger();
  }

  /** Fetches, verifies and applies one range; false when there is nothing to do until the next head. */
  private async step(): Promise<boolean> {
    // The pool failed over to another upstream: stream from that one.
    if (this.stream !== null && this.streamUrl !== this.m.pool.url) {
      this.dropStream();
      this.subscribe();
    }
    // After an offer from the tip did not link: from right above the committed head (the pending blocks may be orphaned).
    const from = this.rewind ? this.m.chain.committedHead.height + 1 : this.m.chain.tip.height + 1;
    if (from > this.knownHead) {
      this.rewind = false;
      return false;
    }
    const to = Math.min(this.knownHead, from + this.o.rangeBlocks - 1);
    const served = await this.m.pool.call(async (s) => {
      // Headers and bodies at once (one round trip, not two): the heights are known; a body above the upstream's head
      // is null and ends the range there.
      const heights = Array.from({ length: to - from + 1 }, (_, k) => from + k);
      const [headers, bodies] = await Promise.all([s.blocks(from, to), fetchBodies(heights, (h) => s.blockBody(h))]);
      const out: ServedBlock[] = [];
      for (const [i, h] of headers.entries()) {
        const body = h.header.height === from + i ? bodies[i] : null;
        if (body === null || body === undefined) break;
        out.push({ block: { header: h.header, txs: body.txs }, hash: h.hash, qc: h.qc });
      }
      return out;
    });
    // Cleared only once answered: a refetch lost to the network is tried again from the committed head (review finding).
    this.rewind = false;
    this.answered = true;
    if (!this.running) return false;
    if (served.length === 0) {
      // The primary announced a head it does not serve (it lies, or it restarted): it loses its place, and the head is
      // asked again — of the next upstream — after `retryMs`, not at once (a liar would otherwise be asked in a loop).
      this.knownHead = from - 1;
      this.m.pool.demote(`announced height ${from} or more, served nothing from ${from}`);
      this.dropStream();
      this.scheduleRetry();
      return false;
    }
    const r = this.m.chain.offer(served);
    // One free refetch per (committed head, upstream): keyed by the tip, an upstream alternating junk with shortened
    // ranges could rewind again and again at no cost (review finding); keyed by the committed head, its second
    // non-linking range before the chain commits anything more is blamed like any refusal.
    const rewindKey = `${toHex(this.m.chain.committedHead.hash)}|${this.m.pool.url}`;
    if (!r.ok && r.code === "BAD_LINK" && r.height === from && from > this.m.chain.committedHead.height + 1 && this.rewoundAt !== rewindKey) {
      // The range does not extend our pending blocks: they are only certified, and one of them may have been orphaned
      // (served by a Byzantine upstream). Not this upstream's fault: fetch again from above the committed head, where
      // the offer replaces the pending blocks it does not extend (certifiedChain.ts). Once per committed head and
      // upstream: a second range that does not link before anything more commits is blamed as for any refusal.
      this.m.logger.info("follower: the range does not extend the pending blocks, fetching from the committed head", { upstream: this.m.pool.url, height: r.height, committed: this.m.chain.committedHead.height });
      this.rewind = true;
      this.rewoundAt = rewindKey;
      return true;
    }
    if (!r.ok) {
      this.rewoundAt = null;
      this.m.onRefused?.(r.code);
      this.m.logger.warn("follower: upstream served a block that fails verification", { upstream: this.m.pool.url, code: r.code, height: r.height, reason: r.reason });
      this.m.pool.demote(`${r.code} at height ${r.height}`);
      this.dropStream();
      this.scheduleRetry();
      return false;
    }
    if (r.committed.length > 0) {
      try {
        this.m.apply(r.committed, this.m.chain.pending[0]?.block.header);
      } catch (e) {
        this.running = false;
        this.m.onFatal(e);
        return false;
      }
    }
    return true;
  }

  private async refreshHead(): Promise<void> {
    try {
      const latest = await this.m.pool.call((s) => s.block("latest"));
      this.answered = true;
      const h = latest?.header.height ?? 0;
      if (h > this.knownHead) this.knownHead = h;
      if (latest !== null && h > this.certifiedHead && this.m.chain.certifiesHeader(latest.header, latest.hash, latest.qc)) this.certifiedHead = h;
    } catch (e) {
      this.answered = false;
      this.m.logger.warn("follower: no upstream head, retrying", { error: e instanceof Error ? e.message : String(e), retryMs: this.o.retryMs });
      this.scheduleRetry();
      return;
    }
    await this.pump();
  }

  private subscribe(): void {
    if (!this.running || this.stream !== null) return;
    const url = (this.streamUrl = this.m.pool.url);
    this.stream = this.m.subscribe(
      url,
      (h) => void this.onHead(h),
      (frames, badFrame) => {
        this.stream = null;
        // Closed before a first frame (refused upgrade, node down), or on a frame that does not decode or is too long:
        // the next subscription goes to the next upstream.
        if ((frames === 0 || badFrame) && this.m.pool.url === url) this.m.pool.demote(badFrame ? "its stream sent a bad frame" : "its stream closed before any block");
        if (this.running) this.scheduleRetry();
      },
    );
  }

  /** Ends the stream (the primary changed or misbehaved); the next `subscribe()` streams from the current primary. */
  private dropStream(): void {
    this.stream?.close();
    this.stream = null;
  }

  private scheduleRetry(): void {
    if (!this.running || this.retry !== null) return;
    this.retry = this.m.scheduler.setTimeout(() => {
      this.retry = null;
      this.subscribe();
      void this.refreshHead();
    }, this.o.retryMs);
  }
}

/**
 * Bodies BODY_FETCHES_AT_ONCE at a time, stopping after a part with a missing one (the upstream's head): a range of
 * 64 heights must not hold 64 answers of up to 17 MiB in memory at once (review finding) — 8 × 17 MiB at most.
 */
const BODY_FETCHES_AT_ONCE = 8;

async function fetchBodies<B>(heights: readonly number[], fetch: (h: number) => Promise<B | null>): Promise<(B | null)[]> {
  const out: (B | null)[] = [];
  for (let i = 0; i < heights.length; i += BODY_FETCHES_AT_ONCE) {
    const part = await Promise.all(heights.slice(i, i + BODY_FETCHES_AT_ONCE).map(fetch));
    out.push(...part);
    if (part.includes(null)) break;
  }
  return out;
}
