/**
 * Client transactions on a follower: a follower has no mempool that any proposer reads, so it hands every submission
 * to a validator's RPC and answers with exactly what that validator answered — a 202 from the validator means the tx
 * is durable there (its journal, node/txJournal.ts), so the follower's 202 carries the same promise, and a follower
 * never acknowledges what no validator acknowledged. A batch (`POST /v1/txs`, JSON or the binary form `quire load`
 * uses) goes on as one binary batch request, its per-item outcomes passed back item for item.
 *
 * Validators are tried in order from this follower's own starting point (followers spread over them); one that does
 * not answer (network error, timeout, a 5xx that is not MEMPOOL_FULL) is skipped for the next, at most
 * `MAX_VALIDATORS_PER_REQUEST` per request (a client's request does not fan out to every validator). When none answers
 * the client gets 503 UPSTREAM_UNAVAILABLE and nothing is acknowledged. A validator's 4xx refusal (TX_TOO_LARGE,
 * EMPTY_TX, …) is its answer: the client gets the same status and code.
 *
 * The ids of accepted transactions are computed here (the node's tx hash of the bytes the client sent), not taken
 * from the validator's answer: a pending id the follower remembers and reports is the tx's own.
 *
 * Acknowledged ids are remembered (bounded, oldest forgotten first) so that `GET /v1/tx/:id` on the follower says
 * pending until the follower itself commits the tx.
 */
import type { BatchSubmitResult, SubmitResult } from "../../rpc/api.js";
import { RpcClient } from "../../rpc/client.js";
import type { BatchOutcome, SubmitOutcome } from "../../rpc/client.js";
import { HttpError, RPC_ERRORS, RpcClientError } from "../../rpc/errors.js";
import type { RpcErrorCode } from "../../rpc/errors.js";
import { defaultHasher } from "../../crypto/hash/backends.js";
import { bytesKey } from "../../util/bytes.js";
import type { Logger } from "../logger.js";

/** Validators a single client request may be handed to (the first, and one more when it does not answer). */
export const MAX_VALIDATORS_PER_REQUEST = 2;

/** Acknowledged, uncommitted ids remembered for `GET /v1/tx/:id`: above a mempool's worth (65,536) several times. */
export const MAX_REMEMBERED_PENDING = 262_144;

/** What the forwarder sends to; `RpcClient` is one, tests pass fakes. */
export interface SubmitTarget {
  readonly baseUrl: string;
  submitTx(tx: Uint8Array): Promise<SubmitOutcome>;
  submitTxs(txs: readonly Uint8Array[], opts: { binary?: boolean }): Promise<BatchOutcome>;
}

export interface TxForwarderOptions {
  readonly urls: readonly string[];
  /** Index of the first validator tried (default 0). */
  readonly start?: number;
  /** Per-request timeout (default 10,000 ms: a validator under load answers a batch only once it is journaled). */
  readonly timeoutMs?: number;
}

export class TxForwarder {
  private readonly targets: SubmitTarget[];
  private next: number;
  private readonly pendingIds = new Map<string, true>();

  constructor(
    opts: TxForwarderOptions,
    private readonly m: { readonly logger: Logger; readonly targets?: readonly SubmitTarget[]},
  ) {
    this.targets = m.targets !== undefined ? [...m.targets] : opts.urls.map((url) => new RpcClient({ url, timeoutMs: opts.timeoutMs ?? 10_000, rateLimitRetries: 0 }));
    this.next = this.targets.length === 0 ? 0 : (opts.start ?? 0) % this.targets.length;
  }

  /** Acknowledged by a validator, not committed here yet. */
  get pendingCount(): number {
    return this.pendingIds.size;
  }

  isPending(id: Uint8Array): boolean {
    return this.pendingIds.has(bytesKey(id));
  }

  /** Ids just committed here: no longer pending. */
  onCommitted(ids: readonly Uint8Array[]): void {
    if (this.pendingIds.size === 0) return;
    for (const id of ids) this.pendingIds.delete(bytesKey(id));
  }

  async submitTx(tx: Uint8Array): Promise<SubmitResult> {
    const o = await this.forward((t) => t.submitTx(tx));
    const r = fromOutcome(o, 1, tx);
    if (r.kind === "skipped" || r.kind === "error") throw new HttpError("UPSTREAM_UNAVAILABLE", "the validator answered a single submission with a batch outcome");
    this.remember(r);
    return r;
  }

  async submitTxs(txs: readonly Uint8Array[]): Promise<BatchSubmitResult[]> {
    const b = await this.forward((t) => t.submitTxs(txs, { binary: true }));
    const out = b.results.map((o, i) => fromOutcome(o, b.retryAfterSec ?? 1, txs[i]!));
    for (const r of out) this.remember(r);
    return out;
  }

  private remember(r: BatchSubmitResult): void {
    if (r.kind !== "accepted" && r.kind !== "duplicate") return;
    this.pendingIds.set(bytesKey(r.id), true);
    if (this.pendingIds.size > MAX_REMEMBERED_PENDING) this.pendingIds.delete(this.pendingIds.keys().next().value!);
  }

  /** `send` to the validators in turn from `next` until one answers; 503 UPSTREAM_UNAVAILABLE when none does. */
  private async forward<T>(send: (t: SubmitTarget) => Promise<T>): Promise<T> {
    let last: unknown = new Error("no validator configured");
    const start = this.next;
    for (let k = 0; k < Math.min(MAX_VALIDATORS_PER_REQUEST, this.targets.length); k++) {
      const i = (start + k) % this.targets.length;
      const t = this.targets[i]!;
      try {
        const v = await send(t);
        this.next = i;
        return v;
      } catch (e) {
        if (!unanswered(e)) throw passedOn(e);
        last = e;
        // The next request starts past the validator that did not answer: with two dead in a row at `next`, requests
        // would otherwise never reach the live ones (review finding).
        this.next = (i + 1) % this.targets.length;
        this.m.logger.debug("follower: validator did not take a submission, trying the next", { url: t.baseUrl, error: e instanceof Error ? e.message : String(e) });
      }
    }
    throw new HttpError("UPSTREAM_UNAVAILABLE", `no validator took the submission (${last instanceof Error ? last.message : String(last)}); nothing was acknowledged`);
  }
}

/** No answer worth passing on: the next validator may take it. A 4xx the validator sent is its answer (passed on). */
function unanswered(e: unknown): boolean {
  if (!(e instanceof RpcClientError)) return false;
  if (e.code === "NETWORK") return true;
  return e.code === "HTTP" && ((e.payload.status ?? 0) >= 500 || e.payload.status === 429);
}

/**
 * A validator's refusal as the follower's own answer: its 4xx code and status when the code is one of the RPC's
 * (rpc/errors.ts), else 503 UPSTREAM_UNAVAILABLE (not a 500: the follower did not fail). Other errors unchanged.
 */
function passedOn(e: unknown): unknown {
  if (!(e instanceof RpcClientError) || e.code !== "HTTP") return e;
  const code = e.payload.code;
  if (code !== undefined && code in RPC_ERRORS && RPC_ERRORS[code as RpcErrorCode] === e.payload.status) return new HttpError(code as RpcErrorCode, `the validator refused it: ${e.message}`);
  return new HttpError("UPSTREAM_UNAVAILABLE", `the validator answered with an error this node does not pass on: ${e.message}; nothing was acknowledged`);
}

function fromOutcome(o: SubmitOutcome, retryAfterSec: number, tx: Uint8Array): BatchSubmitResult {
  switch (o.status) {
    case "accepted":
    case "duplicate":
      return { kind: o.status, id: defaultHasher().digest(tx) };
    case "full":
      return { kind: "full", retryAfterSec: o.retryAfterSec > 0 ? o.retryAfterSec : retryAfterSec };
    case "invalid":
      return { kind: "invalid", reason: o.reason };
    case "skipped":
      return { kind: "skipped" };
    case "error":
      return { kind: "error" };
  }
}
