/**
 * A growable ring-buffer FIFO. `Array.prototype.shift` is O(n) once V8 stops left-trimming large arrays, and the
 * transport's queues see a push and a shift per message at a million messages per second, so they use this.
 */
export class Deque<T> {
  private buf: (T | undefined)[];
  private head = 0;
  private len = 0;
  private mask: number;

  constructor(initialCapacity = 16) {
    let cap = 4;
    while (cap < initialCapacity) cap *= 2;
    this.buf = new Array<T | undefined>(cap);
    this.mask = cap - 1;
  }

  get length(): number {
    return this.len;
  }

  push(x: T): void {
    if (this.len === this.buf.length) this.grow();
    this.buf[(this.head + this.len) & this.mask] = x;
    this.len++;
  }

  /** The oldest element, or undefined when empty. */
  peek(): T | undefined {
    return this.len === 0 ? undefined : this.buf[this.head];
  }

  /** The element `i` places after the oldest (0 = oldest), or undefined when out of range. */
  at(i: number): T | undefined {
    return i < 0 || i >= this.len ? undefined : this.buf[(this.head + i) & this.mask];
  }

  /** Removes and returns the oldest element. */
  shift(): T | undefined {
    if (this.len === 0) return undefined;
    const x = this.buf[this.head];
    this.buf[this.head] = undefined; // release the reference for the GC
    this.head = (this.head + 1) & this.mask;
    this.len--;
    return x;
  }

  /** Removes and returns the element at position 1 (the second oldest). Used to drop behind an in-flight head. */
  removeSecond(): T | undefined {
    if (this.len < 2) return undefined;
    const first = this.shift()!;
    const second = this.shift()!;
    // Put the head back in front: step the ring back by one.
    this.head = (this.head - 1) & this.mask;
    this.buf[this.head] = first;
    this.len++;
    return second;
  }

  clear(): void {
    this.buf = new Array<T | undefined>(this.buf.length);
    this.head = 0;
    this.len = 0;
  }

  private grow(): void {
    const old = this.buf;
    const next = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.len; i++) next[i] = old[(this.head + i) & this.mask];
    this.buf = next;
    this.head = 0;
    this.mask = next.length - 1;
  }
}
