import type { BatchOutcome } from "./batch.js";
import { BlsVerifierError, DEFAULT_VERIFIER_OPTIONS } from "./interface.js";
import type { BlsVerifier, BlsVerifierOptions, VerifyJob, VerifyOptions } from "./interface.js";
import { NO_METRICS } from "./metrics.js";
import type { BlsVerifierMetrics } from "./metrics.js";

/** Collaborators of a verifier (kept apart from its options). */
export interface BlsVerifierModules {
  metrics?: BlsVerifierMetrics;
  /** Monotonic milliseconds, for latency metrics. Default `performance.now`. */
  now?: () => number;
}

interface Pending {
  job: VerifyJob;
  enqueuedAt: number;
  resolve(valid: boolean): void;
  reject(e: Error): void;
}

/** FIFO with O(1) amortised shift. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(x: T): void {
    this.items.push(x);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
  drain(): T[] {
    const rest = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return rest;
  }
}

/**
 * The buffering and dispatch logic both verifiers share; subclasses only say where a batch runs.
 *
 * A job waits in one of two FIFOs (priority, normal). A batch is dispatched when a slot is free and either the
 * buffer holds `maxBatchSize` jobs, a priority job is waiting, or the oldest job has waited `maxBufferWaitMs`. While
 * every slot is busy, jobs keep accumulating, so batches grow with load — which is when batching pays most.
 */
export abstract class BufferedBlsVerifier implements BlsVerifier {
  protected readonly opts: BlsVerifierOptions;
  protected readonly metrics: BlsVerifierMetrics;
  protected readonly now: () => number;
  private readonly priority = new Fifo<Pending>();
  private readonly normal = new Fifo<Pending>();
  private readonly inFlight = new Set<Pending[]>();
  private timer: NodeJS.Timeout | undefined;
  private flushDue = false;
  private closing: Promise<void> | undefined;

  /** How many batches may run (or wait inside the executor) at once. */
  protected abstract readonly maxBatchesInFlight: number;
  /** Runs one batch somewhere; resolves with one result per job. */
  protected abstract runBatch(jobs: VerifyJob[]): Promise<BatchOutcome>;
  /** Releases the executor after every pending job was rejected. */
  protected abstract shutdown(): Promise<void>;

  constructor(opts: Partial<BlsVerifierOptions>, modules: BlsVerifierModules) {
    this.opts = { ...DEFAULT_VERIFIER_OPTIONS, ...opts };
    if (!(this.opts.maxBatchSize >= 1) || !(this.opts.maxQueuedJobs >= 1) || !(this.opts.maxBufferWaitMs >= 0)) {
      throw new RangeError("BLS verifier: maxBatchSize and maxQueuedJobs must be >= 1 and maxBufferWaitMs >= 0");
    }
    this.metrics = modules.metrics ?? NO_METRICS;
    this.now = modules.now ?? (() => performance.now());
  }

  get queueLength(): number {
    return this.priority.length + this.normal.length;
  }

  canAcceptWork(): boolean {
    return this.closing === undefined && this.queueLength < this.opts.maxQueuedJobs;
  }

  protected get closed(): boolean {
    return this.closing !== undefined;
  }

  verify(job: VerifyJob, opts?: VerifyOptions): Promise<boolean> {
    const refused = this.refuse(1);
    if (refused !== undefined) return Promise.reject(refused);
    return new Promise<boolean>((resolve, reject) => {
      (opts?.priority === true ? this.priority : this.normal).push({ job, enqueuedAt: this.now(), resolve, reject });
      this.metrics.setQueueLength(this.queueLength);
      this.schedule();
    });
  }

  verifyMany(jobs: readonly VerifyJob[], opts?: VerifyOptions): Promise<boolean[]> {
    // All or nothing: never start half of a request the queue cannot hold.
    const refused = this.refuse(jobs.length);
    if (refused !== undefined) return Promise.reject(refused);
    return Promise.all(jobs.map((j) => this.verify(j, opts)));
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
      const err = new BlsVerifierError("VERIFIER_CLOSED", "BLS verifier closed before the job was answered");
      for (const p of [...this.priority.drain(), ...this.normal.drain()]) p.reject(err);
      for (const batch of this.inFlight) for (const p of batch) p.reject(err);
      this.metrics.setQueueLength(0);
      await this.shutdown();
    })();
    return this.closing;
  }

  private refuse(n: number): BlsVerifierError | undefined {
    if (this.closed) return new BlsVerifierError("VERIFIER_CLOSED", "BLS verifier is closed");
    if (this.queueLength + n > this.opts.maxQueuedJobs) {
      return new BlsVerifierError("QUEUE_FULL", `BLS verifier queue is full (${this.queueLength} of ${this.opts.maxQueuedJobs} jobs)`);
    }
    return undefined;
  }

  private schedule(): void {
    while (!this.closed && this.inFlight.size < this.maxBatchesInFlight && this.queueLength > 0) {
      if (this.queueLength < this.opts.maxBatchSize && this.priority.length === 0 && !this.flushDue) break;
      const batch: Pending[] = [];
      while (batch.length < this.opts.maxBatchSize) {
        const p = this.priority.shift() ?? this.normal.shift();
        if (p === undefined) break;
        batch.push(p);
      }
      this.dispatch(batch);
    }
    if (this.queueLength === 0) {
      this.flushDue = false;
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
    } else if (!this.flushDue && this.timer === undefined && !this.closed) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flushDue = true;
        this.schedule();
      }, this.opts.maxBufferWaitMs);
    }
    this.metrics.setQueueLength(this.queueLength);
  }

  private dispatch(batch: Pending[]): void {
    this.inFlight.add(batch);
    const settle = (fn: () => void) => {
      this.inFlight.delete(batch);
      if (!this.closed) fn();
      this.schedule();
    };
    let run: Promise<BatchOutcome>;
    try {
      run = this.runBatch(batch.map((p) => p.job));
    } catch (e) {
      run = Promise.reject(e);
    }
    run.then(
      (outcome) =>
        settle(() => {
          this.metrics.observeBatch(batch.length, outcome.passed, outcome.workMs);
          const t = this.now();
          batch.forEach((p, i) => {
            const valid = outcome.results[i] === 1;
            this.metrics.observeJob(t - p.enqueuedAt, valid);
            p.resolve(valid);
          });
        }),
      (e: unknown) =>
        settle(() => {
          const err = e instanceof BlsVerifierError ? e : new BlsVerifierError("WORKER_FAILED", `BLS batch failed: ${e instanceof Error ? e.message : String(e)}`);
          for (const p of batch) p.reject(err);
        }),
    );
  }
}
