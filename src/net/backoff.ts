/** Reconnect delays: exponential back-off with jitter, capped. */
export interface BackoffOptions {
  /** First delay's upper bound, ms. */
  initialMs: number;
  /** Cap on the exponential term, ms: the delay never exceeds it. */
  maxMs: number;
  /** Growth factor per failed attempt. */
  factor: number;
}

/**
 * Validators are few and known, and a refused dial to a dead peer costs one SYN: the cap is kept under a second so a
 * restarted validator is linked again within 1 s of listening (issue 10), at about 1.5 dials per second per dead peer.
 */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 50, maxMs: 800, factor: 2 };

/**
 * Delay before reconnect attempt `attempt` (0-based): "equal jitter", uniform in [cap/2, cap] where
 * cap = min(maxMs, initialMs · factor^attempt). Half fixed so a flapping peer is not hammered, half random so n
 * validators that lost a link at the same moment do not reconnect in lock-step. `random()` is uniform in [0, 1).
 */
export function backoffDelay(attempt: number, o: BackoffOptions, random: () => number): number {
  const cap = Math.min(o.maxMs, o.initialMs * Math.pow(o.factor, Math.min(attempt, 64)));
  return cap / 2 + random() * (cap / 2);
}
