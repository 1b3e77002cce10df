import { before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { bitmapSignerSets } from "../../../src/consensus/adapters/bitmapSignerSets.js";
import { BlsScheme, blsSigner } from "../../../src/consensus/adapters/blsScheme.js";
import { blockHash, blockHasher } from "../../../src/consensus/blockHash.js";
import { buildCommitProof } from "../../../src/consensus/commitProof.js";
import type { CommitProof } from "../../../src/consensus/commitProof.js";
import { verifyReceipt } from "../../../src/chain/receipt.js";
import type { Receipt, ReceiptContext } from "../../../src/chain/receipt.js";
import { SchemeCertificates } from "../../../src/consensus/scheme.js";
import { voteMessage } from "../../../src/consensus/signing.js";
import { loadBlsBackend } from "../../../src/crypto/bls/backend.js";
import { keyGen } from "../../../src/crypto/bls/keygen.js";
import { Bitset, decodeBitmap, encodeBitmap } from "../../../src/crypto/bitmap/index.js";
import { verifyInclusion } from "../../../src/crypto/merkle.js";
import type { BlockHeader, QuorumCert } from "../../../src/domain/types.js";
import { utf8 } from "../../../src/util/bytes.js";

// The oracle: RFC 6962 by hand over node:crypto, independent of src/crypto/merkle.ts and its WASM core.
const sha = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const leaf = (d: Uint8Array) => sha(Uint8Array.of(0), d);
const node = (l: Uint8Array, r: Uint8Array) => sha(Uint8Array.of(1), l, r);
function mth(d: readonly Uint8Array[]): Uint8Array {
  if (d.length === 0) return sha();
  if (d.length === 1) return leaf(d[0]!);
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return node(mth(d.slice(0, k)), mth(d.slice(k)));
}
/** RFC 6962 §2.1.1 PATH(m, D[n]), leaf level first. */
function path(m: number, d: readonly Uint8Array[]): Uint8Array[] {
  if (d.length <= 1) return [];
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return m < k ? [...path(m, d.slice(0, k)), mth(d.slice(k))] : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
}

const N = 4;
const CHAIN = utf8("quire-receipt-test");
const TXS_PER_BLOCK = 5;
/** Txs 1 and 3 of every block failed. */
const FAILED = [1, 3];

let ctx: ReceiptContext;
let certs: SchemeCertificates;
let sign: (voter: number, view: number, hash: Uint8Array) => Uint8Array;
let chain: { header: BlockHeader; qc: QuorumCert; txs: Uint8Array[] }[];

function qcFor(view: number, hash: Uint8Array, voters: readonly number[] = [0, 1, 2]): QuorumCert {
  return certs.assembleQc(voters.map((voter) => ({ view, blockHash: hash, voter, signature: sign(voter, view, hash) }))).qc!;
}

before(async () => {
  const backend = await loadBlsBackend("blst");
  const sks = Array.from({ length: N }, (_, i) => backend.secretKeyFromBytes(keyGen(sha(utf8(`receipt-validator-${i}`)))));
  const keys = sks.map((sk) => backend.publicKeyToBytes(backend.publicKeyOf(sk)));
  certs = new SchemeCertificates({ chainId: CHAIN, validatorCount: N }, new BlsScheme(backend, keys), bitmapSignerSets());
  const signers = sks.map((sk, i) => blsSigner(backend, sk, i));
  sign = (voter, view, hash) => signers[voter]!.sign(voteMessage(CHAIN, view, hash));
  ctx = { hashBlock: blockHasher(), certificates: certs };
  chain = [];
  let parent: Uint8Array = new Uint8Array(32);
  let view = 0;
  let prevResults = encodeBitmap(new Bitset(0));
  for (let height = 0; height <= 12; height++) {
    const txs = height === 0 ? [] : Array.from({ length: TXS_PER_BLOCK }, (_, i) => utf8(`tx ${height}/${i}`));
    const header: BlockHeader = { parent, view, height, proposer: view % N, timestampMs: 1_000 + height, txRoot: mth(txs), parentStateRoot: sha(utf8(`state/${height}`)), parentResults: prevResults, parentSigners: new Uint8Array(0) };
    const hash = blockHash(header, (x) => sha(x));
    chain.push({ header, qc: qcFor(view, hash), txs });
    parent = hash;
    // A timeout after height 6: heights 6 and 7 are not consecutive, so block 6 is proven by 6, 7, 8.
    view += height === 6 ? 2 : 1;
    prevResults = encodeBitmap(Bitset.fromIndices(txs.length, txs.length === 0 ? [] : FAILED));
  }
});

function receipt(h: number, index: number): Receipt {
  const commit = buildCommitProof(h, chain.length - 1, (i) => chain[i])!;
  const txs = chain[h]!.txs;
  return {
    id: sha(txs[index]!),
    tx: txs[index]!,
    index,
    failed: FAILED.includes(index),
    inclusion: { leafIndex: index, treeSize: txs.length, leafHash: leaf(txs[index]!), proof: path(index, txs) },
    commit,
  };
}

const code = (r: Receipt): string => {
  const v = verifyReceipt(r, ctx);
  return v.ok ? "ok" : v.code;
};

test("receipt: a committed tx verifies with its height, index, result and id; failed and succeeded alike", () => {
  for (const index of [0, 1, 3, 4]) {
    const v = verifyReceipt(receipt(3, index), ctx);
    assert.ok(v.ok, v.ok ? "" : `${v.code}: ${v.reason}`);
    assert.equal(v.height, 3);
    assert.equal(v.index, index);
    assert.equal(v.failed, FAILED.includes(index));
    assert.deepEqual(v.id, sha(chain[3]!.txs[index]!));
  }
  // After a timeout the commit proof has three headers; header h+1 is still the second.
  const r = receipt(6, 2);
  assert.equal(r.commit.headers.length, 3);
  assert.equal(code(r), "ok");
});

test("receipt: a flipped tx byte, a wrong index or tree size, a flipped result bit, a claimed id of another tx are refused", () => {
  const good = receipt(4, 2);
  assert.equal(code(good), "ok");
  const tx = good.tx.slice();
  tx[0]! ^= 1;
  // The id no longer matches the tx …
  assert.equal(code({ ...good, tx }), "ID_MISMATCH");
  // … and without a claimed id, the leaf hash does not.
  assert.equal(code({ ...good, id: undefined, tx }), "BAD_INCLUSION");
  // The flipped tx with a leaf hash and id made to match: the path no longer reaches the txRoot.
  assert.equal(code({ ...good, id: sha(tx), tx, inclusion: { ...good.inclusion, leafHash: leaf(tx) } }), "BAD_INCLUSION");
  // The same tx claimed at index 3 (the path of index 2 and of index 3 alike).
  assert.equal(code({ ...good, index: 3 }), "BAD_INCLUSION");
  assert.equal(code({ ...good, index: 3, inclusion: { ...good.inclusion, leafIndex: 3 } }), "BAD_INCLUSION");
  // Tx 0's path in 5 leaves also verifies as leaf 0 of 8 (all its siblings are on the right): the Merkle check alone
  // accepts it, the certified bitmap's length (5 bits) refuses it.
  const first = receipt(4, 0);
  const bigger = { ...first, inclusion: { ...first.inclusion, treeSize: 8 } };
  assert.ok(verifyInclusion(bigger.inclusion, chain[4]!.header.txRoot));
  const v = verifyReceipt(bigger, ctx);
  assert.ok(!v.ok && v.code === "BAD_INCLUSION" && v.reason.includes("tx count"), JSON.stringify(v));
  // The result bit flipped: tx 2 succeeded (the bitmap says so), the receipt claims it failed.
  assert.equal(decodeBitmap(good.commit.headers[1]!.parentResults).get(2), false);
  assert.equal(code({ ...good, failed: true }), "RESULT_MISMATCH");
  assert.equal(code({ ...receipt(4, 1), failed: false }), "RESULT_MISMATCH");
});

test("receipt: a forged result bitmap breaks the chain of hashes; below-quorum and uncommitted proofs keep their codes", () => {
  const good = receipt(4, 1);
  // Header h+1 with tx 1's bit cleared: the receipt's claim now matches the forged bitmap, but header h+1's hash
  // changed, so its QC no longer names it.
  const forgedNext = { ...good.commit.headers[1]!, parentResults: encodeBitmap(Bitset.fromIndices(TXS_PER_BLOCK, [3])) };
  const forged: CommitProof = { ...good.commit, headers: [good.commit.headers[0]!, forgedNext] };
  assert.equal(code({ ...good, failed: false, commit: forged }), "QC_MISMATCH");
  // Signers dropped from the bitmap of the last QC: 2 of 4, below the quorum of 3 (a QC re-signed by the two).
  const last = good.commit.headers[1]!;
  const weak = qcFor(last.view, blockHash(last, (x) => sha(x)), [0, 2]);
  assert.equal(code({ ...good, commit: { ...good.commit, qcs: [good.commit.qcs[0], weak] } }), "BAD_QC");
  // The original QC with its signer bitmap cut to two signers (the aggregate no longer matches either way).
  const cut = { ...good.commit.qcs[1], signers: encodeBitmap(Bitset.fromIndices(N, [0, 1])) };
  assert.equal(code({ ...good, commit: { ...good.commit, qcs: [good.commit.qcs[0], cut] } }), "BAD_QC");
  // Uncommitted: the last header stripped. Block 6 (proof 6, 7, 8) keeps 6, 7, whose views are not consecutive.
  const six = receipt(6, 0);
  const stripped: CommitProof = { headers: six.commit.headers.slice(0, 2), qcs: [chain[6]!.qc, chain[7]!.qc] };
  assert.equal(code({ ...six, commit: stripped }), "NOT_COMMITTED");
  // Block 4's two-header proof stripped to one header: no header h+1 at all.
  assert.equal(code({ ...good, commit: { ...good.commit, headers: good.commit.headers.slice(0, 1) } }), "BAD_LENGTH");
});
