/**
 * A synthetic cross-shard workload for the scaling curve (phase 1's stand-in, kept under `quire sim --curve --cross F
 * --stand-in`; the real workload is crossShard.ts): it models the COSTS of Kronos's cross-shard path, not its
 * semantics (no escrow, no proofs checked for real, no refunds).
 *
 * A fraction of each shard's client txs are source legs (KV puts under `x/DEST/…`). When the source shard's reference
 * replica commits a block, its source legs are relayed to their destination shards — one message per block and
 * destination, `relayDelayMs` later — and the receiving replica is charged one commit-proof check (one aggregate
 * verification, `aggregateVerifyUs`) plus a Merkle branch per leg (`branchUs`) before each destination leg (a KV put
 * under `d/SRC/…`) is checked, gossiped and executed like any tx. So a cross-shard tx costs two executions, two
 * admissions and its share of a proof, on two shards.
 *
 * Throughput counts a cross-shard tx once: committed txs minus the source legs committed in the window.
 */
import { decodeKvTx, encodeKvTx } from "../chain/app/kvTx.js";
import type { CommittedSummary } from "../chain/executor.js";
import { utf8, writeU64BE } from "../util/bytes.js";
import type { CostModel } from "./costModel.js";
import type { ShardHooks, ShardSimulation } from "./shardSimulation.js";

export interface CrossShardLoadOptions {
  /** Fraction of client txs that are cross-shard (0..1). */
  readonly fraction: number;
  /** Virtual ms from the source commit to the destination's receipt (default 20: two link delays). */
  readonly relayDelayMs?: number;
  /** Cost of checking one leg's Merkle branch (default 5 µs: ~10 SHA-256 of 64 bytes at 0.3–0.7 µs, README merkle). */
  readonly branchUs?: number;
}

const X_PREFIX = utf8("x/");

function startsWith(b: Uint8Array, prefix: Uint8Array): boolean {
  if (b.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[i] !== prefix[i]) return false;
  return true;
}

export class CrossShardLoad {
  /** Source legs committed in the throughput window at the reference replicas (summed over shards). */
  sourceLegsInWindow = 0;
  destinationLegs = 0;
  readonly hooks: ShardHooks;

  constructor(
    readonly opts: CrossShardLoadOptions,
    readonly shards: number,
    private readonly costs: CostModel | undefined,
  ) {
    if (!(opts.fraction >= 0 && opts.fraction <= 1)) throw new RangeError(`fraction must be in 0..1, got ${opts.fraction}`);
    this.hooks = {
      clientTx: (shard, seq) => this.clientTx(shard, seq),
      onCommitted: (sim, shard, instance, blocks) => this.onCommitted(sim, shard, instance, blocks),
    };
  }

  /** Exactly `fraction` of the sequence numbers are cross-shard (spread evenly), to the other shards in turn. */
  private clientTx(shard: number, seq: number): Uint8Array {
    const nonce = new Uint8Array(8);
    writeU64BE(new DataView(nonce.buffer), 0, seq);
    const f = this.opts.fraction;
    const cross = this.shards > 1 && Math.floor((seq + 1) * f) > Math.floor(seq * f);
    if (!cross) return encodeKvTx({ op: "put", nonce, key: utf8(`load/${seq % 64}`), value: utf8(String(seq)) });
    const dest = (shard + 1 + (seq % (this.shards - 1))) % this.shards;
    return encodeKvTx({ op: "put", nonce, key: utf8(`x/${dest}/${seq % 64}`), value: utf8(String(seq)) });
  }

  private onCommitted(sim: ShardSimulation, shard: number, instance: number, blocks: readonly CommittedSummary[]): void {
    if (!sim.isReference(shard, instance)) return;
    const now = sim.scheduler.now();
    const inWindow = now >= sim.warmupMs && now < sim.warmupMs + sim.windowMs;
    const byDest = new Map<number, Uint8Array[]>();
    for (const b of blocks) {
      for (const tx of b.block.txs) {
        const d = decodeKvTx(tx);
        if (!d.ok || d.tx.op !== "put" || !startsWith(d.tx.key, X_PREFIX)) continue;
        const [, destText, slot] = new TextDecoder().decode(d.tx.key).split("/");
        const dest = Number(destText);
        if (inWindow) this.sourceLegsInWindow++;
        const leg = encodeKvTx({ op: "put", nonce: d.tx.nonce, key: utf8(`d/${shard}/${slot}`), value: d.tx.value });
        byDest.set(dest, [...(byDest.get(dest) ?? []), leg]);
      }
    }
    for (const [dest, legs] of byDest) {
      this.destinationLegs += legs.length;
      const verifyUs = this.costs === undefined ? 0 : this.costs.aggregateVerifyUs + legs.length * (this.opts.branchUs ?? 5);
      sim.relay(dest, legs, this.opts.relayDelayMs ?? 20, { clientId: `xshard:${shard}`, verifyUs });
    }
  }
}
