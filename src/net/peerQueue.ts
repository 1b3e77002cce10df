/**
 * The outbound queues for one peer: one bounded FIFO per priority class, and the frame builder that drains them.
 *
 * Order of service when a frame is built:
 * 1. Consensus first, always (strict priority): a vote never waits behind a queued block or transaction batch.
 * 2. Then Sync and Gossip share the rest of the frame; which of the two goes first alternates frame by frame, so a
 *    long block stream cannot starve transaction gossip and a gossip flood cannot starve sync.
 * A message larger than one frame is cut into pieces (record flag MORE), one piece per frame, so higher classes
 * interleave between the pieces.
 */
import { Buffer } from "node:buffer";
import { Deque } from "./deque.js";
import { FRAME_DATA, FRAME_HEADER_BYTES, RECORD_HEADER_BYTES, writeRecordHeader } from "./framing.js";
import { emptyClassStats, Priority, PRIORITY_COUNT, SendStatus } from "./transport.js";
import type { ClassStats } from "./transport.js";

/** Memory for one frame of exactly `size` bytes, whose content the caller overwrites. */
export type FrameAlloc = (size: number) => Uint8Array;

/**
 * A fresh frame (allocUnsafe: `nextFrame` writes every byte). A plain Uint8Array view, so record views handed to
 * receivers are never Buffers (whose slice() shares memory).
 */
export const freshFrame: FrameAlloc = (size) => {
  const buf = Buffer.allocUnsafe(size);
  return new Uint8Array(buf.buffer, buf.byteOffset, size);
};

/** Bound of one class queue. A queue is full when adding a message would exceed either limit. */
export interface ClassLimit {
  maxMessages: number;
  maxBytes: number;
}

/** Limits per class, indexed by `Priority`. */
export type QueueLimits = readonly [consensus: ClassLimit, sync: ClassLimit, gossip: ClassLimit];

/**
 * Defaults. Bytes: a proposal carrying a large block is consensus traffic, so the consensus queue holds two
 * maximum-size (16 MiB) messages; sync holds one maximum-size response (sync is pull-based: a responder waits for
 * onDrain); a gossip queue bigger than a few MiB only holds transactions that will be stale when they arrive.
 * Counts bound the per-entry overhead (≈ 100 B each) for floods of tiny messages. Worst case per peer: 56 MiB
 * queued plus the socket's high-water mark and one frame.
 */
export const DEFAULT_QUEUE_LIMITS: QueueLimits = [
  { maxMessages: 65_536, maxBytes: 32 * 1024 * 1024 },
  { maxMessages: 4_096, maxBytes: 16 * 1024 * 1024 },
  { maxMessages: 65_536, maxBytes: 8 * 1024 * 1024 },
];

/** What happened to a pushed message. `dropped` counts older gossip removed to make room (or 1 for the new one). */
export interface PushResult {
  status: SendStatus;
  dropped: number;
}

export class PeerQueue {
  private readonly q: Deque<Uint8Array>[] = [];
  /** Bytes of each class's head message already framed (fragmented send in progress). */
  private readonly headSent: number[] = [];
  readonly classes: ClassStats[] = [];
  private bulkTurn: Priority = Priority.Sync;
  private totalBytes = 0;
  // Scratch for the frame planner: records chosen for the frame being built (reused, never shrunk).
  private readonly planPayload: Uint8Array[] = [];
  private readonly planStart: number[] = [];
  private readonly planEnd: number[] = [];
  private readonly planClass: Priority[] = [];

  constructor(private readonly limits: QueueLimits = DEFAULT_QUEUE_LIMITS) {
    for (let c = 0; c < PRIORITY_COUNT; c++) {
      this.q.push(new Deque<Uint8Array>(64));
      this.headSent.push(0);
      this.classes.push(emptyClassStats());
    }
  }

  /** Queued payload bytes over all classes. */
  get bytes(): number {
    return this.totalBytes;
  }

  isEmpty(): boolean {
    return this.q[0]!.length === 0 && this.q[1]!.length === 0 && this.q[2]!.length === 0;
  }

  /** Queues a message under the class policy (see `Priority`). */
  push(priority: Priority, payload: Uint8Array): PushResult {
    const st = this.classes[priority]!;
    const lim = this.limits[priority]!;
    const q = this.q[priority]!;
    const len = payload.length;
    if (st.queuedMessages + 1 <= lim.maxMessages && st.queuedBytes + len <= lim.maxBytes) {
      this.append(priority, payload);
      return { status: SendStatus.Queued, dropped: 0 };
    }
    if (priority !== Priority.Gossip) {
      st.rejected++;
      return { status: SendStatus.Rejected, dropped: 0 };
    }
    // Gossip: drop oldest until the new message fits. A head that is partly framed cannot be dropped (the peer holds
    // its first pieces), so drop behind it.
    let dropped = 0;
    while (st.queuedMessages + 1 > lim.maxMessages || st.queuedBytes + len > lim.maxBytes) {
      const inFlight = this.headSent[priority]! > 0;
      const victim = inFlight ? q.removeSecond() : q.shift();
      if (victim === undefined) {
        // Nothing droppable left: the new message alone is over the limit (or only the in-flight head remains).
        st.droppedOldest++;
        return { status: SendStatus.Queued, dropped: dropped + 1 };
      }
      st.queuedMessages--;
      st.queuedBytes -= victim.length;
      this.totalBytes -= victim.length;
      st.droppedOldest++;
      dropped++;
    }
    this.append(priority, payload);
    return { status: SendStatus.Queued, dropped };
  }

  /** Discards everything queued (stop, or a peer being removed). Counters other than queue sizes are kept. */
  clear(): void {
    for (let c = 0; c < PRIORITY_COUNT; c++) {
      this.q[c]!.clear();
      this.headSent[c] = 0;
      this.classes[c]!.queuedBytes = 0;
      this.classes[c]!.queuedMessages = 0;
    }
    this.totalBytes = 0;
  }

  /**
   * Builds the next data frame of at most `frameBytes` (>= MIN_FRAME_BYTES) from the queues, or returns null when all are
   * empty. Dequeued messages are counted as sent. The frame ends with `trailerBytes` (< 64) unwritten bytes, counted
   * in `frameBytes`, where the link writes the channel tag (channel.ts), so sealing needs no copy. `alloc` gives the
   * memory the frame is built in (a socket's reused frame buffer, `LinkSocket.frameBuffer`; fresh by default).
   */
  nextFrame(frameBytes: number, trailerBytes = 0, alloc: FrameAlloc = freshFrame): Uint8Array | null {
    if (this.isEmpty()) return null;
    const maxFrameBytes = frameBytes - trailerBytes;
    let n = 0;
    let size = FRAME_HEADER_BYTES;
    // Plans records for class `c` until its queue is empty or the frame is full. Returns false when the frame is full.
    const plan = (c: Priority): boolean => {
      const q = this.q[c]!;
      let i = 0;
      let first = true;
      for (;;) {
        const msg = q.at(i);
        if (msg === undefined) return true;
        const room = maxFrameBytes - size - RECORD_HEADER_BYTES;
        const start = first ? this.headSent[c]! : 0;
        const rest = msg.length - start;
        if (rest <= room) {
          this.setPlan(n++, msg, start, msg.length, c);
          size += RECORD_HEADER_BYTES + rest;
          i++;
          first = false;
          continue;
        }
        // Does not fit. A message too big for any frame is fragmented: the piece that fits goes now. A message that
        // fits an empty frame waits for the next frame (whole messages keep the receiver's copy-free path).
        const wholeFits = msg.length <= maxFrameBytes - FRAME_HEADER_BYTES - RECORD_HEADER_BYTES;
        if (!wholeFits && room >= MIN_PIECE) {
          this.setPlan(n++, msg, start, start + room, c);
          size += RECORD_HEADER_BYTES + room;
        }
        return false;
      }
    };
    // Bulk classes only join a frame that carries every queued consensus message.
    if (plan(Priority.Consensus)) {
      const a = this.bulkTurn;
      const b = a === Priority.Sync ? Priority.Gossip : Priority.Sync;
      this.bulkTurn = b;
      plan(a);
      plan(b); // b's messages may be smaller than a's head that did not fit
    }
    if (n === 0) return null; // unreachable while maxFrameBytes >= MIN_FRAME_BYTES: an empty frame always takes a piece
    // Copy the planned records into one exactly sized frame; every byte before the trailer is written below.
    const frame = alloc(size + trailerBytes);
    frame[0] = FRAME_DATA;
    let off = FRAME_HEADER_BYTES;
    for (let k = 0; k < n; k++) {
      const msg = this.planPayload[k]!;
      const s = this.planStart[k]!;
      const e = this.planEnd[k]!;
      const c = this.planClass[k]!;
      const more = e < msg.length;
      writeRecordHeader(frame, off, e - s, c, more);
      off += RECORD_HEADER_BYTES;
      frame.set(s === 0 && e === msg.length ? msg : msg.subarray(s, e), off);
      off += e - s;
      this.planPayload[k] = EMPTY; // do not pin payloads from the scratch array
      if (more) {
        this.headSent[c] = e;
      } else {
        this.q[c]!.shift();
        this.headSent[c] = 0;
        const st = this.classes[c]!;
        st.queuedMessages--;
        st.queuedBytes -= msg.length;
        st.sentMessages++;
        st.sentBytes += msg.length;
        this.totalBytes -= msg.length;
      }
    }
    return frame;
  }

  private append(priority: Priority, payload: Uint8Array): void {
    this.q[priority]!.push(payload);
    const st = this.classes[priority]!;
    st.queuedMessages++;
    st.queuedBytes += payload.length;
    this.totalBytes += payload.length;
  }

  private setPlan(k: number, msg: Uint8Array, start: number, end: number, c: Priority): void {
    this.planPayload[k] = msg;
    this.planStart[k] = start;
    this.planEnd[k] = end;
    this.planClass[k] = c;
  }
}

const EMPTY = new Uint8Array(0);
/** Smallest fragment worth a record header. */
const MIN_PIECE = 64;
/** Smallest allowed frame limit: room for a header and a MIN_PIECE piece with margin. */
export const MIN_FRAME_BYTES = 1024;
