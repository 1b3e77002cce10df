/**
 * View timer with exponential back-off. The duration of view v grows with the number of views since the last
 * certified progress (v − highQc.view − 1): every view that ended without a QC doubles the next timer (factor 2 by
 * default), up to a cap; a QC resets it. On the happy path v = highQc.view + 1 and the timer is the base duration.
 *
 * Why back-off: after GST, honest replicas whose views differ need timers long enough to overlap in one view with an
 * honest leader; growing timers guarantee that eventually, whatever the unknown delay bound is (up to the cap, which
 * must exceed a few message delays). The cap keeps recovery bounded once the network is good again.
 */
import { ConsensusError } from "./errors.js";

export interface PacemakerConfig {
  /** Timer of a view that follows a QC. */
  readonly baseTimeoutMs: number;
  /** Multiplier per view without certified progress (>= 1). */
  readonly backoffFactor: number;
  /** Upper bound of any view timer. */
  readonly maxTimeoutMs: number;
}

/**
 * Defaults for a LAN/WAN network: 1 s after a QC, doubling, at most 16 s. The simulator uses its own, scaled to its
 * virtual link delays (sim/scenario.ts).
 */
export const DEFAULT_PACEMAKER: PacemakerConfig = { baseTimeoutMs: 1_000, backoffFactor: 2, maxTimeoutMs: 16_000 };

export function checkPacemaker(c: PacemakerConfig): PacemakerConfig {
  if (!(c.baseTimeoutMs > 0) || !(c.backoffFactor >= 1) || !(c.maxTimeoutMs >= c.baseTimeoutMs)) {
    throw new ConsensusError("BAD_CONFIG", `invalid pacemaker ${JSON.stringify(c)}: need baseTimeoutMs > 0, backoffFactor >= 1, maxTimeoutMs >= baseTimeoutMs`);
  }
  return c;
}

/** Timer duration of `view` given the highest QC's view. */
export function viewDuration(c: PacemakerConfig, view: number, highQcView: number): number {
  const missed = Math.max(0, view - highQcView - 1);
  // Cap the exponent before exponentiating: 2^1000 is Infinity, and min(Infinity, cap) is fine, but be explicit.
  const steps = Math.min(missed, 64);
  return Math.min(c.maxTimeoutMs, c.baseTimeoutMs * Math.pow(c.backoffFactor, steps));
}
