/**
 * The one place the end-to-end tests call `quire audit` (issue 10, item 6): every fault scenario ends with it. It
 * fetches committed headers and QCs from every node, verifies each QC against genesis and exits 0 when all nodes
 * agree up to their lowest common height, 1 at the first height where two disagree or a QC does not verify.
 */
import assert from "node:assert/strict";
import { spawnQuire, until } from "./network.js";
import type { TestNetwork } from "./network.js";

export interface AuditOutcome {
  readonly code: number | null;
  /** Its `--json` report, parsed (null when the output was not one JSON document). */
  readonly report: unknown;
  readonly output: string;
}

/** Hang guard of one audit: a few thousand headers from four nodes take well under this. */
const AUDIT_TIMEOUT_MS = 60_000;

/** Runs `quire audit --rpc <nodes' URLs> --genesis <genesis> --json` and returns what it said. */
export async function runAudit(net: TestNetwork, nodes: readonly number[] = net.urls.map((_, i) => i)): Promise<AuditOutcome> {
  const p = spawnQuire(["audit", "--rpc", nodes.map((i) => net.urls[i]!).join(","), "--genesis", net.genesisFile, "--json"]);
  const code = await until("quire audit to finish", async () => (p.exited ? p.exitCode : undefined), AUDIT_TIMEOUT_MS, () => p.output);
  let report: unknown = null;
  try {
    report = JSON.parse(p.output);
  } catch {
    // Not JSON: the caller shows the output.
  }
  return { code, report, output: p.output };
}

/** Asserts the listed nodes agree on every height they share and every QC verifies (`quire audit` exit 0). */
export async function assertAudit(net: TestNetwork, nodes?: readonly number[]): Promise<AuditOutcome> {
  const a = await runAudit(net, nodes);
  if (a.code === 2 && /unknown command "audit"/.test(a.output)) {
    assert.fail("`quire audit` does not exist on this build yet (issue 10 item 6, branch audit): the fault scenario ran, its audit could not");
  }
  assert.equal(a.code, 0, `quire audit found a divergence or an invalid certificate:\n${a.output.slice(-4000)}`);
  return a;
}
