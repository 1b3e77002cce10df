// The ChainStore compliance suite: every implementation runs exactly these tests (lmdbStore.test.ts,
// memoryStore.test.ts). A backend supplies fresh locations, opening, and a way to plant a foreign schema version.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ChainStoreError } from "../../../src/chain/errors.js";
import { CHAIN_SCHEMA_MIN_VERSION, CHAIN_SCHEMA_VERSION } from "../../../src/chain/store/interface.js";
import type { BlockCommit, ChainStore, ChainStoreOptions, PendingBlock, PendingTx, StateWrite } from "../../../src/chain/store/interface.js";
import { utf8 } from "../../../src/util/bytes.js";
import { CHAIN_ID, fakeQc, nextBlock, sha256 } from "./support/fixtures.js";
import type { ChainBlock } from "./support/fixtures.js";

export interface StoreBackend<Loc> {
  readonly name: string;
  newLocation(): Promise<Loc>;
  open(loc: Loc, opts: ChainStoreOptions): Promise<ChainStore>;
  /** Writes `version` as the stored schema version (the store must be closed). */
  setSchemaVersion(loc: Loc, version: number): Promise<void>;
  cleanup(loc: Loc): Promise<void>;
}

const ROOT = (n: number): Uint8Array => sha256(utf8(`root ${n}`));
const key = (s: string): Uint8Array => utf8(s);

/** A commit of `b` with state writes and a tx index naming every tx as ok except odd indices. */
function commitOf(b: ChainBlock, writes: StateWrite[] = []): BlockCommit {
  return {
    block: b.block,
    hash: b.hash,
    qc: b.qc,
    stateRoot: ROOT(b.block.header.height),
    results: new Uint8Array([b.block.header.height & 0xff]),
    txIndex: b.block.txs.map((tx, i) => ({ id: sha256(tx), index: i, ok: i % 2 === 0 })),
    writes,
  };
}

function expectCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof ChainStoreError && e.code === code, `expected ChainStoreError ${code}`);
}

async function expectCodeAsync(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof ChainStoreError && e.code === code, `expected ChainStoreError ${code}`);
}

/** Genesis + `n` blocks, each with two txs and a state write `k<h>` = `v<h>`. */
function buildChain(n: number): ChainBlock[] {
  const out: ChainBlock[] = [nextBlock(null, [])];
  for (let h = 1; h <= n; h++) out.push(nextBlock(out[h - 1]!, [utf8(`tx ${h} a`), utf8(`tx ${h} b`)]));
  return out;
}

export function runChainStoreCompliance<Loc>(backend: StoreBackend<Loc>): void {
  const opts: ChainStoreOptions = { chainId: CHAIN_ID };

  /** Runs `fn` on a fresh store and always closes and removes it. */
  async function withStore(fn: (store: ChainStore, loc: Loc) => Promise<void> | void): Promise<void> {
    const loc = await backend.newLocation();
    const store = await backend.open(loc, opts);
    try {
      await fn(store, loc);
    } finally {
      await store.close();
      await backend.cleanup(loc);
    }
  }

  describe(`ChainStore compliance: ${backend.name}`, () => {
    test("a new store has meta, no head, no safety state, no pending blocks", () =>
      withStore((s) => {
        assert.deepEqual(s.meta(), { chainId: CHAIN_ID, schemaVersion: CHAIN_SCHEMA_VERSION, genesisHash: null });
        assert.equal(s.head(), null);
        assert.equal(s.loadSafetyState(), undefined);
        assert.deepEqual(s.pendingBlocks(), []);
        assert.equal(s.hashAt(0), undefined);
        assert.equal(s.get(key("anything")), undefined);
      }));

    test("commits genesis and blocks: height index, QC, results, tx index, state, head", () =>
      withStore((s) => {
        const chain = buildChain(3);
        s.commit([commitOf(chain[0]!, [[key("g"), utf8("genesis")]])]);
        assert.deepEqual(s.meta().genesisHash, chain[0]!.hash);
        for (let h = 1; h <= 3; h++) s.commit([commitOf(chain[h]!, [[key(`k${h}`), utf8(`v${h}`)]])]);
        assert.deepEqual(s.head(), { height: 3, hash: chain[3]!.hash });
        for (let h = 0; h <= 3; h++) {
          const c = chain[h]!;
          const rec = s.committedAt(h)!;
          assert.deepEqual(rec, { height: h, hash: c.hash, block: c.block, qc: c.qc, stateRoot: ROOT(h), results: new Uint8Array([h]) });
          assert.deepEqual(s.hashAt(h), c.hash);
          assert.deepEqual(s.blockByHash(c.hash), c.block);
          c.block.txs.forEach((tx, i) => assert.deepEqual(s.txLocation(sha256(tx)), { height: h, index: i, ok: i % 2 === 0 }));
        }
        assert.equal(s.committedAt(4), undefined);
        assert.equal(s.txLocation(sha256(utf8("never sent"))), undefined);
        assert.deepEqual(s.get(key("k2")), utf8("v2"));
        assert.deepEqual(s.get(key("g")), utf8("genesis"));
      }));

    test("state writes apply in order; null deletes; a later write to one key wins", () =>
      withStore((s) => {
        const [g, b1, b2] = buildChain(2);
        s.commit([commitOf(g!, [[key("a"), utf8("1")], [key("b"), utf8("2")]])]);
        s.commit([commitOf(b1!, [[key("a"), null], [key("b"), utf8("3")], [key("b"), utf8("4")], [key("c"), utf8("5")]])]);
        assert.equal(s.get(key("a")), undefined);
        assert.deepEqual(s.get(key("b")), utf8("4"));
        s.commit([commitOf(b2!, [[key("c"), null], [key("c"), utf8("6")], [key("missing"), null]])]);
        assert.deepEqual(s.get(key("c")), utf8("6"));
        assert.equal(s.get(key("missing")), undefined);
      }));

    test("several blocks commit in one call", () =>
      withStore((s) => {
        const chain = buildChain(4);
        s.commit(chain.map((c, h) => commitOf(c, [[key("h"), utf8(String(h))]])));
        assert.deepEqual(s.head(), { height: 4, hash: chain[4]!.hash });
        assert.deepEqual(s.get(key("h")), utf8("4"));
        for (let h = 0; h <= 4; h++) assert.deepEqual(s.hashAt(h), chain[h]!.hash);
      }));

    test("refuses commits that do not extend the head, and writes nothing for them", () =>
      withStore((s) => {
        const chain = buildChain(3);
        expectCode(() => s.commit([commitOf(chain[1]!)]), "NOT_NEXT_HEIGHT"); // first commit must be genesis
        s.commit([commitOf(chain[0]!)]);
        expectCode(() => s.commit([commitOf(chain[2]!)]), "NOT_NEXT_HEIGHT");
        const fork = nextBlock(nextBlock(null, [utf8("other genesis")]), []);
        expectCode(() => s.commit([commitOf(fork)]), "PARENT_MISMATCH");
        expectCode(() => s.commit([{ ...commitOf(chain[1]!), qc: fakeQc(chain[2]!.hash, 1) }]), "QC_MISMATCH");
        // A batch whose second block is wrong writes neither.
        expectCode(() => s.commit([commitOf(chain[1]!, [[key("x"), utf8("1")]]), commitOf(chain[3]!)]), "NOT_NEXT_HEIGHT");
        expectCode(() => s.commit([{ ...commitOf(chain[1]!), txIndex: [{ id: sha256(utf8("t")), index: 5, ok: true }] }]), "BAD_ARGUMENT");
        expectCode(() => s.commit([commitOf(chain[1]!, [[new Uint8Array(0), utf8("empty key")]])]), "BAD_ARGUMENT");
        assert.deepEqual(s.head(), { height: 0, hash: chain[0]!.hash });
        assert.equal(s.get(key("x")), undefined);
        assert.equal(s.hashAt(1), undefined);
        assert.equal(s.blockByHash(chain[1]!.hash), undefined);
      }));

    test("commit is atomic: an exception in the middle of the writes leaves nothing behind", () =>
      withStore((s) => {
        const chain = buildChain(3);
        s.commit([commitOf(chain[0]!, [[key("keep"), utf8("0")]])]);
        // The second block's writes throw after two entries: nothing of either block may remain.
        function* failing(): Generator<StateWrite> {
          yield [key("keep"), utf8("overwritten")];
          yield [key("new"), utf8("n")];
          throw new Error("disk on fire");
        }
        const batch = [commitOf(chain[1]!, [[key("b1"), utf8("1")]]), { ...commitOf(chain[2]!), writes: failing() }];
        assert.throws(() => s.commit(batch), /disk on fire/);
        assert.deepEqual(s.head(), { height: 0, hash: chain[0]!.hash });
        assert.deepEqual(s.get(key("keep")), utf8("0"));
        assert.equal(s.get(key("b1")), undefined);
        assert.equal(s.get(key("new")), undefined);
        assert.equal(s.hashAt(1), undefined);
        assert.equal(s.committedAt(2), undefined);
        assert.equal(s.blockByHash(chain[1]!.hash), undefined);
        assert.equal(s.txLocation(sha256(chain[1]!.block.txs[0]!)), undefined);
        // The store is still usable afterwards.
        s.commit([commitOf(chain[1]!), commitOf(chain[2]!)]);
        assert.equal(s.head()!.height, 2);
      }));

    test("the safety state is replaced, returned and survives a reopen", async () => {
      const loc = await backend.newLocation();
      try {
        let s = await backend.open(loc, opts);
        s.saveSafetyState(utf8("first"));
        s.saveSafetyState(utf8("second"));
        assert.deepEqual(s.loadSafetyState(), utf8("second"));
        await s.close();
        s = await backend.open(loc, opts);
        assert.deepEqual(s.loadSafetyState(), utf8("second"));
        await s.close();
      } finally {
        await backend.cleanup(loc);
      }
    });

    test("pending blocks: stored, found by hash, sorted, pruned by commits, ignored at or below the head", async () => {
      const loc = await backend.newLocation();
      try {
        let s = await backend.open(loc, opts);
        const chain = buildChain(4);
        s.commit([commitOf(chain[0]!)]);
        const p = (h: number, qc: boolean, parentQc: boolean): PendingBlock => ({
          block: chain[h]!.block,
          hash: chain[h]!.hash,
          qc: qc ? chain[h]!.qc : null,
          parentQc: parentQc ? chain[h - 1]!.qc : null,
        });
        // Out of order, with every combination of QCs.
        s.savePending(p(3, true, true));
        s.savePending(p(1, false, false));
        s.savePending(p(2, true, false));
        s.savePending(p(4, false, true));
        assert.deepEqual(s.pendingBlocks(), [p(1, false, false), p(2, true, false), p(3, true, true), p(4, false, true)]);
        assert.deepEqual(s.blockByHash(chain[3]!.hash), chain[3]!.block);
        await s.close();
        s = await backend.open(loc, opts);
        assert.equal(s.pendingBlocks().length, 4);
        s.commit([commitOf(chain[1]!), commitOf(chain[2]!)]);
        assert.deepEqual(
          s.pendingBlocks().map((b) => b.block.header.height),
          [3, 4],
        );
        s.savePending(p(2, true, true)); // at the head: ignored
        assert.deepEqual(
          s.pendingBlocks().map((b) => b.block.header.height),
          [3, 4],
        );
        // Committed blocks are still found by hash, now from the committed table.
        assert.deepEqual(s.blockByHash(chain[2]!.hash), chain[2]!.block);
        await s.close();
        s = await backend.open(loc, opts);
        assert.deepEqual(
          s.pendingBlocks().map((b) => b.block.header.height),
          [3, 4],
        );
        await s.close();
      } finally {
        await backend.cleanup(loc);
      }
    });

    test("saveConsensusState writes pending blocks and the safety state together; either may be omitted", async () => {
      const loc = await backend.newLocation();
      try {
        let s = await backend.open(loc, opts);
        const chain = buildChain(3);
        s.commit([commitOf(chain[0]!), commitOf(chain[1]!)]);
        const p = (h: number): PendingBlock => ({ block: chain[h]!.block, hash: chain[h]!.hash, qc: null, parentQc: chain[h - 1]!.qc });
        s.saveConsensusState({ safety: utf8("s1"), pending: [p(1), p(2), p(3)] });
        s.saveConsensusState({});
        await s.close();
        s = await backend.open(loc, opts);
        assert.deepEqual(s.loadSafetyState(), utf8("s1"));
        // Height 1 is committed: only 2 and 3 were kept.
        assert.deepEqual(s.pendingBlocks(), [p(2), p(3)]);
        s.saveConsensusState({ safety: utf8("s2") });
        assert.deepEqual(s.loadSafetyState(), utf8("s2"));
        assert.equal(s.pendingBlocks().length, 2);
        await s.close();
      } finally {
        await backend.cleanup(loc);
      }
    });

    test("beginEpoch stores the proof that ended the epoch, drops every pending block, replaces the safety state; all survive a reopen", async () => {
      const loc = await backend.newLocation();
      try {
        let s = await backend.open(loc, opts);
        const chain = buildChain(5);
        s.commit([commitOf(chain[0]!), commitOf(chain[1]!), commitOf(chain[2]!)]);
        // E = 2 is the epoch's last block; C = 3 its certified child; 4 and a fork at 3 are pending too.
        const fork = nextBlock(chain[2]!, [utf8("fork")], { view: 9 });
        const pend = (b: ChainBlock, parent: ChainBlock): PendingBlock => ({ block: b.block, hash: b.hash, qc: null, parentQc: parent.qc });
        s.saveConsensusState({ safety: utf8("epoch 0 safety"), pending: [pend(chain[3]!, chain[2]!), pend(chain[4]!, chain[3]!), pend(fork, chain[2]!)] });
        assert.equal(s.epochEndProof(0), undefined);
        // What committed E: C, and C's child 4 (a two-chain in consecutive views).
        const endedBy = [
          { block: chain[3]!.block, qc: chain[3]!.qc },
          { block: chain[4]!.block, qc: chain[4]!.qc },
        ];
        s.beginEpoch({ epoch: 1, endedBy, safety: utf8("epoch 1 safety") });
        const check = (st: ChainStore): void => {
          assert.deepEqual(st.epochEndProof(0), endedBy);
          assert.equal(st.epochEndProof(1), undefined);
          assert.deepEqual(st.pendingBlocks(), []);
          assert.equal(st.blockByHash(chain[4]!.hash), undefined);
          assert.equal(st.blockByHash(fork.hash), undefined);
          assert.deepEqual(st.loadSafetyState(), utf8("epoch 1 safety"));
          assert.deepEqual(st.head(), { height: 2, hash: chain[2]!.hash });
        };
        check(s);
        await s.close();
        s = await backend.open(loc, opts);
        check(s);
        // The next epoch's blocks are stored and committed as usual on top of E.
        const next = nextBlock(chain[2]!, [utf8("epoch 1 first")], { view: 1 });
        s.savePending(pend(next, chain[2]!));
        assert.deepEqual(s.pendingBlocks().map((p) => p.hash), [next.hash]);
        s.commit([commitOf(next)]);
        assert.deepEqual(s.epochEndProof(0), endedBy);
        await s.close();
      } finally {
        await backend.cleanup(loc);
      }
    });

    test("beginEpoch refuses a proof that is not for the head's child, or an epoch below 1, and writes nothing", () =>
      withStore((s) => {
        const chain = buildChain(4);
        const endedBy = (b: ChainBlock): { block: ChainBlock["block"]; qc: ChainBlock["qc"] }[] => [{ block: b.block, qc: b.qc }];
        // No head yet: nothing can have ended.
        expectCode(() => s.beginEpoch({ epoch: 1, endedBy: endedBy(chain[0]!), safety: utf8("x") }), "BAD_ARGUMENT");
        s.commit([commitOf(chain[0]!), commitOf(chain[1]!)]);
        s.saveConsensusState({ safety: utf8("kept"), pending: [{ block: chain[2]!.block, hash: chain[2]!.hash, qc: chain[2]!.qc, parentQc: chain[1]!.qc }] });
        const refused = (epoch: number, b: ChainBlock): void => expectCode(() => s.beginEpoch({ epoch, endedBy: endedBy(b), safety: utf8("new") }), "BAD_ARGUMENT");
        refused(1, chain[1]!); // the head itself
        refused(1, chain[3]!); // a grandchild
        refused(1, nextBlock(nextBlock(chain[0]!, [utf8("other")]), [])); // height + 1, another parent
        refused(0, chain[2]!);
        refused(-1, chain[2]!);
        refused(1.5, chain[2]!);
        // A second block that does not extend the first, and an empty proof.
        expectCode(() => s.beginEpoch({ epoch: 1, endedBy: [...endedBy(chain[2]!), ...endedBy(chain[2]!)], safety: utf8("new") }), "BAD_ARGUMENT");
        expectCode(() => s.beginEpoch({ epoch: 1, endedBy: [], safety: utf8("new") }), "BAD_ARGUMENT");
        assert.equal(s.epochEndProof(0), undefined);
        assert.equal(s.pendingBlocks().length, 1);
        assert.deepEqual(s.loadSafetyState(), utf8("kept"));
        expectCode(() => s.epochEndProof(-1), "BAD_ARGUMENT");
        // The right proof is accepted, for a later epoch too.
        s.beginEpoch({ epoch: 7, endedBy: endedBy(chain[2]!), safety: utf8("new") });
        assert.deepEqual(s.epochEndProof(6), endedBy(chain[2]!));
        assert.equal(s.epochEndProof(0), undefined);
      }));

    test("a reopened store resumes at the same height with the same records", async () => {
      const loc = await backend.newLocation();
      try {
        const chain = buildChain(5);
        let s = await backend.open(loc, opts);
        s.commit(chain.slice(0, 4).map((c, h) => commitOf(c, [[key(`k${h}`), utf8(`v${h}`)]])));
        await s.close();
        s = await backend.open(loc, { chainId: CHAIN_ID, genesisHash: chain[0]!.hash });
        assert.deepEqual(s.head(), { height: 3, hash: chain[3]!.hash });
        assert.deepEqual(s.meta().genesisHash, chain[0]!.hash);
        assert.deepEqual(s.committedAt(3)!.block, chain[3]!.block);
        assert.deepEqual(s.get(key("k3")), utf8("v3"));
        assert.deepEqual(s.txLocation(sha256(chain[2]!.block.txs[1]!)), { height: 2, index: 1, ok: false });
        s.commit([commitOf(chain[4]!)]);
        assert.equal(s.head()!.height, 4);
        await s.close();
      } finally {
        await backend.cleanup(loc);
      }
    });

    test("refuses to open for another chain id, a newer or older schema, or another genesis", async () => {
      const loc = await backend.newLocation();
      try {
        const s = await backend.open(loc, opts);
        const [g] = buildChain(0);
        s.commit([commitOf(g!)]);
        await s.close();
        await expectCodeAsync(backend.open(loc, { chainId: utf8("another-chain") }), "CHAIN_ID_MISMATCH");
        await expectCodeAsync(backend.open(loc, { chainId: CHAIN_ID, genesisHash: sha256(utf8("other genesis")) }), "GENESIS_MISMATCH");
        await backend.setSchemaVersion(loc, CHAIN_SCHEMA_VERSION + 1);
        await expectCodeAsync(backend.open(loc, opts), "SCHEMA_TOO_NEW");
        await backend.setSchemaVersion(loc, CHAIN_SCHEMA_MIN_VERSION - 1);
        await expectCodeAsync(backend.open(loc, opts), "SCHEMA_TOO_OLD");
        // Refusals release the location: the right configuration opens it.
        await backend.setSchemaVersion(loc, CHAIN_SCHEMA_VERSION);
        const again = await backend.open(loc, { chainId: CHAIN_ID, genesisHash: g!.hash });
        assert.equal(again.head()!.height, 0);
        await again.close();
      } finally {
        await backend.cleanup(loc);
      }
    });

    test("the error for another chain id names both ids", async () => {
      const loc = await backend.newLocation();
      try {
        await (await backend.open(loc, opts)).close();
        await assert.rejects(backend.open(loc, { chainId: utf8("mainnet") }), (e: unknown) => {
          assert.ok(e instanceof ChainStoreError);
          assert.match(e.message, /"quire-test"/);
          assert.match(e.message, /"mainnet"/);
          return true;
        });
      } finally {
        await backend.cleanup(loc);
      }
    });

    test("one location is open in one store at a time", async () => {
      const loc = await backend.newLocation();
      try {
        const s = await backend.open(loc, opts);
        await expectCodeAsync(backend.open(loc, opts), "IN_USE");
        await s.close();
        await (await backend.open(loc, opts)).close();
      } finally {
        await backend.cleanup(loc);
      }
    });

    test("a closed store refuses every call; close twice is fine", async () => {
      const loc = await backend.newLocation();
      try {
        const s = await backend.open(loc, opts);
        await s.close();
        await s.close();
        expectCode(() => s.head(), "CLOSED");
        expectCode(() => s.get(key("k")), "CLOSED");
        expectCode(() => s.saveSafetyState(utf8("x")), "CLOSED");
        expectCode(() => s.commit([]), "CLOSED");
      } finally {
        await backend.cleanup(loc);
      }
    });

    test("stored bytes are private: mutating inputs after a write or outputs after a read changes nothing", () =>
      withStore((s) => {
        const value = utf8("value");
        const tx = utf8("genesis tx");
        const gb = nextBlock(null, [tx]);
        s.commit([commitOf(gb, [[key("k"), value]])]);
        value.fill(0);
        tx.fill(0);
        assert.deepEqual(s.get(key("k")), utf8("value"));
        assert.deepEqual(s.committedAt(0)!.block.txs[0], utf8("genesis tx"));
        s.get(key("k"))!.fill(0);
        s.committedAt(0)!.block.txs[0]!.fill(0);
        assert.deepEqual(s.get(key("k")), utf8("value"));
        assert.deepEqual(s.committedAt(0)!.block.txs[0], utf8("genesis tx"));
        const safety = utf8("safety");
        s.saveSafetyState(safety);
        safety.fill(0);
        assert.deepEqual(s.loadSafetyState(), utf8("safety"));
      }));

    test("a schema-1 store opens, upgraded to the current version with an empty pending-tx table", async () => {
      const loc = await backend.newLocation();
      try {
        const s = await backend.open(loc, opts);
        s.commit([commitOf(buildChain(0)[0]!)]);
        await s.close();
        await backend.setSchemaVersion(loc, 1);
        const up = await backend.open(loc, opts);
        assert.equal(up.meta().schemaVersion, CHAIN_SCHEMA_VERSION);
        assert.deepEqual(up.pendingTxs(), []);
        assert.equal(up.head()!.height, 0);
        await up.close();
      } finally {
        await backend.cleanup(loc);
      }
    });

    test("pending txs: saved durably across a reopen, listed in seq order, dropped by the commit that indexes them", async () => {
      const loc = await backend.newLocation();
      const chain = buildChain(2);
      const ptx = (tx: Uint8Array, seq: number, origin: string): PendingTx => ({ id: sha256(tx), seq, origin, tx });
      // Block 1's txs, one tx no block carries, in an order unlike the ids' and the seqs' (the list sorts by seq).
      const [a, b] = chain[1]!.block.txs;
      const other = utf8("never committed");
      try {
        const s = await backend.open(loc, opts);
        s.commit([commitOf(chain[0]!)]);
        s.savePendingTxs([ptx(other, 30, "127.0.0.1"), ptx(b!, 20, "peer client ü")]);
        s.savePendingTxs([ptx(a!, 10, "::1")]);
        await s.close();
        const r = await backend.open(loc, opts);
        assert.deepEqual(r.pendingTxs().map((p) => [p.seq, p.origin, p.tx]), [[10, "::1", a], [20, "peer client ü", b], [30, "127.0.0.1", other]]);
        r.commit([commitOf(chain[1]!)]);
        assert.deepEqual(r.pendingTxs().map((p) => p.tx), [other]);
        r.removePendingTxs([sha256(other), sha256(utf8("absent"))]);
        assert.deepEqual(r.pendingTxs(), []);
        // Saving the same id again replaces the record.
        r.savePendingTxs([ptx(other, 40, "x"), ptx(other, 41, "y")]);
        assert.deepEqual(r.pendingTxs().map((p) => [p.seq, p.origin]), [[41, "y"]]);
        expectCode(() => r.savePendingTxs([{ id: new Uint8Array(31), seq: 1, origin: "", tx: other }]), "BAD_ARGUMENT");
        expectCode(() => r.savePendingTxs([ptx(other, -1, "")]), "BAD_ARGUMENT");
        expectCode(() => r.removePendingTxs([new Uint8Array(5)]), "BAD_ARGUMENT");
        await r.close();
      } finally {
        await backend.cleanup(loc);
      }
    });

    test("bad arguments are typed errors", () =>
      withStore((s) => {
        expectCode(() => s.blockByHash(new Uint8Array(31)), "BAD_ARGUMENT");
        expectCode(() => s.txLocation(new Uint8Array(33)), "BAD_ARGUMENT");
        expectCode(() => s.committedAt(-1), "BAD_ARGUMENT");
        expectCode(() => s.hashAt(1.5), "BAD_ARGUMENT");
        expectCode(() => s.get(new Uint8Array(0)), "BAD_ARGUMENT");
        expectCode(() => s.get(new Uint8Array(512)), "BAD_ARGUMENT");
      }));
  });
}
