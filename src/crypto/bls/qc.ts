/**
 * Checking quorum certificates (QC: signers signed one message) and timeout certificates (TC: signers signed
 * per-signer messages) with BLS, consensus-agnostic: the consensus layer builds the messages (domain ‖ chainId ‖ view ‖
 * blockHash, or ‖ highQC view for timeouts), wraps the certificates with view and block hash, and builds them —
 * `SchemeCertificates` (src/consensus/scheme.ts) over `BlsScheme` (src/consensus/adapters/blsScheme.ts), the one
 * builder the node, the simulator and `quire bench bls` share. This file holds the validator keys (with the aggregate
 * key cache) and the two checks that builder and every verifying node run.
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
 * - The collector aggregates the votes and verifies the aggregate once (`verifyQc` below), with the subgroup check on
 *   the aggregate. If e(Σ pkᵢ, H(m)) = e(g₁, Σ σᵢ) holds and Σ σᵢ is in G2, the aggregate is a valid multi-signature of
 *   exactly those signers — the same check every node verifying the QC performs, so all nodes (and all backends)
 *   agree on it. Skipping the per-vote subgroup check cannot make an invalid QC pass: individual votes never leave
 *   the collector, only the aggregate does. A Byzantine vote with a torsion component can only slip into a valid
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
import type { BlsBackend, PublicKey, Signature, SignatureSet } from "./backend.js";
import { verifySets } from "./batch.js";
import { BlsError } from "./errors.js";
import { SIGNATURE_LENGTH } from "./constants.js";
import { Bitset, BitmapError, decodeBitmap } from "../bitmap/index.js";
import { quorumSize } from "../../domain/quorum.js";

/** Why a certificate was refused. */
export type QcRejectCode =
  /** The signer bitmap's length differs from the validator count (e.g. longer than the validator set). */
  | "QC_BITMAP_LENGTH"
  /** The signer bitmap's bytes are not a (canonical) encoding. */
  | "QC_BAD_BITMAP"
  /** Fewer valid signers than the quorum. */
  | "QC_BELOW_QUORUM"
  /** Signature bytes of the wrong length or not a curve point. */
  | "QC_BAD_SIGNATURE_ENCODING"
  /** The (aggregate) signature does not verify. */
  | "QC_INVALID_SIGNATURE"
  /** A TC whose message list does not match its signer count. */
  | "QC_MESSAGE_COUNT";

/** A certificate check: accepted, or refused with a code (a protocol rejection, not an exception). */
export type QcVerdict = { ok: true } | { ok: false; code: QcRejectCode; message: string };

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

function reject(code: QcRejectCode, message: string): QcVerdict {
  return { ok: false, code, message };
}

/**
 * The signers grouped by the message each signed (first-seen order): the distinct messages and each group's aggregate
 * key, so a TC costs one pairing per distinct message (a view change has a handful of distinct high-QC views).
 */
function groupByMessage(keys: ValidatorKeys, signers: readonly number[], messages: readonly Uint8Array[]): { messages: Uint8Array[]; pks: PublicKey[] } {
  const groups = new Map<string, { message: Uint8Array; pks: PublicKey[] }>();
  signers.forEach((signer, k) => {
    const message = messages[k]!;
    const key = Buffer.from(message.buffer, message.byteOffset, message.byteLength).toString("latin1");
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { message, pks: [] }));
    g.pks.push(keys.publicKeys[signer]!);
  });
  const out: { messages: Uint8Array[]; pks: PublicKey[] } = { messages: [], pks: [] };
  for (const g of groups.values()) {
    out.messages.push(g.message);
    out.pks.push(g.pks.length === 1 ? g.pks[0]! : keys.backend.aggregatePublicKeys(g.pks));
  }
  return out;
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

/** A QC's pairing check as a signature set (message, the signers' aggregate key, the aggregate), or why it has none. */
function qcSet(keys: ValidatorKeys, message: Uint8Array, qc: QuorumCertificate): SignatureSet | QcVerdict {
  const bad = checkSigners(keys, qc.signers);
  if (bad !== null) return bad;
  const sig = parseAggregate(keys, qc.signature);
  if ("ok" in sig) return sig;
  return { message, publicKey: keys.aggregateKey(qc.signers), signature: sig };
}

const INVALID_QC_SIGNATURE = reject("QC_INVALID_SIGNATURE", "aggregate signature does not verify for the signer set");

/** Verifies a QC on `message`: bitmap length, quorum, then one pairing check against the cached aggregate key. */
export function verifyQc(keys: ValidatorKeys, message: Uint8Array, qc: QuorumCertificate): QcVerdict {
  const set = qcSet(keys, message, qc);
  if ("ok" in set) return set;
  return keys.backend.verify(set.message, set.publicKey, set.signature) ? { ok: true } : INVALID_QC_SIGNATURE;
}

/** One certificate of a batch: the message its signers signed, and the certificate. */
export interface QcToVerify {
  readonly message: Uint8Array;
  readonly qc: QuorumCertificate;
}

/**
 * `verifyQc` over many certificates at once, for bulk checks of committed history (`quire audit`): the same bitmap,
 * quorum and encoding checks per certificate, then the pairing checks of those that pass them together (`verifySets`:
 * one random-linear-combination check: ≈ 218 µs per set with blst, bench bls "batch verify 64 sets, distinct
 * messages", against ≈ 660 µs for one QC verify). A batch that fails is re-checked certificate by certificate, so each gets its own verdict — the same one
 * `verifyQc` gives it, up to the batch check's 2^-63 chance of passing an invalid set.
 */
export function verifyQcs(keys: ValidatorKeys, items: readonly QcToVerify[]): QcVerdict[] {
  const out: QcVerdict[] = [];
  const sets: SignatureSet[] = [];
  const at: number[] = [];
  for (const item of items) {
    const set = qcSet(keys, item.message, item.qc);
    if ("ok" in set) {
      out.push(set);
      continue;
    }
    at.push(out.length);
    out.push({ ok: true });
    sets.push(set);
  }
  verifySets(keys.backend, sets).results.forEach((ok, k) => {
    if (ok === 0) out[at[k]!] = INVALID_QC_SIGNATURE;
  });
  return out;
}

/** Verifies a TC: signers grouped by message, one multi-pairing over the distinct messages. */
export function verifyTc(keys: ValidatorKeys, tc: TimeoutCertificate): QcVerdict {
  const bad = checkSigners(keys, tc.signers);
  if (bad !== null) return bad;
  const count = tc.signers.count();
  if (tc.messages.length !== count) return reject("QC_MESSAGE_COUNT", `${tc.messages.length} messages for ${count} signers`);
  const sig = parseAggregate(keys, tc.signature);
  if ("ok" in sig) return sig;
  const signers: number[] = [];
  tc.signers.forEach((i) => signers.push(i));
  const g = groupByMessage(keys, signers, tc.messages);
  const b = keys.backend;
  const valid = g.messages.length === 1 ? b.verify(g.messages[0]!, g.pks[0]!, sig) : b.aggregateVerify(g.messages, g.pks, sig);
  if (!valid) return reject("QC_INVALID_SIGNATURE", "aggregate signature does not verify for the signers' messages");
  return { ok: true };
}
