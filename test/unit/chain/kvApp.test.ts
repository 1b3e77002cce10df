import { test } from "node:test";
import assert from "node:assert/strict";
import { KvApplication } from "../../../src/chain/app/kvApp.js";
import { encodeKvTx } from "../../../src/chain/app/kvTx.js";
import { BucketStateTree } from "../../../src/chain/app/stateTree.js";
import type { StateWriter } from "../../../src/chain/app/interface.js";
import { merkleRoot } from "../../../src/crypto/merkle.js";
import { NodeHasher } from "../../../src/crypto/hash/node.js";
import { utf8 } from "../../../src/util/bytes.js";
import type { SeededRng } from "../../../src/util/rng.js";
import { seededRng } from "../../support/seed.js";
import { mth, oracleRoot } from "./support/oracle.js";
import type { KvModel } from "./support/oracle.js";
import { MapState } from "../../../src/chain/app/mapState.js";

let nonceCounter = 0;
function nonce(): Uint8Array {
  const n = new Uint8Array(8);
  new DataView(n.buffer).setUint32(4, ++nonceCounter);
  return n;
}
const put = (k: string | Uint8Array, v: string | Uint8Array): Uint8Array =>
  encodeKvTx({ op: "put", nonce: nonce(), key: typeof k === "string" ? utf8(k) : k, value: typeof v === "string" ? utf8(v) : v });
const del = (k: string | Uint8Array): Uint8Array => encodeKvTx({ op: "delete", nonce: nonce(), key: typeof k === "string" ? utf8(k) : k });
const cas = (k: string, e: string, v: string): Uint8Array => encodeKvTx({ op: "cas", nonce: nonce(), key: utf8(k), expected: utf8(e), value: utf8(v) });

function runBlock(app: KvApplication, state: StateWriter, txs: readonly Uint8Array[], height = 1): { ok: boolean[]; codes: (string | null)[]; root: Uint8Array } {
  app.beginBlock(state, { height, txCount: txs.length, txs });
  const ok: boolean[] = [];
  const codes: (string | null)[] = [];
  txs.forEach((tx, i) => {
    const r = app.deliver(tx, i);
    ok.push(r.ok);
    codes.push(r.ok ? null : r.code);
  });
  return { ok, codes, root: app.commit() };
}

test("kv app: put, delete, cas semantics and failure codes", () => {
  const state = new MapState();
  const app = new KvApplication({}, { committed: state });
  const r = runBlock(app, state, [
    put("a", "1"),
    del("missing"),
    cas("missing", "x", "y"),
    cas("a", "2", "3"),
    cas("a", "1", "2"),
    del("a"),
    del("a"),
    put("b", ""),
    Uint8Array.of(9, 9, 9),
    Uint8Array.of(1, 9, 9),
    put(Uint8Array.of(0xff, 0x10, 1), "x"),
  ]);
  assert.deepEqual(r.codes, [null, "NOT_FOUND", "NOT_FOUND", "CAS_MISMATCH", null, null, "NOT_FOUND", null, "UNKNOWN_MODULE", "MALFORMED", "RESERVED_KEY"]);
  assert.equal(app.check(put(Uint8Array.of(0xff), "x")).ok, false);
  assert.equal(app.query(utf8("a")), undefined);
  assert.deepEqual(app.query(utf8("b")), new Uint8Array(0));
  assert.equal(app.query(new Uint8Array(0)), undefined);
});

test("state root: empty state is the MTH of 2^B empty bucket roots", () => {
  for (const bits of [1, 4, 16]) {
    const tree = new BucketStateTree(new NodeHasher(), bits);
    assert.deepEqual(tree.emptyRoot, oracleRoot(new Map(), bits, bits === 16 ? (l) => merkleRoot(l) : mth));
    assert.deepEqual(tree.root(new MapState()), tree.emptyRoot);
  }
});

function randomOps(rng: SeededRng, keys: readonly string[], count: number, model: KvModel): Uint8Array[] {
  const txs: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const k = keys[rng.int(keys.length)]!;
    if (rng.chance(0.3)) {
      txs.push(del(k));
      model.delete(k);
    } else {
      const v = rng.bytes(rng.int(40));
      txs.push(put(k, v));
      model.set(k, { key: utf8(k), value: v });
    }
  }
  return txs;
}

test("state root: incremental updates over many blocks match the definition computed from scratch (B = 6)", (t) => {
  const rng = seededRng(t);
  const state = new MapState();
  const app = new KvApplication({ bucketBits: 6 }, { committed: state, hasher: new NodeHasher() });
  const model = new Map() as KvModel;
  const keys = Array.from({ length: 300 }, (_, i) => `key-${i}`);
  for (let block = 0; block < 40; block++) {
    const txs = randomOps(rng, keys, 1 + rng.int(60), model);
    const { root } = runBlock(app, state, txs, block + 1);
    assert.deepEqual(root, oracleRoot(model, 6), `block ${block}`);
    assert.deepEqual(app.stateRoot(state), root);
  }
});

test("state root: default B = 16 matches the definition; deleting everything leaves an empty, canonical state", (t) => {
  const rng = seededRng(t);
  const state = new MapState();
  const app = new KvApplication({}, { committed: state });
  const model = new Map() as KvModel;
  const keys = Array.from({ length: 500 }, (_, i) => `k${i}`);
  const outer = (l: Uint8Array[]): Uint8Array => merkleRoot(l);
  for (let block = 0; block < 5; block++) {
    const { root } = runBlock(app, state, randomOps(rng, keys, 200, model), block + 1);
    assert.deepEqual(root, oracleRoot(model, 16, outer));
  }
  const { root } = runBlock(app, state, [...model.keys()].map((k) => del(k)), 9);
  assert.deepEqual(root, app.tree.emptyRoot);
  assert.equal(state.map.size, 0, "no entry, member record or tree node may remain for an empty state");
});

test("state root: independent of write order and of how writes are split into blocks", (t) => {
  const rng = seededRng(t);
  const entries = Array.from({ length: 200 }, (_, i) => [`key ${i}`, `value ${rng.u32()}`] as const);
  const a = new MapState();
  const appA = new KvApplication({ bucketBits: 8 }, { committed: a });
  const rootA = runBlock(appA, a, entries.map(([k, v]) => put(k, v))).root;
  const b = new MapState();
  const appB = new KvApplication({ bucketBits: 8 }, { committed: b });
  const shuffled = [...entries].sort(() => rng.float() - 0.5);
  let rootB: Uint8Array = new Uint8Array(0);
  for (let i = 0; i < shuffled.length; i += 37) {
    // Overwrite some keys with junk first, fixed later in the same block: only the final value counts.
    const chunk = shuffled.slice(i, i + 37);
    rootB = runBlock(appB, b, [...chunk.map(([k]) => put(k, "junk")), ...chunk.map(([k, v]) => put(k, v))], i + 1).root;
  }
  assert.deepEqual(rootB, rootA);
  assert.deepEqual([...b.map.keys()].sort(), [...a.map.keys()].sort());
});

test("kv app: a failed tx writes nothing and leaves the root unchanged", () => {
  const state = new MapState();
  const app = new KvApplication({}, { committed: state });
  const before = runBlock(app, state, [put("x", "1")]).root;
  const snapshot = new Map(state.map);
  const after = runBlock(app, state, [del("nope"), cas("x", "2", "3"), Uint8Array.of(1, 1)]);
  assert.deepEqual(after.ok, [false, false, false]);
  assert.deepEqual(after.root, before);
  assert.deepEqual(state.map, snapshot);
});

test("state tree: key hashes that tie on their first four bytes merge in full key-hash order (B = 6)", (t) => {
  // The update sorts changes by their first four key-hash bytes and orders ties by the whole hash: craft ties on
  // purpose (random key hashes tie with probability 2^-32), insert them in shuffled order over two blocks, replace
  // and delete some, and compare with the definition computed from (key hash, entry) pairs directly.
  const rng = seededRng(t);
  const tree = new BucketStateTree(new NodeHasher(), 6);
  const state = new MapState();
  const prefix = Uint8Array.of(0x9a, 0x42, 0x07, 0x31);
  const model = new Map<string, { kh: Uint8Array; entry: Uint8Array }>();
  const kh = (i: number): Uint8Array => {
    const h = new Uint8Array(32);
    h.set(i < 24 ? prefix : Uint8Array.of(i, 0x42, 0x07, 0x31));
    for (let j = 4; j < 32; j++) h[j] = (i * 37 + j * 11) & 255;
    h[31] = i;
    return h;
  };
  const oracle = (): Uint8Array => {
    const buckets: { kh: Uint8Array; entry: Uint8Array }[][] = Array.from({ length: 64 }, () => []);
    for (const e of model.values()) buckets[e.kh[0]! >>> 2]!.push(e);
    return mth(buckets.map((list) => mth(list.sort((x, y) => Buffer.compare(x.kh, y.kh)).map((e) => e.entry))));
  };
  for (const round of [0, 1, 2]) {
    const ids = Array.from({ length: 32 }, (_, i) => i).filter(() => rng.int(3) > 0);
    for (let i = ids.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    const changes = ids.map((i) => {
      const gone = round > 0 && model.has(String(i)) && rng.int(3) === 0;
      const entry = gone ? null : utf8(`entry ${i} round ${round} ${rng.u32()}`);
      if (entry === null) model.delete(String(i));
      else model.set(String(i), { kh: kh(i), entry });
      return { keyHash: kh(i), entry };
    });
    assert.deepEqual(tree.update(state, changes), oracle(), `round ${round}`);
  }
});
