/**
 * Signature checks ahead of validation. Validation (consensus/validation) is synchronous and asks a
 * `CertificateVerifier`; in front of it sits one `CachingVerifier` (consensus/validation/verifier.ts), which a
 * `SignaturePrecheck` fills before validation runs:
 *
 *   message arrives → shell calls `prepare(from, msg, ready)` → the message's signatures are checked and the verdicts
 *   recorded in the cache → `ready()` → the shell validates the message (in arrival order), and validation finds them.
 *
 * Two implementations, one contract (test/unit/node/precheck.test.ts runs both):
 * - `PooledPrecheck` (the node): BLS jobs in the verifier pool, off the main thread; `ready` when the pool answers or
 *   refuses. A vote's, timeout's or proposal's own signature is one job (one key, one message), and so is every QC: its signers'
 *   aggregate public key is computed here — the keys came with proofs of possession, so verifying the aggregate
 *   signature against the aggregate key is the POP scheme's FastAggregateVerify. TCs stay with validation: they need a
 *   multi-pairing over distinct messages, which a single-key job cannot express, and occur only when views time out;
 *   the QC a TC carries is an ordinary QC job.
 * - `InlinePrecheck` (the simulator, virtual time): any `CertificateVerifier` on the calling thread, TCs included;
 *   `ready` before `prepare` returns.
 *
 * Both check only what validation will ask about: the cheap origin checks validation makes first are repeated here, so
 * junk costs no signature work, and a QC whose success is already cached is not checked again. Correctness never
 * depends on the precheck — whatever it did not record, validation verifies through the cache's inner verifier — so a
 * message the precheck cannot handle (a refused pool, malformed fields) is simply left to validation.
 */
import type { BlsBackend, PublicKey } from "../crypto/bls/backend.js";
import type { BlsVerifier, VerifyJob } from "../crypto/bls/interface.js";
import type { SignerSetCodec } from "../consensus/scheme.js";
import { blockHasher } from "../consensus/blockHash.js";
import type { BlockHasher } from "../consensus/blockHash.js";
import { proposalMessage, timeoutMessage, voteMessage } from "../consensus/signing.js";
import { qcKey } from "../consensus/validation/verifier.js";
import type { CachingVerifier, CertificateVerifier } from "../consensus/validation/verifier.js";
import { quorumSize } from "../domain/quorum.js";
import type { Message, QuorumCert, SignedProposalHash, Timeout, TimeoutCert, Vote } from "../domain/types.js";
import { bytesKey } from "../util/bytes.js";

/** Starts the signature checks of an incoming message ahead of its validation. */
export interface SignaturePrecheck {
  /**
   * Checks `msg`'s signatures (from validator `from`) into the verdict cache, then calls `ready` exactly once —
   * possibly before returning. Never throws.
   */
  prepare(from: number, msg: Message, ready: () => void): void;
}

/** A signed thing in a message, worth checking ahead. */
type Item =
  | { readonly kind: "vote"; readonly vote: Vote }
  | { readonly kind: "timeout"; readonly timeout: Timeout }
  | { readonly kind: "proposal"; readonly signed: SignedProposalHash }
  | { readonly kind: "qc"; readonly qc: QuorumCert }
  | { readonly kind: "tc"; readonly tc: TimeoutCert };

/**
 * What of `msg` validation will verify, screened by its origin checks (sender = voter, a validator index, a high QC
 * below the timeout's view); QCs already cached as valid and root QCs (no signers: genesis's, an epoch root's) are left out. A proposal's
 * signature needs its block hash (one header hash, ≈ 3 µs; validation hashes it again — cheaper than threading the
 * hash through). Proposals are screened by the proposer's index only, not the sender: relayed ones are accepted
 * (consensus/validation/proposal.ts). `bulk`: catch-up traffic that may wait for a full batch.
 */
function itemsOf(from: number, msg: Message, n: number, cache: CachingVerifier, hashBlock: BlockHasher): { items: Item[]; bulk: boolean } {
  const items: Item[] = [];
  const valid = (i: number): boolean => Number.isInteger(i) && i >= 0 && i < n;
  const qc = (q: QuorumCert): void => {
    if (q.signers.length !== 0 && !cache.knowsQc(q)) items.push({ kind: "qc", qc: q });
  };
  switch (msg.kind) {
    case "vote":
      if (msg.body.voter === from && valid(from)) items.push({ kind: "vote", vote: msg.body });
      break;
    case "timeout": {
      const t = msg.body;
      if (t.voter !== from || !valid(from) || t.highQc.view >= t.view) break;
      items.push({ kind: "timeout", timeout: t });
      qc(t.highQc);
      break;
    }
    case "proposal": {
      const p = msg.body;
      const h = p.block.header;
      if (!valid(h.proposer)) break;
      items.push({ kind: "proposal", signed: { view: h.view, blockHash: hashBlock(h), proposer: h.proposer, signature: p.signature } });
      qc(p.qc);
      if (p.tc !== null) {
        items.push({ kind: "tc", tc: p.tc });
        // The TC often carries the very QC that justifies the proposal: checked once.
        if (qcKey(p.tc.highQc) !== qcKey(p.qc)) qc(p.tc.highQc);
      }
      break;
    }
    case "qc":
      qc(msg.body);
      break;
    case "tc":
      items.push({ kind: "tc", tc: msg.body });
      qc(msg.body.highQc);
      break;
    case "syncResponse":
      for (const b of msg.body.blocks) qc(b.qc);
      return { items, bulk: true };
    default:
      break;
  }
  return { items, bulk: false };
}

export interface InlinePrecheckOptions {
  readonly validatorCount: number;
}

export interface InlinePrecheckModules {
  /** Does the checking (`SchemeCertificates` over the fast test scheme or BLS) — not the cache itself. */
  readonly verifier: CertificateVerifier;
  /** Receives the verdicts; validation reads them. */
  readonly cache: CachingVerifier;
  /** Must be validation's block hasher (default `blockHasher()`, the stack's default). */
  readonly hashBlock?: BlockHasher;
}

/** Checks on the calling thread and calls `ready` before returning: for the simulator, whose time is virtual. */
export class InlinePrecheck implements SignaturePrecheck {
  /** Messages left to validation because checking them threw (malformed fields validation will refuse). */
  failed = 0;
  private readonly hashBlock: BlockHasher;

  constructor(
    private readonly o: InlinePrecheckOptions,
    private readonly m: InlinePrecheckModules,
  ) {
    this.hashBlock = m.hashBlock ?? blockHasher();
  }

  prepare(from: number, msg: Message, ready: () => void): void {
    try {
      const { verifier, cache } = this.m;
      for (const it of itemsOf(from, msg, this.o.validatorCount, cache, this.hashBlock).items) {
        switch (it.kind) {
          case "vote":
            cache.recordVote(it.vote, verifier.verifyVote(it.vote));
            break;
          case "timeout":
            cache.recordTimeout(it.timeout, verifier.verifyTimeout(it.timeout));
            break;
          case "proposal":
            cache.recordProposal(it.signed, verifier.verifyProposal(it.signed));
            break;
          case "qc":
            cache.recordQc(it.qc, verifier.verifyQc(it.qc));
            break;
          case "tc":
            cache.recordTc(it.tc, verifier.verifyTc(it.tc));
            break;
        }
      }
    } catch {
      this.failed++;
    }
    ready();
  }
}

export interface PooledPrecheckOptions {
  readonly chainId: Uint8Array;
  /** Validator public keys, compressed, in index order (with verified proofs of possession). */
  readonly publicKeys: readonly Uint8Array[];
}

export interface PooledPrecheckModules {
  readonly backend: BlsBackend;
  readonly pool: BlsVerifier;
  readonly signerSets: SignerSetCodec;
  readonly cache: CachingVerifier;
  /** Must be validation's block hasher (default `blockHasher()`, the stack's default). */
  readonly hashBlock?: BlockHasher;
}

/** Signer sets whose aggregate public key is kept: consecutive views' QCs mostly share one. */
const AGGREGATE_KEYS_KEPT = 64;

type Job = { readonly item: Item; readonly job: VerifyJob };

/** Checks BLS signatures as jobs in the verifier pool (see the module comment). */
export class PooledPrecheck implements SignaturePrecheck {
  private readonly keys: readonly PublicKey[];
  private readonly n: number;
  private readonly quorum: number;
  private readonly aggregates = new Map<string, Uint8Array>();
  /** Jobs the pool refused (queue full, closed): validation verified their messages inline. */
  refused = 0;
  /** Messages left to validation because building their jobs threw (malformed fields validation will refuse). */
  failed = 0;
  private readonly hashBlock: BlockHasher;

  constructor(
    private readonly o: PooledPrecheckOptions,
    private readonly m: PooledPrecheckModules,
  ) {
    this.hashBlock = m.hashBlock ?? blockHasher();
    this.keys = o.publicKeys.map((k) => m.backend.publicKeyFromBytes(k));
    this.n = o.publicKeys.length;
    this.quorum = quorumSize(this.n);
  }

  prepare(from: number, msg: Message, ready: () => void): void {
    let jobs: Job[];
    let bulk: boolean;
    try {
      const r = itemsOf(from, msg, this.n, this.m.cache, this.hashBlock);
      bulk = r.bulk;
      jobs = this.jobsFor(r.items);
    } catch {
      this.failed++;
      ready();
      return;
    }
    if (jobs.length === 0) {
      ready();
      return;
    }
    if (!this.m.pool.canAcceptWork()) {
      this.refused += jobs.length;
      ready();
      return;
    }
    let pending: Promise<boolean[]>;
    try {
      pending = this.m.pool.verifyMany(
        jobs.map((j) => j.job),
        { priority: !bulk },
      );
    } catch {
      this.refused += jobs.length;
      ready();
      return;
    }
    pending.then(
      (results) => {
        try {
          results.forEach((ok, i) => this.record(jobs[i]!.item, ok));
        } catch {
          this.failed++; // nothing recorded is only work lost: validation checks inline
        }
        ready();
      },
      () => {
        // Closed or full: validation verifies these inline.
        this.refused += jobs.length;
        ready();
      },
    );
  }

  private jobsFor(items: readonly Item[]): Job[] {
    const jobs: Job[] = [];
    const chainId = this.o.chainId;
    for (const item of items) {
      switch (item.kind) {
        case "vote": {
          const v = item.vote;
          jobs.push({ item, job: { message: voteMessage(chainId, v.view, v.blockHash), publicKey: this.o.publicKeys[v.voter]!, signature: v.signature } });
          break;
        }
        case "timeout": {
          const t = item.timeout;
          jobs.push({ item, job: { message: timeoutMessage(chainId, t.view, t.highQc.view), publicKey: this.o.publicKeys[t.voter]!, signature: t.signature } });
          break;
        }
        case "proposal": {
          // One job like a vote's: the proposer's key over the proposal message. A proposal (one per view) rides in the
          // same priority batch as the votes and QCs around it, so it adds one set to a batch, not a pool round trip.
          const p = item.signed;
          jobs.push({ item, job: { message: proposalMessage(chainId, p.view, p.blockHash), publicKey: this.o.publicKeys[p.proposer]!, signature: p.signature } });
          break;
        }
        case "qc": {
          const qc = item.qc;
          // Only QCs whose signers decode to a quorum go to the pool, so a failed job can only mean a bad aggregate.
          const signers = this.m.signerSets.decode(qc.signers, this.n);
          if (signers === null || signers.length < this.quorum) break;
          jobs.push({ item, job: { message: voteMessage(chainId, qc.view, qc.blockHash), publicKey: this.aggregateKey(qc.signers, signers), signature: qc.aggregateSignature } });
          break;
        }
        case "tc":
          break; // validation's (see the module comment)
      }
    }
    return jobs;
  }

  private aggregateKey(bitmap: Uint8Array, signers: readonly number[]): Uint8Array {
    const setKey = bytesKey(bitmap);
    let agg = this.aggregates.get(setKey);
    if (agg === undefined) {
      agg = this.m.backend.publicKeyToBytes(this.m.backend.aggregatePublicKeys(signers.map((i) => this.keys[i]!)));
      if (this.aggregates.size >= AGGREGATE_KEYS_KEPT) this.aggregates.delete(this.aggregates.keys().next().value!);
      this.aggregates.set(setKey, agg);
    }
    return agg;
  }

  private record(item: Item, ok: boolean): void {
    const cache = this.m.cache;
    if (item.kind === "vote") cache.recordVote(item.vote, ok);
    else if (item.kind === "timeout") cache.recordTimeout(item.timeout, ok);
    else if (item.kind === "proposal") cache.recordProposal(item.signed, ok);
    else if (item.kind === "qc") cache.recordQc(item.qc, ok ? "ok" : "BAD_AGGREGATE");
  }
}
