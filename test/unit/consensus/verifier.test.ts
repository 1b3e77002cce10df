/**
 * The one verdict cache (`CachingVerifier`): a cached verdict never vouches for a certificate, vote or timeout that
 * differs in any byte (every byte flipped, every field shifted into the next, lengths changed); a success stays, a
 * recorded failure answers once, validation's own failures are not kept; bounded, oldest first; counters exact.
 * The inner verifier is the real certificate code over the test scheme, wrapped to count what reaches it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CachingVerifier, qcKey, tcKey, timeoutKey, voteKey } from "../../../src/consensus/validation/verifier.js";
import type { CertCheck, CertificateVerifier } from "../../../src/consensus/validation/verifier.js";
import type { QuorumCert, SignedProposalHash, Timeout, TimeoutCert, Vote } from "../../../src/domain/types.js";
import { TestCommittee } from "../../support/consensus.js";

const c = new TestCommittee(4);
const hash = new Uint8Array(32).fill(9);

/**
 * The real checks, counted. A throw (the scheme refuses a block hash of the wrong length outright; validation never
 * asks about one) counts as a refusal: what matters here is that the inner verifier was asked.
 */
class Counting implements CertificateVerifier {
  calls = 0;
  constructor(private readonly inner: CertificateVerifier) {}
  private ask<T>(refusal: T, check: () => T): T {
    this.calls++;
    try {
      return check();
    } catch {
      return refusal;
    }
  }
  verifyVote(v: Vote): boolean {
    return this.ask(false, () => this.inner.verifyVote(v));
  }
  verifyTimeout(t: Timeout): boolean {
    return this.ask(false, () => this.inner.verifyTimeout(t));
  }
  verifyProposal(p: SignedProposalHash): boolean {
    return this.ask(false, () => this.inner.verifyProposal(p));
  }
  verifyQc(qc: QuorumCert): CertCheck {
    return this.ask<CertCheck>("BAD_AGGREGATE", () => this.inner.verifyQc(qc));
  }
  verifyTc(tc: TimeoutCert): CertCheck {
    return this.ask<CertCheck>("BAD_AGGREGATE", () => this.inner.verifyTc(tc));
  }
}

/** Copies of `bytes` with each byte changed (two ways), one byte longer, one shorter. */
function byteVariants(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i++) {
    for (const x of [0x01, 0x80]) {
      const b = Uint8Array.from(bytes);
      b[i]! ^= x;
      out.push(b);
    }
  }
  out.push(Uint8Array.of(...bytes, 0), bytes.subarray(0, Math.max(0, bytes.length - 1)));
  return out;
}

/** One byte moved from the end of `a` to the start of `b`, and back the other way: same concatenation, other fields. */
function shifts(a: Uint8Array, b: Uint8Array): [Uint8Array, Uint8Array][] {
  const out: [Uint8Array, Uint8Array][] = [];
  if (a.length > 0) out.push([a.subarray(0, a.length - 1), Uint8Array.of(a[a.length - 1]!, ...b)]);
  if (b.length > 0) out.push([Uint8Array.of(...a, b[0]!), b.subarray(1)]);
  return out;
}

/**
 * Caches `valid` as verified, then asks for every variant: each must have its own key, reach the inner verifier,
 * and come back refused (the real check's answer, not the cached success).
 */
function assertNoFalseHits<T>(valid: T, variants: readonly T[], key: (x: T) => string, verify: (v: CachingVerifier, x: T) => boolean | CertCheck) {
  const inner = new Counting(c.certs);
  const cache = new CachingVerifier(inner);
  assert.ok([true, "ok"].includes(verify(cache, valid)));
  assert.ok([true, "ok"].includes(verify(cache, valid)));
  assert.equal(inner.calls, 1);
  const keys = new Set([key(valid)]);
  for (const [i, x] of variants.entries()) {
    keys.add(key(x));
    assert.equal(keys.size, i + 2, `variant ${i} shares a key`);
    const calls: number = inner.calls;
    assert.ok(![true, "ok"].includes(verify(cache, x)), `variant ${i} accepted`);
    assert.equal(inner.calls, calls + 1, `variant ${i} answered from the cache`);
  }
}

test("a cached QC verdict never vouches for a QC that differs in any byte, or has bytes shifted between fields", () => {
  const qc = c.qc(3, hash);
  const variants: QuorumCert[] = [
    { ...qc, view: 2 },
    { ...qc, view: 4 },
    ...byteVariants(qc.blockHash).map((blockHash) => ({ ...qc, blockHash })),
    ...byteVariants(qc.signers).map((signers) => ({ ...qc, signers })),
    ...byteVariants(qc.aggregateSignature).map((aggregateSignature) => ({ ...qc, aggregateSignature })),
    ...shifts(qc.blockHash, qc.signers).map(([blockHash, signers]) => ({ ...qc, blockHash, signers })),
    ...shifts(qc.signers, qc.aggregateSignature).map(([signers, aggregateSignature]) => ({ ...qc, signers, aggregateSignature })),
  ];
  assertNoFalseHits(qc, variants, qcKey, (v, x) => v.verifyQc(x));
});

test("likewise for TCs (high-QC views and the carried QC's view included), votes and timeouts", () => {
  const q1 = c.qc(1, hash);
  const q2 = c.qc(2, hash);
  const tc = c.tc(4, [q1, q2, q1]); // highQcViews [1, 2, 1]
  const tcs: TimeoutCert[] = [
    { ...tc, view: 5 },
    { ...tc, highQcViews: [2, 2, 1] },
    { ...tc, highQcViews: [1, 2] },
    { ...tc, highQcViews: [1, 2, 1, 1] },
    { ...tc, highQc: q1 },
    ...byteVariants(tc.signers).map((signers) => ({ ...tc, signers })),
    ...byteVariants(tc.aggregateSignature).map((aggregateSignature) => ({ ...tc, aggregateSignature })),
    ...shifts(tc.signers, tc.aggregateSignature).map(([signers, aggregateSignature]) => ({ ...tc, signers, aggregateSignature })),
  ];
  assertNoFalseHits(tc, tcs, tcKey, (v, x) => v.verifyTc(x));
  // Views that concatenate alike must still key apart (no real TC needed to tell the keys).
  assert.notEqual(tcKey({ ...tc, highQcViews: [1, 23] }), tcKey({ ...tc, highQcViews: [12, 3] }));

  const vote = c.vote(1, 3, hash);
  const votes: Vote[] = [
    { ...vote, voter: 2 },
    { ...vote, view: 4 },
    ...byteVariants(vote.blockHash).map((blockHash) => ({ ...vote, blockHash })),
    ...byteVariants(vote.signature).map((signature) => ({ ...vote, signature })),
    ...shifts(vote.blockHash, vote.signature).map(([blockHash, signature]) => ({ ...vote, blockHash, signature })),
  ];
  assertNoFalseHits(vote, votes, voteKey, (v, x) => v.verifyVote(x));

  const t = c.timeout(1, 4, q2);
  const timeouts: Timeout[] = [{ ...t, voter: 2 }, { ...t, view: 5 }, { ...t, highQc: q1 }, ...byteVariants(t.signature).map((signature) => ({ ...t, signature }))];
  assertNoFalseHits(t, timeouts, timeoutKey, (v, x) => v.verifyTimeout(x));
});

test("successes stay; a recorded failure answers once; validation's own failures are not kept; counters are exact", () => {
  const inner = new Counting(c.certs);
  const cache = new CachingVerifier(inner);
  const vote = c.vote(1, 3, hash);
  // A verdict recorded ahead (the precheck) is what validation gets, even against the inner check: here a
  // deliberately wrong "false" for a valid vote shows which one answered.
  cache.recordVote(vote, false);
  assert.equal(cache.verifyVote(vote), false);
  assert.deepEqual([cache.hits, cache.misses, inner.calls], [1, 0, 0]);
  assert.equal(cache.verifyVote(vote), true); // used up: asked inline, and the success is kept
  assert.equal(cache.verifyVote(vote), true);
  assert.deepEqual([cache.hits, cache.misses, inner.calls], [2, 1, 1]);

  const qc = c.qc(3, hash);
  assert.equal(cache.knowsQc(qc), false);
  cache.recordQc(qc, "BAD_AGGREGATE");
  assert.equal(cache.knowsQc(qc), false, "a failure is not a known-good QC");
  assert.equal(cache.verifyQc(qc), "BAD_AGGREGATE");
  assert.equal(cache.verifyQc(qc), "ok");
  assert.equal(cache.knowsQc(qc), true);
  assert.equal(cache.verifyQc(qc), "ok");
  assert.deepEqual([cache.hits, cache.misses, inner.calls], [4, 2, 2]);

  const bad: QuorumCert = { ...qc, blockHash: new Uint8Array(32) };
  assert.equal(cache.verifyQc(bad), "BAD_AGGREGATE");
  assert.equal(cache.verifyQc(bad), "BAD_AGGREGATE");
  assert.deepEqual([cache.hits, cache.misses, inner.calls], [4, 4, 4]);
});

test("bounded: the oldest verdict is forgotten first, and a hit does not make it younger", () => {
  const inner = new Counting(c.certs);
  const cache = new CachingVerifier(inner, { capacity: 2 });
  const [q1, q2, q3] = [1, 2, 3].map((view) => c.qc(view, hash)) as [QuorumCert, QuorumCert, QuorumCert];
  cache.verifyQc(q1);
  cache.verifyQc(q2);
  cache.verifyQc(q1); // a hit: q1 stays the oldest
  assert.equal(inner.calls, 2);
  cache.verifyQc(q3); // evicts q1
  assert.ok(cache.knowsQc(q2) && cache.knowsQc(q3) && !cache.knowsQc(q1));
  cache.verifyQc(q2);
  cache.verifyQc(q3);
  assert.equal(inner.calls, 3);
  cache.verifyQc(q1);
  assert.equal(inner.calls, 4);
  assert.throws(() => new CachingVerifier(inner, { capacity: 0 }), RangeError);
});
