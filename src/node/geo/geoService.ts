/**
 * A geo cluster's node side (README.md in this folder): the node's `GeoReplica` and `GlobalOrder`, wired to its
 * store, its consensus shell, HTTP links to every other node of the network (`POST /v1/geo` on the addresses of
 * network.json), a tick timer, metrics, and the reads the RPC serves (`GET /v1/geo/status`, `/v1/geo/rounds`, KV reads
 * of the global state).
 *
 * Links: one FIFO queue per target node, one request in flight per target, at most `MAX_QUEUED` messages waiting
 * (the oldest dropped and counted: a share lost this way is covered by the remote view change or a pull). A reply
 * body (the answer to a pull) is taken in like any message. No retries here: the protocol's timeouts are the retries.
 */
import type { Registry } from "prom-client";
import type { GeoStatusDoc } from "../../rpc/api.js";
import { Counter } from "prom-client";
import { BlsScheme } from "../../consensus/adapters/blsScheme.js";
import { blockHasher } from "../../consensus/blockHash.js";
import type { ConsensusSigner } from "../../consensus/signing.js";
import type { CommittedSummary } from "../../chain/executor.js";
import type { ChainStore } from "../../chain/store/interface.js";
import type { BlsBackend } from "../../crypto/bls/backend.js";
import { merkleRoot } from "../../crypto/merkle.js";
import { toHex, utf8 } from "../../util/bytes.js";
import { SystemScheduler } from "../../util/clock.js";
import { allocationTxs, geoAppSpecOf, setCertificates } from "../genesis.js";
import type { Genesis } from "../genesis.js";
import type { Logger } from "../logger.js";
import { scrapeGauge } from "../metrics.js";
import type { NetworkManifest } from "../shardNetwork.js";
import { GeoReplica } from "./geoReplica.js";
import type { GeoCluster } from "./geoReplica.js";
import { GlobalOrder } from "./globalOrder.js";
import { MAX_GEO_MESSAGE_BYTES } from "./messages.js";
import type { RoundRecord } from "./globalOrder.js";

/** Messages waiting per target node at most (then the oldest is dropped). */
const MAX_QUEUED = 256;
/** Round records kept for `GET /v1/geo/rounds`. */
export const KEPT_ROUNDS = 10_000;
/** How long one POST may take. */
const SEND_TIMEOUT_MS = 5_000;
/** Blocks of the global order executed per turn of the event loop. */
const EXECUTE_PER_TURN = 16;

export interface GeoServiceOptions {
  readonly genesis: Genesis;
  readonly manifest: NetworkManifest;
  readonly validatorIndex: number;
  readonly remoteTimeoutMs: number;
  /** How often the geo layer's timeouts and pulls are checked (default 50 ms). */
  readonly tickMs?: number;
}

export interface GeoServiceModules {
  readonly backend: BlsBackend;
  readonly signer: ConsensusSigner;
  readonly store: ChainStore;
  readonly shell: { readonly view: number; leader(view: number): number; remoteTimeout(): void };
  readonly logger: Logger;
  readonly registry: Registry;
  /**
   * An invariant broke in the geo layer — above all two committed blocks at one height of one cluster, which only a
   * cluster whose safety failed can produce: the node must stop rather than execute a fork.
   */
  readonly onFatal: (e: unknown) => void;
}

export class GeoService {
  readonly order: GlobalOrder;
  private readonly replica: GeoReplica;
  private readonly rounds: RoundRecord[] = [];
  private readonly events: Record<string, number> = {};
  private readonly counter: Counter<"event">;
  private readonly queues = new Map<string, { url: string; queue: Uint8Array[]; busy: boolean }>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private executing = false;

  constructor(
    private readonly o: GeoServiceOptions,
    private readonly m: GeoServiceModules,
  ) {
    const g = o.genesis;
    const net = g.network!;
    const hashBlock = blockHasher();
    const clusters: GeoCluster[] = net.shards.map((s) => {
      const keys = s.validators.map((v) => v.publicKey);
      return { size: keys.length, scheme: new BlsScheme(m.backend, keys), share: { hashBlock, txRoot: (txs) => merkleRoot(txs), certificates: setCertificates(utf8(s.chainId), keys, m.backend) } };
    });
    this.order = new GlobalOrder(
      { clusters: clusters.length, modules: geoAppSpecOf(g).modules, bucketBits: g.app.bucketBits, chainId: geoAppSpecOf(g).chainId },
      {
        genesis: o.manifest.shards.map((s) => s.genesisHash),
        allocations: allocationTxs(g),
        onRound: (r) => {
          this.rounds.push(r);
          if (this.rounds.length > KEPT_ROUNDS + 1_000) this.rounds.splice(0, this.rounds.length - KEPT_ROUNDS);
        },
        onRefused: (cluster, height) => {
          this.count("block_refused");
          m.logger.warn("geo: a certified block that does not extend its cluster's chain here was dropped", { cluster, height });
        },
      },
    );
    this.counter = new Counter({ name: "quire_geo_events_total", help: "Geo-cluster events (shares, pulls, remote view changes) by kind", labelNames: ["event"], registers: [m.registry] });
    scrapeGauge(m.registry, "quire_geo_round", "The last round executed in the global order", () => this.order.completedRound);
    scrapeGauge(m.registry, "quire_geo_txs_executed", "Transactions executed in the global order", () => this.order.txs);
    this.replica = new GeoReplica(
      { networkId: utf8(net.id), cluster: net.shard, member: o.validatorIndex, remoteTimeoutMs: o.remoteTimeoutMs },
      {
        clusters,
        order: this.order,
        signer: m.signer,
        // Monotonic: remote timeouts and rate limits must not jump with the wall clock.
        scheduler: new SystemScheduler(() => performance.now()),
        scheduleExecution: () => this.scheduleExecution(),
        chain: m.store,
        send: (cluster, member, bytes) => this.send(cluster, member, bytes),
        remoteTimeout: () => m.shell.remoteTimeout(),
        currentLeader: () => m.shell.leader(m.shell.view),
        count: (name) => {
          this.events[name] = (this.events[name] ?? 0) + 1;
          this.counter.inc({ event: name });
        },
      },
    );
  }

  start(): void {
    const every = this.o.tickMs ?? 50;
    this.timer = setInterval(() => this.guard(() => this.replica.tick()), every);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** The node committed blocks of its own cluster. */
  onCommit(blocks: readonly CommittedSummary[]): void {
    this.guard(() => this.replica.onLocalCommit(blocks));
  }

  /** Whether a leader should hold its proposal of own height `height` (GeoReplica.hold). */
  hold(height: number): boolean {
    return !this.stopped && this.replica.hold(height);
  }

  /** `POST /v1/geo`: a geo message from anyone; the reply (a pull's answer) or null. Bad input is counted, not thrown. */
  receive(bytes: Uint8Array): Uint8Array | null {
    return this.guard(() => this.replica.onMessage(bytes)) ?? null;
  }

  private guard<T>(f: () => T): T | undefined {
    if (this.stopped) return undefined;
    try {
      return f();
    } catch (e) {
      this.stop();
      this.m.onFatal(e);
      return undefined;
    }
  }

  status(): GeoStatusDoc {
    const net = this.o.genesis.network!;
    return {
      network: net.id,
      cluster: net.shard,
      member: this.o.validatorIndex,
      clusters: net.shards.length,
      round: this.order.completedRound,
      next: this.order.next,
      stateRoot: toHex(this.order.stateRoot),
      txs: this.order.txs,
      longestRemoteWaitMs: Math.round(this.replica.longestRemoteWait.ms),
      events: { ...this.events },
    };
  }

  /**
   * Global execution in turns of at most EXECUTE_PER_TURN blocks, each on its own turn of the event loop, so a pull
   * that completes many rounds at once never holds consensus messages back for long.
   */
  private scheduleExecution(): void {
    if (this.executing || this.stopped) return;
    this.executing = true;
    setImmediate(() => {
      this.executing = false;
      this.guard(() => this.order.run(EXECUTE_PER_TURN));
      if (this.order.ready) this.scheduleExecution();
    });
  }

  /**
   * The global outcome of own-cluster tx `index` of own height `height`: "pending" until its round ran here, else
   * whether it succeeded; null when the round is older than the records kept.
   */
  txOutcome(height: number, index: number): "pending" | { readonly ok: boolean } | null {
    if (height > this.order.completedRound) return "pending";
    const first = this.rounds[0]?.round ?? 0;
    const rec = this.rounds[height - first];
    const b = rec !== undefined && rec.round === height ? rec.blocks[this.o.genesis.network!.shard] : undefined;
    return b === undefined ? null : { ok: !b.failed.includes(index) };
  }

  /** Round records from..to (inclusive) still kept, ascending. */
  roundRange(from: number, to: number): RoundRecord[] {
    return this.rounds.filter((r) => r.round >= from && r.round <= to);
  }

  /** A KV read of the global state. */
  query(key: Uint8Array): Uint8Array | undefined {
    return this.order.query(key);
  }

  private send(cluster: number, member: number, bytes: Uint8Array): void {
    const url = this.o.manifest.shards[cluster]?.rpc[member];
    if (url === undefined || this.stopped) return;
    let q = this.queues.get(url);
    if (q === undefined) this.queues.set(url, (q = { url, queue: [], busy: false }));
    q.queue.push(bytes);
    if (q.queue.length > MAX_QUEUED) {
      q.queue.shift();
      this.count("send_dropped");
    }
    void this.pump(q);
  }

  private async pump(q: { url: string; queue: Uint8Array[]; busy: boolean }): Promise<void> {
    if (q.busy) return;
    q.busy = true;
    try {
      for (let bytes = q.queue.shift(); bytes !== undefined && !this.stopped; bytes = q.queue.shift()) {
        try {
          const res = await fetch(`${q.url}/v1/geo`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body: bytes, signal: AbortSignal.timeout(SEND_TIMEOUT_MS) });
          if (res.status === 200) {
            // A reply is a pull's answer: never more than a geo message may be (a node that lies about it is cut off).
            const declared = Number(res.headers.get("content-length"));
            if (!(declared >= 0 && declared <= MAX_GEO_MESSAGE_BYTES)) {
              this.count("reply_refused");
              await res.body?.cancel().catch(() => undefined);
              continue;
            }
            const reply = new Uint8Array(await res.arrayBuffer());
            if (reply.length > MAX_GEO_MESSAGE_BYTES) this.count("reply_refused");
            else if (reply.length > 0) this.guard(() => this.replica.onMessage(reply));
          } else if (res.status !== 204) {
            this.count("send_refused");
            await res.arrayBuffer().catch(() => undefined);
          }
        } catch {
          this.count("send_failed");
        }
      }
    } finally {
      q.busy = false;
    }
  }

  private count(name: string): void {
    this.events[name] = (this.events[name] ?? 0) + 1;
    this.counter.inc({ event: name });
  }
}
