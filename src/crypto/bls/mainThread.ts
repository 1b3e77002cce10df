import { loadBlsBackend } from "./backend.js";
import type { BlsBackend } from "./backend.js";
import { PublicKeyCache, verifyJobsBatch } from "./batch.js";
import type { BatchOutcome } from "./batch.js";
import { BufferedBlsVerifier } from "./bufferedVerifier.js";
import type { BlsVerifierModules } from "./bufferedVerifier.js";
import { BlsVerifierError } from "./interface.js";
import type { BlsVerifierOptions, VerifyJob } from "./interface.js";

/**
 * The BlsVerifier contract on the main thread: same buffering and batching as the pool, one batch at a time, each
 * batch run from `setImmediate` so I/O gets a turn between batches. For tests, tools and single-core deployments.
 */
export class MainThreadBlsVerifier extends BufferedBlsVerifier {
  protected readonly maxBatchesInFlight = 1;
  private readonly cache: PublicKeyCache;

  private constructor(
    private readonly backend: BlsBackend,
    opts: Partial<BlsVerifierOptions>,
    modules: BlsVerifierModules,
  ) {
    super(opts, modules);
    this.cache = new PublicKeyCache(backend);
  }

  /** Loads the backend named in `opts` (default blst) and returns a ready verifier. */
  static async create(opts: Partial<BlsVerifierOptions> = {}, modules: BlsVerifierModules = {}): Promise<MainThreadBlsVerifier> {
    return new MainThreadBlsVerifier(await loadBlsBackend(opts.backend ?? "blst"), opts, modules);
  }

  protected runBatch(jobs: VerifyJob[]): Promise<BatchOutcome> {
    return new Promise((resolve, reject) => {
      setImmediate(() => {
        if (this.closed) return reject(new BlsVerifierError("VERIFIER_CLOSED", "BLS verifier closed"));
        try {
          resolve(verifyJobsBatch(this.backend, this.cache, jobs, this.now));
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  protected async shutdown(): Promise<void> {}
}
