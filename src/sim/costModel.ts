/**
 * A CPU-cost model for simulated replicas: each replica has one virtual CPU. Every event it handles (a message
 * received, a timer that fires, a client's submission) runs at once in real code, but costs virtual time — a fixed
 * part plus what the handler did: transactions checked and executed, signatures made and verified, messages and bytes
 * sent and received. The replica is busy for that long: events arriving meanwhile wait in its queue, and what the
 * handler sent leaves when it is done. A saturated replica therefore slows its chain down in virtual time, as a
 * saturated process would in real time, so throughput can be measured for more machines than this one.
 *
 *   const cluster = new CpuCluster(CALIBRATED_COSTS, scheduler);
 *   const cpu = cluster.cpu();                       // one per replica
 *   cpu.scheduler; cpu.transport(inner);             // what the replica is given instead of the raw ones
 *   cluster.meterScheme(scheme); cluster.meterSigner(signer); meterApplication(app, cluster);   // charged to whichever CPU runs
 *
 * The model is off unless a simulation is given a cluster: without one no event is delayed and runs replay as before.
 *
 * Calibration (`CALIBRATED_COSTS`, this machine, Dec 3, 2 cores shared, blst):
 * - txExecuteUs 124: `quire bench chain --filter transfer`, 8,060 transfers/s executed (Ed25519 verify included).
 * - txCheckUs 75: admission of a transfer is a stateless decode plus one Ed25519 verify (accounts `check`);
 *   node:crypto Ed25519 verify of a 64-byte message measured at 74–75 µs (two runs of a 2,000-iteration loop).
 * - verifyUs 790: one blst `verify` (a vote): 786–787 µs in the same loop (README's quiet run: 608 µs).
 * - signUs 320: one blst `sign`: 309–329 µs in that loop.
 * - aggregateVerifyUs 660 + aggregateSignerUs 1: a QC's aggregate check is one pairing check (README, bench bls: QC
 *   verify n = 64 0.66 ms; fastAggregateVerify 64 signers 653 µs), plus the public-key aggregation (31 µs for 64 keys)
 *   and signature aggregation (73 µs for 64) per signer, ≈ 1 µs each.
 * - messageUs 5, byteNs 1: README, bench net: 200 B messages at 1–6 M msg/s per direction (under 1 µs each), a
 *   200 B consensus round trip 13.9 µs (two hops through the event loop); 64 KiB messages at ≈ 1 GB/s (0.2–2.8 GB/s
 *   over runs), i.e. ≈ 1 ns per byte, charged on each end; the channel's tag adds 0.1–0.3 ns per byte.
 * - eventUs 10: fixed cost of a handled event (decode, bookkeeping; vote decode alone is 0.16 µs, a proposal of
 *   1,000 200-byte txs 33 µs) — a floor, small against the rest.
 */
import type { AggregateToVerify, SignatureScheme } from "../consensus/scheme.js";
import type { ConsensusSigner } from "../consensus/signing.js";
import type { ModularApplication } from "../chain/app/modular.js";
import { XSHARD_OP, XSHARD_TX_TAG } from "../chain/app/xshard/format.js";
import { SendStatus } from "../net/transport.js";
import type { Priority, Transport, TransportHandler } from "../net/transport.js";
import type { Scheduler, TimerHandle } from "../util/clock.js";

/** Virtual CPU costs, in microseconds (bytes in nanoseconds). */
export interface CostModel {
  /** Fixed cost of handling one event. */
  readonly eventUs: number;
  /** Admission check of one submitted or gossiped tx. */
  readonly txCheckUs: number;
  /** Execution of one tx in a block. */
  readonly txExecuteUs: number;
  /** One signature made (vote, timeout, proposal). */
  readonly signUs: number;
  /** One single-signature verification. */
  readonly verifyUs: number;
  /** One aggregate verification (a QC or TC: one pairing-check equivalent) … */
  readonly aggregateVerifyUs: number;
  /** … plus this per signer (public key and signature aggregation). */
  readonly aggregateSignerUs: number;
  /** Per message sent or received. */
  readonly messageUs: number;
  /** Per byte sent or received, in nanoseconds. */
  readonly byteNs: number;
}

/** Measured on this machine; see the module comment for where each number comes from. */
export const CALIBRATED_COSTS: CostModel = {
  eventUs: 10,
  txCheckUs: 75,
  txExecuteUs: 124,
  signUs: 320,
  verifyUs: 790,
  aggregateVerifyUs: 660,
  aggregateSignerUs: 1,
  messageUs: 5,
  byteNs: 1,
};

/** Most events one replica's CPU queue holds; past it, received messages are dropped (timers never are). */
export const CPU_QUEUE_LIMIT = 100_000;

/** What one virtual CPU did over the run. */
export interface CpuStats {
  /** Virtual µs spent handling events. */
  readonly busyUs: number;
  readonly events: number;
  /** Received messages dropped because the queue was full. */
  readonly dropped: number;
  /** Longest queue seen. */
  readonly maxQueue: number;
}

interface Job {
  readonly fn: () => void;
  /** Cost charged on top of `eventUs` before the handler runs (bytes received). */
  readonly us: number;
  cancelled: boolean;
}

/** The CPUs of one run, sharing one virtual clock; knows which CPU is running so shared parts can charge it. */
export class CpuCluster {
  /** The CPU whose event is being handled now (null between events). */
  current: VirtualCpu | null = null;
  readonly cpus: VirtualCpu[] = [];

  constructor(
    readonly model: CostModel,
    readonly scheduler: Scheduler,
  ) {}

  /** A new CPU (one per replica instance). */
  cpu(): VirtualCpu {
    const c = new VirtualCpu(this);
    this.cpus.push(c);
    return c;
  }

  /** Charges the running CPU (work done outside any event — start-up — is free). */
  charge(us: number): void {
    this.current?.charge(us);
  }

  /** The scheme, charging verification and aggregation to the running CPU. */
  meterScheme(scheme: SignatureScheme): SignatureScheme {
    const m = this.model;
    const agg = (signers: number): number => m.aggregateVerifyUs + signers * m.aggregateSignerUs;
    const metered: SignatureScheme = {
      name: scheme.name,
      verify: (signer, message, signature) => {
        this.charge(m.verifyUs);
        return scheme.verify(signer, message, signature);
      },
      aggregate: (parts) => {
        this.charge(parts.length * m.aggregateSignerUs);
        return scheme.aggregate(parts);
      },
      verifyAggregate: (signers, message, aggregate) => {
        this.charge(agg(signers.length));
        return scheme.verifyAggregate(signers, message, aggregate);
      },
      verifyAggregateMulti: (signers, messages, aggregate) => {
        // Distinct messages need a pairing each (a TC): charge one aggregate check per distinct message.
        const distinct = new Set(messages.map((x) => Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString("latin1"))).size;
        this.charge(distinct * m.aggregateVerifyUs + signers.length * m.aggregateSignerUs);
        return scheme.verifyAggregateMulti(signers, messages, aggregate);
      },
    };
    const batch = scheme.verifyAggregates?.bind(scheme);
    if (batch !== undefined) {
      return {
        ...metered,
        verifyAggregates: (items: readonly AggregateToVerify[]) => {
          for (const it of items) this.charge(agg(it.signers.length));
          return batch(items);
        },
      };
    }
    return metered;
  }

  meterSigner(signer: ConsensusSigner): ConsensusSigner {
    return {
      index: signer.index,
      sign: (message) => {
        this.charge(this.model.signUs);
        return signer.sign(message);
      },
    };
  }

  /** Sum of every CPU's stats. */
  stats(): CpuStats {
    let busyUs = 0;
    let events = 0;
    let dropped = 0;
    let maxQueue = 0;
    for (const c of this.cpus) {
      const s = c.stats();
      busyUs += s.busyUs;
      events += s.events;
      dropped += s.dropped;
      maxQueue = Math.max(maxQueue, s.maxQueue);
    }
    return { busyUs, events, dropped, maxQueue };
  }
}

/**
 * Charges an application's admission checks and tx executions to the running CPU. The application object is the one
 * the stack uses (its methods are replaced on the instance), so nothing else changes. A group's nested legs
 * (`BlockContext.deliverNested`) are part of their group's one charge.
 */
export function meterApplication(app: ModularApplication, cluster: CpuCluster): ModularApplication {
  const check = app.check.bind(app);
  const deliver = app.deliver.bind(app);
  app.check = (tx) => {
    cluster.charge(cluster.model.txCheckUs);
    // A cross-shard import (xshard tag 0x30, op 2) carries a commit proof: two aggregate verifications (its two QCs),
    // shared by every record it carries (verified once per replica: deliver reuses the check's result).
    if (tx[0] === XSHARD_TX_TAG && tx[1] === XSHARD_OP.import) cluster.charge(2 * cluster.model.aggregateVerifyUs);
    return check(tx);
  };
  app.deliver = (tx, index) => {
    // An order-only chain (a geo cluster's) executes nothing here: the global order pays (geoSimulation.ts).
    if (!app.orderOnly) cluster.charge(cluster.model.txExecuteUs);
    return deliver(tx, index);
  };
  return app;
}

/** One replica's CPU: a queue of events handled one at a time, each busy for its cost in virtual time. */
export class VirtualCpu {
  private readonly queue: Job[] = [];
  private head = 0;
  /** True from an event's start until its cost has elapsed. */
  private busy = false;
  /** Cost of the event being handled, so far (µs). */
  private costUs = 0;
  /** Sends made while handling the current event: they leave when it is done. */
  private outbox: (() => void)[] = [];
  private busyUs = 0;
  private events = 0;
  private dropped = 0;
  private maxQueue = 0;

  /** Timers as the replica sees them: each firing is an event on this CPU (cancellable while it waits in the queue). */
  readonly scheduler: Scheduler;

  constructor(private readonly cluster: CpuCluster) {
    const s = cluster.scheduler;
    this.scheduler = {
      now: () => s.now(),
      setTimeout: (fn: () => void, delayMs: number): TimerHandle => {
        const job: Job = { fn, us: 0, cancelled: false };
        const inner = s.setTimeout(() => this.submit(job, true), delayMs);
        return {
          cancel: () => {
            job.cancelled = true;
            inner.cancel();
          },
        };
      },
    };
  }

  /** Adds `us` to the event being handled (outside an event of this CPU: ignored). */
  charge(us: number): void {
    if (this.cluster.current === this) this.costUs += us;
  }

  /** Runs `fn` as an event on this CPU, after what is queued, with `us` charged up front (e.g. bytes received). */
  run(fn: () => void, us = 0, essential = true): void {
    this.submit({ fn, us, cancelled: false }, essential);
  }

  /** Bytes charged for one message of `bytes` bytes, sent or received. */
  messageCost(bytes: number): number {
    const m = this.cluster.model;
    return m.messageUs + (bytes * m.byteNs) / 1000;
  }

  /**
   * The transport as the replica sees it: each received message is an event (charged per message and byte), each send
   * is charged to this CPU and leaves when the event that made it is done.
   */
  transport(inner: Transport): Transport {
    const cpu = this;
    const send = (to: number, priority: Priority, payload: Uint8Array): SendStatus => cpu.send(() => inner.send(to, priority, payload), payload.byteLength);
    return {
      get self() {
        return inner.self;
      },
      get peers() {
        return inner.peers;
      },
      get maxMessageBytes() {
        return inner.maxMessageBytes;
      },
      setHandler(handler: TransportHandler): void {
        inner.setHandler({
          ...handler,
          onMessage: (from, payload, priority) => cpu.run(() => handler.onMessage(from, payload, priority), cpu.messageCost(payload.byteLength), false),
        });
      },
      start: () => inner.start(),
      // A stopped endpoint is a crashed process: what it was about to send and the events it had queued die with it.
      stop: () => {
        cpu.discard();
        return inner.stop();
      },
      send,
      multicast(to: Iterable<number>, priority: Priority, payload: Uint8Array): number {
        let refused = 0;
        for (const p of new Set(to)) if (p !== inner.self && send(p, priority, payload) !== SendStatus.Queued) refused++;
        return refused;
      },
      broadcast(priority: Priority, payload: Uint8Array): number {
        return this.multicast(inner.peers, priority, payload);
      },
      ban: (peer, ms) => inner.ban(peer, ms),
      isBanned: (peer) => inner.isBanned(peer),
      isConnected: (peer) => inner.isConnected(peer),
      queuedBytes: (peer) => inner.queuedBytes(peer),
      stats: () => inner.stats(),
    };
  }

  stats(): CpuStats {
    return { busyUs: this.busyUs, events: this.events, dropped: this.dropped, maxQueue: this.maxQueue };
  }

  /** Drops the queued events and the held sends (the process they belonged to is gone). */
  discard(): void {
    for (let i = this.head; i < this.queue.length; i++) this.queue[i]!.cancelled = true;
    this.outbox = [];
  }

  private send(go: () => SendStatus, bytes: number): SendStatus {
    if (this.cluster.current === this) {
      this.costUs += this.messageCost(bytes);
      this.outbox.push(() => void go());
      return SendStatus.Queued; // held until the event is done
    }
    return go();
  }

  private submit(job: Job, essential: boolean): void {
    if (job.cancelled) return;
    // Called from inside this CPU's own event (a synchronous callback): part of that event.
    if (this.cluster.current === this) {
      this.costUs += job.us;
      job.fn();
      return;
    }
    if (this.busy || this.cluster.current !== null || this.head < this.queue.length) {
      if (!essential && this.queue.length - this.head >= CPU_QUEUE_LIMIT) {
        this.dropped++;
        return;
      }
      this.queue.push(job);
      this.maxQueue = Math.max(this.maxQueue, this.queue.length - this.head);
      // Another CPU's event handed us work synchronously: start it as the next event if we are idle.
      if (!this.busy) {
        this.busy = true;
        this.cluster.scheduler.setTimeout(() => this.done(), 0);
      }
      return;
    }
    this.execute(job);
  }

  private execute(job: Job): void {
    const cluster = this.cluster;
    this.busy = true;
    this.costUs = cluster.model.eventUs + job.us;
    cluster.current = this;
    try {
      job.fn();
    } finally {
      cluster.current = null;
    }
    const cost = this.costUs;
    this.busyUs += cost;
    this.events++;
    cluster.scheduler.setTimeout(() => this.done(), cost / 1000);
  }

  /** The current event's cost has elapsed: its sends leave, and the next queued event starts. */
  private done(): void {
    const out = this.outbox;
    this.outbox = [];
    for (const go of out) go();
    this.busy = false;
    while (this.head < this.queue.length) {
      const job = this.queue[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      if (job.cancelled) continue;
      this.execute(job);
      return;
    }
  }
}
