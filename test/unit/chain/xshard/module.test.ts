import { before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { loadBlsBackend } from "../../../../src/crypto/bls/backend.js";
import type { BlsBackend } from "../../../../src/crypto/bls/backend.js";
import { decodeImport, encodeImport, XSHARD_DOMAIN } from "../../../../src/chain/app/xshard/format.js";
import { encodeCommitProofRecord } from "../../../../src/chain/store/records.js";
import { accountTransfer, makeNetwork, NETWORK_ID, transferTx } from "./harness.js";
import type { Network } from "./harness.js";

let bls: BlsBackend;
before(async () => {
  bls = await loadBlsBackend("blst");
});

// Independent oracle: SHA-256 and RFC 6962 hashing from node:crypto, written out here.
const H = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const leaf = (d: Uint8Array) => H(Uint8Array.of(0), d);
const node = (l: Uint8Array, r: Uint8Array) => H(Uint8Array.of(1), l, r);
const u16 = (v: number) => Uint8Array.of(v >> 8, v & 0xff);
const u64 = (v: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(v));
  return b;
};

function balance(net: Network, s: number, pub: Uint8Array): number {
  return net.shards[s]!.built.accounts!.account(pub).balance;
}

/** Σ supply + Σ escrowed − Σ imported over all shards (the module's supply identity). */
function networkTotal(net: Network): number {
  let t = 0;
  for (const sh of net.shards) {
    const x = sh.built.xshard!.totals();
    t += sh.built.accounts!.supply() + x.escrowed - x.imported;
  }
  return t;
}

function xidOf(tx: Uint8Array): Uint8Array {
  const bodyLen = tx.length - tx[36]! * 64;
  const domain = new TextEncoder().encode(XSHARD_DOMAIN);
  return H(domain, Uint8Array.of(NETWORK_ID.length), NETWORK_ID, tx.subarray(0, bodyLen));
}

test("xshard: a transfer from shard 0 to shard 1 is escrowed, proven and credited once; the state root seals the outbox", () => {
  const net0 = makeNetwork(bls, 2, []);
  const alice = net0.account(0);
  const bob = net0.account(1);
  const net = makeNetwork(bls, 2, [{ pub: alice.publicKey, shard: 0, balance: 1_000 }]);
  const tx = transferTx(1, bob.publicKey, [{ shard: 0, from: alice.publicKey, nonce: 0, amount: 100, key: alice }]);
  assert.deepEqual(net.shards[0]!.built.app.check(tx), { ok: true });
  // Shard 1 holds no input: refused at submission.
  assert.equal((net.shards[1]!.built.app.check(tx) as { code: string }).code, "NOT_AN_INPUT");
  assert.deepEqual(net.execute(0, [tx]), [{ ok: true }]);
  assert.equal(balance(net, 0, alice.publicKey), 900);
  const xid = xidOf(tx);
  assert.deepEqual(net.shards[0]!.built.xshard!.status(xid), { leg: "escrowed", output: null });

  // The LD record, written out by hand, and the sealed root header 2 carries (oracle above).
  const record = new Uint8Array([0x01, ...xid, ...u16(0), ...u16(1), ...bob.publicKey, ...u64(100), 1, ...u16(0)]);
  const outbox = net.shards[0]!.built.xshard!.outboxAt(1)!;
  assert.deepEqual(outbox.records[1], [record]);
  const empty = H(new Uint8Array(0));
  const outboxRoot = node(leaf(empty), leaf(leaf(record)));
  assert.deepEqual(net.shards[0]!.headers[2]!.parentStateRoot, node(leaf(outbox.treeRoot), leaf(outboxRoot)));
  // The store's state root recomputed from the stored state matches the sealed one.
  assert.deepEqual(net.shards[0]!.built.app.stateRoot(net.shards[0]!.state), net.shards[0]!.headers[2]!.parentStateRoot);

  const [imp] = net.imports(0, 1, 1);
  assert.ok(imp !== undefined);
  assert.deepEqual(net.shards[1]!.built.app.check(imp), { ok: true });
  assert.deepEqual(net.execute(1, [imp]), [{ ok: true }]);
  assert.equal(balance(net, 1, bob.publicKey), 100);
  assert.deepEqual(net.shards[1]!.built.xshard!.status(xid).output, { status: "credited", arrived: 1, sum: 100 });
  // A replay: refused at submission and failed in a block; nothing credited twice.
  assert.equal((net.shards[1]!.built.app.check(imp) as { code: string }).code, "REPLAYED");
  assert.deepEqual(net.execute(1, [imp]), [{ ok: false, code: "REPLAYED" }]);
  assert.equal(balance(net, 1, bob.publicKey), 100);
  // The same transfer again on shard 0: a duplicate, not a second debit.
  assert.deepEqual(net.execute(0, [tx]), [{ ok: false, code: "DUPLICATE" }]);
  assert.equal(balance(net, 0, alice.publicKey), 900);
  assert.equal(networkTotal(net), 1_000);
  // Settled: escrowed on shard 0 equals imported on shard 1.
  assert.equal(net.shards[0]!.built.xshard!.totals().escrowed, net.shards[1]!.built.xshard!.totals().imported);
});

test("xshard: two input shards, one lacking funds — CL refunds the other input and the output never credits", () => {
  const probe = makeNetwork(bls, 3, []);
  const a = probe.account(0);
  const b = probe.account(1);
  const c = probe.account(2);
  const net = makeNetwork(bls, 3, [
    { pub: a.publicKey, shard: 0, balance: 500 },
    { pub: b.publicKey, shard: 1, balance: 10 },
  ]);
  const tx = transferTx(2, c.publicKey, [
    { shard: 0, from: a.publicKey, nonce: 0, amount: 200, key: a },
    { shard: 1, from: b.publicKey, nonce: 0, amount: 50, key: b },
  ]);
  assert.deepEqual(net.execute(0, [tx]), [{ ok: true }]);
  assert.equal(balance(net, 0, a.publicKey), 300);
  // Shard 1: b has 10 < 50 — the leg fails (result bit set) and a CL is bound for shards 0 and 2.
  assert.deepEqual(net.execute(1, [tx]), [{ ok: false, code: "INSUFFICIENT_FUNDS" }]);
  assert.equal(balance(net, 1, b.publicKey), 10);
  const xid = xidOf(tx);
  assert.equal(net.shards[1]!.built.xshard!.status(xid).leg, "invalid");
  // Shard 0's LD reaches shard 2 first: collected, not credited.
  assert.deepEqual(net.execute(2, net.imports(0, 1, 2)), [{ ok: true }]);
  assert.deepEqual(net.shards[2]!.built.xshard!.status(xid).output, { status: "collecting", arrived: 1, sum: 200 });
  // The CL to shard 2 aborts; to shard 0 refunds.
  assert.deepEqual(net.execute(2, net.imports(1, 1, 2)), [{ ok: true }]);
  assert.equal(net.shards[2]!.built.xshard!.status(xid).output!.status, "aborted");
  assert.deepEqual(net.execute(0, net.imports(1, 1, 0)), [{ ok: true }]);
  assert.equal(balance(net, 0, a.publicKey), 500);
  assert.equal(net.shards[0]!.built.xshard!.status(xid).leg, "refunded");
  assert.equal(balance(net, 2, c.publicKey), 0);
  // Retrying the invalid leg on shard 1 after b got funds: already decided.
  assert.deepEqual(net.execute(1, [tx]), [{ ok: false, code: "DUPLICATE" }]);
  assert.equal(networkTotal(net), 510);
  for (const sh of net.shards) assert.equal(sh.built.xshard!.totals().escrowed - sh.built.xshard!.totals().imported, 0);
});

test("xshard: a CL that arrives before an input shard's legs makes them fail ABORTED, debiting nothing", () => {
  const probe = makeNetwork(bls, 2, []);
  const a = probe.account(0);
  const b = probe.account(1);
  const net = makeNetwork(bls, 2, [{ pub: a.publicKey, shard: 0, balance: 100 }]);
  // Inputs on both shards; b (shard 1) has nothing, so shard 1's leg is invalid; the output is shard 0.
  const tx = transferTx(0, a.publicKey, [
    { shard: 0, from: a.publicKey, nonce: 0, amount: 60, key: a },
    { shard: 1, from: b.publicKey, nonce: 0, amount: 5, key: b },
  ]);
  assert.deepEqual(net.execute(1, [tx]), [{ ok: false, code: "INSUFFICIENT_FUNDS" }]);
  assert.deepEqual(net.execute(0, net.imports(1, 1, 0)), [{ ok: true }]);
  assert.deepEqual(net.execute(0, [tx]), [{ ok: false, code: "ABORTED" }]);
  assert.equal(balance(net, 0, a.publicKey), 100);
  assert.equal(networkTotal(net), 100);
});

test("xshard: forged and misdirected imports are refused with typed codes", () => {
  const probe = makeNetwork(bls, 3, []);
  const a = probe.account(0);
  const b = probe.account(1);
  const net = makeNetwork(bls, 3, [{ pub: a.publicKey, shard: 0, balance: 100 }]);
  const tx = transferTx(1, b.publicKey, [{ shard: 0, from: a.publicKey, nonce: 0, amount: 7, key: a }]);
  net.execute(0, [tx]);
  const [good] = net.imports(0, 1, 1);
  const x = decodeImport(good!);
  assert.ok(x.ok);
  const code = (s: number, bytes: Uint8Array) => {
    const r = net.shards[s]!.built.app.check(bytes);
    return r.ok ? "ok" : r.code;
  };
  assert.equal(code(1, good!), "ok");
  // A flipped byte in the record (the amount): no longer under the destination root.
  const rec = x.value.items[0]!.record.slice();
  rec[76] = rec[76]! ^ 1;
  assert.equal(code(1, encodeImport({ ...x.value, items: [{ ...x.value.items[0]!, record: rec }] })), "BAD_INCLUSION");
  // Another tree root: the seal no longer matches the certified state root.
  const tree = x.value.treeRoot.slice();
  tree[0] = tree[0]! ^ 1;
  assert.equal(code(1, encodeImport({ ...x.value, treeRoot: tree })), "BAD_SEAL");
  // The source's last QC signed by 2 of 4 validators: below quorum.
  const sh0 = net.shards[0]!;
  const weak = sh0.qcFor(sh0.headers[2]!.view, sh0.qcs[2]!.blockHash, [0, 1]);
  const weakProof = encodeCommitProofRecord({ headers: [sh0.headers[1]!, sh0.headers[2]!], qcs: [sh0.qcs[1]!, weak] });
  assert.equal(code(1, encodeImport({ ...x.value, proof: weakProof })), "BAD_COMMIT_PROOF");
  // Truncated proof bytes.
  assert.equal(code(1, encodeImport({ ...x.value, proof: x.value.proof.subarray(0, 40) })), "BAD_COMMIT_PROOF");
  // Shard 1's records sent to shard 2: its destination root is not leaf 2 of the outbox.
  assert.equal(code(2, good!), "BAD_SEAL");
  // Claimed to come from shard 2 (whose validators did not sign it).
  assert.equal(code(1, encodeImport({ ...x.value, source: 2 })), "WRONG_SOURCE");
  // Back to its own source.
  assert.equal(code(0, good!), "WRONG_SOURCE");
  // A forged import delivered in a block (a Byzantine proposer): fails, credits nothing.
  assert.deepEqual(net.execute(1, [encodeImport({ ...x.value, treeRoot: tree })]), [{ ok: false, code: "BAD_SEAL" }]);
  assert.equal(balance(net, 1, b.publicKey), 0);
  // Malformed bytes never throw.
  for (const cut of [2, 10, 50, good!.length - 1]) assert.equal(code(1, good!.subarray(0, cut)), "MALFORMED");
});

test("xshard: accounts live on their shard — intra-shard transfers to another shard's account and wrong-shard inputs are refused", () => {
  const probe = makeNetwork(bls, 2, []);
  const a = probe.account(0);
  const a2 = probe.account(0);
  const b = probe.account(1);
  const net = makeNetwork(bls, 2, [{ pub: a.publicKey, shard: 0, balance: 50 }]);
  assert.deepEqual(net.execute(0, [accountTransfer(net, 0, a, 0, a2.publicKey, 5)]), [{ ok: true }]);
  assert.equal((net.shards[0]!.built.app.check(accountTransfer(net, 0, a, 1, b.publicKey, 5)) as { code: string }).code, "WRONG_SHARD");
  assert.deepEqual(net.execute(0, [accountTransfer(net, 0, a, 1, b.publicKey, 5)]), [{ ok: false, code: "WRONG_SHARD" }]);
  // An input that claims the wrong shard for its account.
  const lying = transferTx(1, b.publicKey, [{ shard: 1, from: a.publicKey, nonce: 1, amount: 5, key: a }]);
  assert.equal((net.shards[1]!.built.app.check(lying) as { code: string }).code, "WRONG_SHARD");
  // A bad signature: refused, and in a block fails without a CL (no record).
  const good = transferTx(1, b.publicKey, [{ shard: 0, from: a.publicKey, nonce: 1, amount: 5, key: a }]);
  const forged = good.slice();
  forged[forged.length - 1] = forged[forged.length - 1]! ^ 1;
  assert.equal((net.shards[0]!.built.app.check(forged) as { code: string }).code, "BAD_SIGNATURE");
  assert.deepEqual(net.execute(0, [forged]), [{ ok: false, code: "BAD_SIGNATURE" }]);
  assert.equal(net.shards[0]!.built.xshard!.outboxAt(2), null);
});

test("xshard: the network tx binds the genesis block to the network section — only at height 0, only with this shard's digest", async () => {
  const { encodeNetworkTx } = await import("../../../../src/chain/app/xshard/format.js");
  const net = makeNetwork(bls, 2, []);
  const x = net.shards[0]!.built.xshard!;
  // Height 0 of each shard ran it (the harness checks); a later block refuses it, and so does submission.
  assert.deepEqual(net.execute(0, [x.networkTx()]), [{ ok: false, code: "NETWORK_AFTER_GENESIS" }]);
  assert.equal((net.shards[0]!.built.app.check(x.networkTx()) as { code: string }).code, "NETWORK_AFTER_GENESIS");
  // Shard 1's digest differs (it names itself), and a fresh genesis with another shard's digest fails.
  assert.notDeepEqual(x.networkTx(), net.shards[1]!.built.xshard!.networkTx());
  const other = makeNetwork(bls, 2, []);
  const fresh = other.shards[0]!;
  fresh.built.app.beginBlock(fresh.state, { height: 0, txCount: 1, txs: [encodeNetworkTx(new Uint8Array(32))] });
  assert.deepEqual(fresh.built.app.deliver(encodeNetworkTx(new Uint8Array(32)), 0), { ok: false, code: "WRONG_NETWORK" });
  fresh.built.app.commit();
});

test("xshard: a transfer leg inside a paracross group that fails leaves no record, no debit and can run again; an invalid leg still decides", async () => {
  const { encodeGroupTx } = await import("../../../../src/chain/app/paracross/format.js");
  const probe = makeNetwork(bls, 2, []);
  const a = probe.account(0);
  const a2 = probe.account(0);
  const b = probe.account(1);
  const net = makeNetwork(bls, 2, [{ pub: a.publicKey, shard: 0, balance: 100 }], ["accounts", "paracross", "xshard"]);
  const tx = transferTx(1, b.publicKey, [{ shard: 0, from: a.publicKey, nonce: 0, amount: 40, key: a }]);
  // The second leg overdraws a2 (nothing there): the group fails, and with it the transfer leg.
  const overdraw = accountTransfer(net, 0, a2, 0, a.publicKey, 1);
  assert.deepEqual(net.execute(0, [encodeGroupTx([tx, overdraw])]), [{ ok: false, code: "GROUP_LEG_FAILED:INSUFFICIENT_FUNDS" }]);
  assert.equal(net.shards[0]!.built.xshard!.outboxAt(1), null);
  assert.equal(balance(net, 0, a.publicKey), 100);
  assert.equal(net.shards[0]!.built.xshard!.status(xidOf(tx)).leg, null);
  assert.equal(net.shards[0]!.built.xshard!.totals().escrowed, 0);
  // On its own it runs once: one LD.
  assert.deepEqual(net.execute(0, [tx]), [{ ok: true }]);
  assert.equal(net.shards[0]!.built.xshard!.outboxAt(2)!.records[1]!.length, 1);
  // An invalid leg inside a failing group still decides the transfer invalid (a CL, which only ever refunds).
  const poor = transferTx(1, b.publicKey, [{ shard: 0, from: a2.publicKey, nonce: 0, amount: 5, key: a2 }]);
  assert.deepEqual(net.execute(0, [encodeGroupTx([poor, accountTransfer(net, 0, a, 1, a2.publicKey, 1)])]), [{ ok: false, code: "GROUP_LEG_FAILED:INSUFFICIENT_FUNDS" }]);
  assert.equal(net.shards[0]!.built.xshard!.status(xidOf(poor)).leg, "invalid");
  assert.equal(net.shards[0]!.built.xshard!.outboxAt(3)!.records[1]![0]![0], 0x02);
  assert.equal(networkTotal(net), 100);
});

test("xshard: a record that cannot apply (an overflowing credit) does not hold back the other records of its import", () => {
  const probe = makeNetwork(bls, 2, []);
  const a = probe.account(0);
  const b = probe.account(1);
  const c = probe.account(1);
  const net = makeNetwork(bls, 2, [{ pub: a.publicKey, shard: 0, balance: 2 ** 53 - 1 }]);
  // c already holds 2^52: a credit of 2^52 more overflows; b's credit of 3 does not.
  const sh1 = net.shards[1]!;
  sh1.built.app.beginBlock(sh1.state, { height: 1, txCount: 0, txs: [] });
  sh1.built.accounts!.creditIncoming(c.publicKey, 2 ** 52);
  sh1.built.app.commit();
  sh1.results.push([]);
  const toC = transferTx(1, c.publicKey, [{ shard: 0, from: a.publicKey, nonce: 0, amount: 2 ** 52, key: a }]);
  const toB = transferTx(1, b.publicKey, [{ shard: 0, from: a.publicKey, nonce: 1, amount: 3, key: a }]);
  assert.deepEqual(net.execute(0, [toC, toB]), [{ ok: true }, { ok: true }]);
  const [imp] = net.imports(0, 1, 1);
  assert.deepEqual(net.execute(1, [imp!]), [{ ok: true }]);
  assert.equal(balance(net, 1, b.publicKey), 3);
  assert.equal(balance(net, 1, c.publicKey), 2 ** 52);
  assert.deepEqual(sh1.built.xshard!.status(xidOf(toC)).output, null);
});
