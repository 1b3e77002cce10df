import { test } from "node:test";
import assert from "node:assert/strict";
import { ed25519 as noble } from "@noble/curves/ed25519.js";
import { ModularApplication } from "../../../../src/chain/app/modular.js";
import { AccountsModule } from "../../../../src/chain/app/accounts/module.js";
import { ACCOUNT_TX_TAG, attachSignature, encodeAccountTxBody, signingMessage } from "../../../../src/chain/app/accounts/accountTx.js";
import type { AccountTxInput } from "../../../../src/chain/app/accounts/accountTx.js";
import { buildApplication } from "../../../../src/chain/app/build.js";
import { toHex, utf8 } from "../../../../src/util/bytes.js";
import { seededRng } from "../../../support/seed.js";
import { MapState } from "../../../../src/chain/app/mapState.js";

const MAIN_ID = utf8("quire-main");
const PARA_ID = utf8("quire-para-demo");

interface Key {
  readonly secret: Uint8Array;
  readonly pub: Uint8Array;
}
function key(seed: number): Key {
  const secret = new Uint8Array(32).fill(seed);
  return { secret, pub: noble.getPublicKey(secret) };
}
/** A tx signed by @noble/curves (the oracle), not by the code under test. */
function signed(k: Key, input: Omit<AccountTxInput, "from">, chainId = MAIN_ID): Uint8Array {
  const body = encodeAccountTxBody({ ...input, from: k.pub });
  return attachSignature(body, noble.sign(signingMessage(chainId, body), k.secret));
}
const mint = (pub: Uint8Array, amount: number): Uint8Array => encodeAccountTxBody({ op: "mint", from: pub, nonce: 0, amount });

class Chain {
  readonly state = new MapState();
  readonly app: ModularApplication;
  readonly accounts: AccountsModule;
  height = 0;
  constructor(opts: { paraTitle?: string; titles?: string[]; chainId?: Uint8Array } = {}) {
    this.app = new ModularApplication({ bucketBits: 4 }, { committed: this.state });
    const chainId = opts.chainId ?? (opts.paraTitle === undefined ? MAIN_ID : PARA_ID);
    this.accounts = this.app.use(new AccountsModule({ chainId, ...opts }, { state: this.app.namespace(ACCOUNT_TX_TAG) }));
  }
  /** Runs one block at the next height (the first is genesis, height 0); returns each tx's code (null = ok). */
  block(txs: Uint8Array[]): { codes: (string | null)[]; root: Uint8Array } {
    this.app.beginBlock(this.state, { height: this.height++, txCount: txs.length, txs });
    const codes = txs.map((tx, i) => {
      const r = this.app.deliver(tx, i);
      return r.ok ? null : r.code;
    });
    return { codes, root: this.app.commit() };
  }
}

const alice = key(1);
const bob = key(2);

test("accounts: transfer moves funds and bumps the nonce; replay, wrong nonce, short funds and foreign chain ids fail", () => {
  const c = new Chain();
  assert.deepEqual(c.block([mint(alice.pub, 100)]).codes, [null]);
  assert.deepEqual(c.accounts.account(alice.pub), { balance: 100, nonce: 0 });
  const t0 = signed(alice, { op: "transfer", nonce: 0, amount: 30, to: bob.pub });
  const r = c.block([
    t0,
    t0, // replay within the block (the executor also refuses a repeated id; the nonce alone stops it here)
    signed(alice, { op: "transfer", nonce: 5, amount: 1, to: bob.pub }),
    signed(alice, { op: "transfer", nonce: 1, amount: 71, to: bob.pub }),
    signed(alice, { op: "transfer", nonce: 1, amount: 1, to: bob.pub }, PARA_ID),
    signed(bob, { op: "transfer", nonce: 0, amount: 30, to: bob.pub }), // to self
  ]);
  assert.deepEqual(r.codes, [null, "BAD_NONCE", "BAD_NONCE", "INSUFFICIENT_FUNDS", "BAD_SIGNATURE", null]);
  assert.deepEqual(c.accounts.account(alice.pub), { balance: 70, nonce: 1 });
  assert.deepEqual(c.accounts.account(bob.pub), { balance: 30, nonce: 1 });
  assert.equal(c.accounts.supply(), 100);
  assert.deepEqual(c.block([t0]).codes, ["BAD_NONCE"], "a replay in a later block fails");
});

test("accounts: check refuses bad signatures, other chains' signatures, mints and malformed bytes", () => {
  const c = new Chain();
  const good = signed(alice, { op: "transfer", nonce: 0, amount: 1, to: bob.pub });
  assert.deepEqual(c.app.check(good), { ok: true });
  const foreign = signed(alice, { op: "transfer", nonce: 0, amount: 1, to: bob.pub }, PARA_ID);
  assert.equal((c.app.check(foreign) as { code: string }).code, "BAD_SIGNATURE");
  const tampered = good.slice();
  tampered[45]! ^= 1; // the amount
  assert.equal((c.app.check(tampered) as { code: string }).code, "BAD_SIGNATURE");
  assert.equal((c.app.check(mint(alice.pub, 5)) as { code: string }).code, "MINT_AFTER_GENESIS");
  assert.equal((c.app.check(good.subarray(0, 90)) as { code: string }).code, "MALFORMED");
  const w = signed(alice, { op: "withdraw", nonce: 0, amount: 1, to: bob.pub, title: "demo" });
  assert.equal((c.app.check(w) as { code: string }).code, "WRONG_CHAIN");
  const d = signed(alice, { op: "deposit", nonce: 0, amount: 1, to: bob.pub, title: "nope" });
  assert.equal((c.app.check(d) as { code: string }).code, "UNKNOWN_TITLE");
  const para = new Chain({ paraTitle: "demo" });
  const wOther = signed(alice, { op: "withdraw", nonce: 0, amount: 1, to: bob.pub, title: "other" }, PARA_ID);
  assert.equal((para.app.check(wOther) as { code: string }).code, "WRONG_TITLE");
});

test("accounts: failed txs write nothing (the state root is unchanged)", () => {
  const a = new Chain();
  const b = new Chain();
  a.block([mint(alice.pub, 50)]);
  b.block([mint(alice.pub, 50)]);
  const failing = [
    signed(alice, { op: "transfer", nonce: 0, amount: 51, to: bob.pub }),
    signed(alice, { op: "transfer", nonce: 3, amount: 1, to: bob.pub }),
    signed(alice, { op: "deposit", nonce: 0, amount: 1, to: bob.pub, title: "nope" }),
    mint(bob.pub, 5),
    Uint8Array.of(ACCOUNT_TX_TAG, 9, 9),
  ];
  const ra = a.block(failing);
  assert.deepEqual(ra.codes, ["INSUFFICIENT_FUNDS", "BAD_NONCE", "UNKNOWN_TITLE", "MINT_AFTER_GENESIS", "MALFORMED"]);
  assert.deepEqual(ra.root, b.block([]).root);
});

test("accounts: mint only at height 0; a mint that overflows a balance fails", () => {
  const c = new Chain();
  const r = c.block([mint(alice.pub, Number.MAX_SAFE_INTEGER), mint(alice.pub, 1), mint(bob.pub, 7)]);
  assert.deepEqual(r.codes, [null, "OVERFLOW", "OVERFLOW"], "the supply is bounded by 2^53 - 1 too");
  assert.deepEqual(c.block([mint(bob.pub, 7)]).codes, ["MINT_AFTER_GENESIS"]);
  assert.equal(c.accounts.supply(), Number.MAX_SAFE_INTEGER);
});

test("accounts: deposit locks into the escrow on the main chain and credits on the para chain; withdraw burns on the para chain", () => {
  const main = new Chain({ titles: ["demo"] });
  main.block([mint(alice.pub, 100)]);
  const dep = signed(alice, { op: "deposit", nonce: 0, amount: 40, to: bob.pub, title: "demo" });
  const r = main.block([dep, signed(alice, { op: "deposit", nonce: 1, amount: 1, to: bob.pub, title: "other" }), signed(alice, { op: "withdraw", nonce: 1, amount: 1, to: bob.pub, title: "demo" }, PARA_ID)]);
  assert.deepEqual(r.codes, [null, "UNKNOWN_TITLE", "WRONG_CHAIN"]);
  assert.deepEqual(main.accounts.account(alice.pub), { balance: 60, nonce: 1 });
  assert.equal(main.accounts.escrow("demo"), 40);
  assert.equal(main.accounts.supply(), 60, "escrows are not in the supply");

  const para = new Chain({ paraTitle: "demo" });
  para.block([]);
  const wrongTitle = signed(alice, { op: "deposit", nonce: 1, amount: 5, to: bob.pub, title: "other" });
  assert.deepEqual(para.block([dep, wrongTitle]).codes, [null, "WRONG_TITLE"]);
  assert.deepEqual(para.accounts.account(bob.pub), { balance: 40, nonce: 0 });
  assert.equal(para.accounts.supply(), 40);
  assert.equal((para.app.check(dep) as { code: string }).code, "WRONG_CHAIN", "clients submit deposits to the main chain");

  const w = signed(bob, { op: "withdraw", nonce: 0, amount: 15, to: alice.pub, title: "demo" }, PARA_ID);
  assert.deepEqual(para.app.check(w), { ok: true });
  const wMainSig = signed(bob, { op: "withdraw", nonce: 0, amount: 15, to: alice.pub, title: "demo" }, MAIN_ID);
  const wOther = signed(bob, { op: "withdraw", nonce: 0, amount: 15, to: alice.pub, title: "other" }, PARA_ID);
  assert.deepEqual(para.block([wMainSig, wOther, w]).codes, ["BAD_SIGNATURE", "WRONG_TITLE", null]);
  assert.deepEqual(para.accounts.account(bob.pub), { balance: 25, nonce: 1 });
  assert.equal(para.accounts.supply(), 25);

  // The main chain's paracross module releases the escrow when that para height is done.
  main.app.beginBlock(main.state, { height: main.height++, txCount: 0, txs: [] });
  main.accounts.releaseEscrow("demo", alice.pub, 15);
  // Short: nothing moves, nothing throws (a dishonest para quorum must not stop the main chain).
  assert.equal(main.accounts.releaseEscrow("demo", alice.pub, 26), false);
  main.app.commit();
  assert.equal(main.accounts.escrow("demo"), 25);
  assert.deepEqual(main.accounts.account(alice.pub), { balance: 75, nonce: 1 });
  assert.equal(main.accounts.supply() + main.accounts.escrow("demo"), 100);
});

test("accounts: supply is conserved over random transfers; balances match a Map model", (t) => {
  const rng = seededRng(t);
  const keys = [1, 2, 3, 4, 5].map(key);
  const c = new Chain();
  const model = new Map<string, { balance: number; nonce: number }>();
  const genesis = keys.map((k) => {
    const amount = 1 + rng.int(1000);
    model.set(toHex(k.pub), { balance: amount, nonce: 0 });
    return mint(k.pub, amount);
  });
  c.block(genesis);
  const total = [...model.values()].reduce((s, a) => s + a.balance, 0);
  for (let b = 0; b < 5; b++) {
    const txs: Uint8Array[] = [];
    const expected: (string | null)[] = [];
    for (let i = 0; i < 20; i++) {
      const from = keys[rng.int(keys.length)]!;
      const to = keys[rng.int(keys.length)]!;
      const m = model.get(toHex(from.pub))!;
      const amount = 1 + rng.int(600);
      const nonce = rng.chance(0.1) ? m.nonce + 1 : m.nonce;
      txs.push(signed(from, { op: "transfer", nonce, amount, to: to.pub }));
      if (nonce !== m.nonce) expected.push("BAD_NONCE");
      else if (m.balance < amount) expected.push("INSUFFICIENT_FUNDS");
      else {
        expected.push(null);
        m.balance -= amount;
        m.nonce++;
        model.get(toHex(to.pub))!.balance += amount;
      }
    }
    assert.deepEqual(c.block(txs).codes, expected);
    assert.equal(c.accounts.supply(), total);
    for (const k of keys) assert.deepEqual(c.accounts.account(k.pub), model.get(toHex(k.pub)));
  }
});

test("accounts: buildApplication wires the module from the spec", () => {
  const state = new MapState();
  const built = buildApplication({ bucketBits: 4, modules: ["kv", "accounts"], chainId: MAIN_ID, paras: [{ title: "demo", nodes: [] }] }, { committed: state });
  assert.ok(built.accounts !== null && built.kv !== null);
  assert.equal(built.accounts.isPara, false);
  assert.deepEqual(built.accounts.registeredTitles(), ["demo"]);
  const para = buildApplication({ bucketBits: 4, modules: ["accounts"], chainId: PARA_ID, paraTitle: "demo" }, { committed: state });
  assert.equal(para.accounts?.isPara, true);
  assert.equal(para.kv, null);
});
