/**
 * The RPC's error codes. Every non-2xx response carries `{"error": {"code", "message"}}` with one of these codes;
 * the code is stable (clients switch on it), the message is for people and may change.
 */
import { QuireError } from "../util/errors.js";

/** Every error code the server sends, with its HTTP status. */
export const RPC_ERRORS = {
  /** A tx id that is not 64 hex digits. */
  BAD_TX_ID: 400,
  /** A height that is not a canonical decimal integer in [0, 2^53 - 1] (or `latest` where allowed). */
  BAD_HEIGHT: 400,
  /** A `GET /v1/blocks` query without `from`, with an unknown or repeated parameter, `to` below `from`, or too many heights. */
  BAD_RANGE: 400,
  /** A transaction index that is not a canonical decimal integer in [0, 2^53 - 1]. */
  BAD_INDEX: 400,
  /** An empty key, or a malformed percent escape in it. */
  BAD_KEY: 400,
  /** A para title that is not 1..32 bytes of UTF-8 (percent-encoded in the path). */
  BAD_TITLE: 400,
  /** An account public key that is not 64 hex digits. */
  BAD_PUBLIC_KEY: 400,
  /** A body that is not UTF-8 JSON. */
  BAD_JSON: 400,
  /** JSON of the wrong shape (POST /v1/txs wants `{"txs": [hex, ...]}`). */
  BAD_BODY: 400,
  /** A transaction in a batch that is not hex. */
  BAD_HEX: 400,
  /** An empty transaction. */
  EMPTY_TX: 400,
  /** A batch with no transactions. */
  EMPTY_BATCH: 400,
  /** A batch with more transactions than the limit. */
  TOO_MANY_TXS: 400,
  /** A transaction in a batch larger than the per-transaction limit. */
  TX_TOO_LARGE: 400,
  /** The application refused the transaction (malformed for it); the message carries its reason. */
  TX_INVALID: 400,
  /**
   * `POST /v1/tx` on a para node: a para chain has no mempool of its own; its txs go to the main chain wrapped in a
   * 0x21 para tx, and the para nodes pack them from there.
   */
  PARA_SUBMIT_TO_MAIN: 400,
  /** No such route. */
  NOT_FOUND: 404,
  /** The node does not know this transaction. */
  TX_NOT_FOUND: 404,
  /** No committed block at this height (yet). */
  BLOCK_NOT_FOUND: 404,
  /** The block has fewer transactions than the index asks for. */
  TX_INDEX_OUT_OF_RANGE: 404,
  /** The key is absent from the committed state. */
  KEY_NOT_FOUND: 404,
  /** No commit proof for that height yet (not committed, or no consecutive-view pair committed at or above it). */
  COMMIT_PROOF_UNAVAILABLE: 404,
  /** The tx is pending, not executed yet, or its block is not provable yet (no consecutive-view pair above it). */
  RECEIPT_UNAVAILABLE: 404,
  /** No para chain of this title is registered on this chain (or it runs no paracross module). */
  PARA_NOT_FOUND: 404,
  /** The para height is not done (yet) on this chain. */
  COMMIT_NOT_DONE: 404,
  /** The chain runs no accounts module (its genesis's `app.modules` lacks "accounts"). */
  NO_ACCOUNTS: 404,
  NO_XSHARD: 404,
  /** `GET /v1/consensus` on a node that runs no consensus of its own (a para node). */
  NO_CONSENSUS: 404,
  /** A geo route (`/v1/geo…`) on a node that is not a geo cluster's. */
  NO_GEO: 404,
  /** The route exists, the method does not (the `Allow` header lists the methods that do). */
  METHOD_NOT_ALLOWED: 405,
  /** A body larger than the route's limit; the connection is closed. */
  BODY_TOO_LARGE: 413,
  /** The request body did not arrive within the request timeout; the connection is closed. */
  REQUEST_TIMEOUT: 408,
  /** A request body that arrived slower than the minimum upload rate; the connection is closed. */
  UPLOAD_TOO_SLOW: 408,
  /** A request path longer than the limit. */
  URI_TOO_LONG: 414,
  /** A body with the wrong Content-Type. */
  UNSUPPORTED_MEDIA_TYPE: 415,
  /** A plain GET on the WebSocket route. */
  UPGRADE_REQUIRED: 426,
  /** This source (IP address, IPv6 /64) used up its requests per second; `Retry-After` says when to try again. */
  RATE_LIMITED: 429,
  /** This source has its maximum of request bodies (or body bytes) in flight; the connection is closed. */
  TOO_MANY_UPLOADS: 429,
  /** This source has its maximum of `/v1/stream` subscriptions. */
  TOO_MANY_STREAMS: 429,
  /** A handler failed; the failure is logged and counted (quire_rpc_handler_errors_total). */
  INTERNAL: 500,
  /** The mempool has no room; `Retry-After` says when to try again. */
  MEMPOOL_FULL: 503,
  /** Too many request bodies are being received at once across all connections. */
  SERVER_BUSY: 503,
  /** The node did not answer within the request timeout (the request may still take effect, e.g. a submission). */
  NODE_TIMEOUT: 503,
  /** The block stream has its maximum number of subscribers. */
  TOO_MANY_SUBSCRIBERS: 503,
  /**
   * A follower (src/node/follow/) could not hand the submission to any validator (none answered): nothing was
   * acknowledged; retry, here or at a validator.
   */
  UPSTREAM_UNAVAILABLE: 503,
  /**
   * `GET /v1/health`: the node is not healthy; the body also carries `ok: false`, the `reason` (NO_PEERS,
   * NOT_COMMITTING, CATCHING_UP), `detail` and the figures of a healthy answer.
   */
  NODE_UNHEALTHY: 503,
} as const;

export type RpcErrorCode = keyof typeof RPC_ERRORS;

/** A request the server refuses: thrown inside handlers, turned into the typed error response by the server. */
export class HttpError extends QuireError<RpcErrorCode, { status: number }> {
  constructor(code: RpcErrorCode, message: string) {
    super(code, message, { status: RPC_ERRORS[code] });
  }

  get status(): number {
    return this.payload.status;
  }
}

/** Bad server options (a limit that is not a positive integer, a bad port). */
export class RpcConfigError extends QuireError<"BAD_RPC_OPTION", { field: string }> {
  constructor(field: string, message: string) {
    super("BAD_RPC_OPTION", `${field}: ${message}`, { field });
  }
}

/** The server could not bind its address. */
export class RpcListenError extends QuireError<"LISTEN_FAILED", { host: string; port: number }> {
  constructor(host: string, port: number) {
    super("LISTEN_FAILED", `cannot listen on ${host}:${port}`, { host, port });
  }
}

const REASONS: Record<number, string> = {
  101: "Switching Protocols",
  200: "OK",
  202: "Accepted",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Payload Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  426: "Upgrade Required",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** The HTTP status line uWS wants (`"404 Not Found"`). */
export function statusLine(status: number): string {
  const reason = REASONS[status];
  return reason === undefined ? String(status) : `${status} ${reason}`;
}

/** The JSON error body. */
export function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

/** Why an `RpcClient` call failed. */
export type RpcClientErrorCode =
  /** No answer: connection refused or reset, DNS, or the call's timeout expired. */
  | "NETWORK"
  /** The server answered with an unexpected status; the payload carries it and the server's error code. */
  | "HTTP"
  /** The server answered with a body the client cannot read (not JSON, wrong shape, bad hex, bad lengths). */
  | "BAD_RESPONSE";

/** A failed `RpcClient` call. For `HTTP`, `payload.status` and `payload.code` (the server's error code, if any). */
export class RpcClientError extends QuireError<RpcClientErrorCode, { status?: number; code?: string }> {}
