/**
 * A load generator over the RPC (`quire load`, and the built-in load of `quire cluster`): key-value puts of an exact
 * size, submitted in batches (`POST /v1/txs`, binary: length-prefixed bytes, no hex or JSON on either end) round-robin over the nodes, open loop at a target rate (or as fast as
 * the nodes accept). A 503 (mempool full) or an unreachable node puts the affected transactions back in the queue
 * and rests that node for the Retry-After; nothing is ever dropped, so "all N committed" is a fair check.
 */
import { randomBytes } from "node:crypto";
import { encodeKvTx } from "../chain/app/kvTx.js";
import { RpcClient } from "../rpc/client.js";
import { toHex, utf8 } from "../util/bytes.js";

export interface LoadOptions {
  /** RPC base URLs of the nodes to submit to (round-robin). */
  readonly urls: readonly string[];
  /** Transactions per second; 0: as fast as the nodes accept. */
  readonly rate: number;
  /** Stop after this many transactions (undefined: until `stop()`). */
  readonly total?: number;
  /** Exact size of every transaction in bytes (>= 32). */
  readonly txBytes: number;
  /** Most transactions per request. */
  readonly batch: number;
  /** Requests in flight at once over all nodes. */
  readonly maxInFlight: number;
  /** Remember every id and submission time (for `quire load`'s checks; off for endless loads). */
  readonly keepIds: boolean;
}

interface Pending {
  readonly index: number;
  readonly tx: Uint8Array;
}

/** Key-value put of exactly `size` bytes: key `load/<run>/<index>`, nonce = index, value padding. */
export function loadTx(runId: string, index: number, size: number): Uint8Array {
  const key = utf8(`load/${runId}/${index}`);
  const valueLen = size - 12 - key.length - 4;
  if (valueLen < 0) throw new RangeError(`a load tx needs at least ${size - valueLen} bytes, asked for ${size}`);
  const nonce = new Uint8Array(8);
  new DataView(nonce.buffer).setFloat64(0, index);
  const value = new Uint8Array(valueLen).fill(0x61 + (index % 26));
  return encodeKvTx({ op: "put", nonce, key, value });
}

export class LoadGenerator {
  readonly runId = randomBytes(4).toString("hex");
  /** Hex ids by tx index (when keepIds). */
  readonly ids: string[] = [];
  /**
   * When each tx was due (ms, `performance.now()` time base), by index (when keepIds): at a fixed rate, its slot in
   * the schedule; as fast as possible, when it was first sent.
   */
  readonly submittedAt: number[] = [];
  readonly stats = { generated: 0, accepted: 0, duplicate: 0, fullRetries: 0, invalid: 0, failedRequests: 0 };
  private readonly clients: RpcClient[];
  private readonly restUntil: number[];
  private readonly queue: Pending[] = [];
  private next = 0;
  private inFlight = 0;
  private t0 = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private stopped = false;
  private idle: (() => void)[] = [];

  constructor(private readonly o: LoadOptions) {
    if (o.urls.length === 0) throw new RangeError("LoadGenerator: no node URLs");
    this.clients = o.urls.map((url) => new RpcClient({ url, timeoutMs: 30_000 }));
    this.restUntil = o.urls.map(() => 0);
  }

  /** Transactions accepted by a node (or found already there). */
  get confirmed(): number {
    return this.stats.accepted + this.stats.duplicate;
  }

  /** Whether every transaction of a bounded run was accepted. */
  get complete(): boolean {
    return this.o.total !== undefined && this.confirmed >= this.o.total;
  }

  start(): void {
    this.t0 = performance.now();
    this.timer = setInterval(() => this.pump(), 10);
    this.pump();
  }

  /** Stops generating and waits for the requests in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    if (this.inFlight > 0) await new Promise<void>((r) => this.idle.push(r));
  }

  /** Resolves when a bounded run has every transaction accepted. */
  async finished(): Promise<void> {
    while (!this.complete && !this.stopped) await new Promise<void>((r) => this.idle.push(r));
  }

  private generate(): void {
    const elapsed = (performance.now() - this.t0) / 1000;
    let due = this.o.rate > 0 ? Math.floor(this.o.rate * elapsed) : Number.MAX_SAFE_INTEGER;
    if (this.o.total !== undefined) due = Math.min(due, this.o.total);
    // Generate lazily: never more than a few requests' worth ahead of what can be sent.
    const ahead = this.o.batch * this.o.maxInFlight * 2;
    while (this.stats.generated < due && this.queue.length < ahead) {
      const index = this.stats.generated++;
      const tx = loadTx(this.runId, index, this.o.txBytes);
      this.queue.push({ index, tx });
      // At a fixed rate, a tx's latency counts from when it was due, not from when a free request slot let it out:
      // time spent waiting here because the nodes fell behind is latency too (no coordinated omission).
      if (this.o.keepIds && this.o.rate > 0) this.submittedAt[index] = this.t0 + (1000 * index) / this.o.rate;
    }
  }

  private pump(): void {
    if (this.stopped) return;
    this.generate();
    const now = performance.now();
    while (this.inFlight < this.o.maxInFlight && this.queue.length > 0) {
      const node = this.pickNode(now);
      if (node < 0) break;
      const batch = this.queue.splice(0, this.o.batch);
      this.send(node, batch);
    }
  }

  private pickNode(now: number): number {
    for (let k = 0; k < this.clients.length; k++) {
      const i = (this.next + k) % this.clients.length;
      if (this.restUntil[i]! <= now) {
        this.next = i + 1;
        return i;
      }
    }
    return -1;
  }

  private send(node: number, batch: Pending[]): void {
    this.inFlight++;
    const sentAt = performance.now();
    if (this.o.keepIds) for (const p of batch) this.submittedAt[p.index] ??= sentAt;
    this.clients[node]!.submitTxs(batch.map((p) => p.tx), { binary: true }).then(
      (out) => {
        const retry: Pending[] = [];
        out.results.forEach((r, i) => {
          const p = batch[i]!;
          switch (r.status) {
            case "accepted":
            case "duplicate":
              if (r.status === "accepted") this.stats.accepted++;
              else this.stats.duplicate++;
              if (this.o.keepIds) this.ids[p.index] = toHex(r.id);
              break;
            case "invalid":
              this.stats.invalid++;
              break;
            case "full":
              this.stats.fullRetries++;
              retry.push(p);
              break;
            default:
              retry.push(p);
          }
        });
        if (retry.length > 0) {
          this.queue.unshift(...retry);
          this.restUntil[node] = performance.now() + 1000 * Math.max(0.1, out.retryAfterSec ?? 0.2);
        }
        this.settle();
      },
      () => {
        this.stats.failedRequests++;
        this.queue.unshift(...batch);
        this.restUntil[node] = performance.now() + 1000;
        this.settle();
      },
    );
  }

  private settle(): void {
    this.inFlight--;
    const waiters = this.idle;
    if (this.inFlight === 0 || this.complete) {
      this.idle = [];
      for (const w of waiters) w();
    }
    this.pump();
  }
}
