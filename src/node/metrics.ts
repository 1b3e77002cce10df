/**
 * Every Prometheus series the node exports, as one typed object of prom-client handles (the layout of Lodestar's
 * `createMetrics()`): `createMetrics(registry)` registers them on the registry the RPC server renders on
 * `GET /metrics`, next to its own `quire_rpc_*` series (src/rpc/metrics.ts). prom-client's `Registry` is the only
 * Prometheus text renderer in Quire.
 *
 * Conventions: names start with `quire_`; times are histograms in seconds (`_seconds`), sizes in bytes (`_bytes`),
 * counters end in `_total`. Three ways a series is fed:
 *   - events: code holding a handle calls `inc`/`observe`/`set` (commits from node.ts, the BLS pool through
 *     `blsVerifierMetrics`, the consensus shell through `ShellMetrics`);
 *   - at scrape time: gauges read `ScrapeSources` (height, view, peers, mempool), so they are never stale and cost
 *     nothing between scrapes;
 *   - running totals kept elsewhere (mempool admissions, precheck hits) are
 *     followed at scrape time: the counter grows by what the total grew since the previous scrape.
 */
import { Counter, Gauge, Histogram } from "prom-client";
import type { Registry } from "prom-client";
import type { BlsVerifierMetrics } from "../crypto/bls/metrics.js";
import type { Message } from "../domain/types.js";

/** A message kind as it travels (`proposal`, `vote`, `timeout`, …): the `kind` label. */
export type MessageKind = Message["kind"];

/** What the node reads when Prometheus scrapes. Each function is called once per scrape and must not throw. */
export interface ScrapeSources {
  committedHeight(): number;
  view(): number;
  peersConnected(): number;
  mempoolTxs(): number;
  mempoolBytes(): number;
  /** Running totals kept by their owners, followed by counters (see the file comment). */
  mempoolAccepted(): number;
  precheckHits(): number;
  precheckMisses(): number;
  precheckRefused(): number;
  uptimeSeconds(): number;
  /** The transport's admission and refusal counters (`UwsTransport.stats()`) and the node's bans. */
  p2p(): P2pSnapshot;
  /** The current set's reputation scores (0..100) by registry index. */
  reputation(): readonly { readonly validator: number; readonly score: number }[];
}

/** What the p2p series read at scrape time. */
export interface P2pSnapshot {
  /** Running totals of what this node refused, by code (admission, handshake and link codes). */
  readonly refused: Readonly<Record<string, number>>;
  /** Running totals of the refusals peers sent this node (their close codes), by code. */
  readonly refusedByPeer: Readonly<Record<string, number>>;
  readonly pendingHandshakes: number;
  readonly backedOffSources: number;
  readonly heldConnections: number;
  readonly bannedPeers: number;
  /** Running total of bans the node's penalties imposed. */
  readonly bans: number;
}

/** Splits `TransportStats.refused` (ours, and the peers' under `peer:CODE`) for the two refusal families. */
export function splitRefusals(refused: Readonly<Record<string, number>>): { refused: Record<string, number>; refusedByPeer: Record<string, number> } {
  const ours: Record<string, number> = {};
  const byPeer: Record<string, number> = {};
  for (const [k, v] of Object.entries(refused)) {
    if (k.startsWith("peer:")) byPeer[k.slice(5)] = v;
    else ours[k] = v;
  }
  return { refused: ours, refusedByPeer: byPeer };
}


// Bucket bounds, in seconds. Each range brackets the normal case with room on both sides for the bad one.
/** Happy-path views last one block interval (50–250 ms); a timed-out view lasts the pacemaker's 1 s, doubling to 16 s. */
const VIEW_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32];
/**
 * Proposal to commit is two rounds (≈ 40 ms with 10 ms links in `quire sim`); under the 10,000-tx load p50 was 1.2 s
 * (README); minutes mean a node catching up through sync. Between clocks of different machines it also carries skew.
 */
const COMMIT_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** One fsync'd LMDB transaction: ≈ 0.1 ms on tmpfs, milliseconds on SSDs, tens of ms on a loaded disk. */
const STORE_WRITE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
/**
 * Enqueue to answer of one BLS job: up to 5 ms waiting for a batch (`maxBufferWaitMs`) plus ≈ 7 ms for a batch of 32
 * (214 µs/vote, README); a failed batch re-checked set by set adds ≈ 20 ms; beyond that the pool is the bottleneck.
 */
const BLS_JOB_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
/** Verification work of one batch where it ran: 0.6 ms (one job) to ≈ 20 ms (32 jobs re-checked one by one). */
const BLS_BATCH_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1];

/** A gauge read at scrape time from `read` (the para node's and the cross-shard relayer's series). */
export function scrapeGauge(registry: Registry, name: string, help: string, read: () => number): Gauge {
  return new Gauge({
    name,
    help,
    registers: [registry],
    collect(this: Gauge) {
      this.set(read());
    },
  });
}

/** Registers every node series on `registry`. Without `sources` the scrape-time gauges stay where `set()` left them. */
export function createMetrics(registry: Registry, sources?: ScrapeSources) {
  const registers = [registry];
  const gauge = (name: string, help: string, read: (() => number) | undefined) =>
    new Gauge({
      name,
      help,
      registers,
      ...(read === undefined
        ? {}
        : {
            collect(this: Gauge) {
              this.set(read());
            },
          }),
    });
  const followed = (name: string, help: string, read: (() => number) | undefined) => {
    let seen = 0;
    return new Counter({
      name,
      help,
      registers,
      ...(read === undefined
        ? {}
        : {
            collect(this: Counter) {
              seen = follow(this, {}, read(), seen);
            },
          }),
    });
  };

  /** A counter per code following running totals by code (each code's series appears once it is non-zero). */
  const followedByCode = (name: string, help: string, read: (() => Readonly<Record<string, number>>) | undefined) => {
    const seen = new Map<string, number>();
    return new Counter<"code">({
      name,
      help,
      labelNames: ["code"],
      registers,
      ...(read === undefined
        ? {}
        : {
            collect(this: Counter<"code">) {
              for (const [code, total] of Object.entries(read())) seen.set(code, follow(this, { code }, total, seen.get(code) ?? 0));
            },
          }),
    });
  };
  const p2p = sources === undefined ? undefined : () => sources.p2p();

  return {
    registry,

    // Consensus: fed by the shell through ShellMetrics.
    viewDuration: new Histogram({
      name: "quire_view_duration_seconds",
      help: "Time this node spent in a view, from entering it to entering a higher one.",
      buckets: VIEW_BUCKETS,
      registers,
    }),
    messagesIn: new Counter<"kind">({
      name: "quire_consensus_messages_received_total",
      help: "Messages received from validators (decoded, before validation), by kind.",
      labelNames: ["kind"],
      registers,
    }),
    messagesOut: new Counter<"kind">({
      name: "quire_consensus_messages_sent_total",
      help: "Messages handed to the transport, one per recipient, by kind.",
      labelNames: ["kind"],
      registers,
    }),
    rejected: new Counter<"code">({
      name: "quire_rejected_total",
      help: "Messages refused or dropped by the consensus shell, by code (validation, CORE_*, WIRE_*, shell codes).",
      labelNames: ["code"],
      registers,
    }),
    proposals: new Counter({
      name: "quire_proposals_total",
      help: "Blocks this node proposed.",
      registers,
    }),
    storeWrite: new Histogram({
      name: "quire_store_write_seconds",
      help: "Time of one durable consensus-state write (safety state and pending blocks, fsync included).",
      buckets: STORE_WRITE_BUCKETS,
      registers,
    }),
    syncBlocksApplied: new Counter({
      name: "quire_sync_blocks_applied_total",
      help: "Blocks received through sync and applied.",
      registers,
    }),
    gossipedTxs: new Counter({
      name: "quire_gossip_txs_total",
      help: "Transactions gossiped to upcoming leaders.",
      registers,
    }),

    // Commits: fed by node.ts (recordCommit).
    commitLatency: new Histogram({
      name: "quire_commit_latency_seconds",
      help: "From a block's proposal (the proposer's header timestamp) to its commit on this node.",
      buckets: COMMIT_BUCKETS,
      registers,
    }),
    committedTxs: new Counter({
      name: "quire_committed_txs_total",
      help: "Transactions committed since this node started.",
      registers,
    }),

    // Read at scrape time.
    height: gauge("quire_committed_height", "Height of the last committed block.", sources?.committedHeight.bind(sources)),
    view: gauge("quire_view", "The consensus view this node is in.", sources?.view.bind(sources)),
    peers: gauge("quire_peers_connected", "Validators with an authenticated link.", sources?.peersConnected.bind(sources)),
    mempoolTxs: gauge("quire_mempool_txs", "Transactions waiting in the mempool.", sources?.mempoolTxs.bind(sources)),
    mempoolBytes: gauge("quire_mempool_bytes", "Bytes of the transactions waiting in the mempool.", sources?.mempoolBytes.bind(sources)),
    mempoolAccepted: followed("quire_mempool_accepted_total", "Transactions admitted to the mempool.", sources?.mempoolAccepted.bind(sources)),
    uptime: gauge("quire_uptime_seconds", "Seconds since the node started.", sources?.uptimeSeconds.bind(sources)),
    // One series per member of the current set (with committees: per registry validator); one that left drops out at the next scrape.
    reputation: new Gauge<"validator">({
      name: "quire_reputation_score",
      help: "Reputation score 0..100 of each validator of the current set (registry index; with committees every registry validator, passive ones included), from committed history (consensus/reputation.ts).",
      labelNames: ["validator"],
      registers,
      ...(sources === undefined
        ? {}
        : {
            collect(this: Gauge<"validator">) {
              this.reset();
              for (const r of sources.reputation()) this.set({ validator: String(r.validator) }, r.score);
            },
          }),
    }),

    // The p2p transport's admission, refusals and bans: read at scrape time (issue 11).
    p2p: {
      refused: followedByCode(
        "quire_p2p_refused_total",
        "Inbound connections, handshakes and links this node refused, by code (admission: PENDING_HANDSHAKE_LIMIT, PENDING_RESERVED, SOURCE_PENDING_LIMIT, SOURCE_BACKOFF; handshake and link refusal codes; BANNED).",
        p2p && (() => p2p().refused),
      ),
      refusedByPeer: followedByCode("quire_p2p_refused_by_peer_total", "Links peers closed on this node with a refusal code, by code.", p2p && (() => p2p().refusedByPeer)),
      pendingHandshakes: gauge("quire_p2p_pending_handshakes", "Inbound p2p connections in their handshake.", p2p && (() => p2p().pendingHandshakes)),
      backedOffSources: gauge("quire_p2p_backoff_sources", "Source addresses refused for back-off after repeated handshake failures.", p2p && (() => p2p().backedOffSources)),
      heldConnections: gauge("quire_p2p_held_connections", "Refused p2p connections held unanswered (tarpit of sources in back-off).", p2p && (() => p2p().heldConnections)),
      bannedPeers: gauge("quire_p2p_banned_peers", "Validators banned now for repeated penalties (disconnected and refused).", p2p && (() => p2p().bannedPeers)),
      bans: followed("quire_peer_bans_total", "Bans this node's penalties imposed on validators.", p2p && (() => p2p().bans)),
    },

    // The BLS verifier pool: fed by the pool through blsVerifierMetrics().
    bls: {
      queueLength: new Gauge({
        name: "quire_bls_queue_length",
        help: "Signature jobs waiting in the BLS verifier pool.",
        registers,
      }),
      jobTime: new Histogram({
        name: "quire_bls_job_seconds",
        help: "Time of one signature job in the BLS pool, from enqueue to answer.",
        buckets: BLS_JOB_BUCKETS,
        registers,
      }),
      jobs: new Counter<"result">({
        name: "quire_bls_jobs_total",
        help: "Signature jobs the BLS pool answered, by result (valid, invalid).",
        labelNames: ["result"],
        registers,
      }),
      batchWork: new Histogram({
        name: "quire_bls_batch_work_seconds",
        help: "Verification work of one BLS batch where it ran (worker or main thread), re-checks included.",
        buckets: BLS_BATCH_BUCKETS,
        registers,
      }),
      batches: new Counter<"outcome">({
        name: "quire_bls_batches_total",
        help: "Batches the BLS pool verified, by outcome (passed: one combined check; retried: re-checked set by set).",
        labelNames: ["outcome"],
        registers,
      }),
      precheckHits: followed("quire_signature_precheck_hits_total", "Signature checks validation found answered by the pool.", sources?.precheckHits.bind(sources)),
      precheckMisses: followed("quire_signature_precheck_misses_total", "Signature checks validation did inline (TCs, pool refusals).", sources?.precheckMisses.bind(sources)),
      precheckRefused: followed("quire_signature_precheck_refused_total", "Signature jobs the pool refused (queue full or closed).", sources?.precheckRefused.bind(sources)),
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Adds to `counter` what `total` grew since `seen`; returns the new `seen`. A total that shrank adds nothing. */
function follow<L extends string>(counter: Counter<L>, labels: Partial<Record<L, string>>, total: number, seen: number): number {
  if (total > seen) counter.inc(labels, total - seen);
  return total;
}

/** One committed block: its proposal-to-commit latency and its transactions. `nowMs` is this node's wall clock. */
export function recordCommit(m: Metrics, proposedAtMs: number, txCount: number, nowMs: number): void {
  // The timestamp is the proposer's clock: skew between machines can put it slightly in our future. A negative
  // latency means "as fast as the clocks can tell", so it lands in the lowest bucket instead of lowering the sum.
  m.commitLatency.observe(Math.max(0, nowMs - proposedAtMs) / 1000);
  if (txCount > 0) m.committedTxs.inc(txCount);
}

/** The BLS pool's `BlsVerifierMetrics` over prom-client (the pool reports milliseconds; Prometheus wants seconds). */
export function blsVerifierMetrics(m: Metrics): BlsVerifierMetrics {
  const b = m.bls;
  return {
    setQueueLength: (jobs) => b.queueLength.set(jobs),
    observeBatch: (_size, passed, workMs) => {
      b.batches.inc({ outcome: passed ? "passed" : "retried" });
      b.batchWork.observe(workMs / 1000);
    },
    observeJob: (latencyMs, valid) => {
      b.jobs.inc({ result: valid ? "valid" : "invalid" });
      b.jobTime.observe(latencyMs / 1000);
    },
  };
}

/**
 * What the consensus shell reports: the events only it sees. Every method is cheap and never throws. The simulator and the
 * shell tests pass `NO_SHELL_METRICS`.
 */
export interface ShellMetrics {
  /** One message received from a validator and decoded (before validation). */
  messageIn(kind: MessageKind): void;
  /** One message handed to the transport for `recipients` peers. */
  messageOut(kind: MessageKind, recipients: number): void;
  /** `n` messages refused or dropped with this code. */
  rejected(code: string, n: number): void;
  /** The replica entered `view` at `nowMs` (monotonic or wall clock, as long as it is always the same one). */
  viewEntered(view: number, nowMs: number): void;
  /** One durable consensus-state write took `seconds`. */
  storeWrite(seconds: number): void;
  /**
   * Starts timing one durable consensus-state write; the returned function observes it. Real time, whatever clock the
   * shell runs on (the shell itself reads none).
   */
  storeWriteTimer(): () => void;
  /** `n` blocks received through sync were applied. */
  syncBlocksApplied(n: number): void;
  /** This node broadcast a proposal. */
  proposed(): void;
  /** `n` transactions were gossiped to upcoming leaders. */
  txsGossiped(n: number): void;
}

/** For tests and the simulator: discards everything. */
export const NO_SHELL_METRICS: ShellMetrics = {
  messageIn() {},
  messageOut() {},
  rejected() {},
  viewEntered() {},
  storeWrite() {},
  storeWriteTimer: () => () => {},
  syncBlocksApplied() {},
  proposed() {},
  txsGossiped() {},
};

/** `ShellMetrics` over the node's metrics. Keeps the entry time of the current view to observe view durations. */
export function shellMetrics(m: Metrics): ShellMetrics {
  let currentView = -1;
  let enteredAtMs = 0;
  return {
    messageIn: (kind) => m.messagesIn.inc({ kind }),
    messageOut: (kind, recipients) => {
      if (recipients > 0) m.messagesOut.inc({ kind }, recipients);
    },
    rejected: (code, n) => {
      if (n > 0) m.rejected.inc({ code }, n);
    },
    viewEntered: (view, nowMs) => {
      // Only a higher view ends the current one; the first call has no view to close. Views skipped (a TC or a QC
      // from further ahead) end the current view like the next one would.
      if (view <= currentView) return;
      if (currentView >= 0) m.viewDuration.observe(Math.max(0, nowMs - enteredAtMs) / 1000);
      currentView = view;
      enteredAtMs = nowMs;
    },
    storeWrite: (seconds) => m.storeWrite.observe(seconds),
    storeWriteTimer: () => m.storeWrite.startTimer(),
    syncBlocksApplied: (n) => {
      if (n > 0) m.syncBlocksApplied.inc(n);
    },
    proposed: () => m.proposals.inc(),
    txsGossiped: (n) => {
      if (n > 0) m.gossipedTxs.inc(n);
    },
  };
}
