/**
 * Signatures verified ahead of validation in the BLS verifier (the pool's contract, here its main-thread
 * implementation): validation then finds the verdicts instead of verifying inline; forged signatures and tampered
 * certificates are refused with the same outcome as inline verification; with the verifier closed, everything falls
 * back to inline verification.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { loadBlsBackend } from "../../../src/crypto/bls/backend.js";
import type { BlsBackend, SecretKey } from "../../../src/crypto/bls/backend.js";
import { keyGen } from "../../../src/crypto/bls/keygen.js";
import { MainThreadBlsVerifier } from "../../../src/crypto/bls/mainThread.js";
import { bitmapSignerSets } from "../../../src/consensus/adapters/bitmapSignerSets.js";
import { BlsScheme, blsSigner } from "../../../src/consensus/adapters/blsScheme.js";
import { SchemeCertificates } from "../../../src/consensus/scheme.js";
import { voteMessage } from "../../../src/consensus/signing.js";
import type { CertCheck, CertificateVerifier } from "../../../src/consensus/validation/verifier.js";
import { PrecheckedVerifier, SignaturePrecheck } from "../../../src/node/precheck.js";
import { utf8 } from "../../../src/util/bytes.js";
import type { QuorumCert, Timeout, TimeoutCert, Vote } from "../../../src/domain/types.js";

const CHAIN = utf8("quire-precheck-test");
const N = 4;
let backend: BlsBackend;
let secrets: SecretKey[];
let publicKeys: Uint8Array[];
let certs: SchemeCertificates;
let pool: MainThreadBlsVerifier;

/** Counts what reaches the inline verifier. */
class Counting implements CertificateVerifier {
  votes = 0;
  qcs = 0;
  constructor(private readonly inner: CertificateVerifier) {}
  verifyVote(v: Vote): boolean {
    this.votes++;
    return this.inner.verifyVote(v);
  }
  verifyTimeout(t: Timeout): boolean {
    return this.inner.verifyTimeout(t);
  }
  verifyQc(qc: QuorumCert): CertCheck {
    this.qcs++;
    return this.inner.verifyQc(qc);
  }
  verifyTc(tc: TimeoutCert): CertCheck {
    return this.inner.verifyTc(tc);
  }
}

before(async () => {
  backend = await loadBlsBackend("blst");
  secrets = Array.from({ length: N }, (_, i) => backend.secretKeyFromBytes(keyGen(utf8(`precheck test validator key ${i}.....`).subarray(0, 32))));
  publicKeys = secrets.map((sk) => backend.publicKeyToBytes(backend.publicKeyOf(sk)));
  certs = new SchemeCertificates({ chainId: CHAIN, validatorCount: N }, new BlsScheme(backend, publicKeys), bitmapSignerSets());
  pool = await MainThreadBlsVerifier.create();
});
after(() => pool.close());

function vote(voter: number, view: number, hash: Uint8Array): Vote {
  return { view, blockHash: hash, voter, signature: blsSigner(backend, secrets[voter]!, voter).sign(voteMessage(CHAIN, view, hash)) };
}

function setup(p = pool) {
  const inline = new Counting(certs);
  const verifier = new PrecheckedVerifier(inline);
  const precheck = new SignaturePrecheck({ chainId: CHAIN, publicKeys }, { backend, pool: p, signerSets: bitmapSignerSets(), verifier });
  return { inline, verifier, precheck };
}

test("a prechecked vote and QC are answered from the verifier's verdicts, not verified inline", async () => {
  const { inline, verifier, precheck } = setup();
  const hash = new Uint8Array(32).fill(7);
  const v = vote(1, 5, hash);
  await precheck.prepare(1, { kind: "vote", body: v });
  assert.equal(verifier.verifyVote(v), true);
  assert.equal(inline.votes, 0);
  const { qc } = certs.assembleQc([vote(0, 5, hash), vote(2, 5, hash), vote(3, 5, hash)]);
  assert.ok(qc !== null);
  await precheck.prepare(0, { kind: "qc", body: qc });
  assert.equal(verifier.verifyQc(qc), "ok");
  assert.equal(inline.qcs, 0);
  assert.equal(verifier.hits, 2);
  // A verdict is used once: asking again goes inline (and gives the same answer).
  assert.equal(verifier.verifyVote(v), true);
  assert.equal(inline.votes, 1);
});

test("forged votes and tampered QCs get the same refusal as inline verification", async () => {
  const { verifier, precheck } = setup();
  const hash = new Uint8Array(32).fill(3);
  const forged: Vote = { ...vote(2, 9, hash), voter: 1 }; // validator 2's signature claimed by validator 1
  await precheck.prepare(1, { kind: "vote", body: forged });
  assert.equal(verifier.verifyVote(forged), false);
  assert.equal(certs.verifyVote(forged), false);
  const { qc } = certs.assembleQc([vote(0, 9, hash), vote(1, 9, hash), vote(2, 9, hash)]);
  assert.ok(qc !== null);
  const tampered: QuorumCert = { ...qc, blockHash: new Uint8Array(32).fill(4) };
  await precheck.prepare(0, { kind: "proposal", body: { block: { header: { parent: tampered.blockHash, view: 10, height: 2, proposer: 0, timestampMs: 0, txRoot: new Uint8Array(32), parentStateRoot: new Uint8Array(32), parentResults: new Uint8Array(0) }, txs: [] }, qc: tampered, tc: null } });
  assert.equal(verifier.verifyQc(tampered), "BAD_AGGREGATE");
  assert.equal(certs.verifyQc(tampered), "BAD_AGGREGATE");
  assert.equal(verifier.hits, 2);
});

test("messages whose origin checks fail cost no verifier work; a closed verifier means inline verification", async () => {
  const { inline, verifier, precheck } = setup();
  const v = vote(1, 5, new Uint8Array(32).fill(1));
  await precheck.prepare(2, { kind: "vote", body: v }); // sender is not the voter: validation refuses it anyway
  assert.equal(verifier.verifyVote(v), true);
  assert.equal(verifier.hits, 0);
  assert.equal(inline.votes, 1);
  const closed = await MainThreadBlsVerifier.create();
  await closed.close();
  const c = setup(closed);
  await c.precheck.prepare(1, { kind: "vote", body: v });
  assert.equal(c.precheck.refused, 1);
  assert.equal(c.verifier.verifyVote(v), true);
  assert.equal(c.inline.votes, 1);
});
