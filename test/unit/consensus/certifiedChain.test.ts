import { before, test } from "node:test";
import assert from "node:assert/strict";
import { hash as nodeHash } from "node:crypto";
import { bitmapSignerSets } from "../../../src/consensus/adapters/bitmapSignerSets.js";
import { BlsScheme, blsSigner } from "../../../src/consensus/adapters/blsScheme.js";
import { blockHasher } from "../../../src/consensus/blockHash.js";
import { CertifiedChain } from "../../../src/consensus/certifiedChain.js";
import type { CertifiedChainContext, ServedBlock } from "../../../src/consensus/certifiedChain.js";
import { SchemeCertificates } from "../../../src/consensus/scheme.js";
import { voteMessage } from "../../../src/consensus/signing.js";
import { loadBlsBackend } from "../../../src/crypto/bls/backend.js";
import { keyGen } from "../../../src/crypto/bls/keygen.js";
import { merkleRoot } from "../../../src/crypto/merkle.js";
import type { BlockHeader, QuorumCert } from "../../../src/domain/types.js";
import { toHex, utf8 } from "../../../src/util/bytes.js";

const N = 4;
const CHAIN = utf8("quire-follow-test");
const sha = (s: string): Uint8Array => new Uint8Array(nodeHash("sha256", s, "buffer"));

let ctx: CertifiedChainContext;
let certs: SchemeCertificates;
let sign: (voter: number, view: number, hash: Uint8Array) => Uint8Array;
/** Heights 0..12 as an upstream serves them; views skip (a timeout) after heights 4 and 5. */
let chain: ServedBlock[];

function qcFor(view: number, hash: Uint8Array, voters: readonly number[] = [0, 1, 2]): QuorumCert {
  return certs.assembleQc(voters.map((voter) => ({ view, blockHash: hash, voter, signature: sign(voter, view, hash) }))).qc!;
}

before(async () => {
  const backend = await loadBlsBackend("blst");
  const sks = Array.from({ length: N }, (_, i) => backend.secretKeyFromBytes(keyGen(sha(`follow-validator-${i}`))));
  const keys = sks.map((sk) => backend.publicKeyToBytes(backend.publicKeyOf(sk)));
  certs = new SchemeCertificates({ chainId: CHAIN, validatorCount: N }, new BlsScheme(backend, keys), bitmapSignerSets());
  const signers = sks.map((sk, i) => blsSigner(backend, sk, i));
  sign = (voter, view, hash) => signers[voter]!.sign(voteMessage(CHAIN, view, hash));
  const hashBlock = blockHasher();
  ctx = { hashBlock, certificates: certs, txRoot: (txs) => merkleRoot(txs) };
  chain = [];
  let parent: Uint8Array = new Uint8Array(32);
  let view = 0;
  for (let height = 0; height <= 12; height++) {
    const txs = [utf8(`tx-${height}-a`), utf8(`tx-${height}-b`)];
    const header: BlockHeader = { parent, view, height, proposer: view % N, timestampMs: 1_000 + height, txRoot: merkleRoot(txs), parentStateRoot: sha(`state/${height}`), parentResults: new Uint8Array(0), parentSigners: new Uint8Array(0) };
    const hash = hashBlock(header);
    chain.push({ block: { header, txs }, hash, qc: qcFor(view, hash) });
    parent = hash;
    view += [4, 5].includes(height) ? 2 : 1;
  }
});

const fresh = () => new CertifiedChain(ctx, { height: 0, hash: chain[0]!.hash });
const range = (a: number, b: number) => chain.slice(a, b + 1);

test("certified chain: a block is released only once a later consecutive-view pair links back to it", () => {
  const c = fresh();
  // Height 1 alone: certified, not committed (no child yet).
  const r1 = c.offer(range(1, 1));
  assert.ok(r1.ok);
  assert.deepEqual(r1.committed, []);
  assert.equal(r1.pending, 1);
  assert.equal(c.committedHead.height, 0);
  // Height 2 in view(1) + 1: height 1 is committed, 2 waits.
  const r2 = c.offer(range(2, 2));
  assert.ok(r2.ok);
  assert.deepEqual(r2.committed.map((b) => b.block.header.height), [1]);
  assert.equal(c.tip.height, 2);
});

test("certified chain: across timeouts (views 4→6→8) blocks wait for the first consecutive pair, then commit together", () => {
  const c = fresh();
  const r = c.offer(range(1, 6));
  assert.ok(r.ok);
  // Pairs (3,4) consecutive; (4,5) and (5,6) are not: 1..3 committed, 4..6 wait.
  assert.deepEqual(r.committed.map((b) => b.block.header.height), [1, 2, 3]);
  assert.equal(r.pending, 3);
  const r2 = c.offer(range(7, 7));
  assert.ok(r2.ok);
  assert.deepEqual(r2.committed.map((b) => b.block.header.height), [4, 5, 6]);
  assert.deepEqual(c.committedHead, { height: 6, hash: chain[6]!.hash });
});

test("certified chain: a forged QC, a header that does not link, a wrong txRoot, a wrong hash, a missing QC are refused with typed codes and nothing is kept", () => {
  const code = (blocks: ServedBlock[]) => {
    const c = fresh();
    const r = c.offer(blocks);
    if (r.ok) return "ok";
    // Nothing kept: the tip and the committed head are still genesis.
    assert.equal(c.tip.height, 0);
    assert.equal(c.pending.length, 0);
    return `${r.code}@${r.height}`;
  };
  const good = range(1, 4);
  const with3 = (b: ServedBlock) => [...good.slice(0, 2), b, good[3]!];
  const b3 = good[2]!;
  assert.equal(code(good), "ok");
  // A QC below quorum (two signers of four), for the right block and view.
  assert.equal(code(with3({ ...b3, qc: qcFor(b3.qc!.view, b3.hash, [0, 1]) })), "BAD_QC@3");
  // A QC whose aggregate is another block's signature under this block's name.
  assert.equal(code(with3({ ...b3, qc: { ...b3.qc!, aggregateSignature: good[0]!.qc!.aggregateSignature } })), "BAD_QC@3");
  // A QC of another block.
  assert.equal(code(with3({ ...b3, qc: good[0]!.qc })), "QC_MISMATCH@3");
  assert.equal(code(with3({ ...b3, qc: null })), "MISSING_QC@3");
  // A gap, and a block from elsewhere at the right height.
  assert.equal(code([good[0]!, good[2]!]), "BAD_LINK@3");
  const foreignHeader: BlockHeader = { ...b3.block.header, parent: new Uint8Array(32).fill(7) };
  const foreignHash = ctx.hashBlock(foreignHeader);
  assert.equal(code(with3({ block: { ...b3.block, header: foreignHeader }, hash: foreignHash, qc: qcFor(foreignHeader.view, foreignHash) })), "BAD_LINK@3");
  // A body whose transactions are not the header's.
  assert.equal(code(with3({ ...b3, block: { ...b3.block, txs: [utf8("forged")] } })), "BAD_TX_ROOT@3");
  // A reported hash that is not the header's.
  assert.equal(code(with3({ ...b3, hash: good[0]!.hash })), "WRONG_HASH@3");
});

test("certified chain: a refused offer leaves earlier verified blocks in place, and a good one continues from them", () => {
  const c = fresh();
  assert.ok(c.offer(range(1, 2)).ok);
  const b3 = chain[3]!;
  const r = c.offer([{ ...b3, block: { ...b3.block, txs: [] } }]);
  assert.equal(r.ok ? "ok" : r.code, "BAD_TX_ROOT");
  assert.equal(c.tip.height, 2);
  assert.equal(c.committedHead.height, 1);
  const r2 = c.offer(range(3, 3));
  assert.ok(r2.ok);
  assert.deepEqual(r2.committed.map((b) => b.block.header.height), [2]);
});

test("certified chain: more blocks without commit evidence than the bound are refused", () => {
  const c = new CertifiedChain(ctx, { height: 4, hash: chain[4]!.hash }, { maxPending: 1 });
  // 5 and 6 follow timeouts: neither (4,5)... pairs (5,6) is not consecutive either: 2 would wait.
  const r = c.offer(range(5, 6));
  assert.equal(r.ok ? "ok" : r.code, "TOO_MANY_PENDING");
  assert.equal(c.tip.height, 4);
});

/** A certified block at `height` extending chain[height - 1] in `view`, which the honest chain does not contain. */
function orphan(height: number, view: number): ServedBlock {
  const txs = [utf8(`orphan-${height}`)];
  const p = chain[height - 1]!;
  const header: BlockHeader = { ...chain[height]!.block.header, parent: p.hash, view, height, txRoot: merkleRoot(txs) };
  const hash = ctx.hashBlock(header);
  return { block: { header, txs }, hash, qc: qcFor(view, hash) };
}

test("certified chain: a pending block the chain orphaned is replaced by an offer from the committed head, and the chain goes on", () => {
  const c = fresh();
  assert.ok(c.offer(range(1, 5)).ok);
  // Height 6 certified in view 7 (after height 5 in view 6): it commits 5 and waits; the chain went on without it.
  const b = orphan(6, 7);
  const r = c.offer([b]);
  assert.ok(r.ok);
  assert.deepEqual(c.pending.map((p) => toHex(p.hash)), [toHex(b.hash)]);
  assert.equal(c.committedHead.height, 5);
  // The honest 7 does not extend the orphan: refused, the orphan stays until an offer replaces it.
  const link = c.offer(range(7, 8));
  assert.equal(link.ok ? "ok" : `${link.code}@${link.height}`, "BAD_LINK@7");
  // From above the committed head: the honest branch replaces the orphan, and (7, 8) commits 6 and 7.
  const r2 = c.offer(range(6, 8));
  assert.ok(r2.ok);
  assert.deepEqual(r2.committed.map((x) => toHex(x.hash)), [6, 7].map((h) => toHex(chain[h]!.hash)));
  assert.deepEqual(c.tip, { height: 8, hash: chain[8]!.hash });
});

test("certified chain: an offer linking to a pending block below the tip cuts the pending run back to it; a refused one cuts nothing", () => {
  const c = fresh();
  assert.ok(c.offer(range(1, 6)).ok);
  assert.deepEqual(c.pending.map((p) => p.block.header.height), [4, 5, 6]);
  // A forged QC on a block linking to pending 5: refused, the pending run is intact.
  const b = orphan(6, 7);
  const forged = c.offer([{ ...b, qc: qcFor(7, b.hash, [0, 1]) }]);
  assert.equal(forged.ok ? "ok" : forged.code, "BAD_QC");
  assert.deepEqual(c.pending.map((p) => toHex(p.hash)), [4, 5, 6].map((h) => toHex(chain[h]!.hash)));
  // The same block, certified: it replaces 6, and (5, it) in views 6, 7 commits 4 and 5.
  const r = c.offer([b]);
  assert.ok(r.ok);
  assert.deepEqual(r.committed.map((x) => x.block.header.height), [4, 5]);
  assert.deepEqual(c.pending.map((p) => toHex(p.hash)), [toHex(b.hash)]);
});

test("certified chain: a QC for the same block hash in another view is QC_MISMATCH", () => {
  const c = fresh();
  const b1 = chain[1]!;
  const r = c.offer([{ ...b1, qc: qcFor(b1.block.header.view + 1, b1.hash) }]);
  assert.equal(r.ok ? "ok" : `${r.code}@${r.height}`, "QC_MISMATCH@1");
  assert.equal(c.pending.length, 0);
});
