/**
 * `GET /v1/health`: is this node useful to its network right now? The answer monitoring tools poll (a load balancer
 * or an alert rule reads the status, 200 or 503; people read `reason` and `detail`). One pure function over a few
 * figures the node reads from its transport, store and shell, so the rule is tested without a network.
 *
 * Reasons, checked in this order (the first that holds is reported: each explains the ones after it):
 *   NO_PEERS        fewer than quorum − 1 peers connected: with itself the node is not part of any quorum, so it can
 *                   neither help certify blocks nor expect to commit (1 of 1 validators needs no peer);
 *   CATCHING_UP     the catch-up component is fetching committed ranges (node/catchUp.ts: a peer announced a height
 *                   more than `behindBlocks` above ours): the node's reads are stale;
 *   NOT_COMMITTING  no commit for longer than `notCommittingThresholdMs`.
 *
 * The threshold must not flap on an idle chain: a leader with an empty mempool proposes an empty block after
 * `block.emptyIntervalMs` (250 ms by default), so an idle 4-node chain still commits several blocks a second. And it
 * must ride out leader faults: a crashed leader costs a view timeout, consecutive failed views back off
 * (base 1 s × 2 per failed view by default: 1 + 2 + 4 = 7 s for three in a row); `quire bench faults` measured the
 * longest commit gap after a leader kill at 642 ms worst (README, *Faults*). So: max(10 s, 10 base view timeouts,
 * 10 empty-block intervals) — 10 s with the defaults, well clear of both, and it scales with a slower genesis.
 */
import type { HealthReason, NodeHealth } from "../rpc/api.js";
import { quorumSize } from "../domain/quorum.js";

/** The floor of the NOT_COMMITTING threshold (see the file comment). */
export const MIN_NOT_COMMITTING_MS = 10_000;

/** How long without a commit before NOT_COMMITTING, for a view timer of `baseTimeoutMs` and empty blocks every `emptyIntervalMs`. */
export function notCommittingThresholdMs(baseTimeoutMs: number, emptyIntervalMs: number): number {
  return Math.max(MIN_NOT_COMMITTING_MS, 10 * baseTimeoutMs, 10 * emptyIntervalMs);
}

/** Validator peers a validator needs connected to be part of a quorum with itself: quorum − 1 (0 for n = 1). */
export function peersNeededForQuorum(validatorCount: number): number {
  return Math.max(0, quorumSize(validatorCount) - 1);
}

/**
 * The highest committed height at least one honest peer vouches for: the (f+1)-th highest of the heights the peers
 * announced. With at most f liars among them, one of the f+1 highest is honest, so a single peer announcing 10^9
 * cannot hold an honest, committing node in CATCHING_UP (review finding). -1 when fewer than f+1 peers announced.
 */
export function honestBackedHeight(announced: Iterable<number>, f: number): number {
  const sorted = [...announced].sort((a, b) => b - a);
  return sorted.length > f ? sorted[f]! : -1;
}

/** What the health rule reads. */
export interface HealthFigures {
  readonly committedHeight: number;
  /** Milliseconds since the last commit (since start before the first). */
  readonly lastCommitAgeMs: number;
  readonly notCommittingAfterMs: number;
  readonly peersConnected: number;
  /** Peers there are, and how many must be connected (a validator: `peersNeededForQuorum`). */
  readonly peersTotal: number;
  readonly peersNeeded: number;
  /** Catch-up is fetching ranges; `catchUpTarget` is the highest height a peer announced. */
  readonly catchingUp: boolean;
  readonly catchUpTarget: number;
  /** Why the node stopped committing on purpose (a para node's sender, para/sender.ts), or null. */
  readonly stalled?: string | null;
}

export function assessHealth(f: HealthFigures): NodeHealth {
  const { peersNeeded } = f;
  let reason: HealthReason | null = null;
  let detail: string | null = null;
  if (f.peersConnected < peersNeeded) {
    reason = "NO_PEERS";
    detail = `${f.peersConnected} of ${f.peersTotal} peers connected; ${peersNeeded} needed`;
  } else if (f.catchingUp) {
    reason = "CATCHING_UP";
    detail = `catching up: committed height ${f.committedHeight}, peers announced ${f.catchUpTarget}`;
  } else if (f.stalled !== undefined && f.stalled !== null) {
    reason = "NOT_COMMITTING";
    detail = `stalled: ${f.stalled}`;
  } else if (f.lastCommitAgeMs > f.notCommittingAfterMs) {
    reason = "NOT_COMMITTING";
    detail = `no commit for ${f.lastCommitAgeMs} ms (threshold ${f.notCommittingAfterMs} ms) at height ${f.committedHeight}`;
  }
  return {
    ok: reason === null,
    reason,
    detail,
    committedHeight: f.committedHeight,
    lastCommitAgeMs: f.lastCommitAgeMs,
    notCommittingAfterMs: f.notCommittingAfterMs,
    peersConnected: f.peersConnected,
    peersNeeded,
  };
}
