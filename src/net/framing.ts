/**
 * Link framing: one WebSocket binary message = one frame.
 *
 *   frame   = kind:u8 body
 *   kind 1  = handshake: body is one handshake message (handshakeCodec.ts)
 *   kind 2  = data:      body is one or more records, then the channel tag (TAG_BYTES = 16, channel.ts)
 *   record  = length:u32le flags:u8 bytes[length]
 *   flags   = class (bits 0-1: Priority) | MORE (bit 2: the message continues in the next record of this class)
 *
 * The tag authenticates the whole frame before it (kind byte and records) and its position in the stream; the link
 * checks it and hands `FrameDecoder` the frame without it. Handshake frames carry no tag (their signatures cover them).
 *
 * Coalescing many small messages into one frame is what makes a million 200-byte messages per second possible: the
 * `ws` client costs ≈ 3.5 µs per send and the uWS server ≈ 0.5 µs per frame, but both are cheap per byte.
 * Fragmenting large messages (MORE) lets a consensus record slip in between the pieces of a multi-megabyte block,
 * so a vote waits behind at most one frame and the socket's high-water mark, never behind a whole block.
 */
import { Buffer } from "node:buffer";
import { PRIORITY_COUNT } from "./transport.js";
import type { Priority, RefusalCode } from "./transport.js";

export const FRAME_HANDSHAKE = 1;
export const FRAME_DATA = 2;
/**
 * kind 3 = ready: no body (only the channel tag after the kind byte). The dialer's first sealed frame, sent as soon as
 * it verified the listener's proof; the listener sends no data before it (link.ts).
 */
export const FRAME_READY = 3;
export const FRAME_HEADER_BYTES = 1;
export const RECORD_HEADER_BYTES = 5;
export const FLAG_MORE = 4;
const CLASS_MASK = 3;

/** Writes a record header at `off`. */
export function writeRecordHeader(frame: Uint8Array, off: number, length: number, priority: Priority, more: boolean): void {
  frame[off] = length & 0xff;
  frame[off + 1] = (length >>> 8) & 0xff;
  frame[off + 2] = (length >>> 16) & 0xff;
  frame[off + 3] = (length >>> 24) & 0xff;
  frame[off + 4] = priority | (more ? FLAG_MORE : 0);
}

/** Wraps an encoded handshake message into a frame. */
export function handshakeFrame(body: Uint8Array): Uint8Array {
  const f = new Uint8Array(FRAME_HEADER_BYTES + body.length);
  f[0] = FRAME_HANDSHAKE;
  f.set(body, FRAME_HEADER_BYTES);
  return f;
}

function readRecordLength(frame: Uint8Array, off: number): number {
  return (frame[off]! | (frame[off + 1]! << 8) | (frame[off + 2]! << 16) | (frame[off + 3]! << 24)) >>> 0;
}

const EMPTY = new Uint8Array(0);

/**
 * Copies records out of a borrowed frame into memory of their own, in blocks of at most COPY_BLOCK_BYTES: a run of
 * neighbouring small records is copied as one block (records are views into it), a record of COPY_ALONE_BYTES or
 * more gets its own buffer of exactly its size.
 *
 * Why blocks and not one copy of the frame: glibc serves an allocation of 128 KiB or more with a fresh mmap, so each
 * such copy pays page faults on every page it writes. Measured on this machine (fresh allocUnsafe + copy, CPU per
 * 64 KiB copied): 64 KiB buffers 18-25 µs, 192 KiB and 256 KiB buffers 70-130 µs (half of it system time); with
 * MALLOC_MMAP_THRESHOLD_ raised, 192 KiB costs the same as 64 KiB. So a 192 KiB frame of three 64 KiB messages is
 * copied as three 64 KiB buffers, and a frame of 200 B votes as 64 KiB blocks. A block also keeps a retained small
 * message from pinning a whole frame.
 */
class BorrowedCopier {
  private frame: Uint8Array = EMPTY;
  private block: Uint8Array = EMPTY;
  /** Frame offset of `block[0]`, and one past the last frame byte it holds. */
  private blockStart = 0;
  private blockEnd = 0;

  reset(frame: Uint8Array): this {
    this.frame = frame;
    this.block = EMPTY;
    this.blockStart = this.blockEnd = 0;
    return this;
  }

  /** An owned copy of `frame[start, start + len)`, a record's body whose header was read at start - 5. */
  take(start: number, len: number): Uint8Array {
    const end = start + len;
    if (start >= this.blockStart && end <= this.blockEnd) return this.block.subarray(start - this.blockStart, end - this.blockStart);
    if (len >= COPY_ALONE_BYTES) return ownedCopy(this.frame, start, end);
    // A new block from this record on, over as many whole following records as fit (their headers are read only for
    // their lengths here; decode checks each one when it gets to it).
    const f = this.frame;
    let blockEnd = end;
    for (let off = end; off + RECORD_HEADER_BYTES <= f.length; ) {
      const next = off + RECORD_HEADER_BYTES + readRecordLength(f, off);
      if (next > f.length || next - start > COPY_BLOCK_BYTES) break;
      blockEnd = next;
      off = next;
    }
    this.block = ownedCopy(f, start, blockEnd);
    this.blockStart = start;
    this.blockEnd = blockEnd;
    return this.block.subarray(0, len);
  }
}

/** Largest block of small records copied together: under glibc's 128 KiB mmap threshold (see BorrowedCopier). */
const COPY_BLOCK_BYTES = 64 * 1024;
/** Records this large are copied alone (a block would hold at most one more record of this size). */
const COPY_ALONE_BYTES = COPY_BLOCK_BYTES / 2;

/** `frame[start, end)` copied into fresh memory, as a plain Uint8Array (receivers never get a Buffer). */
function ownedCopy(frame: Uint8Array, start: number, end: number): Uint8Array {
  const n = end - start;
  const b = Buffer.allocUnsafe(n);
  const out = new Uint8Array(b.buffer, b.byteOffset, n);
  out.set(frame.subarray(start, end));
  return out;
}

/** Receives one message (whole, reassembled if it was fragmented). */
export type DeliverFn = (priority: Priority, payload: Uint8Array) => void;

/**
 * Parses data frames of one link and reassembles fragmented messages, one reassembly per class (classes interleave,
 * records of one class never do). Every length is checked against the frame and `maxMessageBytes`; a violation
 * returns a refusal code (the link is then closed) and delivers nothing further from that frame.
 */
export class FrameDecoder {
  private readonly parts: Uint8Array[][] = [];
  private readonly partBytes: number[] = [];

  constructor(private readonly maxMessageBytes: number) {
    for (let c = 0; c < PRIORITY_COUNT; c++) {
      this.parts.push([]);
      this.partBytes.push(0);
    }
  }

  /**
   * Decodes the records of a data frame (kind byte and tag already checked; `frame` ends before the tag). An owned
   * frame must not be reused afterwards: delivered messages are views into it. A `borrowed` frame is only valid
   * during this call (uWS's receive buffer): every delivered message and held piece is copied out (`BorrowedCopier`).
   */
  decode(frame: Uint8Array, deliver: DeliverFn, borrowed = false): RefusalCode | undefined {
    const n = frame.length;
    let off = FRAME_HEADER_BYTES;
    if (off >= n) return "MALFORMED_FRAME"; // a data frame carries at least one record
    const copier = borrowed ? this.copier.reset(frame) : undefined;
    while (off < n) {
      if (n - off < RECORD_HEADER_BYTES) return "MALFORMED_FRAME";
      const len = readRecordLength(frame, off);
      const flags = frame[off + 4]!;
      off += RECORD_HEADER_BYTES;
      const cls = flags & CLASS_MASK;
      if (cls >= PRIORITY_COUNT || (flags & ~(CLASS_MASK | FLAG_MORE)) !== 0) return "MALFORMED_FRAME";
      if (len > n - off) return "MALFORMED_FRAME";
      const start = off;
      off += len;
      const parts = this.parts[cls]!;
      const more = (flags & FLAG_MORE) !== 0;
      if (!more && parts.length === 0) {
        if (len > this.maxMessageBytes) return "MESSAGE_TOO_LARGE";
        deliver(cls as Priority, copier === undefined ? frame.subarray(start, off) : copier.take(start, len));
        continue;
      }
      const total = this.partBytes[cls]! + len;
      if (total > this.maxMessageBytes) return "MESSAGE_TOO_LARGE";
      if (more && len === 0) return "MALFORMED_FRAME"; // an empty non-final piece could spin forever
      parts.push(copier === undefined ? frame.subarray(start, off) : copier.take(start, len));
      this.partBytes[cls] = total;
      if (more) continue;
      const whole = new Uint8Array(total);
      let w = 0;
      for (const p of parts) {
        whole.set(p, w);
        w += p.length;
      }
      parts.length = 0;
      this.partBytes[cls] = 0;
      deliver(cls as Priority, whole);
    }
    copier?.reset(EMPTY);
    return undefined;
  }

  private readonly copier = new BorrowedCopier();

  /** Bytes held in unfinished reassemblies (bounded by 3 × maxMessageBytes). */
  pendingBytes(): number {
    let s = 0;
    for (const b of this.partBytes) s += b;
    return s;
  }
}
