/**
 * The accounts module (tx tag 0x10, format accountTx.ts): Ed25519 accounts with a balance and a nonce in the state
 * tree, transfers, the two halves of main ↔ para transfers (deposit, withdraw) and genesis mints. The design is
 * paracross/README.md ("Assets across chains").
 *
 * State, in the module's namespace (`0xFF ‖ 0x10 ‖ key`, keyedState.ts):
 *
 *   0x01 ‖ publicKey (32)  → balance u64 ‖ nonce u64      one record per account
 *   0x02 ‖ title (UTF-8)   → u64                          escrow of a registered para chain (main chain only)
 *   0x03                   → u64                          supply: Σ balances on this chain (escrows excluded)
 *
 * A chain is a **main** chain (no `paraTitle`: deposits lock into the escrow of a registered title; withdrawals come
 * back through the paracross module's `releaseEscrow`) or a **para** chain (`paraTitle`: deposits of its title mint,
 * withdrawals burn). Every failure is a typed code; the dispatcher rolls back the writes of a failed tx.
 *
 * Signatures: check() verifies at submission and remembers the txs it verified (bounded, keyed by the whole tx, so a
 * different body or signature never hits); deliver re-verifies only what this node did not check (a tx another node
 * proposed). Verification is deterministic, so the cache changes cost, never outcomes.
 */
import { Ed25519Verifier } from "../../../crypto/ed25519.js";
import { MAX_UINT53 } from "../../../domain/limits.js";
import { bytesKey, readU64BE, utf8, writeU64BE } from "../../../util/bytes.js";
import { QuireError } from "../../../util/errors.js";
import { LruCache } from "../../../util/lru.js";
import type { CheckResult, DeliverResult } from "../interface.js";
import type { NamespacedState } from "../keyedState.js";
import type { AppModule, BlockContext } from "../modular.js";
import { ACCOUNT_TX_TAG, decodeAccountTx, PUBLIC_KEY_BYTES, signingMessage } from "./accountTx.js";
import type { AccountTx } from "./accountTx.js";

/** Why an account tx failed on execution (or was refused at submission). */
export type AccountsCode =
  | "MALFORMED"
  | "BAD_SIGNATURE"
  | "BAD_NONCE"
  | "INSUFFICIENT_FUNDS"
  | "UNKNOWN_TITLE"
  | "WRONG_TITLE"
  | "WRONG_CHAIN"
  | "MINT_AFTER_GENESIS"
  | "WRONG_SHARD"
  | "OVERFLOW";

/** Internal invariant breaks (a caller's bug, never a client's error). */
export class AccountsError extends QuireError<"BAD_ARGUMENT" | "CORRUPT_STATE"> {}

/** An account's committed balance and nonce (the nonce its next signed tx must carry). */
export interface AccountState {
  readonly balance: number;
  readonly nonce: number;
}

export interface AccountsModuleOptions {
  /** This chain's id: what account signatures are bound to. */
  readonly chainId: Uint8Array;
  /** Set on a para chain: its title. Absent on a main chain. */
  readonly paraTitle?: string;
  /** Main chain: the registered para chains' titles (deposits to others fail UNKNOWN_TITLE). */
  readonly titles?: readonly string[];
  /**
   * Txs whose verified signature check() remembers; default 65,536 (≈ 15 MB: a 147-byte tx as a string key plus the
   * map's entry). Keyed by the whole tx: keying by the signature alone would let a valid signature vouch for another body.
   */
  readonly verifiedCacheSize?: number;
  /**
   * Set on a shard of a sharded network: whether an account lives on this shard (xshard/network.ts `shardOf`). A
   * transfer between two of its accounts is intra-shard; any other fails WRONG_SHARD (it is a cross-shard transfer,
   * module xshard), and so does a genesis mint to another shard's account.
   */
  readonly inShard?: (publicKey: Uint8Array) => boolean;
}

export interface AccountsModuleModules {
  /** The module's namespace: `app.namespace(ACCOUNT_TX_TAG)`. */
  readonly state: NamespacedState;
  /** Ed25519 verification (with its key cache); default a fresh one. */
  readonly verifier?: Ed25519Verifier;
}

const OK: { readonly ok: true } = { ok: true };
const ACCOUNT_PREFIX = 0x01;
const ESCROW_PREFIX = 0x02;
const SUPPLY_KEY = Uint8Array.of(0x03);
const ZERO: AccountState = { balance: 0, nonce: 0 };

export class AccountsModule implements AppModule {
  readonly name = "accounts";
  readonly txTags = [ACCOUNT_TX_TAG] as const;
  private readonly chainId: Uint8Array;
  private readonly paraTitle: string | undefined;
  private readonly titles: ReadonlySet<string>;
  private readonly state: NamespacedState;
  private readonly verifier: Ed25519Verifier;
  private readonly verified: LruCache<string, true>;
  private readonly inShard: ((publicKey: Uint8Array) => boolean) | undefined;

  constructor(opts: AccountsModuleOptions, modules: AccountsModuleModules) {
    this.chainId = opts.chainId;
    this.paraTitle = opts.paraTitle;
    this.titles = new Set(opts.titles ?? []);
    this.state = modules.state;
    this.verifier = modules.verifier ?? new Ed25519Verifier();
    this.verified = new LruCache(opts.verifiedCacheSize ?? 65_536);
    this.inShard = opts.inShard;
  }

  /** Whether this module runs on a para chain. */
  get isPara(): boolean {
    return this.paraTitle !== undefined;
  }

  check(tx: Uint8Array): CheckResult {
    const d = decodeAccountTx(tx);
    if (!d.ok) return { ok: false, code: "MALFORMED", reason: `${d.code}: ${d.reason}` };
    const t = d.tx;
    switch (t.op) {
      case "mint":
        return { ok: false, code: "MINT_AFTER_GENESIS", reason: "mints exist only in a genesis block" };
      case "deposit":
        // A para chain credits deposits the main chain packed for it; clients submit them to the main chain.
        if (this.isPara) return { ok: false, code: "WRONG_CHAIN", reason: "deposits are submitted to the main chain" };
        if (!this.titles.has(t.title)) return { ok: false, code: "UNKNOWN_TITLE", reason: `no para chain "${t.title}" is registered on this chain` };
        break;
      case "withdraw":
        // On the main chain a withdrawal arrives wrapped in a para tx (0x21) and executes on its para chain.
        if (!this.isPara) return { ok: false, code: "WRONG_CHAIN", reason: "a withdrawal executes on its para chain (submit it wrapped in a para tx)" };
        if (t.title !== this.paraTitle) return { ok: false, code: "WRONG_TITLE", reason: `this para chain is "${this.paraTitle}"` };
        break;
      case "transfer":
        if (!this.local(t.from) || !this.local(t.to)) return { ok: false, code: "WRONG_SHARD", reason: "both accounts of a transfer must live on this shard (use a cross-shard transfer)" };
        break;
    }
    if (!this.verifySignature(tx, t)) return { ok: false, code: "BAD_SIGNATURE", reason: "the signature does not verify for this chain's id" };
    return OK;
  }

  deliver(tx: Uint8Array, _index: number, ctx: BlockContext): DeliverResult {
    const d = decodeAccountTx(tx);
    if (!d.ok) return fail("MALFORMED");
    const t = d.tx;
    switch (t.op) {
      case "transfer":
        return this.transfer(tx, t);
      case "deposit":
        return this.isPara ? this.creditDeposit(t) : this.lockDeposit(tx, t);
      case "withdraw":
        return this.isPara ? this.burnWithdrawal(tx, t) : fail("WRONG_CHAIN");
      case "mint":
        if (ctx.height !== 0) return fail("MINT_AFTER_GENESIS");
        if (!this.local(t.from)) return fail("WRONG_SHARD");
        return this.credit(t.from, t.amount) ? OK : fail("OVERFLOW");
    }
  }

  /** The committed state of an account (zero balance and nonce when absent). */
  account(publicKey: Uint8Array): AccountState {
    if (publicKey.length !== PUBLIC_KEY_BYTES) throw new AccountsError("BAD_ARGUMENT", `a public key is ${PUBLIC_KEY_BYTES} bytes`);
    const v = this.state.query(accountKey(publicKey));
    return v === undefined ? ZERO : decodeAccount(v);
  }

  /** The committed escrow of a para chain's title. */
  escrow(title: string): number {
    return readAmount(this.state.query(escrowKey(title)));
  }

  /** The committed supply: Σ balances on this chain, escrows excluded. */
  supply(): number {
    return readAmount(this.state.query(SUPPLY_KEY));
  }

  /** The registered titles (main chain), in registration order. */
  registeredTitles(): string[] {
    return [...this.titles];
  }

  /**
   * During a block (the paracross module, when a para height is done): moves `amount` of `title`'s escrow to `to`.
   * False, moving nothing, when the escrow holds less (only a dishonest para quorum can ask for that: it must not stop
   * the main chain). Throws AccountsError when the credit overflows the supply — a corrupt state.
   */
  releaseEscrow(title: string, to: Uint8Array, amount: number): boolean {
    if (to.length !== PUBLIC_KEY_BYTES || !Number.isSafeInteger(amount) || amount < 1) throw new AccountsError("BAD_ARGUMENT", "releaseEscrow wants a 32-byte key and an amount in [1, 2^53)");
    const key = escrowKey(title);
    const held = readAmount(this.state.get(key));
    if (held < amount) return false;
    putAmount(this.state, key, held - amount);
    if (!this.credit(to, amount)) throw new AccountsError("CORRUPT_STATE", "crediting a released escrow overflows the supply");
    return true;
  }

  /**
   * During a block, for a cross-shard input whose signature the caller verified (module xshard): checks the nonce and
   * the funds, then debits the account and bumps its nonce; the amount leaves this chain's supply (it is held in the
   * transfer's escrow). Null on success, else the code (nothing written).
   */
  debitInput(from: Uint8Array, nonce: number, amount: number): AccountsCode | null {
    if (!this.local(from)) return "WRONG_SHARD";
    const r = this.debit(from, nonce, amount);
    if (r !== null) return r;
    return this.addSupply(-amount) ? null : "OVERFLOW";
  }

  /** During a block: credits `amount` that enters this chain's supply (a cross-shard credit or refund). False on overflow. */
  creditIncoming(to: Uint8Array, amount: number): boolean {
    if (to.length !== PUBLIC_KEY_BYTES || !Number.isSafeInteger(amount) || amount < 1) throw new AccountsError("BAD_ARGUMENT", "creditIncoming wants a 32-byte key and an amount in [1, 2^53)");
    return this.credit(to, amount);
  }

  private local(publicKey: Uint8Array): boolean {
    return this.inShard === undefined || this.inShard(publicKey);
  }

  private transfer(tx: Uint8Array, t: AccountTx): DeliverResult {
    if (!this.local(t.from) || !this.local(t.to)) return fail("WRONG_SHARD");
    const sender = this.debitSigned(tx, t);
    if (sender !== null) return sender;
    if (!this.credit(t.to, t.amount, false)) return fail("OVERFLOW");
    return OK;
  }

  /** Main chain: sender → escrow of a registered title. */
  private lockDeposit(tx: Uint8Array, t: AccountTx): DeliverResult {
    if (!this.titles.has(t.title)) return fail("UNKNOWN_TITLE");
    const sender = this.debitSigned(tx, t);
    if (sender !== null) return sender;
    const key = escrowKey(t.title);
    const held = readAmount(this.state.get(key));
    if (held + t.amount > MAX_UINT53) return fail("OVERFLOW");
    putAmount(this.state, key, held + t.amount);
    return this.addSupply(-t.amount) ? OK : fail("OVERFLOW");
  }

  /**
   * Para chain: credits the recipient. No signature check: the deposit was signed for the main chain, and a para block
   * packs a deposit only when it succeeded there (packing.ts), so the main chain already checked signature, nonce and
   * funds and locked the amount in this title's escrow.
   */
  private creditDeposit(t: AccountTx): DeliverResult {
    if (t.title !== this.paraTitle) return fail("WRONG_TITLE");
    return this.credit(t.to, t.amount) ? OK : fail("OVERFLOW");
  }

  /** Para chain: burns; the main chain credits `to` from the escrow once this para height is done. */
  private burnWithdrawal(tx: Uint8Array, t: AccountTx): DeliverResult {
    if (t.title !== this.paraTitle) return fail("WRONG_TITLE");
    const sender = this.debitSigned(tx, t);
    if (sender !== null) return sender;
    return this.addSupply(-t.amount) ? OK : fail("OVERFLOW");
  }

  /** Signature, nonce and funds of a signed tx; on success debits the sender and bumps its nonce (supply unchanged). */
  private debitSigned(tx: Uint8Array, t: AccountTx): DeliverResult | null {
    if (!this.verifySignature(tx, t)) return fail("BAD_SIGNATURE");
    const r = this.debit(t.from, t.nonce, t.amount);
    return r === null ? null : fail(r);
  }

  private debit(from: Uint8Array, nonce: number, amount: number): AccountsCode | null {
    const key = accountKey(from);
    const v = this.state.get(key);
    const a = v === undefined ? ZERO : decodeAccount(v);
    if (nonce !== a.nonce) return "BAD_NONCE";
    if (a.balance < amount) return "INSUFFICIENT_FUNDS";
    if (a.nonce === MAX_UINT53) return "OVERFLOW";
    this.state.put(key, encodeAccount(a.balance - amount, a.nonce + 1));
    return null;
  }

  /** Adds `amount` to an account (and to the supply unless `mint` is false); false on overflow (nothing written). */
  private credit(to: Uint8Array, amount: number, mint = true): boolean {
    const key = accountKey(to);
    const v = this.state.get(key);
    const a = v === undefined ? ZERO : decodeAccount(v);
    if (a.balance + amount > MAX_UINT53) return false;
    if (mint && !this.addSupply(amount)) return false;
    this.state.put(key, encodeAccount(a.balance + amount, a.nonce));
    return true;
  }

  private addSupply(delta: number): boolean {
    const s = readAmount(this.state.get(SUPPLY_KEY)) + delta;
    if (s < 0 || s > MAX_UINT53) return false;
    putAmount(this.state, SUPPLY_KEY, s);
    return true;
  }

  private verifySignature(tx: Uint8Array, t: AccountTx): boolean {
    const k = bytesKey(tx);
    if (this.verified.get(k) !== undefined) return true;
    const ok = this.verifier.verify(t.from, signingMessage(this.chainId, t.body), t.signature);
    if (ok) this.verified.set(k, true);
    return ok;
  }
}

function fail(code: AccountsCode): DeliverResult {
  return { ok: false, code };
}

function accountKey(publicKey: Uint8Array): Uint8Array {
  const k = new Uint8Array(1 + PUBLIC_KEY_BYTES);
  k[0] = ACCOUNT_PREFIX;
  k.set(publicKey, 1);
  return k;
}

function escrowKey(title: string): Uint8Array {
  const t = utf8(title);
  const k = new Uint8Array(1 + t.length);
  k[0] = ESCROW_PREFIX;
  k.set(t, 1);
  return k;
}

function encodeAccount(balance: number, nonce: number): Uint8Array {
  const out = new Uint8Array(16);
  const dv = new DataView(out.buffer);
  writeU64BE(dv, 0, balance);
  writeU64BE(dv, 8, nonce);
  return out;
}

function decodeAccount(v: Uint8Array): AccountState {
  if (v.length !== 16) throw new AccountsError("CORRUPT_STATE", "an account record is 16 bytes");
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  return { balance: readU64BE(dv, 0), nonce: readU64BE(dv, 8) };
}

function readAmount(v: Uint8Array | undefined): number {
  if (v === undefined) return 0;
  if (v.length !== 8) throw new AccountsError("CORRUPT_STATE", "an amount record is 8 bytes");
  return readU64BE(new DataView(v.buffer, v.byteOffset, v.byteLength), 0);
}

function putAmount(state: NamespacedState, key: Uint8Array, amount: number): void {
  const out = new Uint8Array(8);
  writeU64BE(new DataView(out.buffer), 0, amount);
  state.put(key, out);
}
