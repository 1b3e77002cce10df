/**
 * Proposal equivocation evidence: two signed proposals of one view by one proposer, for different blocks. Since
 * protocol version 3 a proposal carries its proposer's signature over (chain id, view, block hash) (signing.ts
 * `proposalMessage`), so the pair is a self-contained proof: anyone holding only the validator set (as a
 * `SignatureScheme` over its public keys) and the chain id can check it with `verifyEquivocationEvidence` — no block,
 * no certificate, no trust in the replica that recorded it. An honest proposer never signs two: `lastProposedView` is
 * persisted before its proposal leaves (consensus/onPayload.ts).
 *
 * Vote equivocation (two signed votes of one view for different blocks) is checked the same way
 * (`verifyVoteEquivocationEvidence`); the evidence module (src/chain/app/evidence/) puts both kinds on chain.
 *
 * Encoding: JSON (`evidenceToJson` / `evidenceFromJson`), hex byte fields, for operators and the RPC; the wire schema
 * has no evidence table yet (passing evidence between peers would add one — the signed tuples are all it needs).
 */
import { HASH_BYTES, VOTE_SIGNATURE_BYTES } from "../../domain/limits.js";
import type { SignedProposalHash, Vote } from "../../domain/types.js";
import { bytesEqual, fromHex, toHex } from "../../util/bytes.js";
import type { SignatureScheme } from "../scheme.js";
import { proposalMessage, voteMessage } from "../signing.js";
import type { Evidence } from "./equivocation.js";

/** Two signed proposals of one view by one proposer (the self-contained part of a tracker's proposal evidence). */
export interface ProposalEquivocation {
  readonly first: SignedProposalHash;
  readonly second: SignedProposalHash;
}

/** Why a pair is not evidence (or "ok"). */
export type EvidenceVerdict =
  | "ok"
  /** A field of the wrong length or range (hash 32 bytes, signature VOTE_SIGNATURE_BYTES, view ≥ 1). */
  | "MALFORMED"
  /** The proposer index is outside the validator set. */
  | "UNKNOWN_PROPOSER"
  /** The two tuples name different proposers: no one validator signed both. */
  | "DIFFERENT_PROPOSERS"
  /** The two tuples are of different views: a proposer may propose once per view. */
  | "DIFFERENT_VIEWS"
  /** Both name the same block: a duplicate, not a conflict. */
  | "SAME_BLOCK"
  /** A signature is not the proposer's over the proposal message of its (view, block hash). */
  | "BAD_SIGNATURE";

export interface EvidenceCheckContext {
  readonly chainId: Uint8Array;
  /** The validator set's keys (only `verify` is used): BLS in the node, the test scheme in the simulator. */
  readonly scheme: Pick<SignatureScheme, "verify">;
  readonly validatorCount: number;
}

function wellFormed(s: { readonly view: number; readonly blockHash: Uint8Array; readonly signature: Uint8Array }): boolean {
  return Number.isSafeInteger(s.view) && s.view >= 1 && s.blockHash.length === HASH_BYTES && s.signature.length === VOTE_SIGNATURE_BYTES;
}

/**
 * Whether `e` proves that its proposer signed two different proposals for one view. Pure: the verdict depends only on
 * `e`, the chain id and the validator keys. Cheap checks first; the two signature checks last.
 */
export function verifyEquivocationEvidence(ctx: EvidenceCheckContext, e: ProposalEquivocation): EvidenceVerdict {
  return verifyPair(ctx, { ...e.first, signer: e.first.proposer }, { ...e.second, signer: e.second.proposer }, proposalMessage);
}

/** Two signed votes of one view by one voter, for different blocks (the self-contained part of vote evidence). */
export interface VoteEquivocation {
  readonly first: Vote;
  readonly second: Vote;
}

/**
 * Whether `e` proves that its voter signed votes for two different blocks in one view (an honest voter votes once per
 * view: `lastVotedView` is persisted before its vote leaves). The verdicts are the proposal ones, the proposer being
 * the voter: `DIFFERENT_PROPOSERS` for two voters, `UNKNOWN_PROPOSER` for one outside the set.
 */
export function verifyVoteEquivocationEvidence(ctx: EvidenceCheckContext, e: VoteEquivocation): EvidenceVerdict {
  return verifyPair(ctx, { ...e.first, signer: e.first.voter }, { ...e.second, signer: e.second.voter }, voteMessage);
}

interface SignedHash {
  readonly signer: number;
  readonly view: number;
  readonly blockHash: Uint8Array;
  readonly signature: Uint8Array;
}

function verifyPair(ctx: EvidenceCheckContext, first: SignedHash, second: SignedHash, message: (chainId: Uint8Array, view: number, hash: Uint8Array) => Uint8Array): EvidenceVerdict {
  if (!wellFormed(first) || !wellFormed(second)) return "MALFORMED";
  if (first.signer !== second.signer) return "DIFFERENT_PROPOSERS";
  const p = first.signer;
  if (!Number.isInteger(p) || p < 0 || p >= ctx.validatorCount) return "UNKNOWN_PROPOSER";
  if (first.view !== second.view) return "DIFFERENT_VIEWS";
  if (bytesEqual(first.blockHash, second.blockHash)) return "SAME_BLOCK";
  for (const s of [first, second]) {
    if (!ctx.scheme.verify(p, message(ctx.chainId, s.view, s.blockHash), s.signature)) return "BAD_SIGNATURE";
  }
  return "ok";
}

/** The JSON form of `ProposalEquivocation` (schema tag and version first, so a reader can refuse what it cannot read). */
export interface ProposalEquivocationJson {
  readonly type: "quire-proposal-equivocation";
  readonly version: 1;
  readonly proposer: number;
  readonly view: number;
  readonly first: { readonly blockHash: string; readonly signature: string };
  readonly second: { readonly blockHash: string; readonly signature: string };
}

export function evidenceToJson(e: ProposalEquivocation): ProposalEquivocationJson {
  return {
    type: "quire-proposal-equivocation",
    version: 1,
    proposer: e.first.proposer,
    view: e.first.view,
    first: { blockHash: toHex(e.first.blockHash), signature: toHex(e.first.signature) },
    second: { blockHash: toHex(e.second.blockHash), signature: toHex(e.second.signature) },
  };
}

/** A JSON value that is not proposal evidence: the field at fault and why. */
export type EvidenceJsonResult = { readonly ok: true; readonly evidence: ProposalEquivocation } | { readonly ok: false; readonly code: "BAD_EVIDENCE_JSON"; readonly field: string };

/**
 * Parses `evidenceToJson`'s output (a parsed JSON value, untrusted). Never throws: anything else is
 * `{ ok: false, code: "BAD_EVIDENCE_JSON", field }`. Only the shape is checked here; `verifyEquivocationEvidence`
 * decides whether it is evidence.
 */
export function evidenceFromJson(value: unknown): EvidenceJsonResult {
  const bad = (field: string): EvidenceJsonResult => ({ ok: false, code: "BAD_EVIDENCE_JSON", field });
  if (typeof value !== "object" || value === null) return bad("(root)");
  const v = value as Record<string, unknown>;
  if (v["type"] !== "quire-proposal-equivocation") return bad("type");
  if (v["version"] !== 1) return bad("version");
  const proposer = v["proposer"];
  const view = v["view"];
  if (typeof proposer !== "number" || !Number.isInteger(proposer) || proposer < 0 || proposer > 0xffffffff) return bad("proposer");
  if (typeof view !== "number" || !Number.isSafeInteger(view) || view < 1) return bad("view");
  const side = (name: "first" | "second"): SignedProposalHash | string => {
    const s = v[name];
    if (typeof s !== "object" || s === null) return name;
    const o = s as Record<string, unknown>;
    const hash = hexField(o["blockHash"], HASH_BYTES);
    if (hash === null) return `${name}.blockHash`;
    const signature = hexField(o["signature"], VOTE_SIGNATURE_BYTES);
    if (signature === null) return `${name}.signature`;
    return { view, proposer, blockHash: hash, signature };
  };
  const first = side("first");
  if (typeof first === "string") return bad(first);
  const second = side("second");
  if (typeof second === "string") return bad(second);
  return { ok: true, evidence: { first, second } };
}

function hexField(x: unknown, bytes: number): Uint8Array | null {
  if (typeof x !== "string" || x.length !== 2 * bytes || !/^[0-9a-f]*$/i.test(x)) return null;
  return fromHex(x);
}

/**
 * What a replica holds against equivocators, for operators (the shell's `evidence()`): the proposal evidence in JSON,
 * ready to hand to anyone, and the totals of every kind. The list is the validator's bounded log (MAX_EVIDENCE).
 */
export interface EvidenceReport {
  /** Evidence recorded since start, of every kind (proposal, vote, timeout), including what the log dropped. */
  readonly total: number;
  /** Entries dropped from the bounded log (oldest first). */
  readonly dropped: number;
  /** Evidence count per validator index, of every kind. */
  readonly byValidator: Readonly<Record<string, number>>;
  /** The proposal equivocations in the log, oldest first. */
  readonly proposals: readonly ProposalEquivocationJson[];
}

export function evidenceReport(log: readonly Evidence[], dropped: number, counts: ReadonlyMap<number, number>): EvidenceReport {
  const byValidator: Record<string, number> = {};
  for (const [v, n] of counts) byValidator[String(v)] = n;
  const proposals: ProposalEquivocationJson[] = [];
  for (const e of log) if (e.kind === "proposal") proposals.push(evidenceToJson(e));
  return { total: log.length + dropped, dropped, byValidator, proposals };
}
