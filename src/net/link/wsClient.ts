/**
 * Outbound links: the `ws` client (Node 20 has no global WebSocket; bufferutil unmasks nothing here and masks only
 * control frames, see below).
 *
 * Frames go out with the all-zero masking key, which `ws` does not apply: it writes the WebSocket header and our frame
 * as they are (one writev), where a random key makes it allocate a second buffer of the frame's size and copy the
 * frame into it masked. With the frame itself built in reused memory (`frameBuffer`, a small pool recycled by the
 * write callback, or at once when nothing is buffered), a frame then costs no allocation and no copy beyond building
 * it. A random key costs one fresh buffer of the frame's size per frame, which above 128 KiB is a fresh mmap and its
 * page faults (framing.ts BorrowedCopier has the figures): 192 KiB allocUnsafe + copy 70-130 µs per 64 KiB against
 * 18-25 µs for 64 KiB buffers on this machine. (An earlier measurement, fresh frames and random vs zero key, had the
 * zero key slower, 2.2-2.5 vs 3.5 GB/s at 64 KiB ws→uWS; with pooled frames it is the random key that allocates.)
 *
 * RFC 6455 wants an unpredictable key from clients: masking keeps a browser script's chosen bytes from looking like
 * HTTP to a transparent proxy on the path (its §10.3). Nothing here is a browser and every frame carries the channel's
 * tag; the key is no part of the link's security (channel.ts), and uWS unmasks whatever key a frame names.
 *
 * `ws` has no drain event, so back-pressure uses the per-send write callback: `ws` calls it once the frame left
 * Node's stream buffer, and `bufferedAmount` (stream buffer + frames queued in ws) is then re-checked.
 */
import WebSocket from "ws";
import type { LinkSocket, LinkSocketEvents } from "./socket.js";

export interface WsClientOptions {
  /** Largest frame accepted from the server; larger ones close the connection (1009). */
  maxFrameBytes: number;
  /** TCP connect + HTTP upgrade must finish within this, ms. */
  connectTimeoutMs: number;
  /** `onWritable` fires when the buffered amount is at most this. */
  lowWaterBytes: number;
}

/**
 * Frame buffers kept for reuse per link. Frames in flight are bounded by the transport's high-water mark plus one
 * frame (1 MiB + 256 KiB by default, 5-7 frames of 192-256 KiB), so 8 free ones cover a full window; more would only
 * hold memory.
 */
const POOLED_FRAMES = 8;

/** The masking key `ws` skips (see the header). */
const zeroMask = (mask: Buffer): void => {
  mask.fill(0);
};

/**
 * How long a close handshake we started may take before the connection is dropped. `ws` waits 30 s for the peer's
 * close frame; a peer (or relay) that never answers would keep the link slot, and its redial, waiting that long.
 */
const CLOSE_GRACE_MS = 1_000;

export class WsClientSocket implements LinkSocket {
  readonly openAtStart = false;
  readonly framesBorrowed = false;
  private readonly ws: WebSocket;
  private events: LinkSocketEvents | undefined;
  private closed = false;
  private wantDrain = false;
  private readonly onSent: (err?: Error) => void;
  /** Free frame buffers (each `maxFrameBytes` long), and the pooled ones handed to `ws.send` in send order. */
  private readonly free: ArrayBuffer[] = [];
  private readonly pooled = new WeakSet<ArrayBufferLike>();
  private readonly inFlight: (ArrayBuffer | undefined)[] = [];
  private inFlightHead = 0;

  constructor(url: string, private readonly opts: WsClientOptions) {
    this.ws = new WebSocket(url, {
      perMessageDeflate: false,
      maxPayload: opts.maxFrameBytes,
      skipUTF8Validation: true,
      handshakeTimeout: opts.connectTimeoutMs,
      followRedirects: false,
      generateMask: zeroMask,
    });
    this.onSent = () => {
      // Write callbacks come in send order (one stream): the oldest frame still listed is the one written.
      const ab = this.inFlight[this.inFlightHead];
      this.inFlight[this.inFlightHead++] = undefined;
      if (this.inFlightHead === this.inFlight.length) {
        this.inFlight.length = 0;
        this.inFlightHead = 0;
      }
      if (ab !== undefined) this.release(ab);
      if (this.wantDrain && !this.closed && this.ws.bufferedAmount <= this.opts.lowWaterBytes) {
        this.wantDrain = false;
        this.events?.onWritable();
      }
    };
    const ws = this.ws;
    ws.binaryType = "nodebuffer";
    ws.on("open", () => {
      if (!this.closed) this.events?.onOpen();
    });
    ws.on("message", (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      if (this.closed || this.events === undefined) return;
      if (!isBinary || !Buffer.isBuffer(data)) {
        this.events.onFrame(new Uint8Array(0));
        return;
      }
      // A plain Uint8Array view: receivers get one array type whichever side of the link they are on.
      this.events.onFrame(new Uint8Array(data.buffer, data.byteOffset, data.length));
    });
    ws.on("ping", () => this.events?.onActivity());
    ws.on("pong", () => this.events?.onActivity());
    ws.on("error", () => {
      // Always followed by "close", which does the bookkeeping; the listener only stops ws from throwing.
    });
    ws.on("close", (code: number, reason: Buffer) => this.finish(code, reason.toString("utf8")));
  }

  setEvents(events: LinkSocketEvents): void {
    this.events = events;
  }

  get writable(): boolean {
    return !this.closed && this.ws.readyState === WebSocket.OPEN;
  }

  readonly frameBuffer = (size: number): Uint8Array => {
    const cap = this.opts.maxFrameBytes;
    if (size > cap) return new Uint8Array(size);
    let ab = this.free.pop();
    if (ab === undefined) {
      ab = new ArrayBuffer(cap);
      this.pooled.add(ab);
    }
    return new Uint8Array(ab, 0, size);
  };

  send(frame: Uint8Array): boolean {
    if (!this.writable) return false;
    // Only our pooled buffers go back to the pool, once written (the write callback).
    const ab = frame.buffer;
    this.inFlight.push(ab instanceof ArrayBuffer && this.pooled.has(ab) ? ab : undefined);
    this.ws.send(frame, { binary: true, compress: false, fin: true }, this.onSent);
    // Nothing buffered: every frame sent so far is in the kernel and its memory free, although the write callbacks
    // (deferred to process.nextTick) may not come for a while: a flush that keeps finding room, and a sender that
    // refills its queue from onDrain, run as one chain of microtasks, ahead of every nextTick callback.
    if (this.ws.bufferedAmount === 0) this.releaseAll();
    return true;
  }

  private release(ab: ArrayBuffer): void {
    if (this.free.length < POOLED_FRAMES) this.free.push(ab);
  }

  /** Every listed frame was written: back to the pool (the list keeps its slots for the callbacks still to come). */
  private releaseAll(): void {
    const f = this.inFlight;
    for (let i = this.inFlightHead; i < f.length; i++) {
      const ab = f[i];
      if (ab !== undefined) {
        f[i] = undefined;
        this.release(ab);
      }
    }
  }

  bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  wantWritable(): void {
    this.wantDrain = true;
  }

  cork(fn: () => void): void {
    // ws writes each frame with socket.cork()/uncork() already; coalescing into large frames is what matters.
    fn();
  }

  ping(): void {
    if (!this.closed && this.ws.readyState === WebSocket.OPEN) this.ws.ping();
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    if (this.ws.readyState === WebSocket.CONNECTING) {
      this.terminate();
      return;
    }
    try {
      this.ws.close(code, reason);
    } catch {
      this.terminate();
      return;
    }
    setTimeout(() => this.terminate(), CLOSE_GRACE_MS).unref();
  }

  terminate(): void {
    if (this.closed) return;
    this.ws.terminate();
    // ws reports "close" asynchronously after terminate; report now so shutdown and reconnect need not wait for it.
    this.finish(1006, "terminated");
  }

  private finish(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    const ev = this.events;
    this.events = undefined;
    ev?.onClose(code, reason);
  }
}
