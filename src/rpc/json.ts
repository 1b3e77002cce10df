/**
 * The JSON documents of the RPC, both directions: the server renders `NodeApi` values with the `*Json` functions,
 * the client reads them back with the `decode*` functions, so one module owns the format. Bytes are lower-case hex
 * without prefix; heights, views, indices and timestamps are JSON numbers (integers below 2^53).
 *
 * Decoders treat the document as untrusted: a wrong shape, a non-integer, bad hex or a wrong digest length is an
 * `RpcClientError("BAD_RESPONSE")`, never a silently wrong value.
 */
import type { AccountView, BlockSummary, ConsensusView, EpochView, FollowerNodeStatus, GeoRoundView, HealthReason, NodeHealth, NodeStatus, ParaNodeStatus, PeerView, SupplyView, TxReceipt, TxStatus, ValidatorRole, ValidatorSetView, ViewAndBlock, XShardTransferView } from "./api.js";
import type { RootedInclusionProof } from "../crypto/merkle.js";
import type { BlockHeader, QuorumCert } from "../domain/types.js";
import { HASH_BYTES, MAX_CERT_SIGNERS, MAX_UINT53, SIGNATURE_BYTES } from "../domain/limits.js";
import { decodeBitmapIndices } from "../crypto/bitmap/index.js";
import { fromHex, toHex } from "../util/bytes.js";
import { RpcClientError } from "./errors.js";
import type { DoneCommit, ParaStatus } from "../chain/app/paracross/module.js";
import { decodeCommitMessage } from "../chain/app/paracross/format.js";
import { MAX_COMMIT_PROOF_HEADERS } from "../consensus/commitProof.js";

/** `GET /v1/blocks/:height` and each `/v1/stream` frame. */
export interface BlockJson {
  height: number;
  hash: string;
  parent: string;
  view: number;
  proposer: number;
  timestampMs: number;
  txRoot: string;
  parentStateRoot: string;
  /** The parent block's encoded tx-result bitmap. */
  parentResults: string;
  /** Encoded bitmap of who signed the QC the block extends ("" for none). */
  parentSigners: string;
  txCount: number;
  /** The certificate of this block; null for genesis. */
  qc: QcJson | null;
}

/** `GET /v1/blocks?from=H&to=H2`: the committed blocks of the range up to the head, ascending, with no gaps. */
export interface BlocksJson {
  blocks: BlockJson[];
}

export interface QcJson {
  view: number;
  blockHash: string;
  /** The encoded signer bitmap (src/crypto/bitmap format). */
  signers: string;
  /**
   * The same set as validator indices, increasing (decoded from `signers` by the node), so a reader such as the
   * dashboard needs no bitmap decoder. Rendering only: the client decoders take the set from `signers`.
   */
  signerIndices: number[];
  aggregateSignature: string;
}

/** `GET /v1/tx/:id`. `height`, `index` and `ok` are null while pending; `ok` is null until the block is executed. */
export interface TxStatusJson {
  id: string;
  status: "pending" | "committed";
  height: number | null;
  index: number | null;
  ok: boolean | null;
}

/** `GET /v1/tx/:id/receipt` (chain/receipt.ts checks it; `quire verify receipt --file` reads it). */
export interface ReceiptJson {
  id: string;
  height: number;
  index: number;
  tx: string;
  failed: boolean;
  inclusion: ProofJson;
  /** The commit proof of `height`: the blocks height..k+1 with their QCs. */
  blocks: BlockJson[];
}

/** `GET /v1/blocks/:height/proof/:index`: exactly the document `quire merkle proof` prints and `merkle verify` reads. */
export interface ProofJson {
  leafIndex: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[];
}

/** `GET /v1/kv/:key`. `valueUtf8` is the value as text when it is valid UTF-8, else null. */
export interface KvJson {
  key: string;
  value: string;
  valueUtf8: string | null;
}

/** `GET /v1/accounts/:pubkey`. */
export interface AccountJson {
  publicKey: string;
  balance: number;
  nonce: number;
}

/** `GET /v1/supply`: `escrows` maps each registered para chain's title to its escrow. */
export interface SupplyJson {
  supply: number;
  escrows: Record<string, number>;
  xshard?: { escrowed: number; imported: number };
}

/** `GET /v1/status`: the fields of `NodeStatus`. */
export type StatusJson = { [K in keyof NodeStatus]: NodeStatus[K] };

/** One item's outcome in `POST /v1/txs` (and the shape the client reports for `POST /v1/tx`). */
export type SubmitItemJson =
  | { status: "accepted" | "duplicate"; id: string }
  | { status: "invalid"; reason: string }
  | { status: "full"; retryAfterSec: number }
  /** Not offered to the mempool: an earlier item of the batch found it full (or failed); retry it. */
  | { status: "skipped" }
  /** The node failed on this item (500); later items were skipped. */
  | { status: "error" };

// ---------------------------------------------------------------------------------------------------------------
// Rendering (server side)

export function qcJson(qc: QuorumCert): QcJson {
  // A certificate the node holds was verified on arrival, so its bitmap decodes; MAX_CERT_SIGNERS bounds the work
  // anyway (a broken store would make this route a logged 500, not an unbounded allocation).
  const signerIndices = Array.from(decodeBitmapIndices(qc.signers, { maxBits: MAX_CERT_SIGNERS }));
  return { view: qc.view, blockHash: toHex(qc.blockHash), signers: toHex(qc.signers), signerIndices, aggregateSignature: toHex(qc.aggregateSignature) };
}

export function blockJson(b: BlockSummary): BlockJson {
  const h = b.header;
  return {
    height: h.height,
    hash: toHex(b.hash),
    parent: toHex(h.parent),
    view: h.view,
    proposer: h.proposer,
    timestampMs: h.timestampMs,
    txRoot: toHex(h.txRoot),
    parentStateRoot: toHex(h.parentStateRoot),
    parentResults: toHex(h.parentResults),
    parentSigners: toHex(h.parentSigners),
    txCount: b.txCount,
    qc: b.qc === null ? null : qcJson(b.qc),
  };
}

export function blocksJson(blocks: readonly BlockSummary[]): BlocksJson {
  return { blocks: blocks.map(blockJson) };
}

export function txStatusJson(id: Uint8Array, s: TxStatus): TxStatusJson {
  return s.status === "pending"
    ? { id: toHex(id), status: "pending", height: null, index: null, ok: null }
    : { id: toHex(id), status: "committed", height: s.height, index: s.index, ok: s.ok };
}

export function proofJson(p: RootedInclusionProof): ProofJson {
  return { leafIndex: p.leafIndex, treeSize: p.treeSize, root: toHex(p.root), leafHash: toHex(p.leafHash), proof: p.proof.map(toHex) };
}

export function receiptJson(r: TxReceipt): ReceiptJson {
  return { id: toHex(r.id), height: r.height, index: r.index, tx: toHex(r.tx), failed: r.failed, inclusion: proofJson(r.inclusion), blocks: r.blocks.map(blockJson) };
}

export function accountJson(a: AccountView): AccountJson {
  return { publicKey: toHex(a.publicKey), balance: a.balance, nonce: a.nonce };
}

export function xshardTransferJson(t: XShardTransferView): Record<string, unknown> {
  return { xid: toHex(t.xid), shard: t.shard, leg: t.leg, output: t.output === null ? null : { ...t.output } };
}

export function decodeXShardTransfer(v: unknown): XShardTransferView {
  const o = object(v, "xshard");
  const leg = o["leg"];
  if (leg !== null && typeof leg !== "string") throw new RpcClientError("BAD_RESPONSE", "malformed response: xshard.leg");
  const out = o["output"];
  let output: XShardTransferView["output"] = null;
  if (out !== null) {
    const x = object(out, "xshard.output");
    if (typeof x["status"] !== "string") throw new RpcClientError("BAD_RESPONSE", "malformed response: xshard.output.status");
    output = { status: x["status"], arrived: uint(x, "arrived", "xshard.output"), sum: uint(x, "sum", "xshard.output") };
  }
  if (typeof o["xid"] !== "string") throw new RpcClientError("BAD_RESPONSE", "malformed response: xshard.xid");
  return { xid: fromHex(o["xid"]), shard: uint(o, "shard", "xshard"), leg, output };
}

export function supplyJson(s: SupplyView): SupplyJson {
  return { supply: s.supply, escrows: Object.fromEntries(s.escrows), ...(s.xshard === undefined ? {} : { xshard: { ...s.xshard } }) };
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function kvJson(key: Uint8Array, value: Uint8Array): KvJson {
  let text: string | null;
  try {
    text = strictUtf8.decode(value);
  } catch {
    text = null;
  }
  return { key: toHex(key), value: toHex(value), valueUtf8: text };
}

// ---------------------------------------------------------------------------------------------------------------
// Operator routes (health, peers, validators, consensus). Each copies the listed fields only, as statusJson does.

/** `GET /v1/health`: the 200 document; a 503 carries the same fields beside its `error` (server.ts). */
export interface HealthJson {
  ok: boolean;
  reason: string | null;
  detail: string | null;
  committedHeight: number;
  lastCommitAgeMs: number;
  notCommittingAfterMs: number;
  peersConnected: number;
  peersNeeded: number;
}

/** `GET /v1/peers`: `{"peers": [...]}`, ascending by index. */
export interface PeerJson {
  index: number;
  publicKey: string;
  /** `host:port`, or null when unknown. */
  address: string | null;
  connected: boolean;
  connectedSince: number | null;
  lastMessageAt: number | null;
  committedHeight: number | null;
  penalties: { points: number; muted: boolean; strikes: number; banned: boolean };
}

/** `GET /v1/validators`. */
export interface ValidatorsJson {
  epoch: number;
  startHeight: number;
  validators: { index: number; publicKey: string; votingPower: number; address: string | null; self: boolean; score: number | null; role: ValidatorRole }[];
}

/** `GET /v1/epochs`. */
export interface EpochsJson {
  epochs: { epoch: number; startHeight: number; members: number[] }[];
}

export interface ViewAndBlockJson {
  view: number;
  blockHash: string;
}

/** `GET /v1/consensus`. */
export interface ConsensusJson {
  view: number;
  leader: number;
  viewDeadlineMs: number;
  viewTimeoutMs: number;
  lastVote: ViewAndBlockJson | null;
  highQc: ViewAndBlockJson & { signers: number };
  lastTcView: number | null;
  timeouts: { local: number; tcs: number };
  lastVotedView: number;
  lastProposedView: number;
  committedHeight: number;
}

export function healthJson(h: NodeHealth): HealthJson {
  return {
    ok: h.ok,
    reason: h.reason,
    detail: h.detail,
    committedHeight: h.committedHeight,
    lastCommitAgeMs: h.lastCommitAgeMs,
    notCommittingAfterMs: h.notCommittingAfterMs,
    peersConnected: h.peersConnected,
    peersNeeded: h.peersNeeded,
  };
}

function addressText(a: { readonly host: string; readonly port: number } | null): string | null {
  if (a === null) return null;
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export function peersJson(peers: readonly PeerView[]): { peers: PeerJson[] } {
  return {
    peers: peers.map((p) => ({
      index: p.index,
      publicKey: toHex(p.publicKey),
      address: addressText(p.address),
      connected: p.connected,
      connectedSince: p.connectedSince,
      lastMessageAt: p.lastMessageAt,
      committedHeight: p.committedHeight,
      // Points decay continuously: two decimals are plenty for people and keep the document stable to read.
      penalties: { points: Math.round(p.penalties.points * 100) / 100, muted: p.penalties.muted, strikes: p.penalties.strikes, banned: p.penalties.banned },
    })),
  };
}

export function validatorsJson(v: ValidatorSetView): ValidatorsJson {
  return {
    epoch: v.epoch,
    startHeight: v.startHeight,
    validators: v.validators.map((x) => ({ index: x.index, publicKey: toHex(x.publicKey), votingPower: x.votingPower, address: addressText(x.address), self: x.self, score: x.score, role: x.role })),
  };
}

export function epochsJson(epochs: readonly EpochView[]): EpochsJson {
  return { epochs: epochs.map((e) => ({ epoch: e.epoch, startHeight: e.startHeight, members: [...e.members] })) };
}

function viewAndBlockJson(v: ViewAndBlock): ViewAndBlockJson {
  return { view: v.view, blockHash: toHex(v.blockHash) };
}

export function consensusJson(c: ConsensusView): ConsensusJson {
  return {
    view: c.view,
    leader: c.leader,
    viewDeadlineMs: c.viewDeadlineMs,
    viewTimeoutMs: c.viewTimeoutMs,
    lastVote: c.lastVote === null ? null : viewAndBlockJson(c.lastVote),
    highQc: { ...viewAndBlockJson(c.highQc), signers: c.highQc.signers },
    lastTcView: c.lastTcView,
    timeouts: { local: c.timeouts.local, tcs: c.timeouts.tcs },
    lastVotedView: c.lastVotedView,
    lastProposedView: c.lastProposedView,
    committedHeight: c.committedHeight,
  };
}

export function statusJson(s: NodeStatus): StatusJson {
  // Copy the listed fields only: an implementation's extra properties never leak into the document.
  return {
    chainId: s.chainId,
    nodeIndex: s.nodeIndex,
    committedHeight: s.committedHeight,
    view: s.view,
    leader: s.leader,
    peersConnected: s.peersConnected,
    mempoolSize: s.mempoolSize,
    ...(s.para !== undefined ? { para: { title: s.para.title, doneHeight: s.para.doneHeight, mainHeight: s.para.mainHeight, stalled: s.para.stalled } } : {}),
    ...(s.follower !== undefined ? { follower: { upstream: s.follower.upstream, upstreamHeight: s.follower.upstreamHeight, lag: s.follower.lag, pending: s.follower.pending } } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Reading (client side)

function bad(what: string): never {
  throw new RpcClientError("BAD_RESPONSE", `malformed response: ${what}`);
}

function object(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) bad(`${what} must be an object`);
  return v as Record<string, unknown>;
}

function uint(o: Record<string, unknown>, k: string, what: string): number {
  const v = o[k];
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > MAX_UINT53) bad(`${what}.${k} must be an integer in [0, 2^53)`);
  return v;
}

function hexOf(v: unknown, what: string, length?: number): Uint8Array {
  if (typeof v !== "string" || v.startsWith("0x") || v.startsWith("0X")) bad(`${what} must be a hex string`);
  let b: Uint8Array;
  try {
    b = fromHex(v);
  } catch {
    bad(`${what} must be a hex string`);
  }
  if (length !== undefined && b.length !== length) bad(`${what} must be ${length} bytes, got ${b.length}`);
  return b;
}

function hex(o: Record<string, unknown>, k: string, what: string, length?: number): Uint8Array {
  return hexOf(o[k], `${what}.${k}`, length);
}

/**
 * `GET /v1/validators` read back by a client (`RpcClient.validators`): the epoch, and each member's index, key, score
 * and role (a node from before scores answers without them: null and "member").
 */
export function decodeValidators(v: unknown): {
  readonly epoch: number;
  readonly startHeight: number;
  readonly validators: readonly { readonly index: number; readonly publicKey: Uint8Array; readonly self: boolean; readonly score: number | null; readonly role: ValidatorRole }[];
} {
  const o = object(v, "validators");
  const list = o["validators"];
  if (!Array.isArray(list) || list.length > MAX_CERT_SIGNERS) bad(`validators.validators must be an array of at most ${MAX_CERT_SIGNERS}`);
  return {
    epoch: uint(o, "epoch", "validators"),
    startHeight: uint(o, "startHeight", "validators"),
    validators: list.map((x, i) => {
      const e = object(x, `validators[${i}]`);
      if (typeof e["self"] !== "boolean") bad(`validators[${i}].self must be a boolean`);
      const score = e["score"] ?? null;
      if (score !== null && (typeof score !== "number" || !Number.isInteger(score) || score < 0 || score > 100)) bad(`validators[${i}].score must be an integer in 0..100 or null`);
      const role = e["role"] ?? "member";
      if (role !== "member" && role !== "passive") bad(`validators[${i}].role must be "member" or "passive"`);
      return { index: uint(e, "index", `validators[${i}]`), publicKey: hex(e, "publicKey", `validators[${i}]`, 48), self: e["self"], score, role };
    }),
  };
}

/** `GET /v1/epochs`: shapes only (an epoch has 1..MAX_CERT_SIGNERS members); what they mean is the caller's to check. */
export function decodeEpochs(v: unknown): EpochView[] {
  const list = object(v, "epochs")["epochs"];
  if (!Array.isArray(list)) bad("epochs.epochs must be an array");
  return list.map((x, i) => {
    const e = object(x, `epochs[${i}]`);
    const members = e["members"];
    if (!Array.isArray(members) || members.length === 0 || members.length > MAX_CERT_SIGNERS) bad(`epochs[${i}].members must be an array of 1 to ${MAX_CERT_SIGNERS}`);
    const indices = members.map((m: unknown, k) => {
      if (typeof m !== "number" || !Number.isInteger(m) || m < 0 || m > MAX_UINT53) bad(`epochs[${i}].members[${k}] must be an integer in [0, 2^53)`);
      return m;
    });
    return { epoch: uint(e, "epoch", `epochs[${i}]`), startHeight: uint(e, "startHeight", `epochs[${i}]`), members: indices };
  });
}

export function decodeQc(v: unknown): QuorumCert {
  const o = object(v, "qc");
  return {
    view: uint(o, "view", "qc"),
    blockHash: hex(o, "blockHash", "qc", HASH_BYTES),
    signers: hex(o, "signers", "qc"),
    aggregateSignature: hex(o, "aggregateSignature", "qc", SIGNATURE_BYTES),
  };
}

export function decodeBlock(v: unknown): BlockSummary {
  const o = object(v, "block");
  const header: BlockHeader = {
    parent: hex(o, "parent", "block", HASH_BYTES),
    view: uint(o, "view", "block"),
    height: uint(o, "height", "block"),
    proposer: uint(o, "proposer", "block"),
    timestampMs: uint(o, "timestampMs", "block"),
    txRoot: hex(o, "txRoot", "block", HASH_BYTES),
    parentStateRoot: hex(o, "parentStateRoot", "block", HASH_BYTES),
    parentResults: hex(o, "parentResults", "block"),
    // Absent from nodes older than the field: such a node's headers carry none (it would hash differently otherwise).
    parentSigners: o["parentSigners"] === undefined ? new Uint8Array(0) : hex(o, "parentSigners", "block"),
  };
  const qc = o["qc"] === null ? null : decodeQc(o["qc"]);
  return { hash: hex(o, "hash", "block", HASH_BYTES), header, txCount: uint(o, "txCount", "block"), qc };
}

/**
 * Reads a range document asked for heights `from..to`: at most that many blocks, consecutive heights from `from`.
 * Fewer is allowed (the node's head is below `to`); what each block contains is the caller's to check.
 */
export function decodeBlocks(v: unknown, from: number, to: number): BlockSummary[] {
  const list = object(v, "blocks document")["blocks"];
  if (!Array.isArray(list)) bad("blocks must be an array");
  if (list.length > to - from + 1) bad(`${list.length} blocks for heights ${from}..${to}`);
  return (list as unknown[]).map((b, i) => {
    const block = decodeBlock(b);
    if (block.header.height !== from + i) bad(`blocks[${i}].height is ${block.header.height}, expected ${from + i}`);
    return block;
  });
}

/** Reads a tx status document; `id` is the id it reports. */
export function decodeTxStatus(v: unknown): { id: Uint8Array; status: TxStatus } {
  const o = object(v, "tx status");
  const id = hex(o, "id", "tx status", HASH_BYTES);
  if (o["status"] === "pending") return { id, status: { status: "pending" } };
  if (o["status"] !== "committed") bad('tx status.status must be "pending" or "committed"');
  const ok = o["ok"];
  if (ok !== null && typeof ok !== "boolean") bad("tx status.ok must be a boolean or null");
  return { id, status: { status: "committed", height: uint(o, "height", "tx status"), index: uint(o, "index", "tx status"), ok } };
}

export function decodeProof(v: unknown): RootedInclusionProof {
  const o = object(v, "proof");
  const path = o["proof"];
  if (!Array.isArray(path)) bad("proof.proof must be an array");
  return {
    leafIndex: uint(o, "leafIndex", "proof"),
    treeSize: uint(o, "treeSize", "proof"),
    root: hex(o, "root", "proof", HASH_BYTES),
    leafHash: hex(o, "leafHash", "proof", HASH_BYTES),
    proof: (path as unknown[]).map((p, i) => hexOf(p, `proof.proof[${i}]`, HASH_BYTES)),
  };
}

export function decodeStatus(v: unknown): NodeStatus {
  const o = object(v, "status");
  const chainId = o["chainId"];
  if (typeof chainId !== "string") bad("status.chainId must be a string");
  return {
    chainId,
    nodeIndex: uint(o, "nodeIndex", "status"),
    committedHeight: uint(o, "committedHeight", "status"),
    view: uint(o, "view", "status"),
    leader: uint(o, "leader", "status"),
    peersConnected: uint(o, "peersConnected", "status"),
    mempoolSize: uint(o, "mempoolSize", "status"),
    ...(o["para"] !== undefined ? { para: decodeParaNodeStatus(o["para"]) } : {}),
    ...(o["follower"] !== undefined ? { follower: decodeFollowerStatus(o["follower"]) } : {}),
  };
}

function decodeFollowerStatus(v: unknown): FollowerNodeStatus {
  const f = object(v, "status.follower");
  const upstream = f["upstream"];
  if (upstream !== null && typeof upstream !== "string") bad("status.follower.upstream must be a string or null");
  return { upstream, upstreamHeight: uint(f, "upstreamHeight", "status.follower"), lag: uint(f, "lag", "status.follower"), pending: uint(f, "pending", "status.follower") };
}

const HEALTH_REASONS: readonly HealthReason[] = ["NO_PEERS", "NOT_COMMITTING", "CATCHING_UP"];

/** `GET /v1/health`'s document, from a 200 or a 503 (whose `error` beside it is ignored here). */
export function decodeHealth(v: unknown): NodeHealth {
  const o = object(v, "health");
  const ok = o["ok"];
  const reason = o["reason"];
  const detail = o["detail"];
  if (typeof ok !== "boolean") bad("health.ok must be a boolean");
  if (ok ? reason !== null : !HEALTH_REASONS.includes(reason as HealthReason)) bad(`health.reason must be ${ok ? "null when ok" : HEALTH_REASONS.join(", ")}`);
  if (detail !== null && typeof detail !== "string") bad("health.detail must be a string or null");
  return {
    ok,
    reason: reason as HealthReason | null,
    detail,
    committedHeight: uint(o, "committedHeight", "health"),
    lastCommitAgeMs: uint(o, "lastCommitAgeMs", "health"),
    notCommittingAfterMs: uint(o, "notCommittingAfterMs", "health"),
    peersConnected: uint(o, "peersConnected", "health"),
    peersNeeded: uint(o, "peersNeeded", "health"),
  };
}

function decodeParaNodeStatus(v: unknown): ParaNodeStatus {
  const p = object(v, "status.para");
  const title = p["title"];
  const stalled = p["stalled"];
  if (typeof title !== "string") bad("status.para.title must be a string");
  if (stalled !== null && typeof stalled !== "string") bad("status.para.stalled must be a string or null");
  return { title, doneHeight: uint(p, "doneHeight", "status.para"), mainHeight: uint(p, "mainHeight", "status.para"), stalled };
}

export function decodeKvValue(v: unknown): Uint8Array {
  return hex(object(v, "kv"), "value", "kv");
}

export function decodeAccount(v: unknown): AccountView {
  const o = object(v, "account");
  return { publicKey: hex(o, "publicKey", "account", 32), balance: uint(o, "balance", "account"), nonce: uint(o, "nonce", "account") };
}

export function decodeSupply(v: unknown): SupplyView {
  const o = object(v, "supply");
  const escrows = new Map<string, number>();
  const e = object(o["escrows"], "supply.escrows");
  for (const title of Object.keys(e)) escrows.set(title, uint(e, title, "supply.escrows"));
  if (o["xshard"] === undefined) return { supply: uint(o, "supply", "supply"), escrows };
  const x = object(o["xshard"], "supply.xshard");
  return { supply: uint(o, "supply", "supply"), escrows, xshard: { escrowed: uint(x, "escrowed", "supply.xshard"), imported: uint(x, "imported", "supply.xshard") } };
}

/** The client's view of one submission outcome (ids as bytes). */
export type SubmitOutcome =
  | { readonly status: "accepted" | "duplicate"; readonly id: Uint8Array }
  | { readonly status: "invalid"; readonly reason: string }
  | { readonly status: "full"; readonly retryAfterSec: number }
  | { readonly status: "skipped" }
  | { readonly status: "error" };

export function decodeSubmitItem(v: unknown, what = "result"): SubmitOutcome {
  const o = object(v, what);
  switch (o["status"]) {
    case "accepted":
    case "duplicate":
      return { status: o["status"], id: hex(o, "id", what, HASH_BYTES) };
    case "invalid": {
      const reason = o["reason"];
      if (typeof reason !== "string") bad(`${what}.reason must be a string`);
      return { status: "invalid", reason };
    }
    case "full":
      return { status: "full", retryAfterSec: uint(o, "retryAfterSec", what) };
    case "skipped":
    case "error":
      return { status: o["status"] };
    default:
      return bad(`${what}.status is not a known outcome`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Paracross (main chain): `GET /v1/para/:title/status` and `GET /v1/para/:title/:height`.

/** `GET /v1/para/:title/status`. */
export interface ParaStatusJson {
  title: string;
  nodes: number;
  doneHeight: number;
  recordedHeight: number;
  holes: number[];
}

/** `GET /v1/para/:title/:height`: the done commit; `message` is what the signers signed (decoded alongside). */
export interface ParaCommitJson {
  title: string;
  height: number;
  message: string;
  aggregateSignature: string;
  /** Encoded signer bitmap over the title's nodes. */
  signers: string;
  signerCount: number;
  nodes: number;
  decoded: { mainHeight: number; blockHash: string; stateRoot: string; results: string; crossTxs: string };
}

export function paraStatusJson(s: ParaStatus): ParaStatusJson {
  return { title: s.title, nodes: s.nodes, doneHeight: s.doneHeight, recordedHeight: s.recordedHeight, holes: [...s.holes] };
}

export function paraCommitJson(c: DoneCommit): ParaCommitJson {
  const d = c.decoded;
  return {
    title: c.title,
    height: c.height,
    message: toHex(c.message),
    aggregateSignature: toHex(c.aggregateSignature),
    signers: toHex(c.signers),
    signerCount: c.signerCount,
    nodes: c.nodes,
    decoded: { mainHeight: d.mainHeight, blockHash: toHex(d.blockHash), stateRoot: toHex(d.stateRoot), results: toHex(d.results), crossTxs: toHex(d.crossTxs) },
  };
}

export function decodeParaStatus(v: unknown): ParaStatus {
  const o = object(v, "para status");
  const title = o["title"];
  if (typeof title !== "string") bad("para status.title must be a string");
  const holes = o["holes"];
  if (!Array.isArray(holes)) bad("para status.holes must be an array");
  return {
    title,
    nodes: uint(o, "nodes", "para status"),
    doneHeight: uint(o, "doneHeight", "para status"),
    recordedHeight: uint(o, "recordedHeight", "para status"),
    holes: (holes as unknown[]).map((h, i) => (typeof h === "number" && Number.isSafeInteger(h) && h >= 0 ? h : bad(`para status.holes[${i}] must be a height`))),
  };
}

/**
 * Reads a done commit document (from the RPC or a file). The decoded fields are re-derived from `message` — the
 * bytes the signature covers — never taken from the document's `decoded` object.
 */
export function decodeParaCommit(v: unknown): DoneCommit {
  const o = object(v, "para commit");
  const title = o["title"];
  if (typeof title !== "string") bad("para commit.title must be a string");
  const message = hex(o, "message", "para commit");
  const m = decodeCommitMessage(message);
  if (!m.ok) bad(`para commit.message: ${m.reason}`);
  return {
    title,
    height: uint(o, "height", "para commit"),
    message,
    decoded: m.value,
    aggregateSignature: hex(o, "aggregateSignature", "para commit", 96),
    signers: hex(o, "signers", "para commit"),
    signerCount: uint(o, "signerCount", "para commit"),
    nodes: uint(o, "nodes", "para commit"),
  };
}

/**
 * Reads a receipt document: the shape only (hex, integers, the blocks consecutive from `height`, at most
 * MAX_COMMIT_PROOF_HEADERS of them); whether it proves anything is `verifyReceipt`'s to say.
 */
export function decodeReceipt(v: unknown): TxReceipt {
  const o = object(v, "receipt");
  const height = uint(o, "height", "receipt");
  const failed = o["failed"];
  if (typeof failed !== "boolean") bad("receipt.failed must be a boolean");
  return {
    id: hex(o, "id", "receipt", HASH_BYTES),
    height,
    index: uint(o, "index", "receipt"),
    tx: hex(o, "tx", "receipt"),
    failed,
    inclusion: decodeProof(o["inclusion"]),
    blocks: decodeBlocks({ blocks: o["blocks"] }, height, height + MAX_COMMIT_PROOF_HEADERS - 1),
  };
}

/** `GET /v1/geo/status` read back by a client: where the node's global order stands. */
export function decodeGeoStatus(v: unknown): { readonly cluster: number; readonly member: number; readonly round: number; readonly stateRoot: Uint8Array; readonly txs: number; readonly longestRemoteWaitMs: number; readonly events: Readonly<Record<string, number>> } {
  const o = object(v, "geo status");
  const events: Record<string, number> = {};
  const e = object(o["events"], "geo status.events");
  for (const k of Object.keys(e)) events[k] = uint(e, k, "geo status.events");
  return { cluster: uint(o, "cluster", "geo status"), member: uint(o, "member", "geo status"), round: uint(o, "round", "geo status"), stateRoot: hex(o, "stateRoot", "geo status", 32), txs: uint(o, "txs", "geo status"), longestRemoteWaitMs: uint(o, "longestRemoteWaitMs", "geo status"), events };
}

/** `GET /v1/geo/rounds` read back by a client: each round's blocks (cluster, height, hash, tx count, failed txs) and state root. */
export function decodeGeoRounds(v: unknown): GeoRoundView[] {
  const list = object(v, "geo rounds")["rounds"];
  if (!Array.isArray(list)) bad("geo rounds.rounds must be an array");
  return list.map((r, i) => {
    const o = object(r, `rounds[${i}]`);
    const blocks = o["blocks"];
    if (!Array.isArray(blocks)) bad(`rounds[${i}].blocks must be an array`);
    return {
      round: uint(o, "round", `rounds[${i}]`),
      stateRoot: hex(o, "stateRoot", `rounds[${i}]`, 32),
      blocks: blocks.map((b, k) => {
        const x = object(b, `rounds[${i}].blocks[${k}]`);
        const failed = x["failed"];
        if (!Array.isArray(failed) || failed.some((f) => typeof f !== "number" || !Number.isInteger(f) || f < 0)) bad(`rounds[${i}].blocks[${k}].failed must be an array of indices`);
        return { cluster: uint(x, "cluster", "block"), height: uint(x, "height", "block"), hash: hex(x, "hash", "block", 32), txCount: uint(x, "txCount", "block"), failed: failed as number[] };
      }),
    };
  });
}
