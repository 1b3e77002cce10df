/**
 * A verified vote (validation checked: the voter sent it, its signature, that we lead the view after it, the view
 * window, and that it is the voter's only vote in that view). Apply: count it; 2f+1 for one block form a QC.
 */
import { addVote } from "./core.js";
import type { Draft } from "./core.js";
import type { Vote } from "../domain/types.js";

export function onVote(d: Draft, vote: Vote): void {
  addVote(d, vote);
}
