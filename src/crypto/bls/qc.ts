/**
 * Quorum certificates (QC: signers signed one message) and timeout certificates (TC: signers signed per-signer
 * messages), consensus-agnostic: the consensus layer builds the messages (domain ‖ chainId ‖ view ‖ blockHash, or
 * ‖ highQC view for timeouts) and wraps the certificates with view and block hash.
 *
 * Wire forms and where each check happens (the security argument):
 *
 * - Validator public keys are parsed and fully validated (on curve, in G1, not the identity) once, when the
 *   validator set is loaded, and each comes with a proof of possession checked at genesis. So aggregating keys
 *   needs no check, and rogue-key attacks (a key chosen as a function of others' keys) are ruled out — which is
 *   what makes same-message aggregation sound.
 * - A vote's signature should travel uncompressed (192 bytes). Parsing one is then an on-curve check (≈ 1 µs with
 *   blst) instead of a square root plus a subgroup check (≈ 20 + 36 µs; 81 µs measured on a busy machine), and the
 *   collector does not subgroup-check votes one by one. 96-byte compressed votes are accepted too (bench bls
 *   measures both).
 * - The collector aggregates the votes and verifies the aggregate once, with the subgroup check on the aggregate.
 *   If e(Σ pkᵢ, H(m)) = e(g₁, Σ σᵢ) holds and Σ σᵢ is in G2, the aggregate is a valid multi-signature of exactly
 *   those signers — the same check every node verifying the QC performs, so all nodes (and all backends) agree on
 *   it. Skipping the per-vote subgroup check cannot make an invalid QC pass: individual votes never leave the
 *   collector, only the aggregate does. A Byzantine vote with a torsion component can only slip into a valid
 *   aggregate if other Byzantine votes cancel that component exactly, and then the aggregate is still a correct
 *   signature by keys whose owners proved possession — i.e. those validators did sign, in the only sense a QC
 *   asserts. An honest validator's signature cannot be forged into an aggregate without breaking co-CDH.
 * - Only when the aggregate fails does the collector bisect: each half's aggregate is verified (again with the
 *   subgroup check on that aggregate); when a failed set's left half passes, its right half is known bad and is
 *   not re-checked; a single vote that fails is named. The QC is the sum of the aggregates that verified, which
 *   is valid by bilinearity, so it is not checked again.
 * - A QC's aggregate travels compressed (96 bytes, the canonical form, one per QC): verifying a QC costs one
 *   decompression, one subgroup check and one pairing check against the signer set's aggregate key, which is
 *   cached by signer set.
 */
import type { BlsBackend, PublicKey, Signature } from "./backend.js";
import { BlsError } from "./errors.js";
import { SIGNATURE_LENGTH } from "./constants.js";
import { Bitset, BitmapError, decodeBitmap } from "../bitmap/index.js";
import { quorumSize } from "../../domain/quorum.js";

/** Why a certificate or a vote was refused. */
export type QcRejectCode =
  /** The signer bitmap's length differs from the validator count (e.g. longer than the validator set). */
  | "QC_BITMAP_LENGTH"
  /** The signer bitmap's bytes are not a (canonical) encoding. */
  | "QC_BAD_BITMAP"
  /** Fewer valid signers than the quorum. */
  | "QC_BELOW_QUORUM"
  /** A signer index outside [0, n). */
  | "QC_SIGNER_OUT_OF_RANGE"
  /** The same signer twice. */
  | "QC_DUPLICATE_SIGNER"
  /** Signature bytes of the wrong length or not a curve point. */
  | "QC_BAD_SIGNATURE_ENCODING"
  /** The (aggregate) signature does not verify. */
  | "QC_INVALID_SIGNATURE"
  /** A TC whose message list does not match its signer count. */
  | "QC_MESSAGE_COUNT";

/** A certificate check: accepted, or refused with a code (a protocol rejection, not an exception). */
export type QcVerdict = { ok: true } | { ok: false; code: QcRejectCode; message: string };

/**
 * The signer bitmap for a list of validator indices; a duplicate or out-of-range index is a rejection (unlike
 * `Bitset.fromIndices`, which ignores duplicates).
 */
export function signersFromIndices(n: number, indices: readonly number[]): Bitset | Extract<QcVerdict, { ok: false }> {
  const seen = new Set<number>();
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= n) return { ok: false, code: "QC_SIGNER_OUT_OF_RANGE", message: `signer ${i} is outside [0, ${n})` };
    if (seen.has(i)) return { ok: false, code: "QC_DUPLICATE_SIGNER", message: `signer ${i} appears twice` };
    seen.add(i);
  }
  return Bitset.fromIndices(n, indices);
}

/**
 * Decodes a certificate's signer bitmap from the wire for a set of `n` validators: a bitmap declaring more than
 * `n` positions is refused before it is expanded (`QC_BITMAP_LENGTH`), and only the canonical encoding of a set is
 * accepted, so one signer set has exactly one byte form (no malleability of certificate bytes).
 */
export function decodeSigners(bytes: Uint8Array, n: number): Bitset | Extract<QcVerdict, { ok: false }> {
  try {
    const b = decodeBitmap(bytes, { maxBits: n, canonical: true });
    if (b.length !== n) return { ok: false, code: "QC_BITMAP_LENGTH", message: `signer bitmap has ${b.length} bits, expected ${n}` };
    return b;
  } catch (e) {
    if (!(e instanceof BitmapError)) throw e;
    if (e.code === "TOO_LARGE") return { ok: false, code: "QC_BITMAP_LENGTH", message: `signer bitmap is longer than the ${n} validators` };
    return { ok: false, code: "QC_BAD_BITMAP", message: `signer bitmap: ${e.code}: ${e.message}` };
  }
}

export interface ValidatorKeysOptions {
  /** Signers needed for a certificate. Default `quorumSize(n)` (src/domain/quorum.ts). */
  quorum?: number;
  /**
   * Aggregate keys kept, by signer set. Certificates of consecutive views mostly share their signer set, so a
   * small cache turns key aggregation (≈ 20 µs for 43 keys, ≈ 110 µs for 256) into a lookup.
   */
  aggregateCacheSize?: number;
}

/** The validator set's public keys (validated, with proofs of possession checked by whoever built the set). */
export class ValidatorKeys {
  readonly size: number;
  readonly quorum: number;
  private readonly cache = new Map<string, PublicKey>();
  private readonly cacheSize: number;

  constructor(
    readonly backend: BlsBackend,
    readonly publicKeys: readonly PublicKey[],
    opts: ValidatorKeysOptions = {},
  ) {
    this.size = publicKeys.length;
    this.quorum = opts.quorum ?? quorumSize(this.size);
    this.cacheSize = opts.aggregateCacheSize ?? 64;
    if (this.size === 0 || !Number.isInteger(this.quorum) || this.quorum < 1 || this.quorum > this.size) {
      throw new RangeError(`ValidatorKeys: quorum ${this.quorum} is not in [1, ${this.size}]`);
    }
  }

  /** Parses (and fully validates) every key; throws `BlsError("BAD_PUBLIC_KEY")` naming the index of a bad one. */
  static fromBytes(backend: BlsBackend, keys: readonly Uint8Array[], opts?: ValidatorKeysOptions): ValidatorKeys {
    return new ValidatorKeys(
      backend,
      keys.map((k, i) => {
        try {
          return backend.publicKeyFromBytes(k);
        } catch (e) {
          if (e instanceof BlsError) throw new BlsError("BAD_PUBLIC_KEY", `validator ${i}: ${e.message}`);
          throw e;
        }
      }),
      opts,
    );
  }

  /** Σ pkᵢ over the signers (a bitmap of this set's length), from the cache when this signer set was seen recently. */
  aggregateKey(signers: Bitset): PublicKey {
    // The bitmap's words are the cache key: 8 bytes for 64 validators, 32 for 256.
    const key = Buffer.from(signers.words.buffer, signers.words.byteOffset, signers.words.byteLength).toString("latin1");
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      this.cache.delete(key); // re-insert: Map order is the LRU order
      this.cache.set(key, hit);
      return hit;
    }
    const pks: PublicKey[] = [];
    signers.forEach((i) => pks.push(this.publicKeys[i]!));
    const agg = this.backend.aggregatePublicKeys(pks);
    if (this.cacheSize > 0) {
      if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, agg);
    }
    return agg;
  }
}

/** A QC as the crypto layer sees it: who signed, and their aggregate signature (96 bytes compressed). */
export interface QuorumCertificate {
  signers: Bitset;
  signature: Uint8Array;
}

/** A TC: `messages[k]` is what the k-th signer (ascending index) signed; `signature` aggregates all of them. */
export interface TimeoutCertificate {
  signers: Bitset;
  messages: readonly Uint8Array[];
  signature: Uint8Array;
}

/** One vote on the QC's message: 192-byte uncompressed signature (or 96 compressed). */
export interface Vote {
  signer: number;
  signature: Uint8Array;
}

/** One timeout: each signer signs its own message (e.g. carrying its high-QC view). */
export interface TimeoutVote {
  signer: number;
  message: Uint8Array;
  signature: Uint8Array;
}

/** A vote the builder dropped, and why (`index` is its position in the input). */
export interface VoteRejection {
  index: number;
  signer: number;
  code: Exclude<QcRejectCode, "QC_BITMAP_LENGTH" | "QC_BELOW_QUORUM" | "QC_MESSAGE_COUNT">;
  message: string;
}

export interface BuildResult<C> {
  /** The certificate, or null when fewer than `quorum` valid votes remain. */
  certificate: C | null;
  /** Every dropped vote with its reason, in input order. */
  rejected: VoteRejection[];
  /** How many aggregate checks the build ran: 1 when every vote was valid. */
  checks: number;
}

interface Item {
  index: number;
  signer: number;
  message: Uint8Array;
  sig: Signature;
}

function reject(code: QcRejectCode, message: string): QcVerdict {
  return { ok: false, code, message };
}

/** Groups items by message (first-seen order) and returns the messages and each group's aggregate key. */
function groupKeys(keys: ValidatorKeys, items: readonly Item[]): { messages: Uint8Array[]; pks: PublicKey[] } {
  const groups = new Map<string, { message: Uint8Array; pks: PublicKey[] }>();
  for (const it of items) {
    const k = Buffer.from(it.message.buffer, it.message.byteOffset, it.message.byteLength).toString("latin1");
    let g = groups.get(k);
    if (g === undefined) groups.set(k, (g = { message: it.message, pks: [] }));
    g.pks.push(keys.publicKeys[it.signer]!);
  }
  const messages: Uint8Array[] = [];
  const pks: PublicKey[] = [];
  for (const g of groups.values()) {
    messages.push(g.message);
    pks.push(g.pks.length === 1 ? g.pks[0]! : keys.backend.aggregatePublicKeys(g.pks));
  }
  return { messages, pks };
}

/** One pairing check of `sig` against the items' keys and messages (one group: verify; several: aggregateVerify). */
function checkAggregate(keys: ValidatorKeys, items: readonly Item[], sig: Signature, aggPk?: PublicKey): boolean {
  const b = keys.backend;
  if (aggPk !== undefined) return b.verify(items[0]!.message, aggPk, sig);
  const { messages, pks } = groupKeys(keys, items);
  return messages.length === 1 ? b.verify(messages[0]!, pks[0]!, sig) : b.aggregateVerify(messages, pks, sig);
}

/**
 * Shared by buildQc and buildTc: screens the votes (range, duplicates, encoding), checks the aggregate once, and
 * bisects only when that fails. Returns the verified aggregate and the accepted items.
 */
function collect(keys: ValidatorKeys, votes: readonly TimeoutVote[], sameMessage: boolean): { items: Item[]; aggregate: Signature | null; rejected: VoteRejection[]; checks: number } {
  const b = keys.backend;
  const rejected: VoteRejection[] = [];
  const seen = new Set<number>();
  let items: Item[] = [];
  votes.forEach((v, index) => {
    const signer = v.signer;
    if (!Number.isInteger(signer) || signer < 0 || signer >= keys.size) {
      rejected.push({ index, signer, code: "QC_SIGNER_OUT_OF_RANGE", message: `signer ${signer} is outside [0, ${keys.size})` });
      return;
    }
    if (seen.has(signer)) {
      rejected.push({ index, signer, code: "QC_DUPLICATE_SIGNER", message: `signer ${signer} already voted` });
      return;
    }
    seen.add(signer);
    try {
      // validate:false — the subgroup check happens once, on the aggregate (see the module comment).
      items.push({ index, signer, message: v.message, sig: b.signatureFromBytes(v.signature, { validate: false }) });
    } catch (e) {
      if (!(e instanceof BlsError)) throw e;
      rejected.push({ index, signer, code: "QC_BAD_SIGNATURE_ENCODING", message: `signer ${signer}: ${e.message}` });
    }
  });
  if (items.length === 0) return { items, aggregate: null, rejected, checks: 0 };
  // Certificates list signers in ascending order; the aggregate key cache is keyed the same way.
  items.sort((x, y) => x.signer - y.signer);

  let checks = 1;
  const all = b.aggregateSignatures(items.map((it) => it.sig));
  const allKey = sameMessage ? keys.aggregateKey(Bitset.fromIndices(keys.size, items.map((it) => it.signer))) : undefined;
  if (checkAggregate(keys, items, all, allKey)) return { items, aggregate: all, rejected, checks };

  // Bisect. `good` collects aggregates that verified; `bad` the single votes that failed.
  const good: Signature[] = [];
  const goodItems: Item[] = [];
  const bad: Item[] = [];
  const check = (set: Item[]): Signature | null => {
    checks++;
    const agg = b.aggregateSignatures(set.map((it) => it.sig));
    return checkAggregate(keys, set, agg) ? agg : null;
  };
  const settle = (set: Item[]): void => {
    // Precondition: `set` is known to fail.
    if (set.length === 1) {
      bad.push(set[0]!);
      return;
    }
    const mid = set.length >> 1;
    const left = set.slice(0, mid);
    const right = set.slice(mid);
    const leftAgg = check(left);
    if (leftAgg !== null) {
      good.push(leftAgg);
      goodItems.push(...left);
      settle(right); // the whole failed and the left half passed, so the right half fails: no need to check it
      return;
    }
    settle(left);
    const rightAgg = check(right);
    if (rightAgg !== null) {
      good.push(rightAgg);
      goodItems.push(...right);
    } else settle(right);
  };
  settle(items);
  for (const it of bad) rejected.push({ index: it.index, signer: it.signer, code: "QC_INVALID_SIGNATURE", message: `signer ${it.signer}: signature does not verify` });
  rejected.sort((x, y) => x.index - y.index);
  goodItems.sort((x, y) => x.signer - y.signer);
  items = goodItems;
  return { items, aggregate: good.length === 0 ? null : b.aggregateSignatures(good), rejected, checks };
}

/**
 * Builds a QC from votes on `message`: optimistic aggregation, one check, bisection only on failure. Every dropped
 * vote is reported with its signer and reason. The certificate is null when fewer than `keys.quorum` votes survive.
 */
export function buildQc(keys: ValidatorKeys, message: Uint8Array, votes: readonly Vote[]): BuildResult<QuorumCertificate> {
  const r = collect(keys, votes.map((v) => ({ ...v, message })), true);
  if (r.aggregate === null || r.items.length < keys.quorum) return { certificate: null, rejected: r.rejected, checks: r.checks };
  const signers = Bitset.fromIndices(keys.size, r.items.map((it) => it.signer));
  return { certificate: { signers, signature: keys.backend.signatureToBytes(r.aggregate) }, rejected: r.rejected, checks: r.checks };
}

/** Builds a TC from timeouts, each signer with its own message; as buildQc otherwise. */
export function buildTc(keys: ValidatorKeys, votes: readonly TimeoutVote[]): BuildResult<TimeoutCertificate> {
  const r = collect(keys, votes, false);
  if (r.aggregate === null || r.items.length < keys.quorum) return { certificate: null, rejected: r.rejected, checks: r.checks };
  const signers = Bitset.fromIndices(keys.size, r.items.map((it) => it.signer));
  return {
    certificate: { signers, messages: r.items.map((it) => it.message), signature: keys.backend.signatureToBytes(r.aggregate) },
    rejected: r.rejected,
    checks: r.checks,
  };
}

function checkSigners(keys: ValidatorKeys, signers: Bitset): QcVerdict | null {
  if (signers.length > keys.size) return reject("QC_BITMAP_LENGTH", `signer bitmap has ${signers.length} bits, longer than the ${keys.size} validators`);
  if (signers.length !== keys.size) return reject("QC_BITMAP_LENGTH", `signer bitmap has ${signers.length} bits, expected ${keys.size}`);
  const count = signers.count();
  if (count < keys.quorum) return reject("QC_BELOW_QUORUM", `${count} signers, quorum is ${keys.quorum}`);
  return null;
}

function parseAggregate(keys: ValidatorKeys, bytes: Uint8Array): Signature | QcVerdict {
  if (bytes.length !== SIGNATURE_LENGTH) return reject("QC_BAD_SIGNATURE_ENCODING", `aggregate signature must be ${SIGNATURE_LENGTH} bytes (compressed), got ${bytes.length}`);
  try {
    // The verify call below makes the subgroup check (backend contract), so it is not done twice.
    return keys.backend.signatureFromBytes(bytes, { validate: false });
  } catch (e) {
    if (e instanceof BlsError) return reject("QC_BAD_SIGNATURE_ENCODING", e.message);
    throw e;
  }
}

/** Verifies a QC on `message`: bitmap length, quorum, then one pairing check against the cached aggregate key. */
export function verifyQc(keys: ValidatorKeys, message: Uint8Array, qc: QuorumCertificate): QcVerdict {
  const bad = checkSigners(keys, qc.signers);
  if (bad !== null) return bad;
  const sig = parseAggregate(keys, qc.signature);
  if ("ok" in sig) return sig;
  if (!keys.backend.verify(message, keys.aggregateKey(qc.signers), sig)) return reject("QC_INVALID_SIGNATURE", "aggregate signature does not verify for the signer set");
  return { ok: true };
}

/** Verifies a TC: signers grouped by message, one multi-pairing over the distinct messages. */
export function verifyTc(keys: ValidatorKeys, tc: TimeoutCertificate): QcVerdict {
  const bad = checkSigners(keys, tc.signers);
  if (bad !== null) return bad;
  const count = tc.signers.count();
  if (tc.messages.length !== count) return reject("QC_MESSAGE_COUNT", `${tc.messages.length} messages for ${count} signers`);
  const sig = parseAggregate(keys, tc.signature);
  if ("ok" in sig) return sig;
  const items: Item[] = [];
  tc.signers.forEach((signer) => items.push({ index: items.length, signer, message: tc.messages[items.length]!, sig }));
  if (!checkAggregate(keys, items, sig)) return reject("QC_INVALID_SIGNATURE", "aggregate signature does not verify for the signers' messages");
  return { ok: true };
}
