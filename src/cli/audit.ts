import { UsageError, checkFlags, intFlag, parseArgs, stringFlag } from "./args.js";
import { AuditError, audit, auditChainOf, auditExitCode, genesisOfNodes } from "./auditor.js";
import type { AuditNode, AuditReport } from "./auditor.js";
import { loadBlsBackend } from "../crypto/bls/backend.js";
import { NodeError } from "../node/errors.js";
import { loadGenesis, parseGenesis } from "../node/genesis.js";
import type { Genesis } from "../node/genesis.js";
import { RpcClient } from "../rpc/client.js";

const USAGE = [
  "usage: quire audit --rpc URL1,URL2,... [--genesis FILE] [--from H] [--to H] [--json]",
  "",
  "  Reads every node's committed blocks and their QCs, checks each node's chain against genesis (height 0 is the",
  "  genesis block, parent links, each QC certifies its block and verifies with a quorum of its epoch's validators),",
  "  and compares the nodes height by height, up to the lowest committed height among them. On a chain that changes",
  "  its validator set by epoch, each node's sets are derived from the change txs of the blocks its GET /v1/epochs",
  "  names, replayed here.",
  "",
  "  --genesis FILE  the genesis to audit against; without it every node's GET /v1/genesis must be identical",
  "  --from, --to    the heights to audit (default: 0 to the lowest committed height)",
  "  --json          print the report as one JSON document",
  "",
  "  exit 0: every node answered and all agree on every height, all valid",
  "  exit 1: two nodes diverge (the first height is reported), a chain fails a check, or the nodes' genesis documents differ",
  "  exit 2: bad usage, or a node could not be read (no answer after 3 attempts, an error status) and nothing wrong",
  "          was found",
].join("\n");

/** Per-request timeout: a 256-block range from a busy local node answers in tens of ms. */
const REQUEST_TIMEOUT_MS = 15_000;

/** `quire audit`: see USAGE. */
export async function auditCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ["json", "help"]);
  if (args.flags.has("help")) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  checkFlags(args, ["rpc", "genesis", "from", "to", "json", "help"]);
  if (args.positional.length > 0) throw new UsageError(`unexpected argument "${args.positional[0]}"\n${USAGE}`);
  const urls = rpcUrls(stringFlag(args, "rpc"));
  const from = intFlag(args, "from");
  const to = intFlag(args, "to");
  if (from !== undefined && to !== undefined && to < from) throw new UsageError(`--to ${to} is below --from ${from}`);
  const genesisFile = stringFlag(args, "genesis");
  const outcome = await auditNodes({ urls, ...(genesisFile !== undefined ? { genesisFile } : {}), ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) });
  if (args.flags.has("json")) process.stdout.write(JSON.stringify(auditJson(outcome)) + "\n");
  else if ("report" in outcome) process.stdout.write(renderReport(outcome.report, outcome.genesis));
  else process.stderr.write(`quire audit: ${outcome.error.code}: ${outcome.error.message}\n`);
  return outcome.exitCode;
}

/** What `quire audit` is asked. */
export interface AuditRequest {
  readonly urls: readonly string[];
  /** The genesis file to audit against; without it, the genesis every node serves (byte-identical). */
  readonly genesisFile?: string;
  readonly from?: number;
  readonly to?: number;
}

/** The audit's report with where genesis came from, or why no audit ran; `exitCode` is the command's. */
export type AuditOutcome =
  | { readonly exitCode: number; readonly report: AuditReport; readonly genesis: string }
  | { readonly exitCode: number; readonly error: { readonly code: string; readonly message: string } };

/**
 * Everything `quire audit` does but printing (the command and in-process tests call it). Throws `UsageError` for a
 * `genesisFile` that cannot be read or is invalid.
 */
export async function auditNodes(req: AuditRequest): Promise<AuditOutcome> {
  const nodes: AuditNode[] = req.urls.map((url) => ({ name: url, source: new RpcClient({ url, timeoutMs: REQUEST_TIMEOUT_MS }) }));
  const backend = await loadBlsBackend("blst");
  try {
    let genesis: Genesis;
    let source: string;
    if (req.genesisFile !== undefined) {
      genesis = await userGenesis(() => loadGenesis(req.genesisFile!, backend));
      source = req.genesisFile;
    } else {
      genesis = await nodesGenesis(() => genesisOfNodes(nodes).then((text) => parseGenesis(text, "the nodes' GET /v1/genesis", backend)));
      source = `GET /v1/genesis, identical on ${nodes.length === 1 ? "the node" : "every node that answered"}`;
    }
    const report = await audit(nodes, auditChainOf(genesis, backend), { ...(req.from !== undefined ? { from: req.from } : {}), ...(req.to !== undefined ? { to: req.to } : {}) });
    return { exitCode: auditExitCode(report), report, genesis: source };
  } catch (e) {
    if (!(e instanceof AuditError)) throw e;
    return { exitCode: e.payload.exitCode, error: { code: e.code, message: e.message } };
  }
}

/** The `--json` document: the report plus `genesis`, or `{verdict, error}` when no audit ran. */
export function auditJson(o: AuditOutcome): Record<string, unknown> {
  if ("report" in o) return { ...o.report, genesis: o.genesis };
  return { verdict: o.exitCode === 1 ? "invalid" : "incomplete", error: o.error };
}

function rpcUrls(flag: string | undefined): string[] {
  if (flag === undefined) throw new UsageError(`--rpc URL1,URL2,... is required\n${USAGE}`);
  const urls = flag.split(",").map((u) => u.trim());
  for (const u of urls) {
    let ok = false;
    try {
      const parsed = new URL(u);
      ok = parsed.protocol === "http:" || parsed.protocol === "https:";
    } catch {
      ok = false;
    }
    if (!ok) throw new UsageError(`--rpc: "${u}" is not an http(s) URL`);
  }
  const dup = urls.find((u, i) => urls.indexOf(u) !== i);
  if (dup !== undefined) throw new UsageError(`--rpc lists ${dup} twice`);
  return urls;
}

/** A genesis file the user named: an unreadable or invalid one is a usage error (exit 2), not a finding. */
async function userGenesis(load: () => Promise<Genesis>): Promise<Genesis> {
  try {
    return await load();
  } catch (e) {
    if (e instanceof NodeError) throw new UsageError(`--genesis: ${e.message}`);
    throw e;
  }
}

/** The genesis the nodes serve: one they agree on but that does not parse or verify is their fault (exit 1). */
async function nodesGenesis(load: () => Promise<Genesis>): Promise<Genesis> {
  try {
    return await load();
  } catch (e) {
    if (e instanceof NodeError) throw new AuditError("BAD_GENESIS", e.message, { exitCode: 1 });
    throw e;
  }
}

/** The human-readable report. */
export function renderReport(r: AuditReport, genesisSource: string): string {
  const lines: string[] = [];
  const width = Math.max(...r.nodes.map((n) => n.name.length));
  lines.push(`genesis: ${genesisSource}`);
  lines.push(`heights ${r.from}..${r.to} on ${r.nodes.length} node${r.nodes.length === 1 ? "" : "s"}; ${r.qcsVerified} distinct QCs verified in ${(r.elapsedMs / 1000).toFixed(2)} s`);
  for (const n of r.nodes) {
    const state = n.error !== null ? `UNREADABLE ${n.error.code}: ${n.error.message}` : `committed ${n.committedHeight}, checked to ${n.checkedTo ?? "-"}`;
    lines.push(`  ${n.name.padEnd(width)}  ${state}`);
  }
  if (r.divergence !== null) {
    lines.push(`DIVERGENCE at height ${r.divergence.height}:`);
    for (const x of r.divergence.hashes) lines.push(`  ${x.node.padEnd(width)}  ${x.hash}`);
  }
  for (const p of r.problems) lines.push(`${p.code} ${p.node}${p.height === null ? "" : ` height ${p.height}`}: ${p.message}`);
  if (r.problemCount > r.problems.length) lines.push(`... ${r.problemCount - r.problems.length} more problems`);
  const agreed = r.agreedTo >= r.from ? `all agree and verify on heights ${r.from}..${r.agreedTo}` : "no height agrees";
  switch (r.verdict) {
    case "agree":
      lines.push(`OK: ${agreed}`);
      break;
    case "diverged":
      lines.push(`FAIL: nodes diverge at height ${r.divergence!.height}; ${agreed}`);
      break;
    case "invalid":
      lines.push(`FAIL: ${r.problemCount} problem${r.problemCount === 1 ? "" : "s"}; ${agreed}`);
      break;
    case "incomplete":
      lines.push(`INCOMPLETE: a node could not be read; ${agreed}`);
      break;
  }
  return lines.join("\n") + "\n";
}
