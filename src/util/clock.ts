/**
 * Time as a collaborator. Everything in Quire that waits (network timers, delays in the in-memory network, later the
 * pacemaker's shell) takes a `Scheduler` instead of calling `setTimeout`/`performance.now` directly, so the simulator
 * can run the same code on virtual time with `ManualScheduler` and replay a run exactly from a seed.
 */

/** Milliseconds on a monotonic clock. Only differences are meaningful (not wall-clock time). */
export interface Clock {
  now(): number;
}

/** A pending callback; `cancel()` is idempotent and harmless after the callback ran. */
export interface TimerHandle {
  cancel(): void;
}

/** A clock that can run callbacks later. Callbacks never run synchronously inside `setTimeout`. */
export interface Scheduler extends Clock {
  /** Runs `fn` once, no earlier than `delayMs` (clamped to >= 0) from now. */
  setTimeout(fn: () => void, delayMs: number): TimerHandle;
}

/**
 * Real time: Node timers, and `performance.now()` by default. The node's consensus shell passes `Date.now` instead:
 * its clock also stamps blocks, which carry milliseconds since the Unix epoch.
 */
export class SystemScheduler implements Scheduler {
  constructor(private readonly clock: () => number = () => performance.now()) {}

  now(): number {
    return this.clock();
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const t = setTimeout(fn, Math.max(0, delayMs));
    return { cancel: () => clearTimeout(t) };
  }
}

interface ManualEntry {
  at: number;
  seq: number;
  fn: (() => void) | null; // null once cancelled or run
}

/**
 * Virtual time for tests and the simulator. Nothing happens until the owner steps time:
 *
 * - `runNext()` jumps to the earliest pending event and runs it (and only it);
 * - `advance(ms)` runs, in order, every event due up to `now + ms` (including events those events schedule inside
 *   the window) and leaves `now` at exactly `now + ms`;
 * - `runUntilIdle(maxEvents)` keeps jumping until nothing is pending (bounded, since timers may re-arm forever).
 *
 * Events are ordered by (time, scheduling order), so a run is a pure function of the calls made: no wall clock,
 * no hidden randomness. Time never goes backwards.
 */
export class ManualScheduler implements Scheduler {
  private t: number;
  private seq = 0;
  private live = 0;
  // Binary min-heap on (at, seq).
  private readonly heap: ManualEntry[] = [];

  constructor(startMs = 0) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const d = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
    const e: ManualEntry = { at: this.t + d, seq: this.seq++, fn };
    this.push(e);
    this.live++;
    return {
      cancel: () => {
        if (e.fn !== null) {
          e.fn = null;
          this.live--;
        }
      },
    };
  }

  /** Number of events scheduled and not yet run or cancelled. */
  pending(): number {
    return this.live;
  }

  /** Time of the earliest pending event, or undefined when idle. */
  nextAt(): number | undefined {
    this.dropCancelled();
    return this.heap[0]?.at;
  }

  /** Jumps to the earliest pending event and runs it. Returns false when nothing is pending. */
  runNext(): boolean {
    this.dropCancelled();
    const e = this.pop();
    if (e === undefined) return false;
    if (e.at > this.t) this.t = e.at;
    const fn = e.fn!;
    e.fn = null;
    this.live--;
    fn();
    return true;
  }

  /** Runs every event due within the next `ms` milliseconds, then sets the clock to `now + ms`. Returns events run. */
  advance(ms: number): number {
    if (!(ms >= 0)) throw new RangeError(`advance: ms must be >= 0, got ${ms}`);
    return this.advanceTo(this.t + ms);
  }

  /** Like `advance`, to an absolute time (no-op on time if `at` is in the past, but due events still run). */
  advanceTo(at: number): number {
    let n = 0;
    for (;;) {
      this.dropCancelled();
      const head = this.heap[0];
      if (head === undefined || head.at > at) break;
      this.runNext();
      n++;
    }
    if (at > this.t) this.t = at;
    return n;
  }

  /**
   * Runs events until none is pending or `maxEvents` ran (then throws: a timer that re-arms forever would otherwise
   * hang the caller). Returns the number of events run.
   */
  runUntilIdle(maxEvents = 1_000_000): number {
    let n = 0;
    while (this.runNext()) {
      if (++n >= maxEvents && this.live > 0) throw new RangeError(`runUntilIdle: still busy after ${maxEvents} events`);
    }
    return n;
  }

  /**
   * Runs events in order until `done()` is true (checked before each event) or virtual time would pass `deadlineMs`
   * (absolute). Returns whether `done()` became true.
   */
  runUntil(done: () => boolean, deadlineMs: number): boolean {
    for (;;) {
      if (done()) return true;
      this.dropCancelled();
      const head = this.heap[0];
      if (head === undefined || head.at > deadlineMs) {
        if (deadlineMs > this.t) this.t = deadlineMs;
        return done();
      }
      this.runNext();
    }
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && this.heap[0]!.fn === null) this.pop();
  }

  private less(a: ManualEntry, b: ManualEntry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(e: ManualEntry): void {
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

  private pop(): ManualEntry | undefined {
    const h = this.heap;
    const top = h[0];
    if (top === undefined) return undefined;
    const last = h.pop()!;
    if (h.length > 0) {
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
