/**
 * Paracross end to end on one network (4 validators, para chain "alpha" of 4 nodes, all real processes):
 * refusals of bad commit txs on the main chain, para nodes started late catching up with contiguous done heights,
 * assets moving main → para → main with the supply invariant checked against the test's own sums after every step,
 * and commit txs lost with the main node they went to (killed) resent until their heights are done.
 *
 * The para nodes reach validator 0 through a relay (support/para.ts) that can lose a commit tx after answering that
 * it took it: a main node that accepted the tx and died before carrying or gossiping it, made deterministic.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { commitSigningBytes, decodeCommitMessage, decodeCommitTx, encodeCommitMessage, encodeCommitTx, encodeParaTx } from "../../src/chain/app/paracross/format.js";
import { loadAccountKeyFile } from "../../src/crypto/accountKeyFile.js";
import { loadBlsBackend } from "../../src/crypto/bls/backend.js";
import { loadKeyFile } from "../../src/crypto/bls/keyFile.js";
import { ed25519Keygen } from "../../src/crypto/ed25519.js";
import type { Ed25519KeyPair } from "../../src/crypto/ed25519.js";
import { defaultHasher } from "../../src/crypto/hash/backends.js";
import { Bitset, encodeBitmap } from "../../src/crypto/bitmap/index.js";
import { FAUCET_BALANCE } from "../../src/node/network.js";
import type { RpcClient } from "../../src/rpc/client.js";
import { spawnQuire, until } from "./support/network.js";
import { assertContiguous, replaceFirstMainRpc, startLossyRelay, committed, doneAtLeast, mainHeight, metricValue, paraHead, paraLogs, signAccountTx, startParaNet, stopParaNets, submit } from "./support/para.js";
import type { LossyRelay, ParaNet } from "./support/para.js";

const TITLE = "alpha";
const LATE_START_HEIGHT = 15;

let net: ParaNet;
let relay: LossyRelay | undefined;
after(async () => {
  await stopParaNets();
  await relay?.close();
});

const hasher = defaultHasher();
let nonceSeq = 1;
function nonce(): Uint8Array {
  const n = new Uint8Array(8);
  new DataView(n.buffer).setUint32(4, nonceSeq++);
  return n;
}

function commitTx(bls: Awaited<ReturnType<typeof loadBlsBackend>>, sk: Parameters<typeof bls.sign>[0], signer: number, message: Uint8Array, signedMessage = message): Uint8Array {
  const signature = bls.signatureToBytes(bls.sign(sk, commitSigningBytes(signedMessage, hasher)), "compressed");
  return encodeCommitTx({ signer, nonce: nonce(), commits: [{ message, signature }] });
}

function message(height: number, mainHeight: number, fill: number): Uint8Array {
  return encodeCommitMessage({
    title: TITLE,
    height,
    mainHeight,
    blockHash: new Uint8Array(32).fill(fill),
    stateRoot: new Uint8Array(32).fill(fill + 1),
    results: encodeBitmap(new Bitset(0)),
    crossTxs: encodeBitmap(new Bitset(0)),
  });
}

async function failsOnMain(tx: Uint8Array, what: string): Promise<void> {
  const id = await submit(net.main[1]!, tx);
  const s = await committed(net, net.main[1]!, id);
  assert.equal(s.ok, false, `${what} must commit failed`);
}

test("refusals on the main chain, then para nodes started late catch up with contiguous done heights", async () => {
  net = await startParaNet({
    validators: 4,
    paras: [{ title: TITLE, nodes: 4, deferred: [0, 1, 2, 3] }],
    prepare: async (layout) => {
      relay = await startLossyRelay(layout.rpcUrls[0]!);
      await replaceFirstMainRpc(layout.dir, TITLE, relay.url);
    },
  });
  const para = net.cluster.paras[0]!;
  const bls = await loadBlsBackend("blst");
  const keys = await Promise.all(para.configFiles.map((_, i) => loadKeyFile(join(para.dir, `node${i}`, "validator.key"), bls)));

  // A signer index beyond the title's 4 nodes: refused at submission by the mempool check, with the typed code.
  const outsider = await net.main[1]!.submitTx(commitTx(bls, keys[0]!.secretKey, 4, message(1, 1, 9)));
  assert.equal(outsider.status, "invalid");
  assert.match((outsider as { reason: string }).reason, /NOT_PARA_NODE/);

  // Forged: node 0's index and key, but the signature is over another message (a valid point, the wrong message); and
  // node 1's index signed with node 0's key. Commit signatures are verified at admission: refused there, typed.
  for (const [tx, what] of [
    [commitTx(bls, keys[0]!.secretKey, 0, message(1, 1, 9), message(1, 1, 10)), "a forged commit"],
    [commitTx(bls, keys[0]!.secretKey, 1, message(1, 1, 9)), "a commit signed with another node's key"],
  ] as const) {
    const r = await net.main[1]!.submitTx(tx);
    assert.equal(r.status, "invalid", what);
    assert.match((r as { reason: string }).reason, /^BAD_SIGNATURE: /, what);
  }
  // A genuine commit far ahead is counted once; the same signer's same commit again, new nonce, is refused.
  // (Its main height, 1, must be below the block that carries it: wait for a few main blocks.)
  await mainHeight(net, 3);
  const ahead = message(500, 1, 7);
  const first = await submit(net.main[1]!, commitTx(bls, keys[0]!.secretKey, 0, ahead));
  assert.equal((await committed(net, net.main[1]!, first)).ok, true, "a well-signed commit of a registered node is accepted");
  await failsOnMain(commitTx(bls, keys[0]!.secretKey, 0, ahead), "a replayed commit");
  assert.deepEqual(await net.main[1]!.paraStatus(TITLE), { title: TITLE, nodes: 4, doneHeight: 0, recordedHeight: 0, holes: [] });

  // Late start: the para nodes start once the main chain passed LATE_START_HEIGHT; they build from startHeight 1.
  await mainHeight(net, LATE_START_HEIGHT);
  const mainAtStart = (await net.main[1]!.status()).committedHeight;
  for (let i = 0; i < 4; i++) para.startDeferred(i);
  // One para block per main block from height 1 (block policy 1): the para head passes the main height at start.
  await until("para nodes caught up", async () => ((await paraHead(net, 0)) >= mainAtStart ? true : undefined), 60_000, () => paraLogs(net));
  const head = await paraHead(net, 0);
  await doneAtLeast(net, TITLE, head);
  const done = await assertContiguous(net, 0);
  assert.ok(done >= mainAtStart);
  // The para nodes' own view of the main chain's done height follows.
  await until("para nodes see done", async () => ((await Promise.all(net.paras[0]!.map((c) => c.status()))).every((s) => s.para !== undefined && s.para.title === TITLE && s.para.doneHeight >= head) ? true : undefined), 30_000);

  // A few done commits verified by the CLI against the main genesis's registered keys.
  for (const h of [1, Math.ceil(done / 2), done]) {
    const p = spawnQuire(["verify", "para-commit", "--genesis", net.cluster.genesisFile, "--rpc", net.cluster.urls[2]!, "--title", TITLE, "--height", String(h)]);
    assert.equal(await p.exit, 0, p.output);
  }
  // The refused and far-ahead commits changed nothing: done height 1 is the para nodes' block, not the forged one.
  assert.notDeepEqual(decodeCommitMessage((await net.main[0]!.paraCommit(TITLE, 1))!.message), decodeCommitMessage(message(1, 1, 9)));

  // A para node takes no txs of its own.
  const res = await fetch(`${para.urls[0]}/v1/tx`, { method: "POST", body: new Uint8Array([1, 2, 3]), headers: { "Content-Type": "application/octet-stream" } });
  assert.equal(res.status, 400);
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, "PARA_SUBMIT_TO_MAIN");
});

test("assets: deposit, para transfer, withdraw credited once done; failed ones move nothing; supply invariant holds", async () => {
  const para = net.cluster.paras[0]!;
  const paraClients = net.paras[0]!;
  const main = net.main[1]!;
  const mainId = (await main.status()).chainId;
  const paraId = (await paraClients[0]!.status()).chainId;
  assert.notEqual(paraId, mainId);
  const faucet = await loadAccountKeyFile(join(net.cluster.dir, "faucet.key"));
  const alice = ed25519Keygen();
  const bob = ed25519Keygen();
  const carol = ed25519Keygen();
  const everyone = [faucet, alice, bob, carol];

  const balancesOn = async (c: RpcClient) => Promise.all(everyone.map(async (k) => (await c.account(k.publicKey)).balance));
  const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
  /** The supply invariant at quiescence, with `inFlight` burned on the para chain and not yet done. */
  const checkSupply = async (inFlight = 0, paraNodes = [0, 1, 2, 3]) => {
    const mainBalances = await balancesOn(main);
    const supply = await main.supply();
    const escrow = supply.escrows.get(TITLE) ?? 0;
    assert.equal(sum(mainBalances) + escrow, FAUCET_BALANCE, "Σ main balances + escrow = the faucet's genesis allocation");
    assert.equal(supply.supply, sum(mainBalances), "GET /v1/supply on main = the test's own sum");
    const first = await balancesOn(paraClients[paraNodes[0]!]!);
    assert.equal(sum(first) + inFlight, escrow, "Σ para balances + withdrawals not yet done = escrow");
    for (const i of paraNodes) {
      assert.deepEqual(await balancesOn(paraClients[i]!), first, `para node ${i} agrees on the balances`);
      assert.deepEqual(await paraClients[i]!.supply(), { supply: sum(first), escrows: new Map() }, `GET /v1/supply on para node ${i}`);
    }
  };
  const paraBalanceEverywhere = async (k: Ed25519KeyPair, balance: number, nodes = [0, 1, 2, 3]) =>
    until(`para balance ${balance} on nodes ${nodes.join(",")}`, async () => ((await Promise.all(nodes.map(async (i) => (await paraClients[i]!.account(k.publicKey)).balance))).every((b) => b === balance) ? true : undefined), 30_000, () => paraLogs(net));
  /** Waits until the listed para nodes have processed main height `h`. */
  const paraPassed = async (h: number, nodes = [0, 1, 2, 3]) =>
    until(`para nodes past main height ${h}`, async () => ((await Promise.all(nodes.map((i) => paraClients[i]!.status()))).every((s) => (s.para?.mainHeight ?? -1) >= h) ? true : undefined), 30_000, () => paraLogs(net));

  await checkSupply();

  // Deposit main → para: alice's para balance appears on every para node.
  const deposit = await submit(main, signAccountTx(faucet, mainId, { op: "deposit", nonce: (await main.account(faucet.publicKey)).nonce, amount: 5_000, to: alice.publicKey, title: TITLE }));
  assert.equal((await committed(net, main, deposit)).ok, true);
  await paraBalanceEverywhere(alice, 5_000);
  await checkSupply();

  // A para transfer: signed for the para chain with its para nonce, wrapped for the title, ordered by the main chain.
  const transfer = signAccountTx(alice, paraId, { op: "transfer", nonce: (await paraClients[2]!.account(alice.publicKey)).nonce, amount: 1_200, to: bob.publicKey });
  assert.equal((await committed(net, main, await submit(main, encodeParaTx(TITLE, transfer)))).ok, true);
  await paraBalanceEverywhere(bob, 1_200);
  await paraBalanceEverywhere(alice, 3_800);
  await checkSupply();

  // A deposit carol cannot fund fails on main and credits nothing on para.
  const unfunded = await submit(main, signAccountTx(carol, mainId, { op: "deposit", nonce: 0, amount: 10, to: alice.publicKey, title: TITLE }));
  const u = await committed(net, main, unfunded);
  assert.equal(u.ok, false);
  await paraPassed(u.height);
  await checkSupply();
  await paraBalanceEverywhere(alice, 3_800);

  // A withdrawal of more than bob has fails on para and is never credited on main.
  const overdraw = signAccountTx(bob, paraId, { op: "withdraw", nonce: (await paraClients[0]!.account(bob.publicKey)).nonce, amount: 1_201, to: carol.publicKey, title: TITLE });
  await submit(main, encodeParaTx(TITLE, overdraw));
  const od = await committed(net, paraClients[0]!, hasher.digest(overdraw));
  assert.equal(od.ok, false, "the overdraw fails on the para chain");
  await doneAtLeast(net, TITLE, od.height);
  assert.equal((await main.account(carol.publicKey)).balance, 0);
  await checkSupply();

  // A withdrawal is credited on main only once its para height is done: with two para nodes stopped no height can
  // be done (2 of 4 < 2/3), so it waits, burned on para and not yet credited.
  await para.stopNode(2);
  await para.stopNode(3);
  const withdraw = signAccountTx(bob, paraId, { op: "withdraw", nonce: (await paraClients[0]!.account(bob.publicKey)).nonce, amount: 700, to: carol.publicKey, title: TITLE });
  await submit(main, encodeParaTx(TITLE, withdraw));
  const w = await committed(net, paraClients[0]!, hasher.digest(withdraw));
  assert.equal(w.ok, true);
  await paraBalanceEverywhere(bob, 500, [0, 1]);
  // Several main blocks later (the running para nodes' commits for it long carried), still not done nor credited.
  await mainHeight(net, (await main.status()).committedHeight + 4, 30_000, [1, 2, 3]);
  await until("para nodes 0 and 1 past the withdrawal", async () => ((await paraHead(net, 0, [0, 1])) >= w.height + 3 ? true : undefined), 30_000);
  assert.equal((await main.account(carol.publicKey)).balance, 0, "not credited before done");
  const status = (await main.paraStatus(TITLE))!;
  assert.ok(status.doneHeight < w.height, `done ${status.doneHeight} stays below the withdrawal's para height ${w.height}`);
  await checkSupply(700, [0, 1]);

  await para.start(2);
  await para.start(3);
  await doneAtLeast(net, TITLE, w.height);
  await until("carol credited on main", async () => ((await main.account(carol.publicKey)).balance === 700 ? true : undefined), 30_000);
  await paraBalanceEverywhere(bob, 500);
  const settled = await paraHead(net, 0);
  await doneAtLeast(net, TITLE, settled);
  await checkSupply();
  // Credited once: still 700 several done heights later.
  await doneAtLeast(net, TITLE, settled + 3);
  assert.equal((await main.account(carol.publicKey)).balance, 700);
  await assertContiguous(net, 0);
});

test("commit txs lost with the main node they went to are resent and their heights still become done", async () => {
  const para = net.cluster.paras[0]!;
  const resends = async () => (await Promise.all(net.paras[0]!.map(async (c) => metricValue(await c.metrics(), "quire_para_resends_total")))).reduce((a, b) => a + b, 0);
  const before = await resends();
  // Validator 0 (behind the relay, first in every para node's mainRpc) takes each para node's next commit tx, loses
  // it and dies: those heights can only be done once their commits are sent again, to the next main node.
  relay!.loseNextCommitOf([0, 1, 2, 3]);
  await until("a commit tx of every para node lost", async () => (relay!.lost.length === 4 ? true : undefined), 30_000, () => paraLogs(net));
  await net.cluster.kill(0);
  const lostHeights = relay!.lost.flatMap((tx) => {
    const d = decodeCommitTx(tx);
    assert.ok(d.ok);
    return d.value.commits.map((c) => c.decoded.height);
  });
  // At least 3 of the 4 (a quorum) must send again before the lost heights can be done.
  await until("para nodes resent", async () => ((await resends()) >= before + 3 ? true : undefined), 60_000, () => paraLogs(net));
  await doneAtLeast(net, TITLE, Math.max(...lostHeights) + 1, 60_000);
  await assertContiguous(net, 0);
  await net.cluster.start(0);
  await mainHeight(net, (await net.main[1]!.status()).committedHeight + 1, 60_000);
  // A commit at or below done counts for nothing.
  const bls = await loadBlsBackend("blst");
  const key = await loadKeyFile(join(para.dir, "node0", "validator.key"), bls);
  const doneOne = (await net.main[1]!.paraCommit(TITLE, 1))!;
  await failsOnMain(commitTx(bls, key.secretKey, 0, doneOne.message), "a commit at a done height");
});
