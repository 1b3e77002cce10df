import { before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { loadBlsBackend } from "../../../../src/crypto/bls/backend.js";
import type { BlsBackend, SecretKey } from "../../../../src/crypto/bls/backend.js";
import { keyGen } from "../../../../src/crypto/bls/keygen.js";
import { buildApplication } from "../../../../src/chain/app/build.js";
import type { BuiltApplication } from "../../../../src/chain/app/build.js";
import { MapState } from "../../../../src/chain/app/mapState.js";
import { decodeChangeTx, encodeChange, encodeChangeTx } from "../../../../src/chain/app/validators/format.js";
import { addChange, buildChangeTx } from "../../../../src/chain/app/validators/module.js";
import { bitmapSignerSets } from "../../../../src/consensus/adapters/bitmapSignerSets.js";
import { encodeGroupTx } from "../../../../src/chain/app/paracross/format.js";
import { encodeKvTx } from "../../../../src/chain/app/kvTx.js";
import { utf8 } from "../../../../src/util/bytes.js";
import { appBlocks } from "../support/fixtures.js";

const CHAIN = utf8("quire-valset-test");
let bls: BlsBackend;
let keys: SecretKey[];
before(async () => {
  bls = await loadBlsBackend("blst");
  keys = Array.from({ length: 8 }, (_, i) => bls.secretKeyFromBytes(keyGen(new Uint8Array(createHash("sha256").update(`valset-test/${i}`).digest()))));
});

const pub = (i: number): Uint8Array => bls.publicKeyToBytes(bls.publicKeyOf(keys[i]!), "compressed");

/** A chain of `n` genesis validators running the validators module alone, executed block by block. */
function chain(n: number, modules: ("validators" | "kv" | "accounts" | "paracross")[] = ["validators"]): { built: BuiltApplication; block(txs: Uint8Array[]): string[]; readonly height: number } {
  const state = new MapState();
  const built = buildApplication({ bucketBits: 4, modules, chainId: CHAIN, validators: Array.from({ length: n }, (_, i) => pub(i)) }, { committed: state, bls });
  const blocks = appBlocks(built.app, state);
  return {
    built,
    get height() {
      return blocks.height;
    },
    block: (txs) => blocks.block(txs),
  };
}

/** Members at `positions` (of the epoch's member list `members`) sign. */
const signedBy = (members: readonly number[], positions: readonly number[]) => positions.map((p) => ({ position: p, secretKey: keys[members[p]!]! }));

test("a quorum adds a validator from the block after next; the epoch, the registry and a replay are as specified", () => {
  const c = chain(4);
  const add = buildChangeTx(bls, CHAIN, 0, 4, addChange(bls, CHAIN, keys[4]!, "127.0.0.1", 26610), signedBy([0, 1, 2, 3], [0, 2, 3]));
  assert.deepEqual(c.block([add]), ["ok"]); // height 1
  const v = c.built.validators!;
  assert.deepEqual(v.epochs(), [
    { epoch: 0, startHeight: 1, members: [0, 1, 2, 3] },
    { epoch: 1, startHeight: 3, members: [0, 1, 2, 3, 4] },
  ]);
  assert.equal(v.epochAt(2).epoch, 0, "block 2 (the first after the one that commits the change) ends epoch 0");
  assert.equal(v.epochAt(3).epoch, 1);
  const reg = v.registry();
  assert.equal(reg.length, 5);
  assert.deepEqual(reg[4]!.address, { host: "127.0.0.1", port: 26610 });
  assert.deepEqual(reg[4]!.publicKey, pub(4));
  // The same signed change again: stale epoch. A change of epoch 1 before epoch 1 starts: pending.
  const remove = buildChangeTx(bls, CHAIN, 1, 5, { kind: "remove", index: 1 }, signedBy([0, 1, 2, 3, 4], [0, 1, 2, 4]));
  assert.deepEqual(c.block([add, remove]), ["WRONG_EPOCH", "CHANGE_PENDING"]); // height 2
  // From height 3 epoch 1's five members sign, with their quorum of 4 (3 of 5 is not enough).
  const weak = buildChangeTx(bls, CHAIN, 1, 5, { kind: "remove", index: 1 }, signedBy([0, 1, 2, 3, 4], [0, 1, 4]));
  assert.deepEqual(c.block([weak, remove]), ["NO_QUORUM", "ok"]); // height 3
  assert.deepEqual(v.epochs()[2], { epoch: 2, startHeight: 5, members: [0, 2, 3, 4] });
});

test("the signed message is domain ‖ len ‖ chainId ‖ u64 epoch ‖ change (written out independently)", () => {
  const c = chain(4);
  const change = { kind: "remove" as const, index: 3 };
  const changeBytes = encodeChange(change);
  assert.deepEqual([...changeBytes], [0x02, 0, 0, 0, 3]);
  const domain = utf8("quire-valset-change-v1");
  const message = new Uint8Array([...domain, CHAIN.length, ...CHAIN, 0, 0, 0, 0, 0, 0, 0, 0, ...changeBytes]);
  const sig = bls.aggregateSignatures([0, 1, 3].map((i) => bls.sign(keys[i]!, message)));
  const tx = encodeChangeTx(0, changeBytes, bitmapSignerSets().encode([0, 1, 3], 4), bls.signatureToBytes(sig, "compressed"));
  assert.deepEqual(c.block([tx]), ["ok"]);
  assert.deepEqual(c.built.validators!.epochs()[1]!.members, [0, 1, 2]);
});

test("forged and hostile changes are refused with typed codes and change nothing", () => {
  const c = chain(4);
  const m = [0, 1, 2, 3];
  const goodAdd = addChange(bls, CHAIN, keys[5]!, "10.0.0.5", 26600);
  const cases: [string, Uint8Array][] = [
    // Keys 0,1,2 are named as signers, but key 6 (no member) signed in place of 2.
    ["BAD_SIGNATURE", buildChangeTx(bls, CHAIN, 0, 4, goodAdd, [...signedBy(m, [0, 1]), { position: 2, secretKey: keys[6]! }])],
    ["NO_QUORUM", buildChangeTx(bls, CHAIN, 0, 4, goodAdd, signedBy(m, [0, 1]))],
    // The join signature was made for another port: the key's owner did not announce this address.
    ["BAD_JOIN_SIGNATURE", buildChangeTx(bls, CHAIN, 0, 4, { ...goodAdd, port: 26601 }, signedBy(m, [0, 1, 2]))],
    ["ALREADY_VALIDATOR", buildChangeTx(bls, CHAIN, 0, 4, addChange(bls, CHAIN, keys[2]!, "h", 1), signedBy(m, [0, 1, 2]))],
    ["NOT_VALIDATOR", buildChangeTx(bls, CHAIN, 0, 4, { kind: "remove", index: 7 }, signedBy(m, [0, 1, 2]))],
    ["WRONG_EPOCH", buildChangeTx(bls, CHAIN, 1, 4, { kind: "remove", index: 0 }, signedBy(m, [0, 1, 2]))],
    // Signed for another chain.
    ["BAD_SIGNATURE", buildChangeTx(bls, utf8("another-chain"), 0, 4, { kind: "remove", index: 0 }, signedBy(m, [0, 1, 2]))],
    ["BAD_KEY", buildChangeTx(bls, CHAIN, 0, 4, { ...goodAdd, publicKey: new Uint8Array(48).fill(0x11) }, signedBy(m, [0, 1, 2]))],
  ];
  for (const [code, tx] of cases) assert.deepEqual(c.block([tx]), [code], code);
  assert.equal(c.built.validators!.epochs().length, 1, "no epoch was scheduled");
  assert.equal(c.built.validators!.registry().length, 4);
  // A signer bitmap naming a position past the members.
  const good = buildChangeTx(bls, CHAIN, 0, 4, { kind: "remove", index: 0 }, signedBy(m, [0, 1, 2]));
  const d = decodeChangeTx(good);
  assert.ok(d.ok);
  const wide = encodeChangeTx(0, d.tx.changeBytes, bitmapSignerSets().encode([0, 1, 5], 6), d.tx.signature);
  assert.deepEqual(c.block([wide]), ["BAD_SIGNERS"]);
  // Every truncation, and the tx with a byte appended, is MALFORMED at admission and at delivery (never a throw).
  for (let cut = 0; cut < good.length; cut++) {
    const t = good.subarray(0, cut);
    assert.equal(c.built.app.check(t).ok, false);
    if (cut > 0) assert.deepEqual(c.block([t]), ["MALFORMED"]);
  }
  assert.deepEqual(c.block([Uint8Array.of(...good, 0)]), ["MALFORMED"]);
  assert.deepEqual(c.block([good]), ["ok"], "the untouched tx still applies");
});

test("a removed validator added again keeps its registry index; the last validator cannot be removed", () => {
  const c = chain(4);
  assert.deepEqual(c.block([buildChangeTx(bls, CHAIN, 0, 4, { kind: "remove", index: 1 }, signedBy([0, 1, 2, 3], [0, 1, 2]))]), ["ok"]);
  c.block([]);
  const members = c.built.validators!.epochs()[1]!.members;
  assert.deepEqual(members, [0, 2, 3]);
  assert.deepEqual(c.block([buildChangeTx(bls, CHAIN, 1, 3, addChange(bls, CHAIN, keys[1]!, "10.0.0.1", 9000), signedBy(members, [0, 1, 2]))]), ["ok"]);
  assert.deepEqual(c.built.validators!.epochs()[2]!.members, [0, 1, 2, 3]);
  assert.equal(c.built.validators!.registry().length, 4, "no new index");

  const one = chain(1);
  assert.deepEqual(one.block([buildChangeTx(bls, CHAIN, 0, 1, { kind: "remove", index: 0 }, signedBy([0], [0]))]), ["LAST_VALIDATOR"]);
});

test("two forks that register different keys under the same new index each verify with their own key", () => {
  const base = new MapState();
  const built = buildApplication({ bucketBits: 4, modules: ["validators"], chainId: CHAIN, validators: [0, 1, 2, 3].map(pub) }, { committed: base, bls });
  const run = (state: MapState, height: number, txs: Uint8Array[]): string[] => {
    built.app.beginBlock(state, { height, txCount: txs.length, txs });
    const out = txs.map((tx, i) => {
      const r = built.app.deliver(tx, i);
      return r.ok ? "ok" : r.code;
    });
    built.app.commit();
    return out;
  };
  const forkA = new MapState();
  const forkB = new MapState();
  const g = [0, 1, 2, 3];
  // Fork A registers key 4 as index 4; fork B registers key 5 as index 4.
  assert.deepEqual(run(forkA, 1, [buildChangeTx(bls, CHAIN, 0, 4, addChange(bls, CHAIN, keys[4]!, "a", 1), signedBy(g, [0, 1, 2]))]), ["ok"]);
  assert.deepEqual(run(forkB, 1, [buildChangeTx(bls, CHAIN, 0, 4, addChange(bls, CHAIN, keys[5]!, "b", 1), signedBy(g, [0, 1, 2]))]), ["ok"]);
  const five = [0, 1, 2, 3, 4];
  // In epoch 1 each fork's index 4 signs with its own key: key 4 on A, key 5 on B.
  const signedA = buildChangeTx(bls, CHAIN, 1, 5, { kind: "remove", index: 0 }, [...signedBy(five, [1, 2, 3]), { position: 4, secretKey: keys[4]! }]);
  const signedB = buildChangeTx(bls, CHAIN, 1, 5, { kind: "remove", index: 0 }, [...signedBy(five, [1, 2, 3]), { position: 4, secretKey: keys[5]! }]);
  assert.deepEqual(run(forkA, 3, [signedB, signedA]), ["BAD_SIGNATURE", "ok"]);
  assert.deepEqual(run(forkB, 3, [signedA, signedB]), ["BAD_SIGNATURE", "ok"]);
});

test("at most two changes per block reach the signature checks; the rest fail without BLS work", () => {
  const c = chain(4);
  const m = [0, 1, 2, 3];
  const forged = (i: number) => buildChangeTx(bls, CHAIN, 0, 4, { kind: "remove", index: i }, [...signedBy(m, [0, 1]), { position: 2, secretKey: keys[7]! }]);
  const genuine = buildChangeTx(bls, CHAIN, 0, 4, { kind: "remove", index: 3 }, signedBy(m, [0, 1, 2]));
  assert.deepEqual(c.block([forged(0), forged(1), forged(2), genuine]), ["BAD_SIGNATURE", "BAD_SIGNATURE", "TOO_MANY_CHANGES", "TOO_MANY_CHANGES"]);
  // The budget is per block: the genuine change applies in the next one, even after a forged one.
  assert.deepEqual(c.block([forged(0), genuine]), ["BAD_SIGNATURE", "ok"]);
});

test("an announced host follows the config's rule: ASCII host name or IP literal, at most 253 characters", () => {
  const tx = buildChangeTx(bls, CHAIN, 0, 4, addChange(bls, CHAIN, keys[4]!, "node-4.example", 26600), signedBy([0, 1, 2, 3], [0, 1, 2]));
  const d = decodeChangeTx(tx);
  assert.ok(d.ok && d.tx.change.kind === "add" && d.tx.change.host === "node-4.example");
  // tag, op, epoch, kind, key, join signature, host length: the host starts at byte 156; its '-' is its 5th byte.
  const at = 2 + 8 + 1 + 48 + 96 + 1 + 4;
  assert.equal(tx[at], 0x2d);
  for (const b of [0x2f, 0x40, 0x20, 0x0a, 0xc3, 0xef]) {
    const bad = Uint8Array.from(tx);
    bad[at] = b;
    const r = decodeChangeTx(bad);
    assert.ok(!r.ok && r.code === "BAD_HOST", `byte 0x${b.toString(16)}`);
  }
  assert.throws(() => addChange(bls, CHAIN, keys[4]!, "http://x", 1), RangeError);
  assert.throws(() => addChange(bls, CHAIN, keys[4]!, "a".repeat(254), 1), RangeError);
});

test("a change is never a leg of a paracross group (the commit cut sees top-level changes only); at the top level it applies", () => {
  const c = chain(4, ["kv", "accounts", "paracross", "validators"]);
  const add = buildChangeTx(bls, CHAIN, 0, 4, addChange(bls, CHAIN, keys[4]!, "127.0.0.1", 26610), signedBy([0, 1, 2, 3], [0, 1, 2]));
  const put = encodeKvTx({ op: "put", nonce: new Uint8Array(8), key: utf8("k"), value: utf8("v") });
  const [code] = c.block([encodeGroupTx([put, add])]);
  assert.match(code!, /NOT_NESTABLE/);
  assert.equal(c.built.validators!.epochs().length, 1, "no epoch scheduled by the group");
  assert.deepEqual(c.block([add]), ["ok"]);
  assert.equal(c.built.validators!.epochs().length, 2);
});
