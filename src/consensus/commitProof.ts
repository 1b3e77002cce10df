/**
 * Commit proofs (issue 14, DESIGN §10): what a party that knows only a chain's genesis (chain id, validator keys)
 * needs to check that the block at height h is committed — the building block of cross-shard LD and CL messages.
 *
 * The core's two-chain rule: block B is committed once a child B' (`B'.parent = hash(B)`) with `B'.view = B.view + 1`
 * is certified; its ancestors are committed with it. So a proof for height h is the headers h, h+1, …, k+1 — each
 * linked to the one before by hash — where (k, k+1) is the first pair with consecutive views, plus the QCs certifying
 * headers k and k+1. Usually k = h: two headers, two QCs. The QCs are checked by the caller's certificate verifier
 * (the node's `SchemeCertificates`: signer set ≥ quorum, aggregate BLS signature), both in one batch.
 *
 * Served by `GET /v1/blocks/:h/commit-proof`, checked by `quire verify commit`; receipts (receipt.ts) build on it.
 */
import type { BlockHeader, Hash, QuorumCert } from "../domain/types.js";
import type { BlockHasher } from "./blockHash.js";
import type { CertCheck } from "./validation/verifier.js";
import { bytesEqual } from "../util/bytes.js";

/** Longest proof served or accepted: a run of timeouts longer than this leaves a block unprovable until it ends. */
export const MAX_COMMIT_PROOF_HEADERS = 64;

export interface CommitProof {
  /** Headers h .. k+1, ascending. */
  readonly headers: readonly BlockHeader[];
  /** The QCs certifying headers k and k+1 (the last two). */
  readonly qcs: readonly [QuorumCert, QuorumCert];
}

export type CommitProofCode =
  /** Fewer than two headers, or more than MAX_COMMIT_PROOF_HEADERS. */
  | "BAD_LENGTH"
  /** A header whose parent is not the previous header's hash, or whose height is not the previous + 1. */
  | "BAD_LINK"
  /** The last two headers' views are not consecutive, or an earlier pair already was (the proof is not minimal). */
  | "NOT_COMMITTED"
  /** A QC that names another block or view than the header it should certify. */
  | "QC_MISMATCH"
  /** A QC that does not verify (below quorum, bad aggregate, malformed signer set). */
  | "BAD_QC";

export type CommitProofResult = { readonly ok: true; readonly height: number; readonly hash: Hash } | { readonly ok: false; readonly code: CommitProofCode; readonly reason: string };

export interface CommitProofContext {
  readonly hashBlock: BlockHasher;
  readonly certificates: { verifyQcs(qcs: readonly QuorumCert[]): CertCheck[] };
}

/** Checks a commit proof; on success, the proven block's height and hash. */
export function verifyCommitProof(p: CommitProof, ctx: CommitProofContext): CommitProofResult {
  const n = p.headers.length;
  if (n < 2 || n > MAX_COMMIT_PROOF_HEADERS) return bad("BAD_LENGTH", `a commit proof has 2..${MAX_COMMIT_PROOF_HEADERS} headers, not ${n}`);
  const hashes = p.headers.map((h) => ctx.hashBlock(h));
  for (let i = 1; i < n; i++) {
    const prev = p.headers[i - 1]!;
    const cur = p.headers[i]!;
    if (!bytesEqual(cur.parent, hashes[i - 1]!) || cur.height !== prev.height + 1) return bad("BAD_LINK", `header ${cur.height} does not extend header ${prev.height}`);
    const consecutive = cur.view === prev.view + 1;
    if (i < n - 1 && consecutive) return bad("NOT_COMMITTED", `headers ${prev.height} and ${cur.height} already have consecutive views: the proof must end there`);
    if (i === n - 1 && !consecutive) return bad("NOT_COMMITTED", `the last two headers' views ${prev.view} and ${cur.view} are not consecutive`);
  }
  const [qcK, qcK1] = p.qcs;
  const k = n - 2;
  for (const [qc, i] of [[qcK, k], [qcK1, k + 1]] as const) {
    if (qc.view !== p.headers[i]!.view || !bytesEqual(qc.blockHash, hashes[i]!)) return bad("QC_MISMATCH", `the QC for height ${p.headers[i]!.height} names another block or view`);
  }
  const checks = ctx.certificates.verifyQcs([qcK, qcK1]);
  const failed = checks.findIndex((c) => c !== "ok");
  if (failed >= 0) return bad("BAD_QC", `the QC for height ${p.headers[k + failed]!.height} does not verify (${checks[failed]})`);
  return { ok: true, height: p.headers[0]!.height, hash: hashes[0]! };
}

/**
 * The commit proof of height h from a committed chain (`at(i)`: the committed header and the QC certifying it), or
 * null when no consecutive pair is committed yet at or above h (within MAX_COMMIT_PROOF_HEADERS).
 */
export function buildCommitProof(h: number, head: number, at: (height: number) => { readonly header: BlockHeader; readonly qc: QuorumCert } | undefined): CommitProof | null {
  const headers: BlockHeader[] = [];
  const qcs: QuorumCert[] = [];
  for (let i = h; i <= head && headers.length < MAX_COMMIT_PROOF_HEADERS; i++) {
    const r = at(i);
    if (r === undefined) return null;
    headers.push(r.header);
    qcs.push(r.qc);
    const m = headers.length;
    if (m >= 2 && headers[m - 1]!.view === headers[m - 2]!.view + 1) return { headers, qcs: [qcs[m - 2]!, qcs[m - 1]!] };
  }
  return null;
}

/** A proof from the blocks h..k+1 as served (`GET /v1/blocks/:h/commit-proof`: each block with the QC certifying it). */
export function commitProofOf(blocks: readonly { readonly header: BlockHeader; readonly qc: QuorumCert | null }[]): CommitProof | null {
  const n = blocks.length;
  if (n < 2) return null;
  const a = blocks[n - 2]!.qc;
  const b = blocks[n - 1]!.qc;
  if (a === null || b === null) return null;
  return { headers: blocks.map((x) => x.header), qcs: [a, b] };
}

function bad(code: CommitProofCode, reason: string): CommitProofResult {
  return { ok: false, code, reason };
}
