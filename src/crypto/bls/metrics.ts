/**
 * What a BLS verifier reports. The node publishes these through prom-client (`blsVerifierMetrics` in
 * src/node/metrics.ts); tests read `BlsVerifierStats`. Every method is called on the main thread.
 */
export interface BlsVerifierMetrics {
  /** Jobs waiting to be dispatched, after every change. */
  setQueueLength(jobs: number): void;
  /**
   * One batch finished: how many jobs it held, whether the batch check passed first time (false means it was
   * re-checked set by set), and how long the verification work took where it ran (worker or main thread).
   */
  observeBatch(size: number, passed: boolean, workMs: number): void;
  /** One job answered: enqueue-to-answer time, and the answer. */
  observeJob(latencyMs: number, valid: boolean): void;
}

/** Discards everything. */
export const NO_METRICS: BlsVerifierMetrics = {
  setQueueLength() {},
  observeBatch() {},
  observeJob() {},
};

/** In-memory counters and sums, enough for status output, tests and benchmarks. */
export class BlsVerifierStats implements BlsVerifierMetrics {
  queueLength = 0;
  maxQueueLength = 0;
  batches = 0;
  batchJobs = 0;
  maxBatchSize = 0;
  /** Batches whose combined check failed and were re-checked set by set. */
  retriedBatches = 0;
  workMs = 0;
  jobs = 0;
  validJobs = 0;
  invalidJobs = 0;
  latencyMsSum = 0;
  maxLatencyMs = 0;

  setQueueLength(jobs: number): void {
    this.queueLength = jobs;
    if (jobs > this.maxQueueLength) this.maxQueueLength = jobs;
  }

  observeBatch(size: number, passed: boolean, workMs: number): void {
    this.batches++;
    this.batchJobs += size;
    if (size > this.maxBatchSize) this.maxBatchSize = size;
    if (!passed) this.retriedBatches++;
    this.workMs += workMs;
  }

  observeJob(latencyMs: number, valid: boolean): void {
    this.jobs++;
    if (valid) this.validJobs++;
    else this.invalidJobs++;
    this.latencyMsSum += latencyMs;
    if (latencyMs > this.maxLatencyMs) this.maxLatencyMs = latencyMs;
  }

  get meanBatchSize(): number {
    return this.batches === 0 ? 0 : this.batchJobs / this.batches;
  }

  get meanLatencyMs(): number {
    return this.jobs === 0 ? 0 : this.latencyMsSum / this.jobs;
  }
}
