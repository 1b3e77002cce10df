import { before, test } from "node:test";
import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { decodeCommitMessage, encodeGroupTx, encodeParaTx, commitSigningBytes } from "../../../../src/chain/app/paracross/format.js";
import { merkleRoot } from "../../../../src/crypto/merkle.js";
import { decodeBitmapIndices } from "../../../../src/crypto/bitmap/index.js";
import { loadBlsBackend } from "../../../../src/crypto/bls/backend.js";
import type { BlsBackend } from "../../../../src/crypto/bls/backend.js";
import { defaultHasher } from "../../../../src/crypto/hash/backends.js";
import { blockHash } from "../../../../src/consensus/blockHash.js";
import { ParaNodeError } from "../../../../src/node/para/errors.js";
import { del, FakeMain, paraChain, put, TITLE } from "./harness.js";

let backend: BlsBackend;
before(async () => {
  backend = await loadBlsBackend("blst");
});

/** Main blocks with para txs of this title, of another title, failed ones, and groups. */
function mainChain(): FakeMain {
  const main = new FakeMain();
  main.add([put("main-only", "x")]); // 1: no para tx
  main.add([encodeParaTx(TITLE, put("a", "1")), encodeParaTx("other", put("b", "2"))]); // 2
  main.add([]); // 3
  main.add([encodeParaTx(TITLE, put("c", "3"))], [0]); // 4: failed on the main chain: not packed
  main.add([encodeParaTx(TITLE, del("absent"))]); // 5: packed, fails on the para chain
  main.add([]); // 6
  return main;
}

// One main chain for every run (its txs carry fresh nonces each time it is made).
let shared: FakeMain | null = null;

function run(emptyBlockInterval: number, seed = 7) {
  const p = paraChain(backend, { startHeight: 2, emptyBlockInterval, seed });
  shared ??= mainChain();
  for (const b of shared.blocks) p.builder.apply(b);
  const msgs: Uint8Array[] = [];
  for (let h = 1; h <= p.builder.paraHeight; h++) msgs.push(p.builder.commit(h)!.message);
  return { ...p, msgs };
}

test("two builders fed the same main blocks make identical commit messages", () => {
  const a = run(1);
  const b = run(1, 9);
  assert.equal(a.msgs.length, 5); // main heights 2..6, one para block each (k = 1)
  assert.deepEqual(a.msgs, b.msgs);
  const hs = a.msgs.map((m) => decodeCommitMessage(m));
  assert.deepEqual(hs.map((d) => (d.ok ? [d.value.height, d.value.mainHeight] : null)), [[1, 2], [2, 3], [3, 4], [4, 5], [5, 6]]);
  // The commit's block hash is the stored block's header hash (independent SHA-256), and the signature verifies.
  const rec = a.store.committedAt(1)!;
  const d1 = hs[0]!;
  assert.ok(d1.ok);
  assert.deepEqual(d1.value.blockHash, blockHash(rec.block.header, (x) => sha256(x)));
  assert.equal(rec.block.header.view, 2);
  assert.equal(rec.block.header.timestampMs, 2_000);
  const c = a.builder.commit(1)!;
  assert.ok(backend.verify(commitSigningBytes(c.message, defaultHasher()), backend.publicKeyOf(a.sk), backend.signatureFromBytes(c.signature)));
  // The packed txs are the inner txs of this title's para txs (txRoot over them, by an independent Merkle call).
  assert.equal(rec.block.txs.length, 1);
  assert.deepEqual(rec.block.header.txRoot, merkleRoot(rec.block.txs, defaultHasher()));
});

test("a different empty-block interval builds a different chain", () => {
  const a = run(1);
  const b = run(3);
  // k = 3 from startHeight 2: main 2 (packed and (2-2)%3 = 0), 5 (packed, and (5-2)%3 = 0); 3, 4, 6 make none.
  assert.equal(b.msgs.length, 2);
  assert.notDeepEqual(a.msgs.slice(0, 2), b.msgs);
  const views = [1, 2].map((h) => b.store.committedAt(h)!.block.header.view);
  assert.deepEqual(views, [2, 5]);
});

test("group rule: a para leg of a failed group is not packed; the result bitmap covers only packed txs", () => {
  const p = paraChain(backend);
  const leg = put("leg", "1");
  const okLeg = put("ok", "2");
  const main = new FakeMain();
  main.add(
    [
      encodeParaTx(TITLE, put("first", "1")),
      encodeGroupTx([put("main-leg", "x"), encodeParaTx(TITLE, leg)]), // failed on the main chain
      encodeGroupTx([put("main-leg2", "y"), encodeParaTx(TITLE, okLeg)]),
      encodeParaTx(TITLE, del("missing")), // packed; fails on the para chain
    ],
    [1],
  );
  assert.equal(p.builder.apply(main.blocks[0]!), 1);
  const rec = p.store.committedAt(1)!;
  assert.equal(rec.block.txs.length, 3);
  assert.ok(!rec.block.txs.some((t) => Buffer.from(t).equals(leg)));
  assert.deepEqual(rec.block.txs[1], okLeg);
  const d = decodeCommitMessage(p.builder.commit(1)!.message);
  assert.ok(d.ok);
  assert.deepEqual([...decodeBitmapIndices(d.value.results, { length: 3 })], [2]);
  assert.deepEqual(p.built.kv!.query(new TextEncoder().encode("ok")), new TextEncoder().encode("2"));
});

test("main blocks are processed in order: an old one is ignored, a gap is refused", () => {
  const p = paraChain(backend);
  const main = mainChain();
  assert.equal(p.builder.apply(main.blocks[0]!), 1);
  assert.equal(p.builder.apply(main.blocks[0]!), null);
  assert.throws(() => p.builder.apply(main.blocks[2]!), (e: unknown) => e instanceof ParaNodeError && e.code === "BAD_MAIN_BLOCK");
});

test("a store commit that throws leaves the main block to be processed again, not skipped", () => {
  const p = paraChain(backend, { startHeight: 2 });
  const main = mainChain();
  p.builder.apply(main.blocks[0]!); // height 1: before startHeight, nothing made
  const real = p.executor.commit.bind(p.executor);
  let fail = true;
  p.executor.commit = (blocks) => {
    if (fail) throw new Error("disk full");
    return real(blocks);
  };
  assert.throws(() => p.builder.apply(main.blocks[1]!), /disk full/);
  assert.equal(p.builder.lastMainHeight, 1);
  fail = false;
  assert.equal(p.builder.apply(main.blocks[1]!), 1);
  assert.equal(p.builder.lastMainHeight, 2);
  assert.equal(p.store.committedAt(1)!.block.header.view, 2);
});
