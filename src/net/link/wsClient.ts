/**
 * Outbound links: the `ws` client (Node 20 has no global WebSocket), with bufferutil for frame masking.
 *
 * Frames are masked with ws's random keys as RFC 6455 requires of clients. Masking with the all-zero key (which ws
 * then skips) was measured and is slower here: ws writes header and payload as two buffers instead of one merged
 * copy (bench net, 64 KiB messages ws→uWS: 2.2-2.5 GB/s zero key vs 3.5 GB/s random keys).
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
 * How long a close handshake we started may take before the connection is dropped. `ws` waits 30 s for the peer's
 * close frame; a peer (or relay) that never answers would keep the link slot, and its redial, waiting that long.
 */
const CLOSE_GRACE_MS = 1_000;

export class WsClientSocket implements LinkSocket {
  readonly openAtStart = false;
  private readonly ws: WebSocket;
  private events: LinkSocketEvents | undefined;
  private closed = false;
  private wantDrain = false;
  private readonly onSent: (err?: Error) => void;

  constructor(url: string, private readonly opts: WsClientOptions) {
    this.ws = new WebSocket(url, {
      perMessageDeflate: false,
      maxPayload: opts.maxFrameBytes,
      skipUTF8Validation: true,
      handshakeTimeout: opts.connectTimeoutMs,
      followRedirects: false,
    });
    this.onSent = () => {
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

  send(frame: Uint8Array): boolean {
    if (!this.writable) return false;
    this.ws.send(frame, { binary: true, compress: false, fin: true }, this.onSent);
    return true;
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
