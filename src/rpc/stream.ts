/**
 * `GET /v1/stream`: a WebSocket that receives one JSON text frame per committed block (the `GET /v1/blocks/:height`
 * document), in height order, starting with the next block committed after the subscription opens (read
 * `/v1/blocks/latest` first to start from the current head).
 *
 * Slow-subscriber policy: a subscriber never sees a gap. Each frame is serialised once; a subscriber whose unsent
 * backlog is already over `maxBufferedBytes` when the next frame arrives is disconnected with close code 1008
 * ("slow consumer") instead of being skipped, and so is one whose send uWS drops. It can reconnect and fill the
 * gap from `/v1/blocks/:height`. Per-subscriber memory is therefore bounded by `maxBufferedBytes` plus one frame.
 * Anything a subscriber sends is ignored (frames over 1 KiB close the connection).
 *
 * Admission: an upgrade takes one request token of its source (429 RATE_LIMITED), then needs a free slot of the
 * global `maxSubscribers` (503 TOO_MANY_SUBSCRIBERS) and of its source's share `maxSubscribersPerSource` (429
 * TOO_MANY_STREAMS), so idle subscribers from one address cannot shut everyone else out.
 */
import type { HttpRequest, HttpResponse, WebSocket, WebSocketBehavior, us_socket_context_t } from "uWebSockets.js";
import type { BlockSummary, RpcLogger } from "./api.js";
import { blockJson } from "./json.js";
import { RPC_ERRORS, errorBody, statusLine } from "./errors.js";
import type { RpcErrorCode } from "./errors.js";
import type { RpcMetrics } from "./metrics.js";
import { reservedForNewSources } from "./sources.js";
import type { SourceEntry } from "./sources.js";

export interface BlockStreamOptions {
  maxSubscribers: number;
  /** One source's share of maxSubscribers (see sources.ts); past it, 429 TOO_MANY_STREAMS. */
  maxSubscribersPerSource: number;
  /** Backlog (bytes buffered by uWS for one subscriber) beyond which the subscriber is disconnected. */
  maxBufferedBytes: number;
  /** uWS idle timeout in seconds; the server pings automatically, so only dead peers hit it. 0 disables. */
  idleTimeoutSec: number;
}

/** WebSocket close code for a subscriber that could not keep up (RFC 6455 1008: policy violation). */
export const CLOSE_SLOW_CONSUMER = 1008;
/** WebSocket close code sent to every subscriber on `stop()` (RFC 6455 1001: going away). */
export const CLOSE_GOING_AWAY = 1001;

// uWS drops a send beyond maxBackpressure; ours is the policy limit plus room for the largest frame we send, so uWS
// never drops a frame before the policy check disconnects the subscriber. A block document is under 1 KiB plus the
// hex of its result bitmap (MAX_BITMAP_BYTES = 64 KiB → 128 KiB of hex) and its QC's signer indices (at most
// MAX_CERT_SIGNERS = 4,096 of them: under 20 KiB).
const FRAME_SLACK_BYTES = 256 * 1024;
// Subscribers have nothing to say; control frames (ping/pong/close) fit easily.
const MAX_INBOUND_BYTES = 1024;

interface Subscriber {
  id: number;
  source: SourceEntry;
}

/** The server's per-source accounting, as the stream needs it. */
export interface StreamSourceGate {
  /** The source entry of a remote address (`getRemoteAddress()`). */
  source(addr: ArrayBuffer): SourceEntry;
  /** Takes a request token: null when granted, else the Retry-After in seconds (already counted as refused). */
  admit(source: SourceEntry): number | null;
}

export class BlockStream {
  private readonly subs = new Set<WebSocket<Subscriber>>();
  private nextId = 1;
  private closing = false;

  constructor(
    private readonly opts: BlockStreamOptions,
    private readonly metrics: RpcMetrics,
    private readonly logger: RpcLogger,
    private readonly gate: StreamSourceGate,
  ) {}

  /** Open subscriptions. */
  get size(): number {
    return this.subs.size;
  }

  /** The uWS behaviour of the route. */
  behavior(): WebSocketBehavior<Subscriber> {
    return {
      maxPayloadLength: MAX_INBOUND_BYTES,
      maxBackpressure: this.opts.maxBufferedBytes + FRAME_SLACK_BYTES,
      closeOnBackpressureLimit: false,
      idleTimeout: this.opts.idleTimeoutSec,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => this.upgrade(res, req, context),
      // Counted per source here and checked in upgrade(): uWS runs `open` synchronously inside `res.upgrade`, so no
      // other upgrade can pass the check in between.
      open: (ws) => {
        ws.getUserData().source.subscribers++;
        this.subs.add(ws);
        this.metrics.streamOpened.inc();
        this.metrics.streamSubscribers.set(this.subs.size);
      },
      message: () => {},
      close: (ws) => {
        if (this.subs.delete(ws)) ws.getUserData().source.subscribers--;
        this.metrics.streamSubscribers.set(this.subs.size);
      },
    };
  }

  /** Sends `block` to every subscriber (see the slow-subscriber policy above). Never throws. */
  publish(block: BlockSummary): void {
    if (this.subs.size === 0 || this.closing) return;
    let frame: string;
    try {
      frame = JSON.stringify(blockJson(block));
    } catch (e) {
      this.metrics.streamErrors.inc();
      this.logger.error("rpc stream: cannot render committed block", { error: String(e) });
      return;
    }
    // Deleting from a Set while iterating it is safe: end() runs the close handler synchronously.
    for (const ws of this.subs) {
      if (ws.getBufferedAmount() > this.opts.maxBufferedBytes) {
        this.drop(ws, "slow");
        continue;
      }
      // 1 sent, 0 sent but now buffered (drains later), 2 dropped by uWS (over maxBackpressure).
      if (ws.send(frame, false, false) === 2) {
        this.drop(ws, "slow");
        continue;
      }
      this.metrics.streamFrames.inc();
    }
  }

  /** Closes every subscription (1001) and refuses new ones. */
  closeAll(): void {
    this.closing = true;
    for (const ws of [...this.subs]) {
      this.metrics.streamDropped.inc({ reason: "stopping" });
      ws.end(CLOSE_GOING_AWAY, "server stopping");
    }
  }

  private drop(ws: WebSocket<Subscriber>, reason: "slow"): void {
    this.metrics.streamDropped.inc({ reason });
    this.logger.debug("rpc stream: dropping a slow subscriber", { subscriber: ws.getUserData().id, buffered: ws.getBufferedAmount() });
    ws.end(CLOSE_SLOW_CONSUMER, "slow consumer");
  }

  private upgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
    // Answered synchronously either way, so no onAborted is needed.
    const key = req.getHeader("sec-websocket-key");
    const protocol = req.getHeader("sec-websocket-protocol");
    const extensions = req.getHeader("sec-websocket-extensions");
    const source = this.gate.source(res.getRemoteAddress());
    const limited = this.gate.admit(source);
    if (limited !== null) {
      this.refuse(res, "RATE_LIMITED", "over the requests per second allowed from this address", limited);
      return;
    }
    if (this.closing || this.subs.size >= this.opts.maxSubscribers) {
      this.metrics.streamRefused.inc();
      this.refuse(res, "TOO_MANY_SUBSCRIBERS", this.closing ? "server stopping" : `the stream has its maximum of ${this.opts.maxSubscribers} subscribers`, 5);
      return;
    }
    if (source.subscribers > 0 && this.subs.size >= this.opts.maxSubscribers - reservedForNewSources(this.opts.maxSubscribers)) {
      this.metrics.streamRefused.inc();
      this.refuse(res, "TOO_MANY_SUBSCRIBERS", "the rest of the stream's subscriptions are kept for addresses that hold none", 5);
      return;
    }
    if (source.subscribers >= this.opts.maxSubscribersPerSource) {
      this.metrics.sourceRefused.inc({ limit: "subscribers" });
      this.refuse(res, "TOO_MANY_STREAMS", `this address has its maximum of ${this.opts.maxSubscribersPerSource} subscriptions`, 5);
      return;
    }
    this.metrics.requests.inc({ route: "stream", status: "101" });
    res.upgrade<Subscriber>({ id: this.nextId++, source }, key, protocol, extensions, context);
  }

  private refuse(res: HttpResponse, code: RpcErrorCode, message: string, retryAfterSec: number): void {
    const status = RPC_ERRORS[code];
    this.metrics.requests.inc({ route: "stream", status: String(status) });
    res.cork(() => {
      res.writeStatus(statusLine(status)).writeHeader("Content-Type", "application/json").writeHeader("Retry-After", String(retryAfterSec)).end(errorBody(code, message), true);
    });
  }
}
