/**
 * Vote: check origin (sender = voter, we lead the next view) → check content (view window, signature, one vote per
 * voter and view) → the core counts it.
 */
import { hashKey } from "../hashKey.js";
import { HASH_BYTES, SIGNATURE_BYTES } from "../../wire/limits.js";
import type { Vote } from "../../wire/types.js";
import { validIndex, validView } from "./context.js";
import type { CheckContext, Verdict } from "./context.js";

export function checkVote(ctx: CheckContext, from: number, vote: Vote, currentView: number): Verdict {
  if (!validIndex(ctx, vote.voter)) return "UNKNOWN_VALIDATOR";
  if (from !== vote.voter) return "WRONG_SENDER";
  if (!validView(vote.view) || vote.blockHash.length !== HASH_BYTES || vote.signature.length !== SIGNATURE_BYTES) return "MALFORMED";
  if (ctx.leaders.leader(vote.view + 1) !== ctx.self) return "NOT_NEXT_LEADER";
  if (vote.view < currentView - 1) return "VIEW_TOO_OLD";
  if (vote.view > currentView + ctx.viewWindow) return "VIEW_TOO_FAR";
  const key = hashKey(vote.blockHash);
  if (ctx.tracker.peek("vote", vote.voter, vote.view, key) === "duplicate") return "DUPLICATE";
  if (!ctx.verifier.verifyVote(vote)) return "BAD_SIGNATURE";
  const seen = ctx.tracker.record("vote", vote.voter, vote.view, key, vote);
  if (seen !== "new") return seen === "duplicate" ? "DUPLICATE" : "EQUIVOCATION";
  return null;
}
