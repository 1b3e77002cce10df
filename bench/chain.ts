import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchSuite } from "./harness.js";
import type { BenchCase } from "./harness.js";
import { matchesFilter, runCases } from "./harness.js";
import { KvApplication } from "../src/chain/app/kvApp.js";
import { encodeKvTx } from "../src/chain/app/kvTx.js";
import { BucketStateTree, encodeEntry } from "../src/chain/app/stateTree.js";
import type { EntryChange } from "../src/chain/app/stateTree.js";
import { buildBlock, buildGenesisBlock } from "../src/chain/blocks.js";
import { Executor } from "../src/chain/executor.js";
import { buildApplication } from "../src/chain/app/build.js";
import { attachSignature, encodeAccountTxBody, signingMessage } from "../src/chain/app/accounts/accountTx.js";
import { DEFAULT_BUCKET_BITS } from "../src/chain/app/stateTree.js";
import { ed25519PublicKey, ed25519Sign } from "../src/crypto/ed25519.js";
import { bytesKey } from "../src/util/bytes.js";
import { Mempool } from "../src/chain/mempool.js";
import { LmdbChainStore } from "../src/chain/store/lmdbStore.js";
import { MemoryChainStore } from "../src/chain/store/memoryStore.js";
import type { BlockCommit, ChainStore } from "../src/chain/store/interface.js";
import { defaultHasher } from "../src/crypto/hash/backends.js";
import { MerkleTree, merkleProof, merkleRoot } from "../src/crypto/merkle.js";
import { ProofTreeCache } from "../src/chain/proofTrees.js";
import { compareBytes, concatBytes, utf8 } from "../src/util/bytes.js";
import { SeededRng } from "../src/util/rng.js";
import type { Block, Hash, QuorumCert } from "../src/domain/types.js";
import { MapState } from "../src/chain/app/mapState.js";

/**
 * `quire bench chain`:
 * - an inclusion proof of a 1,000- and a 4,096-tx block: rebuilt per request, built once (miss), cached (hit);
 * - commit of a 1,000-tx block (256-byte KV puts of new keys, so the state grows by 1,000 keys per call): the whole
 *   executor path (execute, state tree, one store transaction) and the store write alone, LMDB against the memory
 *   store (baseline: the same records kept in maps, no disk);
 * - verify + execute a block of 1,000 signed transfers (accounts module, LMDB) against the KV put block of the same
 *   size: with the signatures checked at submission (check(), then the block; the node's path) and verified in
 *   deliver (a block of txs this node never saw). Target ≥ 5,000 transfers/s verified and executed. Measured
 *   (`quire bench chain --filter transfer`, 2 cores shared with other work, load ≈ 4.6): KV put block 74.6 µs/tx,
 *   check + block 138 µs/tx (7,230 transfers/s), verified in deliver 137 µs/tx (7,320/s); Ed25519 verify is ≈ 74 µs
 *   of it, so the two paths cost the same and the check cache only moves the work to submission time.
 * - the KV state root after a block touching 1,000 keys, bucket tree (stateTree.ts) against recomputing the plain
 *   RFC 6962 root of all sorted entries, for states of 10,000 and 100,000 keys;
 * - mempool add and reap with 10 clients, against a bare Map keyed by tx id (no bounds, no fairness).
 */

const TXS_PER_BLOCK = 1000;
const TX_BYTES = 256;
const CHAIN_ID = utf8("bench");
/** Pre-signed transfer blocks per subject: 1 warmup + 5 timed at ≈ 0.2 s each, with room for a longer --time. */
const TRANSFER_BLOCKS = 12;

const hasher = defaultHasher();

function fakeQc(hash: Hash, view: number): QuorumCert {
  return { view, blockHash: hash, signers: new Uint8Array(2), aggregateSignature: new Uint8Array(96) };
}

/** 1,000 puts of fresh keys, each encoded to exactly TX_BYTES. */
function putTxs(first: number): Uint8Array[] {
  const nonce = new Uint8Array(8);
  const out: Uint8Array[] = [];
  for (let i = 0; i < TXS_PER_BLOCK; i++) {
    const key = utf8(`key-${(first + i).toString().padStart(9, "0")}`);
    out.push(encodeKvTx({ op: "put", nonce, key, value: new Uint8Array(TX_BYTES - 16 - key.length).fill(i & 0xff) }));
  }
  return out;
}

/** A node's chain layer growing one 1,000-tx block per `step`: the txs come from `source`, `before` runs first. */
class ChainSubject {
  private prev: { block: Block; hash: Hash };

  private constructor(
    readonly store: ChainStore,
    private readonly exec: Executor,
    private readonly source: () => Uint8Array[],
    private readonly before: (txs: readonly Uint8Array[]) => void,
    genesisTxs: readonly Uint8Array[],
  ) {
    const g = buildGenesisBlock({ timestampMs: 0, txs: genesisTxs });
    const hash = hasher.digest(g.header.txRoot);
    exec.commitGenesis({ block: g, hash, qc: fakeQc(hash, 0) });
    this.prev = { block: g, hash };
  }

  /** KV puts of fresh keys. */
  static create(store: ChainStore): ChainSubject {
    const app = new KvApplication({}, { committed: store });
    let next = 0;
    const source = (): Uint8Array[] => {
      next += TXS_PER_BLOCK;
      return putTxs(next - TXS_PER_BLOCK);
    };
    return new ChainSubject(store, new Executor({}, { store, app }), source, () => {}, []);
  }

  /**
   * Signed transfers between 1,000 funded accounts (each sender once per block, so a block imports up to 1,000 public
   * keys); `checkFirst`: each tx goes through `check` first, as a submitted tx does, so deliver finds its signature
   * verified; otherwise deliver verifies (a tx this node never saw before the block).
   */
  static accounts(store: ChainStore, blocks: AccountBlocks, checkFirst: boolean): ChainSubject {
    const built = buildApplication({ bucketBits: DEFAULT_BUCKET_BITS, modules: ["accounts"], chainId: CHAIN_ID }, { committed: store });
    const app = built.app;
    const before = (txs: readonly Uint8Array[]): void => {
      if (!checkFirst) return;
      for (const tx of txs) if (!app.check(tx).ok) throw new Error("bench: a transfer failed its check");
    };
    return new ChainSubject(store, new Executor({}, { store, app }), () => blocks.next(), before, blocks.genesis);
  }

  step(): void {
    const txs = this.source();
    this.before(txs);
    const p = this.prev;
    const view = p.block.header.view + 1;
    const block = buildBlock({ parentHash: p.hash, parentHeight: p.block.header.height, view, proposer: 0, timestampMs: view, txs, parentExecution: this.exec.parentExecution(p.hash) });
    const hash = hasher.digest(concatBytes(p.hash, block.header.txRoot));
    const [c] = this.exec.commit([{ block, hash, qc: fakeQc(hash, view) }]);
    if (c === undefined || c.ok.some((ok) => !ok)) throw new Error("bench: a tx failed");
    this.prev = { block, hash };
  }
}

/**
 * Pre-signed blocks of 1,000 transfers (signing is setup, not the timed work): sender i pays sender i + 1 one unit
 * with its k-th nonce in block k. `count` blocks are signed up front; a run that wants more fails loudly (use a
 * shorter --time) rather than timing the signing.
 */
class AccountBlocks {
  readonly genesis: Uint8Array[];
  private readonly blocks: Uint8Array[][] = [];
  private taken = 0;

  constructor(count: number, seed: number) {
    const rng = new SeededRng(seed);
    const secrets = Array.from({ length: TXS_PER_BLOCK }, () => rng.bytes(32));
    const pubs = secrets.map((s) => ed25519PublicKey(s));
    this.genesis = pubs.map((from) => encodeAccountTxBody({ op: "mint", from, nonce: 0, amount: 1_000_000 }));
    for (let k = 0; k < count; k++) {
      this.blocks.push(
        secrets.map((secret, i) => {
          const body = encodeAccountTxBody({ op: "transfer", from: pubs[i]!, nonce: k, amount: 1, to: pubs[(i + 1) % pubs.length]! });
          return attachSignature(body, ed25519Sign(secret, signingMessage(CHAIN_ID, body)));
        }),
      );
    }
  }

  next(): Uint8Array[] {
    const b = this.blocks[this.taken++];
    if (b === undefined) throw new Error(`bench: only ${this.blocks.length} transfer blocks were signed; run with a shorter --time`);
    return b;
  }
}

/** The store alone: the same 1,000-tx commit (1,000 state writes, 1,000 tx-index entries) at each next height. */
class StoreWriteSubject {
  private head: { height: number; hash: Hash };
  private readonly txs = putTxs(0);
  private readonly ids: Hash[];

  constructor(readonly store: ChainStore) {
    const g = buildGenesisBlock({ timestampMs: 0 });
    const hash = hasher.digest(g.header.txRoot);
    store.commit([{ block: g, hash, qc: fakeQc(hash, 0), stateRoot: new Uint8Array(32), results: new Uint8Array(1), txIndex: [], writes: [] }]);
    this.head = { height: 0, hash };
    const packed = hasher.digestMany(this.txs);
    this.ids = this.txs.map((_, i) => packed.subarray(i * 32, (i + 1) * 32));
  }

  step(): void {
    const height = this.head.height + 1;
    const block: Block = { header: { parent: this.head.hash, view: height, height, proposer: 0, timestampMs: height, txRoot: new Uint8Array(32), parentStateRoot: new Uint8Array(32), parentResults: new Uint8Array(1), parentSigners: new Uint8Array(0) }, txs: this.txs };
    const hash = hasher.digest(concatBytes(this.head.hash, Uint8Array.of(height & 0xff, height >>> 8)));
    const commit: BlockCommit = {
      block,
      hash,
      qc: fakeQc(hash, height),
      stateRoot: hash,
      results: new Uint8Array(1),
      txIndex: this.ids.map((id, index) => ({ id, index, ok: true })),
      writes: this.ids.map((id, i) => [id, this.txs[i]!] as const),
    };
    this.store.commit([commit]);
    this.head = { height, hash };
  }
}

/** State-root cases for a state of `n` keys, a block touching 1,000 of them (half updates, half new keys). */
function stateRootCases(n: number, rng: SeededRng): BenchCase[] {
  const keys = Array.from({ length: n }, (_, i) => utf8(`key-${i}`));
  const value = (): Uint8Array => rng.bytes(200);
  // Bucket tree: fill the state in one update, then time updates of 1,000 keys.
  const trees = [16, 12].map((bits) => {
    const tree = new BucketStateTree(hasher, bits);
    const state = new MapState();
    const changes = (ks: readonly Uint8Array[]): EntryChange[] =>
      ks.map((k) => {
        const keyHash = hasher.digest(k);
        const entry = encodeEntry(k, value());
        state.put(tree.entryKey(keyHash), entry);
        return { keyHash, entry };
      });
    tree.update(state, changes(keys));
    let fresh = n;
    return {
      bits,
      step: (): Uint8Array => {
        const ks = Array.from({ length: TXS_PER_BLOCK }, (_, i) => (i % 2 === 0 ? keys[rng.int(n)]! : utf8(`key-${fresh++}`)));
        return tree.update(state, changes(ks));
      },
    };
  });
  // Baseline: the plain RFC 6962 root of every entry sorted by key, recomputed after each block.
  const all = new Map<string, { key: Uint8Array; value: Uint8Array }>(keys.map((k) => [bytesKey(k), { key: k, value: value() }]));
  let freshFull = n;
  const fullStep = (): Uint8Array => {
    for (let i = 0; i < TXS_PER_BLOCK; i++) {
      const k = i % 2 === 0 ? keys[rng.int(n)]! : utf8(`key-${freshFull++}`);
      all.set(bytesKey(k), { key: k, value: value() });
    }
    const sorted = [...all.values()].sort((a, b) => compareBytes(a.key, b.key));
    return merkleRoot(sorted.map((e) => encodeEntry(e.key, e.value)));
  };
  const group = `state root: 1,000-key block, ${n.toLocaleString("en-US")}-key state`;
  const slow = n >= 100_000 ? { iterations: 3, warmupIterations: 1 } : {};
  return [
    { group, backend: "full RFC 6962 recompute", size: n, baseline: true, fn: () => check32(fullStep()), ...slow },
    ...trees.map((t) => ({ group, backend: `bucket tree B=${t.bits}`, size: n, fn: () => check32(t.step()) })),
  ];
}

function check32(root: Uint8Array): void {
  if (root.length !== 32) throw new Error("bench: bad root");
}

function mempoolCases(rng: SeededRng): BenchCase[] {
  const CLIENTS = 10;
  const N = 10_000;
  const txs = Array.from({ length: N }, () => rng.bytes(TX_BYTES));
  const clientOf = txs.map((_, i) => `client-${i % CLIENTS}`);
  const add = `mempool add ${N.toLocaleString("en-US")} txs, ${CLIENTS} clients`;
  const reap = `mempool reap 1,000 of ${N.toLocaleString("en-US")}, ${CLIENTS} clients`;
  const full = new Mempool({ maxTxs: 2 * N });
  txs.forEach((t, i) => full.add(t, clientOf[i]!));
  const bare = new Map<string, Uint8Array>();
  for (const t of txs) bare.set(bytesKey(hasher.digest(t)), t);
  return [
    {
      group: add,
      backend: "Map by tx id",
      items: N,
      baseline: true,
      fn: () => {
        const m = new Map<string, Uint8Array>();
        for (const t of txs) {
          const k = bytesKey(hasher.digest(t));
          if (!m.has(k)) m.set(k, t);
        }
        if (m.size !== N) throw new Error("bench: lost txs");
      },
    },
    {
      group: add,
      backend: "Mempool",
      items: N,
      fn: () => {
        const m = new Mempool({ maxTxs: 2 * N });
        for (let i = 0; i < N; i++) if (m.add(txs[i]!, clientOf[i]!).kind !== "accepted") throw new Error("bench: refused");
      },
    },
    {
      group: reap,
      backend: "Map by tx id",
      items: 1000,
      baseline: true,
      fn: () => {
        const out: Uint8Array[] = [];
        for (const t of bare.values()) {
          out.push(t);
          if (out.length === 1000) break;
        }
        if (out.length !== 1000) throw new Error("bench: short reap");
      },
    },
    {
      group: reap,
      backend: "Mempool (round-robin)",
      items: 1000,
      fn: () => {
        if (full.reap(1000, 1 << 30).length !== 1000) throw new Error("bench: short reap");
      },
    },
  ];
}

/**
 * One inclusion proof of a block of `n` 256-byte txs, three ways: rebuilding the tree per request (what
 * `GET /v1/blocks/:h/proof/:i` did before the cache, minus the store read and block decode it also paid: baseline),
 * building a MerkleTree (a cache miss), and a cache hit (ProofTreeCache lookup + proof). Indices cycle, so every
 * proof is a different leaf.
 */
function proofCases(n: number, rng: SeededRng): BenchCase[] {
  const txs = Array.from({ length: n }, () => rng.bytes(TX_BYTES));
  const root = merkleRoot(txs);
  const group = `inclusion proof, ${n.toLocaleString("en-US")}-tx block`;
  const cache = new ProofTreeCache();
  cache.tree(1, () => txs);
  let i = 0;
  const check = (r: Uint8Array): void => {
    if (r[0] !== root[0] || r[31] !== root[31]) throw new Error("bench: wrong proof root");
  };
  return [
    { group, backend: "rebuild per request (merkleProof, wasm)", size: n, baseline: true, fn: () => check(merkleProof(txs, i++ % n).root) },
    { group, backend: "MerkleTree.build + proof (cache miss)", size: n, fn: () => check(MerkleTree.build(txs).proof(i++ % n).root) },
    { group, backend: "ProofTreeCache hit + proof", size: n, fn: () => check(cache.tree(1, () => txs)!.tree.proof(i++ % n).root) },
  ];
}

export const suite: BenchSuite = {
  flags: [],
  async run(_args, opts) {
    const dirs = Array.from({ length: 5 }, () => mkdtempSync(join(tmpdir(), "quire-bench-chain-")));
    const stores: ChainStore[] = [];
    try {
      const lmdbChain = ChainSubject.create(await LmdbChainStore.open({ chainId: CHAIN_ID, path: dirs[0]! }));
      const memChain = ChainSubject.create(MemoryChainStore.open({ chainId: CHAIN_ID }));
      const lmdbWrite = new StoreWriteSubject(await LmdbChainStore.open({ chainId: CHAIN_ID, path: dirs[1]! }));
      const memWrite = new StoreWriteSubject(MemoryChainStore.open({ chainId: CHAIN_ID }));
      stores.push(lmdbChain.store, memChain.store, lmdbWrite.store, memWrite.store);
      const transfer = "verify + execute a 1,000-transfer block (LMDB)";
      const transferRows = ["KV put block (no signatures)", "transfers: check() each, then the block", "transfers: verified in deliver"] as const;
      const wantTransfers = transferRows.some((b) => matchesFilter(`${transfer} ${b}`, opts.filter));
      const transferCases: BenchCase[] = [];
      if (wantTransfers) {
        // Signing 2 × 12,000 transfers is seconds of setup: only when the filter selects these rows.
        const kvBase = ChainSubject.create(await LmdbChainStore.open({ chainId: CHAIN_ID, path: dirs[2]! }));
        const checked = ChainSubject.accounts(await LmdbChainStore.open({ chainId: CHAIN_ID, path: dirs[3]! }), new AccountBlocks(TRANSFER_BLOCKS, 11), true);
        const unchecked = ChainSubject.accounts(await LmdbChainStore.open({ chainId: CHAIN_ID, path: dirs[4]! }), new AccountBlocks(TRANSFER_BLOCKS, 12), false);
        stores.push(kvBase.store, checked.store, unchecked.store);
        const few = { iterations: 5, warmupIterations: 1 };
        transferCases.push(
          { group: transfer, backend: transferRows[0], items: TXS_PER_BLOCK, baseline: true, ...few, fn: () => kvBase.step() },
          { group: transfer, backend: transferRows[1], items: TXS_PER_BLOCK, ...few, fn: () => checked.step() },
          { group: transfer, backend: transferRows[2], items: TXS_PER_BLOCK, ...few, fn: () => unchecked.step() },
        );
      }
      const commit = "execute + commit 1,000-tx block";
      const write = "store write of a 1,000-tx commit";
      const rng = new SeededRng(7);
      const cases: BenchCase[] = [
        { group: commit, backend: "memory store", items: TXS_PER_BLOCK, baseline: true, fn: () => memChain.step() },
        { group: commit, backend: "lmdb", items: TXS_PER_BLOCK, fn: () => lmdbChain.step() },
        { group: write, backend: "memory store", items: TXS_PER_BLOCK, baseline: true, fn: () => memWrite.step() },
        { group: write, backend: "lmdb", items: TXS_PER_BLOCK, fn: () => lmdbWrite.step() },
        ...transferCases,
        ...stateRootCases(10_000, rng),
        ...stateRootCases(100_000, rng),
        ...mempoolCases(rng),
        ...proofCases(1_000, rng),
        ...proofCases(4_096, rng),
      ];
      return await runCases("chain", cases, opts);
    } finally {
      for (const s of stores) await s.close();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  },
};
