/**
 * The RPC's reads of a committed chain, over its store and application: what a validator (`QuireNode`) and a para
 * node (`ParaNode`) answer alike for blocks, block tx ids and bodies, inclusion proofs, KV values, accounts, supply
 * and (on a main chain) paracross progress. Each node keeps what differs (tx status, submission, status, genesis).
 */
import type { BuiltApplication } from "../chain/app/build.js";
import type { DoneCommit, ParaStatus } from "../chain/app/paracross/module.js";
import { ProofTreeCache } from "../chain/proofTrees.js";
import { buildCommitProof } from "../consensus/commitProof.js";
import type { ChainStore } from "../chain/store/interface.js";
import { defaultHasher } from "../crypto/hash/backends.js";
import type { AccountView, BlockBody, BlockSummary, CommittedBlockListener, ProofResult, SupplyView, XShardTransferView } from "../rpc/api.js";
import type { Logger } from "./logger.js";

export class ChainReads {
  /** Trees of recent blocks' transactions: a repeated proof is a lookup, not a tree (see chain/proofTrees.ts). */
  private readonly proofTrees = new ProofTreeCache();

  constructor(
    private readonly store: ChainStore,
    private readonly app: () => BuiltApplication,
  ) {}

  block(height: number | "latest"): BlockSummary | null {
    const h = height === "latest" ? this.store.head()?.height : height;
    if (h === undefined) return null;
    const rec = this.store.committedAt(h);
    if (rec === undefined) return null;
    // A para block's QC slot holds its anchor (view = main height, no signers): shown as it is (src/node/para/README.md).
    return { hash: rec.hash, header: rec.block.header, txCount: rec.block.txs.length, qc: h === 0 ? null : rec.qc };
  }

  blockTxIds(height: number): Uint8Array | null {
    const rec = this.store.committedAt(height);
    if (rec === undefined) return null;
    // The ids are not stored by block (only id → location), so they are hashed again: ~1 µs per 256-byte tx.
    return rec.block.txs.length === 0 ? new Uint8Array(0) : defaultHasher().digestMany(rec.block.txs);
  }

  blockBody(height: number): BlockBody | null {
    const rec = this.store.committedAt(height);
    return rec === undefined ? null : { results: rec.results, txs: rec.block.txs };
  }

  proof(height: number, index: number): ProofResult {
    const t = this.proofTrees.tree(height, () => this.store.committedAt(height)?.block.txs);
    if (t === undefined) return { kind: "noBlock" };
    if (index >= t.tree.size) return { kind: "noTx", txCount: t.tree.size };
    return { kind: "ok", proof: t.tree.proof(index), cached: t.cached };
  }

  kv(key: Uint8Array): Uint8Array | null {
    return this.app().kv?.query(key) ?? null;
  }

  account(publicKey: Uint8Array): AccountView | null {
    const a = this.app().accounts;
    return a === null ? null : { publicKey, ...a.account(publicKey) };
  }

  /** Σ balances and each registered para chain's escrow (a para chain registers none). */
  supply(): SupplyView | null {
    const a = this.app().accounts;
    if (a === null) return null;
    const x = this.app().xshard;
    const escrows = new Map(a.registeredTitles().map((t) => [t, a.escrow(t)]));
    return x === null ? { supply: a.supply(), escrows } : { supply: a.supply(), escrows, xshard: x.totals() };
  }

  /** A cross-shard transfer's committed status on this shard; null without the xshard module. */
  xshardTransfer(xid: Uint8Array): XShardTransferView | null {
    const x = this.app().xshard;
    return x === null ? null : { xid, shard: x.network.self, ...x.status(xid) };
  }

  /**
   * The committed blocks h..k+1 that prove h committed (consensus/commitProof.ts), or null when not provable yet. On a
   * chain that changes its validator set, a proof never crosses an epoch's end E: the blocks above E that committed it
   * are the stored end proof (`ChainStore.epochEndProof`), certified by E's epoch like h, not the next epoch's blocks.
   */
  commitProof(height: number): BlockSummary[] | null {
    const head = this.store.head()?.height ?? -1;
    if (height < 1 || height > head) return null;
    const ending = this.epochEnding(height, head);
    const top = ending === null ? head : ending.end + ending.proof.length;
    const at = (i: number): BlockSummary | undefined => {
      if (ending === null || i <= ending.end) return this.block(i) ?? undefined;
      const c = ending.proof[i - ending.end - 1];
      return c === undefined ? undefined : { hash: c.qc.blockHash, header: c.block.header, txCount: c.block.txs.length, qc: c.qc };
    };
    const p = buildCommitProof(height, top, (i) => {
      const b = at(i);
      return b === undefined || b.qc === null ? undefined : { header: b.header, qc: b.qc };
    });
    if (p === null) return null;
    const out: BlockSummary[] = [];
    for (let i = 0; i < p.headers.length; i++) out.push(at(height + i)!);
    return out;
  }

  /** The end of the epoch `height` is in and what committed it, when that epoch has ended at or below `head`. */
  private epochEnding(height: number, head: number): { end: number; proof: NonNullable<ReturnType<ChainStore["epochEndProof"]>> } | null {
    const v = this.app().validators;
    if (v === null) return null;
    const epochs = v.epochs();
    const next = epochs.find((e) => e.startHeight > height);
    if (next === undefined || next.startHeight - 1 > head) return null;
    // Without the stored proof (a crash before it was written) the range still stops at E: then only a pair inside
    // the epoch proves h, and a block whose proof would need it reads as not provable here (other nodes hold it).
    return { end: next.startHeight - 1, proof: this.store.epochEndProof(next.epoch - 1) ?? [] };
  }

  paraStatus(title: string): ParaStatus | null {
    return this.app().paracross?.status(title) ?? null;
  }

  paraCommit(title: string, height: number): DoneCommit | null {
    return this.app().paracross?.doneCommit(title, height) ?? null;
  }
}

/**
 * The part of `NodeApi` every kind of node answers alike from its committed store — the validator (`QuireNode`), the
 * para node and the follower extend it — and the commit listeners behind `/v1/stream`. Each keeps what differs
 * (submission, tx status, status, genesis, and the para and cross-shard reads where its chain has them).
 */
export abstract class CommittedChainApi {
  protected abstract readonly reads: ChainReads;
  abstract readonly logger: Logger;
  private readonly listeners = new Set<CommittedBlockListener>();

  block(height: number | "latest"): BlockSummary | null {
    return this.reads.block(height);
  }

  blockTxIds(height: number): Uint8Array | null {
    return this.reads.blockTxIds(height);
  }

  blockBody(height: number): BlockBody | null {
    return this.reads.blockBody(height);
  }

  commitProof(height: number): BlockSummary[] | null {
    return this.reads.commitProof(height);
  }

  proof(height: number, index: number): ProofResult {
    return this.reads.proof(height, index);
  }

  kv(key: Uint8Array): Uint8Array | null {
    return this.reads.kv(key);
  }

  account(publicKey: Uint8Array): AccountView | null {
    return this.reads.account(publicKey);
  }

  supply(): SupplyView | null {
    return this.reads.supply();
  }

  onCommittedHeader(listener: CommittedBlockListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Hands a just-committed block to every listener, in height order; one that throws is logged, the rest still run. */
  protected notifyCommitted(info: BlockSummary): void {
    for (const l of this.listeners) {
      try {
        l(info);
      } catch (e) {
        this.logger.error("commit listener threw", { error: String(e) });
      }
    }
  }
}
