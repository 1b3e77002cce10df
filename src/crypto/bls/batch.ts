import type { BlsBackend, PublicKey, SignatureSet } from "./backend.js";
import { BlsError } from "./errors.js";
import type { VerifyJob } from "./interface.js";

/**
 * Jobs packed into one buffer so a batch crosses the thread boundary as two transferable arrays instead of
 * 3 × n structured-cloned byte arrays. `offsets[3i + f]` is where field f (message, public key, signature) of job
 * i starts; `offsets[3n]` is the end.
 */
export interface PackedJobs {
  data: Uint8Array<ArrayBuffer>;
  offsets: Uint32Array<ArrayBuffer>;
}

export function packJobs(jobs: readonly VerifyJob[]): PackedJobs {
  let total = 0;
  for (const j of jobs) total += j.message.length + j.publicKey.length + j.signature.length;
  const data = new Uint8Array(total);
  const offsets = new Uint32Array(3 * jobs.length + 1);
  let at = 0;
  jobs.forEach((j, i) => {
    for (const [f, bytes] of [j.message, j.publicKey, j.signature].entries()) {
      offsets[3 * i + f] = at;
      data.set(bytes, at);
      at += bytes.length;
    }
  });
  offsets[3 * jobs.length] = at;
  return { data, offsets };
}

/** Views (no copies) of the packed jobs. */
export function unpackJobs(packed: PackedJobs): VerifyJob[] {
  const { data, offsets } = packed;
  const n = (offsets.length - 1) / 3;
  const field = (k: number) => data.subarray(offsets[k]!, offsets[k + 1]!);
  return Array.from({ length: n }, (_, i) => ({ message: field(3 * i), publicKey: field(3 * i + 1), signature: field(3 * i + 2) }));
}

/** The answer to one batch: 1 = valid, 0 = invalid per job; whether the combined check passed; time spent. */
export interface BatchOutcome {
  results: Uint8Array;
  passed: boolean;
  workMs: number;
}

/**
 * Parsed public keys by their bytes. Validator keys repeat in every batch and parsing one (decompression plus the
 * G1 subgroup check) costs ≈ 40 µs with blst, a sixth of a batched verification, so each thread keeps its own.
 * Bounded: cleared when full (the validator set fits many times over).
 */
export class PublicKeyCache {
  private readonly map = new Map<string, PublicKey>();
  constructor(
    private readonly backend: BlsBackend,
    private readonly capacity = 16_384,
  ) {}

  /** The parsed key, or undefined when the bytes are not a valid public key. */
  get(bytes: Uint8Array): PublicKey | undefined {
    // Only the two G1 encodings can parse: refuse anything else before building a map key from peer-sized bytes.
    if (bytes.length !== 48 && bytes.length !== 96) return undefined;
    const key = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
    let pk = this.map.get(key);
    if (pk === undefined) {
      try {
        pk = this.backend.publicKeyFromBytes(bytes);
      } catch (e) {
        if (e instanceof BlsError) return undefined;
        throw e;
      }
      if (this.map.size >= this.capacity) this.map.clear();
      this.map.set(key, pk);
    }
    return pk;
  }
}

/**
 * Verifies a batch of jobs: malformed keys or signatures are invalid without further work; the rest go through one
 * random-linear-combination check; if that fails, each set is verified on its own so every job gets its true
 * answer. Signatures are parsed without the subgroup check because every verify call below makes it (see the
 * backend contract), so it is paid once per signature.
 */
export function verifyJobsBatch(backend: BlsBackend, cache: PublicKeyCache, jobs: readonly VerifyJob[], now: () => number): BatchOutcome {
  const start = now();
  const results = new Uint8Array(jobs.length);
  const sets: SignatureSet[] = [];
  const index: number[] = [];
  jobs.forEach((job, i) => {
    const publicKey = cache.get(job.publicKey);
    if (publicKey === undefined) return;
    try {
      sets.push({ message: job.message, publicKey, signature: backend.signatureFromBytes(job.signature, { validate: false }) });
      index.push(i);
    } catch (e) {
      if (!(e instanceof BlsError)) throw e;
    }
  });
  const checked = verifySets(backend, sets);
  checked.results.forEach((ok, k) => (results[index[k]!] = ok));
  // A batch with a malformed job did not pass as a whole either.
  return { results, passed: checked.passed && sets.length === jobs.length, workMs: now() - start };
}

/**
 * Verifies parsed sets together: one set directly, several with one random-linear-combination check (`verifyBatch`);
 * when that fails, each set on its own, so every set gets its true answer (`results[i]` = 1 when set i is valid).
 * `passed`: the combined check succeeded (true for no sets). The verify calls make the subgroup checks (backend
 * contract), so signatures may come parsed without them.
 */
export function verifySets(backend: BlsBackend, sets: readonly SignatureSet[]): { results: Uint8Array; passed: boolean } {
  const results = new Uint8Array(sets.length);
  let passed = true;
  if (sets.length === 1) {
    const s = sets[0]!;
    passed = backend.verify(s.message, s.publicKey, s.signature);
    results[0] = passed ? 1 : 0;
  } else if (sets.length > 1) {
    passed = backend.verifyBatch(sets);
    if (passed) results.fill(1);
    else sets.forEach((s, k) => (results[k] = backend.verify(s.message, s.publicKey, s.signature) ? 1 : 0));
  }
  return { results, passed };
}
