/**
 * The main chain's paracross module (tx tags 0x20–0x22, design: README.md in this folder).
 *
 * - 0x21 para tx: ordered only; succeeds when its title is registered (UNKNOWN_TITLE) and it does not wrap an accounts
 *   deposit (DEPOSIT_IN_PARA_TX: deposits are credited on a para chain only as main txs that locked the amount).
 * - 0x22 group: the main legs are delivered through the dispatcher and must all succeed (the first failure fails the
 *   group with `GROUP_LEG_FAILED:<leg code>`, and the dispatcher rolls the whole group back); para legs must name a
 *   registered title and are never executed here; a deposit as a main leg is refused (DEPOSIT_IN_GROUP).
 * - 0x20 commit tx: a para node's BLS-signed commit messages. Their signatures are verified at mempool admission
 *   (`check`, remembered by tx hash); `beginBlock` verifies only the block's commit txs no mempool admitted, bounded per
 *   signer (blockVerifier.ts, random weights); `deliver` reads the verdicts. Per (title, height, message) one aggregate signature
 *   and signer bitmap; a message signed by ≥ 2/3 of the nodes (3·signers ≥ 2·n) records its height, and recorded
 *   heights become done contiguously from done + 1. When a height becomes done its withdrawals are credited from the
 *   title's escrow (pending withdrawals are noted in `endBlock` of the main block that carried them).
 *
 * Commit tx outcome: BAD_SIGNATURE if any commit above done has an invalid signature (nothing applies); TOO_FAR_AHEAD /
 * TOO_MANY_COMMITS for commits past MAX_HEIGHTS_AHEAD or past the signer's share of unchecked commits in the block; ALREADY_DONE
 * when every commit is at or below done; DUPLICATE_COMMIT when every other commit was already signed by this signer;
 * otherwise the new commits apply, all or nothing.
 */
import type { BlsBackend, PublicKey, Signature } from "../../../crypto/bls/backend.js";
import type { Hasher } from "../../../crypto/hasher.js";
import { defaultHasher } from "../../../crypto/hash/backends.js";
import { Bitset, decodeBitmap, encodeBitmap } from "../../../crypto/bitmap/index.js";
import { bytesEqual, bytesKey } from "../../../util/bytes.js";
import { LruCache } from "../../../util/lru.js";
import { ACCOUNT_OP, ACCOUNT_TX_TAG, decodeAccountTx } from "../accounts/accountTx.js";
import type { ParaRegistration } from "../build.js";
import type { CheckResult, DeliverResult } from "../interface.js";
import type { NamespacedState } from "../keyedState.js";
import type { AppModule, BlockContext } from "../modular.js";
import { newTxVerdicts, VERDICT_UNCHECKED, VERDICT_VALID, verifyCommitChecks } from "./blockVerifier.js";
import type { PendingCheck, TxVerdicts } from "./blockVerifier.js";
import { COMMIT_TX_TAG, commitSigningBytes, decodeCommitMessage, decodeCommitTx, decodeGroupTx, decodeParaTx, GROUP_TX_TAG, MAX_COMMITS_PER_TX, PARA_TX_TAG } from "./format.js";
import type { CommitMessage, CommitTx } from "./format.js";
import { crossIndices, isParaTagged, packParaTxs } from "./packing.js";
import type { CommitRecord, PendingWithdrawal, TitleMeta } from "./records.js";
import {
  decodeHeightIndex,
  decodeMeta,
  decodePending,
  decodeRecord,
  doneKey,
  encodeHeightIndex,
  encodeMeta,
  encodePending,
  encodeRecord,
  heightKey,
  metaKey,
  pendingKey,
  recordKey,
} from "./records.js";

/** What the module credits withdrawals from: the accounts module's escrow of each title. */
export interface EscrowLedger {
  /**
   * Moves `amount` from the title's escrow to `to`; false (nothing moved) when the escrow holds less. Never throws
   * for that: a para quorum that signs withdrawals its chain never burned can only empty the escrow, not stop the
   * main chain (review finding, Dec 3).
   */
  releaseEscrow(title: string, to: Uint8Array, amount: number): boolean;
}

/** Why a paracross tx failed (its result bit is set). A group's failure is `GROUP_LEG_FAILED:<leg's code>`. */
export type ParacrossDeliverCode =
  | "MALFORMED"
  | "UNKNOWN_TITLE"
  | "NOT_PARA_NODE"
  | "MIXED_TITLES"
  | "BAD_SIGNATURE"
  | "ALREADY_DONE"
  | "DUPLICATE_COMMIT"
  | "BAD_MAIN_HEIGHT"
  | "BAD_BITMAP"
  | "TOO_FAR_AHEAD"
  | "TOO_MANY_MESSAGES"
  /** A 0x21 para tx wrapping an accounts deposit (deposits are main txs: they lock the amount first). */
  | "DEPOSIT_IN_PARA_TX"
  /** An accounts deposit as a group's main leg (it would be locked and never credited). */
  | "DEPOSIT_IN_GROUP"
  /** The block holds more of this signer's commits than MAX_COMMITS_PER_SIGNER_PER_BLOCK. */
  | "TOO_MANY_COMMITS";

/**
 * How far above done a commit may be. A para node stops making blocks 100 heights ahead of done (README, the
 * sender), so honest commits never come near it; it bounds the records one signer can leave waiting: at most
 * 1,000 heights × MAX_MESSAGES_PER_SIGNER messages (was 10,000: up to ~1.3 GB of 64 KiB messages per Byzantine signer,
 * review finding, Dec 3).
 */
export const MAX_HEIGHTS_AHEAD = 1_000;
/** Distinct messages one signer may sign at one height (one correction): bounds a height's records to 2·n. */
export const MAX_MESSAGES_PER_SIGNER = 2;
/** Commits of one signer checked per block: two full commit txs (a send and its resend). Bounds what a Byzantine
 * proposer can make every validator verify with unchecked commit txs (review finding, Dec 3). */
export const MAX_COMMITS_PER_SIGNER_PER_BLOCK = 2 * MAX_COMMITS_PER_TX;
/** Admitted commit txs remembered (their verified signatures): far more than a mempool holds between two blocks. */
const CHECKED_TXS = 4_096;
/** `status().holes` looks at most this many heights above done (a bounded read for an RPC query). */
export const MAX_HOLES_LISTED = 1_000;

/** A para chain's progress on the main chain (committed state). */
export interface ParaStatus {
  readonly title: string;
  readonly nodes: number;
  readonly doneHeight: number;
  readonly recordedHeight: number;
  /** Heights in (done, min(recorded, done + MAX_HOLES_LISTED)] without a quorum yet, increasing. */
  readonly holes: number[];
}

/** A done para height's commit: what `GET /v1/para/:title/:height` serves and `verifyDoneCommit` checks. */
export interface DoneCommit {
  readonly title: string;
  readonly height: number;
  readonly message: Uint8Array;
  readonly decoded: CommitMessage;
  readonly aggregateSignature: Uint8Array;
  /** Encoded bitmap over the title's nodes. */
  readonly signers: Uint8Array;
  readonly signerCount: number;
  readonly nodes: number;
}

export interface ParacrossModuleOptions {
  readonly paras: readonly ParaRegistration[];
}

export interface ParacrossModuleModules {
  /** The module's namespace: `app.namespace(0x20)`. */
  readonly state: NamespacedState;
  readonly bls: BlsBackend;
  readonly hasher?: Hasher;
  readonly escrow: EscrowLedger;
}

interface Para {
  readonly title: string;
  readonly keys: readonly PublicKey[];
  readonly n: number;
}

interface NewCommit {
  readonly height: number;
  readonly hash: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
  /** The signature as blockVerifier parsed and checked it. */
  readonly parsed: Signature;
  readonly record: CommitRecord | null;
  readonly signers: Bitset;
}

const OK: { readonly ok: true } = { ok: true };

function fail(code: ParacrossDeliverCode): DeliverResult {
  return { ok: false, code };
}

function reject(code: ParacrossDeliverCode, reason: string): CheckResult {
  return { ok: false, code, reason };
}

/** 3·signers ≥ 2·n: the same ≥ 2/3 rule as Chain33's paracross. */
export function paraQuorumReached(signers: number, n: number): boolean {
  return 3 * signers >= 2 * n;
}

export class ParacrossModule implements AppModule {
  readonly name = "paracross";
  readonly txTags = [COMMIT_TX_TAG, PARA_TX_TAG, GROUP_TX_TAG] as const;
  private readonly paras = new Map<string, Para>();
  private readonly state: NamespacedState;
  private readonly bls: BlsBackend;
  private readonly hasher: Hasher;
  private readonly escrow: EscrowLedger;
  /** This block's commit-signature verdicts by tx index (VERDICT_* per commit), from beginBlock. */
  private readonly verdicts = new Map<number, TxVerdicts>();
  /** Withdrawals a done height asked for that the escrow could not cover (only a dishonest para quorum causes one). */
  escrowShort = 0;
  /**
   * Commit txs whose signatures `check` verified (mempool admission), by SHA-256 of the tx: their parsed signatures
   * (null for commits at or below done then). A block's commit txs that are here need no pairing in `beginBlock`; the
   * cache changes what verification costs, never its outcome (the key is the whole tx).
   */
  private readonly checked = new LruCache<string, readonly (Signature | null)[]>(CHECKED_TXS);
  /**
   * Aggregates computed in this block, by their compressed bytes: the next signer of the same message adds to the
   * parsed point instead of decompressing the stored bytes again. Keyed by bytes, so a rolled-back write cannot
   * leave a stale entry in use.
   */
  private readonly aggregates = new Map<string, Signature>();
  private blockTxs: readonly Uint8Array[] = [];

  constructor(opts: ParacrossModuleOptions, modules: ParacrossModuleModules) {
    this.state = modules.state;
    this.bls = modules.bls;
    this.hasher = modules.hasher ?? defaultHasher();
    this.escrow = modules.escrow;
    // Keys were checked with their proofs of possession at genesis load; parsed once here, reused by every block.
    for (const p of opts.paras) {
      this.paras.set(p.title, { title: p.title, keys: p.nodes.map((k) => modules.bls.publicKeyFromBytes(k)), n: p.nodes.length });
    }
  }

  /** The registered titles, in registration order. */
  titles(): string[] {
    return [...this.paras.keys()];
  }

  check(tx: Uint8Array): CheckResult {
    switch (tx[0]) {
      case COMMIT_TX_TAG: {
        const d = decodeCommitTx(tx);
        if (!d.ok) return { ok: false, code: d.code, reason: d.reason };
        const c = this.checkCommitOrigin(d.value);
        if (c !== null) return reject(c, `commit tx refused: ${c}`);
        return this.checkSignatures(tx, d.value);
      }
      case PARA_TX_TAG: {
        const c = this.paraTxProblem(tx);
        return c === null ? OK : reject(c, `para tx refused: ${c}`);
      }
      case GROUP_TX_TAG: {
        const d = decodeGroupTx(tx);
        if (!d.ok) return { ok: false, code: d.code, reason: d.reason };
        for (const leg of d.value) {
          const c = leg[0] === PARA_TX_TAG ? this.paraTxProblem(leg) : isDeposit(leg) ? "DEPOSIT_IN_GROUP" : null;
          if (c !== null) return reject(c, `group leg refused: ${c}`);
        }
        return OK;
      }
      default:
        return reject("MALFORMED", "not a paracross tx");
    }
  }

  beginBlock(ctx: BlockContext): void {
    this.verdicts.clear();
    this.aggregates.clear();
    this.blockTxs = ctx.txs;
    const doneAtStart = new Map<string, number>();
    const checks: PendingCheck[] = [];
    const perSigner = new Map<string, number>();
    for (let i = 0; i < ctx.txs.length; i++) {
      const tx = ctx.txs[i]!;
      if (tx[0] !== COMMIT_TX_TAG) continue;
      const d = decodeCommitTx(tx);
      if (!d.ok || this.checkCommitOrigin(d.value) !== null) continue;
      const para = this.paras.get(d.value.commits[0]!.decoded.title)!;
      let done = doneAtStart.get(para.title);
      if (done === undefined) doneAtStart.set(para.title, (done = decodeMeta(this.state.get(metaKey(para.title))).done));
      const admitted = this.checked.get(bytesKey(this.hasher.digest(tx)));
      if (admitted !== undefined) {
        // Verified at admission: valid above the done height it was checked against; re-check any commit that was at
        // or below it then (done never decreases, so such a commit is skipped now anyway).
        const v = newTxVerdicts(d.value.commits.length);
        admitted.forEach((sig, j) => {
          if (sig !== null) {
            v.verdict[j] = VERDICT_VALID;
            v.signatures[j] = sig;
          }
        });
        this.verdicts.set(i, v);
        continue;
      }
      this.verdicts.set(i, this.collectChecks(d.value, para, done, i, checks, perSigner));
    }
    verifyCommitChecks(this.bls, checks, this.verdicts);
  }

  deliver(tx: Uint8Array, index: number, ctx: BlockContext): DeliverResult {
    switch (tx[0]) {
      case COMMIT_TX_TAG:
        return this.deliverCommit(tx, index, ctx);
      case PARA_TX_TAG: {
        const c = this.paraTxProblem(tx);
        return c === null ? OK : fail(c);
      }
      case GROUP_TX_TAG:
        return this.deliverGroup(tx, index, ctx);
      default:
        return fail("MALFORMED");
    }
  }

  /** Notes the block's withdrawals of every title (credited when the para height made from this block is done). */
  endBlock(ctx: BlockContext): void {
    this.verdicts.clear();
    this.aggregates.clear();
    this.blockTxs = [];
    if (!ctx.txs.some(isParaTagged)) return;
    const succeeded = (i: number): boolean => ctx.succeeded(i);
    for (const title of this.paras.keys()) {
      const packed = packParaTxs(title, ctx.txs, succeeded);
      if (packed.length === 0) continue;
      const pending: PendingWithdrawal[] = [];
      for (const i of crossIndices(packed)) {
        const d = decodeAccountTx(packed[i]!);
        if (d.ok && d.tx.op === "withdraw") pending.push({ index: i, to: d.tx.to, amount: d.tx.amount });
      }
      if (pending.length > 0) this.state.put(pendingKey(title, ctx.height), encodePending(pending));
    }
  }

  /** The committed progress of a title, or null when it is not registered. */
  status(title: string): ParaStatus | null {
    const para = this.paras.get(title);
    if (para === undefined) return null;
    const meta = decodeMeta(this.state.query(metaKey(title)));
    const holes: number[] = [];
    const last = Math.min(meta.recorded, meta.done + MAX_HOLES_LISTED);
    for (let h = meta.done + 1; h <= last; h++) {
      if (decodeHeightIndex(this.state.query(heightKey(title, h))).quorum === null) holes.push(h);
    }
    return { title, nodes: para.n, doneHeight: meta.done, recordedHeight: meta.recorded, holes };
  }

  /** The committed done commit of (title, height), or null (unknown title, or the height is not done). */
  doneCommit(title: string, height: number): DoneCommit | null {
    const para = this.paras.get(title);
    if (para === undefined || !Number.isSafeInteger(height) || height < 1) return null;
    const rec = decodeRecord(this.state.query(doneKey(title, height)));
    if (rec === null) return null;
    const decoded = decodeCommitMessage(rec.message);
    if (!decoded.ok) return null;
    const signers = decodeBitmap(rec.signers, { length: para.n });
    return {
      title,
      height,
      message: rec.message,
      decoded: decoded.value,
      aggregateSignature: rec.aggregateSignature,
      signers: rec.signers,
      signerCount: signers.count(),
      nodes: para.n,
    };
  }

  /** UNKNOWN_TITLE / MIXED_TITLES / NOT_PARA_NODE, or null when the tx may come from this signer. */
  private checkCommitOrigin(tx: CommitTx): ParacrossDeliverCode | null {
    const title = tx.commits[0]!.decoded.title;
    const para = this.paras.get(title);
    if (para === undefined) return "UNKNOWN_TITLE";
    for (const c of tx.commits) if (c.decoded.title !== title) return "MIXED_TITLES";
    return tx.signer < para.n ? null : "NOT_PARA_NODE";
  }

  /**
   * Mempool admission of a commit tx: every commit above the committed done height must carry a valid signature
   * (one batch for the tx). Without it anyone could fill the mempools with commit txs that claim a para node's index
   * and make every validator pair them in every block (review finding, Dec 3: 50 such txs cost 4.4 s of one block).
   */
  private checkSignatures(tx: Uint8Array, d: CommitTx): CheckResult {
    const para = this.paras.get(d.commits[0]!.decoded.title)!;
    const done = decodeMeta(this.state.query(metaKey(para.title))).done;
    const checks: PendingCheck[] = [];
    const verdict = this.collectChecks(d, para, done, 0, checks, null);
    verifyCommitChecks(this.bls, checks, new Map([[0, verdict]]));
    for (const c of checks) {
      if (verdict.verdict[c.commit] !== VERDICT_VALID) return reject("BAD_SIGNATURE", `commit ${c.commit} (height ${d.commits[c.commit]!.decoded.height}) has an invalid signature`);
    }
    this.checked.set(bytesKey(this.hasher.digest(tx)), verdict.signatures);
    return OK;
  }

  /**
   * Queues the signature checks of a commit tx's commits above `done`; returns its (unfilled) verdicts. With
   * `perSigner` (a block's count of queued checks per title and signer), a signer's commits past
   * MAX_COMMITS_PER_SIGNER_PER_BLOCK and commits more than MAX_HEIGHTS_AHEAD above done are not queued (they fail
   * without a pairing), so a block of unchecked commit txs costs a bounded number of pairings.
   */
  private collectChecks(tx: CommitTx, para: Para, done: number, index: number, checks: PendingCheck[], perSigner: Map<string, number> | null): TxVerdicts {
    const verdict = newTxVerdicts(tx.commits.length);
    const who = `${para.title}/${tx.signer}`;
    tx.commits.forEach((c, j) => {
      // At or below done the commit is skipped whatever its signature: no pairing spent on it.
      if (c.decoded.height <= done) return;
      if (perSigner !== null) {
        if (c.decoded.height > done + MAX_HEIGHTS_AHEAD) return;
        const n = perSigner.get(who) ?? 0;
        if (n >= MAX_COMMITS_PER_SIGNER_PER_BLOCK) return;
        perSigner.set(who, n + 1);
      }
      checks.push({ tx: index, commit: j, signingBytes: commitSigningBytes(c.message, this.hasher), publicKey: para.keys[tx.signer]!, signature: c.signature });
    });
    return verdict;
  }

  /** The verdicts of beginBlock for this tx, or (a commit tx delivered as a group leg) checked now. */
  private verdictsFor(tx: Uint8Array, index: number, d: CommitTx, para: Para, done: number): TxVerdicts {
    const known = this.verdicts.get(index);
    const t = this.blockTxs[index];
    if (known !== undefined && t !== undefined && (t === tx || bytesEqual(t, tx))) return known;
    const checks: PendingCheck[] = [];
    const verdict = this.collectChecks(d, para, done, index, checks, new Map());
    verifyCommitChecks(this.bls, checks, new Map([[index, verdict]]));
    return verdict;
  }

  private deliverCommit(tx: Uint8Array, index: number, ctx: BlockContext): DeliverResult {
    const d = decodeCommitTx(tx);
    if (!d.ok) return fail("MALFORMED");
    const origin = this.checkCommitOrigin(d.value);
    if (origin !== null) return fail(origin);
    const { signer, commits } = d.value;
    const para = this.paras.get(commits[0]!.decoded.title)!;
    const meta = decodeMeta(this.state.get(metaKey(para.title)));
    const verdict = this.verdictsFor(tx, index, d.value, para, meta.done);

    // Check every commit before writing anything, so a refused tx has no side effect (escrow releases included).
    const fresh: NewCommit[] = [];
    const seen = new Set<string>();
    /** New messages this tx opens per height (not yet in the height index that `messagesBy` reads). */
    const opened = new Map<number, number>();
    let skipped = 0;
    for (let j = 0; j < commits.length; j++) {
      const c = commits[j]!;
      const h = c.decoded.height;
      if (h <= meta.done) {
        skipped++;
        continue;
      }
      if (h > meta.done + MAX_HEIGHTS_AHEAD) return fail("TOO_FAR_AHEAD");
      // Unchecked above done: beginBlock queued no pairing for it, past its signer's share of the block (done only
      // grows, so nothing else leaves a commit unchecked).
      if (verdict.verdict[j] === VERDICT_UNCHECKED) return fail("TOO_MANY_COMMITS");
      const sig = verdict.signatures[j];
      if (verdict.verdict[j] !== VERDICT_VALID || sig === null || sig === undefined) return fail("BAD_SIGNATURE");
      const m = c.decoded.mainHeight;
      // A para block is made from a committed main block, so its main height is below this block's, and done
      // commits' main heights increase.
      if (m >= ctx.height || (meta.done > 0 && m <= meta.doneMain)) return fail("BAD_MAIN_HEIGHT");
      if (!bitmapsDecode(c.decoded)) return fail("BAD_BITMAP");
      const hash = this.hasher.digest(c.message);
      const k = `${h}:${bytesKey(hash)}`;
      if (seen.has(k)) continue;
      seen.add(k);
      const record = decodeRecord(this.state.get(recordKey(para.title, h, hash)));
      const signers = record === null ? new Bitset(para.n) : decodeBitmap(record.signers, { length: para.n });
      if (signers.get(signer)) continue;
      if (record === null) {
        const mine = this.messagesBy(para, h, signer) + (opened.get(h) ?? 0);
        if (mine >= MAX_MESSAGES_PER_SIGNER) return fail("TOO_MANY_MESSAGES");
        opened.set(h, (opened.get(h) ?? 0) + 1);
      }
      fresh.push({ height: h, hash, message: c.message, signature: c.signature, parsed: sig, record, signers });
    }
    if (skipped === commits.length) return fail("ALREADY_DONE");
    if (fresh.length === 0) return fail("DUPLICATE_COMMIT");

    for (const f of fresh) {
      if (f.height <= meta.done) continue; // an earlier commit of this tx made it done
      this.addSignature(para, meta, signer, f);
    }
    this.state.put(metaKey(para.title), encodeMeta(meta));
    return OK;
  }

  /** How many distinct messages `signer` has signed at height h (records still open). */
  private messagesBy(para: Para, h: number, signer: number): number {
    let n = 0;
    for (const hash of decodeHeightIndex(this.state.get(heightKey(para.title, h))).hashes) {
      const r = decodeRecord(this.state.get(recordKey(para.title, h, hash)));
      if (r !== null && decodeBitmap(r.signers, { length: para.n }).get(signer)) n++;
    }
    return n;
  }

  private addSignature(para: Para, meta: TitleMeta, signer: number, f: NewCommit): void {
    let aggregate = f.signature;
    let sum = f.parsed;
    if (f.record !== null) {
      // Every signature in the stored aggregate was subgroup-checked when it entered (blockVerifier): no check here.
      const stored = this.aggregates.get(bytesKey(f.record.aggregateSignature)) ?? this.bls.signatureFromBytes(f.record.aggregateSignature, { validate: false });
      sum = this.bls.aggregateSignatures([stored, f.parsed]);
      aggregate = this.bls.signatureToBytes(sum, "compressed");
    }
    this.aggregates.set(bytesKey(aggregate), sum);
    f.signers.set(signer);
    this.state.put(recordKey(para.title, f.height, f.hash), encodeRecord({ message: f.message, aggregateSignature: aggregate, signers: encodeBitmap(f.signers) }));
    const hk = heightKey(para.title, f.height);
    const index = decodeHeightIndex(this.state.get(hk));
    let changed = false;
    if (f.record === null) {
      index.hashes.push(f.hash);
      changed = true;
    }
    if (index.quorum === null && paraQuorumReached(f.signers.count(), para.n)) {
      index.quorum = f.hash;
      changed = true;
      if (f.height > meta.recorded) meta.recorded = f.height;
    }
    if (changed) this.state.put(hk, encodeHeightIndex(index));
    if (index.quorum !== null && f.height === meta.done + 1) this.fire(para, meta);
  }

  /** Makes done each recorded height from done + 1 upward, until the first hole. */
  private fire(para: Para, meta: TitleMeta): void {
    for (;;) {
      const h = meta.done + 1;
      const hk = heightKey(para.title, h);
      const index = decodeHeightIndex(this.state.get(hk));
      if (index.quorum === null) break;
      const rec = decodeRecord(this.state.get(recordKey(para.title, h, index.quorum)));
      const msg = rec === null ? null : decodeCommitMessage(rec.message);
      if (rec === null || msg === null || !msg.ok || (meta.done > 0 && msg.value.mainHeight <= meta.doneMain)) {
        // Recorded before a lower height was done with a later main height: it can never be done; wait for another.
        index.quorum = null;
        this.state.put(hk, encodeHeightIndex(index));
        break;
      }
      this.state.put(doneKey(para.title, h), encodeRecord(rec));
      for (const hash of index.hashes) this.state.delete(recordKey(para.title, h, hash));
      this.state.delete(hk);
      meta.done = h;
      meta.doneMain = msg.value.mainHeight;
      this.credit(para.title, msg.value);
    }
    if (meta.recorded < meta.done) meta.recorded = meta.done;
  }

  /** Credits the withdrawals of the done para block made from main block `msg.mainHeight`, once. */
  private credit(title: string, msg: CommitMessage): void {
    const key = pendingKey(title, msg.mainHeight);
    const pending = decodePending(this.state.get(key));
    if (pending.length === 0) return;
    const results = decodeBitmap(msg.results);
    const cross = decodeBitmap(msg.crossTxs);
    for (const w of pending) {
      // A failed para tx did not burn: nothing to credit, the record goes all the same.
      if (bit(cross, w.index) && !bit(results, w.index) && !this.escrow.releaseEscrow(title, w.to.slice(), w.amount)) this.escrowShort++;
    }
    this.state.delete(key);
  }

  /**
   * Why a 0x21 para tx (standalone or a group's leg) is refused, or null: it must decode, name a registered title and
   * not wrap an accounts deposit — a deposit is credited on the para chain only when it is a main tx that locked its
   * amount in escrow; wrapped, it would credit the para chain with nothing locked (review finding, Dec 3: unbacked para
   * balances that could then drain the escrow through withdrawals).
   */
  private paraTxProblem(tx: Uint8Array): ParacrossDeliverCode | null {
    const d = decodeParaTx(tx);
    if (!d.ok) return "MALFORMED";
    if (!this.paras.has(d.value.title)) return "UNKNOWN_TITLE";
    if (isDeposit(d.value.inner)) return "DEPOSIT_IN_PARA_TX";
    return null;
  }

  private deliverGroup(tx: Uint8Array, index: number, ctx: BlockContext): DeliverResult {
    const d = decodeGroupTx(tx);
    if (!d.ok) return fail("MALFORMED");
    for (const leg of d.value) {
      if (leg[0] === PARA_TX_TAG) {
        const c = this.paraTxProblem(leg);
        if (c !== null) return { ok: false, code: `GROUP_LEG_FAILED:${c}` };
        continue;
      }
      // A deposit is credited on its para chain only as a top-level main tx (packing.ts): inside a group it would lock
      // the amount in escrow and never be credited.
      if (isDeposit(leg)) return { ok: false, code: "GROUP_LEG_FAILED:DEPOSIT_IN_GROUP" };
      const r = ctx.deliverNested(leg, index);
      if (!r.ok) return { ok: false, code: `GROUP_LEG_FAILED:${r.code}` };
    }
    return OK;
  }
}

function bit(b: Bitset, i: number): boolean {
  return i < b.length && b.get(i);
}

/** Both bitmaps of a commit message decode (checked when a commit is recorded, so crediting never meets bad bytes). */
function bitmapsDecode(m: CommitMessage): boolean {
  try {
    decodeBitmap(m.results);
    decodeBitmap(m.crossTxs);
    return true;
  } catch {
    return false;
  }
}

function isDeposit(tx: Uint8Array): boolean {
  return tx.length > 1 && tx[0] === ACCOUNT_TX_TAG && tx[1] === ACCOUNT_OP.deposit;
}
