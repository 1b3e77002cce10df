/**
 * Vote: check origin (sender = voter, we lead the next view) → check content (view window, signature, one vote per
 * voter and view) → the core counts it.
 *
 * In optimistic mode (`verifyVotes` false, DESIGN §3) a vote's signature is not checked here: the collector checks the
 * aggregate of 2f+1 votes once and bisects only if it fails. A conflicting second vote is still verified — together
 * with the first — before it becomes evidence, so an unverified message can never frame a validator.
 */
import { bytesKey } from "../../util/bytes.js";
import { HASH_BYTES, VOTE_SIGNATURE_BYTES } from "../../domain/limits.js";
import type { Vote } from "../../domain/types.js";
import { validIndex, validView } from "./context.js";
import type { CheckContext, Verdict } from "./context.js";

export function checkVote(ctx: CheckContext, from: number, vote: Vote, currentView: number): Verdict {
  if (!validIndex(ctx, vote.voter)) return "UNKNOWN_VALIDATOR";
  if (from !== vote.voter) return "WRONG_SENDER";
  if (!validView(vote.view) || vote.blockHash.length !== HASH_BYTES || vote.signature.length !== VOTE_SIGNATURE_BYTES) return "MALFORMED";
  if (ctx.leaders.leader(vote.view + 1) !== ctx.self) return "NOT_NEXT_LEADER";
  if (vote.view < currentView - 1) return "VIEW_TOO_OLD";
  if (vote.view > currentView + ctx.viewWindow) return "VIEW_TOO_FAR";
  const key = bytesKey(vote.blockHash);
  const seen = ctx.tracker.peek("vote", vote.voter, vote.view, key);
  if (seen === "duplicate") return "DUPLICATE";
  if ((ctx.verifyVotes || seen === "conflict") && !ctx.verifier.verifyVote(vote)) return "BAD_SIGNATURE";
  if (seen === "conflict" && !ctx.verifyVotes) {
    const first = ctx.tracker.first("vote", vote.voter, vote.view);
    // An unverified first vote that turns out invalid makes this no provable equivocation: refuse, record nothing.
    if (first !== undefined && !ctx.verifier.verifyVote(first)) return "EQUIVOCATION";
  }
  const result = ctx.tracker.record("vote", vote.voter, vote.view, key, vote);
  if (result !== "new") return result === "duplicate" ? "DUPLICATE" : "EQUIVOCATION";
  return null;
}
