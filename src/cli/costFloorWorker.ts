/**
 * One process of the cost floor (costFloor.ts has the definition): the shipping RPC server in front of a minimal
 * node that does only the per-transaction work consensus cannot avoid, and a loop that commits what arrived.
 *
 *   POST /v1/txs (binary, the real RpcServer on uWS) → submitTx: the application's stateless check, the tx id
 *   (SHA-256, for the 202), a bounded queue → loop: up to `block.maxTxs` queued txs → `buildBlock` (Merkle tx root)
 *   → block hash → `Executor.execute` (the KV app, the state tree) → `Executor.commit` into an `LmdbChainStore`
 *   (one fsync'd LMDB transaction per block, as the node commits) → next block at once if txs are waiting.
 *
 * In `sink` mode the server answers 202 without any of that (a constant id): what remains is the HTTP path and the
 * load generator, whose ceiling this measures.
 *
 * Started by `fork` with one JSON argument (FloorWorkerConfig); talks to its parent over IPC: sends
 * `{ready, url}` once listening, answers `{cmd: "stats"}` with `{stats}` (FloorWorkerStats), exits on `{cmd: "stop"}`
 * or when the parent goes away.
 */
import { rm } from "node:fs/promises";
import { KvApplication } from "../chain/app/kvApp.js";
import { buildBlock, buildGenesisBlock } from "../chain/blocks.js";
import { Executor } from "../chain/executor.js";
import { LmdbChainStore } from "../chain/store/lmdbStore.js";
import { blockHasher } from "../consensus/blockHash.js";
import { genesisQc } from "../consensus/signing.js";
import { createHasher, defaultHasher, setDefaultHasher } from "../crypto/hash/backends.js";
import type { HashBackend } from "../crypto/hasher.js";
import type { Block, Hash } from "../domain/types.js";
import type { BlockSummary, CommittedBlockListener, NodeApi, SubmitResult } from "../rpc/api.js";
import { RpcServer } from "../rpc/server.js";
import { utf8 } from "../util/bytes.js";

export interface FloorWorkerConfig {
  readonly mode: "floor" | "sink";
  /** The chain store's directory (removed at exit). */
  readonly dataDir: string;
  /** Most txs per block (the node's `block.maxTxs`). */
  readonly maxTxs: number;
  /** Most txs waiting (the node's `mempool.maxTxs`); past it, 503 MEMPOOL_FULL. */
  readonly maxQueued: number;
  /** The node's `hash.backend`, when given. */
  readonly hash?: HashBackend;
}

export interface FloorWorkerStats {
  readonly accepted: number;
  readonly committed: number;
  readonly blocks: number;
  /** CPU seconds of this process so far. */
  readonly cpuSeconds: number;
}

export type FloorWorkerMessage = { readonly ready: true; readonly url: string } | { readonly stats: FloorWorkerStats };

function unused(): never {
  throw new Error("not served by the cost floor");
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? "{}") as FloorWorkerConfig;
  if (cfg.hash !== undefined) setDefaultHasher(createHasher(cfg.hash));
  const hasher = defaultHasher();
  const queue: Uint8Array[] = [];
  const listeners = new Set<CommittedBlockListener>();
  let accepted = 0;
  let committed = 0;
  let blocks = 0;
  const sinkId = new Uint8Array(32);

  const chainId = utf8("quire-cost-floor");
  const hashBlock = blockHasher();
  const genesis = buildGenesisBlock({ timestampMs: Date.now() });
  const genesisHash = hashBlock(genesis.header);
  const store = cfg.mode === "floor" ? await LmdbChainStore.open({ path: cfg.dataDir, chainId, genesisHash }) : null;
  const app = store === null ? null : new KvApplication({}, { committed: store });
  const executor = store === null || app === null ? null : new Executor({}, { store, app });
  executor?.commitGenesis({ block: genesis, hash: genesisHash, qc: genesisQc(genesisHash) });
  let parent = { hash: genesisHash, height: 0 };

  const api: NodeApi = {
    submitTx(tx: Uint8Array): SubmitResult {
      if (app === null) {
        accepted++;
        return { kind: "accepted", id: sinkId };
      }
      const c = app.check(tx);
      if (!c.ok) return { kind: "invalid", code: c.code, reason: c.reason };
      if (queue.length >= cfg.maxQueued) return { kind: "full", retryAfterSec: 1 };
      queue.push(tx);
      accepted++;
      scheduleBlock();
      return { kind: "accepted", id: hasher.digest(tx) };
    },
    txStatus: unused,
    block: unused,
    blockTxIds: unused,
    blockBody: unused,
    proof: unused,
    kv: unused,
    account: unused,
    supply: unused,
    status: () => ({ chainId: "quire-cost-floor", nodeIndex: 0, committedHeight: parent.height, view: parent.height, leader: 0, peersConnected: 0, mempoolSize: queue.length }),
    health: unused,
    peers: unused,
    validators: unused,
    epochs: unused,
    effectiveConfig: unused,
    consensus: unused,
    evidence: unused,
    genesisDocument: unused,
    onCommittedHeader: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };

  // One block per turn of the event loop, so the server answers between blocks as the node's would.
  let scheduled = false;
  let stopped = false;
  function scheduleBlock(): void {
    if (scheduled || stopped || executor === null) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      if (stopped) return; // the store is closing
      commitBlock(executor);
      if (queue.length > 0) scheduleBlock();
    });
  }
  function commitBlock(ex: Executor): void {
    const txs = queue.splice(0, cfg.maxTxs);
    if (txs.length === 0) return;
    const height = parent.height + 1;
    const block: Block = buildBlock({ parentHash: parent.hash, parentHeight: parent.height, view: height, proposer: 0, timestampMs: Date.now(), txs, parentExecution: ex.parentExecution(parent.hash) });
    const hash: Hash = hashBlock(block.header);
    ex.execute(block, hash);
    // A QC-shaped certificate with no signature: the floor has no BLS (the store keeps it like any QC).
    ex.commit([{ block, hash, qc: { ...genesisQc(hash), view: height } }]);
    parent = { hash, height };
    committed += txs.length;
    blocks++;
    const info: BlockSummary = { hash, header: block.header, txCount: txs.length, qc: null };
    for (const l of listeners) l(info);
  }

  const server = new RpcServer({ host: "127.0.0.1", port: 0, limits: { requestsPerSecPerSource: 1_000_000, requestBurstPerSource: 1_000_000 } }, { api });
  await server.start();
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await server.stop();
    await store?.close();
    await rm(cfg.dataDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on("message", (m: { cmd?: string }) => {
    if (m.cmd === "stats") {
      const cpu = process.cpuUsage();
      const msg: FloorWorkerMessage = { stats: { accepted, committed, blocks, cpuSeconds: (cpu.user + cpu.system) / 1e6 } };
      process.send?.(msg);
    } else if (m.cmd === "stop") void stop();
  });
  process.on("disconnect", () => void stop());
  const ready: FloorWorkerMessage = { ready: true, url: server.url };
  process.send?.(ready);
}

void main().catch((e: unknown) => {
  process.stderr.write(`cost floor worker: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
