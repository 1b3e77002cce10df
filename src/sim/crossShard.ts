/**
 * Cross-shard runs (issue 14, phase 2): every shard runs the real accounts + xshard application, with real BLS keys
 * for its QCs so that imports carry commit proofs the destination verifies from its genesis; cross-shard records
 * move through the node's own relayer (node/xshardRelayer.ts) with a sink over the simulated shards.
 *
 *   const w = new CrossShardWorkload({ shards: 3, validators: 4, seed: 7, bls });
 *   const r = await runShardSimulationAsync({ shards: 3, validators: 4, seed: 7, kinds: "random", hooks: w.hooks });
 *   checkAtomicity(w.transfers, w.views(sim), w.genesisTotals)   // atomicityChecker.ts
 *
 * - **Genesis.** Each shard's genesis block mints `accountsPerShard` accounts that live on it (Ed25519 keys derived
 *   from the seed and ground until `shardOf` names the shard) and binds the network section (the network tx).
 * - **Clients** (on the virtual clock, until `loadMs`): each shard's client sends `ratePerShard` transfers/s, a
 *   `crossFraction` of them cross-shard with 1–3 input shards (the first its own) and any output shard; a
 *   `invalidFraction` of the cross-shard ones carries one deliberately invalid input (a stale nonce or more than the
 *   balance), so CL records and refunds happen. Each account has one transfer in flight at a time: the client reads
 *   the account's nonce from a live replica of its shard once the last one was decided there (as `quire account`
 *   does). Every tx is submitted to every replica of each of its input shards that is up, and sent again after
 *   `resendMs` while its shard has not executed it (a crashed replica's mempool is lost, as a node's is).
 * - **Relaying.** Each replica of each shard runs an `XShardRelayer` (the node's class: primary for height h is
 *   validator h mod n, the others follow `fallbackMs` per rank), ticked every `tickMs` on the virtual clock, over
 *   its own committed store and application (commit proofs read as the node reads them, ChainReads). A restarted
 *   replica gets a new relayer (it rescans). Byzantine replicas' relayers are silent: a relayer that does nothing
 *   must cost time only. The sink hands an import to one replica of the destination that is up, `relayDelayMs`
 *   later, through its mempool (the app's check verifies the commit proof), and answers as the node's RPC sink does:
 *   accepted (pending), applied (REPLAYED: every record applied), refused, unreachable.
 */
import { buildApplication } from "../chain/app/build.js";
import type { BuiltApplication } from "../chain/app/build.js";
import { ACCOUNT_TX_TAG, attachSignature, encodeAccountTxBody, signingMessage } from "../chain/app/accounts/accountTx.js";
import { attachSignatures, encodeNetworkTx, encodeTransferBody, networkDigest, transferId, transferSigningMessage } from "../chain/app/xshard/format.js";
import type { XInput } from "../chain/app/xshard/format.js";
import { shardOf } from "../chain/app/xshard/network.js";
import type { ShardNetwork } from "../chain/app/xshard/network.js";
import { buildGenesisBlock } from "../chain/blocks.js";
import type { AddResult } from "../chain/mempool.js";
import { encodeCommitProofRecord } from "../chain/store/records.js";
import type { ChainStore } from "../chain/store/interface.js";
import { commitProofOf } from "../consensus/commitProof.js";
import type { BlsBackend } from "../crypto/bls/backend.js";
import { ed25519PublicKey, ed25519Sign } from "../crypto/ed25519.js";
import type { Ed25519KeyPair } from "../crypto/ed25519.js";
import { defaultHasher } from "../crypto/hash/backends.js";
import type { Block } from "../domain/types.js";
import { ChainReads } from "../node/chainReads.js";
import { XShardRelayer } from "../node/xshardRelayer.js";
import type { RelayAnswer, RelaySink, RelaySource } from "../node/xshardRelayer.js";
import { concatBytes, utf8 } from "../util/bytes.js";
import { SeededRng } from "../util/rng.js";
import { checkAtomicity } from "./atomicityChecker.js";
import type { AtomicityReport, ReplicaLedger, SubmittedTransfer } from "./atomicityChecker.js";
import type { Violation } from "./checkers.js";
import { blsSimCrypto } from "./blsCrypto.js";
import { shardChainId, shardSeed, ShardSimulation } from "./shardSimulation.js";
import type { ShardHooks, ShardSimOptions, ShardSimResult } from "./shardSimulation.js";
import { SIM_BUCKET_BITS } from "./simReplica.js";

export const SIM_NETWORK_ID = utf8("quire-sim-net");

export interface CrossShardOptions {
  readonly shards: number;
  readonly validators: number;
  readonly seed: number;
  readonly bls: BlsBackend;
  /** Accounts minted per shard (default 8) with `balance` each (default 1,000,000). */
  readonly accountsPerShard?: number;
  readonly balance?: number;
  /** Transfers per second offered by each shard's client (default 20). */
  readonly ratePerShard?: number;
  /** Share of transfers that are cross-shard (default 0.5). */
  readonly crossFraction?: number;
  /** Share of cross-shard transfers with one deliberately invalid input (default 0.25). */
  readonly invalidFraction?: number;
  /** Clients stop at this virtual time (default 2,000 ms); the run then drains until every transfer is decided. */
  readonly loadMs?: number;
  /** Virtual ms from a relayer's send to the destination replica's mempool (default 20). */
  readonly relayDelayMs?: number;
  /** The relayer's fallback per rank and resend interval (defaults 500 and 1,000 ms: short virtual runs). */
  readonly fallbackMs?: number;
  readonly confirmMs?: number;
  /** A client resends a transfer its account's shard has not executed after this long (default 1,000 ms). */
  readonly resendMs?: number;
  /** Client and relayer tick (default 50 ms). */
  readonly tickMs?: number;
  /** Virtual ms allowed after the shards' own end for every transfer to be decided (default 20,000). */
  readonly settleMs?: number;
  /**
   * "all" (default): each tx to every replica of its shard that is up (the seed sweeps: robust under crashes); "one":
   * each tick's txs for a shard to one of its replicas, in turn, as one batch (the curve: gossip spreads them).
   */
  readonly submitTo?: "all" | "one";
  /** Throughput window (virtual ms): transfers completed in it are counted (`completedInWindow`). */
  readonly window?: { readonly fromMs: number; readonly toMs: number };
  /** TEST ONLY: wraps each built application (the broken-run tests inject bugs here). */
  readonly wrapApplication?: (shard: number, built: BuiltApplication) => BuiltApplication;
}

interface Account {
  readonly key: Ed25519KeyPair;
  readonly shard: number;
  /** What the client knows of the account (max nonce read, last balance read). */
  nonce: number;
  balance: number;
  /** The transfer in flight (its xid when cross-shard, the nonce it used), its bytes and when it was last sent. */
  busy: { readonly xid: Uint8Array | null; readonly nonce: number; readonly tx: Uint8Array; sentAt: number } | null;
}

export interface CrossShardStats {
  intra: number;
  cross: number;
  invalidInputs: number;
  /** Transfers a client sent again (not executed by their shard within `resendMs`). */
  resent: number;
  /** Summed over every relayer incarnation. */
  relaySubmitted: number;
  relayConfirmed: number;
  relayRefused: number;
}

export class CrossShardWorkload {
  readonly network: Omit<ShardNetwork, "self">;
  readonly hooks: ShardHooks;
  readonly transfers: SubmittedTransfer[] = [];
  /** Each shard's genesis allocation total. */
  readonly genesisTotals: number[];
  readonly stats: CrossShardStats = { intra: 0, cross: 0, invalidInputs: 0, resent: 0, relaySubmitted: 0, relayConfirmed: 0, relayRefused: 0 };
  private readonly accounts: Account[][];
  private readonly cryptos: ReturnType<typeof blsSimCrypto>[];
  private readonly hasher = defaultHasher();
  private readonly rng: SeededRng;
  private readonly relayers = new Map<string, { readonly store: ChainStore; readonly relayer: XShardRelayer }>();
  private readonly owed: number[];
  private settledAt: number | null = null;
  /** Txs to submit at the end of the current tick, by shard. */
  private outgoing: Uint8Array[][];
  private ticks = 0;
  /** Intra-shard transfers committed in the window (at each shard's reference replica). */
  private intraInWindow = 0;
  /** Cross-shard transfers decided (credited or aborted) at the output shard's reference, at the window's ends. */
  private crossDecidedAt: number[] = [];
  private lastTick = 0;
  private lastTickNow = 0;
  private readonly o: Required<Omit<CrossShardOptions, "wrapApplication">>;

  constructor(private readonly opts: CrossShardOptions) {
    this.o = {
      accountsPerShard: 8,
      balance: 1_000_000,
      ratePerShard: 20,
      crossFraction: 0.5,
      invalidFraction: 0.25,
      loadMs: 2_000,
      relayDelayMs: 20,
      fallbackMs: 500,
      confirmMs: 1_000,
      tickMs: 50,
      resendMs: 1_000,
      settleMs: 20_000,
      submitTo: "all",
      window: { fromMs: 0, toMs: 0 },
      ...stripUndefined(opts),
    } as Required<Omit<CrossShardOptions, "wrapApplication">>;
    const S = opts.shards;
    this.rng = new SeededRng((opts.seed ^ 0x3c6ef372) >>> 0);
    this.cryptos = Array.from({ length: S }, (_, k) => blsSimCrypto(opts.bls, opts.validators, shardSeed(opts.seed, k)));
    this.network = { id: SIM_NETWORK_ID, shards: this.cryptos.map((c, k) => ({ chainId: shardChainId(k), validators: c.publicKeys })) };
    this.accounts = Array.from({ length: S }, () => []);
    // Keys from the seed: SHA-256(seed ‖ counter) as the Ed25519 secret, ground until each shard has its accounts.
    const want = this.o.accountsPerShard;
    for (let counter = 0; this.accounts.some((a) => a.length < want); counter++) {
      const sk = this.hasher.digest(concatBytes(utf8(`quire-sim-account/${opts.seed >>> 0}/`), utf8(String(counter))));
      const key = { secretKey: sk, publicKey: ed25519PublicKey(sk) };
      const s = shardOf(key.publicKey, S, this.hasher);
      if (this.accounts[s]!.length < want) this.accounts[s]!.push({ key, shard: s, nonce: 0, balance: this.o.balance, busy: null });
    }
    this.genesisTotals = this.accounts.map((a) => a.length * this.o.balance);
    this.owed = new Array<number>(S).fill(0);
    this.outgoing = Array.from({ length: S }, () => []);
    this.hooks = {
      crypto: (k) => this.cryptos[k]!,
      genesis: (k) => this.genesis(k),
      application: (k, store, chainId) => this.application(k, store, chainId),
      tick: (sim, now) => this.tick(sim, now),
      onCommitted: (sim, shard, instance, blocks) => {
        if (!sim.isReference(shard, instance)) return;
        const now = sim.scheduler.now();
        if (now < this.o.window.fromMs || now >= this.o.window.toMs) return;
        for (const b of blocks) b.block.txs.forEach((tx, i) => {
          if (tx[0] === ACCOUNT_TX_TAG && b.ok[i] === true) this.intraInWindow++;
        });
      },
      tickMs: this.o.tickMs,
      settled: () => this.settledAt !== null,
      settleMs: this.o.settleMs,
    };
  }

  /** Shard k's genesis: its accounts' mints and the network tx. */
  genesis(k: number): Block {
    const mints = this.accounts[k]!.map((a) => encodeAccountTxBody({ op: "mint", from: a.key.publicKey, nonce: 0, amount: this.o.balance }));
    return buildGenesisBlock({ timestampMs: 0, txs: [...mints, encodeNetworkTx(networkDigest({ ...this.network, self: k }, this.hasher))] });
  }

  private application(k: number, store: ChainStore, chainId: Uint8Array): BuiltApplication {
    const built = buildApplication({ bucketBits: SIM_BUCKET_BITS, modules: ["accounts", "xshard"], chainId, network: { ...this.network, self: k } }, { committed: store, bls: this.opts.bls, hasher: this.hasher });
    return this.opts.wrapApplication?.(k, built) ?? built;
  }

  /** Every honest replica that is up, with its committed ledger (for the atomicity checker). */
  ledgers(sim: ShardSimulation): ReplicaLedger[] {
    const out: ReplicaLedger[] = [];
    sim.shards.forEach((shard, k) => {
      for (const i of shard.honest) {
        const built = sim.app(k, i);
        const store = shard.replicas[i]!.chainStore;
        if (built === null || store === null || built.xshard === null || built.accounts === null) continue;
        const x = built.xshard;
        const a = built.accounts;
        out.push({ shard: k, instance: i, height: store.head()?.height ?? 0, status: (xid) => x.status(xid), totals: () => x.totals(), supply: () => a.supply() });
      }
    });
    return out;
  }

  /** Transfers completed in the window: intra-shard ones committed, cross-shard ones decided on their output shard. */
  completedInWindow(): number {
    const [a, b] = this.crossDecidedAt;
    return this.intraInWindow + (a !== undefined && b !== undefined ? b - a : 0);
  }

  private crossDecided(sim: ShardSimulation): number {
    const refs = sim.shards.map((sh, k) => sim.app(k, sh.live[0] ?? sh.honest[0] ?? 0)?.xshard ?? null);
    let n = 0;
    for (const t of this.transfers) {
      const out = refs[t.outShard]?.status(t.xid).output;
      if (out !== undefined && out !== null && out.status !== "collecting") n++;
    }
    return n;
  }

  private tick(sim: ShardSimulation, now: number): void {
    this.lastTickNow = now;
    this.ticks++;
    const w = this.o.window;
    if (w.toMs > w.fromMs && ((this.crossDecidedAt.length === 0 && now >= w.fromMs) || (this.crossDecidedAt.length === 1 && now >= w.toMs))) this.crossDecidedAt.push(this.crossDecided(sim));
    this.relay(sim, now);
    this.refresh(sim, now);
    if (now < this.o.loadMs) this.client(sim, now);
    else if (this.settledAt === null && this.allDecided(sim)) this.settledAt = now;
    this.flush(sim);
    this.lastTick = now;
  }

  // --- relaying ---------------------------------------------------------------------------------------------------

  private relay(sim: ShardSimulation, now: number): void {
    sim.shards.forEach((shard, k) => {
      shard.replicas.forEach((r, i) => {
        const key = `${k}/${i}`;
        const built = sim.app(k, i);
        const store = r.chainStore;
        if (built === null || store === null || built.xshard === null) {
          this.retire(key);
          return;
        }
        const validator = shard.plan.validatorOf[i]!;
        if (shard.plan.byzantine.has(validator)) return; // silent
        let entry = this.relayers.get(key);
        if (entry !== undefined && entry.store !== store) {
          this.retire(key); // restarted: a new incarnation, a new relayer (it rescans)
          entry = undefined;
        }
        if (entry === undefined) {
          entry = { store, relayer: this.newRelayer(sim, k, i, validator, store, built) };
          this.relayers.set(key, entry);
        }
        entry.relayer.tick(now);
      });
    });
  }

  private retire(key: string): void {
    const e = this.relayers.get(key);
    if (e === undefined) return;
    this.addStats(e.relayer);
    this.relayers.delete(key);
  }

  private addStats(r: XShardRelayer): void {
    this.stats.relaySubmitted += r.stats.submitted;
    this.stats.relayConfirmed += r.stats.confirmed;
    this.stats.relayRefused += r.stats.refused;
  }

  /** Folds the live relayers' counters into `stats` (call once, at the end of the run). */
  finish(): void {
    for (const key of [...this.relayers.keys()]) this.retire(key);
  }

  private newRelayer(sim: ShardSimulation, k: number, instance: number, validator: number, store: ChainStore, built: BuiltApplication): XShardRelayer {
    const reads = new ChainReads(store, () => built);
    const x = built.xshard!;
    // The node's source (node/xshardLink.ts startRelaying): outboxes from the module, commit proofs from the store.
    const source: RelaySource = {
      outboxAt: (h) => x.outboxAt(h),
      commitProof: (h) => {
        const blocks = reads.commitProof(h);
        const p = blocks === null ? null : commitProofOf(blocks);
        return p === null ? null : encodeCommitProofRecord(p);
      },
      head: () => store.head()?.height ?? 0,
    };
    const delay = this.o.relayDelayMs;
    const sink: RelaySink = {
      submit: (dest, tx) =>
        new Promise((resolve) => {
          const sent = sim.relay(dest, [tx], delay, {
            clientId: `relay:${k}`,
            to: instance,
            onResult: (results) => {
              sim.wake();
              resolve(answerOf(results?.[0] ?? null));
            },
          });
          if (!sent) resolve({ answer: "refused", reason: `no shard ${dest}` });
        }),
    };
    return new XShardRelayer({ shard: k, validatorIndex: validator, validatorCount: this.opts.validators, fallbackMs: this.o.fallbackMs, confirmMs: this.o.confirmMs }, source, sink, this.hasher);
  }

  // --- clients ----------------------------------------------------------------------------------------------------

  /** The committed ledger of shard k at its first honest replica that is up (what a client would query). */
  private reader(sim: ShardSimulation, k: number): BuiltApplication | null {
    for (const i of sim.shards[k]!.honest) {
      const b = sim.app(k, i);
      if (b !== null) return b;
    }
    return null;
  }

  /**
   * Frees the accounts whose transfer their shard decided (and reads their nonce and balance there); resends the
   * others after `resendMs` (a tx can be lost with the mempools of crashed replicas, as with a real node).
   */
  private refresh(sim: ShardSimulation, now: number): void {
    this.accounts.forEach((list, k) => {
      const b = this.reader(sim, k);
      if (b === null) return;
      for (const a of list) {
        if (a.busy === null) continue;
        const st = b.accounts!.account(a.key.publicKey);
        const done = a.busy.xid === null ? st.nonce > a.busy.nonce : b.xshard!.status(a.busy.xid).leg !== null;
        if (!done) {
          if (now - a.busy.sentAt >= this.o.resendMs) {
            a.busy.sentAt = now;
            this.stats.resent++;
            this.submit(sim, k, a.busy.tx);
          }
          continue;
        }
        a.busy = null;
        a.nonce = Math.max(a.nonce, st.nonce);
        a.balance = st.balance;
      }
    });
  }

  private client(sim: ShardSimulation, now: number): void {
    const S = this.opts.shards;
    for (let k = 0; k < S; k++) {
      this.owed[k]! += (this.o.ratePerShard * (now - this.lastTick)) / 1000;
      while (this.owed[k]! >= 1) {
        this.owed[k]!--;
        if (S > 1 && this.rng.chance(this.o.crossFraction)) this.crossTransfer(sim, k);
        else this.intraTransfer(sim, k);
      }
    }
  }

  private freeAccount(k: number): Account | null {
    const free = this.accounts[k]!.filter((a) => a.busy === null && a.balance > 0);
    return free.length === 0 ? null : free[this.rng.int(free.length)]!;
  }

  private intraTransfer(sim: ShardSimulation, k: number): void {
    const from = this.freeAccount(k);
    if (from === null) return;
    const list = this.accounts[k]!;
    const to = list[this.rng.int(list.length)]!;
    const amount = 1 + this.rng.int(Math.min(100, from.balance));
    const body = encodeAccountTxBody({ op: "transfer", from: from.key.publicKey, nonce: from.nonce, amount, to: to.key.publicKey });
    const tx = attachSignature(body, ed25519Sign(from.key.secretKey, signingMessage(shardChainId(k), body)));
    from.busy = { xid: null, nonce: from.nonce, tx, sentAt: this.lastTickNow };
    this.stats.intra++;
    this.submit(sim, k, tx);
  }

  private crossTransfer(sim: ShardSimulation, k: number): void {
    const S = this.opts.shards;
    const count = 1 + this.rng.int(Math.min(3, S));
    const shards = [k];
    while (shards.length < count) {
      const s = this.rng.int(S);
      if (!shards.includes(s)) shards.push(s);
    }
    const picked: Account[] = [];
    for (const s of shards) {
      const a = this.freeAccount(s);
      if (a === null) return;
      picked.push(a);
    }
    let outShard = this.rng.int(S);
    if (count === 1 && outShard === k) outShard = (k + 1 + this.rng.int(S - 1)) % S;
    const outList = this.accounts[outShard]!;
    const to = outList[this.rng.int(outList.length)]!.key.publicKey;
    const inputs: (XInput & { readonly key: Ed25519KeyPair })[] = picked.map((a) => ({ shard: a.shard, from: a.key.publicKey, nonce: a.nonce, amount: 1 + this.rng.int(Math.min(100, a.balance)), key: a.key }));
    const invalid = this.rng.chance(this.o.invalidFraction) ? this.rng.int(inputs.length) : -1;
    if (invalid >= 0) {
      const i = inputs[invalid]!;
      // A stale nonce when there is one, else more than the whole network holds.
      inputs[invalid] = this.rng.chance(0.5) && i.nonce > 0 ? { ...i, nonce: i.nonce - 1 } : { ...i, amount: this.genesisTotals.reduce((a, b) => a + b, 0) + 1 };
      this.stats.invalidInputs++;
    }
    const body = encodeTransferBody({ outShard, to, inputs });
    const msg = transferSigningMessage(SIM_NETWORK_ID, body);
    const tx = attachSignatures(body, inputs.map((i) => ed25519Sign(i.key.secretKey, msg)));
    const xid = transferId(SIM_NETWORK_ID, body, this.hasher);
    picked.forEach((a, i) => (a.busy = { xid, nonce: inputs[i]!.nonce, tx, sentAt: this.lastTickNow }));
    this.transfers.push({ xid, outShard, inputs: inputs.map((i) => ({ shard: i.shard, amount: i.amount })), invalidInput: invalid >= 0 });
    this.stats.cross++;
    for (const s of shards) this.submit(sim, s, tx);
  }

  /** Queued for the end of the tick. */
  private submit(_sim: ShardSimulation, k: number, tx: Uint8Array): void {
    this.outgoing[k]!.push(tx);
  }

  /** Each shard's queued txs, as one batch: to every replica that is up, or to one in turn. */
  private flush(sim: ShardSimulation): void {
    this.outgoing.forEach((txs, k) => {
      if (txs.length === 0) return;
      this.outgoing[k] = [];
      if (this.o.submitTo === "one") {
        sim.relay(k, txs, 1, { clientId: `client:${k}`, to: this.ticks });
        return;
      }
      const n = sim.shards[k]!.replicas.length;
      for (let j = 0; j < n; j++) sim.relay(k, txs, 1, { clientId: `client:${k}`, to: j });
    });
  }

  /** Every submitted transfer decided at the shards' first honest live replicas (checked once per tick). */
  private allDecided(sim: ShardSimulation): boolean {
    const readers = sim.shards.map((_, k) => this.reader(sim, k));
    for (const t of this.transfers) {
      const out = readers[t.outShard]?.xshard?.status(t.xid).output;
      if (out === undefined || out === null || out.status === "collecting") return false;
      for (const i of t.inputs) {
        const leg = readers[i.shard]?.xshard?.status(t.xid).leg;
        if (leg === undefined || leg === null || (out.status === "aborted" && leg === "escrowed")) return false;
      }
    }
    return true;
  }
}

function answerOf(r: AddResult | null): { answer: RelayAnswer; reason?: string } {
  if (r === null) return { answer: "unreachable", reason: "no replica of the shard is up" };
  switch (r.kind) {
    case "accepted":
      return { answer: "accepted" };
    case "duplicate":
      // As the node's RpcRelaySink: these bytes committed there → confirmed; still pending → wait and resend.
      return r.committed ? { answer: "applied" } : { answer: "accepted" };
    case "full":
      return { answer: "unreachable", reason: "mempool full" };
    case "invalid":
      return r.code === "REPLAYED" || r.reason.startsWith("REPLAYED") ? { answer: "applied" } : { answer: "refused", reason: `${r.code}: ${r.reason}` };
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export interface CrossShardRunOptions extends Omit<ShardSimOptions, "hooks" | "load">, Omit<CrossShardOptions, "seed" | "shards" | "validators"> {
  /** Undecided transfers after the drain are violations (default true). */
  readonly requireDecided?: boolean;
}

export interface CrossShardRunResult {
  readonly sim: ShardSimResult;
  readonly atomicity: AtomicityReport;
  readonly stats: CrossShardStats;
  /** Per-shard violations (safety, validity, liveness) and the atomicity checker's. */
  readonly violations: readonly Violation[];
}

/** One cross-shard seed: shards with faults, the workload, the drain, then every checker. */
export async function runCrossShard(opts: CrossShardRunOptions): Promise<CrossShardRunResult> {
  const w = new CrossShardWorkload(opts);
  const loadMs = opts.loadMs ?? 2_000;
  const sim = new ShardSimulation({ ...opts, warmupMs: opts.warmupMs ?? 0, windowMs: opts.windowMs ?? loadMs, hooks: w.hooks });
  await sim.runAsync();
  w.finish();
  const result = sim.result();
  const atomicity = checkAtomicity(w.transfers, w.ledgers(sim), w.genesisTotals, { requireDecided: opts.requireDecided ?? true });
  return { sim: result, atomicity, stats: w.stats, violations: [...result.violations, ...atomicity.violations] };
}
