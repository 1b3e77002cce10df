/**
 * Transaction gossip, the shell's other part: every `intervalMs` the client transactions this node admitted and has
 * not forwarded yet go, in batches, to the next few leaders (the validators that can put them in a block soonest);
 * batches from peers go into the mempool as peer traffic (not re-gossiped). A batch with invalid transactions costs its
 * sender penalty points: an honest peer only forwards what its own mempool admitted.
 *
 * Each batch names, per tx, the client that submitted it (TxBatch.origins, as a pseudonym: `OriginPseudonyms`), and the receiving mempool counts the tx
 * against that client as relayed by this peer (Mempool AddOptions.relay): one RPC source that floods every node is
 * one heavy client everywhere instead of n - 1 anonymous peers, and a peer that lies about origins is held by the
 * mempool's per-relay cap. A batch without origins (an older sender) counts under the origin "".
 */
import { createHmac, randomBytes } from "node:crypto";
import type { TxBatch } from "../domain/types.js";
import type { Mempool } from "../chain/mempool.js";
import type { LeaderElection } from "../consensus/leaderElection.js";
import type { Scheduler, TimerHandle } from "../util/clock.js";
import type { GossipPolicy } from "./config.js";

/**
 * The origin as a batch carries it: a pseudonym, not the client's address. Peers need a stable key per client to
 * count quotas (and they key it by relaying peer anyway, so a pseudonym only this node can make is as good), while
 * client IP addresses are nobody else's business: each node keys an HMAC-SHA256 with a secret drawn at start and sends
 * its first 12 bytes in hex (24 ASCII bytes, within MAX_ORIGIN_BYTES). The pseudonym of one client is stable while the
 * node runs; a restart changes it, which only splits that client's count at the receivers for as long as its old txs
 * stay pending. The empty origin (unknown) stays empty.
 */
export class OriginPseudonyms {
  private readonly secret: Buffer;
  private readonly cache = new Map<string, string>();

  constructor(secret: Uint8Array = randomBytes(32)) {
    this.secret = Buffer.from(secret);
  }

  of(origin: string): string {
    if (origin === "") return "";
    let p = this.cache.get(origin);
    if (p === undefined) {
      p = createHmac("sha256", this.secret).update(origin, "utf8").digest().subarray(0, 12).toString("hex");
      // Bounded: forget everything past 4,096 distinct clients (recomputing is cheap, ~2 us).
      if (this.cache.size >= 4096) this.cache.clear();
      this.cache.set(origin, p);
    }
    return p;
  }
}

/** Distinct next leaders a gossip batch goes to (all peers in a 4-validator network). */
const GOSSIP_FANOUT = 3;
/** Gossip batches sent per tick at most (the rest waits for the next tick). */
const GOSSIP_BATCHES_PER_TICK = 8;

export interface TxGossipOptions {
  readonly self: number;
  readonly validatorCount: number;
  readonly policy: GossipPolicy;
}

export interface TxGossipModules {
  readonly scheduler: Scheduler;
  readonly mempool: Pick<Mempool, "add" | "takeNewForGossip">;
  readonly leaders: LeaderElection;
  /** The replica's current view (the next leaders are counted from it). */
  readonly view: () => number;
  /** Sends one batch to these validators. */
  readonly send: (targets: readonly number[], batch: TxBatch) => void;
  /** A peer's batch held invalid transactions (`invalid` of them). */
  readonly misbehaved: (from: number, invalid: number) => void;
  /** Counts an event by code (e.g. a batch that met a full mempool). */
  readonly count: (code: string, n?: number) => void;
}

export class TxGossip {
  private timer: TimerHandle | null = null;
  private running = false;
  private readonly pseudonyms = new OriginPseudonyms();

  constructor(
    private readonly o: TxGossipOptions,
    private readonly m: TxGossipModules,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.arm();
  }

  stop(): void {
    this.running = false;
    this.timer?.cancel();
    this.timer = null;
  }

  /** A batch from a peer: each transaction into the mempool, relayed by that peer from its origin (copied out of the frame). */
  onBatch(from: number, batch: TxBatch): void {
    let invalid = 0;
    let full = 0;
    const relay = `peer:${from}`;
    const origins = batch.origins;
    for (let i = 0; i < batch.txs.length; i++) {
      // A copy: the decoded tx is a view into the whole frame, which it would otherwise keep alive in the mempool.
      const r = this.m.mempool.add(batch.txs[i]!.slice(), origins?.[i] ?? "", { gossip: false, relay });
      if (r.kind === "invalid") invalid++;
      else if (r.kind === "full") full++;
    }
    if (full > 0) this.m.count("GOSSIP_MEMPOOL_FULL", full);
    if (invalid > 0) {
      this.m.count("GOSSIP_INVALID_TX", invalid);
      this.m.misbehaved(from, invalid);
    }
  }

  private arm(): void {
    this.timer = this.m.scheduler.setTimeout(() => {
      this.timer = null;
      if (!this.running) return;
      this.tick();
      this.arm();
    }, this.o.policy.intervalMs);
  }

  private tick(): void {
    const targets = this.nextLeaders();
    if (targets.length === 0) return;
    const p = this.o.policy;
    for (let i = 0; i < GOSSIP_BATCHES_PER_TICK; i++) {
      const items = this.m.mempool.takeNewForGossip(p.maxBatchTxs, p.maxBatchBytes);
      if (items.length === 0) return;
      this.m.send(targets, { txs: items.map((g) => g.tx), origins: items.map((g) => this.pseudonyms.of(g.origin)) });
    }
  }

  private nextLeaders(): number[] {
    const out: number[] = [];
    const n = this.o.validatorCount;
    const v = this.m.view();
    for (let k = 0; k < 2 * n && out.length < GOSSIP_FANOUT; k++) {
      const l = this.m.leaders.leader(v + k);
      if (l !== this.o.self && !out.includes(l)) out.push(l);
    }
    return out;
  }
}
