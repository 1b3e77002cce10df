/**
 * TEMPORARY: a minimal virtual-time network for the simulator until src/net's MemoryNetwork lands in main; then
 * sim/network.ts is implemented over it and this file is deleted.
 */
import { SeededRng } from "../util/rng.js";
import { NO_FAULTS } from "./network.js";
import type { SimEndpoint, SimFaults, SimNetwork, SimNetworkStats, SimScheduler } from "./network.js";

interface Entry {
  at: number;
  seq: number;
  fn: (() => void) | null;
}

export class LocalScheduler implements SimScheduler {
  private t = 0;
  private seq = 0;
  private readonly heap: Entry[] = [];

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, delayMs: number): { cancel(): void } {
    const e: Entry = { at: this.t + Math.max(0, delayMs), seq: this.seq++, fn };
    this.push(e);
    return { cancel: () => void (e.fn = null) };
  }

  runUntil(done: () => boolean, deadlineMs: number): boolean {
    for (;;) {
      if (done()) return true;
      while (this.heap.length > 0 && this.heap[0]!.fn === null) this.pop();
      const head = this.heap[0];
      if (head === undefined || head.at > deadlineMs) {
        if (deadlineMs > this.t) this.t = deadlineMs;
        return done();
      }
      this.pop();
      if (head.at > this.t) this.t = head.at;
      const fn = head.fn!;
      head.fn = null;
      fn();
    }
  }

  private less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Entry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

export class LocalNetwork implements SimNetwork {
  private faults: SimFaults = NO_FAULTS;
  private readonly rng: SeededRng;
  private readonly handlers: (((from: number, payload: Uint8Array) => void) | undefined)[];
  private readonly epochs: number[];
  private readonly started: boolean[];
  private readonly lastArrival: number[];
  private partitions: Map<number, number>[] = [];
  private readonly counters: SimNetworkStats = { sent: 0, delivered: 0, dropped: 0 };

  constructor(
    readonly size: number,
    seed: number,
    private readonly scheduler: SimScheduler,
  ) {
    this.rng = new SeededRng(seed);
    this.handlers = new Array(size).fill(undefined);
    this.epochs = new Array<number>(size).fill(0);
    this.started = new Array<boolean>(size).fill(false);
    this.lastArrival = new Array<number>(size * size).fill(0);
  }

  endpoint(i: number): SimEndpoint {
    return {
      setHandler: (h) => void (this.handlers[i] = h),
      start: () => {
        if (this.started[i]) return;
        this.started[i] = true;
        this.epochs[i]!++;
      },
      stop: () => void (this.started[i] = false),
      send: (to, payload) => this.post(i, to, payload),
    };
  }

  setFaults(f: Partial<SimFaults>): void {
    this.faults = { ...this.faults, ...f };
  }

  partition(groups: readonly (readonly number[])[]): { heal(): void } {
    const m = new Map<number, number>();
    groups.forEach((g, gi) => g.forEach((p) => m.set(p, gi)));
    for (let p = 0; p < this.size; p++) if (!m.has(p)) m.set(p, groups.length);
    this.partitions.push(m);
    return { heal: () => void (this.partitions = this.partitions.filter((x) => x !== m)) };
  }

  heal(): void {
    this.partitions = [];
  }

  stats(): SimNetworkStats {
    return { ...this.counters };
  }

  private separated(a: number, b: number): boolean {
    for (const p of this.partitions) if (p.get(a) !== p.get(b)) return true;
    return false;
  }

  private delay(): number {
    const d = this.faults.delay;
    return d.kind === "fixed" ? d.ms : d.minMs + this.rng.float() * (d.maxMs - d.minMs);
  }

  private post(from: number, to: number, payload: Uint8Array): void {
    this.counters.sent++;
    if (!this.started[from] || !this.started[to] || this.separated(from, to) || (this.faults.loss > 0 && this.rng.chance(this.faults.loss))) {
      this.counters.dropped++;
      return;
    }
    const now = this.scheduler.now();
    const epoch = this.epochs[to]!;
    const f = this.faults;
    let at: number;
    if (f.reorder > 0 && this.rng.chance(f.reorder)) at = now + this.delay() + this.rng.float() * f.reorderExtraMs;
    else {
      const k = from * this.size + to;
      at = Math.max(now + this.delay(), this.lastArrival[k]!);
      this.lastArrival[k] = at;
    }
    this.schedule(from, to, payload, epoch, at - now);
    if (f.duplicate > 0 && this.rng.chance(f.duplicate)) this.schedule(from, to, payload, epoch, this.delay());
  }

  private schedule(from: number, to: number, payload: Uint8Array, epoch: number, delay: number): void {
    this.scheduler.setTimeout(() => {
      if (!this.started[to] || this.epochs[to] !== epoch || this.separated(from, to)) {
        this.counters.dropped++;
        return;
      }
      this.counters.delivered++;
      this.handlers[to]?.(from, payload);
    }, delay);
  }
}
