/**
 * The cross-shard module (tx tag 0x30, formats in format.ts, design in README.md): atomic transfers between shards
 * in Kronos's steps, each one a committed block of some shard.
 *
 * - **Input Valid** — an input shard executes its legs of a transfer: all of its inputs are debited into the
 *   transfer's escrow (an LD record bound for the output shard), or, when one lacks funds or has the wrong nonce,
 *   none is and the tx fails (result bit set) and a CL record is bound for every other involved shard.
 * - **LD / CL** — records are committed by the block's outbox (the sealed state root, outbox.ts); anyone relays them
 *   to their destination as an import tx with the commit proof; the destination verifies it from the genesis.
 * - **SIGN / Output Valid** — the output shard credits the recipient in the block that applies the last input
 *   shard's LD; that block's commit is the output shard's signature.
 * - **CL** — an input shard that applies a CL refunds its escrow (or, when its legs have not run yet, marks the
 *   transfer aborted so they never will); the output shard marks it aborted and never credits.
 *
 * Each (transfer, source shard) record is applied once (a `seen` key); an import that brings nothing new fails
 * REPLAYED. Everything is state, so pending transfers survive restarts.
 *
 * State, in the module's namespace (`0xFF ‖ 0x30 ‖ key`):
 *
 *   0x01 ‖ xid             → leg: u8 status (1 escrowed | 2 invalid | 3 refunded | 4 aborted) ‖ u8 n ‖ n × (32 from ‖ 8 amount)
 *   0x02 ‖ xid             → output: u8 status (1 collecting | 2 credited | 3 aborted) ‖ u8 arrived mask ‖ 8 sum
 *   0x03 ‖ xid ‖ u16 src   → empty: the record of `src` for `xid` was applied
 *   0x04                   → u64 escrowed: Σ amounts held in escrow on this shard (debited, not refunded)
 *   0x05                   → u64 imported: Σ amounts this shard credited as an output shard
 *
 * Supply across the network: Σ_s supply_s + Σ_s escrowed_s − Σ_s imported_s = Σ genesis allocations, at every
 * height; once every transfer is decided, Σ escrowed = Σ imported (the simulator's atomicity checker asserts both).
 */
import { Ed25519Verifier } from "../../../crypto/ed25519.js";
import type { Hasher } from "../../../crypto/hasher.js";
import type { BlsBackend } from "../../../crypto/bls/backend.js";
import { MAX_UINT53 } from "../../../domain/limits.js";
import { BlsScheme } from "../../../consensus/adapters/blsScheme.js";
import { bitmapSignerSets } from "../../../consensus/adapters/bitmapSignerSets.js";
import { blockHasher } from "../../../consensus/blockHash.js";
import type { CommitProofContext } from "../../../consensus/commitProof.js";
import { SchemeCertificates } from "../../../consensus/scheme.js";
import { bytesEqual, bytesKey, readU64BE, writeU64BE } from "../../../util/bytes.js";
import { LruCache } from "../../../util/lru.js";
import type { AccountsModule } from "../accounts/module.js";
import type { CheckResult, DeliverResult, StateReader, StateWriter } from "../interface.js";
import type { NamespacedState } from "../keyedState.js";
import type { AppModule, BlockContext, RootSealer } from "../modular.js";
import { derivedKey } from "../stateTree.js";
import { decodeImport, decodeTransfer, encodeNetworkTx, encodeRecord, inputShardsOf, networkDigest, transferSigningMessage, XSHARD_OP, XSHARD_TX_TAG } from "./format.js";
import type { LegRecord, XTransfer } from "./format.js";
import { shardOf } from "./network.js";
import type { ShardNetwork } from "./network.js";
import { decodeOutbox, destinationsOf, encodeOutbox, outboxRoots, sealRoot, verifyImport } from "./outbox.js";
import type { ImportCheck, ImportContext, Outbox } from "./outbox.js";

export type XShardCode =
  | "MALFORMED"
  | "WRONG_SHARD"
  | "NOT_AN_INPUT"
  | "BAD_SIGNATURE"
  | "DUPLICATE"
  | "ABORTED"
  | "BAD_NONCE"
  | "INSUFFICIENT_FUNDS"
  | "REPLAYED"
  | "RECORD_MISMATCH"
  | "OVERFLOW"
  | "WRONG_SOURCE"
  | "BAD_COMMIT_PROOF"
  | "BAD_SEAL"
  | "BAD_INCLUSION"
  | "WRONG_DESTINATION"
  | "NETWORK_AFTER_GENESIS"
  | "WRONG_NETWORK";

export type LegStatus = "escrowed" | "invalid" | "refunded" | "aborted";
export type OutputStatus = "collecting" | "credited" | "aborted";

/** What this shard knows of one transfer. */
export interface TransferStatus {
  /** As an input shard: its legs' outcome; null when they have not run (or this shard is not an input). */
  readonly leg: LegStatus | null;
  /** As the output shard: null when no record arrived yet (or this shard is not the output). */
  readonly output: { readonly status: OutputStatus; readonly arrived: number; readonly sum: number } | null;
}

export interface XShardModuleOptions {
  readonly network: ShardNetwork;
  /** Verified imports and transfer signatures check() remembers (deliver skips re-verifying); default 4,096. */
  readonly verifiedCacheSize?: number;
}

export interface XShardModuleModules {
  /** The module's namespace: `app.namespace(XSHARD_TX_TAG)`. */
  readonly state: NamespacedState;
  /** The raw committed state (derived records: the stored outboxes). */
  readonly committed: StateReader;
  readonly accounts: AccountsModule;
  readonly hasher: Hasher;
  /** Verifies the other shards' QCs. */
  readonly bls: BlsBackend;
  readonly ed25519?: Ed25519Verifier;
}

const OK: { readonly ok: true } = { ok: true };
const LEG = 0x01;
const OUT = 0x02;
const SEEN = 0x03;
const ESCROWED_KEY = Uint8Array.of(0x04);
const IMPORTED_KEY = Uint8Array.of(0x05);
const LEG_STATUS: readonly LegStatus[] = ["escrowed", "invalid", "refunded", "aborted"];
const OUT_STATUS: readonly OutputStatus[] = ["collecting", "credited", "aborted"];
/** Derived-record keys: the outbox of a height, and the last block's outbox root (for `sealed`). */
const OUTBOX_ROOT_KEY = Uint8Array.of(0x72);

interface PendingInvalid {
  readonly xid: Uint8Array;
  readonly t: XTransfer;
}

export class XShardModule implements AppModule, RootSealer {
  readonly name = "xshard";
  readonly txTags = [XSHARD_TX_TAG] as const;
  readonly network: ShardNetwork;
  private readonly self: number;
  private readonly S: number;
  private readonly state: NamespacedState;
  private readonly committed: StateReader;
  private readonly accounts: AccountsModule;
  private readonly hasher: Hasher;
  private readonly ed25519: Ed25519Verifier;
  private readonly proofContexts: CommitProofContext[];
  private readonly importContext: ImportContext;
  /** Import verdicts by tx hash, valid or not (deterministic in the bytes). */
  private readonly verifiedImports: LruCache<string, ImportCheck>;
  /** Commit proofs verified for a source shard (source ‖ hash of the proof bytes): imports of one block share one. */
  private readonly verifiedProofs: LruCache<string, true>;
  private readonly verifiedTransfers: LruCache<string, true>;
  private readonly emptyOutboxRoot: Uint8Array;
  // The block being executed.
  private height = 0;
  private out: Uint8Array[][] = [];
  private invalid: PendingInvalid[] = [];
  private invalidIds = new Set<string>();

  constructor(opts: XShardModuleOptions, modules: XShardModuleModules) {
    this.network = opts.network;
    this.self = opts.network.self;
    this.S = opts.network.shards.length;
    this.state = modules.state;
    this.committed = modules.committed;
    this.accounts = modules.accounts;
    this.hasher = modules.hasher;
    this.ed25519 = modules.ed25519 ?? new Ed25519Verifier();
    const hashBlock = blockHasher((d) => modules.hasher.digest(d));
    this.proofContexts = opts.network.shards.map((s) => ({
      hashBlock,
      certificates: new SchemeCertificates({ chainId: s.chainId, validatorCount: s.validators.length }, new BlsScheme(modules.bls, [...s.validators]), bitmapSignerSets()),
    }));
    this.importContext = { hasher: this.hasher, shardCount: this.S, proofContext: (s) => this.proofContexts[s]! };
    this.verifiedImports = new LruCache(opts.verifiedCacheSize ?? 4_096);
    this.verifiedTransfers = new LruCache(opts.verifiedCacheSize ?? 4_096);
    this.verifiedProofs = new LruCache(opts.verifiedCacheSize ?? 4_096);
    this.emptyOutboxRoot = outboxRoots(emptyRecords(this.S), this.hasher).outboxRoot;
  }

  /** The shard an account lives on. */
  shardOf(publicKey: Uint8Array): number {
    return shardOf(publicKey, this.S, this.hasher);
  }

  check(tx: Uint8Array): CheckResult {
    if (tx[1] === XSHARD_OP.network) return refuse("NETWORK_AFTER_GENESIS", "the network tx exists only in a genesis block");
    if (tx[1] === XSHARD_OP.transfer) {
      const d = decodeTransfer(tx);
      if (!d.ok) return refuse("MALFORMED", `${d.code}: ${d.reason}`);
      const wrong = this.checkShards(d.value);
      if (wrong !== null) return wrong;
      if (!this.verifyLocalSignatures(tx, d.value)) return refuse("BAD_SIGNATURE", "an input signature does not verify for this network's id");
      return OK;
    }
    const d = decodeImport(tx);
    if (!d.ok) return refuse("MALFORMED", `${d.code}: ${d.reason}`);
    // Cheap first: an import whose every record was applied costs no BLS verification.
    if (d.value.items.every((it) => this.appliedCommitted(it.record, d.value.source))) return refuse("REPLAYED", "every record of this import was applied already");
    const v = this.verifyImportCached(tx);
    return v.ok ? OK : refuse(v.code, v.reason);
  }

  beginBlock(ctx: BlockContext): void {
    this.height = ctx.height;
    this.out = emptyRecords(this.S);
    this.invalid = [];
    this.invalidIds = new Set();
  }

  /** The genesis tx binding this shard's network section (node/genesis.ts puts it in the genesis block). */
  networkTx(): Uint8Array {
    return encodeNetworkTx(networkDigest(this.network, this.hasher));
  }

  deliver(tx: Uint8Array, _index: number, ctx: BlockContext): DeliverResult {
    if (tx[1] === XSHARD_OP.network) {
      if (ctx.height !== 0) return fail("NETWORK_AFTER_GENESIS");
      return tx.length === 34 && bytesEqual(tx, this.networkTx()) ? OK : fail("WRONG_NETWORK");
    }
    if (tx[1] === XSHARD_OP.transfer) return this.executeLegs(tx);
    if (tx[1] === XSHARD_OP.import) return this.applyImport(tx, ctx);
    return fail("MALFORMED");
  }

  /** The legs that failed this block: their CLs (the tx's own writes were rolled back with its failure). */
  endBlock(_ctx: BlockContext): void {
    for (const { xid, t } of this.invalid) {
      this.state.put(legKey(xid), encodeLeg(2, []));
      if (t.outShard === this.self) this.abortOutput(xid);
      this.emit({ kind: "cl", xid, source: this.self, outShard: t.outShard, to: t.to, amount: 0, inputShards: inputShardsOf(t) });
    }
  }

  seal(treeRoot: Uint8Array, state: StateWriter): Uint8Array {
    const any = this.out.some((r) => r.length > 0);
    if (!any) {
      if (state.get(derivedKey(XSHARD_TX_TAG, OUTBOX_ROOT_KEY)) !== undefined) state.delete(derivedKey(XSHARD_TX_TAG, OUTBOX_ROOT_KEY));
      return sealRoot(treeRoot, this.emptyOutboxRoot, this.hasher);
    }
    const { destRoots, outboxRoot } = outboxRoots(this.out, this.hasher);
    state.put(derivedKey(XSHARD_TX_TAG, outboxKey(this.height)), encodeOutbox({ treeRoot, outboxRoot, destRoots, records: this.out }));
    state.put(derivedKey(XSHARD_TX_TAG, OUTBOX_ROOT_KEY), outboxRoot);
    return sealRoot(treeRoot, outboxRoot, this.hasher);
  }

  sealed(treeRoot: Uint8Array, state: StateReader): Uint8Array {
    return sealRoot(treeRoot, state.get(derivedKey(XSHARD_TX_TAG, OUTBOX_ROOT_KEY)) ?? this.emptyOutboxRoot, this.hasher);
  }

  /** The committed outbox of a height, or null when that block bound no record (or is not committed here). */
  outboxAt(height: number): Outbox | null {
    const v = this.committed.get(derivedKey(XSHARD_TX_TAG, outboxKey(height)));
    return v === undefined ? null : decodeOutbox(v);
  }

  /** Verifies an import for this shard (cached). */
  verifyImportCached(tx: Uint8Array): ImportCheck {
    const key = bytesKey(this.hasher.digest(tx));
    const hit = this.verifiedImports.get(key);
    if (hit !== undefined) return hit;
    const d = decodeImport(tx);
    if (!d.ok) return { ok: false, code: "BAD_INCLUSION", reason: `${d.code}: ${d.reason}` };
    const source = d.value.source;
    const proofKey = (proof: Uint8Array) => `${source}:${bytesKey(this.hasher.digest(proof))}`;
    const v = verifyImport(d.value, this.self, this.importContext, (proof) => this.verifiedProofs.get(proofKey(proof)) !== undefined);
    if (v.ok) this.verifiedProofs.set(proofKey(d.value.proof), true);
    // Failures too: the verdict depends only on the bytes, and a resubmitted forgery must not cost pairings again.
    this.verifiedImports.set(key, v);
    return v;
  }

  /** The committed status of a transfer on this shard. */
  status(xid: Uint8Array): TransferStatus {
    const leg = this.state.query(legKey(xid));
    const out = this.state.query(outKey(xid));
    return {
      leg: leg === undefined ? null : LEG_STATUS[leg[0]! - 1]!,
      output: out === undefined ? null : { status: OUT_STATUS[out[0]! - 1]!, arrived: out[1]!, sum: readU64(out, 2) },
    };
  }

  /** Committed totals: held in escrow here, credited here as an output shard (the supply identity above). */
  totals(): { escrowed: number; imported: number } {
    return { escrowed: readAmount(this.state.query(ESCROWED_KEY)), imported: readAmount(this.state.query(IMPORTED_KEY)) };
  }

  /** Whether the record of `source` for this import record was applied in the committed state. */
  private appliedCommitted(record: Uint8Array, source: number): boolean {
    if (record.length < 33) return false;
    return this.state.query(seenKey(record.subarray(1, 33), source)) !== undefined;
  }

  private checkShards(t: XTransfer): CheckResult | null {
    if (t.outShard >= this.S || this.shardOf(t.to) !== t.outShard) return refuse("WRONG_SHARD", "the recipient does not live on the named output shard");
    for (const i of t.inputs) if (i.shard >= this.S || this.shardOf(i.from) !== i.shard) return refuse("WRONG_SHARD", "an input account does not live on its named shard");
    if (!t.inputs.some((i) => i.shard === this.self)) return refuse("NOT_AN_INPUT", `shard ${this.self} holds none of this transfer's inputs: submit it to its input shards`);
    return null;
  }

  private verifyLocalSignatures(tx: Uint8Array, t: XTransfer): boolean {
    const key = bytesKey(tx);
    if (this.verifiedTransfers.get(key) !== undefined) return true;
    const msg = transferSigningMessage(this.network.id, t.body);
    for (let i = 0; i < t.inputs.length; i++) {
      if (t.inputs[i]!.shard !== this.self) continue;
      if (!this.ed25519.verify(t.inputs[i]!.from, msg, t.signatures[i]!)) return false;
    }
    this.verifiedTransfers.set(key, true);
    return true;
  }

  /** Input Valid: this shard's legs of a transfer. */
  private executeLegs(tx: Uint8Array): DeliverResult {
    const d = decodeTransfer(tx);
    if (!d.ok) return fail("MALFORMED");
    const t = d.value;
    const wrong = this.checkShards(t);
    if (wrong !== null && !wrong.ok) return fail(wrong.code as XShardCode);
    if (!this.verifyLocalSignatures(tx, t)) return fail("BAD_SIGNATURE");
    const xid = this.hasher.digest(transferSigningMessage(this.network.id, t.body));
    const prior = this.state.get(legKey(xid));
    if (prior !== undefined) return fail(prior[0] === 4 ? "ABORTED" : "DUPLICATE");
    if (this.invalidIds.has(bytesKey(xid))) return fail("DUPLICATE");
    const local = t.inputs.filter((i) => i.shard === this.self);
    let sum = 0;
    for (const i of local) {
      const code = this.accounts.debitInput(i.from, i.nonce, i.amount);
      if (code !== null) {
        if (code === "BAD_NONCE" || code === "INSUFFICIENT_FUNDS") {
          // Invalid input: the tx fails (its debits roll back) and endBlock decides the legs invalid and binds the CL.
          // Deliberately not undone by a rollback (of this tx or of an enclosing group): aborting is always safe.
          this.invalid.push({ xid, t });
          this.invalidIds.add(bytesKey(xid));
        }
        return fail(code as XShardCode);
      }
      sum += i.amount;
    }
    if (!this.addTotal(ESCROWED_KEY, sum)) return fail("OVERFLOW");
    this.state.put(legKey(xid), encodeLeg(1, local));
    const r = this.emit({ kind: "ld", xid, source: this.self, outShard: t.outShard, to: t.to, amount: sum, inputShards: inputShardsOf(t) });
    return r;
  }

  /**
   * A verified import: applies each record not applied before, each on its own — a record that cannot apply (an
   * overflowing credit) is left unapplied without holding back the others of its source block.
   */
  private applyImport(tx: Uint8Array, ctx: BlockContext): DeliverResult {
    const v = this.verifyImportCached(tx);
    if (!v.ok) return fail(v.code);
    let fresh = 0;
    let failed: DeliverResult | null = null;
    for (const r of v.records) {
      const seen = seenKey(r.xid, r.source);
      if (this.state.get(seen) !== undefined) continue;
      const mark = ctx.savepoint();
      this.state.put(seen, new Uint8Array(0));
      const res = this.apply(r);
      if (res.ok) {
        ctx.release(mark);
        fresh++;
      } else {
        ctx.rollback(mark);
        failed = res;
      }
    }
    if (fresh > 0) return OK;
    return failed ?? fail("REPLAYED");
  }

  /** Binds a record to its destinations: into the outbox, or applied here when this shard is one of them. */
  private emit(r: LegRecord): DeliverResult {
    const bytes = encodeRecord(r);
    for (const dest of destinationsOf(r)) {
      if (dest !== this.self) {
        const list = this.out[dest]!;
        list.push(bytes);
        // A failed enclosing tx (a paracross group whose later leg fails) takes the record back with its writes.
        this.state.onRollback(() => void list.pop());
        continue;
      }
      const res = this.apply(r);
      if (!res.ok) return res;
    }
    return OK;
  }

  /** The effect of one record on this shard (exactly once: callers gate it). */
  private apply(r: LegRecord): DeliverResult {
    if (r.kind === "ld") return this.arrive(r);
    if (r.outShard === this.self) this.abortOutput(r.xid);
    if (r.inputShards.includes(this.self) && r.source !== this.self) return this.abortLegs(r.xid);
    return OK;
  }

  /** Output shard: one input shard's LD; credits once all input shards' LDs are in. */
  private arrive(r: LegRecord): DeliverResult {
    const key = outKey(r.xid);
    const v = this.state.get(key);
    const status = v === undefined ? 1 : v[0]!;
    if (status !== 1) return OK; // credited already (impossible: each source applies once) or aborted by a CL
    const pos = r.inputShards.indexOf(r.source);
    const arrived = (v === undefined ? 0 : v[1]!) | (1 << pos);
    const sum = (v === undefined ? 0 : readU64(v, 2)) + r.amount;
    if (sum > MAX_UINT53) return fail("OVERFLOW");
    const full = (1 << r.inputShards.length) - 1;
    if (arrived !== full) {
      this.state.put(key, encodeOut(1, arrived, sum));
      return OK;
    }
    if (!this.accounts.creditIncoming(r.to, sum) || !this.addTotal(IMPORTED_KEY, sum)) return fail("OVERFLOW");
    this.state.put(key, encodeOut(2, arrived, sum));
    return OK;
  }

  private abortOutput(xid: Uint8Array): void {
    const key = outKey(xid);
    const v = this.state.get(key);
    if (v === undefined || v[0] === 1) this.state.put(key, encodeOut(3, v === undefined ? 0 : v[1]!, v === undefined ? 0 : readU64(v, 2)));
  }

  /** Input shard, on a CL from another input shard: refund the escrow, or make sure the legs never run. */
  private abortLegs(xid: Uint8Array): DeliverResult {
    const key = legKey(xid);
    const v = this.state.get(key);
    if (v === undefined) {
      this.state.put(key, encodeLeg(4, []));
      return OK;
    }
    if (v[0] !== 1) return OK;
    const legs = decodeLegInputs(v);
    let sum = 0;
    for (const l of legs) {
      if (!this.accounts.creditIncoming(l.from, l.amount)) return fail("OVERFLOW");
      sum += l.amount;
    }
    if (!this.addTotal(ESCROWED_KEY, -sum)) return fail("OVERFLOW");
    this.state.put(key, encodeLeg(3, legs));
    return OK;
  }

  private addTotal(key: Uint8Array, delta: number): boolean {
    const s = readAmount(this.state.get(key)) + delta;
    if (s < 0 || s > MAX_UINT53) return false;
    const out = new Uint8Array(8);
    writeU64BE(new DataView(out.buffer), 0, s);
    this.state.put(key, out);
    return true;
  }
}

/** The key of a height's stored outbox (a derived record). */
export function outboxKey(height: number): Uint8Array {
  const k = new Uint8Array(9);
  k[0] = 0x6f; // "o"
  writeU64BE(new DataView(k.buffer), 1, height);
  return k;
}

function emptyRecords(S: number): Uint8Array[][] {
  return Array.from({ length: S }, () => []);
}

function legKey(xid: Uint8Array): Uint8Array {
  const k = new Uint8Array(33);
  k[0] = LEG;
  k.set(xid, 1);
  return k;
}

function outKey(xid: Uint8Array): Uint8Array {
  const k = new Uint8Array(33);
  k[0] = OUT;
  k.set(xid, 1);
  return k;
}

function seenKey(xid: Uint8Array, source: number): Uint8Array {
  const k = new Uint8Array(35);
  k[0] = SEEN;
  k.set(xid, 1);
  k[33] = source >> 8;
  k[34] = source & 0xff;
  return k;
}

function encodeLeg(status: number, inputs: readonly { readonly from: Uint8Array; readonly amount: number }[]): Uint8Array {
  const out = new Uint8Array(2 + 40 * inputs.length);
  const dv = new DataView(out.buffer);
  out[0] = status;
  out[1] = inputs.length;
  inputs.forEach((i, k) => {
    out.set(i.from, 2 + 40 * k);
    writeU64BE(dv, 2 + 40 * k + 32, i.amount);
  });
  return out;
}

function decodeLegInputs(v: Uint8Array): { from: Uint8Array; amount: number }[] {
  const n = v[1]!;
  const out = [];
  for (let k = 0; k < n; k++) out.push({ from: v.slice(2 + 40 * k, 2 + 40 * k + 32), amount: readU64(v, 2 + 40 * k + 32) });
  return out;
}

function encodeOut(status: number, arrived: number, sum: number): Uint8Array {
  const out = new Uint8Array(10);
  out[0] = status;
  out[1] = arrived;
  writeU64BE(new DataView(out.buffer), 2, sum);
  return out;
}

function readU64(v: Uint8Array, at: number): number {
  return readU64BE(new DataView(v.buffer, v.byteOffset, v.byteLength), at);
}

function readAmount(v: Uint8Array | undefined): number {
  return v === undefined ? 0 : readU64(v, 0);
}

function refuse(code: XShardCode, reason: string): CheckResult {
  return { ok: false, code, reason };
}

function fail(code: XShardCode): DeliverResult {
  return { ok: false, code };
}
