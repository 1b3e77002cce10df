import { test } from "node:test";
import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { loadBlsBackend } from "../../../../src/crypto/bls/backend.js";
import { NodeHasher } from "../../../../src/crypto/hash/node.js";
import { Bitset, decodeBitmap, encodeBitmap } from "../../../../src/crypto/bitmap/index.js";
import { ModularApplication } from "../../../../src/chain/app/modular.js";
import { KvModule } from "../../../../src/chain/app/kvApp.js";
import { encodeKvTx } from "../../../../src/chain/app/kvTx.js";
import { attachSignature, encodeAccountTxBody } from "../../../../src/chain/app/accounts/accountTx.js";
import { ParacrossModule } from "../../../../src/chain/app/paracross/module.js";
import type { EscrowLedger } from "../../../../src/chain/app/paracross/module.js";
import { encodeGroupTx, encodeParaTx } from "../../../../src/chain/app/paracross/format.js";
import { verifyDoneCommit } from "../../../../src/chain/app/paracross/verify.js";
import { testCommitTx, testMessage, testPara } from "../../../../src/chain/app/paracross/testonly.js";
import type { TestPara } from "../../../../src/chain/app/paracross/testonly.js";
import { bytesEqual, toHex, utf8 } from "../../../../src/util/bytes.js";
import { MapState } from "../../../../src/chain/app/mapState.js";

const bls = await loadBlsBackend("blst");
const hasher = new NodeHasher();
const A = testPara(bls, "alpha", 4);
const B = testPara(bls, "beta", 4, 1);

class FakeEscrow implements EscrowLedger {
  readonly calls: { title: string; to: string; amount: number }[] = [];
  releaseEscrow(title: string, to: Uint8Array, amount: number): boolean {
    this.calls.push({ title, to: toHex(to), amount });
    return true;
  }
}

interface Chain {
  readonly app: ModularApplication;
  readonly px: ParacrossModule;
  readonly state: MapState;
  readonly escrow: FakeEscrow;
  height: number;
  roots: string[];
  /** Runs one block; returns each tx's failure code (null when it succeeded). */
  block(txs: readonly Uint8Array[]): (string | null)[];
}

function chain(): Chain {
  const state = new MapState();
  const app = new ModularApplication({}, { committed: state, hasher });
  app.use(new KvModule(app.state));
  const escrow = new FakeEscrow();
  const px = app.use(new ParacrossModule({ paras: [A.registration, B.registration] }, { state: app.namespace(0x20), bls, hasher, escrow }));
  const c: Chain = {
    app,
    px,
    state,
    escrow,
    height: 0,
    roots: [],
    block(txs) {
      c.height++;
      app.beginBlock(state, { height: c.height, txCount: txs.length, txs });
      const codes = txs.map((tx, i) => {
        const r = app.deliver(tx, i);
        return r.ok ? null : r.code;
      });
      c.roots.push(toHex(app.commit()));
      return codes;
    },
  };
  return c;
}

/** Commit txs of `signers` for one message each. */
const commits = (p: TestPara, signers: readonly number[], msg: Uint8Array): Uint8Array[] => signers.map((i) => testCommitTx(bls, hasher, p.secrets[i]!, i, [msg]));

test("paracross: a height is done at 3 of 4 signers, not at 2", () => {
  const c = chain();
  c.block([]);
  const m1 = testMessage("alpha", 1, 1);
  assert.deepEqual(c.block(commits(A, [0, 1], m1)), [null, null]);
  assert.deepEqual(c.px.status("alpha"), { title: "alpha", nodes: 4, doneHeight: 0, recordedHeight: 0, holes: [] });
  assert.equal(c.px.doneCommit("alpha", 1), null);
  assert.deepEqual(c.block(commits(A, [2], m1)), [null]);
  assert.equal(c.px.status("alpha")!.doneHeight, 1);
  const done = c.px.doneCommit("alpha", 1)!;
  assert.equal(done.signerCount, 3);
  assert.ok(bytesEqual(done.message, m1));
  assert.deepEqual([...decodeBitmap(done.signers).toIndices()], [0, 1, 2]);
  // Oracle: the stored aggregate is the sum of the three signatures, checked by the backend's own multi-verify.
  const pks = [0, 1, 2].map((i) => bls.publicKeyFromBytes(A.registration.nodes[i]!));
  assert.ok(verifyDoneCommit(done, A.registration, bls, hasher).ok);
  assert.ok(bls.fastAggregateVerify(signing(m1), pks, bls.signatureFromBytes(done.aggregateSignature)));
  assert.equal(c.px.status("beta")!.doneHeight, 0);
  assert.equal(c.px.status("gamma"), null);
});

test("paracross: two messages with two signers each make no height done", () => {
  const c = chain();
  c.block([]);
  const a = testMessage("alpha", 1, 1);
  const b = testMessage("alpha", 1, 1, { variant: 1 });
  assert.deepEqual(c.block([...commits(A, [0, 1], a), ...commits(A, [2, 3], b)]), [null, null, null, null]);
  assert.deepEqual(c.px.status("alpha"), { title: "alpha", nodes: 4, doneHeight: 0, recordedHeight: 0, holes: [] });
});

test("paracross: a later height with a quorum waits for the hole below it", () => {
  const c = chain();
  c.block([]);
  c.block([]);
  c.block(commits(A, [0, 1, 2], testMessage("alpha", 2, 2)));
  assert.deepEqual(c.px.status("alpha"), { title: "alpha", nodes: 4, doneHeight: 0, recordedHeight: 2, holes: [1] });
  assert.equal(c.px.doneCommit("alpha", 2), null);
  c.block(commits(A, [1, 2, 3], testMessage("alpha", 1, 1)));
  assert.deepEqual(c.px.status("alpha"), { title: "alpha", nodes: 4, doneHeight: 2, recordedHeight: 2, holes: [] });
  assert.equal(c.px.doneCommit("alpha", 1)!.signerCount, 3);
  assert.equal(c.px.doneCommit("alpha", 2)!.decoded.mainHeight, 2);
});

test("paracross: refusals — forged signature, non-member, replay, at or below done, mixed titles", () => {
  const c = chain();
  c.block([]);
  const m1 = testMessage("alpha", 1, 1);
  const rootBefore = c.roots.at(-1);
  // Node 0 signs as node 1: a valid BLS signature, by the wrong key.
  assert.deepEqual(c.block([testCommitTx(bls, hasher, A.secrets[0]!, 1, [m1])]), ["BAD_SIGNATURE"]);
  assert.equal(c.roots.at(-1), rootBefore, "a refused commit changes no state");
  assert.deepEqual(c.block([testCommitTx(bls, hasher, A.secrets[0]!, 4, [m1])]), ["NOT_PARA_NODE"]);
  assert.deepEqual(c.block([testCommitTx(bls, hasher, A.secrets[0]!, 0, [m1, testMessage("beta", 1, 1)])]), ["MIXED_TITLES"]);
  assert.equal(c.roots.at(-1), rootBefore);
  const tx0 = testCommitTx(bls, hasher, A.secrets[0]!, 0, [m1]);
  assert.deepEqual(c.block([tx0]), [null]);
  assert.deepEqual(c.block([tx0, testCommitTx(bls, hasher, A.secrets[0]!, 0, [m1])]), ["DUPLICATE_COMMIT", "DUPLICATE_COMMIT"]);
  c.block(commits(A, [1, 2], m1));
  assert.equal(c.px.status("alpha")!.doneHeight, 1);
  assert.deepEqual(c.block(commits(A, [3], m1)), ["ALREADY_DONE"]);
  // A forged signature at or below done costs nothing and is skipped, not refused as bad.
  assert.deepEqual(c.block([testCommitTx(bls, hasher, A.secrets[0]!, 3, [m1])]), ["ALREADY_DONE"]);
  // One signer opens at most two messages per height (a correction), in one tx or across txs.
  const variants = [1, 2, 3].map((v) => testMessage("alpha", 2, 2, { variant: v }));
  assert.deepEqual(c.block([testCommitTx(bls, hasher, A.secrets[0]!, 0, variants)]), ["TOO_MANY_MESSAGES"]);
  assert.deepEqual(c.block([testCommitTx(bls, hasher, A.secrets[0]!, 0, variants.slice(0, 2)), testCommitTx(bls, hasher, A.secrets[0]!, 0, variants.slice(2))]), [null, "TOO_MANY_MESSAGES"]);
  // Done commits' main heights increase.
  assert.deepEqual(c.block([testCommitTx(bls, hasher, A.secrets[0]!, 0, [testMessage("alpha", 2, 1)])]), ["BAD_MAIN_HEIGHT"]);
});

test("paracross: one bad signature in a block fails only its own tx", () => {
  const c = chain();
  c.block([]);
  const m1 = testMessage("alpha", 1, 1);
  const txs = commits(A, [0, 1, 3], m1);
  txs.splice(2, 0, testCommitTx(bls, hasher, A.secrets[3]!, 2, [m1]));
  const beta = commits(B, [0, 1, 2], testMessage("beta", 1, 1));
  assert.deepEqual(c.block([...txs, ...beta]), [null, null, "BAD_SIGNATURE", null, null, null, null]);
  const done = c.px.doneCommit("alpha", 1)!;
  assert.deepEqual([...decodeBitmap(done.signers).toIndices()], [0, 1, 3]);
  assert.ok(verifyDoneCommit(done, A.registration, bls, hasher).ok);
  assert.equal(c.px.status("beta")!.doneHeight, 1);
});

test("paracross: a done height credits its successful withdrawals exactly once", () => {
  const c = chain();
  const alice = new Uint8Array(32).fill(0xa1);
  const bob = new Uint8Array(32).fill(0xb0);
  const withdraw = (to: Uint8Array, amount: number, nonce: number): Uint8Array =>
    encodeParaTx("alpha", attachSignature(encodeAccountTxBody({ op: "withdraw", from: new Uint8Array(32).fill(9), nonce, amount, to, title: "alpha" }), new Uint8Array(64)));
  // Main block 1 carries two withdrawals of alpha (para txs 0 and 1) and one of beta.
  assert.deepEqual(c.block([withdraw(alice, 7, 0), withdraw(bob, 9, 1), encodeParaTx("beta", attachSignature(encodeAccountTxBody({ op: "withdraw", from: alice, nonce: 0, amount: 5, to: alice, title: "beta" }), new Uint8Array(64)))]), [null, null, null]);
  // The para chain ran both; the second failed there (result bit 1 set), so only alice is credited.
  const m1 = testMessage("alpha", 1, 1, { packed: 2, failed: [1], cross: [0, 1] });
  c.block(commits(A, [0, 1], m1));
  assert.deepEqual(c.escrow.calls, []);
  c.block(commits(A, [2], m1));
  assert.deepEqual(c.escrow.calls, [{ title: "alpha", to: toHex(alice), amount: 7 }]);
  c.block(commits(A, [3], m1));
  c.block(commits(A, [0, 1, 2], testMessage("alpha", 2, 2)));
  assert.equal(c.escrow.calls.length, 1, "credited once");
  // Beta's height 1 is done with its withdrawal's result bit set: nothing credited.
  c.block(commits(B, [0, 1, 2], testMessage("beta", 1, 1, { packed: 1, failed: [0], cross: [0] })));
  assert.equal(c.px.status("beta")!.doneHeight, 1);
  assert.equal(c.escrow.calls.length, 1);
});

test("paracross: groups run their main legs as one and only check their para legs", () => {
  const c = chain();
  const put = encodeKvTx({ op: "put", nonce: new Uint8Array(8), key: utf8("k"), value: utf8("v") });
  const badDel = encodeKvTx({ op: "delete", nonce: new Uint8Array(8).fill(1), key: utf8("absent") });
  const para = encodeParaTx("alpha", utf8("inner"));
  assert.deepEqual(c.block([encodeGroupTx([put, para]), encodeGroupTx([put, badDel]), encodeGroupTx([put, encodeParaTx("gamma", utf8("x"))]), para, encodeParaTx("gamma", utf8("x"))]), [
    null,
    "GROUP_LEG_FAILED:NOT_FOUND",
    "GROUP_LEG_FAILED:UNKNOWN_TITLE",
    null,
    "UNKNOWN_TITLE",
  ]);
  assert.ok(bytesEqual(c.app.query(utf8("k"))!, utf8("v")));
  // A commit tx as a leg is verified when delivered (beginBlock only sees top-level commit txs).
  const m1 = testMessage("alpha", 1, 1);
  const forged = testCommitTx(bls, hasher, A.secrets[0]!, 1, [m1]);
  assert.deepEqual(c.block([encodeGroupTx([commits(A, [0], m1)[0]!, put]), encodeGroupTx([forged, put])]), [null, "GROUP_LEG_FAILED:BAD_SIGNATURE"]);
  c.block(commits(A, [1, 2], m1));
  assert.deepEqual([...decodeBitmap(c.px.doneCommit("alpha", 1)!.signers).toIndices()], [0, 1, 2]);
});

test("paracross: verifyDoneCommit accepts the stored commit and refuses tampering and a short quorum", () => {
  const c = chain();
  c.block([]);
  c.block(commits(A, [0, 2, 3], testMessage("alpha", 1, 1)));
  const done = c.px.doneCommit("alpha", 1)!;
  assert.deepEqual(verifyDoneCommit(done, A.registration, bls, hasher), { ok: true, signerCount: 3 });
  const flipped = done.message.slice();
  flipped[flipped.length - 40]! ^= 1;
  assert.equal(code(verifyDoneCommit({ ...done, message: flipped }, A.registration, bls, hasher)), "BAD_SIGNATURE");
  const sig = done.aggregateSignature.slice();
  sig[50]! ^= 1;
  assert.equal(code(verifyDoneCommit({ ...done, aggregateSignature: sig }, A.registration, bls, hasher)), "BAD_SIGNATURE");
  const two = encodeBitmap(Bitset.fromIndices(4, [0, 2]));
  assert.equal(code(verifyDoneCommit({ ...done, signers: two }, A.registration, bls, hasher)), "BELOW_QUORUM");
  const otherThree = encodeBitmap(Bitset.fromIndices(4, [0, 1, 2]));
  assert.equal(code(verifyDoneCommit({ ...done, signers: otherThree }, A.registration, bls, hasher)), "BAD_SIGNATURE");
  assert.equal(code(verifyDoneCommit(done, B.registration, bls, hasher)), "UNKNOWN_TITLE");
  assert.equal(code(verifyDoneCommit({ ...done, signers: new Uint8Array([0xff]) }, A.registration, bls, hasher)), "MALFORMED");
});

test("paracross: two applications fed the same blocks reach the same state roots", () => {
  const m1 = testMessage("alpha", 1, 1);
  const blocks: Uint8Array[][] = [[], commits(A, [0, 1], m1), [...commits(A, [2, 3], m1), ...commits(A, [0, 1, 2], testMessage("alpha", 3, 2))], commits(A, [1, 2, 3], testMessage("alpha", 2, 2))];
  const x = chain();
  const y = chain();
  for (const b of blocks) {
    x.block(b);
    y.block(b);
  }
  assert.deepEqual(x.roots, y.roots);
  assert.equal(new Set(x.roots).size, blocks.length, "every block changed the state");
  // Height 3 reached its quorum with main height 2 before height 2 was done with main height 2: it can never be
  // done (done commits' main heights increase), so it is a hole again.
  assert.deepEqual(x.px.status("alpha"), { title: "alpha", nodes: 4, doneHeight: 2, recordedHeight: 3, holes: [3] });
});

/** The signing bytes, built from the format's spec with an independent SHA-256 (noble). */
function signing(m: Uint8Array): Uint8Array {
  return new Uint8Array([...utf8("QUIRE-PARA-COMMIT-V1"), ...sha256(m)]);
}

function code(v: { ok: boolean; code?: string }): string | null {
  return v.ok ? null : (v.code ?? null);
}

// --- Review findings (Dec 3) -----------------------------------------------------------------------------------------

test("paracross: a deposit wrapped in a para tx (alone or as a group leg) and a deposit as a group's main leg are refused, never packed", async () => {
  const { packParaTxs } = await import("../../../../src/chain/app/paracross/packing.js");
  const c = chain();
  c.block([]);
  // Unsigned on purpose: wrapped, nobody would ever check its signature (the para chain credits deposits it packs).
  const deposit = attachSignature(encodeAccountTxBody({ op: "deposit", from: new Uint8Array(32).fill(1), nonce: 0, amount: 1_000_000, to: new Uint8Array(32).fill(2), title: "alpha" }), new Uint8Array(64));
  const wrapped = encodeParaTx("alpha", deposit);
  const inGroup = encodeGroupTx([encodeKvTx({ op: "put", nonce: new Uint8Array(8), key: utf8("k"), value: utf8("v") }), wrapped]);
  const depositLeg = encodeGroupTx([deposit, encodeParaTx("alpha", encodeKvTx({ op: "put", nonce: new Uint8Array(8), key: utf8("p"), value: utf8("v") }))]);
  for (const [tx, code] of [[wrapped, "DEPOSIT_IN_PARA_TX"], [inGroup, "DEPOSIT_IN_PARA_TX"], [depositLeg, "DEPOSIT_IN_GROUP"]] as const) {
    const r = c.app.check(tx);
    assert.ok(!r.ok && r.code === code, `check: ${JSON.stringify(r)}`);
  }
  assert.deepEqual(c.block([wrapped, inGroup, depositLeg]), ["DEPOSIT_IN_PARA_TX", "GROUP_LEG_FAILED:DEPOSIT_IN_PARA_TX", "GROUP_LEG_FAILED:DEPOSIT_IN_GROUP"]);
  // The packing rule skips wrapped deposits even where the main chain let one through (it cannot now).
  assert.deepEqual(packParaTxs("alpha", [wrapped, inGroup], () => true), []);
});

test("paracross: cancelling signatures (σa + X, σb − X) pass no check, so no stored aggregate goes bad", async () => {
  const { bls12_381 } = await import("@noble/curves/bls12-381.js");
  const G2 = bls12_381.G2.Point;
  const c = chain();
  c.block([]);
  const m = testMessage("alpha", 1, 1);
  const sig = (i: number): Uint8Array => bls.signatureToBytes(bls.sign(A.secrets[i]!, signing(m)), "compressed");
  const x = G2.fromHex(toHex(bls.signatureToBytes(bls.sign(A.secrets[3]!, utf8("anything")), "compressed")));
  const a = G2.fromHex(toHex(sig(0))).add(x).toBytes(true);
  const b = G2.fromHex(toHex(sig(1))).subtract(x).toBytes(true);
  const { encodeCommitTx } = await import("../../../../src/chain/app/paracross/format.js");
  const forged = [encodeCommitTx({ signer: 0, nonce: new Uint8Array(8), commits: [{ message: m, signature: a }] }), encodeCommitTx({ signer: 1, nonce: new Uint8Array(8), commits: [{ message: m, signature: b }] })];
  // Refused at admission, and in a block (a proposer may include txs no mempool admitted).
  for (const tx of forged) assert.ok(!c.app.check(tx).ok);
  assert.deepEqual(c.block(forged), ["BAD_SIGNATURE", "BAD_SIGNATURE"]);
  // The honest signatures still make the height done, and its certificate verifies.
  assert.deepEqual(c.block(commits(A, [0, 1, 2], m)), [null, null, null]);
  assert.ok(verifyDoneCommit(c.px.doneCommit("alpha", 1)!, A.registration, bls, hasher).ok);
});

test("paracross: commit txs are verified at admission; a block of unchecked ones costs a bounded number of pairings", () => {
  const c = chain();
  c.block([]);
  const good = testCommitTx(bls, hasher, A.secrets[0]!, 0, [testMessage("alpha", 1, 1)]);
  assert.deepEqual(c.app.check(good), { ok: true });
  // Signed by node 1's key, claiming node 0: refused before it reaches a mempool.
  const claimed = testCommitTx(bls, hasher, A.secrets[1]!, 0, [testMessage("alpha", 1, 1)]);
  const r = c.app.check(claimed);
  assert.ok(!r.ok && r.code === "BAD_SIGNATURE");
  // 60 unchecked commits of one signer in one block: the first 40 are checked (and valid), the rest fail unverified.
  const txs = [0, 1, 2].map((k) => testCommitTx(bls, hasher, A.secrets[2]!, 2, Array.from({ length: 20 }, (_, j) => testMessage("alpha", 1 + 20 * k + j, 1, { variant: 7 }))));
  assert.deepEqual(c.block(txs), [null, null, "TOO_MANY_COMMITS"]);
});

test("paracross: a withdrawal the escrow cannot cover is skipped and counted, and the chain goes on", () => {
  const state = new MapState();
  const app = new ModularApplication({}, { committed: state, hasher });
  const px = app.use(new ParacrossModule({ paras: [A.registration] }, { state: app.namespace(0x20), bls, hasher, escrow: { releaseEscrow: () => false } }));
  let height = 0;
  const block = (txs: readonly Uint8Array[]): (string | null)[] => {
    height++;
    app.beginBlock(state, { height, txCount: txs.length, txs });
    const codes = txs.map((tx, i) => {
      const res = app.deliver(tx, i);
      return res.ok ? null : res.code;
    });
    app.commit();
    return codes;
  };
  const w = attachSignature(encodeAccountTxBody({ op: "withdraw", from: new Uint8Array(32).fill(3), nonce: 0, amount: 5, to: new Uint8Array(32).fill(4), title: "alpha" }), new Uint8Array(64));
  assert.deepEqual(block([encodeParaTx("alpha", w)]), [null]);
  const m = testMessage("alpha", 1, 1, { packed: 1, cross: [0] });
  assert.deepEqual(block(commits(A, [0, 1, 2], m)), [null, null, null]);
  assert.equal(px.status("alpha")!.doneHeight, 1);
  assert.equal(px.escrowShort, 1);
});
