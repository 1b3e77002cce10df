/**
 * What every per-kind check needs: configuration, the injected modules, and the caches/trackers that live as long as
 * the validator (see validator.ts).
 */
import { bytesEqual } from "../../util/bytes.js";
import { HASH_BYTES, SIGNATURE_BYTES } from "../../domain/limits.js";
import type { Block, Hash, QuorumCert, TimeoutCert } from "../../domain/types.js";
import type { BlockHasher } from "../blockHash.js";
import type { LeaderElection } from "../leaderElection.js";
import type { RejectCode } from "./codes.js";
import type { EquivocationTracker } from "./equivocation.js";
import type { CertificateVerifier } from "./verifier.js";

/** RFC 6962 root of a block's transactions (the crypto core's `merkleRoot` in the node). */
export type TxRootFn = (txs: readonly Uint8Array[]) => Hash;

export interface CheckContext {
  readonly self: number;
  readonly n: number;
  /** The instance's root (genesis, or the block that ended the previous epoch) and its view: its QC is `rootQc`. */
  readonly rootHash: Hash;
  readonly rootView: number;
  readonly viewWindow: number;
  readonly maxClockSkewMs: number;
  /** False in optimistic mode: vote signatures are checked in the aggregate by the collector (see vote.ts). */
  readonly verifyVotes: boolean;
  readonly leaders: LeaderElection;
  readonly verifier: CertificateVerifier;
  readonly hashBlock: BlockHasher;
  readonly txRoot: TxRootFn;
  readonly tracker: EquivocationTracker;
}

/** A check's verdict: a code, or null when the message passed. */
export type Verdict = RejectCode | null;

export function validIndex(ctx: CheckContext, i: number): boolean {
  return Number.isInteger(i) && i >= 0 && i < ctx.n;
}

export function validView(v: number): boolean {
  return Number.isSafeInteger(v) && v >= 1;
}

/**
 * A QC: the root certificate exactly (genesis's at view 0, or an epoch root's at its view: `rootQc`), or one whose
 * signers and aggregate verify. Any other QC of view 0 is refused as a bad genesis QC.
 */
export function checkQc(ctx: CheckContext, qc: QuorumCert): Verdict {
  if (qc.blockHash.length !== HASH_BYTES || qc.aggregateSignature.length !== SIGNATURE_BYTES || !Number.isSafeInteger(qc.view) || qc.view < 0) return "MALFORMED";
  if (qc.view === ctx.rootView && qc.signers.length === 0 && bytesEqual(qc.blockHash, ctx.rootHash) && qc.aggregateSignature.every((b) => b === 0)) return null;
  if (qc.view === 0) return "BAD_GENESIS_QC";
  switch (ctx.verifier.verifyQc(qc)) {
    case "ok":
      return null;
    case "BAD_SIGNERS":
      return "QC_BAD_SIGNERS";
    case "BELOW_QUORUM":
      return "QC_BELOW_QUORUM";
    case "BAD_AGGREGATE":
    case "BAD_HIGH_QC_VIEWS":
    case "HIGH_QC_MISMATCH":
      return "QC_BAD_AGGREGATE";
  }
}

/**
 * A TC: its signers, claims and aggregate (including that the carried QC's view is the largest claim), then the carried
 * QC as any QC — the genesis certificate exactly, or signers and aggregate that verify (a rejection of it is a QC code).
 */
export function checkTc(ctx: CheckContext, tc: TimeoutCert): Verdict {
  if (!validView(tc.view) || tc.aggregateSignature.length !== SIGNATURE_BYTES) return "MALFORMED";
  switch (ctx.verifier.verifyTc(tc)) {
    case "ok":
      return checkQc(ctx, tc.highQc);
    case "BAD_SIGNERS":
      return "TC_BAD_SIGNERS";
    case "BELOW_QUORUM":
      return "TC_BELOW_QUORUM";
    case "BAD_HIGH_QC_VIEWS":
      return "TC_BAD_HIGH_QC_VIEWS";
    case "HIGH_QC_MISMATCH":
      return "TC_HIGH_QC_MISMATCH";
    case "BAD_AGGREGATE":
      return "TC_BAD_AGGREGATE";
  }
}

/** Header field lengths and a non-zero view and height. */
export function checkHeaderShape(block: Block): Verdict {
  const h = block.header;
  if (h.parent.length !== HASH_BYTES || h.txRoot.length !== HASH_BYTES || h.parentStateRoot.length !== HASH_BYTES) return "MALFORMED";
  if (!validView(h.view) || !Number.isSafeInteger(h.height) || h.height < 1) return "MALFORMED";
  return null;
}

/** The timestamp bound and the tx root (one Merkle root over the transactions: the costly part). */
export function checkBlockContent(ctx: CheckContext, block: Block, now: number): Verdict {
  if (block.header.timestampMs > now + ctx.maxClockSkewMs) return "TIMESTAMP_IN_FUTURE";
  if (!bytesEqual(ctx.txRoot(block.txs), block.header.txRoot)) return "BAD_TX_ROOT";
  return null;
}
