/**
 * What every simulated run is checked against (issue 5, item 5):
 *
 * - safety: no two honest replicas commit different blocks at the same height (with heights contiguous, this is the
 *   same as "committed chains are prefixes of each other");
 * - validity: an honest replica commits only blocks that some instance proposed, each once, in parent order
 *   (heights 1, 2, 3, … each extending the previous one, starting from genesis);
 * - liveness: after GST, with at most f faulty validators, every live honest replica commits within the bound and
 *   keeps committing (no gap longer than the bound until the end of the run).
 *
 * - persistence: a vote, timeout or proposal of a replica leaves only when the safety state already on its disk
 *   covers exactly that message (`uncoveredSend`); a breach is reported as a safety violation, since a replica that
 *   restarts without it may sign a conflicting message for the same view.
 *
 * "Honest" excludes Byzantine validators (all their instances); crash-stopped replicas are honest for safety and
 * validity (what they committed before crashing must agree) but excused from liveness.
 */
import { bytesEqual, toHex } from "../util/bytes.js";
import { bytesKey } from "../util/bytes.js";
import type { CommittedBlock, SafetyState } from "../consensus/types.js";
import type { Message } from "../domain/types.js";

export interface CommitRecord {
  readonly height: number;
  readonly view: number;
  readonly hash: string;
  readonly parent: string;
  readonly at: number;
  /** The block's timestamp: when its proposer proposed it (virtual ms). */
  readonly proposedAt: number;
  /** The signer bitmap of the QC it was committed with (positions in its epoch's set). */
  readonly qcSigners: Uint8Array;
}

export type ViolationKind = "safety" | "validity" | "liveness" | "para";

export interface Violation {
  readonly kind: ViolationKind;
  readonly message: string;
  /** Instances involved (for the trace). */
  readonly instances: readonly number[];
  /** The height at stake (safety/validity), if any. */
  readonly height?: number;
}

/** A line of the run's trace (kept only when tracing is on: a failing seed is replayed with it). */
export interface TraceEvent {
  readonly at: number;
  readonly instance: number;
  readonly kind: string;
  readonly view: number;
  readonly text: string;
}

/** Collects what the checkers need while the run goes. */
export class RunRecorder {
  /** Hex hashes of every block any instance proposed (Byzantine copies included). */
  readonly proposals = new Set<string>();
  readonly commits: CommitRecord[][];
  messages = 0;
  readonly trace: TraceEvent[] | null;
  private readonly canon = new Map<string, { block: CommittedBlock; hash: string; parent: string }>();

  constructor(instances: number, tracing: boolean) {
    this.commits = Array.from({ length: instances }, () => []);
    this.trace = tracing ? [] : null;
  }

  /** Votes, timeouts or proposals that left an instance before the safety state covering them was persisted. */
  readonly unpersistedSends: Violation[] = [];

  unpersisted(instance: number, kind: string, view: number, at: number): void {
    this.unpersistedSends.push({ kind: "safety", message: `replica ${instance} sent a ${kind} for view ${view} at ${at.toFixed(1)} ms before persisting the safety state that covers it`, instances: [instance] });
  }

  /**
   * Checks one message leaving `instance` (which signs as `validator`) against the safety state on its disk at that
   * moment (null: nothing persisted yet), and records it when that state does not cover it (see `uncoveredSend`).
   */
  sent(instance: number, validator: number, persisted: SafetyState | null, message: Message, at: number): void {
    const u = uncoveredSend(persisted, message, validator);
    if (u !== null) this.unpersisted(instance, u.kind, u.view, at);
  }

  /** Validator-set epochs each instance started (reconfig runs), in order, restarts included. */
  readonly epochs = new Map<number, { readonly epoch: number; readonly startHeight: number; readonly members: string }[]>();

  epochStarted(instance: number, epoch: number, startHeight: number, members: readonly number[]): void {
    let log = this.epochs.get(instance);
    if (log === undefined) this.epochs.set(instance, (log = []));
    log.push({ epoch, startHeight, members: members.join(",") });
  }

  proposed(hash: Uint8Array): void {
    this.proposals.add(toHex(hash));
  }

  /**
   * Records commits and returns the blocks to store, interned by hash: every replica that commits a block keeps the
   * same (immutable) object, and every record shares the same hex strings, so a 10,000-view run does not keep four
   * decoded copies of the chain alive (their garbage-collection cost dominated long runs).
   */
  committed(instance: number, blocks: readonly CommittedBlock[], at: number): CommittedBlock[] {
    const log = this.commits[instance]!;
    const out: CommittedBlock[] = [];
    for (const b of blocks) {
      const key = bytesKey(b.hash);
      let c = this.canon.get(key);
      if (c === undefined) {
        // Hex once per block (for reports); the parent's hex is shared with the parent's own entry.
        c = { block: b, hash: toHex(b.hash), parent: this.canon.get(bytesKey(b.block.header.parent))?.hash ?? toHex(b.block.header.parent) };
        this.canon.set(key, c);
      }
      const h = b.block.header;
      log.push({ height: h.height, view: h.view, hash: c.hash, parent: c.parent, at, proposedAt: h.timestampMs, qcSigners: b.qc.signers });
      out.push(c.block);
      this.trace?.push({ at, instance, kind: "commit", view: h.view, text: `height ${h.height} ${c.hash.slice(0, 12)}` });
    }
    return out;
  }

  event(at: number, instance: number, kind: string, view: number, text: string): void {
    this.trace?.push({ at, instance, kind, view, text });
  }
}

/** A message of a replica's own that its persisted safety state does not cover. */
export interface UncoveredSend {
  readonly kind: "vote" | "timeout" | "proposal";
  readonly view: number;
}

/**
 * The persist-before-send rule for one outgoing message of validator `self`, given the safety state durable at the
 * moment it leaves (null: none yet). Only messages `self` signed are checked (it also forwards others'), and only those
 * that a restart must not contradict:
 * - a vote must be the persisted last vote itself (same view and block) with lastVotedView raised to its view — a view
 *   merely covered by lastVotedView would also pass a vote sent after timing out in that view, or a second, different
 *   vote in one view;
 * - a timeout must be the persisted last timeout's view, with lastVotedView raised to it (no vote may follow it);
 * - a proposal must be covered by lastProposedView (never two proposals in one view).
 * Returns null when the message is covered or needs nothing.
 */
export function uncoveredSend(persisted: SafetyState | null, m: Message, self: number): UncoveredSend | null {
  if (m.kind === "vote" && m.body.voter === self) {
    const view = m.body.view;
    const last = persisted?.lastVote ?? null;
    const ok = persisted !== null && persisted.lastVotedView >= view && last !== null && last.view === view && bytesEqual(last.blockHash, m.body.blockHash);
    return ok ? null : { kind: "vote", view };
  }
  if (m.kind === "timeout" && m.body.voter === self) {
    const view = m.body.view;
    const ok = persisted !== null && persisted.lastVotedView >= view && persisted.lastTimeout?.view === view;
    return ok ? null : { kind: "timeout", view };
  }
  if (m.kind === "proposal" && m.body.block.header.proposer === self) {
    const view = m.body.block.header.view;
    const ok = persisted !== null && persisted.lastProposedView >= view;
    return ok ? null : { kind: "proposal", view };
  }
  return null;
}

/** Safety: one block per height across honest replicas. Reports each conflicting height once. */
export function checkSafety(rec: RunRecorder, honest: readonly number[]): Violation[] {
  const canon = new Map<number, { hash: string; instance: number }>();
  const out: Violation[] = [];
  const reported = new Set<number>();
  for (const i of honest) {
    for (const c of rec.commits[i]!) {
      const first = canon.get(c.height);
      if (first === undefined) canon.set(c.height, { hash: c.hash, instance: i });
      else if (first.hash !== c.hash && !reported.has(c.height)) {
        reported.add(c.height);
        out.push({
          kind: "safety",
          message: `height ${c.height}: replica ${first.instance} committed ${first.hash.slice(0, 16)} but replica ${i} committed ${c.hash.slice(0, 16)}`,
          instances: [first.instance, i],
          height: c.height,
        });
      }
    }
  }
  return out;
}

/**
 * Epochs (reconfig runs): every honest replica that started epoch k started it at the same height with the same
 * members, and epochs follow each other in order at each replica (a restart may start its current one again).
 */
export function checkEpochs(rec: RunRecorder, honest: readonly number[]): Violation[] {
  const canon = new Map<number, { startHeight: number; members: string; instance: number }>();
  const out: Violation[] = [];
  for (const i of honest) {
    let last = -1;
    for (const e of rec.epochs.get(i) ?? []) {
      if (e.epoch < last) out.push({ kind: "safety", message: `replica ${i} started epoch ${e.epoch} after epoch ${last}`, instances: [i] });
      last = Math.max(last, e.epoch);
      const first = canon.get(e.epoch);
      if (first === undefined) canon.set(e.epoch, { startHeight: e.startHeight, members: e.members, instance: i });
      else if (first.startHeight !== e.startHeight || first.members !== e.members) {
        out.push({
          kind: "safety",
          message: `epoch ${e.epoch}: replica ${first.instance} started it at height ${first.startHeight} with members [${first.members}], replica ${i} at height ${e.startHeight} with [${e.members}]`,
          instances: [first.instance, i],
        });
      }
    }
  }
  return out;
}

/** Validity: proposed blocks only, each once, in parent order from genesis. */
export function checkValidity(rec: RunRecorder, honest: readonly number[], genesisHash: string): Violation[] {
  const out: Violation[] = [];
  for (const i of honest) {
    let prevHash = genesisHash;
    let prevHeight = 0;
    const seen = new Set<string>();
    for (const c of rec.commits[i]!) {
      let problem: string | null = null;
      if (!rec.proposals.has(c.hash)) problem = `committed block ${c.hash.slice(0, 16)} at height ${c.height} that nobody proposed`;
      else if (seen.has(c.hash)) problem = `committed block ${c.hash.slice(0, 16)} twice`;
      else if (c.height !== prevHeight + 1 || c.parent !== prevHash) problem = `committed height ${c.height} (parent ${c.parent.slice(0, 16)}) after height ${prevHeight} (${prevHash.slice(0, 16)})`;
      if (problem !== null) {
        out.push({ kind: "validity", message: `replica ${i}: ${problem}`, instances: [i], height: c.height });
        break; // one report per replica: everything after a broken link is noise
      }
      seen.add(c.hash);
      prevHash = c.hash;
      prevHeight = c.height;
    }
  }
  return out;
}

export interface LivenessReport {
  readonly violations: Violation[];
  /** Longest wait after GST for a first commit, over the checked replicas (null when none was checked). */
  readonly maxFirstCommitAfterGstMs: number | null;
}

/** Liveness after GST for `live` honest replicas, over the run that ended at `endMs`. */
export function checkLiveness(rec: RunRecorder, live: readonly number[], gstMs: number, boundMs: number, endMs: number): LivenessReport {
  const violations: Violation[] = [];
  let maxFirst: number | null = null;
  for (const i of live) {
    let last = gstMs;
    let first: number | null = null;
    let gap: Violation | null = null;
    for (const c of rec.commits[i]!) {
      if (c.at <= gstMs) continue;
      if (first === null) first = c.at - gstMs;
      if (c.at - last > boundMs) {
        gap = { kind: "liveness", message: `replica ${i}: no commit for ${c.at - last} ms after ${last} ms (bound ${boundMs} ms after GST ${gstMs} ms)`, instances: [i] };
        break;
      }
      last = c.at;
    }
    if (first === null) {
      violations.push({ kind: "liveness", message: `replica ${i}: no commit after GST (${gstMs} ms) until the run ended at ${endMs} ms`, instances: [i] });
      continue;
    }
    maxFirst = Math.max(maxFirst ?? 0, first);
    // One report per replica: after a gap, `last` is the commit before it, and an end-of-run report measured from
    // there would name a "last commit" that was not the last.
    if (gap !== null) violations.push(gap);
    else if (endMs - last > boundMs) violations.push({ kind: "liveness", message: `replica ${i}: last commit at ${last} ms, run ended at ${endMs} ms (bound ${boundMs} ms)`, instances: [i] });
  }
  return { violations, maxFirstCommitAfterGstMs: maxFirst };
}

/** Proposal-to-commit latency over the honest replicas' commits. */
export interface CommitLatency {
  /** Blocks measured (committed by at least one of the replicas). */
  readonly blocks: number;
  /** Sum over blocks of (first commit anywhere − proposal): the replica that formed the committing QC. */
  readonly firstSumMs: number;
  /** Commits measured (one per replica and block) and the sum of their latencies. */
  readonly commits: number;
  readonly allSumMs: number;
}

export function commitLatency(rec: RunRecorder, replicas: readonly number[]): CommitLatency {
  const first = new Map<string, number>();
  let commits = 0;
  let allSumMs = 0;
  for (const i of replicas) {
    for (const c of rec.commits[i]!) {
      const ms = c.at - c.proposedAt;
      commits++;
      allSumMs += ms;
      const f = first.get(c.hash);
      if (f === undefined || ms < f) first.set(c.hash, ms);
    }
  }
  let firstSumMs = 0;
  for (const ms of first.values()) firstSumMs += ms;
  return { blocks: first.size, firstSumMs, commits, allSumMs };
}
