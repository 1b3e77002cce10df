/**
 * The node's HTTP + WebSocket API on uWebSockets.js (its own port). Routes, JSON documents and error codes are
 * documented in src/rpc/README.md; the documents themselves live in json.ts, the error codes in errors.ts.
 *
 * Robustness: every handler runs inside one wrapper, so an exception (or rejection) from a handler or from the node
 * API becomes a 500 `INTERNAL` response, a log line and a count in `quire_rpc_handler_errors_total`, never an
 * unhandled rejection. Requests are parsed with explicit limits (path length, body size per route, bodies in flight
 * across connections, transactions per batch) and refused with a typed 4xx/503 before any work is done. Every
 * request is also charged to its source (client IP, IPv6 /64; sources.ts): a request budget per second, upload slots,
 * body bytes and stream subscriptions, each a bounded share of the global cap.
 */
import * as uWS from "uWebSockets.js";
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, us_socket } from "uWebSockets.js";
import { listenExclusive } from "../net/link/uwsServer.js";
import { SILENT_LOGGER } from "./api.js";
import type { BlockSummary, GeoApi, NodeApi, RpcLogger, BatchSubmitResult } from "./api.js";
import { HttpError, RpcConfigError, RpcListenError } from "./errors.js";
import { Exchange, ExchangeClosed } from "./exchange.js";
import type { ExchangeHost } from "./exchange.js";
import { accountJson, blockJson, blocksJson, consensusJson, epochsJson, healthJson, kvJson, paraCommitJson, paraStatusJson, peersJson, proofJson, receiptJson, statusJson, supplyJson, txStatusJson, validatorsJson, xshardTransferJson } from "./json.js";
import type { SubmitItemJson } from "./json.js";
import { createRpcMetrics } from "./metrics.js";
import type { RpcMetrics } from "./metrics.js";
import { DEFAULT_MAX_RANGE_BLOCKS, contentLength, mediaType, parseHeight, parseIndex, parseKey, parsePublicKey, parseRange, parseTitle, parseTxId } from "./params.js";
import { BlockStream } from "./stream.js";
import { reservedForNewSources, SourceTable, sourceKey } from "./sources.js";
import type { SourceEntry } from "./sources.js";
import { DASHBOARD_INDEX, dashboardAsset, dashboardHeaders, notModified } from "./dashboardAssets.js";
import { encodeBlockBody } from "./blockBody.js";
import { MAX_TX_BYTES } from "../domain/limits.js";
import { fromHex, toHex } from "../util/bytes.js";
import { SystemScheduler } from "../util/clock.js";
import type { Scheduler, TimerHandle } from "../util/clock.js";

/** Request limits. Each is a positive integer; see DEFAULT_RPC_LIMITS for the defaults and their reasons. */
export interface RpcLimits {
  /** Largest body of `POST /v1/tx` (one raw transaction); larger is 413. Also the per-item limit of `/v1/txs`. */
  maxTxBytes: number;
  /** Largest body of `POST /v1/txs` (JSON, so about twice the transactions' size); larger is 413. */
  maxBatchBodyBytes: number;
  /** Most transactions in one `POST /v1/txs`. */
  maxBatchTxs: number;
  /** Largest body of `POST /v1/geo` (a geo message: a share of committed blocks with their proof). */
  maxGeoBodyBytes: number;
  /** Most heights one `GET /v1/blocks?from=H&to=H2` may ask for; more is 400 BAD_RANGE. */
  maxRangeBlocks: number;
  /** Longest request path (without the query string); longer is 414. uWS itself refuses headers over 4 KiB (431). */
  maxUrlBytes: number;
  /**
   * Request-body bytes held at once, over all connections (claimed as bodies arrive, see exchange.ts); a body that
   * would pass it is refused with 503 SERVER_BUSY.
   */
  maxPendingBodyBytes: number;
  /** One source's share of `maxPendingBodyBytes`; past it, 429 TOO_MANY_UPLOADS. */
  maxPendingBodyBytesPerSource: number;
  /** Request bodies being received at once, over all connections; past it, 503 SERVER_BUSY. */
  maxUploads: number;
  /** One source's share of `maxUploads`; past it, 429 TOO_MANY_UPLOADS. */
  maxUploadsPerSource: number;
  /**
   * Minimum upload rate, bytes per second, averaged from the request's arrival: a body still arriving after
   * `uploadGraceSec` that has averaged less is cut with 408 UPLOAD_TOO_SLOW and its bytes released.
   */
  minUploadBytesPerSec: number;
  uploadGraceSec: number;
  /** Requests (and stream upgrades) per second per source, and the bucket's depth; past it, 429 RATE_LIMITED. */
  requestsPerSecPerSource: number;
  requestBurstPerSource: number;
  /**
   * Block reads are charged by size: a request that made the node read a committed block (`GET /v1/blocks/:h`, each
   * height of a range, a proof whose tree was not cached) costs one more token per this many of its transactions.
   */
  txsPerToken: number;
  /** Sources tracked at once (the per-source table's bound; see sources.ts). */
  maxSources: number;
  /** Most `/v1/stream` subscribers; further upgrades get 503. */
  maxStreamSubscribers: number;
  /** One source's share of `maxStreamSubscribers`; past it, 429 TOO_MANY_STREAMS. */
  maxStreamSubscribersPerSource: number;
  /** A subscriber whose backlog exceeds this is disconnected (see stream.ts). */
  maxStreamBufferedBytes: number;
  /** uWS idle timeout of stream sockets, in seconds (0, or at least 8: uWS's granularity is 4 s). */
  streamIdleTimeoutSec: number;
  /**
   * Seconds from a request's headers to its answer (checked once a second, so up to one second more). A body still
   * arriving then is 408; a node that has not answered is 503 NODE_TIMEOUT. uWS has no such timer for requests
   * waiting on an answer, so without it a stuck node call would hold its connection forever.
   */
  requestTimeoutSec: number;
}

/**
 * Defaults. Bodies: one tx is at most the wire's MAX_TX_BYTES (a larger body can only be invalid); a 1 MiB batch
 * holds ~2,000 transactions of 256 bytes as hex, enough to keep a 4-node cluster's mempool fed in few requests.
 * 64 MiB of bodies in flight bounds what slow uploaders can pin. 256 subscribers with 1 MiB of backlog each bound
 * the stream at 256 MiB in the worst case; a healthy subscriber's backlog is one frame (< 1 KiB).
 *
 * Per source (issue 11; a source is an IPv4 address or an IPv6 /64, see sources.ts). Each share leaves most of its
 * global cap to others: 32 of 256 upload slots and of 256 subscribers (1/8), 16 MiB of the 64 MiB body budget (1/4:
 * a source's 32 slots could otherwise pin 32 MiB). So one source, however many connections it opens, leaves 7/8 of
 * the slots to everyone else. `quire load` keeps 4 requests in flight and `quire cluster` one subscriber, far below.
 * Rate: 5,000 requests a second per source with a burst of 10,000. The heaviest local client is `quire load`: its
 * submissions are tens of batch requests a second per node, but its final check asks every node `GET /v1/tx/:id`
 * for every tx, 16 in flight (measured ~1,000 GETs/s per node here; 10,000 txs fit in one burst). A first cut at
 * 1,000/s made that check fail with 429 (RpcClient now also retries a rate-limited GET after Retry-After). At
 * 5,000/s the proof-flood test's attacker (16 requests in flight per node, served from the tree cache) got ~1,200
 * answers/s per node, all 200, and the commit rate held at 94 %: the cache, not the bucket, is what protects proofs;
 * the bucket caps what any request can cost. A token is worth about 10-20 µs of the node's time: a cheap request
 * (`/v1/status` is ~12 µs in uWS) costs one; a request that made the node read a committed block costs one more per
 * 16 of its transactions (`txsPerToken`), because the node decodes the whole block to answer even a header: ~2 ms for
 * a 4,096-tx block measured here (256 tokens), so a 256-height range of such blocks (~0.5 s of node time) costs
 * 65,000 tokens and not 1. A proof whose tree was not cached is charged the same (the read plus ~3.5 ms of hashing for
 * 4,096 txs; a hit is well under 1 µs, `quire bench chain --filter proof`). So one source costs a node at most about
 * 5,000 x 20 µs = 10 % of a core, whatever it asks for. Minimum upload rate: 4 KiB/s after a 2 s grace
 * (measured from the request's arrival on the server's one-second tick): any body up to 8 KiB may take the whole
 * grace, a 64 KiB transaction may take 16 s; slower than a 32 kbit/s link is indistinguishable from a slot holder.
 * 16,384 sources tracked: far above the slots and subscribers that can hold an entry (512), idle ones forgotten.
 */
export const DEFAULT_RPC_LIMITS: Readonly<RpcLimits> = Object.freeze({
  maxTxBytes: MAX_TX_BYTES,
  maxBatchBodyBytes: 1024 * 1024,
  maxBatchTxs: 4096,
  maxGeoBodyBytes: 16 * 1024 * 1024,
  maxRangeBlocks: DEFAULT_MAX_RANGE_BLOCKS,
  maxUrlBytes: 2048,
  maxPendingBodyBytes: 64 * 1024 * 1024,
  maxPendingBodyBytesPerSource: 16 * 1024 * 1024,
  maxUploads: 256,
  maxUploadsPerSource: 32,
  minUploadBytesPerSec: 4096,
  uploadGraceSec: 2,
  requestsPerSecPerSource: 5000,
  requestBurstPerSource: 10_000,
  txsPerToken: 16,
  maxSources: 16_384,
  maxStreamSubscribers: 256,
  maxStreamSubscribersPerSource: 32,
  maxStreamBufferedBytes: 1024 * 1024,
  streamIdleTimeoutSec: 120,
  requestTimeoutSec: 30,
});

export interface RpcServerOptions {
  /** Address to bind, e.g. "127.0.0.1" (default) or "0.0.0.0". */
  host?: string;
  /** Port to bind; 0 (default) picks a free one, readable from `port` after `start()`. */
  port?: number;
  limits?: Partial<RpcLimits>;
}

export interface RpcServerModules {
  api: NodeApi;
  logger?: RpcLogger;
  /**
   * Where the server counts, and the registry `GET /metrics` renders: pass `createRpcMetrics(registry)` with the
   * registry the node's own series are on. Default: a fresh registry with only the `quire_rpc_*` series.
   */
  metrics?: RpcMetrics;
  /** Drives the request-timeout sweep (real timers by default; tests pass a ManualScheduler). */
  scheduler?: Scheduler;
}

/** Validates and completes limits; throws RpcConfigError naming the bad field. */
export function resolveRpcLimits(partial: Partial<RpcLimits> = {}): RpcLimits {
  const limits: RpcLimits = { ...DEFAULT_RPC_LIMITS };
  for (const [k, v] of Object.entries(partial) as [keyof RpcLimits, unknown][]) {
    if (!(k in DEFAULT_RPC_LIMITS)) throw new RpcConfigError(`limits.${k}`, "unknown limit");
    if (v === undefined) continue;
    const zeroOk = k === "streamIdleTimeoutSec";
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < (zeroOk ? 0 : 1)) throw new RpcConfigError(`limits.${k}`, `must be a ${zeroOk ? "non-negative" : "positive"} integer, got ${String(v)}`);
    limits[k] = v;
  }
  if (limits.streamIdleTimeoutSec !== 0 && limits.streamIdleTimeoutSec < 8) throw new RpcConfigError("limits.streamIdleTimeoutSec", "must be 0 (off) or at least 8 seconds");
  const largest = Math.max(limits.maxTxBytes, limits.maxBatchBodyBytes);
  if (limits.maxPendingBodyBytes < largest) throw new RpcConfigError("limits.maxPendingBodyBytes", `must be at least the largest body limit (${largest})`);
  // A share left at its default follows a smaller global cap down; one set explicitly above it is an error.
  const share = (part: keyof RpcLimits, whole: keyof RpcLimits): void => {
    if (limits[part] <= limits[whole]) return;
    if (partial[part] === undefined) limits[part] = limits[whole];
    else throw new RpcConfigError(`limits.${part}`, `must be at most ${whole} (${limits[whole]})`);
  };
  share("maxPendingBodyBytesPerSource", "maxPendingBodyBytes");
  share("maxUploadsPerSource", "maxUploads");
  share("maxStreamSubscribersPerSource", "maxStreamSubscribers");
  // A burst left at its default is two seconds of a raised rate.
  if (limits.requestsPerSecPerSource > limits.requestBurstPerSource) {
    if (partial.requestBurstPerSource !== undefined) throw new RpcConfigError("limits.requestBurstPerSource", "must be at least requestsPerSecPerSource");
    limits.requestBurstPerSource = 2 * limits.requestsPerSecPerSource;
  }
  // Entries that hold a slot or a subscription cannot be evicted: the table must have room beyond them (a default
  // table grows with raised caps).
  const holders = limits.maxUploads + limits.maxStreamSubscribers;
  if (limits.maxSources <= holders) {
    if (partial.maxSources !== undefined) throw new RpcConfigError("limits.maxSources", "must exceed maxUploads + maxStreamSubscribers");
    limits.maxSources = 2 * holders;
  }
  return limits;
}

/** Route names: the `route` label of the metrics. */
export type RouteName = "index" | "dashboard_asset" | "metrics" | "status" | "genesis" | "evidence" | "tx_submit" | "txs_submit" | "tx_status" | "tx_receipt" | "blocks" | "block" | "block_txids" | "block_body" | "commit_proof" | "proof" | "kv" | "account" | "supply" | "xshard_transfer" | "para_status" | "para_commit" | "health" | "peers" | "validators" | "epochs" | "config" | "consensus" | "stream" | "geo" | "geo_status" | "geo_rounds" | "unknown";

/** What a handler may read of the request (uWS's HttpRequest is only valid synchronously). */
interface RequestInfo {
  readonly contentType: string;
  readonly contentLength: number | undefined;
  /**
   * The submitter as the mempool's per-client fairness sees it: the request's source key (sources.ts: the IPv4
   * address, or the IPv6 /64 prefix, so one host cannot be many clients). POST routes only; "" elsewhere.
   */
  readonly clientId: string;
  /** The raw query string (after "?"; "" when none). Only `GET /v1/blocks` reads it. */
  readonly query: string;
  /** The `If-None-Match` header ("" when none). Only the dashboard's files read it (dashboardAssets.ts). */
  readonly ifNoneMatch: string;
}

type Handler = (ex: Exchange, params: readonly string[], req: RequestInfo) => void | Promise<void>;

interface Route {
  readonly name: RouteName;
  /** Path segments after the leading "/"; ":x" matches any one segment. */
  readonly pattern: readonly string[];
  readonly methods: Readonly<Record<string, Handler>>;
  readonly allow: string;
}

const SWEEP_INTERVAL_MS = 1000;

/** The RPC server. `start()` binds; `stop()` closes the listen socket and every HTTP and WebSocket connection. */
export class RpcServer {
  readonly limits: RpcLimits;
  readonly metrics: RpcMetrics;
  private readonly host: string;
  private readonly requestedPort: number;
  private readonly api: NodeApi;
  private readonly logger: RpcLogger;
  private readonly stream: BlockStream;
  private readonly routes: readonly Route[];
  private readonly exchangeHost: ExchangeHost;
  private app: TemplatedApp | undefined;
  private listenSocket: us_listen_socket | undefined;
  private unsubscribe: (() => void) | undefined;
  private boundPort = 0;
  private pendingBodyBytes = 0;
  private uploads = 0;
  private readonly sources: SourceTable;
  // Request deadlines: one timer ticks once a second and expires exchanges whose deadline tick has passed, so there is
  // no timer per request and no clock read on the request path.
  private readonly inFlight = new Set<Exchange>();
  private tick = 0;
  private readonly scheduler: Scheduler;
  private sweeper: TimerHandle | undefined;
  private state: "new" | "starting" | "running" | "stopped" = "new";

  constructor(opts: RpcServerOptions, modules: RpcServerModules) {
    this.host = opts.host ?? "127.0.0.1";
    const port = opts.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RpcConfigError("port", `must be an integer in [0, 65535], got ${String(port)}`);
    this.requestedPort = port;
    this.limits = resolveRpcLimits(opts.limits);
    this.api = modules.api;
    this.logger = modules.logger ?? SILENT_LOGGER;
    this.metrics = modules.metrics ?? createRpcMetrics();
    this.scheduler = modules.scheduler ?? new SystemScheduler();
    const l = this.limits;
    this.sources = new SourceTable({ requestsPerSec: l.requestsPerSecPerSource, burst: l.requestBurstPerSource, maxSources: l.maxSources });
    this.stream = new BlockStream(
      { maxSubscribers: l.maxStreamSubscribers, maxSubscribersPerSource: l.maxStreamSubscribersPerSource, maxBufferedBytes: l.maxStreamBufferedBytes, idleTimeoutSec: l.streamIdleTimeoutSec },
      this.metrics,
      this.logger,
      {
        source: (addr) => this.sources.get(sourceKey(addr), this.tick),
        admit: (src) => this.admit(src),
      },
    );
    const server = this;
    this.exchangeHost = {
      metrics: this.metrics,
      get stopped() {
        return server.state === "stopped";
      },
      beginUpload: (ex) => {
        if (this.uploads >= l.maxUploads) return "SERVER_BUSY";
        // The last eighth of the slots is kept for sources holding none (room for new sources, as in net/admission.ts).
        if (ex.source.uploads > 0 && this.uploads >= l.maxUploads - reservedForNewSources(l.maxUploads)) return "SERVER_BUSY";
        if (ex.source.uploads >= l.maxUploadsPerSource) {
          this.metrics.sourceRefused.inc({ limit: "uploads" });
          return "TOO_MANY_UPLOADS";
        }
        this.uploads++;
        ex.source.uploads++;
        this.metrics.uploads.set(this.uploads);
        return null;
      },
      endUpload: (ex) => {
        this.uploads--;
        ex.source.uploads--;
        this.metrics.uploads.set(this.uploads);
      },
      reserveBodyBytes: (ex, n) => {
        if (this.pendingBodyBytes + n > l.maxPendingBodyBytes) return "SERVER_BUSY";
        if (ex.source.uploadBytes + n > l.maxPendingBodyBytesPerSource) {
          this.metrics.sourceRefused.inc({ limit: "upload_bytes" });
          return "TOO_MANY_UPLOADS";
        }
        this.pendingBodyBytes += n;
        ex.source.uploadBytes += n;
        return null;
      },
      releaseBodyBytes: (ex, n) => {
        this.pendingBodyBytes -= n;
        ex.source.uploadBytes -= n;
      },
      settled: (ex) => {
        this.inFlight.delete(ex);
      },
    };
    this.routes = this.buildRoutes();
  }

  /** The bound port (after `start()`). */
  get port(): number {
    return this.boundPort;
  }

  /** `http://host:port` of the running server. */
  get url(): string {
    const h = this.host.includes(":") ? `[${this.host}]` : this.host;
    return `http://${h}:${this.boundPort}`;
  }

  /** Open `/v1/stream` subscriptions. */
  get streamSubscribers(): number {
    return this.stream.size;
  }

  /** Request-body bytes currently held (for tests: 0 when no upload is in progress). */
  get bodyBytesInFlight(): number {
    return this.pendingBodyBytes;
  }

  /** Request bodies being received. */
  get uploadsInFlight(): number {
    return this.uploads;
  }

  /** Binds and starts serving; resolves with the bound port. Rejects with RpcListenError if the address is taken. */
  start(): Promise<number> {
    if (this.state !== "new") return Promise.reject(new Error(`RpcServer.start: server is ${this.state}`));
    this.state = "starting";
    const app = uWS.App();
    this.app = app;
    app.ws("/v1/stream", this.stream.behavior());
    app.any("/*", (res, req) => this.onRequest(res, req));
    return new Promise<number>((resolve, reject) => {
      listenExclusive(app, this.host, this.requestedPort, (ls) => {
        if (ls === false) {
          this.state = "stopped";
          this.app = undefined;
          app.close();
          reject(new RpcListenError(this.host, this.requestedPort));
          return;
        }
        if (this.state === "stopped") {
          // stop() ran while binding: give the socket back at once.
          uWS.us_listen_socket_close(ls);
          app.close();
          reject(new Error("RpcServer stopped while starting"));
          return;
        }
        this.listenSocket = ls;
        this.boundPort = uWS.us_socket_local_port(ls as unknown as us_socket);
        this.state = "running";
        this.armSweep();
        this.unsubscribe = this.api.onCommittedHeader((block) => {
          try {
            this.stream.publish(block);
          } catch (e) {
            this.metrics.streamErrors.inc();
            this.logger.error("rpc stream: publish failed", { error: String(e) });
          }
        });
        resolve(this.boundPort);
      });
    });
  }

  /**
   * Stops: unsubscribes from the node, closes every stream subscriber (1001), the listen socket and every open
   * HTTP connection (in-flight requests are dropped unanswered). Afterwards the server holds no handle, so the
   * process can exit. Idempotent.
   */
  async stop(): Promise<void> {
    const was = this.state;
    this.state = "stopped";
    if (was !== "running") return;
    this.sweeper?.cancel();
    this.sweeper = undefined;
    this.inFlight.clear();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.stream.closeAll();
    if (this.listenSocket !== undefined) {
      uWS.us_listen_socket_close(this.listenSocket);
      this.listenSocket = undefined;
    }
    this.app?.close();
    this.app = undefined;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Dispatch

  private onRequest(res: HttpResponse, req: HttpRequest): void {
    // Everything from `req` is read here, synchronously: it is invalid once this function returns.
    const method = req.getMethod();
    const url = req.getUrl();
    const length = contentLength(req.getHeader("content-length"));
    const chunked = req.getHeader("transfer-encoding") !== "";
    const source = this.sources.get(sourceKey(res.getRemoteAddress()), this.tick);
    const info: RequestInfo = {
      contentType: req.getHeader("content-type"),
      contentLength: length,
      clientId: method === "post" ? source.key : "",
      query: req.getQuery() ?? "", // undefined when the URL has no "?", whatever the typings say
      ifNoneMatch: req.getHeader("if-none-match"),
    };
    const ex = new Exchange(res, this.exchangeHost, method === "head", chunked || (length !== undefined && length > 0), source);
    // +1: the next tick may come at any moment, so a request always gets at least the full timeout.
    ex.deadline = this.tick + this.limits.requestTimeoutSec + 1;
    ex.startTick = this.tick;
    this.inFlight.add(ex);
    const limited = this.admit(source);
    if (limited !== null) {
      ex.error(new HttpError("RATE_LIMITED", `over ${this.limits.requestsPerSecPerSource} requests per second from this address`), [["Retry-After", String(limited)]]);
      return;
    }
    try {
      const pending = this.dispatch(ex, method, url, info);
      if (pending !== undefined) pending.catch((e: unknown) => this.fail(ex, e));
    } catch (e) {
      this.fail(ex, e);
    }
  }

  private dispatch(ex: Exchange, method: string, url: string, info: RequestInfo): void | Promise<void> {
    if (url.length > this.limits.maxUrlBytes) throw new HttpError("URI_TOO_LONG", `request path is over ${this.limits.maxUrlBytes} bytes`);
    const match = this.match(url);
    if (match === undefined) throw new HttpError("NOT_FOUND", "no such route (see GET / for the list)");
    const [route, params] = match;
    ex.route = route.name;
    const key = method === "head" ? "get" : method;
    // Own properties only: a method named "constructor" or "__proto__" must not find Object.prototype's members.
    const handler = Object.hasOwn(route.methods, key) ? route.methods[key] : undefined;
    if (handler === undefined) {
      ex.error(new HttpError("METHOD_NOT_ALLOWED", `${method.toUpperCase()} is not allowed here; use ${route.allow}`), [["Allow", route.allow]]);
      return undefined;
    }
    return handler(ex, params, info);
  }

  private match(url: string): [Route, string[]] | undefined {
    if (!url.startsWith("/")) return undefined;
    const segs = url.slice(1).split("/");
    for (const r of this.routes) {
      if (r.pattern.length !== segs.length) continue;
      const params: string[] = [];
      let ok = true;
      for (let i = 0; i < segs.length; i++) {
        const p = r.pattern[i]!;
        if (p.startsWith(":")) params.push(segs[i]!);
        else if (p !== segs[i]) {
          ok = false;
          break;
        }
      }
      if (ok) return [r, params];
    }
    return undefined;
  }

  private armSweep(): void {
    this.sweeper = this.scheduler.setTimeout(() => {
      this.sweep();
      if (this.state === "running") this.armSweep();
    }, SWEEP_INTERVAL_MS);
  }

  /** Takes one request token of `source`: null when granted, else the Retry-After in seconds (counted as refused). */
  private admit(source: SourceEntry): number | null {
    if (this.sources.take(source, this.tick)) return null;
    this.metrics.sourceRefused.inc({ limit: "rate" });
    return this.sources.retryAfterSec(source);
  }

  private sweep(): void {
    this.tick++;
    this.sources.sweep(this.tick);
    this.metrics.sources.set(this.sources.size);
    const { minUploadBytesPerSec: minRate, uploadGraceSec: grace } = this.limits;
    for (const ex of this.inFlight) {
      // The minimum upload rate, over whole seconds since arrival: the request came up to a tick before startTick's
      // tick ended, so (tick - startTick - 1) never overstates how long it has been uploading.
      const secs = this.tick - ex.startTick - 1;
      if (ex.receiving && secs >= grace && ex.bodyReceived < minRate * secs) {
        this.inFlight.delete(ex);
        ex.tooSlow(minRate);
        continue;
      }
      if (ex.deadline > this.tick) continue;
      this.inFlight.delete(ex);
      this.metrics.timeouts.inc({ route: ex.route });
      try {
        ex.expire(this.limits.requestTimeoutSec);
      } catch (e) {
        this.fail(ex, e);
      }
    }
  }

  /** The single place a handler failure ends up. Never throws (it runs in promise callbacks and timers). */
  private fail(ex: Exchange, e: unknown): void {
    if (e instanceof ExchangeClosed) return; // the client left or its body was refused: already answered
    try {
      if (e instanceof HttpError) {
        ex.error(e);
        return;
      }
      this.metrics.handlerErrors.inc({ route: ex.route });
      this.logger.error("rpc: handler failed", { route: ex.route, error: describe(e) });
      ex.error(new HttpError("INTERNAL", "internal error (logged on the node)"));
    } catch (again) {
      // Only a broken invariant gets here (uWS refusing a write the exchange believed legal): log, never rethrow.
      this.metrics.handlerErrors.inc({ route: ex.route });
      this.logger.error("rpc: cannot answer a failed request", { route: ex.route, error: describe(again) });
    }
  }

  private buildRoutes(): Route[] {
    const route = (name: RouteName, path: string, methods: Record<string, Handler>): Route => ({
      name,
      pattern: path === "/" ? [""] : path.slice(1).split("/"),
      methods,
      allow: Object.keys(methods)
        .flatMap((m) => (m === "get" ? ["GET", "HEAD"] : [m.toUpperCase()]))
        .join(", "),
    });
    return [
      route("index", "/", { get: (ex, _p, req) => this.getDashboardFile(ex, DASHBOARD_INDEX, req) }),
      route("dashboard_asset", "/dashboard/:file", { get: (ex, p, req) => this.getDashboardFile(ex, p[0]!, req) }),
      route("metrics", "/metrics", { get: (ex) => this.getMetrics(ex) }),
      route("status", "/v1/status", { get: (ex) => this.getStatus(ex) }),
      route("genesis", "/v1/genesis", { get: (ex) => this.getGenesis(ex) }),
      route("evidence", "/v1/evidence", { get: async (ex) => ex.json(200, await this.api.evidence()) }),
      route("tx_submit", "/v1/tx", { post: (ex, _p, req) => this.postTx(ex, req) }),
      route("txs_submit", "/v1/txs", { post: (ex, _p, req) => this.postTxs(ex, req) }),
      route("tx_status", "/v1/tx/:id", { get: (ex, p) => this.getTx(ex, p[0]!) }),
      route("tx_receipt", "/v1/tx/:id/receipt", { get: (ex, p) => this.getTxReceipt(ex, p[0]!) }),
      route("blocks", "/v1/blocks", { get: (ex, _p, req) => this.getBlocks(ex, req) }),
      route("block", "/v1/blocks/:height", { get: (ex, p) => this.getBlock(ex, p[0]!) }),
      route("block_txids", "/v1/blocks/:height/txids", { get: (ex, p) => this.getBlockTxIds(ex, p[0]!) }),
      route("block_body", "/v1/blocks/:height/body", { get: (ex, p) => this.getBlockBody(ex, p[0]!) }),
      route("commit_proof", "/v1/blocks/:height/commit-proof", { get: (ex, p) => this.getCommitProof(ex, p[0]!) }),
      route("proof", "/v1/blocks/:height/proof/:index", { get: (ex, p) => this.getProof(ex, p[0]!, p[1]!) }),
      route("kv", "/v1/kv/:key", { get: (ex, p) => this.getKv(ex, p[0]!) }),
      // "status" is matched before ":height" (routes match in order; a height is decimal, so the two never overlap).
      route("para_status", "/v1/para/:title/status", { get: (ex, p) => this.getParaStatus(ex, p[0]!) }),
      route("para_commit", "/v1/para/:title/:height", { get: (ex, p) => this.getParaCommit(ex, p[0]!, p[1]!) }),
      route("account", "/v1/accounts/:pubkey", { get: (ex, p) => this.getAccount(ex, p[0]!) }),
      route("supply", "/v1/supply", { get: (ex) => this.getSupply(ex) }),
      route("xshard_transfer", "/v1/xshard/:xid", { get: (ex, p) => this.getXShardTransfer(ex, p[0]!) }),
      // Operator routes: what monitoring polls (README "Operator routes").
      route("health", "/v1/health", { get: (ex) => this.getHealth(ex) }),
      route("peers", "/v1/peers", { get: async (ex) => ex.json(200, peersJson(await this.api.peers())) }),
      route("validators", "/v1/validators", { get: async (ex) => ex.json(200, validatorsJson(await this.api.validators())) }),
      route("epochs", "/v1/epochs", { get: async (ex) => ex.json(200, epochsJson(await this.api.epochs())) }),
      route("config", "/v1/config", { get: async (ex) => ex.json(200, await this.api.effectiveConfig()) }),
      route("consensus", "/v1/consensus", { get: (ex) => this.getConsensus(ex) }),
      // Geo clusters (src/node/geo): messages between clusters' nodes, and the global order.
      route("geo", "/v1/geo", { post: (ex, _p, req) => this.postGeo(ex, req) }),
      route("geo_status", "/v1/geo/status", { get: (ex) => ex.json(200, this.geoApi().status()) }),
      route("geo_rounds", "/v1/geo/rounds", { get: (ex, _p, req) => this.getGeoRounds(ex, req) }),
      // Upgrades are caught by the WebSocket route; a plain GET lands here.
      route("stream", "/v1/stream", {
        get: (ex) => ex.error(new HttpError("UPGRADE_REQUIRED", "this is a WebSocket endpoint"), [["Upgrade", "websocket"]]),
      }),
    ];
  }

  // -------------------------------------------------------------------------------------------------------------
  // Handlers. Each may throw HttpError (→ its typed response) or anything else (→ 500 INTERNAL).

  /** The live dashboard's static files (dashboardAssets.ts): `GET /` is its index.html. */
  private getDashboardFile(ex: Exchange, name: string, req: RequestInfo): void {
    const a = dashboardAsset(name);
    if (a === undefined) throw new HttpError("NOT_FOUND", `no dashboard file ${JSON.stringify(name)}`);
    const headers = dashboardHeaders(a);
    if (notModified(req.ifNoneMatch, a)) ex.reply(304, "", { contentType: a.contentType, headers });
    else ex.reply(200, a.body, { contentType: a.contentType, headers });
  }

  private async getMetrics(ex: Exchange): Promise<void> {
    // A collector that throws or rejects (a node gauge reading a closed store) makes this a 500 like any handler.
    const registry = this.metrics.registry;
    ex.reply(200, await registry.metrics(), { contentType: registry.contentType });
  }

  private async getStatus(ex: Exchange): Promise<void> {
    ex.json(200, statusJson(await this.api.status()));
  }

  /**
   * `GET /v1/health`: 200 with the health document when the node is healthy; otherwise 503 NODE_UNHEALTHY whose body
   * carries the typed error and, beside it, the same document (`ok: false`, `reason`, `detail`, the figures), so a
   * probe that only reads the status and one that reads the reason both work.
   */
  private async getHealth(ex: Exchange): Promise<void> {
    const h = healthJson(await this.api.health());
    if (h.ok) ex.json(200, h);
    else ex.error(new HttpError("NODE_UNHEALTHY", `${h.reason ?? "UNHEALTHY"}: ${h.detail ?? "not healthy"}`), undefined, { ...h });
  }

  private async getConsensus(ex: Exchange): Promise<void> {
    const c = await this.api.consensus();
    if (c === null) throw new HttpError("NO_CONSENSUS", "this node runs no consensus of its own (a para node follows its main chain)");
    ex.json(200, consensusJson(c));
  }

  private async getGenesis(ex: Exchange): Promise<void> {
    ex.reply(200, await this.api.genesisDocument());
  }

  /** `GET /v1/blocks?from=H&to=H2`: the committed blocks of the range, stopping at the head (possibly none). */
  private geoApi(): GeoApi {
    const g = this.api.geo;
    if (g === undefined) throw new HttpError("NO_GEO", "this node is not a geo cluster's");
    return g;
  }

  /**
   * `POST /v1/geo`: one geo message (node/geo/messages.ts) as application/octet-stream, at most `maxGeoBodyBytes`.
   * 200 with the reply's bytes (a pull's answer), else 204. The bytes prove themselves (commit proofs, signatures):
   * the sender is not trusted, and a malformed or forged message costs it nothing but is counted and dropped.
   */
  private async postGeo(ex: Exchange, req: RequestInfo): Promise<void> {
    const geo = this.geoApi();
    if (mediaType(req.contentType) !== "application/octet-stream") {
      ex.refuseBody("UNSUPPORTED_MEDIA_TYPE", "POST /v1/geo takes a geo message as application/octet-stream");
      return;
    }
    const body = await ex.readBody(this.limits.maxGeoBodyBytes, req.contentLength);
    const reply = geo.receive(body);
    if (reply === null) ex.reply(204, "");
    else ex.reply(200, reply, { contentType: "application/octet-stream" });
  }

  /** `GET /v1/geo/rounds?from=R&to=R2`: executed rounds, at most `maxRangeBlocks` of them. */
  private getGeoRounds(ex: Exchange, req: RequestInfo): void {
    const geo = this.geoApi();
    const { from, to } = parseRange(req.query, this.limits.maxRangeBlocks);
    ex.json(200, {
      rounds: geo.roundRange(from, to).map((r) => ({
        round: r.round,
        stateRoot: toHex(r.stateRoot),
        blocks: r.blocks.map((b) => ({ cluster: b.cluster, height: b.height, hash: toHex(b.hash), txCount: b.txCount, failed: [...b.failed] })),
      })),
    });
  }

  private async getBlocks(ex: Exchange, req: RequestInfo): Promise<void> {
    const { from, to } = parseRange(req.query, this.limits.maxRangeBlocks);
    const blocks: BlockSummary[] = [];
    for (let h = from; h <= to; h++) {
      const b = await this.api.block(h);
      if (b === null) break;
      blocks.push(b);
    }
    this.chargeBlockRead(ex, blocks.reduce((n, b) => n + b.txCount, 0));
    ex.json(200, blocksJson(blocks));
  }

  /** Charges the request's source for the node having read blocks of `txs` transactions (see `txsPerToken`). */
  private chargeBlockRead(ex: Exchange, txs: number): void {
    const cost = Math.floor(txs / this.limits.txsPerToken);
    if (cost > 0) this.sources.charge(ex.source, cost, this.tick);
  }

  private async getTx(ex: Exchange, idParam: string): Promise<void> {
    const id = parseTxId(idParam);
    const s = await this.api.txStatus(id);
    if (s === null) throw new HttpError("TX_NOT_FOUND", `transaction ${toHex(id)} is not known to this node`);
    ex.json(200, txStatusJson(id, s));
  }

  /**
   * `GET /v1/tx/:id/receipt`: composed of the reads the other routes serve (tx location, block body, inclusion proof,
   * commit proof), so a receipt is exactly those documents together. Charged like reading the block and the proof.
   */
  private async getTxReceipt(ex: Exchange, idParam: string): Promise<void> {
    const id = parseTxId(idParam);
    const s = await this.api.txStatus(id);
    if (s === null) throw new HttpError("TX_NOT_FOUND", `transaction ${toHex(id)} is not known to this node`);
    const unavailable = (why: string) => new HttpError("RECEIPT_UNAVAILABLE", `no receipt for ${toHex(id)} yet: ${why}`);
    if (s.status !== "committed") throw unavailable("it is pending");
    if (s.ok === null) throw unavailable(`block ${s.height} is not executed yet`);
    const blocks = await this.api.commitProof?.(s.height);
    if (blocks === undefined || blocks === null) throw unavailable(`no consecutive-view pair is committed at or above height ${s.height}`);
    const body = await this.api.blockBody(s.height);
    const tx = body?.txs[s.index];
    const p = await this.api.proof(s.height, s.index);
    // Both were committed a moment ago: a miss is a store that lost a block, which the route reports as a bug.
    if (tx === undefined || p.kind !== "ok") throw new Error(`block ${s.height} lost tx ${s.index} between reads`);
    this.chargeBlockRead(ex, body!.txs.length + blocks.length);
    ex.json(200, receiptJson({ id, height: s.height, index: s.index, tx, failed: !s.ok, inclusion: p.proof, blocks }));
  }

  private async getBlock(ex: Exchange, heightParam: string): Promise<void> {
    const height = parseHeight(heightParam, true);
    const b = await this.api.block(height);
    if (b === null) throw new HttpError("BLOCK_NOT_FOUND", height === "latest" ? "no block committed yet" : `no committed block at height ${height}`);
    this.chargeBlockRead(ex, b.txCount);
    ex.json(200, blockJson(b));
  }

  /** `GET /v1/blocks/:height/txids`: the block's tx ids, 32 bytes each in block order, as application/octet-stream. */
  private async getBlockTxIds(ex: Exchange, heightParam: string): Promise<void> {
    const height = parseHeight(heightParam, false) as number;
    const ids = await this.api.blockTxIds(height);
    if (ids === null) throw new HttpError("BLOCK_NOT_FOUND", `no committed block at height ${height}`);
    // Charged double a block read: the node decodes the block and hashes every tx again to answer (≈ 1 µs/tx).
    this.chargeBlockRead(ex, ids.length / 16);
    ex.reply(200, ids, { contentType: "application/octet-stream" });
  }

  /** `GET /v1/blocks/:height/body`: the block's results and txs (blockBody.ts), as application/octet-stream. */
  private async getBlockBody(ex: Exchange, heightParam: string): Promise<void> {
    const height = parseHeight(heightParam, false) as number;
    const body = await this.api.blockBody(height);
    if (body === null) throw new HttpError("BLOCK_NOT_FOUND", `no committed block at height ${height}`);
    this.chargeBlockRead(ex, body.txs.length);
    ex.reply(200, encodeBlockBody(body), { contentType: "application/octet-stream" });
  }

  /** `GET /v1/blocks/:height/commit-proof`: `{"blocks": [...]}`, the blocks h..k+1 with their QCs. */
  private async getCommitProof(ex: Exchange, heightParam: string): Promise<void> {
    const height = parseHeight(heightParam, false) as number;
    const blocks = await this.api.commitProof?.(height);
    if (blocks === undefined || blocks === null) throw new HttpError("COMMIT_PROOF_UNAVAILABLE", `no commit proof for height ${height} (not committed, or no consecutive-view pair committed above it yet)`);
    this.chargeBlockRead(ex, blocks.length);
    ex.json(200, blocksJson(blocks));
  }

  private async getProof(ex: Exchange, heightParam: string, indexParam: string): Promise<void> {
    const height = parseHeight(heightParam, false) as number;
    const index = parseIndex(indexParam);
    const r = await this.api.proof(height, index);
    switch (r.kind) {
      case "ok":
        if (r.cached === false) this.chargeBlockRead(ex, r.proof.treeSize);
        ex.json(200, proofJson(r.proof));
        return;
      case "noBlock":
        throw new HttpError("BLOCK_NOT_FOUND", `no committed block at height ${height}`);
      case "noTx":
        throw new HttpError("TX_INDEX_OUT_OF_RANGE", `block ${height} has ${r.txCount} transactions; index ${index} is out of range`);
    }
  }

  private async getKv(ex: Exchange, keyParam: string): Promise<void> {
    const key = parseKey(keyParam);
    const value = await this.api.kv(key);
    if (value === null) throw new HttpError("KEY_NOT_FOUND", "key is absent from the committed state");
    ex.json(200, kvJson(key, value));
  }

  private async getParaStatus(ex: Exchange, titleParam: string): Promise<void> {
    const title = parseTitle(titleParam);
    const s = await this.api.paraStatus?.(title);
    if (s === undefined || s === null) throw new HttpError("PARA_NOT_FOUND", `no para chain titled ${JSON.stringify(title)} is registered here`);
    ex.json(200, paraStatusJson(s));
  }

  private async getParaCommit(ex: Exchange, titleParam: string, heightParam: string): Promise<void> {
    const title = parseTitle(titleParam);
    const height = parseHeight(heightParam, false) as number;
    const c = await this.api.paraCommit?.(title, height);
    if (c === undefined || c === null) {
      // Which 404: ask for the title only on this (rarer) path.
      if ((await this.api.paraStatus?.(title)) == null) throw new HttpError("PARA_NOT_FOUND", `no para chain titled ${JSON.stringify(title)} is registered here`);
      throw new HttpError("COMMIT_NOT_DONE", `para height ${height} of ${JSON.stringify(title)} is not done`);
    }
    ex.json(200, paraCommitJson(c));
  }

  /** `GET /v1/accounts/:pubkey`: balance and next nonce (zeros for an account never credited). */
  private async getAccount(ex: Exchange, keyParam: string): Promise<void> {
    const publicKey = parsePublicKey(keyParam);
    const a = await this.api.account(publicKey);
    if (a === null) throw new HttpError("NO_ACCOUNTS", "this chain runs no accounts module");
    ex.json(200, accountJson(a));
  }

  /** `GET /v1/xshard/:xid`: a cross-shard transfer's status on this shard (nulls when this shard has seen nothing of it). */
  private async getXShardTransfer(ex: Exchange, idParam: string): Promise<void> {
    const xid = parseTxId(idParam);
    const t = await this.api.xshardTransfer?.(xid);
    if (t === undefined || t === null) throw new HttpError("NO_XSHARD", "this chain is not a shard of a sharded network");
    ex.json(200, xshardTransferJson(t));
  }

  /** `GET /v1/supply`: Σ balances on this chain and each registered para chain's escrow. */
  private async getSupply(ex: Exchange): Promise<void> {
    const s = await this.api.supply();
    if (s === null) throw new HttpError("NO_ACCOUNTS", "this chain runs no accounts module");
    ex.json(200, supplyJson(s));
  }

  /**
   * `POST /v1/tx`: the body is the raw transaction. 202 `{"id", "duplicate": false}` when admitted; 200 `{"id",
   * "duplicate": true}` when already pending or committed (nothing changed; a retry is always safe); 503 with
   * Retry-After when the mempool is full; 400 TX_INVALID with the application's reason.
   */
  private async postTx(ex: Exchange, req: RequestInfo): Promise<void> {
    if (mediaType(req.contentType) !== "application/octet-stream") {
      ex.refuseBody("UNSUPPORTED_MEDIA_TYPE", "POST /v1/tx takes the raw transaction as application/octet-stream");
      return;
    }
    const tx = await ex.readBody(this.limits.maxTxBytes, req.contentLength);
    if (tx.length === 0) {
      this.metrics.rejectedBodies.inc({ code: "EMPTY_TX" });
      throw new HttpError("EMPTY_TX", "the transaction is empty");
    }
    const r = await this.api.submitTx(tx, req.clientId);
    // Acknowledged means durable: no 202/200 before the node journaled the tx (a rejection answers 500).
    if ((r.kind === "accepted" || r.kind === "duplicate") && r.durable !== undefined) await r.durable;
    this.metrics.txs.inc({ outcome: r.kind });
    switch (r.kind) {
      case "accepted":
        ex.json(202, { id: toHex(r.id), duplicate: false });
        return;
      case "duplicate":
        ex.json(200, { id: toHex(r.id), duplicate: true });
        return;
      case "full":
        ex.error(new HttpError("MEMPOOL_FULL", `${r.reason ?? "mempool full"}; retry after ${retryAfter(r.retryAfterSec)} s`), [["Retry-After", String(retryAfter(r.retryAfterSec))]]);
        return;
      case "invalid":
        ex.error(new HttpError("TX_INVALID", invalidReason(r)));
        return;
    }
  }

  /**
   * `POST /v1/txs` with `{"txs": [hex, ...]}`. Semantics:
   *
   * 1. The request is checked as a whole first: JSON, shape, hex, sizes and count. Any failure there is a 400 for
   *    the whole request and nothing is submitted.
   * 2. Transactions are then offered one by one, in order. An invalid one is reported and the rest continue. On the
   *    first "full" the remaining ones are not offered (`skipped`); on a node failure the rest are `skipped` too.
   * 3. The body always lists every item's outcome (`results`, and `ids` with null where not admitted), so an
   *    admitted transaction is never hidden behind an error status. Status: 202 when every item was accepted or a
   *    duplicate; otherwise 500 INTERNAL if the node failed, else 503 MEMPOOL_FULL (with Retry-After) if the pool
   *    filled, else 400 TX_INVALID. Re-sending the whole batch is always safe: admitted items come back `duplicate`.
   */
  private async postTxs(ex: Exchange, req: RequestInfo): Promise<void> {
    const media = mediaType(req.contentType);
    if (media !== "application/json" && media !== "application/octet-stream") {
      ex.refuseBody("UNSUPPORTED_MEDIA_TYPE", 'POST /v1/txs takes {"txs": [hex, ...]} as application/json, or length-prefixed transactions as application/octet-stream');
      return;
    }
    const body = await ex.readBody(this.limits.maxBatchBodyBytes, req.contentLength);
    let txs: Uint8Array[];
    try {
      txs = media === "application/json" ? this.parseBatch(body) : this.parseBinaryBatch(body);
    } catch (e) {
      if (e instanceof HttpError) this.metrics.rejectedBodies.inc({ code: e.code });
      throw e;
    }
    const results: SubmitItemJson[] = [];
    let full = 0;
    let invalid = 0;
    let failed: unknown = undefined;
    // Admission item by item, durability once for the batch (one group write): see SubmitResult.durable.
    const durable: Promise<void>[] = [];
    // A node that hands the batch on whole (a follower) answers it at once; a typed refusal passes through.
    const whole = this.api.submitTxs === undefined ? null : await this.api.submitTxs(txs, req.clientId);
    for (let i = 0; i < txs.length; i++) {
      if (full > 0 || failed !== undefined) {
        results.push({ status: "skipped" });
        continue;
      }
      let r: BatchSubmitResult;
      try {
        r = whole !== null ? whole[i]! : await this.api.submitTx(txs[i]!, req.clientId);
      } catch (e) {
        // A typed refusal (a para node takes no txs) is the node's answer to the whole batch, not a failure.
        if (e instanceof HttpError) throw e;
        failed = e;
        results.push({ status: "error" });
        continue;
      }
      if (r.kind === "skipped") {
        results.push({ status: "skipped" });
        continue;
      }
      if (r.kind === "error") {
        failed = new Error(`the validator this batch was forwarded to failed on item ${i}`);
        results.push({ status: "error" });
        continue;
      }
      this.metrics.txs.inc({ outcome: r.kind });
      switch (r.kind) {
        case "accepted":
        case "duplicate":
          results.push({ status: r.kind, id: toHex(r.id) });
          if (r.durable !== undefined) durable.push(r.durable);
          break;
        case "invalid":
          invalid++;
          results.push({ status: "invalid", reason: invalidReason(r) });
          break;
        case "full":
          full = retryAfter(r.retryAfterSec);
          results.push({ status: "full", retryAfterSec: full });
          break;
      }
    }
    try {
      await Promise.all(durable);
    } catch (e) {
      // Not journaled: nothing of this batch may be reported as admitted.
      failed ??= e;
      for (let i = 0; i < results.length; i++) if (results[i]!.status === "accepted" || results[i]!.status === "duplicate") results[i] = { status: "error" };
    }
    const ids = results.map((r) => (r.status === "accepted" || r.status === "duplicate" ? r.id : null));
    const admitted = ids.filter((id) => id !== null).length;
    if (failed !== undefined) {
      this.metrics.handlerErrors.inc({ route: ex.route });
      this.logger.error("rpc: submitTx failed inside a batch", { error: describe(failed) });
      ex.error(new HttpError("INTERNAL", `internal error (logged on the node); ${admitted} of ${txs.length} transactions admitted`), undefined, { ids, results });
    } else if (full > 0) {
      ex.error(new HttpError("MEMPOOL_FULL", `mempool full: ${admitted} of ${txs.length} transactions admitted; retry the rest after ${full} s`), [["Retry-After", String(full)]], { ids, results });
    } else if (invalid > 0) {
      ex.error(new HttpError("TX_INVALID", `${invalid} of ${txs.length} transactions are invalid; ${admitted} admitted`), undefined, { ids, results });
    } else {
      ex.json(202, { ids, results });
    }
  }

  /**
   * The binary batch: transactions back to back, each as `length u32 big-endian ‖ bytes`, nothing before, between or
   * after (so a load generator does not pay for hex and JSON, nor the node for parsing them). Checked like the JSON
   * form, whole, before anything is submitted. Each tx is copied out of the body: the mempool keeps what it admits,
   * and a view would keep the whole body alive for one pending tx.
   */
  private parseBinaryBatch(body: Uint8Array): Uint8Array[] {
    if (body.length === 0) throw new HttpError("EMPTY_BATCH", "the body holds no transaction");
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const txs: Uint8Array[] = [];
    let off = 0;
    while (off < body.length) {
      if (txs.length === this.limits.maxBatchTxs) throw new HttpError("TOO_MANY_TXS", `more than ${this.limits.maxBatchTxs} transactions; at most ${this.limits.maxBatchTxs} per request`);
      if (body.length - off < 4) throw new HttpError("BAD_BODY", `transaction ${txs.length}: a length prefix needs 4 bytes, ${body.length - off} left`);
      const len = view.getUint32(off);
      off += 4;
      if (len === 0) throw new HttpError("EMPTY_TX", `transaction ${txs.length} is empty`);
      if (len > this.limits.maxTxBytes) throw new HttpError("TX_TOO_LARGE", `transaction ${txs.length} is over ${this.limits.maxTxBytes} bytes`);
      if (len > body.length - off) throw new HttpError("BAD_BODY", `transaction ${txs.length}: ${len} bytes announced, ${body.length - off} left`);
      txs.push(body.slice(off, off + len));
      off += len;
    }
    return txs;
  }

  private parseBatch(body: Uint8Array): Uint8Array[] {
    let doc: unknown;
    try {
      doc = JSON.parse(strictUtf8.decode(body));
    } catch (e) {
      throw new HttpError("BAD_JSON", `body is not UTF-8 JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new HttpError("BAD_BODY", 'body must be an object {"txs": [hex, ...]}');
    const list = (doc as Record<string, unknown>)["txs"];
    if (!Array.isArray(list)) throw new HttpError("BAD_BODY", '"txs" must be an array of hex strings');
    if (list.length === 0) throw new HttpError("EMPTY_BATCH", '"txs" is empty');
    if (list.length > this.limits.maxBatchTxs) throw new HttpError("TOO_MANY_TXS", `${list.length} transactions; at most ${this.limits.maxBatchTxs} per request`);
    const txs: Uint8Array[] = [];
    for (let i = 0; i < list.length; i++) {
      const item: unknown = list[i];
      if (typeof item !== "string") throw new HttpError("BAD_BODY", `txs[${i}] must be a hex string`);
      if (item.length > 2 * this.limits.maxTxBytes + 2) throw new HttpError("TX_TOO_LARGE", `txs[${i}] is over ${this.limits.maxTxBytes} bytes`);
      let tx: Uint8Array;
      try {
        tx = fromHex(item);
      } catch (e) {
        throw new HttpError("BAD_HEX", `txs[${i}]: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (tx.length === 0) throw new HttpError("EMPTY_TX", `txs[${i}] is empty`);
      if (tx.length > this.limits.maxTxBytes) throw new HttpError("TX_TOO_LARGE", `txs[${i}] is over ${this.limits.maxTxBytes} bytes`);
      txs.push(tx);
    }
    return txs;
  }
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function describe(e: unknown): string {
  return e instanceof Error ? (e.stack ?? e.message) : String(e);
}

function invalidReason(r: { reason: string; code?: string }): string {
  return r.code === undefined ? r.reason : `${r.code}: ${r.reason}`;
}

/** Retry-After in whole seconds, at least 1 (a 0 would invite a hot retry loop). */
function retryAfter(sec: number): number {
  return Number.isFinite(sec) && sec > 1 ? Math.ceil(sec) : 1;
}
