/**
 * A real certified chain, written into a chain store by the shipping code, for `quire bench catchup` (and its test):
 *
 *   genesis (as the node commits it) → for each height h = 1…N, in view h:
 *     txs from the caller → `buildBlock` carrying the parent's execution outcome (`Executor.parentExecution`, as the
 *     node's proposer does), proposer = view mod n → block hash (`blockHasher`) → the block executed speculatively
 *     (`Executor.execute`) → votes of a quorum of validators (their BLS keys, `blsSigner` over `voteMessage`)
 *     assembled into a QC by `SchemeCertificates` over `BlsScheme` → `Executor.commit({block, hash, qc})`, a batch of
 *     `commitEvery` blocks per store transaction (the node's catch-up commits batches the same way).
 *
 * The signers rotate: block h is signed by the quorum of validators starting at its proposer (h, h+1, … mod n), so
 * every validator signs some QCs and the verifier meets n distinct signer sets. Nothing is faked: a node that syncs
 * this chain verifies every QC, tx root and hash link, and re-executes every block to the same state roots.
 */
import type { BlsBackend } from "../src/crypto/bls/backend.js";
import type { ValidatorKey } from "../src/crypto/bls/keyFile.js";
import { KvApplication } from "../src/chain/app/kvApp.js";
import { buildBlock } from "../src/chain/blocks.js";
import { Executor } from "../src/chain/executor.js";
import type { CertifiedBlockInput } from "../src/chain/executor.js";
import type { ChainHead, ChainStore } from "../src/chain/store/interface.js";
import { bitmapSignerSets } from "../src/consensus/adapters/bitmapSignerSets.js";
import { BlsScheme, blsSigner } from "../src/consensus/adapters/blsScheme.js";
import { blockHasher } from "../src/consensus/blockHash.js";
import { SchemeCertificates } from "../src/consensus/scheme.js";
import { genesisQc, voteMessage } from "../src/consensus/signing.js";
import type { Block, Vote } from "../src/domain/types.js";
import { quorumSize } from "../src/domain/quorum.js";

export interface CertifiedChainOptions {
  readonly chainId: Uint8Array;
  /** The genesis block the network starts from (node/genesis.ts `genesisBlock`). */
  readonly genesis: Block;
  /** The KV application's state-tree buckets (the genesis file's `app.bucketBits`). */
  readonly bucketBits: number;
  /** Blocks above genesis. */
  readonly blocks: number;
  readonly txsPerBlock: number;
  /** The `index`-th transaction of the block at `height` (distinct ids: a repeated tx would fail as a replay). */
  readonly tx: (height: number, index: number) => Uint8Array;
  /**
   * Blocks per store transaction (default 16). Blocks wait for their commit executed speculatively, each on its
   * parent's overlay, so a read costs more the longer the wait; 16 keeps that small while sharing the fsyncs.
   */
  readonly commitEvery?: number;
  /** Called after each store transaction with the height reached (progress output). */
  readonly onProgress?: (height: number) => void;
}

export interface CertifiedChainModules {
  /** An empty store, or one holding exactly this genesis. */
  readonly store: ChainStore;
  readonly backend: BlsBackend;
  /** Every validator's key (crypto/bls/keyFile.ts `loadKeyFile`), in genesis order. */
  readonly keys: readonly Pick<ValidatorKey, "secretKey" | "publicKeyBytes">[];
}

/** Writes the chain (see the module comment) and returns its head. */
export function writeCertifiedChain(o: CertifiedChainOptions, m: CertifiedChainModules): ChainHead {
  const { store, backend } = m;
  const n = m.keys.length;
  const quorum = quorumSize(n);
  const hashBlock = blockHasher();
  const signers = m.keys.map((k, i) => blsSigner(backend, k.secretKey, i));
  const scheme = new BlsScheme(backend, m.keys.map((k) => k.publicKeyBytes));
  const certs = new SchemeCertificates({ chainId: o.chainId, validatorCount: n }, scheme, bitmapSignerSets());
  const executor = new Executor({}, { store, app: new KvApplication({ bucketBits: o.bucketBits }, { committed: store }) });

  const genesisHash = hashBlock(o.genesis.header);
  if (store.head() === null) executor.commitGenesis({ block: o.genesis, hash: genesisHash, qc: genesisQc(genesisHash) });
  const head = store.head()!;
  if (head.height !== 0) throw new Error(`writeCertifiedChain: the store already holds a chain up to height ${head.height}`);

  const every = Math.max(1, o.commitEvery ?? 16);
  let parent = { hash: genesisHash, height: 0, timestampMs: o.genesis.header.timestampMs };
  let batch: CertifiedBlockInput[] = [];
  for (let height = 1; height <= o.blocks; height++) {
    const view = height;
    const txs: Uint8Array[] = [];
    for (let i = 0; i < o.txsPerBlock; i++) txs.push(o.tx(height, i));
    const block = buildBlock({
      parentHash: parent.hash,
      parentHeight: parent.height,
      view,
      proposer: view % n,
      timestampMs: parent.timestampMs + 1,
      txs,
      parentExecution: executor.parentExecution(parent.hash),
    });
    const hash = hashBlock(block.header);
    // Executed now, so that the next block's parentExecution finds its outcome before the batch is committed.
    executor.execute(block, hash);
    const message = voteMessage(o.chainId, view, hash);
    const votes: Vote[] = [];
    for (let k = 0; k < quorum; k++) {
      const voter = (view + k) % n;
      votes.push({ view, blockHash: hash, voter, signature: signers[voter]!.sign(message) });
    }
    const { qc, invalidVoters } = certs.assembleQc(votes);
    if (qc === null || invalidVoters.length > 0) throw new Error(`writeCertifiedChain: no QC for height ${height}`);
    batch.push({ block, hash, qc });
    parent = { hash, height, timestampMs: block.header.timestampMs };
    if (batch.length >= every || height === o.blocks) {
      executor.commit(batch);
      batch = [];
      o.onProgress?.(height);
    }
  }
  return store.head()!;
}
