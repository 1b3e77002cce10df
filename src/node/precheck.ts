/**
 * Signature checks off the main thread. Validation (consensus/validation) is synchronous and asks a
 * `CertificateVerifier`; the node answers most of those questions ahead of time through the `BlsVerifier` pool:
 *
 *   message arrives → `SignaturePrecheck.prepare(from, msg)` submits its signatures as pool jobs → when they settle,
 *   the verdicts sit in `PrecheckedVerifier` → validation runs and finds them there instead of verifying inline.
 *
 * What goes to the pool: a vote's or a timeout's own signature (one key, one message) and every QC (one message;
 * its signers' aggregate public key is computed here — the keys came with proofs of possession, so verifying the
 * aggregate signature against the aggregate key is the POP scheme's FastAggregateVerify). TCs are verified inline on
 * the main thread: they need a multi-pairing over distinct messages, which a single-key pool job cannot express, and
 * they only occur when views time out.
 *
 * Anything not prechecked (a pool that refused the job, a TC) falls through to the inner verifier, so correctness
 * never depends on the precheck: it only moves work.
 */
import type { BlsBackend, PublicKey } from "../crypto/bls/backend.js";
import type { BlsVerifier, VerifyJob } from "../crypto/bls/interface.js";
import { bytesKey } from "../util/bytes.js";
import type { SignerSetCodec } from "../consensus/scheme.js";
import { timeoutMessage, voteMessage } from "../consensus/signing.js";
import type { CertCheck, CertificateVerifier } from "../consensus/validation/verifier.js";
import { quorumSize } from "../domain/quorum.js";
import type { Message, QuorumCert, Timeout, Vote } from "../domain/types.js";

/** Verdicts kept at most; a message's verdicts are consumed by its validation right after they arrive. */
const MAX_VERDICTS = 16_384;

function voteKey(v: Vote): string {
  return `v${v.voter}:${v.view}:${bytesKey(v.blockHash)}${bytesKey(v.signature)}`;
}
function timeoutKey(t: Timeout): string {
  return `t${t.voter}:${t.view}:${t.highQc.view}:${bytesKey(t.signature)}`;
}
function qcKey(qc: QuorumCert): string {
  return `q${qc.view}:${qc.signers.length}:${bytesKey(qc.blockHash)}${bytesKey(qc.signers)}${bytesKey(qc.aggregateSignature)}`;
}

/** A `CertificateVerifier` that answers from pool verdicts when it has them and asks `inner` otherwise. */
export class PrecheckedVerifier implements CertificateVerifier {
  private readonly verdicts = new Map<string, boolean>();
  /** Answers that came from the pool / from the inner verifier (for metrics and tests). */
  hits = 0;
  misses = 0;

  constructor(private readonly inner: CertificateVerifier) {}

  record(key: string, valid: boolean): void {
    if (this.verdicts.size >= MAX_VERDICTS) this.verdicts.delete(this.verdicts.keys().next().value!);
    this.verdicts.set(key, valid);
  }

  private take(key: string): boolean | undefined {
    const v = this.verdicts.get(key);
    if (v !== undefined) {
      this.verdicts.delete(key);
      this.hits++;
    } else {
      this.misses++;
    }
    return v;
  }

  verifyVote(vote: Vote): boolean {
    return this.take(voteKey(vote)) ?? this.inner.verifyVote(vote);
  }

  verifyTimeout(timeout: Timeout): boolean {
    return this.take(timeoutKey(timeout)) ?? this.inner.verifyTimeout(timeout);
  }

  verifyQc(qc: QuorumCert): CertCheck {
    const v = this.take(qcKey(qc));
    if (v === undefined) return this.inner.verifyQc(qc);
    // Only QCs whose signer set decoded to a quorum are prechecked: a failure can only be the aggregate.
    return v ? "ok" : "BAD_AGGREGATE";
  }

  verifyTc(tc: Parameters<CertificateVerifier["verifyTc"]>[0]): CertCheck {
    return this.inner.verifyTc(tc);
  }
}

export interface SignaturePrecheckOptions {
  readonly chainId: Uint8Array;
  /** Validator public keys, compressed, in index order (with verified proofs of possession). */
  readonly publicKeys: readonly Uint8Array[];
}

export interface SignaturePrecheckModules {
  readonly backend: BlsBackend;
  readonly pool: BlsVerifier;
  readonly signerSets: SignerSetCodec;
  readonly verifier: PrecheckedVerifier;
}

/** Submits the signatures of incoming messages to the pool and records the verdicts (see the module comment). */
export class SignaturePrecheck {
  private readonly chainId: Uint8Array;
  private readonly keyBytes: readonly Uint8Array[];
  private readonly keys: readonly PublicKey[];
  private readonly n: number;
  private readonly quorum: number;
  private readonly aggregates = new Map<string, Uint8Array>();
  /** Jobs the pool refused (queue full, closed): their messages were verified inline. */
  refused = 0;

  constructor(
    opts: SignaturePrecheckOptions,
    private readonly m: SignaturePrecheckModules,
  ) {
    this.chainId = opts.chainId;
    this.keyBytes = opts.publicKeys;
    this.keys = opts.publicKeys.map((k) => m.backend.publicKeyFromBytes(k));
    this.n = opts.publicKeys.length;
    this.quorum = quorumSize(this.n);
  }

  /**
   * Submits the message's signatures (those worth checking: the cheap origin checks validation would make first are
   * repeated here so junk costs no pool time) and resolves once their verdicts are recorded. Never rejects.
   */
  async prepare(from: number, msg: Message): Promise<void> {
    const jobs: { key: string; job: VerifyJob }[] = [];
    let priority = true;
    switch (msg.kind) {
      case "vote": {
        const v = msg.body;
        if (v.voter === from && this.valid(v.voter)) jobs.push({ key: voteKey(v), job: { message: voteMessage(this.chainId, v.view, v.blockHash), publicKey: this.keyBytes[v.voter]!, signature: v.signature } });
        break;
      }
      case "timeout": {
        const t = msg.body;
        if (t.voter !== from || !this.valid(t.voter) || t.highQc.view >= t.view) break;
        jobs.push({ key: timeoutKey(t), job: { message: timeoutMessage(this.chainId, t.view, t.highQc.view), publicKey: this.keyBytes[t.voter]!, signature: t.signature } });
        this.qcJob(t.highQc, jobs);
        break;
      }
      case "proposal":
        if (msg.body.block.header.proposer === from) this.qcJob(msg.body.qc, jobs);
        break;
      case "qc":
        this.qcJob(msg.body, jobs);
        break;
      case "syncResponse":
        // Bulk catch-up: let the pool batch these.
        priority = false;
        for (const b of msg.body.blocks) this.qcJob(b.qc, jobs);
        break;
      default:
        break;
    }
    if (jobs.length === 0) return;
    if (!this.m.pool.canAcceptWork()) {
      this.refused += jobs.length;
      return;
    }
    try {
      const results = await this.m.pool.verifyMany(
        jobs.map((j) => j.job),
        { priority },
      );
      results.forEach((ok, i) => this.m.verifier.record(jobs[i]!.key, ok));
    } catch {
      // Closed or full: validation verifies these inline.
      this.refused += jobs.length;
    }
  }

  private valid(i: number): boolean {
    return Number.isInteger(i) && i >= 0 && i < this.n;
  }

  private qcJob(qc: QuorumCert, jobs: { key: string; job: VerifyJob }[]): void {
    if (qc.view === 0) return; // the genesis certificate carries no signature (validation compares it exactly)
    const signers = this.m.signerSets.decode(qc.signers, this.n);
    if (signers === null || signers.length < this.quorum) return;
    const setKey = bytesKey(qc.signers);
    let agg = this.aggregates.get(setKey);
    if (agg === undefined) {
      agg = this.m.backend.publicKeyToBytes(this.m.backend.aggregatePublicKeys(signers.map((i) => this.keys[i]!)));
      if (this.aggregates.size >= 64) this.aggregates.delete(this.aggregates.keys().next().value!);
      this.aggregates.set(setKey, agg);
    }
    jobs.push({ key: qcKey(qc), job: { message: voteMessage(this.chainId, qc.view, qc.blockHash), publicKey: agg, signature: qc.aggregateSignature } });
  }
}
