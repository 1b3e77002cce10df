/**
 * The RPC server's own series (`quire_rpc_*`), as prom-client handles on a registry. `GET /metrics` renders that
 * registry; the node registers its own series on the same one (src/node/metrics.ts), so one scrape has both.
 */
import { Counter, Gauge, Registry } from "prom-client";

/** Registers every `quire_rpc_*` series on `registry` (a fresh one by default) and returns their handles. */
export function createRpcMetrics(registry: Registry = new Registry()) {
  const registers = [registry];
  return {
    /** What `GET /metrics` renders. */
    registry,
    /** Responses sent, by route name (see RouteName) and HTTP status. */
    requests: new Counter<"route" | "status">({ name: "quire_rpc_requests_total", help: "HTTP responses sent, by route and status.", labelNames: ["route", "status"], registers }),
    /** Requests whose client went away before the answer. */
    aborted: new Counter<"route">({ name: "quire_rpc_requests_aborted_total", help: "Requests aborted by the client before the response, by route.", labelNames: ["route"], registers }),
    /** Request bodies refused (too large, wrong type, bad JSON or hex, server busy), by error code. */
    rejectedBodies: new Counter<"code">({ name: "quire_rpc_rejected_bodies_total", help: "Request bodies refused, by error code.", labelNames: ["code"], registers }),
    /** Handler failures turned into 500 INTERNAL: should stay 0. */
    handlerErrors: new Counter<"route">({
      name: "quire_rpc_handler_errors_total",
      help: "Exceptions in request handlers or the node API (answered 500 INTERNAL), by route.",
      labelNames: ["route"],
      registers,
    }),
    /** Requests answered 408/503 by the request timeout. */
    timeouts: new Counter<"route">({
      name: "quire_rpc_request_timeouts_total",
      help: "Requests expired by the request timeout (slow upload or node not answering), by route.",
      labelNames: ["route"],
      registers,
    }),
    /** Transactions offered through POST /v1/tx and /v1/txs, by outcome. */
    txs: new Counter<"outcome">({ name: "quire_rpc_txs_total", help: "Transactions offered to the mempool through the RPC, by outcome.", labelNames: ["outcome"], registers }),
    streamSubscribers: new Gauge({ name: "quire_rpc_stream_subscribers", help: "Open /v1/stream subscriptions.", registers }),
    streamOpened: new Counter({ name: "quire_rpc_stream_subscriptions_total", help: "/v1/stream subscriptions opened.", registers }),
    /** Upgrades refused because the subscriber limit was reached. */
    streamRefused: new Counter({ name: "quire_rpc_stream_refused_total", help: "/v1/stream upgrades refused at the subscriber limit.", registers }),
    /** Subscribers the server disconnected, by reason (`slow`: over the buffering limit; `stopping`). */
    streamDropped: new Counter<"reason">({ name: "quire_rpc_stream_dropped_total", help: "/v1/stream subscribers disconnected by the server, by reason.", labelNames: ["reason"], registers }),
    streamFrames: new Counter({ name: "quire_rpc_stream_frames_total", help: "Block frames sent to /v1/stream subscribers.", registers }),
    /**
     * Requests refused by a per-source limit, by limit: `rate` (429 RATE_LIMITED), `uploads` and `upload_bytes` (429
     * TOO_MANY_UPLOADS), `subscribers` (429 TOO_MANY_STREAMS). Global caps count in rejected_bodies / stream_refused.
     */
    sourceRefused: new Counter<"limit">({ name: "quire_rpc_source_refused_total", help: "Requests refused by a per-source limit, by limit.", labelNames: ["limit"], registers }),
    /** Sources the server tracks (an entry per client address or IPv6 /64 seen recently). */
    sources: new Gauge({ name: "quire_rpc_sources", help: "Client sources (IPv4 address or IPv6 /64) in the per-source table.", registers }),
    /** Request bodies being received, over all sources. */
    uploads: new Gauge({ name: "quire_rpc_uploads_in_flight", help: "Request bodies being received.", registers }),
    /** Exceptions caught in the committed-block listener (should stay 0). */
    streamErrors: new Counter({ name: "quire_rpc_stream_errors_total", help: "Exceptions caught while publishing a committed block to the stream.", registers }),
  };
}

/** Every series the RPC server exports. Inject one into `RpcServer` to share the node's registry or read it in tests. */
export type RpcMetrics = ReturnType<typeof createRpcMetrics>;
