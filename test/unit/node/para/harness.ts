// Test support for the para node: an in-memory main chain (MainChainClient) and a para chain over a memory store.
import { buildApplication } from "../../../../src/chain/app/build.js";
import { encodeKvTx } from "../../../../src/chain/app/kvTx.js";
import { encodeCommitMessage } from "../../../../src/chain/app/paracross/format.js";
import { buildGenesisBlock } from "../../../../src/chain/blocks.js";
import { Executor } from "../../../../src/chain/executor.js";
import { MemoryChainStore } from "../../../../src/chain/store/memoryStore.js";
import { encodeBitmapIndices } from "../../../../src/crypto/bitmap/index.js";
import type { BlsBackend } from "../../../../src/crypto/bls/backend.js";
import { blockHasher } from "../../../../src/consensus/blockHash.js";
import { ParaBuilder } from "../../../../src/node/para/builder.js";
import type { OwnCommit } from "../../../../src/node/para/builder.js";
import type { MainBlock, MainChainClient, ParaStatusView } from "../../../../src/node/para/mainChain.js";
import { utf8 } from "../../../../src/util/bytes.js";

export const TITLE = "demo";

/** A main chain in memory: blocks appended by the test, a done height the test sets, submitted txs recorded. */
export class FakeMain implements MainChainClient {
  readonly blocks: MainBlock[] = [];
  readonly submitted: Uint8Array[] = [];
  done = 0;
  failRequests = 0;
  private heads: ((h: number) => void)[] = [];
  private closes: (() => void)[] = [];
  /** Head subscriptions open now. */
  get subscribers(): number {
    return this.heads.length;
  }

  /** Drops every head subscription (a main node restarting). Blocks added after it reach nobody until resubscribed. */
  closeStreams(): void {
    const closes = this.closes;
    this.heads = [];
    this.closes = [];
    for (const c of closes) c();
  }

  /** Appends main block `height = blocks.length + 1` with `txs`, `failed` naming the indices whose result bit is set. */
  add(txs: Uint8Array[] = [], failed: number[] = []): MainBlock {
    const b: MainBlock = { height: this.blocks.length + 1, timestampMs: 1_000 * (this.blocks.length + 1), txs, results: encodeBitmapIndices(txs.length, Uint32Array.from(failed)) };
    this.blocks.push(b);
    for (const h of this.heads) h(b.height);
    return b;
  }

  async head(): Promise<number> {
    this.maybeFail();
    return this.blocks.length;
  }

  async blockBody(height: number): Promise<MainBlock | null> {
    this.maybeFail();
    return this.blocks[height - 1] ?? null;
  }

  async paraStatus(_title: string): Promise<ParaStatusView> {
    this.maybeFail();
    return { doneHeight: this.done, recordedHeight: this.done };
  }

  async submitTx(tx: Uint8Array): Promise<void> {
    this.submitted.push(tx);
  }

  subscribeHeads(onHead: (h: number) => void, onClose: () => void): () => void {
    this.heads.push(onHead);
    this.closes.push(onClose);
    return () => {
      this.heads = this.heads.filter((x) => x !== onHead);
      this.closes = this.closes.filter((x) => x !== onClose);
    };
  }

  private maybeFail(): void {
    if (this.failRequests > 0) {
      this.failRequests--;
      throw new Error("main node down");
    }
  }
}

let putNonce = 0;
/** A KV put for the para chain. */
export function put(key: string, value: string): Uint8Array {
  const nonce = new Uint8Array(8);
  new DataView(nonce.buffer).setUint32(4, ++putNonce);
  return encodeKvTx({ op: "put", nonce, key: utf8(key), value: utf8(value) });
}

/** A KV delete (fails on an absent key). */
export function del(key: string): Uint8Array {
  const nonce = new Uint8Array(8);
  new DataView(nonce.buffer).setUint32(4, ++putNonce);
  return encodeKvTx({ op: "delete", nonce, key: utf8(key) });
}

/** A para chain on a memory store with a KV application, its genesis committed, and a builder over it. */
export function paraChain(backend: BlsBackend, opts: { startHeight?: number; emptyBlockInterval?: number; seed?: number } = {}) {
  const chainId = utf8("para-demo");
  const store = MemoryChainStore.open({ chainId });
  const built = buildApplication({ bucketBits: 4, modules: ["kv"], chainId, paraTitle: TITLE }, { committed: store });
  const executor = new Executor({}, { store, app: built.app });
  const g = buildGenesisBlock({ timestampMs: 500 });
  const gh = blockHasher()(g.header);
  executor.commitGenesis({ block: g, hash: gh, qc: { view: 0, blockHash: gh, signers: encodeBitmapIndices(0, new Uint32Array(0)), aggregateSignature: new Uint8Array(96) } });
  const sk = backend.secretKeyFromBytes(new Uint8Array(32).fill(opts.seed ?? 7));
  const builder = new ParaBuilder(
    { title: TITLE, startHeight: opts.startHeight ?? 1, emptyBlockInterval: opts.emptyBlockInterval ?? 1 },
    { store, executor, sign: (m) => backend.signatureToBytes(backend.sign(sk, m)) },
  );
  return { store, executor, builder, built, sk };
}

/** An unsigned stand-in commit for para height h (the sender never looks inside the signature). */
export function fakeCommit(h: number, packedTxs = 0): OwnCommit {
  // Every other packed tx failed: a dense results bitmap of packedTxs bits.
  const failed = Uint32Array.from({ length: packedTxs >>> 1 }, (_, i) => 2 * i);
  const message = encodeCommitMessage({ title: TITLE, height: h, mainHeight: h, blockHash: new Uint8Array(32).fill(h & 0xff), stateRoot: new Uint8Array(32), results: encodeBitmapIndices(packedTxs, failed), crossTxs: encodeBitmapIndices(packedTxs, new Uint32Array(0)) });
  return { height: h, mainHeight: h, message, signature: new Uint8Array(96) };
}
