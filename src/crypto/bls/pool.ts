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
 * Worker count, chosen from measurements on this 2-core machine (256 votes from wire bytes, batch 32, median of
 * 7 interleaved rounds in a quiet moment; wall µs per vote / process CPU µs per vote):
 *
 *   distinct messages:  main thread 220 / 408   1 worker 235 / 409   2 workers 209 / 408   3 workers 209 / 412
 *   one message:        main thread  90 / 105   1 worker  93 / 109   2 workers  76 / 111   3 workers  69 / 120
 *   (one by one on the main thread: 671 µs per vote)
 *
 * blst's verifyMultipleAggregateSignatures already spreads one batch over both cores through blst's own
 * process-wide thread pool (408 µs of CPU in 209-220 µs of wall per vote), and a worker thread only waits on it, so
 * workers do not multiply that work and do not oversubscribe it either: CPU per vote is flat from 1 to 3 workers.
 * What runs in the calling thread (parsing, aggregateWithRandomness for votes sharing a message) does scale: 2
 * workers beat 1 by 1.2x on one-message batches. A third worker buys nothing on distinct messages and costs +10%
 * CPU per vote on one-message batches (the oversubscription shows there). So: one worker per core, 2.
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
