/**
 * A token bucket of `perSec` tokens a second, holding at most one second's worth (the burst). The caller passes a
 * monotonic clock in ms; the first `take` finds the bucket full. Used where local work is paid for per message or per
 * submission (geo share checks, evidence admission checks); never read by anything replicas must agree on.
 */
export class TokenBucket {
  private tokens: number;
  private at = -Infinity;

  constructor(private readonly perSec: number) {
    if (!(perSec > 0)) throw new RangeError("a token bucket needs a positive rate");
    this.tokens = perSec;
  }

  /** Takes one token at `now`; false (nothing taken) when the bucket holds less than one. */
  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds from `now` until one token is back (0 when one is there). */
  retryAfterMs(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.perSec) * 1000);
  }

  private refill(now: number): void {
    if (this.at !== -Infinity) this.tokens = Math.min(this.perSec, this.tokens + ((now - this.at) * this.perSec) / 1000);
    this.at = now;
  }
}
