/**
 * Equivocation detection: the first proposal, vote and timeout of each validator in each view is remembered; a
 * different second one is evidence (recorded once per validator, view and kind, and counted), an identical one a
 * duplicate. Either way the second message is never acted on.
 *
 * Only messages that passed every other check are recorded, so a malformed or badly signed message can neither frame
 * a validator nor shadow its real message. Memory is bounded: views more than `memoryViews` below the current view
 * are forgotten (nothing that old is acted on anyway), proposals are remembered by header and signature only, and the
 * evidence log keeps the newest `MAX_EVIDENCE` entries (per-validator counts and the number dropped keep the full
 * tally).
 *
 * All three kinds are signed, so every entry is transferable proof; proposal evidence carries the two signed
 * (view, block hash, proposer, signature) tuples that `verifyEquivocationEvidence` (evidence.ts) checks alone.
 */
import type { BlockHeader, SignedProposalHash, Timeout, Vote } from "../../domain/types.js";

/**
 * Evidence entries kept in the log. Not a measured figure: a size bound. An entry holds two votes (~0.5 KB), two
 * block headers with their proposal signatures (~0.8 KB), or two timeouts whose high QCs carry a signer bitmap (n/8 bytes each), so 256 entries stay well
 * under a megabyte for committees of a few hundred validators, while f Byzantine validators produce at most three
 * entries each per view: the log still covers many views of sustained equivocation, and `counts()` never forgets.
 */
export const MAX_EVIDENCE = 256;

export type EvidenceKind = "proposal" | "vote" | "timeout";

/** A validated proposal as the tracker keeps it: its header (not its transactions) and its signed hash. */
export interface TrackedProposal {
  readonly header: BlockHeader;
  readonly signed: SignedProposalHash;
}

/** Two conflicting messages from one validator in one view, each signed by it: transferable proof. */
export type Evidence =
  // Proposals may be megabytes: the signed tuples are the proof (`first`/`second`, a `ProposalEquivocation`), the
  // headers tell an operator what the two blocks were (the txRoot commits to their transactions).
  | { readonly kind: "proposal"; readonly validator: number; readonly view: number; readonly first: SignedProposalHash; readonly second: SignedProposalHash; readonly firstHeader: BlockHeader; readonly secondHeader: BlockHeader }
  | { readonly kind: "vote"; readonly validator: number; readonly view: number; readonly first: Vote; readonly second: Vote }
  | { readonly kind: "timeout"; readonly validator: number; readonly view: number; readonly first: Timeout; readonly second: Timeout };

export type Seen = "new" | "duplicate" | "conflict";

interface Entry<T> {
  readonly key: string;
  readonly message: T;
  reported: boolean;
}

export class EquivocationTracker {
  private readonly proposals = new Map<number, Map<number, Entry<TrackedProposal>>>();
  private readonly votes = new Map<number, Map<number, Entry<Vote>>>();
  private readonly timeouts = new Map<number, Map<number, Entry<Timeout>>>();
  private readonly log: Evidence[] = [];
  private readonly perValidator = new Map<number, number>();
  private floor = 0;
  private dropped = 0;

  constructor(private readonly memoryViews = 64) {}

  /** Whether (validator, view) already has a message of this kind, and if so whether it is the same (`key`). */
  peek(kind: EvidenceKind, validator: number, view: number, key: string): Seen {
    const e = this.table(kind).get(view)?.get(validator);
    if (e === undefined) return "new";
    return e.key === key ? "duplicate" : "conflict";
  }

  /** The first message recorded for (validator, view) of this kind, if any. */
  first(kind: "vote", validator: number, view: number): Vote | undefined;
  first(kind: EvidenceKind, validator: number, view: number): TrackedProposal | Vote | Timeout | undefined {
    return (this.table(kind).get(view)?.get(validator) as Entry<TrackedProposal | Vote | Timeout> | undefined)?.message;
  }

  /** Records a fully validated message. Returns "conflict" (and records evidence once) when it differs from the first. */
  record(kind: "proposal", validator: number, view: number, key: string, message: TrackedProposal): Seen;
  record(kind: "vote", validator: number, view: number, key: string, message: Vote): Seen;
  record(kind: "timeout", validator: number, view: number, key: string, message: Timeout): Seen;
  record(kind: EvidenceKind, validator: number, view: number, key: string, message: TrackedProposal | Vote | Timeout): Seen {
    if (view < this.floor) return "new"; // below memory: the core ignores it anyway
    const table = this.table(kind) as Map<number, Map<number, Entry<TrackedProposal | Vote | Timeout>>>;
    let byValidator = table.get(view);
    if (byValidator === undefined) {
      byValidator = new Map();
      table.set(view, byValidator);
    }
    const e = byValidator.get(validator);
    // A proposal comes as its header and signed hash only: the block body is not needed to tell two proposals apart.
    const kept = message;
    if (e === undefined) {
      byValidator.set(validator, { key, message: kept, reported: false });
      return "new";
    }
    if (e.key === key) return "duplicate";
    if (!e.reported) {
      e.reported = true;
      this.log.push(makeEvidence(kind, validator, view, e, kept));
      if (this.log.length > MAX_EVIDENCE) {
        this.log.shift();
        this.dropped++;
      }
      this.perValidator.set(validator, (this.perValidator.get(validator) ?? 0) + 1);
    }
    return "conflict";
  }

  /** Forgets views below `currentView - memoryViews`. */
  advance(currentView: number): void {
    const floor = currentView - this.memoryViews;
    if (floor <= this.floor) return;
    this.floor = floor;
    for (const t of [this.proposals, this.votes, this.timeouts] as Map<number, unknown>[]) for (const v of t.keys()) if (v < floor) t.delete(v);
  }

  /** The newest `MAX_EVIDENCE` pieces of evidence recorded, oldest first. */
  evidence(): readonly Evidence[] {
    return this.log;
  }

  /** How many pieces of evidence were dropped from the log to keep it at `MAX_EVIDENCE`. */
  evidenceDropped(): number {
    return this.dropped;
  }

  /** Evidence count per validator. */
  counts(): ReadonlyMap<number, number> {
    return this.perValidator;
  }

  private table(kind: EvidenceKind): Map<number, Map<number, Entry<unknown>>> {
    return kind === "proposal" ? this.proposals : kind === "vote" ? this.votes : this.timeouts;
  }
}

function makeEvidence(kind: EvidenceKind, validator: number, view: number, first: Entry<TrackedProposal | Vote | Timeout>, second: TrackedProposal | Vote | Timeout): Evidence {
  switch (kind) {
    case "proposal": {
      const a = first.message as TrackedProposal;
      const b = second as TrackedProposal;
      return { kind, validator, view, first: a.signed, second: b.signed, firstHeader: a.header, secondHeader: b.header };
    }
    case "vote":
      return { kind, validator, view, first: first.message as Vote, second: second as Vote };
    case "timeout":
      return { kind, validator, view, first: first.message as Timeout, second: second as Timeout };
  }
}
