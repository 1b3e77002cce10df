/**
 * Fault model of the in-memory network: how long a message takes, and whether it is lost, duplicated or reordered.
 * All randomness comes from one seeded RNG owned by the network, so a run is a function of (seed, inputs).
 */
import type { SeededRng } from "../util/rng.js";

/** One-way delay of a message, in ms. */
export type DelayDistribution =
  | { kind: "fixed"; ms: number }
  | { kind: "uniform"; minMs: number; maxMs: number }
  /** minMs plus an exponential tail with the given mean (a queueing-like spread). */
  | { kind: "exponential"; minMs: number; meanExtraMs: number }
  /** Log-normal around `medianMs` with shape `sigma` (a long WAN-like tail), clamped to [minMs, maxMs]. */
  | { kind: "lognormal"; medianMs: number; sigma: number; minMs: number; maxMs: number };

/** Faults of one directed link (from → to). Probabilities are per message, in [0, 1]. */
export interface LinkFaults {
  delay: DelayDistribution;
  /** The message is dropped. */
  loss: number;
  /** One extra copy is delivered, with its own delay (and outside the link's FIFO order). */
  duplicate: number;
  /** The message leaves the link's FIFO order: it gets `reorderExtraMs` more delay at most, uniformly, and may overtake or be overtaken. */
  reorder: number;
  reorderExtraMs: number;
}

/** No faults: zero delay, FIFO, nothing lost. */
export const PERFECT_LINK: LinkFaults = { delay: { kind: "fixed", ms: 0 }, loss: 0, duplicate: 0, reorder: 0, reorderExtraMs: 0 };

/** Checks a fault description; throws RangeError on nonsense (negative delays, probabilities outside [0,1]). */
export function validateFaults(f: LinkFaults): LinkFaults {
  for (const [k, p] of [["loss", f.loss], ["duplicate", f.duplicate], ["reorder", f.reorder]] as const) {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`${k} must be a probability in [0, 1], got ${p}`);
  }
  if (!(f.reorderExtraMs >= 0)) throw new RangeError("reorderExtraMs must be >= 0");
  const d = f.delay;
  const ok =
    d.kind === "fixed"
      ? d.ms >= 0
      : d.kind === "uniform"
        ? d.minMs >= 0 && d.maxMs >= d.minMs
        : d.kind === "exponential"
          ? d.minMs >= 0 && d.meanExtraMs >= 0
          : d.minMs >= 0 && d.maxMs >= d.minMs && d.medianMs > 0 && d.sigma >= 0;
  if (!ok) throw new RangeError(`invalid delay distribution ${JSON.stringify(d)}`);
  return f;
}

/** Draws one delay. */
export function sampleDelay(d: DelayDistribution, rng: SeededRng): number {
  switch (d.kind) {
    case "fixed":
      return d.ms;
    case "uniform":
      return d.minMs + rng.float() * (d.maxMs - d.minMs);
    case "exponential":
      // 1 - u is in (0, 1], so the log is finite.
      return d.minMs - d.meanExtraMs * Math.log(1 - rng.float());
    case "lognormal": {
      // Box–Muller from two uniforms.
      const u1 = 1 - rng.float();
      const u2 = rng.float();
      const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
      return Math.min(d.maxMs, Math.max(d.minMs, d.medianMs * Math.exp(d.sigma * z)));
    }
  }
}
