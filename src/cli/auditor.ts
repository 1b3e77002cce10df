/**
 * The engine of `quire audit`: reads the committed chain of every node, checks each node's chain against genesis, and
 * compares the nodes height by height.
 *
 * For every node and every height h of the audited range (up to the lowest committed height among the nodes):
 *
 * - the header hashes (`consensus/blockHash.ts`, what the node itself uses) to the hash the node reports;
 * - h = 0 is the genesis block of the genesis the audit was given; h > 0 links to the node's block h − 1 (`parent`);
 * - the QC the node stores for h certifies exactly that header (its hash and its view), and verifies against the
 *   validator set of h's epoch with a quorum of signers — `SchemeCertificates.verifyQcs`, the node's own certificate
 *   code, over `BlsScheme`, so the signature checks of a window run as one batch per set; a certificate several nodes
 *   return is checked once;
 * - across nodes: the first height at which two nodes' block hashes differ is the divergence.
 *
 * Epochs (a genesis that lists the validators module): each node's sets are derived here, never taken from the node.
 * Its `GET /v1/epochs` names the heights whose blocks carry changes (startHeight − 2 of each later epoch); the audit
 * reads those blocks' bodies, checks their txs against the txRoot of the header it checked (`BAD_BODY` otherwise) and
 * replays their change txs (`EpochReplay`, node/epochSets.ts). The QCs of epoch k then verify with the replayed
 * members' keys under `epochDomain(chainId, k)`. A hint that omits or invents a change makes that node's QCs fail at
 * the boundary (`BAD_QC`), as any bad certificate. Change blocks below `--from` are read first, each one's QC checked
 * against the set replayed before it.
 *
 * Heights are read in windows of `DEFAULT_MAX_RANGE_BLOCKS` (`GET /v1/blocks?from&to`), every node's window in
 * parallel, a few windows ahead of the one being checked; checking runs in height order, so "first" is exact.
 */
import { performance } from "node:perf_hooks";
import type { BlsBackend } from "../crypto/bls/backend.js";
import { txRoot } from "../chain/blocks.js";
import { blockHasher } from "../consensus/blockHash.js";
import type { BlockHasher } from "../consensus/blockHash.js";
import { qcKey } from "../consensus/validation/verifier.js";
import type { BlockHeader, Hash, QuorumCert } from "../domain/types.js";
import { genesisBlock, genesisCertificates } from "../node/genesis.js";
import type { Genesis } from "../node/genesis.js";
import type { BlockBody, BlockSummary, EpochView, NodeStatus } from "../rpc/api.js";
import { RpcClientError } from "../rpc/errors.js";
import { DEFAULT_MAX_RANGE_BLOCKS } from "../rpc/params.js";
import { bytesEqual, toHex } from "../util/bytes.js";
import { QuireError } from "../util/errors.js";
import { EpochSets } from "../node/epochSets.js";
import type { EpochReplay, EpochSetAt, QcVerifier } from "../node/epochSets.js";

/** What the audit reads of one node. `RpcClient` is one; tests pass chains held in memory. */
export interface AuditSource {
  status(): Promise<Pick<NodeStatus, "chainId" | "committedHeight">>;
  /** The committed blocks `from..to`, ascending from `from`, stopping at the node's head. */
  blocks(from: number, to: number): Promise<BlockSummary[]>;
  /** The genesis document the node runs, as JSON text. */
  genesis(): Promise<string>;
  /** `GET /v1/epochs`, read on chains with epochs: a hint naming the change blocks. Absent: the node names none. */
  epochs?(): Promise<readonly EpochView[]>;
  /** The txs of a committed block (`GET /v1/blocks/:h/body`): read for the change blocks the hint names. */
  blockBody?(height: number): Promise<Pick<BlockBody, "txs"> | null>;
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
  /** Verdicts of many QCs at once, in order (the node's `SchemeCertificates`), for the genesis set. */
  readonly certificates: QcVerifier;
  /** Set when the chain changes its validator set by epoch (the validators module): where each node's replay starts. */
  readonly epochs?: EpochSets;
}

/** The node's own certificate and hash code over the genesis validator set (as src/node/node.ts builds it). */
export function auditChainOf(genesis: Genesis, backend: BlsBackend): AuditChain {
  const hashBlock = blockHasher();
  return {
    chainId: genesis.chainId,
    genesisHash: hashBlock(genesisBlock(genesis).header),
    hashBlock,
    certificates: genesisCertificates(genesis, backend),
    ...(genesis.app.modules.includes("validators") ? { epochs: new EpochSets(genesis, backend) } : {}),
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
  /** The QC does not verify against its epoch's validators (the message names the check: BELOW_QUORUM, ...). */
  | "BAD_QC"
  /** A change block the node's epochs name: its body is missing or its txs do not hash to the header's txRoot. */
  | "BAD_BODY"
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
export class AuditError extends QuireError<"NO_NODE_ANSWERED" | "GENESIS_DIFFERS" | "BAD_GENESIS" | "EMPTY_RANGE" | "COMMITTEE_FROM", { exitCode: number }> {}

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
  /** Chains with epochs: this node's sets, replayed from the change blocks its hint names (`changes`, ascending). */
  replay: EpochReplay | null;
  changes: number[];
  /** A change block checked, waiting for the next header, whose `parentResults` says which of its txs succeeded. */
  /** The last block whose changes (with committees: whose header, every block) wait for the next header's results. */
  pendingChange: { readonly height: number; readonly txs: readonly Uint8Array[]; readonly header: BlockHeader } | null;
}

/** A window of one node: its blocks, and the bodies of the change blocks among them (null: not served). */
type WindowAnswer = { ok: true; blocks: BlockSummary[]; bodies: Map<number, Pick<BlockBody, "txs"> | null> } | { ok: false; error: unknown } | null;

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

  const states: NodeState[] = nodes.map((n) => ({ name: n.name, source: n.source, committedHeight: null, chainId: null, checkedTo: null, error: null, live: true, prevHash: null, replay: chain.epochs?.replay() ?? null, changes: [], pendingChange: null }));
  await Promise.all(
    states.map(async (s) => {
      try {
        const st = await retried(() => s.source.status());
        // On a chain with epochs the node's list is read with its status: a node that answers neither is not read.
        if (s.replay !== null && s.source.epochs !== undefined) s.changes = changeHeights(await retried(() => s.source.epochs!()));
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
          : Promise.all([retried(() => s.source.blocks(a, b)), fetchBodies(s, a, b, retried)]).then(
              ([blocks, bodies]) => ({ ok: true, blocks, bodies }),
              (error: unknown) => ({ ok: false, error }),
            ),
      ),
    );
  // A committee chain's sets depend on every header from genesis (the replay reads the reputation they record): not
  // replayed below the range yet, so such a chain is audited from its start.
  if (chain.epochs !== undefined && from > 1 && chain.epochs.genesis.consensus.committee !== undefined) {
    throw new AuditError("COMMITTEE_FROM", "a chain with committees (genesis consensus.committee) is audited from height 0 or 1: its sets follow from every header", { exitCode: 2 });
  }
  // Change blocks below the range: replayed first, so that the range's QCs are checked with the sets they made.
  if (chain.epochs !== undefined && from > 1) {
    await Promise.all(states.map((s) => (s.live ? replayBelow(chain, s, from, retried, problem) : undefined)));
  }
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
    const fallback: EpochSetAt = { epoch: 0, key: "", certificates: chain.certificates };
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
      checkBlocks(chain, s, answer.blocks, answer.bodies, fallback, w, w.hashes[k]!, (height, code, message) => {
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

    // The window's distinct certificates, in one batch per validator set (one in all but the windows an epoch ends in).
    const bySet = new Map<string, WindowQc[]>();
    for (const e of w.qcs.values()) bySet.set(e.set.key, [...(bySet.get(e.set.key) ?? []), e]);
    for (const entries of bySet.values()) {
      const verdicts = entries[0]!.set.certificates.verifyQcs(entries.map((e) => e.qc));
      qcsVerified += entries.length;
      entries.forEach((e, k) => {
        const v = verdicts[k]!;
        if (v === "ok") return;
        for (const u of e.holders) {
          w.bad.add(u.height);
          problem(u.node, u.height, "BAD_QC", `certificate refused${e.set.key === "" ? "" : ` (epoch ${e.set.epoch})`}: ${v}`);
        }
      });
    }

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
  /** The distinct certificates to verify (by set and `qcKey`), with the nodes and heights that hold each. */
  readonly qcs: Map<string, WindowQc>;
}

interface WindowQc {
  readonly qc: QuorumCert;
  /** The set it is verified with: of its height's epoch, as the holders' replays derived it. */
  readonly set: EpochSetAt;
  readonly holders: { node: string; height: number }[];
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
  bodies: ReadonlyMap<number, Pick<BlockBody, "txs"> | null>,
  fallback: EpochSetAt,
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
        // Same key, same bytes (verifier.ts): a certificate several nodes hold is verified once per set.
        const set = s.replay?.at(h) ?? fallback;
        const key = `${set.key}/${qcKey(qc)}`;
        const entry = w.qcs.get(key);
        if (entry === undefined) w.qcs.set(key, { qc, set, holders: [{ node: s.name, height: h }] });
        else entry.holders.push({ node: s.name, height: h });
      }
      // A change block's changes take effect at h + 2: replayed once h + 1's header (whose certified parentResults say
      // which of them succeeded) is checked, after its QC was keyed with the sets before.
      const pending = s.pendingChange;
      if (s.replay !== null && pending !== null && pending.height === h - 1) {
        s.replay.apply(pending.height, pending.txs, block.header.parentResults, pending.header);
        s.pendingChange = null;
      }
      if (s.replay !== null && bodies.has(h)) {
        const txs = bodyTxs(bodies.get(h)!, block, (code, message) => fail(h, code, message));
        if (txs !== null) s.pendingChange = { height: h, txs, header: block.header };
      }
      // With committees every header moves the replay (node/epochSets.ts); a block whose body is not needed has no change.
      if (s.replay?.everyBlock === true && s.pendingChange === null) s.pendingChange = { height: h, txs: [], header: block.header };
    }
    s.prevHash = hash;
    s.checkedTo = h;
  }
}

/** The change heights a node's epochs name: startHeight − 2 of each epoch ≥ 1 (the block whose change made it). */
function changeHeights(epochs: readonly EpochView[]): number[] {
  const heights = new Set<number>();
  for (const e of epochs) if (e.epoch >= 1 && e.startHeight >= 3) heights.add(e.startHeight - 2);
  return [...heights].sort((x, y) => x - y);
}

type Retried = <T>(call: () => Promise<T>) => Promise<T>;

/** The bodies of the node's change blocks in `a..b`. */
async function fetchBodies(s: NodeState, a: number, b: number, retried: Retried): Promise<Map<number, Pick<BlockBody, "txs"> | null>> {
  const out = new Map<number, Pick<BlockBody, "txs"> | null>();
  if (s.replay === null || s.source.blockBody === undefined) return out;
  const heights = s.changes.filter((h) => h >= a && h <= b);
  const bodies = await Promise.all(heights.map((h) => retried(() => s.source.blockBody!(h))));
  heights.forEach((h, i) => out.set(h, bodies[i]!));
  return out;
}

/** A change block's txs, once they hash to its header's txRoot; null (after `fail`) when they do not or are missing. */
function bodyTxs(body: Pick<BlockBody, "txs"> | null, block: BlockSummary, fail: (code: ProblemCode, message: string) => void): readonly Uint8Array[] | null {
  if (body === null) {
    fail("BAD_BODY", "the node's epochs name this block as a change block, but it did not serve its body");
    return null;
  }
  const root = txRoot(body.txs);
  if (!bytesEqual(root, block.header.txRoot)) {
    fail("BAD_BODY", `the body's ${body.txs.length} txs hash to ${toHex(root)}, the header's txRoot is ${toHex(block.header.txRoot)}`);
    return null;
  }
  return body.txs;
}

/**
 * The node's change blocks below `from`, replayed in height order: each one's header read, its QC verified against the
 * set replayed before it (it is outside the range, so nothing else checks it), its body against its txRoot.
 */
async function replayBelow(chain: AuditChain, s: NodeState, from: number, retried: Retried, problem: (node: string, height: number | null, code: ProblemCode, message: string) => void): Promise<void> {
  for (const h of s.changes) {
    if (h >= from) return;
    let block: BlockSummary | undefined;
    let next: BlockSummary | undefined;
    let body: Pick<BlockBody, "txs"> | null = null;
    try {
      // The change block and the one above it: its certified parentResults say which changes succeeded.
      [block, next] = await retried(() => s.source.blocks(h, h + 1));
      if (s.source.blockBody !== undefined) body = await retried(() => s.source.blockBody!(h));
    } catch (e) {
      s.live = false;
      s.error = errorOf(e);
      return;
    }
    if (block === undefined || block.header.height !== h || next === undefined || next.header.height !== h + 1) {
      problem(s.name, h, "MISSING_BLOCKS", `its epochs name change block ${h}, which GET /v1/blocks did not serve with the block above it`);
      continue;
    }
    const hash = chain.hashBlock(block.header);
    const nextHash = chain.hashBlock(next.header);
    const certifies = (b: BlockSummary, bh: Uint8Array): boolean => b.qc !== null && bytesEqual(b.qc.blockHash, bh) && b.qc.view === b.header.view;
    // Both are of the change's epoch (the next one starts at h + 2): one batch with the set replayed before them.
    const verdicts = !certifies(block, hash) || !certifies(next, nextHash) || !bytesEqual(next.header.parent, hash) ? ["does not certify or link the blocks"] : s.replay!.at(h).certificates.verifyQcs([block.qc!, next.qc!]);
    const bad = verdicts.find((v) => v !== "ok");
    if (bad !== undefined) {
      problem(s.name, h, "BAD_QC", `change block below the audited range: certificate refused: ${bad}`);
      continue;
    }
    const txs = bodyTxs(body, block, (code, message) => problem(s.name, h, code, message));
    if (txs !== null) s.replay!.apply(h, txs, next.header.parentResults);
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
