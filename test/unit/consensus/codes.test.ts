/**
 * The rejection-code table: every code has a peer-scoring action and a comment, and the penalised set is exactly the
 * one the node's shell penalised before the action moved into the table (the oracle below, copied from the `PENALISED`
 * set at the top of src/node/consensusShell.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REJECT_CODES, actionOf } from "../../../src/consensus/validation/codes.js";
import { repoRoot } from "../../support/sourceScan.js";

/** consensusShell.ts `PENALISED`, as of the table's introduction. */
const SHELL_PENALISED = [
  "UNKNOWN_VALIDATOR",
  "WRONG_SENDER",
  "NOT_LEADER",
  "MALFORMED",
  "BAD_TX_ROOT",
  "QC_NOT_FOR_PARENT",
  "QC_VIEW_NOT_BELOW",
  "TC_VIEW_MISMATCH",
  "UNJUSTIFIED",
  "HIGH_QC_NOT_BELOW",
  "BAD_SIGNATURE",
  "BAD_GENESIS_QC",
  "QC_BAD_SIGNERS",
  "QC_BELOW_QUORUM",
  "QC_BAD_AGGREGATE",
  "TC_BAD_SIGNERS",
  "TC_BELOW_QUORUM",
  "TC_BAD_AGGREGATE",
  "TC_BAD_HIGH_QC_VIEWS",
  "SYNC_NOT_CHAIN",
  "SYNC_QC_MISMATCH",
  "EQUIVOCATION",
  "BAD_PARENT_STATE_ROOT",
  "BAD_PARENT_RESULTS",
];
/** In that set but not validation's: the shell's execution check of a proposal (chain/executor), not a validation code. */
const SHELL_ONLY = ["BAD_PARENT_STATE_ROOT", "BAD_PARENT_RESULTS"];

test("every rejection code has an action, ignore or penalise, and no code is listed twice", () => {
  assert.equal(new Set(REJECT_CODES).size, REJECT_CODES.length);
  for (const code of REJECT_CODES) assert.ok(actionOf(code) === "ignore" || actionOf(code) === "penalise", code);
});

test("the penalised codes are exactly the shell's PENALISED set, less its two execution codes", () => {
  for (const code of SHELL_ONLY) assert.ok(!(REJECT_CODES as readonly string[]).includes(code), code);
  const expected = SHELL_PENALISED.filter((c) => !SHELL_ONLY.includes(c)).sort();
  assert.deepEqual(REJECT_CODES.filter((c) => actionOf(c) === "penalise").sort(), expected);
  assert.deepEqual(
    REJECT_CODES.filter((c) => actionOf(c) === "ignore").sort(),
    ["DUPLICATE", "NOT_CONSENSUS", "NOT_NEXT_LEADER", "TIMESTAMP_IN_FUTURE", "VIEW_TOO_FAR", "VIEW_TOO_OLD"],
  );
});

test("each entry of the table in codes.ts has its own comment", () => {
  const lines = readFileSync(join(repoRoot, "src/consensus/validation/codes.ts"), "utf8").split("\n");
  const entries: string[] = [];
  lines.forEach((line, i) => {
    const m = /^\s+([A-Z_]+): "(?:ignore|penalise)",$/.exec(line);
    if (m === null) return;
    entries.push(m[1]!);
    assert.match(lines[i - 1]!, /\*\/\s*$/, `${m[1]} has no comment`);
  });
  assert.deepEqual(entries, [...REJECT_CODES]);
});
