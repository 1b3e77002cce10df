/**
 * The rejection-code tables (validation's and the core's): every code has a peer-scoring action and a comment, and the
 * penalised set is exactly the one the node's shell penalised before the action moved into the tables (the oracle
 * below, copied from the `PENALISED` set at the top of src/node/consensusShell.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CORE_REJECT_CODES, REJECT_CODES, actionOf } from "../../../src/consensus/validation/codes.js";
import { repoRoot } from "../../support/sourceScan.js";

/**
 * consensusShell.ts `PENALISED`, as of the table's introduction, less NOT_LEADER: leaders come from committed history
 * since issue 10, so a lagging honest replica may disagree with an honest proposer (no penalty for that).
 */
const SHELL_PENALISED = [
  "UNKNOWN_VALIDATOR",
  "WRONG_SENDER",
  "MALFORMED",
  "BAD_TX_ROOT",
  "QC_NOT_FOR_PARENT",
  "SIGNERS_NOT_QC",
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
/**
 * Penalised codes added since: a TC whose carried QC does not back its largest claim (protocol version 2); a proposal
 * whose signature is not its proposer's (protocol version 3).
 */
const PENALISED_SINCE = ["TC_HIGH_QC_MISMATCH", "BAD_PROPOSAL_SIGNATURE"];
const ALL = [...REJECT_CODES, ...CORE_REJECT_CODES];

test("every rejection code, validation's and the core's, has an action, ignore or penalise; no code is listed twice", () => {
  assert.equal(new Set(ALL).size, ALL.length);
  for (const code of ALL) assert.ok(actionOf(code) === "ignore" || actionOf(code) === "penalise", code);
});

test("the penalised codes are exactly the shell's PENALISED set plus the codes added since", () => {
  assert.deepEqual(ALL.filter((c) => actionOf(c) === "penalise").sort(), [...SHELL_PENALISED, ...PENALISED_SINCE].sort());
  // Two of them are the core's (its execution check), the rest validation's.
  assert.deepEqual(CORE_REJECT_CODES.filter((c) => actionOf(c) === "penalise"), ["BAD_PARENT_STATE_ROOT", "BAD_PARENT_RESULTS"]);
  assert.deepEqual(
    REJECT_CODES.filter((c) => actionOf(c) === "ignore").sort(),
    ["DUPLICATE", "NOT_CONSENSUS", "NOT_LEADER", "NOT_NEXT_LEADER", "TIMESTAMP_IN_FUTURE", "VIEW_TOO_FAR", "VIEW_TOO_OLD"],
  );
});

test("each entry of both tables in codes.ts has its own comment", () => {
  const lines = readFileSync(join(repoRoot, "src/consensus/validation/codes.ts"), "utf8").split("\n");
  const entries: string[] = [];
  lines.forEach((line, i) => {
    const m = /^\s+([A-Z_]+): "(?:ignore|penalise)",$/.exec(line);
    if (m === null) return;
    entries.push(m[1]!);
    assert.match(lines[i - 1]!, /\*\/\s*$/, `${m[1]} has no comment`);
  });
  assert.deepEqual(entries, ALL);
});
