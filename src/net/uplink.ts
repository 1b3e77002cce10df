/**
 * One node's outbound bandwidth, for the in-memory network and anything else that sends "from" that node in virtual
 * time (the simulator's WAN model lets a geo cluster's inter-cluster channel, which travels outside the
 * `MemoryNetwork`, queue on the same object). Bytes leave FIFO at `bytesPerSec`, whatever their destination — a
 * single NIC / access link, the usual bottleneck of a validator broadcasting a block to its peers:
 *
 *   const up = new Uplink({ bytesPerSec: 1_000_000 });
 *   up.depart(0, 1_000_000);   // 1000: the last byte leaves at 1 s
 *   up.depart(0, 1_000_000);   // 2000: queued behind the first
 *
 * A message's arrival is then `depart(now, bytes)` plus its link's propagation delay. Nothing is ever refused: the
 * queue is unbounded (the simulated shell does not look at back-pressure), so an overloaded node shows up as a
 * growing `backlogMs`, not as drops.
 */
import { NetError } from "./transport.js";

export interface UplinkOptions {
  /** Outbound bytes per second (> 0, finite). */
  readonly bytesPerSec: number;
}

/** What an uplink carried over its life. */
export interface UplinkStats {
  readonly messages: number;
  readonly bytes: number;
  /** Virtual ms spent transmitting. */
  readonly busyMs: number;
  /** Longest wait a message had before its first byte left (ms). */
  readonly maxWaitMs: number;
}

export class Uplink {
  readonly bytesPerSec: number;
  /** When the last queued byte has left (virtual ms); −∞ while nothing was ever sent. */
  private freeAt = -Infinity;
  private messages = 0;
  private bytes = 0;
  private busyMs = 0;
  private maxWaitMs = 0;

  constructor(opts: UplinkOptions) {
    if (!(opts.bytesPerSec > 0) || !Number.isFinite(opts.bytesPerSec)) throw new NetError("BAD_CONFIG", `bytesPerSec must be a positive finite number, got ${opts.bytesPerSec}`);
    this.bytesPerSec = opts.bytesPerSec;
  }

  /** Time to put `bytes` on the wire (ms), queue aside. */
  transmitMs(bytes: number): number {
    return (bytes * 1000) / this.bytesPerSec;
  }

  /**
   * Queues a message of `bytes` sent at `now` behind everything sent before it; returns when its last byte leaves.
   * Calls must come in non-decreasing `now` (virtual time only moves forward).
   */
  depart(now: number, bytes: number): number {
    const start = Math.max(now, this.freeAt);
    const tx = this.transmitMs(bytes);
    this.freeAt = start + tx;
    this.messages++;
    this.bytes += bytes;
    this.busyMs += tx;
    this.maxWaitMs = Math.max(this.maxWaitMs, start - now);
    return this.freeAt;
  }

  /** How long a message sent at `now` would wait before its first byte leaves (ms; 0 when idle). */
  backlogMs(now: number): number {
    return Math.max(0, this.freeAt - now);
  }

  stats(): UplinkStats {
    return { messages: this.messages, bytes: this.bytes, busyMs: this.busyMs, maxWaitMs: this.maxWaitMs };
  }
}
