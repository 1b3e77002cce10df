import { QuireError } from "../../util/errors.js";
import type { BlsBackendName } from "./backend.js";

/**
 * One signature to check, as it came off the wire. Bytes only, so a job can cross a thread boundary as-is.
 * `publicKey`: 48 bytes compressed (or 96 uncompressed); `signature`: 96 bytes compressed or 192 uncompressed.
 * The verifier reads the bytes when the job's batch is dispatched (the pool copies them then): do not modify them
 * before the job's promise settles.
 */
export interface VerifyJob {
  message: Uint8Array;
  publicKey: Uint8Array;
  signature: Uint8Array;
}

export interface VerifyOptions {
  /**
   * Dispatch ahead of normal jobs and without waiting for the buffer to fill (e.g. the vote that completes a
   * quorum, a proposal on the critical path). Normal jobs are for bulk traffic that benefits from batching.
   */
  priority?: boolean;
}

export type BlsVerifierErrorCode =
  /** `close()` was called before the job got its answer. */
  | "VERIFIER_CLOSED"
  /** The queue is at `maxQueuedJobs`: back off (check `canAcceptWork()` first). */
  | "QUEUE_FULL"
  /** A worker died or reported an internal error; the job's answer is unknown. */
  | "WORKER_FAILED";

/** Rejection of a verification job for a reason other than the signature itself. */
export class BlsVerifierError extends QuireError<BlsVerifierErrorCode> {}

/**
 * Verifies BLS signatures, buffering jobs briefly and checking them in batches (random linear combination); a
 * batch that fails is re-checked set by set, so each job gets its own true answer. A malformed key or signature is
 * simply invalid (`false`). Implemented on the main thread (`MainThreadBlsVerifier`) and over a piscina worker pool
 * (`PooledBlsVerifier`); both pass the same test suite.
 */
export interface BlsVerifier {
  /** Resolves true iff `job.signature` is `job.publicKey`'s signature over `job.message`. */
  verify(job: VerifyJob, opts?: VerifyOptions): Promise<boolean>;
  /** One answer per job, in order (the jobs may land in different batches). */
  verifyMany(jobs: readonly VerifyJob[], opts?: VerifyOptions): Promise<boolean[]>;
  /** False while the queue is at its bound: new jobs would be rejected with `QUEUE_FULL`. */
  canAcceptWork(): boolean;
  /** Jobs waiting to be dispatched (not counting batches in flight). */
  readonly queueLength: number;
  /** Rejects every job that has no answer yet with `VERIFIER_CLOSED` and releases workers and timers. Idempotent. */
  close(): Promise<void>;
}

/** Tuning shared by both verifiers. Defaults are in `DEFAULT_VERIFIER_OPTIONS` (with the measurements behind them). */
export interface BlsVerifierOptions {
  backend: BlsBackendName;
  /** Jobs per batch: a full buffer is dispatched at once. */
  maxBatchSize: number;
  /** How long the first job of a partial batch may wait for company before the batch goes anyway. */
  maxBufferWaitMs: number;
  /** Bound on queued (not yet dispatched) jobs; beyond it `verify` rejects with `QUEUE_FULL`. */
  maxQueuedJobs: number;
}

export const DEFAULT_VERIFIER_OPTIONS: BlsVerifierOptions = {
  backend: "blst",
  // Per vote, 256 votes with distinct messages (bench bls "256 votes", quiet machine): one by one 671 µs, batches
  // of 16 231 µs, 32 214 µs, 64 204 µs; with one shared message 189 / 97 / 75 µs. But a batch that fails is
  // re-checked set by set (≈ 580 µs each), so every invalid vote costs a whole batch: 32 keeps that under ≈ 20 ms
  // while giving up only 5% on distinct messages against 64.
  maxBatchSize: 32,
  // Votes arrive in bursts within a few ms of a proposal; 5 ms buys most of the batching at a latency well below
  // a view timeout. A priority job never waits.
  maxBufferWaitMs: 5,
  // ≈ 8 s of work at ≈ 250 µs per job: past that, callers should shed load rather than queue.
  maxQueuedJobs: 32_768,
};
