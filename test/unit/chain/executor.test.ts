import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KvApplication } from "../../../src/chain/app/kvApp.js";
import { encodeKvTx } from "../../../src/chain/app/kvTx.js";
import { buildBlock, buildGenesisBlock, checkTxRoot, txRoot } from "../../../src/chain/blocks.js";
import { ExecutionError } from "../../../src/chain/errors.js";
import { Executor } from "../../../src/chain/executor.js";
import { bytesKey } from "../../../src/util/bytes.js";
import { LmdbChainStore } from "../../../src/chain/store/lmdbStore.js";
import { MemoryChainData, MemoryChainStore } from "../../../src/chain/store/memoryStore.js";
import type { ChainStore } from "../../../src/chain/store/interface.js";
import { decodeBitmap } from "../../../src/crypto/bitmap/index.js";
import { merkleRoot } from "../../../src/crypto/merkle.js";
import { bytesEqual, utf8 } from "../../../src/util/bytes.js";
import type { SeededRng } from "../../../src/util/rng.js";
import type { Block, Hash } from "../../../src/domain/types.js";
import { seededRng } from "../../support/seed.js";
import { CHAIN_ID, fakeQc, fixtureHash, sha256 } from "./support/fixtures.js";
import type { ChainBlock } from "./support/fixtures.js";
import { oracleRoot } from "./support/oracle.js";
import type { KvModel } from "./support/oracle.js";

/** Small outer tree so the definition-level oracle stays fast; the executor does not depend on B. */
const BITS = 6;

interface Node {
  store: ChainStore;
  app: KvApplication;
  exec: Executor;
}

function node(store: ChainStore): Node {
  const app = new KvApplication({ bucketBits: BITS }, { committed: store });
  return { store, app, exec: new Executor({}, { store, app }) };
}

function certified(block: Block): ChainBlock {
  const hash = fixtureHash(block);
  return { block, hash, qc: fakeQc(hash, block.header.view) };
}

function genesis(txs: Uint8Array[] = []): ChainBlock {
  return certified(buildGenesisBlock({ timestampMs: 1_700_000_000_000, txs }));
}

/**
 * A block extending `parent` whose header carries the parent's execution outcome as `exec` computes it; `exec` then
 * executes it (speculatively), as a node does with the block it proposes or votes for.
 */
function child(exec: Executor, parent: ChainBlock, txs: readonly Uint8Array[], view = parent.block.header.view + 1): ChainBlock {
  const c = certified(
    buildBlock({
      parentHash: parent.hash,
      parentHeight: parent.block.header.height,
      view,
      proposer: view % 4,
      timestampMs: 1_700_000_000_000 + view,
      txs,
      parentExecution: exec.parentExecution(parent.hash),
    }),
  );
  exec.execute(c.block, c.hash);
  return c;
}

// ---- The independent model: KV semantics and the replay rule over structured ops (no decoding). ---------------

type Op = { kind: "put"; key: string; value: Uint8Array } | { kind: "delete"; key: string } | { kind: "cas"; key: string; expected: Uint8Array; value: Uint8Array } | { kind: "garbage" };

interface GenTx {
  bytes: Uint8Array;
  op: Op;
}

class Model {
  readonly state: KvModel = new Map();
  readonly seen = new Set<string>();
  /** Outcomes by kind, so the test can insist that every path ran. */
  readonly counts = new Map<string, number>();
  /** Per committed height: expected failures and root. */
  readonly heights: { failed: boolean[]; root: Uint8Array; firstIndex: (number | null)[] }[] = [];

  apply(txs: readonly GenTx[]): void {
    const failed: boolean[] = [];
    const firstIndex: (number | null)[] = [];
    for (const { bytes, op } of txs) {
      const id = bytesKey(sha256(bytes));
      if (this.seen.has(id)) {
        this.count("replay");
        failed.push(true);
        firstIndex.push(null);
        continue;
      }
      this.seen.add(id);
      firstIndex.push(failed.length);
      const ok = this.applyOp(op);
      this.count(`${op.kind} ${ok ? "ok" : "failed"}`);
      failed.push(!ok);
    }
    this.heights.push({ failed, root: oracleRoot(this.state, BITS), firstIndex });
  }

  private count(what: string): void {
    this.counts.set(what, (this.counts.get(what) ?? 0) + 1);
  }

  private applyOp(op: Op): boolean {
    switch (op.kind) {
      case "garbage":
        return false;
      case "put":
        this.state.set(op.key, { key: utf8(op.key), value: op.value });
        return true;
      case "delete":
        return this.state.delete(op.key);
      case "cas": {
        const cur = this.state.get(op.key);
        if (cur === undefined || !bytesEqual(cur.value, op.expected)) return false;
        this.state.set(op.key, { key: utf8(op.key), value: op.value });
        return true;
      }
    }
  }
}

class Generator {
  private nonce = 0;
  private readonly history: GenTx[] = [];
  constructor(
    private readonly rng: SeededRng,
    private readonly keys: readonly string[],
  ) {}

  private n(): Uint8Array {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setUint32(4, ++this.nonce);
    return b;
  }

  tx(): GenTx {
    const rng = this.rng;
    // Replays of earlier txs (committed or in the same branch) exercise the replay rule.
    if (this.history.length > 0 && rng.chance(0.08)) return this.history[rng.int(this.history.length)]!;
    const key = this.keys[rng.int(this.keys.length)]!;
    const r = rng.float();
    let g: GenTx;
    if (r < 0.5) {
      // Half the values come from CAS's tiny alphabet so that CAS has something to match.
      const value = rng.chance(0.5) ? Uint8Array.of(rng.int(3)) : rng.bytes(rng.int(24));
      g = { bytes: encodeKvTx({ op: "put", nonce: this.n(), key: utf8(key), value }), op: { kind: "put", key, value } };
    } else if (r < 0.7) {
      g = { bytes: encodeKvTx({ op: "delete", nonce: this.n(), key: utf8(key) }), op: { kind: "delete", key } };
    } else if (r < 0.93) {
      // Expected values drawn from a tiny alphabet so that some CAS succeed.
      const expected = Uint8Array.of(rng.int(3));
      const value = Uint8Array.of(rng.int(3));
      g = { bytes: encodeKvTx({ op: "cas", nonce: this.n(), key: utf8(key), expected, value }), op: { kind: "cas", key, expected, value } };
    } else {
      // Not a KV tx: version byte 0xee.
      g = { bytes: Uint8Array.of(0xee, ...rng.bytes(rng.int(20))), op: { kind: "garbage" } };
    }
    this.history.push(g);
    return g;
  }

  block(): GenTx[] {
    return Array.from({ length: this.rng.int(40) }, () => this.tx());
  }
}

function assertHeightMatches(store: ChainStore, model: Model, height: number, txs: readonly GenTx[]): void {
  const rec = store.committedAt(height)!;
  const want = model.heights[height]!;
  assert.deepEqual(rec.stateRoot, want.root, `state root at height ${height}`);
  const bits = decodeBitmap(rec.results, { length: txs.length });
  assert.deepEqual(
    Array.from({ length: txs.length }, (_, i) => bits.get(i)),
    want.failed,
    `result bitmap at height ${height}`,
  );
  txs.forEach((t, i) => {
    const loc = store.txLocation(sha256(t.bytes))!;
    if (want.firstIndex[i] !== null) assert.deepEqual(loc, { height, index: i, ok: !want.failed[i] });
    // A replay keeps its first location, which is never this one.
    else assert.ok(loc.height < height || loc.index < i);
  });
}

test("executor: results, tx index and state roots match an independent model over a pipelined chain", (t) => {
  const rng = seededRng(t);
  const { store, exec } = node(MemoryChainStore.open({ chainId: CHAIN_ID }));
  const model = new Model();
  const gen = new Generator(rng, Array.from({ length: 30 }, (_, i) => `key${i}`));
  const g = genesis();
  exec.commitGenesis(g);
  model.apply([]);
  const chain: { b: ChainBlock; txs: GenTx[] }[] = [{ b: g, txs: [] }];
  for (let h = 1; h <= 40; h++) {
    const txs = gen.block();
    // Like a leader of pipelined HotStuff: build on the newest block, which is executed but not committed.
    const b = child(exec, chain[h - 1]!.b, txs.map((x) => x.bytes));
    chain.push({ b, txs });
    // The header carries the parent's outcome: the model's root for height h - 1.
    assert.deepEqual(b.block.header.parentStateRoot, model.heights[h - 1]!.root);
    model.apply(txs);
    exec.execute(b.block, b.hash);
    // Two-chain commit lag: height h - 2 commits when h is built.
    if (h >= 2) exec.commit([chain[h - 2]!.b].filter((c) => c.block.header.height > store.head()!.height));
  }
  exec.commit(chain.slice(store.head()!.height + 1).map((c) => c.b));
  assert.equal(store.head()!.height, 40);
  for (let h = 0; h <= 40; h++) assertHeightMatches(store, model, h, chain[h]!.txs);
  // Committed state = the model.
  for (const [k, { value }] of model.state) assert.deepEqual(node(store).app.query(utf8(k)), value);
  assert.equal(exec.speculativeCount, 0);
  for (const k of ["put ok", "delete ok", "delete failed", "cas ok", "cas failed", "garbage failed", "replay"]) {
    assert.ok((model.counts.get(k) ?? 0) > 0, `the random chain never produced "${k}"`);
  }
});

test("executor: a catch-up batch it never executed (some ancestors executed, most not) commits in one call to the model's roots, results and tx index", (t) => {
  const rng = seededRng(t);
  const builder = node(MemoryChainStore.open({ chainId: CHAIN_ID }));
  const model = new Model();
  const gen = new Generator(rng, Array.from({ length: 20 }, (_, i) => `key${i}`));
  const g = genesis();
  builder.exec.commitGenesis(g);
  model.apply([]);
  const chain: { b: ChainBlock; txs: GenTx[] }[] = [{ b: g, txs: [] }];
  for (let h = 1; h <= 60; h++) {
    const txs = gen.block();
    chain.push({ b: child(builder.exec, chain[h - 1]!.b, txs.map((x) => x.bytes)), txs });
    model.apply(txs);
  }
  // The catching-up node: genesis, one block committed, two executed (as a vote would), then the rest in one batch —
  // reads and replays across the batch must see the blocks before them within it.
  const { store, exec } = node(MemoryChainStore.open({ chainId: CHAIN_ID }));
  exec.commitGenesis(g);
  exec.commit([chain[1]!.b]);
  for (const h of [2, 3]) exec.execute(chain[h]!.b.block, chain[h]!.b.hash);
  const summaries = exec.commit(chain.slice(2).map((c) => c.b));
  assert.deepEqual(summaries.map((s) => s.height), Array.from({ length: 59 }, (_, i) => i + 2));
  assert.equal(exec.speculativeCount, 0);
  for (let h = 0; h <= 60; h++) assertHeightMatches(store, model, h, chain[h]!.txs);
  for (const [k, { value }] of model.state) assert.deepEqual(node(store).app.query(utf8(k)), value);
  assert.ok((model.counts.get("replay") ?? 0) > 0 && (model.counts.get("cas ok") ?? 0) > 0, "the chain exercised replays and successful CAS");
});

test("executor: two independently built stores (LMDB and memory) reach identical roots; LMDB reopens at its height", async (t) => {
  const rng = seededRng(t);
  const dir = mkdtempSync(join(tmpdir(), "quire-exec-"));
  try {
    let lmdb = node(await LmdbChainStore.open({ chainId: CHAIN_ID, path: dir }));
    const mem = node(MemoryChainStore.open({ chainId: CHAIN_ID }));
    const gen = new Generator(rng, Array.from({ length: 50 }, (_, i) => `k${i}`));
    const g = genesis([encodeKvTx({ op: "put", nonce: new Uint8Array(8), key: utf8("seeded"), value: utf8("at genesis") })]);
    lmdb.exec.commitGenesis(g);
    mem.exec.commitGenesis(g);
    let prev = g;
    for (let h = 1; h <= 12; h++) {
      const txs = gen.block().map((x) => x.bytes);
      const b = child(lmdb.exec, prev, txs);
      // The memory node checks the block built by the LMDB node and executes it (as a voter does), then both commit
      // it (the memory node in batches of two).
      assert.equal(mem.exec.checkParentExecution(b.block), null);
      mem.exec.execute(b.block, b.hash);
      lmdb.exec.commit([b]);
      if (h % 2 === 0) mem.exec.commit([prev, b].filter((c) => c.block.header.height > mem.store.head()!.height));
      prev = b;
    }
    mem.exec.commit([prev].filter((c) => c.block.header.height > mem.store.head()!.height));
    for (let h = 0; h <= 12; h++) {
      const a = lmdb.store.committedAt(h)!;
      const m = mem.store.committedAt(h)!;
      assert.deepEqual(a.stateRoot, m.stateRoot);
      assert.deepEqual(a.results, m.results);
    }
    assert.deepEqual(lmdb.app.query(utf8("seeded")), utf8("at genesis"));
    const root12 = lmdb.store.committedAt(12)!.stateRoot;
    await lmdb.store.close();
    lmdb = node(await LmdbChainStore.open({ chainId: CHAIN_ID, path: dir, genesisHash: g.hash }));
    assert.deepEqual(lmdb.exec.head(), { height: 12, hash: prev.hash });
    assert.deepEqual(lmdb.exec.parentExecution(prev.hash).stateRoot, root12);
    assert.deepEqual(lmdb.app.stateRoot(lmdb.store), root12);
    // It keeps going from there, in step with the memory node.
    const b13 = child(lmdb.exec, prev, gen.block().map((x) => x.bytes));
    lmdb.exec.commit([b13]);
    mem.exec.commit([b13]);
    assert.deepEqual(lmdb.store.committedAt(13)!.stateRoot, mem.store.committedAt(13)!.stateRoot);
    await lmdb.store.close();
    await mem.store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const put = (k: string, v: string, n = 0): Uint8Array => encodeKvTx({ op: "put", nonce: Uint8Array.of(0, 0, 0, 0, 0, 0, 0, n), key: utf8(k), value: utf8(v) });

test("executor: forks execute on their own branch; committing one drops the other", () => {
  const { store, app, exec } = node(MemoryChainStore.open({ chainId: CHAIN_ID }));
  const g = genesis();
  exec.commitGenesis(g);
  const b1 = child(exec, g, [put("k", "base")]);
  const left = child(exec, b1, [put("k", "left")], 2);
  const right = child(exec, b1, [put("k", "right"), put("r", "only right")], 3);
  const leftKid = child(exec, left, [put("x", "1")], 4);
  const rightKid = child(exec, right, [put("y", "1")], 5);
  // Each branch carries its own parent's outcome.
  assert.notDeepEqual(leftKid.block.header.parentStateRoot, rightKid.block.header.parentStateRoot);
  assert.equal(exec.speculativeCount, 5);
  exec.commit([b1, right]);
  assert.deepEqual(app.query(utf8("k")), utf8("right"));
  assert.deepEqual(app.query(utf8("r")), utf8("only right"));
  // Left and its child are gone; right's child survives and now reads from the store.
  assert.equal(exec.speculativeCount, 1);
  assert.throws(() => exec.commit([left]), (e: unknown) => e instanceof ExecutionError && e.code === "NOT_EXTENDING_HEAD");
  assert.throws(() => exec.execute(leftKid.block, leftKid.hash), (e: unknown) => e instanceof ExecutionError && e.code === "UNKNOWN_PARENT");
  exec.commit([rightKid]);
  assert.deepEqual(app.query(utf8("y")), utf8("1"));
  assert.equal(app.query(utf8("x")), undefined);
  assert.equal(store.head()!.height, 3);
});

test("executor: after a restart, uncommitted ancestors are re-executed from the store's pending blocks", () => {
  const data = new MemoryChainData();
  let n = node(MemoryChainStore.open({ chainId: CHAIN_ID }, data));
  const g = genesis();
  n.exec.commitGenesis(g);
  const b1 = child(n.exec, g, [put("a", "1")]);
  const b2 = child(n.exec, b1, [put("a", "2"), put("b", "2")]);
  const b3 = child(n.exec, b2, [put("c", "3")]);
  for (const b of [b1, b2, b3]) n.store.savePending({ block: b.block, hash: b.hash, qc: null, parentQc: null });
  const want = n.exec.parentExecution(b3.hash);
  void n.store.close();
  n = node(MemoryChainStore.open({ chainId: CHAIN_ID }, data));
  assert.equal(n.exec.speculativeCount, 0);
  assert.deepEqual(n.exec.parentExecution(b3.hash), want);
  assert.equal(n.exec.speculativeCount, 3);
  assert.deepEqual(
    [...n.exec.txIdsInBranch(b3.hash)].sort(),
    [b1, b2, b3].flatMap((b) => b.block.txs.map((tx) => bytesKey(sha256(tx)))).sort(),
  );
  assert.deepEqual(n.exec.txIdsInBranch(g.hash), new Set());
  n.exec.commit([b1, b2, b3]);
  assert.deepEqual(n.app.query(utf8("a")), utf8("2"));
  assert.deepEqual(n.store.pendingBlocks(), []);
});

test("executor: the replay rule fails a tx already committed, already in the branch, or repeated in its block", () => {
  const { store, exec } = node(MemoryChainStore.open({ chainId: CHAIN_ID }));
  const g = genesis();
  exec.commitGenesis(g);
  const t1 = put("k", "v", 1);
  const t2 = put("k", "w", 2);
  const b1 = child(exec, g, [t1]);
  exec.commit([b1]);
  const b2 = child(exec, b1, [t2, t1, t2]); // t1 committed at height 1, t2 twice in this block
  const b3 = child(exec, b2, [t2, put("z", "z", 3)]); // t2 in the uncommitted parent
  const r2 = exec.execute(b2.block, b2.hash);
  const r3 = exec.execute(b3.block, b3.hash);
  assert.deepEqual(r2.ok, [true, false, false]);
  assert.deepEqual(r3.ok, [false, true]);
  assert.deepEqual(b3.block.header.parentResults, r2.results);
  exec.commit([b2, b3]);
  assert.deepEqual(store.txLocation(sha256(t1)), { height: 1, index: 0, ok: true });
  assert.deepEqual(store.txLocation(sha256(t2)), { height: 2, index: 0, ok: true });
  const bits = decodeBitmap(store.committedAt(2)!.results, { length: 3 });
  assert.deepEqual([bits.get(0), bits.get(1), bits.get(2)], [false, true, true]);
});

test("blocks: txRoot is the RFC 6962 root; received blocks are checked for txRoot and parent outcome", () => {
  const { exec } = node(MemoryChainStore.open({ chainId: CHAIN_ID }));
  const g = genesis();
  exec.commitGenesis(g);
  const txs = [put("a", "1"), put("b", "2"), put("c", "3")];
  const b = child(exec, g, txs);
  assert.deepEqual(b.block.header.txRoot, merkleRoot(txs));
  assert.deepEqual(txRoot([]), sha256());
  assert.equal(checkTxRoot(b.block), null);
  assert.equal(checkTxRoot({ ...b.block, txs: txs.slice(0, 2) }), "BAD_TX_ROOT");
  assert.equal(exec.checkParentExecution(b.block), null);
  const tamper = (f: Partial<Block["header"]>): Block => ({ ...b.block, header: { ...b.block.header, ...f } });
  assert.equal(exec.checkParentExecution(tamper({ parentStateRoot: new Uint8Array(32) })), "BAD_PARENT_STATE_ROOT");
  assert.equal(exec.checkParentExecution(tamper({ parentResults: Uint8Array.of(1) })), "BAD_PARENT_RESULTS");
  assert.equal(exec.checkParentExecution(tamper({ parent: sha256(utf8("nowhere")) as Hash })), "UNKNOWN_PARENT");
  // Genesis: empty state root of this app, empty result bitmap.
  const out = exec.parentExecution(g.hash);
  assert.deepEqual(out.stateRoot, oracleRoot(new Map(), BITS));
  assert.equal(decodeBitmap(out.results).length, 0);
});

test("executor: typed errors for a missing genesis, a second genesis, and gaps", () => {
  const { exec } = node(MemoryChainStore.open({ chainId: CHAIN_ID }));
  const g = genesis();
  const code = (fn: () => unknown, c: string): void => assert.throws(fn, (e: unknown) => e instanceof ExecutionError && e.code === c);
  code(() => exec.parentExecution(g.hash), "NO_GENESIS");
  code(() => exec.commitGenesis(certified({ ...g.block, header: { ...g.block.header, height: 1 } })), "BAD_GENESIS");
  exec.commitGenesis(g);
  code(() => exec.commitGenesis(g), "BAD_GENESIS");
  const b1 = child(exec, g, []);
  const b2 = child(exec, b1, []);
  code(() => exec.commit([b2]), "NOT_EXTENDING_HEAD");
  const wrongHeight = certified({ ...b1.block, header: { ...b1.block.header, height: 5 } });
  code(() => exec.commit([wrongHeight]), "BAD_HEIGHT");
  code(() => exec.execute(wrongHeight.block, wrongHeight.hash), "BAD_HEIGHT");
});
