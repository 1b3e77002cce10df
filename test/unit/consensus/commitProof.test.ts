import { before, test } from "node:test";
import assert from "node:assert/strict";
import { hash as nodeHash } from "node:crypto";
import { sha256 } from "@noble/hashes/sha2.js";
import { bitmapSignerSets } from "../../../src/consensus/adapters/bitmapSignerSets.js";
import { BlsScheme, blsSigner } from "../../../src/consensus/adapters/blsScheme.js";
import { blockHash, blockHasher } from "../../../src/consensus/blockHash.js";
import { buildCommitProof, verifyCommitProof } from "../../../src/consensus/commitProof.js";
import type { CommitProof, CommitProofContext } from "../../../src/consensus/commitProof.js";
import { SchemeCertificates } from "../../../src/consensus/scheme.js";
import { voteMessage } from "../../../src/consensus/signing.js";
import { loadBlsBackend } from "../../../src/crypto/bls/backend.js";
import { keyGen } from "../../../src/crypto/bls/keygen.js";
import type { BlockHeader, QuorumCert } from "../../../src/domain/types.js";
import { utf8 } from "../../../src/util/bytes.js";

const N = 4;
const CHAIN = utf8("quire-proof-test");
const sha = (s: string): Uint8Array => new Uint8Array(nodeHash("sha256", s, "buffer"));

let ctx: CommitProofContext;
let certs: SchemeCertificates;
let sign: (voter: number, view: number, hash: Uint8Array) => Uint8Array;
/** A certified chain: heights 0..30; views skip (a timeout) after heights 5, 6 and 7, and after 20. */
let chain: { header: BlockHeader; qc: QuorumCert }[];

function qcFor(view: number, hash: Uint8Array, voters: readonly number[] = [0, 1, 2]): QuorumCert {
  return certs.assembleQc(voters.map((voter) => ({ view, blockHash: hash, voter, signature: sign(voter, view, hash) }))).qc!;
}

before(async () => {
  const backend = await loadBlsBackend("blst");
  const sks = Array.from({ length: N }, (_, i) => backend.secretKeyFromBytes(keyGen(sha(`proof-validator-${i}`))));
  const keys = sks.map((sk) => backend.publicKeyToBytes(backend.publicKeyOf(sk)));
  certs = new SchemeCertificates({ chainId: CHAIN, validatorCount: N }, new BlsScheme(backend, keys), bitmapSignerSets());
  const signers = sks.map((sk, i) => blsSigner(backend, sk, i));
  sign = (voter, view, hash) => signers[voter]!.sign(voteMessage(CHAIN, view, hash));
  ctx = { hashBlock: blockHasher(), certificates: certs };
  chain = [];
  let parent: Uint8Array = new Uint8Array(32);
  let view = 0;
  for (let height = 0; height <= 30; height++) {
    const header: BlockHeader = { parent, view, height, proposer: view % N, timestampMs: 1_000 + height, txRoot: sha(`txs/${height}`), parentStateRoot: sha(`state/${height}`), parentResults: new Uint8Array(0), parentSigners: new Uint8Array(0) };
    // The hash from an independent SHA-256 (noble), not the hasher the verifier uses.
    const hash = blockHash(header, (x) => sha256(x));
    chain.push({ header, qc: qcFor(view, hash) });
    parent = hash;
    view += [5, 6, 7, 20].includes(height) ? 2 : 1;
  }
});

const at = (h: number) => chain[h];

test("commit proof: two headers and two QCs when the next view follows; the proven hash is the block's", () => {
  const p = buildCommitProof(3, 30, at)!;
  assert.equal(p.headers.length, 2);
  const r = verifyCommitProof(p, ctx);
  assert.ok(r.ok);
  assert.equal(r.height, 3);
  assert.deepEqual(r.hash, chain[4]!.header.parent);
});

test("commit proof: after timeouts the proof runs to the first consecutive pair", () => {
  // Views: 5→6 at heights 5,6 skip; 6→7, 7→8 skip too; heights 8,9 are consecutive.
  const p = buildCommitProof(5, 30, at)!;
  assert.deepEqual(p.headers.map((h) => h.height), [5, 6, 7, 8, 9]);
  assert.ok(verifyCommitProof(p, ctx).ok);
  // No consecutive pair committed yet above: not provable.
  assert.equal(buildCommitProof(30, 30, at), null);
});

test("commit proof: a flipped byte, a broken link, a QC below quorum, a non-final pair and a wrong QC are refused with typed codes", () => {
  const good = buildCommitProof(10, 30, at)!;
  const code = (p: CommitProof) => {
    const r = verifyCommitProof(p, ctx);
    return r.ok ? "ok" : r.code;
  };
  assert.equal(code(good), "ok");
  // A flipped byte in the proven header: its hash changes, the next header no longer links.
  const flipped = { ...good.headers[0]!, txRoot: good.headers[0]!.txRoot.map((b, i) => (i === 0 ? b ^ 1 : b)) };
  assert.equal(code({ ...good, headers: [flipped, ...good.headers.slice(1)] }), "BAD_LINK");
  // QC of the last header signed by 2 of 4 (below the quorum of 3).
  const last = good.headers[1]!;
  const weak = qcFor(last.view, blockHash(last), [0, 1]);
  assert.equal(code({ ...good, qcs: [good.qcs[0], weak] }), "BAD_QC");
  // A QC for another block.
  assert.equal(code({ ...good, qcs: [good.qcs[1], good.qcs[1]] }), "QC_MISMATCH");
  // Views not consecutive at the end (heights 20, 21 after a timeout): not a commit.
  assert.equal(code({ headers: [chain[20]!.header, chain[21]!.header], qcs: [chain[20]!.qc, chain[21]!.qc] }), "NOT_COMMITTED");
  // A forged aggregate (valid signer set, bytes of another QC's signature).
  const forged = { ...good.qcs[1], aggregateSignature: good.qcs[0].aggregateSignature };
  assert.equal(code({ ...good, qcs: [good.qcs[0], forged] }), "BAD_QC");
  assert.equal(code({ headers: [good.headers[0]!], qcs: good.qcs }), "BAD_LENGTH");
});
