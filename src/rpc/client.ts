/**
 * A typed client of the node's RPC (fetch-based, Node 20's global fetch). Used by `quire tx put`, `quire status`,
 * `quire audit`, the load generator and the end-to-end tests. It returns the same types the server is built from
 * (`BlockSummary`, `TxStatus`, `NodeStatus`, `RootedInclusionProof` with bytes as `Uint8Array`), so a proof fetched
 * from one node feeds `checkInclusion` against a header fetched from another without any glue.
 *
 * Outcomes the API defines are values: "not found" is null, a full mempool or an invalid transaction is a
 * `SubmitOutcome`. Everything else is an `RpcClientError`: `NETWORK` (no answer, or the timeout expired), `HTTP`
 * (an unexpected status; `payload.code` is the server's error code) or `BAD_RESPONSE` (a body the client cannot read,
 * or one over its byte cap: `maxBodyBytes`, `maxStatusBytes` — a hostile node cannot make the client buffer more).
 */
import type { AccountView, BlockBody, BlockSummary, EpochView, GeoRoundView, NodeHealth, NodeStatus, SupplyView, TxReceipt, TxStatus, XShardTransferView } from "./api.js";
import { decodeBlockBody } from "./blockBody.js";
import type { RootedInclusionProof } from "../crypto/merkle.js";
import { RpcClientError } from "./errors.js";
import { MAX_COMMIT_PROOF_HEADERS } from "../consensus/commitProof.js";
import { MAX_MESSAGE_BYTES } from "../domain/limits.js";
import { decodeAccount, decodeBlock, decodeBlocks, decodeEpochs, decodeGeoRounds, decodeGeoStatus, decodeHealth, decodeKvValue, decodeParaCommit, decodeParaStatus, decodeProof, decodeReceipt, decodeStatus, decodeSubmitItem, decodeSupply, decodeTxStatus, decodeValidators, decodeXShardTransfer } from "./json.js";
import type { DoneCommit, ParaStatus } from "../chain/app/paracross/module.js";
import type { SubmitOutcome } from "./json.js";
import { concatBytes, toHex, utf8 } from "../util/bytes.js";

export type { SubmitOutcome } from "./json.js";

export interface RpcClientOptions {
  /** Base URL of the node's RPC, e.g. "http://127.0.0.1:7100" (a trailing slash is fine). */
  url: string;
  /** Per-call timeout in milliseconds (default 10,000). */
  timeoutMs?: number;
  /**
   * How many times a GET answered 429 RATE_LIMITED is sent again after its Retry-After (default 3; 0: never, the
   * 429 is an error at once). Only GETs: they change nothing, so a retry is always safe.
   */
  rateLimitRetries?: number;
  /**
   * The largest response body read, in bytes (default 64 MiB: a range of blocks, a block body, a commit proof): a
   * longer one is `BAD_RESPONSE` and is not buffered past the cap, so a hostile node cannot make the client hold more.
   */
  maxBodyBytes?: number;
  /** The same for the small JSON documents `status()` and `health()` (default 1 MiB). */
  maxStatusBytes?: number;
}

/** Outcome of `submitTxs`: one entry per transaction, in order, plus the server's Retry-After when the pool filled. */
export interface BatchOutcome {
  readonly results: readonly SubmitOutcome[];
  /** Seconds to wait before re-sending the `full`/`skipped` items; null when none hit a full pool. */
  readonly retryAfterSec: number | null;
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The body as bytes, for a binary answer (200 application/octet-stream) when the caller asked for them. */
  bytes?: Uint8Array;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;
/** The cap of one `GET /v1/blocks/:h/body` answer: a whole message plus 1 MiB for prefixes and the result bitmap. */
const MAX_BODY_RESPONSE_BYTES = MAX_MESSAGE_BYTES + 1024 * 1024;
const DEFAULT_MAX_STATUS_BYTES = 1024 * 1024;
const DEFAULT_RATE_LIMIT_RETRIES = 3;
const MAX_RATE_LIMIT_WAIT_SEC = 10;

/** The binary body of `POST /v1/txs`: each transaction as `length u32 big-endian ‖ bytes`, back to back. */
export function encodeTxBatchBody(txs: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const tx of txs) n += 4 + tx.length;
  const out = new Uint8Array(n);
  const view = new DataView(out.buffer);
  let off = 0;
  for (const tx of txs) {
    view.setUint32(off, tx.length);
    out.set(tx, off + 4);
    off += 4 + tx.length;
  }
  return out;
}


/** Percent-encodes key bytes for `/v1/kv/:key`: RFC 3986 unreserved characters stay, every other byte is `%XX`. */
export function encodeKey(key: Uint8Array | string): string {
  const bytes = typeof key === "string" ? utf8(key) : key;
  let s = "";
  for (const b of bytes) {
    const unreserved = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e;
    s += unreserved ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return s;
}

export class RpcClient {
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly rateLimitRetries: number;
  private readonly maxBodyBytes: number;
  private readonly maxStatusBytes: number;

  constructor(opts: RpcClientOptions) {
    this.baseUrl = opts.url.replace(/\/+$/, "");
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.rateLimitRetries = opts.rateLimitRetries ?? DEFAULT_RATE_LIMIT_RETRIES;
    this.maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.maxStatusBytes = opts.maxStatusBytes ?? DEFAULT_MAX_STATUS_BYTES;
  }

  /** `POST /v1/tx`. Never `skipped`/`error`: those exist in batches only. */
  async submitTx(tx: Uint8Array): Promise<SubmitOutcome> {
    const a = await this.call("POST", "/v1/tx", tx, "application/octet-stream");
    if (a.status === 202 || a.status === 200) {
      const doc = parseJson(a);
      const o = typeof doc === "object" && doc !== null ? (doc as Record<string, unknown>) : {};
      return decodeSubmitItem({ status: a.status === 202 ? "accepted" : "duplicate", id: o["id"] }, "submit");
    }
    if (a.status === 503 && errorCode(a) === "MEMPOOL_FULL") return { status: "full", retryAfterSec: retryAfterOf(a) };
    if (a.status === 400 && errorCode(a) === "TX_INVALID") return { status: "invalid", reason: errorMessage(a) };
    throw unexpected("POST /v1/tx", a);
  }

  /** `POST /v1/txs`: per-item outcomes (see the batch semantics in server.ts / README). */
  /**
   * Submits a batch through `POST /v1/txs`: as JSON (hex strings), or with `binary` as length-prefixed bytes
   * (`application/octet-stream`, `encodeTxBatchBody`), which spares both ends the hex and JSON work.
   */
  async submitTxs(txs: readonly Uint8Array[], opts: { binary?: boolean } = {}): Promise<BatchOutcome> {
    if (opts.binary === true) return this.submitTxBatchBody(encodeTxBatchBody(txs), txs.length);
    return this.batchOutcome(await this.call("POST", "/v1/txs", JSON.stringify({ txs: txs.map(toHex) }), "application/json"), txs.length);
  }

  /**
   * `POST /v1/txs` with a binary body already laid out (`encodeTxBatchBody`'s format) holding `count` txs: for a load
   * generator that writes its txs straight into the body instead of building them and copying them again.
   */
  async submitTxBatchBody(body: Uint8Array, count: number): Promise<BatchOutcome> {
    return this.batchOutcome(await this.call("POST", "/v1/txs", body, "application/octet-stream"), count);
  }

  private batchOutcome(a: Answer, count: number): BatchOutcome {
    const code = errorCode(a);
    const perItem = a.status === 202 || (a.status === 503 && code === "MEMPOOL_FULL") || (a.status === 400 && code === "TX_INVALID") || (a.status === 500 && code === "INTERNAL");
    if (!perItem) throw unexpected("POST /v1/txs", a);
    const doc = parseJson(a);
    const list = typeof doc === "object" && doc !== null ? (doc as Record<string, unknown>)["results"] : undefined;
    if (!Array.isArray(list)) {
      if (a.status === 500) throw unexpected("POST /v1/txs", a);
      throw new RpcClientError("BAD_RESPONSE", "malformed response: results must be an array");
    }
    if (list.length !== count) throw new RpcClientError("BAD_RESPONSE", `malformed response: ${list.length} results for ${count} transactions`);
    const results = list.map((r, i) => decodeSubmitItem(r, `results[${i}]`));
    return { results, retryAfterSec: results.some((r) => r.status === "full") ? retryAfterOf(a) : null };
  }

  /** `GET /v1/tx/:id`; null when the node does not know the transaction. */
  async txStatus(id: Uint8Array | string): Promise<TxStatus | null> {
    const hex = typeof id === "string" ? id : toHex(id);
    const a = await this.call("GET", `/v1/tx/${encodeURIComponent(hex)}`);
    if (a.status === 404 && errorCode(a) === "TX_NOT_FOUND") return null;
    if (a.status !== 200) throw unexpected("GET /v1/tx", a);
    return decodeTxStatus(parseJson(a)).status;
  }

  /** `GET /v1/blocks/:height`; null when nothing is committed at that height yet. */
  async block(height: number | "latest"): Promise<BlockSummary | null> {
    const a = await this.call("GET", `/v1/blocks/${height}`);
    if (a.status === 404 && errorCode(a) === "BLOCK_NOT_FOUND") return null;
    if (a.status !== 200) throw unexpected("GET /v1/blocks", a);
    return decodeBlock(parseJson(a));
  }

  /**
   * `GET /v1/blocks?from=H&to=H2`: the committed blocks of the range, ascending from `from` and stopping at the node's
   * head (an empty list when `from` is above it). At most the server's `maxRangeBlocks` heights per call
   * (`DEFAULT_MAX_RANGE_BLOCKS`); more is an `HTTP` error with code `BAD_RANGE`.
   */
  async blocks(from: number, to: number): Promise<BlockSummary[]> {
    const a = await this.call("GET", `/v1/blocks?from=${from}&to=${to}`);
    if (a.status !== 200) throw unexpected("GET /v1/blocks", a);
    return decodeBlocks(parseJson(a), from, to);
  }

  /** `GET /v1/genesis`: the genesis document the node runs, as the text it sent (compare it byte for byte). */
  async genesis(): Promise<string> {
    const a = await this.call("GET", "/v1/genesis");
    if (a.status !== 200) throw unexpected("GET /v1/genesis", a);
    return a.text;
  }

  /**
   * `GET /v1/blocks/:height/txids`: the ids of the block's transactions, packed 32 bytes each in block order; null
   * when nothing is committed at that height yet.
   */
  async blockTxIds(height: number): Promise<Uint8Array | null> {
    const a = await this.call("GET", `/v1/blocks/${height}/txids`, undefined, undefined, true);
    if (a.status === 404 && errorCode(a) === "BLOCK_NOT_FOUND") return null;
    if (a.status !== 200) throw unexpected("GET /v1/blocks/:height/txids", a);
    if (a.bytes === undefined || a.bytes.length % 32 !== 0) throw new RpcClientError("BAD_RESPONSE", `malformed response: ${a.bytes?.length ?? 0} bytes of tx ids, not a multiple of 32`);
    return a.bytes;
  }

  /**
   * `GET /v1/blocks/:height/body`: the block's txs and its own result bitmap; null when nothing is committed at that
   * height yet. The caller checks the txs against the header's txRoot before trusting them.
   */
  async blockBody(height: number): Promise<BlockBody | null> {
    // A body is at most a block (block.maxBytes ≤ MAX_MESSAGE_BYTES) plus its length prefixes and result bitmap.
    const a = await this.call("GET", `/v1/blocks/${height}/body`, undefined, undefined, true, Math.min(this.maxBodyBytes, MAX_BODY_RESPONSE_BYTES));
    if (a.status === 404 && errorCode(a) === "BLOCK_NOT_FOUND") return null;
    if (a.status !== 200) throw unexpected("GET /v1/blocks/:height/body", a);
    const d = decodeBlockBody(a.bytes ?? new Uint8Array(0));
    if (!d.ok) throw new RpcClientError("BAD_RESPONSE", `malformed block body: ${d.reason}`);
    return d.value;
  }

  /** `GET /v1/blocks/:height/proof/:index`; null when the block or the transaction does not exist. */
  async proof(height: number, index: number): Promise<RootedInclusionProof | null> {
    const a = await this.call("GET", `/v1/blocks/${height}/proof/${index}`);
    const code = errorCode(a);
    if (a.status === 404 && (code === "BLOCK_NOT_FOUND" || code === "TX_INDEX_OUT_OF_RANGE")) return null;
    if (a.status !== 200) throw unexpected("GET /v1/blocks/:height/proof", a);
    return decodeProof(parseJson(a));
  }

  /** `GET /v1/kv/:key` (a string key is its UTF-8 bytes); null when the key is absent. */
  async kv(key: Uint8Array | string): Promise<Uint8Array | null> {
    const a = await this.call("GET", `/v1/kv/${encodeKey(key)}`);
    if (a.status === 404 && errorCode(a) === "KEY_NOT_FOUND") return null;
    if (a.status !== 200) throw unexpected("GET /v1/kv", a);
    return decodeKvValue(parseJson(a));
  }

  /** `GET /v1/para/:title/status` (main chain); null when no such para chain is registered there. */
  async paraStatus(title: string): Promise<ParaStatus | null> {
    const a = await this.call("GET", `/v1/para/${encodeURIComponent(title)}/status`);
    if (a.status === 404 && errorCode(a) === "PARA_NOT_FOUND") return null;
    if (a.status !== 200) throw unexpected("GET /v1/para/:title/status", a);
    return decodeParaStatus(parseJson(a));
  }

  /** `GET /v1/para/:title/:height` (main chain): the done commit; null when the title is unknown or the height not done. */
  async paraCommit(title: string, height: number): Promise<DoneCommit | null> {
    const a = await this.call("GET", `/v1/para/${encodeURIComponent(title)}/${height}`);
    const code = errorCode(a);
    if (a.status === 404 && (code === "PARA_NOT_FOUND" || code === "COMMIT_NOT_DONE")) return null;
    if (a.status !== 200) throw unexpected("GET /v1/para/:title/:height", a);
    return decodeParaCommit(parseJson(a));
  }

  /** `GET /v1/accounts/:pubkey`: balance and next nonce. An `HTTP` error with code NO_ACCOUNTS on a chain without accounts. */
  async account(publicKey: Uint8Array): Promise<AccountView> {
    const a = await this.call("GET", `/v1/accounts/${toHex(publicKey)}`);
    if (a.status !== 200) throw unexpected("GET /v1/accounts", a);
    const v = decodeAccount(parseJson(a));
    if (toHex(v.publicKey) !== toHex(publicKey)) throw new RpcClientError("BAD_RESPONSE", "malformed response: the account of another key");
    return v;
  }

  /** `GET /v1/supply`: the supply and each para chain's escrow. */
  async supply(): Promise<SupplyView> {
    const a = await this.call("GET", "/v1/supply");
    if (a.status !== 200) throw unexpected("GET /v1/supply", a);
    return decodeSupply(parseJson(a));
  }

  /** `GET /v1/xshard/:xid`: a cross-shard transfer's status on this shard. An `HTTP` error NO_XSHARD on an unsharded chain. */
  async xshardTransfer(xid: Uint8Array): Promise<XShardTransferView> {
    const a = await this.call("GET", `/v1/xshard/${toHex(xid)}`);
    if (a.status !== 200) throw unexpected("GET /v1/xshard/:xid", a);
    return decodeXShardTransfer(parseJson(a));
  }

  /** `GET /v1/blocks/:h/commit-proof`: the blocks h..k+1 with their QCs; null when not provable (yet). */
  async commitProof(height: number): Promise<BlockSummary[] | null> {
    const a = await this.call("GET", `/v1/blocks/${height}/commit-proof`);
    if (a.status === 404 && errorCode(a) === "COMMIT_PROOF_UNAVAILABLE") return null;
    if (a.status !== 200) throw unexpected("GET /v1/blocks/:h/commit-proof", a);
    return decodeBlocks(parseJson(a), height, height + MAX_COMMIT_PROOF_HEADERS - 1);
  }

  /**
   * `GET /v1/tx/:id/receipt`: the tx, its inclusion proof, its result and the commit proof of its block (check it
   * with `verifyReceipt`); null when the node does not know the tx or cannot prove it yet.
   */
  async receipt(id: Uint8Array | string): Promise<TxReceipt | null> {
    const hex = typeof id === "string" ? id : toHex(id);
    const a = await this.call("GET", `/v1/tx/${encodeURIComponent(hex)}/receipt`);
    const code = errorCode(a);
    if (a.status === 404 && (code === "TX_NOT_FOUND" || code === "RECEIPT_UNAVAILABLE")) return null;
    if (a.status !== 200) throw unexpected("GET /v1/tx/:id/receipt", a);
    return decodeReceipt(parseJson(a));
  }

  /** `GET /v1/status`. */
  async status(): Promise<NodeStatus> {
    const a = await this.call("GET", "/v1/status", undefined, undefined, false, this.maxStatusBytes);
    if (a.status !== 200) throw unexpected("GET /v1/status", a);
    return decodeStatus(parseJson(a));
  }

  /**
   * `GET /v1/health`: the node's health, healthy (200) or not (503 NODE_UNHEALTHY: `ok` false with its `reason`), as a
   * value either way; anything else is an `HTTP` error.
   */
  async health(): Promise<NodeHealth> {
    const a = await this.call("GET", "/v1/health", undefined, undefined, false, this.maxStatusBytes);
    if (a.status !== 200 && !(a.status === 503 && errorCode(a) === "NODE_UNHEALTHY")) throw unexpected("GET /v1/health", a);
    const h = decodeHealth(parseJson(a));
    if (h.ok !== (a.status === 200)) throw new RpcClientError("BAD_RESPONSE", `malformed response: GET /v1/health answered ${a.status} with ok ${String(h.ok)}`);
    return h;
  }

  /** `GET /v1/validators`: the node's current epoch and its members (registry indices and keys). */
  async validators(): Promise<ReturnType<typeof decodeValidators>> {
    const a = await this.call("GET", "/v1/validators", undefined, undefined, false, this.maxStatusBytes);
    if (a.status !== 200) throw unexpected("GET /v1/validators", a);
    return decodeValidators(parseJson(a));
  }

  /** `GET /v1/epochs`: every epoch of the node's committed state, oldest first (untrusted: `quire audit` derives them). */
  async epochs(): Promise<EpochView[]> {
    const a = await this.call("GET", "/v1/epochs");
    if (a.status !== 200) throw unexpected("GET /v1/epochs", a);
    return decodeEpochs(parseJson(a));
  }

  /** `GET /v1/geo/status` (a geo cluster's node): the global order's progress. */
  async geoStatus(): Promise<ReturnType<typeof decodeGeoStatus>> {
    const a = await this.call("GET", "/v1/geo/status");
    if (a.status !== 200) throw unexpected("GET /v1/geo/status", a);
    return decodeGeoStatus(parseJson(a));
  }

  /** `GET /v1/geo/rounds?from&to`: executed rounds of the global order the node still keeps. */
  async geoRounds(from: number, to: number): Promise<GeoRoundView[]> {
    const a = await this.call("GET", `/v1/geo/rounds?from=${from}&to=${to}`);
    if (a.status !== 200) throw unexpected("GET /v1/geo/rounds", a);
    return decodeGeoRounds(parseJson(a));
  }

  /** `GET /metrics`: the Prometheus text. */
  async metrics(): Promise<string> {
    const a = await this.call("GET", "/metrics");
    if (a.status !== 200) throw unexpected("GET /metrics", a);
    return a.text;
  }

  private async call(method: string, path: string, body?: Uint8Array | string, contentType?: string, binary = false, maxBytes = this.maxBodyBytes): Promise<Answer> {
    for (let retries = method === "GET" ? this.rateLimitRetries : 0; ; retries--) {
      const a = await this.once(method, path, body, contentType, binary, maxBytes);
      if (a.status !== 429 || retries <= 0 || errorCode(a) !== "RATE_LIMITED") return a;
      // The server's bucket refills by whole seconds: wait what it says (capped, so a bad header cannot stall us).
      await new Promise((r) => setTimeout(r, 1000 * Math.min(retryAfterOf(a), MAX_RATE_LIMIT_WAIT_SEC)));
    }
  }

  private async once(method: string, path: string, body: Uint8Array | string | undefined, contentType: string | undefined, binary: boolean, maxBytes: number): Promise<Answer> {
    const init: RequestInit = { method, signal: AbortSignal.timeout(this.timeoutMs) };
    if (body !== undefined) {
      init.body = body;
      init.headers = { "Content-Type": contentType ?? "application/octet-stream" };
    }
    try {
      const res = await fetch(`${this.baseUrl}${path}`, init);
      const bytes = await readCapped(res, maxBytes, `${method} ${this.baseUrl}${path}`);
      if (binary && res.status === 200 && (res.headers.get("content-type") ?? "").startsWith("application/octet-stream")) {
        return { status: res.status, headers: res.headers, text: "", bytes };
      }
      return { status: res.status, headers: res.headers, text: new TextDecoder().decode(bytes) };
    } catch (e) {
      if (e instanceof RpcClientError) throw e;
      const timedOut = e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError");
      const why = timedOut ? `no answer within ${this.timeoutMs} ms` : describe(e);
      throw new RpcClientError("NETWORK", `${method} ${this.baseUrl}${path}: ${why}`);
    }
  }
}

/**
 * The body of `res`, at most `maxBytes` of it: a declared or actual length over the cap is `BAD_RESPONSE`, and the
 * stream is cancelled there (`res.arrayBuffer()` would buffer whatever the server sends).
 */
async function readCapped(res: Response, maxBytes: number, what: string): Promise<Uint8Array> {
  const tooLong = () => new RpcClientError("BAD_RESPONSE", `${what}: response body over ${maxBytes} bytes`);
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw tooLong();
  }
  if (res.body === null) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw tooLong();
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? chunks[0]! : concatBytes(...chunks);
}

function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  // undici reports "fetch failed" and puts the reason (ECONNREFUSED, ...) in `cause`.
  const cause = (e as { cause?: unknown }).cause;
  return cause instanceof Error ? `${e.message}: ${cause.message}` : e.message;
}

function parseJson(a: Answer): unknown {
  try {
    return JSON.parse(a.text);
  } catch {
    throw new RpcClientError("BAD_RESPONSE", `malformed response: status ${a.status} with a body that is not JSON`);
  }
}

/** The server's `{"error": {"code", "message"}}`, if the body is one. */
function errorOf(a: Answer): { code: string; message: string } | undefined {
  if (a.status < 300) return undefined;
  try {
    const doc = JSON.parse(a.text) as { error?: { code?: unknown; message?: unknown } };
    const e = doc.error;
    if (e !== undefined && typeof e.code === "string") return { code: e.code, message: typeof e.message === "string" ? e.message : "" };
  } catch {
    // not JSON: no code
  }
  return undefined;
}

function errorCode(a: Answer): string | undefined {
  return errorOf(a)?.code;
}

function errorMessage(a: Answer): string {
  return errorOf(a)?.message ?? "";
}

function retryAfterOf(a: Answer): number {
  const n = Number(a.headers.get("retry-after"));
  return Number.isInteger(n) && n > 0 ? n : 1;
}

function unexpected(what: string, a: Answer): RpcClientError {
  const e = errorOf(a);
  const detail = e === undefined ? a.text.slice(0, 200) : `${e.code}: ${e.message}`;
  return new RpcClientError("HTTP", `${what}: HTTP ${a.status} ${detail}`, e === undefined ? { status: a.status } : { status: a.status, code: e.code });
}
