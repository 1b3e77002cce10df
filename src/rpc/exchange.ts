/**
 * One HTTP request/response on uWS, with the uWS rules enforced in one place:
 *
 * - a response is answered or aborted exactly once: `reply` is a no-op once the exchange is done, aborted, or the
 *   server stopped, so a late handler can never touch a dead `HttpResponse` (uWS throws if it is touched);
 * - `onAborted` is registered in the constructor, before any asynchronous work;
 * - every write happens inside `res.cork`, so status, headers and body leave in one syscall even after an `await`;
 * - bodies are copied out of uWS's reused ArrayBuffer chunk by chunk, and the size limit is enforced while they
 *   stream: the 413 is sent from inside the data callback that crosses the limit, and the connection is closed;
 * - body memory is claimed as it arrives, not as declared: the buffer starts at 16 KiB (or the declared length if
 *   smaller) and doubles, capped at the declared length, so a client that declares 1 MiB and sends 1 byte holds
 *   16 KiB of the shared budget, not 1 MiB. The server's sweep cuts bodies that arrive too slowly (`bodyReceived`,
 *   `startTick`).
 */
import type { HttpResponse } from "uWebSockets.js";
import { HttpError, errorBody, statusLine } from "./errors.js";
import type { RpcErrorCode } from "./errors.js";
import type { RpcMetrics } from "./metrics.js";
import type { SourceEntry } from "./sources.js";

/** What an exchange needs from its server. */
export interface ExchangeHost {
  readonly metrics: RpcMetrics;
  /** True once the server stopped: every response is closed, nothing may be written. */
  readonly stopped: boolean;
  /**
   * Claims an upload slot for this exchange's body (global and per-source caps); null when granted, else the code
   * to refuse the body with. A granted slot is given back with `endUpload`.
   */
  beginUpload(ex: Exchange): RpcErrorCode | null;
  endUpload(ex: Exchange): void;
  /** Claims `n` more bytes of body buffer (shared budget and the source's share); null when granted, else the code. */
  reserveBodyBytes(ex: Exchange, n: number): RpcErrorCode | null;
  releaseBodyBytes(ex: Exchange, n: number): void;
  /** Called once when the exchange is answered or aborted (the server stops tracking its deadline). */
  settled(ex: Exchange): void;
}

/** Thrown into a handler whose client went away (or whose body was refused): it only unwinds the handler. */
export class ExchangeClosed extends Error {
  constructor() {
    super("exchange closed");
  }
}

export interface ReplyOptions {
  contentType?: string;
  headers?: readonly (readonly [string, string])[];
  /** Close the connection after this response. */
  close?: boolean;
}

const JSON_TYPE = "application/json";
// Body buffers of unknown length (chunked uploads) start here and double up to the route's limit.
const INITIAL_BODY_BYTES = 16 * 1024;

export class Exchange {
  private state: "open" | "done" | "aborted" = "open";
  /** Route name for metrics; set by the router once the path matched. */
  route = "unknown";
  private reserved = 0;
  private bodyPending: boolean;
  private reading = false;
  private uploading = false;
  private received = 0;
  /** Server tick at which the request arrived (the minimum upload rate is measured from it). */
  startTick = 0;
  private onClosed: (() => void) | undefined;
  /** Server tick at which the request times out (see RpcServer's sweep). */
  deadline = Number.POSITIVE_INFINITY;

  /**
   * @param head a HEAD request: answered like GET without the body.
   * @param hasBody the request declared a body (Content-Length > 0 or Transfer-Encoding): until it has been read,
   *   an answer closes the connection, since the unread rest would otherwise be parsed as the next request.
   */
  constructor(
    private readonly res: HttpResponse,
    private readonly host: ExchangeHost,
    private readonly head: boolean,
    hasBody: boolean,
    /** Who sent the request (per-source accounting, see sources.ts). */
    readonly source: SourceEntry,
  ) {
    this.bodyPending = hasBody;
    res.onAborted(() => {
      if (this.state !== "open") return;
      this.state = "aborted";
      this.release();
      this.host.metrics.aborted.inc({ route: this.route });
      this.host.settled(this);
      this.onClosed?.();
    });
  }

  /** The body is being received (readBody called, last chunk not yet in). */
  get receiving(): boolean {
    return this.reading;
  }

  /** Body bytes received so far. */
  get bodyReceived(): number {
    return this.received;
  }

  /** Still waiting for its answer (not answered, not aborted, server running). */
  get open(): boolean {
    return this.state === "open" && !this.host.stopped;
  }

  /** Sends the response (text, or bytes for an application/octet-stream answer); ignored if no longer open. */
  reply(status: number, body: string | Uint8Array, opts: ReplyOptions = {}): void {
    if (!this.open) return;
    this.state = "done";
    this.release();
    this.host.settled(this);
    const close = opts.close === true || this.bodyPending;
    this.host.metrics.requests.inc({ route: this.route, status: String(status) });
    const res = this.res;
    res.cork(() => {
      res.writeStatus(statusLine(status));
      res.writeHeader("Content-Type", opts.contentType ?? JSON_TYPE);
      for (const [k, v] of opts.headers ?? []) res.writeHeader(k, v);
      if (this.head) res.endWithoutBody(Buffer.byteLength(body), close);
      else res.end(body, close);
    });
    this.onClosed?.();
  }

  json(status: number, doc: unknown, headers?: readonly (readonly [string, string])[]): void {
    this.reply(status, JSON.stringify(doc), headers === undefined ? {} : { headers });
  }

  /** The typed error response `{"error": {"code", "message"}}` (plus `extra` fields at the top level). */
  error(err: HttpError, headers?: readonly (readonly [string, string])[], extra?: Record<string, unknown>): void {
    const body = extra === undefined ? errorBody(err.code, err.message) : JSON.stringify({ error: { code: err.code, message: err.message }, ...extra });
    this.reply(err.status, body, headers === undefined ? {} : { headers });
  }

  /**
   * The request timed out: 408 REQUEST_TIMEOUT while its body is still arriving (slow upload), else 503 NODE_TIMEOUT
   * (the node did not answer). Closes the connection; a late answer from the handler is then a no-op.
   */
  expire(timeoutSec: number): void {
    if (!this.open) return;
    if (this.reading) {
      this.refuseBody("REQUEST_TIMEOUT", `the body did not arrive within ${timeoutSec} s`);
      return;
    }
    const err = new HttpError("NODE_TIMEOUT", `the node did not answer within ${timeoutSec} s`);
    this.reply(err.status, errorBody(err.code, err.message), { close: true, headers: [["Retry-After", "1"]] });
  }

  /** Refuses a request body: counts it and answers with the error, closing the connection. */
  refuseBody(code: RpcErrorCode, message: string, headers?: readonly (readonly [string, string])[]): void {
    this.host.metrics.rejectedBodies.inc({ code });
    const err = new HttpError(code, message);
    this.reply(err.status, errorBody(err.code, err.message), headers === undefined ? { close: true } : { close: true, headers });
  }

  /** The body arrived slower than the server's minimum rate: 408 UPLOAD_TOO_SLOW, connection closed, bytes released. */
  tooSlow(minBytesPerSec: number): void {
    if (!this.open || !this.reading) return;
    this.refuseBody("UPLOAD_TOO_SLOW", `the body arrived at under ${minBytesPerSec} bytes/s`);
  }

  /**
   * Reads the whole body, at most `limit` bytes. `declaredLength` is the Content-Length (undefined when chunked).
   * Over the limit, without an upload slot, or over the shared or per-source body budget, the refusal is sent at once
   * and the promise rejects with `ExchangeClosed`; it rejects the same way when the client aborts or the server cuts
   * a slow upload. Must be called synchronously in the handler (uWS wants `onData` attached before it returns).
   */
  readBody(limit: number, declaredLength: number | undefined): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      if (!this.open) {
        reject(new ExchangeClosed());
        return;
      }
      if (declaredLength !== undefined && declaredLength > limit) {
        this.refuseBody("BODY_TOO_LARGE", `body of ${declaredLength} bytes is over the limit of ${limit}`);
        reject(new ExchangeClosed());
        return;
      }
      const slot = this.host.beginUpload(this);
      if (slot !== null) {
        this.refuseBusy(slot);
        reject(new ExchangeClosed());
        return;
      }
      this.uploading = true;
      // Never more than the body can be: the declared length, else the route's limit.
      const cap = declaredLength ?? limit;
      let buf = new Uint8Array(0);
      let len = 0;
      let settled = false;
      this.reading = true;
      const fail = (): void => {
        if (settled) return;
        settled = true;
        this.reading = false;
        reject(new ExchangeClosed());
      };
      this.onClosed = fail;
      // Claims room for `need` bytes: doubling from INITIAL_BODY_BYTES, capped at `cap`, so what is held is at most
      // twice what arrived (or 16 KiB). Returns the refusal code when the budget says no.
      const grow = (need: number): RpcErrorCode | null => {
        if (need <= buf.length) return null;
        const size = Math.min(cap, Math.max(need, INITIAL_BODY_BYTES, buf.length * 2));
        const refused = this.host.reserveBodyBytes(this, size - buf.length);
        if (refused !== null) return refused;
        this.reserved += size - buf.length;
        const next = new Uint8Array(size);
        next.set(buf.subarray(0, len));
        buf = next;
        return null;
      };
      this.res.onData((chunk, isLast) => {
        if (settled || !this.open) return;
        const n = chunk.byteLength;
        if (len + n > limit) {
          this.refuseBody("BODY_TOO_LARGE", `body is over the limit of ${limit} bytes`);
          fail();
          return;
        }
        const refused = grow(len + n);
        if (refused !== null) {
          this.refuseBusy(refused);
          fail();
          return;
        }
        // uWS reuses (neuters) the chunk's memory when this callback returns: copy now.
        buf.set(new Uint8Array(chunk), len);
        len += n;
        this.received = len;
        if (isLast) {
          settled = true;
          this.reading = false;
          this.bodyPending = false;
          this.onClosed = undefined;
          this.endUpload();
          resolve(buf.subarray(0, len));
        }
      });
    });
  }

  /** A body refused for want of a slot or budget: SERVER_BUSY (all uploads) or TOO_MANY_UPLOADS (this source's). */
  private refuseBusy(code: RpcErrorCode): void {
    const why = code === "SERVER_BUSY" ? "too many request bodies in flight" : "this address has its maximum of uploads or body bytes in flight";
    this.refuseBody(code, `${why}; retry shortly`, [["Retry-After", "1"]]);
  }

  private endUpload(): void {
    if (this.uploading) {
      this.uploading = false;
      this.host.endUpload(this);
    }
  }

  private release(): void {
    this.endUpload();
    if (this.reserved > 0) {
      this.host.releaseBodyBytes(this, this.reserved);
      this.reserved = 0;
    }
  }
}
