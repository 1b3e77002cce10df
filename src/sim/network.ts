/**
 * What the simulator needs from a network and a clock: the subset of the in-memory network (src/net/memoryNetwork.ts)
 * and ManualScheduler (src/util/clock.ts) it uses, so that the simulator's code does not care which one runs it.
 */

/** Virtual time. */
export interface SimScheduler {
  now(): number;
  setTimeout(fn: () => void, delayMs: number): { cancel(): void };
  /** Runs events in order until `done()` (checked before each event) or time would pass `deadlineMs`. */
  runUntil(done: () => boolean, deadlineMs: number): boolean;
}

/** One-way delay of a message, in ms. */
export type SimDelay = { kind: "fixed"; ms: number } | { kind: "uniform"; minMs: number; maxMs: number };

/** Faults of every link. Probabilities per message. */
export interface SimFaults {
  delay: SimDelay;
  loss: number;
  duplicate: number;
  reorder: number;
  reorderExtraMs: number;
}

export const NO_FAULTS: SimFaults = { delay: { kind: "fixed", ms: 0 }, loss: 0, duplicate: 0, reorder: 0, reorderExtraMs: 0 };

/** One instance's endpoint. Messages to a stopped endpoint, or across a partition, are lost. */
export interface SimEndpoint {
  setHandler(onMessage: (from: number, payload: Uint8Array) => void): void;
  start(): void;
  stop(): void;
  send(to: number, payload: Uint8Array): void;
}

export interface SimNetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
}

export interface SimNetwork {
  endpoint(i: number): SimEndpoint;
  setFaults(faults: Partial<SimFaults>): void;
  partition(groups: readonly (readonly number[])[]): { heal(): void };
  heal(): void;
  stats(): SimNetworkStats;
}
