/**
 * A load generator over the RPC (`quire load`, `quire bench cluster`, the built-in load of `quire cluster`): key-value
 * puts of an exact size, sent as binary batches (`POST /v1/txs`, length-prefixed bytes) spread over the nodes.
 *
 * Two modes:
 *  - open loop (`rate` > 0): every `slotMs` (10 ms) the txs that became due (tx i is due at t0 + i / rate) leave at
 *    once, split into requests of at most `batch` txs over the nodes in turn — whatever is in flight. A tx refused by
 *    a full mempool (503) or lost with its request is counted and not sent again: sending more later would change the
 *    offered rate. Latency counts from the tx's slot in the schedule, so a slow node cannot hide a backlog
 *    (no coordinated omission). The one bound is `maxInFlight` requests in flight over all nodes (default 256): when
 *    a due request would pass it, the generator itself refuses it and counts its txs as `shed` — the point where the
 *    generator, not the nodes, sets the pace, reported and never silent.
 *  - closed loop (`rate` 0): `maxInFlight` requests kept in flight, as fast as the nodes answer; a 503 or a failed
 *    request puts its txs back in the queue and rests that node for the Retry-After, so a bounded run (`total`)
 *    gets every tx accepted. For capacity measurements (`quire bench floor`) and `quire load --txs N`.
 *
 * Txs come from one template per run (`LoadTxs`) with the index patched in, written straight into the request body,
 * so generating costs a copy and a few byte stores. With `trackIds`, each sent tx's id (SHA-256 of its bytes,
 * node:crypto — computed here, independently of the node) goes into a `TxIdIndex` and each acknowledged (202 or
 * 200 duplicate) tx is flagged, for the commit tracker's latency and lost-tx check (commitTracker.ts).
 */
import { hash, randomBytes } from "node:crypto";
import { encodeKvTx } from "../chain/app/kvTx.js";
import { encodeParaTx } from "../chain/app/paracross/format.js";
import { RpcClient } from "../rpc/client.js";
import { utf8 } from "../util/bytes.js";
import { GrowableBytes, GrowableTimes, TxIdIndex } from "./txIdIndex.js";

/**
 * Default bound on requests in flight in open loop. 256 requests of up to 500 txs hold up to 128 k txs in flight:
 * at 30,000 tx/s with 10 ms slots over 4 nodes a request carries ~75 txs, so the bound is reached only when answers
 * take over ~2 s — far past the p99 target of 1 s, where the run is saturated anyway.
 */
export const DEFAULT_MAX_IN_FLIGHT = 256;
/** Slot length of the open loop: txs due within 10 ms leave together (at 30,000 tx/s: 300 txs per slot). */
export const DEFAULT_SLOT_MS = 10;

export interface LoadOptions {
  /** RPC base URLs of the nodes to submit to (in turn). */
  readonly urls: readonly string[];
  /** Transactions per second offered (open loop); 0: closed loop, as fast as the nodes accept. */
  readonly rate: number;
  /** Stop after this many transactions (undefined: until `stop()`). */
  readonly total?: number;
  /** Exact size of every transaction in bytes (at least MIN_LOAD_TX_BYTES). */
  readonly txBytes: number;
  /** Most transactions per request. */
  readonly batch: number;
  /** Open loop: requests in flight past which due txs are shed (default 256). Closed loop: requests kept in flight. */
  readonly maxInFlight?: number;
  /** Open-loop slot in ms (default 10). */
  readonly slotMs?: number;
  /** Remember every sent id (TxIdIndex) and which were acknowledged, for the commit tracker. */
  readonly trackIds: boolean;
  /** Para txs instead: each KV put wrapped in a 0x21 para tx for this title (paracross); `txBytes` is the whole tx. */
  readonly paraTitle?: string;
}

/** Counts of a run so far (txs unless named otherwise). */
export interface LoadStats {
  /** Due by the schedule (open loop) or generated (closed loop). */
  offered: number;
  /** Left in a request. */
  sent: number;
  /** 202 accepted. */
  accepted: number;
  /** 200 duplicate (already pending or committed there: acknowledged too). */
  duplicate: number;
  /** Refused by a full mempool (503 MEMPOOL_FULL: the item `full` and those `skipped` after it). */
  rejected503: number;
  invalid: number;
  /** Txs of requests that failed (no answer, or an error status) and items answered `error`. */
  failedTxs: number;
  failedRequests: number;
  /** Open loop: due txs the generator did not send because `maxInFlight` requests were already out. */
  shed: number;
}

/** Shortest tx `LoadTxs` can make: the KV header, a 34-byte key and a 4-byte value length. */
export const MIN_LOAD_TX_BYTES = 48;
/** Decimal digits of the index in the key (indices up to 10^10). */
const INDEX_DIGITS = 10;

/**
 * The txs of one run: KV puts of exactly `size` bytes, key `load/<run>/<index, 10 digits>`, nonce = the index (as a
 * float64), value bytes 'a'. All share one template; `write` patches the nonce and the key digits.
 */
export class LoadTxs {
  private readonly template: Uint8Array;
  private readonly digitsAt: number;
  /** Where the KV put starts in the tx (after a para tx's tag and title). */
  private readonly kvAt: number;

  constructor(
    readonly runId: string,
    readonly size: number,
    paraTitle?: string,
  ) {
    const key = utf8(`load/${runId}/${"0".repeat(INDEX_DIGITS)}`);
    this.kvAt = paraTitle === undefined ? 0 : 2 + utf8(paraTitle).length;
    const valueLen = size - this.kvAt - 12 - key.length - 4;
    if (valueLen < 0) throw new RangeError(`a load tx of run "${runId}" needs at least ${size - valueLen} bytes, asked for ${size}`);
    const kv = encodeKvTx({ op: "put", nonce: new Uint8Array(8), key, value: new Uint8Array(valueLen).fill(0x61) });
    this.template = paraTitle === undefined ? kv : encodeParaTx(paraTitle, kv);
    // Layout (kvTx.ts): version, op, nonce (8), key length (2), key.
    this.digitsAt = this.kvAt + 12 + key.length - INDEX_DIGITS;
  }

  /** Writes tx `index` into `out` at `offset` (size bytes). */
  write(index: number, out: Uint8Array, offset: number): void {
    out.set(this.template, offset);
    new DataView(out.buffer, out.byteOffset + offset + this.kvAt + 2, 8).setFloat64(0, index);
    let v = index;
    for (let d = INDEX_DIGITS - 1; d >= 0; d--) {
      out[offset + this.digitsAt + d] = 0x30 + (v % 10);
      v = Math.floor(v / 10);
    }
  }

  /** Tx `index` as a new array. */
  tx(index: number): Uint8Array {
    const out = new Uint8Array(this.size);
    this.write(index, out, 0);
    return out;
  }
}

/** Key-value put of exactly `size` bytes: tx `index` of run `runId` (see LoadTxs). */
export function loadTx(runId: string, index: number, size: number): Uint8Array {
  return new LoadTxs(runId, size).tx(index);
}

export class LoadGenerator {
  readonly runId = randomBytes(4).toString("hex");
  readonly stats: LoadStats = { offered: 0, sent: 0, accepted: 0, duplicate: 0, rejected503: 0, invalid: 0, failedTxs: 0, failedRequests: 0, shed: 0 };
  /** id → tx index of every sent tx (with trackIds). */
  readonly ids: TxIdIndex;
  /** 1 for a tx a node acknowledged (202, or 200 duplicate), by index (with trackIds). */
  readonly acked = new GrowableBytes();
  /** When the run started (`performance.now()`). */
  t0 = 0;
  private readonly txs: LoadTxs;
  private readonly clients: RpcClient[];
  private readonly restUntil: number[];
  private readonly maxInFlight: number;
  private readonly slotMs: number;
  /** Closed loop: when each tx was first sent. */
  private readonly firstSent = new GrowableTimes();
  /** Closed loop: indices waiting to be sent again (503, failed request). */
  private readonly retry: number[] = [];
  private next = 0;
  private nextNode = 0;
  private inFlight = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private stopped = false;
  private idle: (() => void)[] = [];

  constructor(private readonly o: LoadOptions) {
    if (o.urls.length === 0) throw new RangeError("LoadGenerator: no node URLs");
    this.txs = new LoadTxs(this.runId, o.txBytes, o.paraTitle);
    this.clients = o.urls.map((url) => new RpcClient({ url, timeoutMs: 30_000 }));
    this.restUntil = o.urls.map(() => 0);
    this.maxInFlight = Math.max(1, o.maxInFlight ?? (o.rate > 0 ? DEFAULT_MAX_IN_FLIGHT : 4));
    this.slotMs = Math.max(1, o.slotMs ?? DEFAULT_SLOT_MS);
    this.ids = new TxIdIndex(o.trackIds ? (o.total ?? 1 << 20) : 0);
  }

  /** Txs acknowledged by a node (accepted or found already there). */
  get confirmed(): number {
    return this.stats.accepted + this.stats.duplicate;
  }

  get requestsInFlight(): number {
    return this.inFlight;
  }

  /** Whether every transaction of a bounded run has left (open loop) or been acknowledged (closed loop). */
  get complete(): boolean {
    if (this.o.total === undefined) return false;
    return this.o.rate > 0 ? this.stats.offered >= this.o.total : this.confirmed + this.stats.invalid >= this.o.total;
  }

  /** When tx `index` was due: its slot in the schedule (open loop), its first send (closed loop); ms, performance.now(). */
  dueAt(index: number): number {
    return this.o.rate > 0 ? this.t0 + (1000 * index) / this.o.rate : this.firstSent.get(index);
  }

  /** Indices below this have been offered (sent, shed or queued). */
  get indexLimit(): number {
    return this.next;
  }

  /** The id of tx `index`: SHA-256 of its bytes (node:crypto). */
  idOf(index: number): Uint8Array {
    return hash("sha256", this.txs.tx(index), "buffer");
  }

  start(): void {
    this.t0 = performance.now();
    this.timer = setInterval(() => this.pump(), this.o.rate > 0 ? this.slotMs : 10);
    this.pump();
  }

  /** Stops generating and waits for the requests in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    if (this.inFlight > 0) await new Promise<void>((r) => this.idle.push(r));
  }

  /** Resolves when a bounded run is complete (see `complete`) and nothing is in flight, or on `stop()`. */
  async finished(): Promise<void> {
    while (!(this.complete && this.inFlight === 0) && !this.stopped) await new Promise<void>((r) => this.idle.push(r));
  }

  private pump(): void {
    if (this.stopped) return;
    if (this.o.rate > 0) this.pumpOpen();
    else this.pumpClosed();
  }

  private pumpOpen(): void {
    const elapsed = (performance.now() - this.t0) / 1000;
    let due = Math.floor(this.o.rate * elapsed);
    if (this.o.total !== undefined) due = Math.min(due, this.o.total);
    const count = due - this.next;
    if (count <= 0) return;
    this.stats.offered += count;
    // As few requests as `batch` allows, the nodes taking turns: a request costs the generator ~0.1 ms of fetch
    // machinery whatever it carries, so splitting every slot over every node (400 requests/s) cost more than the txs.
    const requests = Math.ceil(count / this.o.batch);
    const per = Math.ceil(count / requests);
    for (let from = this.next; from < due; from += per) {
      const n = Math.min(per, due - from);
      if (this.inFlight >= this.maxInFlight) {
        this.stats.shed += n;
        continue;
      }
      const node = this.nextNode;
      this.nextNode = (node + 1) % this.clients.length;
      this.send(node, range(from, n));
    }
    this.next = due;
    this.wake();
  }

  private pumpClosed(): void {
    const now = performance.now();
    while (this.inFlight < this.maxInFlight) {
      const node = this.pickRested(now);
      if (node < 0) return;
      const batch: number[] = this.retry.splice(0, this.o.batch);
      while (batch.length < this.o.batch && (this.o.total === undefined || this.next < this.o.total)) {
        this.firstSent.set(this.next, performance.now());
        batch.push(this.next++);
        this.stats.offered++;
      }
      if (batch.length === 0) return;
      this.send(node, batch);
    }
  }

  private pickRested(now: number): number {
    for (let k = 0; k < this.clients.length; k++) {
      const i = (this.nextNode + k) % this.clients.length;
      if (this.restUntil[i]! <= now) {
        this.nextNode = (i + 1) % this.clients.length;
        return i;
      }
    }
    return -1;
  }

  private send(node: number, indices: readonly number[]): void {
    // The request body itself (encodeTxBatchBody's layout: length u32 BE ‖ tx, back to back), written in place.
    const size = this.o.txBytes;
    const body = new Uint8Array(indices.length * (4 + size));
    const view = new DataView(body.buffer);
    for (let k = 0; k < indices.length; k++) {
      const index = indices[k]!;
      const off = k * (4 + size);
      view.setUint32(off, size);
      this.txs.write(index, body, off + 4);
      if (this.o.trackIds) this.ids.add(hash("sha256", body.subarray(off + 4, off + 4 + size), "buffer"), index);
    }
    this.inFlight++;
    this.stats.sent += indices.length;
    const closed = this.o.rate === 0;
    this.clients[node]!.submitTxBatchBody(body, indices.length).then(
      (out) => {
        let rest = false;
        out.results.forEach((r, k) => {
          const index = indices[k]!;
          switch (r.status) {
            case "accepted":
            case "duplicate":
              if (r.status === "accepted") this.stats.accepted++;
              else this.stats.duplicate++;
              if (this.o.trackIds) this.acked.set(index, 1);
              break;
            case "invalid":
              this.stats.invalid++;
              break;
            case "full":
            case "skipped":
              this.stats.rejected503++;
              rest = true;
              if (closed) this.retry.push(index);
              break;
            default:
              this.stats.failedTxs++;
              rest = true;
              if (closed) this.retry.push(index);
          }
        });
        if (rest && closed) this.restUntil[node] = performance.now() + 1000 * Math.max(0.1, out.retryAfterSec ?? 0.2);
        this.settle();
      },
      () => {
        this.stats.failedRequests++;
        this.stats.failedTxs += indices.length;
        if (closed) {
          this.retry.push(...indices);
          this.restUntil[node] = performance.now() + 1000;
        }
        this.settle();
      },
    );
  }

  private settle(): void {
    this.inFlight--;
    this.wake();
    if (!this.stopped && this.o.rate === 0) this.pumpClosed();
  }

  /** Wakes `stop()`/`finished()` whenever nothing is in flight (they check their own condition again). */
  private wake(): void {
    if (this.inFlight > 0) return;
    const waiters = this.idle;
    this.idle = [];
    for (const w of waiters) w();
  }
}

function range(from: number, n: number): number[] {
  const out = new Array<number>(n);
  for (let k = 0; k < n; k++) out[k] = from + k;
  return out;
}
