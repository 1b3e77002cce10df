/**
 * What a peer may make this node serve from its store: per peer, a token bucket of heights and one of bytes. A sync
 * request is 40 bytes; its answer is up to MAX_SYNC_BLOCKS blocks and 8 MiB read from LMDB and encoded, so without a
 * bound one validator (or a stolen validator key) could keep a node busy serving the same range again and again.
 *
 * - Heights: `heightsPerSec` refill, `heightBurst` capacity. A request is clamped to the heights in the bucket and
 *   refused when under one is left. Default 512/s, burst 1,024 (four max-range requests): catch-up asks each peer
 *   for 128-height ranges, at most 2 in flight, and applied 42-86 blocks/s in all from 3 peers in `quire bench
 *   catchup`, so an honest peer needs ~30 heights/s of us — 17x headroom.
 * - Bytes: `bytesPerSec` refill, `byteBurst` capacity. A response is built only while the bucket is not in debt and
 *   charged its size afterwards (the size is known only then), so the bucket is at most one response (8 MiB) in
 *   debt. Default 8 MiB/s, burst 16 MiB: two full responses at once, and full 4 MiB blocks still flow at 2 blocks/s
 *   per peer (6/s from three), while a flood costs at most 8 MiB/s of reads and encoding per peer.
 * - Send queue: a response is built only when the peer's send queue holds at most `maxQueuedBytes` (default 1 MiB):
 *   a peer that does not read what it asked for gets nothing new, whatever its tokens.
 *
 * Refusals are silent (no answer: an answer would itself be work the requester chose) and counted by the shell
 * (`SYNC_RATE_LIMITED`, `SYNC_QUEUE_FULL`, in quire_rejected_total). An honest requester's request times out and
 * goes to another peer (catchUp.ts) or is asked again later (the core's requestSync).
 *
 * State: two numbers and a timestamp per validator index — bounded by the validator set.
 */

export interface SyncLimits {
  readonly heightsPerSec: number;
  readonly heightBurst: number;
  readonly bytesPerSec: number;
  readonly byteBurst: number;
  readonly maxQueuedBytes: number;
}

export const DEFAULT_SYNC_LIMITS: SyncLimits = {
  heightsPerSec: 512,
  heightBurst: 1_024,
  bytesPerSec: 8 * 1024 * 1024,
  byteBurst: 16 * 1024 * 1024,
  maxQueuedBytes: 1024 * 1024,
};

/** The verdict on one request: how many heights may be served, or why none. */
export type SyncGrant = { readonly ok: true; readonly heights: number } | { readonly ok: false; readonly reason: "SYNC_RATE_LIMITED" | "SYNC_QUEUE_FULL" };

interface Buckets {
  heights: number;
  bytes: number;
  at: number;
}

export class SyncLimiter {
  private readonly peers: (Buckets | undefined)[] = [];

  constructor(private readonly limits: SyncLimits = DEFAULT_SYNC_LIMITS) {}

  /** Whether `peer` may be served now, and up to how many of the `wanted` heights (`queued`: its send queue's bytes). */
  admit(peer: number, wanted: number, queued: number, now: number): SyncGrant {
    if (queued > this.limits.maxQueuedBytes) return { ok: false, reason: "SYNC_QUEUE_FULL" };
    const b = this.refill(peer, now);
    if (b.heights < 1 || b.bytes <= 0) return { ok: false, reason: "SYNC_RATE_LIMITED" };
    return { ok: true, heights: Math.max(1, Math.min(wanted, Math.floor(b.heights))) };
  }

  /** Charges what was served (heights and encoded bytes) after an `admit` that said ok. */
  charge(peer: number, heights: number, bytes: number, now: number): void {
    const b = this.refill(peer, now);
    b.heights -= heights;
    b.bytes -= bytes;
  }

  private refill(peer: number, now: number): Buckets {
    const l = this.limits;
    let b = this.peers[peer];
    if (b === undefined) {
      b = { heights: l.heightBurst, bytes: l.byteBurst, at: now };
      this.peers[peer] = b;
      return b;
    }
    const dt = Math.max(0, now - b.at) / 1000;
    b.at = Math.max(b.at, now);
    b.heights = Math.min(l.heightBurst, b.heights + dt * l.heightsPerSec);
    b.bytes = Math.min(l.byteBurst, b.bytes + dt * l.bytesPerSec);
    return b;
  }
}
