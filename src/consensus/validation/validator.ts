/**
 * Validation in front of the core: turns an authenticated message (`from` is the validator index the link proved) into
 * a verified core `Input`, or a typed rejection. One file per message kind (proposal.ts, vote.ts, timeout.ts,
 * syncResponse.ts), each reading "check origin → check content"; the core's on*.ts handlers then apply.
 *
 * Stateful only in ways that never affect safety: a cache of verified certificates and the equivocation tracker.
 * The replica's current view is passed in by the shell on each call (the view window and stale-timeout routing need
 * it).
 */
import type { Hash, Message } from "../../domain/types.js";
import { blockHasher } from "../blockHash.js";
import type { BlockHasher } from "../blockHash.js";
import { RoundRobinElection } from "../leaderElection.js";
import type { LeaderElection } from "../leaderElection.js";
import type { Input } from "../types.js";
import { REJECT_CODES } from "./codes.js";
import type { RejectCode } from "./codes.js";
import { checkQc, checkTc } from "./context.js";
import type { CheckContext, TxRootFn } from "./context.js";
import { EquivocationTracker } from "./equivocation.js";
import type { Evidence } from "./equivocation.js";
import { evidenceReport } from "./evidence.js";
import type { EvidenceReport } from "./evidence.js";
import { checkProposal } from "./proposal.js";
import { checkSyncResponse } from "./syncResponse.js";
import { checkTimeout } from "./timeout.js";
import { CachingVerifier } from "./verifier.js";
import type { CertificateVerifier } from "./verifier.js";
import { checkVote } from "./vote.js";

export interface ValidatorOptions {
  readonly self: number;
  readonly validatorCount: number;
  /** Hash of the genesis block: the one view-0 QC accepted (without signatures). With `root`, unused. */
  readonly genesisHash: Hash;
  /** An epoch's root (src/node/epochShell.ts) instead of genesis: its QC (`rootQc`) is accepted without signatures. */
  readonly root?: { readonly hash: Hash; readonly view: number };
  /**
   * How far ahead of the current view a vote or timeout may be (default 100). Proposals need no window: a proposal
   * for view v must carry a valid QC or TC of view v − 1, which bounds it by real progress.
   */
  readonly viewWindow?: number;
  /** How far a block timestamp may be ahead of the local clock (default 10 s). */
  readonly maxClockSkewMs?: number;
  /** Views of equivocation memory below the current view (default 64). */
  readonly evidenceMemoryViews?: number;
  /**
   * "verify" (default): every vote's signature is checked here. "defer": optimistic collection (DESIGN §3) — the
   * collector checks the aggregate once and bisects on failure; the aggregator must be built with `optimisticVotes`.
   */
  readonly voteSignatures?: "verify" | "defer";
}

export interface ValidatorModules {
  /** Signature checks; wrapped in a `CachingVerifier` unless it already is one. */
  readonly verifier: CertificateVerifier;
  readonly txRoot: TxRootFn;
  readonly leaders?: LeaderElection;
  /** Must be the replica's block hasher. */
  readonly hashBlock?: BlockHasher;
}

export type Validation = { readonly ok: true; readonly input: Input } | { readonly ok: false; readonly code: RejectCode };

export class MessageValidator {
  private readonly ctx: CheckContext;
  private readonly tracker: EquivocationTracker;
  private readonly rejectCounts = new Map<RejectCode, number>();

  constructor(opts: ValidatorOptions, modules: ValidatorModules) {
    this.tracker = new EquivocationTracker(opts.evidenceMemoryViews ?? 64);
    const verifier = modules.verifier instanceof CachingVerifier ? modules.verifier : new CachingVerifier(modules.verifier);
    this.ctx = {
      self: opts.self,
      n: opts.validatorCount,
      rootHash: opts.root?.hash ?? opts.genesisHash,
      rootView: opts.root?.view ?? 0,
      viewWindow: opts.viewWindow ?? 100,
      maxClockSkewMs: opts.maxClockSkewMs ?? 10_000,
      verifyVotes: (opts.voteSignatures ?? "verify") === "verify",
      leaders: modules.leaders ?? new RoundRobinElection(opts.validatorCount),
      verifier,
      hashBlock: modules.hashBlock ?? blockHasher(),
      txRoot: modules.txRoot,
      tracker: this.tracker,
    };
  }

  /** Validates `msg` from validator `from` for a replica currently in `currentView`, at local time `now`. */
  validate(from: number, msg: Message, currentView: number, now: number): Validation {
    const r = this.check(from, msg, currentView, now);
    if (!r.ok) this.rejectCounts.set(r.code, (this.rejectCounts.get(r.code) ?? 0) + 1);
    return r;
  }

  /** Equivocation evidence recorded so far. */
  evidence(): readonly Evidence[] {
    return this.tracker.evidence();
  }

  /** Evidence dropped from the bounded log (`evidence().length + evidenceDropped()` is the total recorded). */
  evidenceDropped(): number {
    return this.tracker.evidenceDropped();
  }

  /** Evidence count per validator. */
  evidenceCounts(): ReadonlyMap<number, number> {
    return this.tracker.counts();
  }

  /** Evidence recorded so far, dropped entries included (grows by one per new piece of evidence). */
  evidenceTotal(): number {
    return this.tracker.evidence().length + this.tracker.evidenceDropped();
  }

  /** The log and totals for operators, proposal evidence as JSON (evidence.ts). */
  evidenceReport(): EvidenceReport {
    return evidenceReport(this.tracker.evidence(), this.tracker.evidenceDropped(), this.tracker.counts());
  }

  /** Rejections so far, by code (every code present, zeros included). */
  rejections(): Record<RejectCode, number> {
    const out = {} as Record<RejectCode, number>;
    for (const c of REJECT_CODES) out[c] = this.rejectCounts.get(c) ?? 0;
    return out;
  }

  private check(from: number, msg: Message, currentView: number, now: number): Validation {
    this.tracker.advance(currentView);
    const ctx = this.ctx;
    switch (msg.kind) {
      case "proposal": {
        const r = checkProposal(ctx, from, msg.body, now);
        return typeof r === "string" ? { ok: false, code: r } : { ok: true, input: { kind: "proposal", from, proposal: r } };
      }
      case "vote": {
        const r = checkVote(ctx, from, msg.body, currentView);
        return r !== null ? { ok: false, code: r } : { ok: true, input: { kind: "vote", from, vote: msg.body } };
      }
      case "timeout": {
        const r = checkTimeout(ctx, from, msg.body, currentView);
        if (r === "stale") return { ok: true, input: { kind: "staleTimeout", from, view: msg.body.view } };
        return r !== null ? { ok: false, code: r } : { ok: true, input: { kind: "timeout", from, timeout: msg.body } };
      }
      case "qc": {
        const r = checkQc(ctx, msg.body);
        return r !== null ? { ok: false, code: r } : { ok: true, input: { kind: "qc", from, qc: msg.body } };
      }
      case "tc": {
        const r = checkTc(ctx, msg.body);
        return r !== null ? { ok: false, code: r } : { ok: true, input: { kind: "tc", from, tc: msg.body } };
      }
      case "syncResponse": {
        const r = checkSyncResponse(ctx, msg.body, now);
        return typeof r === "string" ? { ok: false, code: r } : { ok: true, input: { kind: "syncResponse", from, requestId: msg.body.requestId, blocks: r } };
      }
      default:
        return { ok: false, code: "NOT_CONSENSUS" };
    }
  }
}
