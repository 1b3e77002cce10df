/**
 * The engine of `quire audit`: reads the committed chain of every node, checks each node's chain against genesis, and
 * compares the nodes height by height.
 *
 * For every node and every height h of the audited range (up to the lowest committed height among the nodes):
 *
 * - the header hashes (`consensus/blockHash.ts`, what the node itself uses) to the hash the node reports;
 * - h = 0 is the genesis block of the genesis the audit was given; h > 0 links to the node's block h − 1 (`parent`);
 * - the QC the node stores for h certifies exactly that header (its hash and its view), and verifies against the
 *   genesis validator set with a quorum of signers — `SchemeCertificates.verifyQcs`, the node's own certificate code,
 *   over `BlsScheme`, so the signature checks of a window run as one batch; a certificate several nodes return is
 *   checked once;
 * - across nodes: the first height at which two nodes' block hashes differ is the divergence.
 *
 * Heights are read in windows of `DEFAULT_MAX_RANGE_BLOCKS` (`GET /v1/blocks?from&to`), every node's window in
 * parallel, a few windows ahead of the one being checked; checking runs in height order, so "first" is exact.
 */
import { performance } from "node:perf_hooks";
import type { BlsBackend } from "../crypto/bls/backend.js";
import { blockHasher } from "../consensus/blockHash.js";
import type { BlockHasher } from "../consensus/blockHash.js";
import { qcKey } from "../consensus/validation/verifier.js";
import type { CertCheck } from "../consensus/validation/verifier.js";
import type { Hash, QuorumCert } from "../domain/types.js";
import { genesisBlock, genesisCertificates } from "../node/genesis.js";
import type { Genesis } from "../node/genesis.js";
import type { BlockSummary, NodeStatus } from "../rpc/api.js";
import { RpcClientError } from "../rpc/errors.js";
import { DEFAULT_MAX_RANGE_BLOCKS } from "../rpc/params.js";
import { bytesEqual, toHex } from "../util/bytes.js";
import { QuireError } from "../util/errors.js";

/** What the audit reads of one node. `RpcClient` is one; tests pass chains held in memory. */
export interface AuditSource {
  status(): Promise<Pick<NodeStatus, "chainId" | "committedHeight">>;
  /** The committed blocks `from..to`, ascending from `from`, stopping at the node's head. */
  blocks(from: number, to: number): Promise<BlockSummary[]>;
  /** The genesis document the node runs, as JSON text. */
  genesis(): Promise<string>;
}

export interface AuditNode {
  /** How the report names the node (its RPC URL). */
  readonly name: string;
  readonly source: AuditSource;
}

/** What the chains are checked against, derived from one genesis. */
export interface AuditChain {
  readonly chainId: string;
  readonly genesisHash: Hash;
  readonly hashBlock: BlockHasher;
  /** Verdicts of many QCs at once, in order (the node's `SchemeCertificates`). */
  readonly certificates: { verifyQcs(qcs: readonly QuorumCert[]): CertCheck[] };
}

/** The node's own certificate and hash code over the genesis validator set (as src/node/node.ts builds it). */
export function auditChainOf(genesis: Genesis, backend: BlsBackend): AuditChain {
  const hashBlock = blockHasher();
  return {
    chainId: genesis.chainId,
    genesisHash: hashBlock(genesisBlock(genesis).header),
    hashBlock,
    certificates: genesisCertificates(genesis, backend),
  };
}

/** What is wrong with one node's chain at one height (or with the node, when `height` is null). */
export type ProblemCode =
  /** `/v1/status` names another chain id than genesis. */
  | "CHAIN_ID_MISMATCH"
  /** Height 0 is not the genesis block of the audited genesis. */
  | "GENESIS_MISMATCH"
  /** The hash the node reports is not the hash of the header it sent. */
  | "WRONG_HASH"
  /** The header's parent is not the hash of the node's block one height below. */
  | "BROKEN_CHAIN"
  /** No QC for a height above 0. */
  | "MISSING_QC"
  /** The QC certifies another block hash or view than the header's. */
  | "QC_MISMATCH"
  /** The QC does not verify against the genesis validators (the message names the check: BELOW_QUORUM, ...). */
  | "BAD_QC"
  /** The node's status claimed a height it then did not serve. */
  | "MISSING_BLOCKS"
  /** The node answered with a document that is not a valid block range. */
  | "BAD_RESPONSE";

export interface AuditProblem {
  readonly node: string;
  readonly height: number | null;
  readonly code: ProblemCode;
  readonly message: string;
}

export interface AuditNodeReport {
  readonly name: string;
  /** From `/v1/status` at the start; null when the node did not answer it. */
  readonly committedHeight: number | null;
  readonly chainId: string | null;
  /** The last height of this node that was checked; null when none was. */
  readonly checkedTo: number | null;
  /** Why the node could not be read (no answer, an error status): it was left out from then on. */
  readonly error: { readonly code: string; readonly message: string } | null;
}

/**
 * - `agree`: every node answered, every height of the range checked out on every node, all hashes equal;
 * - `diverged`: two nodes hold different blocks at `divergence.height` (whatever else was found);
 * - `invalid`: no divergence, but a chain failed a check (`problems`);
 * - `incomplete`: nothing wrong was found, but a node could not be read (see its `error`).
 */
export type AuditVerdict = "agree" | "diverged" | "invalid" | "incomplete";

export interface AuditReport {
  readonly verdict: AuditVerdict;
  /** The audited heights, inclusive. */
  readonly from: number;
  readonly to: number;
  /** Every node read at the start holds the same, valid block at every height `from..agreedTo` (`from - 1`: none). */
  readonly agreedTo: number;
  readonly nodes: readonly AuditNodeReport[];
  /** The first height at which two nodes' blocks differ, with each node's block hash there. */
  readonly divergence: { readonly height: number; readonly hashes: readonly { readonly node: string; readonly hash: string }[] } | null;
  /** The first `maxProblems` problems, in height order per window. */
  readonly problems: readonly AuditProblem[];
  /** Problems found in all (the list may be cut). */
  readonly problemCount: number;
  /** Distinct certificates whose signatures were checked. */
  readonly qcsVerified: number;
  readonly elapsedMs: number;
}

export interface AuditOptions {
  /** First height to audit (default 0). The link from `from` to `from - 1` is not checked. */
  readonly from?: number;
  /** Last height to audit (default and cap: the lowest committed height among the nodes that answered). */
  readonly to?: number;
  /** Heights per request (default and cap: `DEFAULT_MAX_RANGE_BLOCKS`, what a node answers at most). */
  readonly window?: number;
  /**
   * Windows requested ahead of the one being checked. Checking a window of 256 heights costs ≈ 60 ms of BLS (one
   * batch) and ≈ 3 ms of hashing per node; fetching it from a local node ≈ 10–30 ms. 4 windows keep the checks fed
   * with ≤ 4 × nodes requests in flight.
   */
  readonly prefetch?: number;
  /** Problems kept in the report (default 100; all are counted). */
  readonly maxProblems?: number;
  /**
   * Attempts per request before a node counts as unreadable (default 3), and the wait before attempt k + 1 (k ×
   * `retryDelayMs`, default 250 ms). Only failures without an answer are retried (connection refused or reset, a
   * timeout, a 5xx): a node restarting at the end of a fault test is read once it is back, not reported unreadable.
   */
  readonly attempts?: number;
  readonly retryDelayMs?: number;
}

/**
 * The audit could not start: no node answered, the nodes serve different genesis documents or an invalid one, an empty
 * range. `exitCode` is what `quire audit` exits with (1 when the nodes are at fault, 2 when nothing could be judged).
 */
export class AuditError extends QuireError<"NO_NODE_ANSWERED" | "GENESIS_DIFFERS" | "BAD_GENESIS" | "EMPTY_RANGE", { exitCode: number }> {}

/**
 * The genesis document every answering node serves, compared byte for byte. Throws `GENESIS_DIFFERS` (naming which
 * nodes serve which document) when two differ, `NO_NODE_ANSWERED` when none answers.
 */
export async function genesisOfNodes(nodes: readonly AuditNode[]): Promise<string> {
  const answers = await Promise.all(nodes.map(async (n) => ({ node: n.name, text: await n.source.genesis().catch(() => undefined) })));
  const groups = new Map<string, string[]>();
  for (const a of answers) if (a.text !== undefined) groups.set(a.text, [...(groups.get(a.text) ?? []), a.node]);
  const [first, ...others] = groups.entries();
  if (first === undefined) throw new AuditError("NO_NODE_ANSWERED", `no node answered GET /v1/genesis (${nodes.map((n) => n.name).join(", ")})`, { exitCode: 2 });
  if (others.length > 0) {
    const list = [first, ...others].map(([, names], i) => `document ${i + 1}: ${names.join(", ")}`).join("; ");
    throw new AuditError("GENESIS_DIFFERS", `the nodes serve ${others.length + 1} different genesis documents (${list}); pass --genesis FILE to audit against one`, { exitCode: 1 });
  }
  return first[0];
}

/** Exit code of `quire audit` for a report: 0 agree, 1 diverged or invalid, 2 incomplete. */
export function auditExitCode(r: AuditReport): number {
  return r.verdict === "agree" ? 0 : r.verdict === "incomplete" ? 2 : 1;
}

interface NodeState {
  readonly name: string;
  readonly source: AuditSource;
  committedHeight: number | null;
  chainId: string | null;
  checkedTo: number | null;
  error: { code: string; message: string } | null;
  /** Still read: answered so far, and served everything asked. */
  live: boolean;
  /** This node's block hash at `checkedTo`. */
  prevHash: Hash | null;
}

type WindowAnswer = { ok: true; blocks: BlockSummary[] } | { ok: false; error: unknown } | null;

/** Audits `nodes` against `chain` (see the module comment). */
export async function audit(nodes: readonly AuditNode[], chain: AuditChain, opts: AuditOptions = {}): Promise<AuditReport> {
  const started = performance.now();
  const maxProblems = opts.maxProblems ?? 100;
  const problems: AuditProblem[] = [];
  let problemCount = 0;
  const problem = (node: string, height: number | null, code: ProblemCode, message: string): void => {
    problemCount++;
    if (problems.length < maxProblems) problems.push({ node, height, code, message });
  };

  const attempts = Math.max(1, opts.attempts ?? 3);
  const retryDelayMs = opts.retryDelayMs ?? 250;
  const retried = <T>(call: () => Promise<T>): Promise<T> => withRetry(call, attempts, retryDelayMs);

  const states: NodeState[] = nodes.map((n) => ({ name: n.name, source: n.source, committedHeight: null, chainId: null, checkedTo: null, error: null, live: true, prevHash: null }));
  await Promise.all(
    states.map(async (s) => {
      try {
        const st = await retried(() => s.source.status());
        s.committedHeight = st.committedHeight;
        s.chainId = st.chainId;
      } catch (e) {
        s.live = false;
        s.error = errorOf(e);
      }
    }),
  );
  const read = states.filter((s) => s.live);
  if (read.length === 0) throw new AuditError("NO_NODE_ANSWERED", `no node answered GET /v1/status (${states.map((s) => `${s.name}: ${s.error?.message ?? "?"}`).join("; ")})`, { exitCode: 2 });
  for (const s of read) if (s.chainId !== chain.chainId) problem(s.name, null, "CHAIN_ID_MISMATCH", `status names chain "${s.chainId}", genesis "${chain.chainId}"`);

  const lowest = Math.min(...read.map((s) => s.committedHeight!));
  const from = opts.from ?? 0;
  const to = Math.min(opts.to ?? lowest, lowest);
  if (from > to) throw new AuditError("EMPTY_RANGE", `nothing to audit: from ${from} is above ${opts.to !== undefined && opts.to < lowest ? `to ${opts.to}` : `the lowest committed height ${lowest}`}`, { exitCode: 2 });
  const window = Math.max(1, Math.min(opts.window ?? DEFAULT_MAX_RANGE_BLOCKS, DEFAULT_MAX_RANGE_BLOCKS));
  const prefetch = Math.max(1, opts.prefetch ?? 4);

  const fetchWindow = (a: number, b: number): Promise<WindowAnswer[]> =>
    Promise.all(
      states.map((s): Promise<WindowAnswer> | null =>
        !s.live
          ? null
          : retried(() => s.source.blocks(a, b)).then(
              (blocks) => ({ ok: true, blocks }),
              (error: unknown) => ({ ok: false, error }),
            ),
      ),
    );
  const starts: number[] = [];
  for (let a = from; a <= to; a += window) starts.push(a);
  const pending = new Map<number, Promise<WindowAnswer[]>>();
  const request = (i: number): void => {
    const a = starts[i];
    if (a !== undefined) pending.set(i, fetchWindow(a, Math.min(a + window - 1, to)));
  };
  for (let i = 0; i < prefetch; i++) request(i);

  let agreedTo = from - 1;
  let clean = true;
  let divergence: AuditReport["divergence"] = null;
  let qcsVerified = 0;
  for (let i = 0; i < starts.length; i++) {
    const a = starts[i]!;
    const b = Math.min(a + window - 1, to);
    const answers = await pending.get(i)!;
    pending.delete(i);

    const w: WindowCheck = { from: a, hashes: states.map(() => []), bad: new Set(), qcs: new Map() };
    states.forEach((s, k) => {
      const answer = answers[k];
      if (!s.live || answer === null || answer === undefined) return;
      if (!answer.ok) {
        s.live = false;
        w.bad.add(a);
        if (answer.error instanceof RpcClientError && answer.error.code === "BAD_RESPONSE") problem(s.name, a, "BAD_RESPONSE", `heights ${a}..${b}: ${answer.error.message}`);
        else s.error = errorOf(answer.error);
        return;
      }
      checkBlocks(chain, s, answer.blocks, w, w.hashes[k]!, (height, code, message) => {
        w.bad.add(height);
        problem(s.name, height, code, message);
      });
      if (answer.blocks.length < b - a + 1) {
        s.live = false;
        const missing = a + answer.blocks.length;
        w.bad.add(missing);
        problem(s.name, missing, "MISSING_BLOCKS", `status said committed height ${s.committedHeight}, but GET /v1/blocks?from=${a}&to=${b} stopped before ${missing}`);
      }
    });

    // The next window goes out now (nodes found dead above are not asked), so it arrives while this one's
    // certificates are verified.
    request(i + prefetch);

    // The window's distinct certificates, in one batch.
    const entries = [...w.qcs.values()];
    const verdicts = chain.certificates.verifyQcs(entries.map((e) => e.qc));
    qcsVerified += entries.length;
    entries.forEach((e, k) => {
      const v = verdicts[k]!;
      if (v === "ok") return;
      for (const u of e.holders) {
        w.bad.add(u.height);
        problem(u.node, u.height, "BAD_QC", `certificate refused: ${v}`);
      }
    });

    // Across nodes, in height order: the first height where two hashes differ; agreement while nothing is amiss.
    for (let h = a; h <= b; h++) {
      const seen: { node: string; hash: Hash }[] = [];
      let missing = false;
      states.forEach((s, k) => {
        if (s.committedHeight === null) return; // never read: left out of the agreement (the verdict says incomplete)
        const hash = w.hashes[k]![h - a];
        if (hash === undefined) missing = true;
        else seen.push({ node: s.name, hash });
      });
      const differs = seen.some((x) => !bytesEqual(x.hash, seen[0]!.hash));
      if (differs && divergence === null) divergence = { height: h, hashes: seen.map((x) => ({ node: x.node, hash: toHex(x.hash) })) };
      if (clean && !differs && !missing && !w.bad.has(h)) agreedTo = h;
      else clean = false;
    }
  }

  const unreadable = states.some((s) => s.error !== null);
  const verdict: AuditVerdict = divergence !== null ? "diverged" : problemCount > 0 ? "invalid" : unreadable ? "incomplete" : "agree";
  return {
    verdict,
    from,
    to,
    agreedTo,
    nodes: states.map((s) => ({ name: s.name, committedHeight: s.committedHeight, chainId: s.chainId, checkedTo: s.checkedTo, error: s.error })),
    divergence,
    problems,
    problemCount,
    qcsVerified,
    elapsedMs: Math.round(performance.now() - started),
  };
}

/** What one window collects from every node before the certificates are verified and the nodes compared. */
interface WindowCheck {
  readonly from: number;
  /** `hashes[k][h - from]`: node k's block hash at h, as computed here. */
  readonly hashes: (Hash | undefined)[][];
  /** Heights at which some node failed a check. */
  readonly bad: Set<number>;
  /** The distinct certificates to verify (by `qcKey`), with the nodes and heights that hold each. */
  readonly qcs: Map<string, { qc: QuorumCert; holders: { node: string; height: number }[] }>;
}

/**
 * One node's blocks of a window, in height order: their hashes into `hashes` (the node's row of `w.hashes`), every
 * check that needs no signature (reported hash, genesis, parent link, what the QC certifies), and each QC that binds
 * its block into `w.qcs`.
 */
function checkBlocks(
  chain: AuditChain,
  s: NodeState,
  blocks: readonly BlockSummary[],
  w: WindowCheck,
  hashes: (Hash | undefined)[],
  fail: (height: number, code: ProblemCode, message: string) => void,
): void {
  for (const block of blocks) {
    const h = block.header.height;
    const hash = chain.hashBlock(block.header);
    hashes[h - w.from] = hash;
    if (!bytesEqual(hash, block.hash)) fail(h, "WRONG_HASH", `reports hash ${toHex(block.hash)}, its header hashes to ${toHex(hash)}`);
    if (h === 0) {
      if (!bytesEqual(hash, chain.genesisHash)) fail(h, "GENESIS_MISMATCH", `block 0 is ${toHex(hash)}, genesis is ${toHex(chain.genesisHash)}`);
    } else {
      // The link to the block below is checked from the second audited height on (`--from` H: not H to H − 1).
      if (s.prevHash !== null && s.checkedTo === h - 1 && !bytesEqual(block.header.parent, s.prevHash)) {
        fail(h, "BROKEN_CHAIN", `parent ${toHex(block.header.parent)} is not block ${h - 1} (${toHex(s.prevHash)})`);
      }
      const qc = block.qc;
      if (qc === null) fail(h, "MISSING_QC", "no certificate");
      else if (!bytesEqual(qc.blockHash, hash) || qc.view !== block.header.view) {
        fail(h, "QC_MISMATCH", `certifies ${toHex(qc.blockHash)} in view ${qc.view}, the block is ${toHex(hash)} in view ${block.header.view}`);
      } else {
        // Same key, same bytes (verifier.ts): a certificate several nodes hold is verified once.
        const key = qcKey(qc);
        const entry = w.qcs.get(key);
        if (entry === undefined) w.qcs.set(key, { qc, holders: [{ node: s.name, height: h }] });
        else entry.holders.push({ node: s.name, height: h });
      }
    }
    s.prevHash = hash;
    s.checkedTo = h;
  }
}

/** `call`, again after k × `delayMs` when attempt k failed without an answer (see `AuditOptions.attempts`). */
async function withRetry<T>(call: () => Promise<T>, attempts: number, delayMs: number): Promise<T> {
  for (let k = 1; ; k++) {
    try {
      return await call();
    } catch (e) {
      if (k >= attempts || !transient(e)) throw e;
      await new Promise((resolve) => setTimeout(resolve, k * delayMs));
    }
  }
}

/** No answer (or a server error): worth asking again. A malformed answer or a 4xx would only repeat itself. */
function transient(e: unknown): boolean {
  if (!(e instanceof RpcClientError)) return true;
  if (e.code === "NETWORK") return true;
  return e.code === "HTTP" && (e.payload.status ?? 0) >= 500;
}

function errorOf(e: unknown): { code: string; message: string } {
  if (e instanceof QuireError) return { code: e.code, message: e.message };
  return { code: "ERROR", message: e instanceof Error ? e.message : String(e) };
}
