/**
 * The signature precheck contract, one shared suite for both implementations — `PooledPrecheck` (BLS jobs in the
 * verifier pool; here the pool contract's main-thread implementation) and `InlinePrecheck` (the simulator's, any
 * certificate verifier on the calling thread): verdicts land in the one verdict cache, validation then finds them
 * instead of verifying inline; forged signatures and tampered certificates get the same refusal as inline
 * verification; junk costs no signature work; `ready` is called exactly once for every message, malformed ones too.
 * Then what only one of them does: synchronous completion and TCs (inline), refusals by the pool (pooled).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { loadBlsBackend } from "../../../src/crypto/bls/backend.js";
import type { BlsBackend, SecretKey } from "../../../src/crypto/bls/backend.js";
import type { BlsVerifier, VerifyJob, VerifyOptions } from "../../../src/crypto/bls/interface.js";
import { keyGen } from "../../../src/crypto/bls/keygen.js";
import { MainThreadBlsVerifier } from "../../../src/crypto/bls/mainThread.js";
import { bitmapSignerSets } from "../../../src/consensus/adapters/bitmapSignerSets.js";
import { BlsScheme, blsSigner } from "../../../src/consensus/adapters/blsScheme.js";
import { CachingVerifier } from "../../../src/consensus/validation/verifier.js";
import type { CertCheck, CertificateVerifier } from "../../../src/consensus/validation/verifier.js";
import { InlinePrecheck, PooledPrecheck } from "../../../src/node/precheck.js";
import type { SignaturePrecheck } from "../../../src/node/precheck.js";
import { utf8 } from "../../../src/util/bytes.js";
import type { Message, QuorumCert, SignedProposalHash, Timeout, TimeoutCert, Vote } from "../../../src/domain/types.js";
import { CHAIN_ID, TestCommittee } from "../../support/consensus.js";

const N = 4;
let backend: BlsBackend;
let secrets: SecretKey[];
let publicKeys: Uint8Array[];
let c: TestCommittee;
let pool: MainThreadBlsVerifier;

/** Counts the checks that reach a verifier. */
class Counting implements CertificateVerifier {
  calls = 0;
  constructor(private readonly inner: CertificateVerifier) {}
  verifyVote(v: Vote): boolean {
    this.calls++;
    return this.inner.verifyVote(v);
  }
  verifyTimeout(t: Timeout): boolean {
    this.calls++;
    return this.inner.verifyTimeout(t);
  }
  verifyProposal(p: SignedProposalHash): boolean {
    this.calls++;
    return this.inner.verifyProposal(p);
  }
  verifyQc(qc: QuorumCert): CertCheck {
    this.calls++;
    return this.inner.verifyQc(qc);
  }
  verifyTc(tc: TimeoutCert): CertCheck {
    this.calls++;
    return this.inner.verifyTc(tc);
  }
}

/** A pool that counts the jobs it is given (and can be told to refuse work). */
class CountingPool implements BlsVerifier {
  jobs = 0;
  constructor(
    private readonly inner: BlsVerifier,
    private readonly mode: "ok" | "full" | "throws" = "ok",
  ) {}
  verify(job: VerifyJob, opts?: VerifyOptions): Promise<boolean> {
    this.jobs++;
    return this.inner.verify(job, opts);
  }
  verifyMany(jobs: readonly VerifyJob[], opts?: VerifyOptions): Promise<boolean[]> {
    if (this.mode === "throws") throw new Error("pool bug");
    this.jobs += jobs.length;
    return this.inner.verifyMany(jobs, opts);
  }
  canAcceptWork(): boolean {
    return this.mode !== "full" && this.inner.canAcceptWork();
  }
  get queueLength(): number {
    return this.inner.queueLength;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

interface Subject {
  readonly precheck: SignaturePrecheck;
  /** The one verdict cache: the precheck fills it, validation (here: the test) reads it. */
  readonly cache: CachingVerifier;
  /** What validation had to verify itself. */
  readonly inline: Counting;
  /** Signature checks the precheck made (pool jobs, or calls to its verifier). */
  work(): number;
}

function pooled(p: BlsVerifier = pool, mode: "ok" | "full" | "throws" = "ok"): Subject & { precheck: PooledPrecheck } {
  const inline = new Counting(c.certs);
  const cache = new CachingVerifier(inline);
  const counting = new CountingPool(p, mode);
  const precheck = new PooledPrecheck({ chainId: CHAIN_ID, publicKeys }, { backend, pool: counting, signerSets: bitmapSignerSets(), cache });
  return { precheck, cache, inline, work: () => counting.jobs };
}

function inlined(): Subject {
  const inline = new Counting(c.certs);
  const cache = new CachingVerifier(inline);
  const checker = new Counting(c.certs);
  return { precheck: new InlinePrecheck({ validatorCount: N }, { verifier: checker, cache }), cache, inline, work: () => checker.calls };
}

const IMPLEMENTATIONS: [string, () => Subject][] = [
  ["pooled", () => pooled()],
  ["inline", inlined],
];

before(async () => {
  backend = await loadBlsBackend("blst");
  secrets = Array.from({ length: N }, (_, i) => backend.secretKeyFromBytes(keyGen(utf8(`precheck test validator key ${i}.....`).subarray(0, 32))));
  publicKeys = secrets.map((sk) => backend.publicKeyToBytes(backend.publicKeyOf(sk)));
  c = new TestCommittee(N, { scheme: new BlsScheme(backend, publicKeys), signer: (i) => blsSigner(backend, secrets[i]!, i) });
  pool = await MainThreadBlsVerifier.create();
});
after(() => pool.close());

/** Resolves once `ready` was called; `calls` counts every call, so a second one would show. */
function prepare(s: Subject, from: number, msg: Message): { done: Promise<void>; calls: () => number } {
  let calls = 0;
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  s.precheck.prepare(from, msg, () => {
    calls++;
    resolve();
  });
  return { done, calls: () => calls };
}
const prepared = (s: Subject, from: number, msg: Message): Promise<void> => prepare(s, from, msg).done;

const hash = (fill: number): Uint8Array => new Uint8Array(32).fill(fill);

/** A proposal for view 2 (leader 2) justified by a QC of view 1, or, with `tc`, by a TC of view 1 instead. */
function proposal(qc: QuorumCert, tc: TimeoutCert | null = null): Message {
  return { kind: "proposal", body: c.proposal(c.block({ hash: qc.blockHash, height: 1 }, 2), qc, tc) };
}

for (const [name, make] of IMPLEMENTATIONS) {
  test(`${name}: a prechecked vote and QC are answered from the cache, not verified inline; a known QC is not checked again`, async () => {
    const s = make();
    const v = c.vote(1, 5, hash(7));
    await prepared(s, 1, { kind: "vote", body: v });
    assert.equal(s.cache.verifyVote(v), true);
    const qc = c.qc(5, hash(7));
    await prepared(s, 0, { kind: "qc", body: qc });
    assert.equal(s.cache.verifyQc(qc), "ok");
    assert.equal(s.inline.calls, 0);
    assert.equal(s.cache.hits, 2);
    assert.equal(s.work(), 2);
    // The QC again (as a timeout's high QC): a success stays, so neither the precheck nor validation checks it again.
    await prepared(s, 2, { kind: "timeout", body: c.timeout(2, 6, qc) });
    assert.equal(s.work(), 3); // the timeout's own signature only
    assert.equal(s.cache.verifyQc(qc), "ok");
    assert.equal(s.inline.calls, 0);
  });

  test(`${name}: forged votes and tampered QCs get the same refusal as inline verification`, async () => {
    const s = make();
    const forged: Vote = { ...c.vote(2, 9, hash(3)), voter: 1 }; // validator 2's signature claimed by validator 1
    await prepared(s, 1, { kind: "vote", body: forged });
    assert.equal(s.cache.verifyVote(forged), false);
    const qc = c.qc(1, hash(3));
    const tampered: QuorumCert = { ...qc, blockHash: hash(4) };
    await prepared(s, 2, proposal(tampered));
    assert.equal(s.cache.verifyQc(tampered), "BAD_AGGREGATE");
    // Three checks: the vote, the proposal's own signature (valid) and its QC.
    assert.deepEqual([s.cache.hits, s.inline.calls, s.work()], [2, 0, 3]);
    // Failures answer once; asked again, validation verifies inline — and agrees.
    assert.equal(s.cache.verifyVote(forged), false);
    assert.equal(s.cache.verifyQc(tampered), "BAD_AGGREGATE");
    assert.equal(s.inline.calls, 2);
  });

  test(`${name}: the QC a TC carries is prechecked like any QC, once when the proposal is justified by the same QC`, async () => {
    const s = make();
    const tcWork = name === "inline" ? 1 : 0; // the pool leaves TCs themselves to validation
    const q1 = c.qc(1, hash(9));
    const tc = c.tc(2, [q1]);
    assert.equal(tc.highQc, q1);
    await prepared(s, 0, { kind: "tc", body: tc });
    assert.equal(s.work(), tcWork + 1);
    assert.equal(s.cache.verifyQc(q1), "ok");
    // A proposal for view 3 after that TC, justified by the QC it carries (an equal copy): one QC check at most.
    const q1copy: QuorumCert = { ...q1, aggregateSignature: Uint8Array.from(q1.aggregateSignature) };
    const s2 = make();
    await prepared(s2, 3, { kind: "proposal", body: c.proposal(c.block({ hash: q1.blockHash, height: 1 }, 3), q1copy, tc) });
    assert.equal(s2.work(), tcWork + 2); // + the proposal's own signature
    assert.equal(s2.cache.verifyQc(q1), "ok");
    assert.equal(s2.cache.verifyQc(q1copy), "ok");
    assert.equal(s2.inline.calls, 0);
  });

  test(`${name}: a proposal's own signature is prechecked, relayed or not; a forged one is recorded as refused`, async () => {
    const s = make();
    const q1 = c.qc(1, hash(2));
    const block = c.block({ hash: q1.blockHash, height: 1 }, 2);
    const real = c.proposal(block, q1);
    const forged = c.proposal(block, q1, null, 1); // validator 1's signature on leader 2's block
    const signedOf = (sig: Uint8Array) => ({ view: 2, blockHash: c.ref(block).hash, proposer: 2, signature: sig });
    await prepared(s, 1, { kind: "proposal", body: real }); // relayed by validator 1: origin is the signature
    await prepared(s, 3, { kind: "proposal", body: forged });
    assert.equal(s.work(), 3); // two proposal signatures, one QC (the second proposal's QC is known)
    assert.equal(s.cache.verifyProposal(signedOf(real.signature)), true);
    assert.equal(s.cache.verifyProposal(signedOf(forged.signature)), false);
    assert.deepEqual([s.cache.hits, s.inline.calls], [2, 0]);
  });

  test(`${name}: messages whose origin checks fail cost no signature work`, async () => {
    const s = make();
    const v = c.vote(1, 5, hash(1));
    const qc = c.qc(3, hash(1));
    await prepared(s, 2, { kind: "vote", body: v }); // sender is not the voter
    await prepared(s, 7, { kind: "vote", body: { ...v, voter: 7 } }); // not a validator
    await prepared(s, 1, { kind: "timeout", body: c.timeout(1, 3, qc) }); // high QC not below the view
    const p = c.proposal(c.block({ hash: qc.blockHash, height: 1 }, 2), qc);
    await prepared(s, 1, { kind: "proposal", body: { ...p, block: { ...p.block, header: { ...p.block.header, proposer: 7 } } } }); // not a validator
    await prepared(s, 0, { kind: "qc", body: c.genesisQc }); // the genesis QC carries no signature
    assert.equal(s.work(), 0);
    assert.equal(s.cache.verifyVote(v), true);
    assert.equal(s.inline.calls, 1);
  });

  test(`${name}: ready is called exactly once for every kind of message, malformed ones included, and prepare never throws`, async () => {
    const s = make();
    const q1 = c.qc(1, hash(5));
    const tc = c.tc(1, [c.genesisQc]);
    const messages: [number, Message][] = [
      [1, { kind: "vote", body: c.vote(1, 4, hash(5)) }],
      [1, { kind: "timeout", body: c.timeout(1, 4, q1) }],
      [2, proposal(q1, tc)],
      [0, { kind: "qc", body: q1 }],
      [0, { kind: "tc", body: tc }],
      [0, { kind: "syncResponse", body: { requestId: 1, blocks: [{ block: c.block(c.ref(c.genesis), 1), qc: q1 }] } }],
      [0, { kind: "hello", body: { chainId: CHAIN_ID, committedHeight: 0, committedHash: hash(0) } }],
      [0, { kind: "txBatch", body: { txs: [utf8("tx")] } }],
      [1, { kind: "vote", body: { ...c.vote(1, 4, hash(6)), blockHash: new Uint8Array(33) } }], // malformed: validation refuses it
      [1, { kind: "vote", body: { ...c.vote(1, 4, hash(6)), signature: new Uint8Array(7) } }],
      [0, { kind: "qc", body: { ...q1, signers: new Uint8Array(3).fill(0xff) } }],
    ];
    const runs = messages.map(([from, msg]) => prepare(s, from, msg));
    await Promise.all(runs.map((r) => r.done));
    // Checked after every other message settled, so a late second call would have had its turn.
    assert.deepEqual(
      runs.map((r) => r.calls()),
      messages.map(() => 1),
    );
  });
}

test("inline: ready is called before prepare returns, and a TC is checked ahead too", () => {
  const s = inlined();
  const tc = c.tc(1, [c.genesisQc]);
  const q1 = c.qc(1, hash(8));
  for (const [from, msg] of [
    [0, { kind: "tc", body: tc }],
    [2, proposal(q1, tc)],
    [1, { kind: "vote", body: c.vote(1, 4, hash(8)) }],
    [0, { kind: "hello", body: { chainId: CHAIN_ID, committedHeight: 0, committedHash: hash(0) } }],
  ] as [number, Message][]) {
    let calls = 0;
    s.precheck.prepare(from, msg, () => calls++);
    assert.equal(calls, 1, msg.kind);
  }
  assert.equal(s.cache.verifyTc(tc), "ok");
  assert.equal(s.cache.verifyQc(q1), "ok");
  assert.equal(s.inline.calls, 0);
});

test("pooled: TCs are left to validation; a full, closed, failing or closing pool still means ready, then inline verification", async () => {
  const s = pooled();
  const tc = c.tc(1, [c.genesisQc]);
  await prepared(s, 0, { kind: "tc", body: tc });
  assert.equal(s.work(), 0);
  assert.equal(s.cache.verifyTc(tc), "ok");
  assert.equal(s.inline.calls, 1);

  const v = c.vote(1, 5, hash(2));
  const closed = await MainThreadBlsVerifier.create();
  await closed.close();
  for (const [p, mode] of [
    [pool, "full"],
    [pool, "throws"],
    [closed, "ok"],
  ] as const) {
    const r = pooled(p, mode);
    const run = prepare(r, 1, { kind: "vote", body: v });
    if (mode !== "ok") assert.equal(run.calls(), 1, `${mode}: ready before prepare returns`);
    await run.done;
    assert.equal(run.calls(), 1);
    assert.equal(r.precheck.refused, 1, mode);
    assert.equal(r.cache.verifyVote(v), true);
    assert.equal(r.inline.calls, 1);
  }
  // A pool closed while a job waits in its buffer (catch-up QCs are not priority, so they wait for company).
  const slow = await MainThreadBlsVerifier.create({ maxBufferWaitMs: 60_000 });
  const r = pooled(slow);
  const qc = c.qc(1, hash(2));
  const run = prepare(r, 0, { kind: "syncResponse", body: { requestId: 1, blocks: [{ block: c.block(c.ref(c.genesis), 1), qc }] } });
  assert.deepEqual([run.calls(), r.work()], [0, 1]);
  await slow.close();
  await run.done;
  assert.equal(r.precheck.refused, 1);
  assert.equal(r.cache.verifyQc(qc), "ok");
  assert.equal(r.inline.calls, 1);
});
