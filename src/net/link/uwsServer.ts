/**
 * Inbound links: a uWebSockets.js server with one WebSocket route. Each accepted socket is wrapped in a
 * `UwsServerSocket` and handed to the owner, which builds a `Link` on it.
 *
 * uWS rules honoured here: a uWS WebSocket object must never be touched after its close handler ran (the native
 * object is gone), and the ArrayBuffer given to `message` is neutered when the handler returns, so each frame is
 * copied once into memory the link owns (records are then zero-copy views into that copy).
 *
 * Admission happens in the upgrade handler, the first point where JavaScript sees a connection: the owner's `admit`
 * gets the remote address and may refuse with an HTTP status before any WebSocket exists (`../admission.ts`). uWS runs
 * the `open` handler synchronously inside `res.upgrade`, so an admitted connection holds its slot from that moment.
 */
import { Buffer } from "node:buffer";
import * as uWS from "uWebSockets.js";
import type { Scheduler, TimerHandle } from "../../util/clock.js";
import { sourceKey } from "../admission.js";
import type { LinkSocket, LinkSocketEvents } from "./socket.js";

/** uWS's `LIBUS_LISTEN_EXCLUSIVE_PORT` (the typings declare the enum but the module does not export its value). */
const LIBUS_LISTEN_EXCLUSIVE_PORT = 1;

/**
 * `app.listen(host, port, cb)` without SO_REUSEPORT, which uWS sets by default: a second process binding the same
 * port then fails instead of sharing the connections with the first (two copies of one validator would equivocate).
 * The native `listen` takes (host, port, options, cb); the typings lack that overload.
 */
export function listenExclusive(app: uWS.TemplatedApp, host: string, port: number, cb: (ls: uWS.us_listen_socket | false) => void): void {
  (app.listen as unknown as (h: string, p: number, o: number, c: (ls: uWS.us_listen_socket | false) => void) => void).call(app, host, port, LIBUS_LISTEN_EXCLUSIVE_PORT, cb);
}

/**
 * An upgrade refused by the owner's admission: the HTTP status line, a Retry-After in seconds, a short body. `hold`:
 * answer only after `TARPIT.holdMs` (or never, if the client gives up first) — a tarpit, within `maxHeldUpgrades` /
 * `maxHeldPerSource`; past those the refusal is answered at once.
 */
export interface UpgradeRefusal {
  readonly status: string;
  readonly retryAfterSec: number;
  readonly reason: string;
  readonly hold?: boolean;
}

/**
 * Tarpit bounds. An answered refusal costs ≈ 60 µs of kernel and uWS work per connection (measured with a bare uWS
 * server refusing every upgrade: 56-60 µs; 2,400-2,900 connections/s from one ws process = 14-16 % of a core), which a
 * source that reconnects at once turns into a flood. A held connection costs an fd, a timer and no CPU, and throttles a
 * source that waits for answers to its own concurrency per 10 s. (uWS itself never times out a request whose handler
 * ran, so the hold ends by our timer.) 512 fds in all (of 20,000 here), 64 per source, so one source cannot take them
 * all.
 */
export const TARPIT = { maxHeldUpgrades: 512, maxHeldPerSource: 64, holdMs: 10_000 } as const;

export interface UwsServerOptions {
  host: string;
  /** 0 picks a free port; read it back from `port` after `listen()`. */
  port: number;
  /** URL path of the link route, e.g. "/quire/link". */
  path: string;
  /** Largest frame accepted; uWS closes the connection (1009) on a larger one. */
  maxFrameBytes: number;
  /**
   * uWS drops sends beyond this many buffered bytes; the transport never sends past its own high-water mark, so
   * set this above high-water + one frame and a drop cannot happen.
   */
  maxBackpressureBytes: number;
  /** uWS's own idle timeout in seconds (granularity 4 s), a backstop behind the link's ping/idle timer. */
  idleTimeoutSec: number;
}

interface UserData {
  socket: UwsServerSocket | undefined;
  source: string;
}

/** Server side of one link. */
export class UwsServerSocket implements LinkSocket {
  readonly openAtStart = true;
  readonly framesBorrowed = true;
  events: LinkSocketEvents | undefined;
  closed = false;
  private wantDrain = false;
  /**
   * The frame memory `frameBuffer` hands out: one buffer, reused for every frame, since uWS copies a frame (into the
   * kernel or its own back-pressure buffer) before `send` returns. Grown to the largest frame asked for.
   */
  private scratch = new Uint8Array(0);

  constructor(
    private readonly ws: uWS.WebSocket<UserData>,
    private readonly lowWaterBytes: number,
    /** The admission key of the remote address (`admission.ts` `sourceKey`: IPv4, or IPv6 /64). */
    readonly source: string,
  ) {}

  setEvents(events: LinkSocketEvents): void {
    this.events = events;
  }

  get writable(): boolean {
    return !this.closed;
  }

  readonly frameBuffer = (size: number): Uint8Array => {
    if (this.scratch.length < size) {
      const b = Buffer.allocUnsafe(size);
      this.scratch = new Uint8Array(b.buffer, b.byteOffset, size);
    }
    return this.scratch.subarray(0, size);
  };

  send(frame: Uint8Array): boolean {
    if (this.closed) return false;
    // 1 = sent, 0 = sent but back-pressure built up (drain will follow), 2 = dropped (over maxBackpressure).
    return this.ws.send(frame, true, false) !== 2;
  }

  bufferedAmount(): number {
    return this.closed ? 0 : this.ws.getBufferedAmount();
  }

  wantWritable(): void {
    this.wantDrain = true;
  }

  cork(fn: () => void): void {
    if (this.closed) return;
    this.ws.cork(fn);
  }

  ping(): void {
    if (!this.closed) this.ws.ping();
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.ws.end(code, reason); // runs the close handler synchronously
  }

  terminate(): void {
    if (this.closed) return;
    this.ws.close();
  }

  /** @internal from the uWS drain handler. */
  drained(): void {
    if (this.wantDrain && !this.closed && this.ws.getBufferedAmount() <= this.lowWaterBytes) {
      this.wantDrain = false;
      this.events?.onWritable();
    }
  }

  /** @internal from the uWS close handler. */
  finish(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    const ev = this.events;
    this.events = undefined;
    ev?.onClose(code, reason);
  }
}

/**
 * The listening server. `admit(source)` decides each upgrade from the remote address's admission key (undefined:
 * accept); `onSocket` gets each accepted socket and must call `setEvents` on it synchronously.
 */
export class UwsServer {
  private app: uWS.TemplatedApp | undefined;
  private listenSocket: uWS.us_listen_socket | undefined;
  private readonly sockets = new Set<UwsServerSocket>();
  private boundPort = 0;
  /** Refused upgrades held unanswered (the tarpit): their answer timers, and how many per source. */
  private readonly heldTimers = new Set<TimerHandle>();
  private readonly heldBySource = new Map<string, number>();

  constructor(
    private readonly opts: UwsServerOptions,
    private readonly lowWaterBytes: number,
    private readonly onSocket: (s: UwsServerSocket) => void,
    private readonly admit: (source: string) => UpgradeRefusal | undefined,
    private readonly scheduler: Scheduler,
  ) {}

  /** The bound port (after `listen()`). */
  get port(): number {
    return this.boundPort;
  }

  /** Number of open sockets. */
  get size(): number {
    return this.sockets.size;
  }

  /** Starts listening; rejects if the address cannot be bound. */
  listen(): Promise<number> {
    const app = uWS.App();
    this.app = app;
    app.ws<UserData>(this.opts.path, {
      maxPayloadLength: this.opts.maxFrameBytes,
      maxBackpressure: this.opts.maxBackpressureBytes,
      closeOnBackpressureLimit: false,
      // compression stays at its default, DISABLED: payloads are binary FlatBuffers and signatures (incompressible).
      idleTimeout: this.opts.idleTimeoutSec,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => {
        // Read before anything else: res and req are only valid inside this handler.
        const source = sourceKey(new Uint8Array(res.getRemoteAddress()));
        const refusal = this.admit(source);
        if (refusal !== undefined) {
          if (refusal.hold === true && this.hold(res, source, refusal)) return;
          res.writeStatus(refusal.status).writeHeader("Retry-After", String(refusal.retryAfterSec)).end(refusal.reason, true);
          return;
        }
        res.upgrade<UserData>(
          { socket: undefined, source },
          req.getHeader("sec-websocket-key"),
          req.getHeader("sec-websocket-protocol"),
          req.getHeader("sec-websocket-extensions"),
          context,
        );
      },
      open: (ws) => {
        const s = new UwsServerSocket(ws, this.lowWaterBytes, ws.getUserData().source);
        ws.getUserData().socket = s;
        this.sockets.add(s);
        this.onSocket(s);
      },
      message: (ws, message, isBinary) => {
        const s = ws.getUserData().socket;
        if (s === undefined || s.closed) return;
        // Lent: uWS neuters the buffer when this returns. The link checks the tag in place and copies out only what it
        // keeps (framing.ts BorrowedCopier), in blocks small enough to stay clear of fresh mmaps.
        s.events?.onFrame(isBinary ? new Uint8Array(message) : new Uint8Array(0));
      },
      drain: (ws) => ws.getUserData().socket?.drained(),
      ping: (ws) => ws.getUserData().socket?.events?.onActivity(),
      pong: (ws) => ws.getUserData().socket?.events?.onActivity(),
      close: (ws, code, message) => {
        const s = ws.getUserData().socket;
        if (s === undefined) return;
        this.sockets.delete(s);
        s.finish(code, Buffer.from(message).toString("utf8"));
      },
    });
    // Everything else on this port is not ours.
    app.any("/*", (res) => {
      res.writeStatus("404 Not Found").end("", true);
    });
    return new Promise((resolve, reject) => {
      listenExclusive(app, this.opts.host, this.opts.port, (ls) => {
        if (ls === false) {
          this.app = undefined;
          reject(new Error(`cannot listen on ${this.opts.host}:${this.opts.port}`));
          return;
        }
        this.listenSocket = ls;
        this.boundPort = uWS.us_socket_local_port(ls as unknown as uWS.us_socket);
        resolve(this.boundPort);
      });
    });
  }

  /** Connections held unanswered now (the tarpit). */
  get heldUpgrades(): number {
    return this.heldTimers.size;
  }

  /** Holds a refused upgrade unanswered for `TARPIT.holdMs` if the tarpit has room; false when it has none. */
  private hold(res: uWS.HttpResponse, source: string, refusal: UpgradeRefusal): boolean {
    const mine = this.heldBySource.get(source) ?? 0;
    if (this.heldTimers.size >= TARPIT.maxHeldUpgrades || mine >= TARPIT.maxHeldPerSource) return false;
    this.heldBySource.set(source, mine + 1);
    let done = false;
    const release = (): void => {
      done = true;
      this.heldTimers.delete(timer);
      const n = (this.heldBySource.get(source) ?? 1) - 1;
      if (n <= 0) this.heldBySource.delete(source);
      else this.heldBySource.set(source, n);
    };
    const timer = this.scheduler.setTimeout(() => {
      if (done) return;
      release();
      // Outside the handler: writes must be corked.
      res.cork(() => {
        res.writeStatus(refusal.status).writeHeader("Retry-After", String(refusal.retryAfterSec)).end(refusal.reason, true);
      });
    }, TARPIT.holdMs);
    this.heldTimers.add(timer);
    // The client gave up (or the server closed): the response must not be touched again.
    res.onAborted(() => {
      if (done) return;
      timer.cancel();
      release();
    });
    return true;
  }

  /** Stops accepting new connections (open sockets stay). */
  stopListening(): void {
    if (this.listenSocket !== undefined) {
      uWS.us_listen_socket_close(this.listenSocket);
      this.listenSocket = undefined;
    }
  }

  /** Forcefully closes whatever is still open and releases the app. */
  close(): void {
    this.stopListening();
    for (const t of this.heldTimers) t.cancel();
    this.heldTimers.clear();
    this.heldBySource.clear();
    for (const s of [...this.sockets]) s.terminate();
    this.sockets.clear();
    this.app?.close();
    this.app = undefined;
  }
}
