import { Piscina } from "piscina";
import type { BatchOutcome } from "./batch.js";
import { packJobs } from "./batch.js";
import { BufferedBlsVerifier } from "./bufferedVerifier.js";
import type { BlsVerifierModules } from "./bufferedVerifier.js";
import { BlsVerifierError } from "./interface.js";
import type { BlsVerifierOptions, VerifyJob } from "./interface.js";
import type { WorkerReply, WorkerTask } from "./worker.js";

export interface PooledBlsVerifierOptions extends BlsVerifierOptions {
  /** Worker threads. */
  workers: number;
  /** Batches handed to piscina per worker at once: 2 keeps a worker busy across the message round trip. */
  batchesPerWorker: number;
}

/**
 * Worker count. blst's verifyMultipleAggregateSignatures and aggregateVerify already fan out over blst's own
 * process-wide thread pool (one thread per core, shared by every worker thread of the process), so the question
 * is whether piscina workers on top oversubscribe this 2-core machine. Measured with `quire bench bls`
 * ("pool 256 votes", distinct messages, batch 32), per vote: main thread one by one ≈ 590 µs; main thread batched
 * ≈ 200 µs; 1 worker ≈ 210 µs; 2 workers ≈ 200 µs; 3 workers ≈ 205 µs. Extra workers neither help nor hurt
 * batched distinct-message work (the native pool is the bottleneck and the JS threads only wait on it), but
 * same-message batches (aggregateWithRandomness, single-threaded in the calling thread) scale with workers: 2
 * workers ≈ 1.7x one. So 2 workers — one per core — and no more.
 */
export const DEFAULT_POOL_WORKERS = 2;

/**
 * The BlsVerifier contract over a piscina pool. Each batch crosses the thread boundary as one packed, transferred
 * buffer; workers answer with one byte per job, or an `{ ok: false, code }` record.
 */
export class PooledBlsVerifier extends BufferedBlsVerifier {
  protected readonly maxBatchesInFlight: number;
  private readonly piscina: Piscina<WorkerTask, WorkerReply>;

  constructor(opts: Partial<PooledBlsVerifierOptions> = {}, modules: BlsVerifierModules = {}) {
    super(opts, modules);
    const workers = opts.workers ?? DEFAULT_POOL_WORKERS;
    if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`PooledBlsVerifier: workers must be a positive integer, got ${workers}`);
    this.maxBatchesInFlight = workers * (opts.batchesPerWorker ?? 2);
    this.piscina = new Piscina<WorkerTask, WorkerReply>({
      filename: new URL("./worker.js", import.meta.url).href,
      minThreads: workers,
      maxThreads: workers,
      concurrentTasksPerWorker: 1,
      idleTimeout: 2 ** 31 - 1,
      atomics: "async",
    });
  }

  protected async runBatch(jobs: VerifyJob[]): Promise<BatchOutcome> {
    const { data, offsets } = packJobs(jobs);
    const reply = await this.piscina.run({ backend: this.opts.backend, data, offsets }, { transferList: [data.buffer, offsets.buffer] });
    if (!reply.ok) throw new BlsVerifierError("WORKER_FAILED", `BLS worker: ${reply.code}: ${reply.message}`);
    return reply;
  }

  protected async shutdown(): Promise<void> {
    await this.piscina.destroy();
  }
}
