/**
 * The validator-set module (tag 0x40): validator-set changes by epoch (issue 16; design in README.md beside this file).
 *
 * State (the module's namespace):
 *   "N"             u32 registry size (absent: the genesis validators alone)
 *   "R" ‖ u32 i     registry entry i ≥ genesis count: 48 publicKey ‖ u8 len ‖ host ‖ u16 port   (append-only)
 *   "L"             u64 latest epoch number (absent: 0, the genesis set)
 *   "E" ‖ u64 e     epoch e ≥ 1: u64 startHeight ‖ u32 m ‖ m × u32 registry index (ascending)
 *   "S"             committee chains only: the reputation tracker's snapshot (`encodeReputation`)
 *   "X" ‖ u32 i     committee chains only: registry entry i was removed by a change and is no candidate
 *
 * Epoch 0 is the genesis set (registry 0..n−1), starting at height 1. A change tx signed by a quorum of the latest
 * epoch's members (aggregate BLS over `changeMessage`), delivered in block h, schedules epoch e+1 from height h + 2:
 * block h + 1 — "the first block after the block that commits it" — is the last block of epoch e, and every block from
 * h + 2 on is certified by the new set. Until then another change is refused (`CHANGE_PENDING`), so epochs never
 * overlap, and a change names the epoch that signs it, so a signed change applies at most once (`WRONG_EPOCH`).
 *
 * Registry indices are stable: a validator keeps its index across epochs (a removed one that is added again gets its
 * old index back), so a peer's identity, its key files and the metrics labelled by index keep their meaning. The
 * members of an epoch are a sorted list of registry indices; signer bitmaps of that epoch count positions in it.
 *
 * **Committees** (issue 15; genesis `consensus.committee`, README.md beside this file): the module keeps a
 * `ReputationTracker` in its state and feeds it every block's header (proposer and parent-QC signers, mapped from the
 * block's epoch positions to registry indices). At each block h with h ≡ E − 2 (mod E) it schedules, from h + 2, an
 * epoch of the top m candidates by score (ties: lower index) — the same epoch record a change writes, so consensus,
 * sync, audit and followers need no second mechanism — unless that is the latest epoch's member list already. A
 * rotation never collides with a change: while a change's epoch is pending (its start above h, including a change
 * delivered in h itself) the rotation waits for the next period; a change delivered while a rotation's epoch is
 * pending is `CHANGE_PENDING`, and one signed for the epoch before a rotation is `WRONG_EPOCH` (re-sign it).
 */
import type { BlsBackend, PublicKey, SecretKey } from "../../../crypto/bls/backend.js";
import { bitmapSignerSets } from "../../../consensus/adapters/bitmapSignerSets.js";
import { MAX_SCORE_MILLI, ReputationTracker } from "../../../consensus/reputation.js";
import type { ReputationSnapshot } from "../../../consensus/reputation.js";
import { MAX_CERT_SIGNERS } from "../../../domain/limits.js";
import { maxFaulty, quorumSize } from "../../../domain/quorum.js";
import { bytesEqual, bytesKey, utf8 } from "../../../util/bytes.js";
import { QuireError } from "../../../util/errors.js";
import type { CheckResult, DeliverResult } from "../interface.js";
import type { NamespacedState } from "../keyedState.js";
import type { AppModule, BlockContext } from "../modular.js";
import { changeMessage, decodeChangeTx, encodeChange, encodeChangeTx, joinMessage, keyAddressBytes, PUBLIC_KEY_BYTES, VALSET_TX_TAG } from "./format.js";
import type { AddChange, ValsetChange } from "./format.js";

export type ValsetErrorCode =
  /** The tx's bytes are not a change tx (the decoder's code is in the reason). */
  | "MALFORMED"
  /** The change is signed for an epoch other than the latest one (stale, replayed, or from the future). */
  | "WRONG_EPOCH"
  /** The latest epoch has not started yet: one change per epoch boundary. */
  | "CHANGE_PENDING"
  /** The signer bitmap does not decode over the epoch's members. */
  | "BAD_SIGNERS"
  /** Fewer signers than a quorum (n − f) of the epoch's members. */
  | "NO_QUORUM"
  /** The aggregate signature does not verify for those signers. */
  | "BAD_SIGNATURE"
  /** The added public key is not a valid G1 point. */
  | "BAD_KEY"
  /** The added key's join signature (its proof of possession) does not verify. */
  | "BAD_JOIN_SIGNATURE"
  /** The added key is a member of the latest epoch already. */
  | "ALREADY_VALIDATOR"
  /** The removed index is not a member of the latest epoch. */
  | "NOT_VALIDATOR"
  /** Removing the last member would leave no validator. */
  | "LAST_VALIDATOR"
  /** Adding would exceed the most signers a certificate may carry (`MAX_CERT_SIGNERS`). */
  | "TOO_MANY_VALIDATORS"
  /** The block already had `MAX_CHECKED_CHANGES_PER_BLOCK` change txs that reached the signature checks. */
  | "TOO_MANY_CHANGES"
  /** A committee configuration out of range (size, period). */
  | "BAD_COMMITTEE";

export class ValsetError extends QuireError<ValsetErrorCode> {}

/** One registry entry: a validator key ever admitted, with the address it announced (genesis keys have none). */
export interface RegistryEntry {
  readonly index: number;
  readonly publicKey: Uint8Array;
  readonly address: { readonly host: string; readonly port: number } | null;
}

/** An epoch: its members (registry indices, ascending) certify every block from `startHeight` until the next epoch's. */
export interface Epoch {
  readonly epoch: number;
  readonly startHeight: number;
  readonly members: readonly number[];
}

/** Committees by reputation: every `everyHeights` heights the top `size` registry validators by score sign. */
export interface CommitteeConfig {
  readonly size: number;
  readonly everyHeights: number;
}

/**
 * The shortest rotation period. A rotation's epoch starts two blocks after the block that schedules it and a change
 * pending at that block defers it a whole period; ten blocks leave every epoch at least eight blocks of its own, so
 * switches (a fresh instance, a root QC, a new safety state) stay a small part of a period.
 */
export const MIN_COMMITTEE_EVERY = 10;

export interface ValidatorsModuleOptions {
  readonly chainId: Uint8Array;
  /** Committees by reputation (genesis `consensus.committee`); absent: the set changes by change txs alone. */
  readonly committee?: CommitteeConfig;
  /** The genesis validators' BLS public keys (compressed), in genesis order: registry 0..n−1 and epoch 0. */
  readonly genesisValidators: readonly Uint8Array[];
}

export interface ValidatorsModuleModules {
  readonly state: NamespacedState;
  readonly bls: BlsBackend;
}

/**
 * Change txs per block whose signatures are checked; later ones fail `TOO_MANY_CHANGES` without any BLS work. At most
 * one change can succeed per epoch boundary anyway, and each check costs about two pairings (≈ 1 ms with blst) with
 * no fee: without a cap a proposer could fill a block with 16,384 forged changes and stall every replica for seconds
 * (review finding). Two, not one, so that a forged change cannot crowd out the genuine one in the same block.
 */
export const MAX_CHECKED_CHANGES_PER_BLOCK = 2;

const KEY_SIZE = utf8("N");
const KEY_LATEST = utf8("L");
const EMPTY = new Uint8Array(0);
const KEY_REPUTATION = utf8("S");
const signerSets = bitmapSignerSets();

export class ValidatorsModule implements AppModule {
  readonly name = "validators";
  readonly txTags = [VALSET_TX_TAG] as const;
  /** Never a leg of another module's tx: see `AppModule.nestable`. */
  readonly nestable = false;
  private readonly chainId: Uint8Array;
  private readonly genesisKeys: readonly Uint8Array[];
  readonly committee: CommitteeConfig | null;
  private readonly state: NamespacedState;
  private readonly bls: BlsBackend;
  /**
   * Parsed public keys by their bytes. Not by registry index: two speculative forks may register different keys under
   * the same new index, and a cache keyed by index would then verify one fork with the other's key.
   */
  private readonly parsed = new Map<string, PublicKey>();
  /** Change txs of the current block that reached the signature checks. */
  private checkedThisBlock = 0;
  /** `epochs()` as last read, with the bytes of its latest record (see there). */
  private epochsKept: { readonly list: readonly Epoch[]; readonly lastBytes: Uint8Array } | null = null;

  constructor(opts: ValidatorsModuleOptions, modules: ValidatorsModuleModules) {
    if (opts.genesisValidators.length < 1) throw new ValsetError("MALFORMED", "a chain has at least one genesis validator");
    this.chainId = opts.chainId;
    this.genesisKeys = opts.genesisValidators;
    this.committee = opts.committee ?? null;
    if (this.committee !== null) checkCommittee(this.committee, opts.genesisValidators.length);
    this.state = modules.state;
    this.bls = modules.bls;
  }

  check(tx: Uint8Array): CheckResult {
    const d = decodeChangeTx(tx);
    return d.ok ? { ok: true } : { ok: false, code: "MALFORMED", reason: `${d.code}: ${d.reason}` };
  }

  beginBlock(): void {
    this.checkedThisBlock = 0;
  }

  deliver(tx: Uint8Array, _index: number, ctx: BlockContext): DeliverResult {
    const d = decodeChangeTx(tx);
    if (!d.ok) return { ok: false, code: "MALFORMED" };
    const t = d.tx;
    const read = (k: Uint8Array): Uint8Array | undefined => this.state.get(k);
    const latest = this.latestEpoch(read);
    if (t.epoch !== latest.epoch) return { ok: false, code: "WRONG_EPOCH" };
    if (latest.startHeight > ctx.height) return { ok: false, code: "CHANGE_PENDING" };
    const members = latest.members;
    const positions = signerSets.decode(t.signers, members.length);
    if (positions === null || positions.length === 0) return { ok: false, code: "BAD_SIGNERS" };
    if (positions.length < quorumSize(members.length)) return { ok: false, code: "NO_QUORUM" };
    let next: number[];
    let added: { index: number; entry: Uint8Array } | null = null;
    if (t.change.kind === "remove") {
      const idx = t.change.index;
      if (!members.includes(idx)) return { ok: false, code: "NOT_VALIDATOR" };
      if (members.length === 1) return { ok: false, code: "LAST_VALIDATOR" };
      next = members.filter((m) => m !== idx);
    } else {
      const c = t.change;
      if (members.length >= MAX_CERT_SIGNERS) return { ok: false, code: "TOO_MANY_VALIDATORS" };
      const size = this.registrySize(read);
      let index = -1;
      for (let i = 0; i < size; i++) if (bytesEqual(this.keyOf(read, i), c.publicKey)) index = i;
      if (index >= 0 && members.includes(index)) return { ok: false, code: "ALREADY_VALIDATOR" };
      if (index < 0) index = size;
      added = { index, entry: keyAddressBytes(c.publicKey, c.host, c.port) };
      next = [...members, index].sort((a, b) => a - b);
    }
    // The signature checks last, and a bounded number per block: everything above is cheap and fails first on garbage.
    if (this.checkedThisBlock >= MAX_CHECKED_CHANGES_PER_BLOCK) return { ok: false, code: "TOO_MANY_CHANGES" };
    this.checkedThisBlock++;
    // The quorum's aggregate first: only a real quorum passes it, while anyone can make a valid join signature.
    const signerKeys = positions.map((p) => this.publicKey(read, members[p]!));
    if (!this.verifyAggregate(signerKeys, changeMessage(this.chainId, t.epoch, t.changeBytes), t.signature)) return { ok: false, code: "BAD_SIGNATURE" };
    if (t.change.kind === "add") {
      const c = t.change;
      let pk: PublicKey;
      try {
        pk = this.bls.publicKeyFromBytes(c.publicKey);
      } catch {
        return { ok: false, code: "BAD_KEY" };
      }
      if (!this.verifyOne(pk, joinMessage(this.chainId, c.publicKey, c.host, c.port), c.joinSignature)) return { ok: false, code: "BAD_JOIN_SIGNATURE" };
    }
    if (this.committee !== null) {
      // A removed validator is no committee candidate until a change adds it again.
      if (t.change.kind === "remove") this.state.put(retiredKey(t.change.index), new Uint8Array(0));
      else if (added !== null) this.state.delete(retiredKey(added.index));
    }
    if (added !== null) {
      // Re-adding a removed validator refreshes its announced address; its key (and so its index) is unchanged.
      this.state.put(entryKey(added.index), added.entry);
      if (added.index >= this.registrySize(read)) this.state.put(KEY_SIZE, u32(added.index + 1));
    }
    const epoch: Epoch = { epoch: latest.epoch + 1, startHeight: ctx.height + 2, members: next };
    this.state.put(epochKey(epoch.epoch), encodeEpoch(epoch));
    this.state.put(KEY_LATEST, u64(epoch.epoch));
    return { ok: true };
  }

  /** Committee chains: feeds the block's header to the tracker, then rotates at h ≡ E − 2 (mod E). See the file header. */
  endBlock(ctx: BlockContext): void {
    const c = this.committee;
    if (c === null) return;
    const read = (k: Uint8Array): Uint8Array | undefined => this.state.get(k);
    const size = this.registrySize(read);
    const tracker = this.tracker(read, size);
    const h = ctx.header;
    if (h !== undefined) {
      const members = this.epochAtRead(read, ctx.height).members;
      const positions = h.parentSigners.length === 0 ? null : signerSets.decode(h.parentSigners, members.length);
      tracker.observe([
        {
          height: ctx.height,
          view: h.view,
          proposer: members[h.proposer] ?? -1,
          signers: positions === null ? null : positions.map((p) => members[p]!),
          eligible: members,
        },
      ]);
      this.state.put(KEY_REPUTATION, encodeReputation(tracker.snapshot()));
    }
    if (ctx.height % c.everyHeights !== c.everyHeights - 2) return;
    const latest = this.latestEpoch(read);
    // A change's epoch still pending (or scheduled by this very block): the rotation waits a period.
    if (latest.startHeight > ctx.height) return;
    // The best c.size by score, but at most one validator that was passive enters per rotation (review finding: a
    // passive validator recovers without proving it is alive, so several dead ones could enter at once and stall the
    // committee); the others wait for the next rotations, where a dead entrant has already dropped again.
    const ranked = tracker.top(size).filter((i) => read(retiredKey(i)) === undefined);
    const current = new Set(latest.members);
    const picked: number[] = [];
    let entrants = 0;
    for (const i of ranked) {
      if (picked.length === c.size) break;
      if (current.has(i) || entrants < MAX_ENTRANTS_PER_ROTATION) {
        if (!current.has(i)) entrants++;
        picked.push(i);
      }
    }
    // Not enough (members retired since): fill with the next best, entrants or not.
    for (const i of ranked) if (picked.length < c.size && !picked.includes(i)) picked.push(i);
    const next = picked.sort((a, b) => a - b);
    if (next.length === 0 || (next.length === latest.members.length && next.every((m, i) => m === latest.members[i]))) return;
    const epoch: Epoch = { epoch: latest.epoch + 1, startHeight: ctx.height + 2, members: next };
    this.state.put(epochKey(epoch.epoch), encodeEpoch(epoch));
    this.state.put(KEY_LATEST, u64(epoch.epoch));
  }

  /** Committed reputation scores in milli-points (0..100 000) by registry index; null without a committee. */
  scores(): number[] | null {
    if (this.committee === null) return null;
    const read = (k: Uint8Array): Uint8Array | undefined => this.state.query(k);
    const size = this.registrySize(read);
    const t = this.tracker(read, size);
    return Array.from({ length: size }, (_, i) => t.milli(i));
  }

  /** The tracker as the state holds it, over `size` registry entries (entries admitted since start at full score). */
  private tracker(read: (k: Uint8Array) => Uint8Array | undefined, size: number): ReputationTracker {
    const t = new ReputationTracker(size);
    const v = read(KEY_REPUTATION);
    if (v !== undefined) t.restore(decodeReputation(v, size));
    return t;
  }

  private epochAtRead(read: (k: Uint8Array) => Uint8Array | undefined, height: number): Epoch {
    for (let e = readU64(read(KEY_LATEST)) ?? 0; e > 0; e--) {
      const x = decodeEpoch(e, read(epochKey(e)));
      if (x.startHeight <= height) return x;
    }
    return this.genesisEpoch();
  }

  /**
   * Every committed epoch, oldest first (epoch 0 is the genesis set). The shell asks for it at every block, so the
   * decoded list is kept: epoch records are written once each, in order (`KEY_LATEST` only grows), and a call reads
   * the latest number and that record's bytes, decoding only records committed since the last call. Should the
   * latest record differ from the one kept, or the number fall, the list is read again whole.
   */
  epochs(): readonly Epoch[] {
    const read = (k: Uint8Array): Uint8Array | undefined => this.state.query(k);
    const latest = readU64(read(KEY_LATEST)) ?? 0;
    let kept = this.epochsKept;
    if (kept !== null) {
      const last = kept.list.length - 1;
      const unchanged = last <= latest && (last === 0 || bytesEqual(read(epochKey(last)) ?? EMPTY, kept.lastBytes));
      if (unchanged && last === latest) return kept.list;
      if (!unchanged) kept = null;
    }
    const out: Epoch[] = kept === null ? [this.genesisEpoch()] : kept.list.slice();
    for (let e = out.length; e <= latest; e++) out.push(decodeEpoch(e, read(epochKey(e))));
    // A copy: the store may hand out views of buffers it reuses.
    this.epochsKept = { list: Object.freeze(out), lastBytes: latest === 0 ? EMPTY : (read(epochKey(latest)) ?? EMPTY).slice() };
    return this.epochsKept.list;
  }

  /** The committed epoch that certifies block `height` (the latest one whose start is at or below it). */
  epochAt(height: number): Epoch {
    const all = this.epochs();
    for (let i = all.length - 1; i > 0; i--) if (all[i]!.startHeight <= height) return all[i]!;
    return all[0]!;
  }

  /** The committed registry: every key ever admitted, by index. */
  registry(): RegistryEntry[] {
    const read = (k: Uint8Array): Uint8Array | undefined => this.state.query(k);
    const out: RegistryEntry[] = [];
    const size = this.registrySize(read);
    for (let i = 0; i < size; i++) {
      const rec = read(entryKey(i));
      // A genesis validator has an entry (its announced address) only once it was removed and added again.
      if (i < this.genesisKeys.length) out.push({ index: i, publicKey: this.genesisKeys[i]!, address: rec === undefined ? null : decodeEntry(rec).address });
      else out.push({ index: i, ...decodeEntry(rec) });
    }
    return out;
  }

  private genesisEpoch(): Epoch {
    return { epoch: 0, startHeight: 1, members: this.genesisKeys.map((_, i) => i) };
  }

  private latestEpoch(read: (k: Uint8Array) => Uint8Array | undefined): Epoch {
    const latest = readU64(read(KEY_LATEST)) ?? 0;
    return latest === 0 ? this.genesisEpoch() : decodeEpoch(latest, read(epochKey(latest)));
  }

  private registrySize(read: (k: Uint8Array) => Uint8Array | undefined): number {
    const v = read(KEY_SIZE);
    return v === undefined ? this.genesisKeys.length : new DataView(v.buffer, v.byteOffset, v.byteLength).getUint32(0);
  }

  private keyOf(read: (k: Uint8Array) => Uint8Array | undefined, i: number): Uint8Array {
    return i < this.genesisKeys.length ? this.genesisKeys[i]! : decodeEntry(read(entryKey(i))).publicKey;
  }

  private publicKey(read: (k: Uint8Array) => Uint8Array | undefined, i: number): PublicKey {
    const bytes = this.keyOf(read, i);
    const key = bytesKey(bytes);
    let pk = this.parsed.get(key);
    if (pk === undefined) {
      pk = this.bls.publicKeyFromBytes(bytes);
      // Bounded by the registry (every key here passed a quorum's signature), not by what clients send.
      this.parsed.set(key, pk);
    }
    return pk;
  }

  private verifyOne(pk: PublicKey, message: Uint8Array, signature: Uint8Array): boolean {
    try {
      return this.bls.verify(message, pk, this.bls.signatureFromBytes(signature));
    } catch {
      return false;
    }
  }

  private verifyAggregate(pks: readonly PublicKey[], message: Uint8Array, signature: Uint8Array): boolean {
    try {
      return this.bls.fastAggregateVerify(message, pks, this.bls.signatureFromBytes(signature));
    } catch {
      return false;
    }
  }
}

function entryKey(i: number): Uint8Array {
  const k = new Uint8Array(5);
  k[0] = 0x52; // "R"
  new DataView(k.buffer).setUint32(1, i);
  return k;
}

function retiredKey(i: number): Uint8Array {
  const k = entryKey(i);
  k[0] = 0x58; // "X"
  return k;
}

/** Validators that were passive entering one rotation's committee at most. */
export const MAX_ENTRANTS_PER_ROTATION = 1;

/** Typed refusals of a committee configuration (genesis `consensus.committee`). */
export function checkCommittee(c: CommitteeConfig, registrySize: number): void {
  if (!Number.isInteger(c.everyHeights) || c.everyHeights < MIN_COMMITTEE_EVERY) throw new ValsetError("BAD_COMMITTEE", `committee.everyHeights must be an integer >= ${MIN_COMMITTEE_EVERY}`);
  if (!Number.isInteger(c.size) || c.size < 1 || c.size > registrySize) throw new ValsetError("BAD_COMMITTEE", `committee.size must be an integer in 1..${registrySize} (the genesis validators)`);
  if (!committeeSafe(c.size, registrySize)) {
    throw new ValsetError("BAD_COMMITTEE", `committee.size ${c.size} is unsafe for ${registrySize} validators: two quorums of the committee must share more than the ${maxFaulty(registrySize)} validators that may be Byzantine (and all sit in the committee); the smallest safe size is ${smallestSafeCommittee(registrySize)}`);
  }
}

/**
 * Whether a committee of `size` out of `registrySize` validators stays safe with up to f = maxFaulty(registrySize)
 * Byzantine validators, whichever of them the scores put in it: two of its quorums intersect in 2q − size members,
 * which must exceed f (review finding: a collector chooses which signers a QC names, so a Byzantine minority can push
 * honest members' scores down and its own into the committee; the committee's own ⌊(size−1)/3⌋ is no bound).
 */
export function committeeSafe(size: number, registrySize: number): boolean {
  return 2 * quorumSize(size) - size > maxFaulty(registrySize);
}

/** The smallest committee size that is safe for `registrySize` validators (`committeeSafe`). */
export function smallestSafeCommittee(registrySize: number): number {
  for (let m = 1; m <= registrySize; m++) if (committeeSafe(m, registrySize)) return m;
  return registrySize;
}

/**
 * The tracker's snapshot as the state holds it: u64 lastHeight ‖ u64 (lastView + 1) ‖ u32 n ‖ n × (u32 milli ‖
 * u32 streak ‖ u32 failStreak). Written by this module only.
 */
function encodeReputation(s: ReputationSnapshot): Uint8Array {
  const n = s.milli.length;
  const out = new Uint8Array(20 + 12 * n);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(s.lastHeight));
  dv.setBigUint64(8, BigInt(s.lastView + 1));
  dv.setUint32(16, n);
  for (let i = 0; i < n; i++) {
    dv.setUint32(20 + 12 * i, s.milli[i]!);
    dv.setUint32(24 + 12 * i, s.streak[i]!);
    dv.setUint32(28 + 12 * i, s.failStreak[i]!);
  }
  return out;
}

/** The stored snapshot, padded to `size` entries: a validator admitted since starts at full score, like everyone. */
function decodeReputation(v: Uint8Array, size: number): ReputationSnapshot {
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const n = v.length >= 20 ? dv.getUint32(16) : -1;
  if (n < 0 || v.length !== 20 + 12 * n || n > size) throw new ValsetError("MALFORMED", "reputation snapshot truncated or too long in the state");
  const milli = new Array<number>(size).fill(MAX_SCORE_MILLI);
  const streak = new Array<number>(size).fill(0);
  const failStreak = new Array<number>(size).fill(0);
  for (let i = 0; i < n; i++) {
    milli[i] = dv.getUint32(20 + 12 * i);
    streak[i] = dv.getUint32(24 + 12 * i);
    failStreak[i] = dv.getUint32(28 + 12 * i);
  }
  return { lastHeight: Number(dv.getBigUint64(0)), lastView: Number(dv.getBigUint64(8)) - 1, milli, streak, failStreak };
}

function epochKey(e: number): Uint8Array {
  const k = new Uint8Array(9);
  k[0] = 0x45; // "E"
  new DataView(k.buffer).setBigUint64(1, BigInt(e));
  return k;
}

function u32(v: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, v);
  return out;
}

function u64(v: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(v));
  return out;
}

function readU64(v: Uint8Array | undefined): number | undefined {
  return v === undefined ? undefined : Number(new DataView(v.buffer, v.byteOffset, v.byteLength).getBigUint64(0));
}

/** Entries are written by this module only; a missing or short one is a broken store, not hostile input. */
function decodeEntry(v: Uint8Array | undefined): { publicKey: Uint8Array; address: { host: string; port: number } } {
  if (v === undefined || v.length < PUBLIC_KEY_BYTES + 3) throw new ValsetError("MALFORMED", "registry entry missing or truncated in the state");
  const len = v[PUBLIC_KEY_BYTES]!;
  const host = new TextDecoder().decode(v.subarray(PUBLIC_KEY_BYTES + 1, PUBLIC_KEY_BYTES + 1 + len));
  const port = new DataView(v.buffer, v.byteOffset, v.byteLength).getUint16(PUBLIC_KEY_BYTES + 1 + len);
  return { publicKey: v.subarray(0, PUBLIC_KEY_BYTES), address: { host, port } };
}

function encodeEpoch(e: Epoch): Uint8Array {
  const out = new Uint8Array(12 + 4 * e.members.length);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(e.startHeight));
  dv.setUint32(8, e.members.length);
  e.members.forEach((m, i) => dv.setUint32(12 + 4 * i, m));
  return out;
}

function decodeEpoch(epoch: number, v: Uint8Array | undefined): Epoch {
  if (v === undefined || v.length < 12) throw new ValsetError("MALFORMED", `epoch ${epoch} missing or truncated in the state`);
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const m = dv.getUint32(8);
  if (v.length !== 12 + 4 * m) throw new ValsetError("MALFORMED", `epoch ${epoch} record has the wrong length`);
  const members: number[] = [];
  for (let i = 0; i < m; i++) members.push(dv.getUint32(12 + 4 * i));
  return { epoch, startHeight: Number(dv.getBigUint64(0)), members };
}

/** One member's share of a change: its position in the epoch's member list and its secret key. */
export interface ChangeSigner {
  readonly position: number;
  readonly secretKey: SecretKey;
}

/**
 * A complete change tx: every signer signs `changeMessage`, the shares are aggregated, the positions become the signer
 * bitmap over `memberCount`. For tools and tests that hold the keys (`quire validators`); in a real network each member
 * signs on its own and any one of them aggregates the shares (the same `aggregateSignatures`).
 */
export function buildChangeTx(bls: BlsBackend, chainId: Uint8Array, epoch: number, memberCount: number, change: ValsetChange, signers: readonly ChangeSigner[]): Uint8Array {
  const sorted = [...signers].sort((a, b) => a.position - b.position);
  const changeBytes = encodeChange(change);
  const message = changeMessage(chainId, epoch, changeBytes);
  const aggregate = bls.aggregateSignatures(sorted.map((s) => bls.sign(s.secretKey, message)));
  return encodeChangeTx(
    epoch,
    changeBytes,
    signerSets.encode(
      sorted.map((s) => s.position),
      memberCount,
    ),
    bls.signatureToBytes(aggregate, "compressed"),
  );
}

/** The `add` change for a key the caller holds: its join signature binds the key to `host:port` on this chain. */
export function addChange(bls: BlsBackend, chainId: Uint8Array, secretKey: SecretKey, host: string, port: number): AddChange {
  const publicKey = bls.publicKeyToBytes(bls.publicKeyOf(secretKey), "compressed");
  const joinSignature = bls.signatureToBytes(bls.sign(secretKey, joinMessage(chainId, publicKey, host, port)), "compressed");
  return { kind: "add", publicKey, joinSignature, host, port };
}
