/**
 * Cross-shard transfers with real processes (issue 14): 2 shards × 4 validators from `quire init --shards`, every node
 * a `quire node`, the nodes' own relayers carrying LD and CL records between the shards.
 *
 * - a transfer commits on its input shard and is credited on the output shard; both the transfer and the import that
 *   credited it have receipts `quire verify receipt` accepts from each shard's genesis;
 * - a transfer with an input lacking funds is aborted and the other input refunded;
 * - a forged import (one flipped byte of a real one) is refused with a typed code; the real one again is REPLAYED;
 * - all of the output shard's nodes and one input-shard node are killed with SIGKILL right after a transfer is
 *   submitted; restarted, the transfer completes exactly once;
 * - after each step Σ over shards of supply + escrowed − imported is the genesis total;
 * - commit proofs and receipts on a shard: a transfer that succeeds and one that commits failed (insufficient funds)
 *   each get a receipt `quire verify receipt` accepts from the genesis alone, with the right result; `quire verify
 *   commit` accepts their block; a served document with one byte changed is refused with its typed code (exit 1).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadAccountKeyFile } from "../../src/crypto/accountKeyFile.js";
import { ed25519Keygen, ed25519Sign } from "../../src/crypto/ed25519.js";
import type { Ed25519KeyPair } from "../../src/crypto/ed25519.js";
import { defaultHasher } from "../../src/crypto/hash/backends.js";
import { attachSignatures, decodeImport, encodeImport, encodeTransferBody, transferId, transferSigningMessage, XSHARD_OP, XSHARD_TX_TAG } from "../../src/chain/app/xshard/format.js";
import { shardOf } from "../../src/chain/app/xshard/network.js";
import { toHex, utf8 } from "../../src/util/bytes.js";
import { spawnQuire, stopAll, until } from "./support/network.js";
import { startShardedNetwork } from "./support/shards.js";
import type { ShardedTestNetwork } from "./support/shards.js";

const FAUCET = 1_000_000_000_000;
let net: ShardedTestNetwork;
let faucets: Ed25519KeyPair[];

before(async () => {
  net = await startShardedNetwork(2, 4);
  faucets = await Promise.all([0, 1].map((s) => loadAccountKeyFile(join(net.manifest.shards[s]!.dir, "faucet.key"))));
});

after(async () => {
  await stopAll(undefined);
  if (net !== undefined) await rm(net.dir, { recursive: true, force: true });
});

function accountOn(s: number): Ed25519KeyPair {
  for (;;) {
    const k = ed25519Keygen();
    if (shardOf(k.publicKey, 2, defaultHasher()) === s) return k;
  }
}

/** Signs and submits a transfer to every input shard; returns its xid. */
async function transfer(inputs: readonly { key: Ed25519KeyPair; amount: number }[], to: Uint8Array): Promise<string> {
  const S = 2;
  const withNonce = [];
  for (const i of inputs) {
    const shard = shardOf(i.key.publicKey, S, defaultHasher());
    const { nonce } = await net.clients[shard]![0]!.account(i.key.publicKey);
    withNonce.push({ shard, from: i.key.publicKey, nonce, amount: i.amount });
  }
  const body = encodeTransferBody({ outShard: shardOf(to, S, defaultHasher()), to, inputs: withNonce });
  const netId = utf8(net.manifest.id);
  const msg = transferSigningMessage(netId, body);
  const tx = attachSignatures(body, inputs.map((i) => ed25519Sign(i.key.secretKey, msg)));
  for (const s of new Set(withNonce.map((i) => i.shard))) {
    const r = await net.clients[s]![1]!.submitTx(tx);
    assert.equal(r.status, "accepted", JSON.stringify(r));
  }
  return toHex(transferId(netId, body, defaultHasher()));
}

async function outputStatus(s: number, xid: string, want: string, timeoutMs = 30_000): Promise<void> {
  await until(
    `transfer ${xid.slice(0, 12)} ${want} on shard ${s}`,
    async () => {
      const t = await net.clients[s]![0]!.xshardTransfer(Buffer.from(xid, "hex"));
      return t.output?.status === want ? true : undefined;
    },
    timeoutMs,
    () => net.diag(),
  );
}

async function networkTotal(): Promise<number> {
  let t = 0;
  for (const s of [0, 1]) {
    const v = await net.clients[s]![0]!.supply();
    t += v.supply + v.xshard!.escrowed - v.xshard!.imported;
  }
  return t;
}

/** Every committed tx of a shard whose bytes start with `prefix` (scanning /v1/blocks/:h/body). */
async function committedTxs(s: number, prefix: readonly number[]): Promise<Uint8Array[]> {
  const c = net.clients[s]![0]!;
  const head = (await c.status()).committedHeight;
  const out: Uint8Array[] = [];
  for (let h = 1; h <= head; h++) {
    const body = await c.blockBody(h);
    for (const tx of body?.txs ?? []) if (prefix.every((b, i) => tx[i] === b)) out.push(tx);
  }
  return out;
}

async function verifyReceipt(s: number, tx: Uint8Array): Promise<string> {
  const id = createHash("sha256").update(tx).digest("hex");
  await until(`a receipt for ${id.slice(0, 12)} on shard ${s}`, async () => ((await net.clients[s]![0]!.receipt(id)) !== null ? true : undefined), 15_000);
  const v = spawnQuire(["verify", "receipt", "--genesis", join(net.manifest.shards[s]!.dir, "genesis.json"), "--rpc", net.manifest.shards[s]!.rpc[2]!, "--tx", id]);
  assert.equal(await v.exit, 0, v.output);
  return v.output;
}

test("xshard e2e: a transfer from shard 0 to shard 1 is credited; both shards' receipts verify from their genesis", { timeout: 90_000 }, async () => {
  for (const s of [0, 1]) await until(`shard ${s} committing`, async () => ((await net.clients[s]![0]!.status()).committedHeight >= 2 ? true : undefined), 30_000, () => net.diag());
  const bob = accountOn(1);
  const xid = await transfer([{ key: faucets[0]!, amount: 1_000 }], bob.publicKey);
  await outputStatus(1, xid, "credited");
  assert.equal((await net.clients[1]![0]!.account(bob.publicKey)).balance, 1_000);
  assert.equal((await net.clients[0]![0]!.xshardTransfer(Buffer.from(xid, "hex"))).leg, "escrowed");
  assert.equal(await networkTotal(), 2 * FAUCET);
  // Receipts: the transfer on shard 0, and the import that credited it on shard 1.
  const [sent] = await committedTxs(0, [XSHARD_TX_TAG, XSHARD_OP.transfer]);
  assert.match(await verifyReceipt(0, sent!), /valid/);
  const imports = await committedTxs(1, [XSHARD_TX_TAG, XSHARD_OP.import]);
  assert.ok(imports.length >= 1);
  assert.match(await verifyReceipt(1, imports[0]!), /valid/);

  // A forged import: one byte of the real one flipped (inside the records) is refused; the real one is a replay.
  const real = imports[0]!;
  const forged = real.slice();
  forged[forged.length - 60] = forged[forged.length - 60]! ^ 1; // inside the record's xid: not a replay, so it is verified
  const f = await net.clients[1]![0]!.submitTx(forged);
  assert.equal(f.status, "invalid");
  assert.match((f as { reason: string }).reason, /^(BAD_INCLUSION|BAD_SEAL|MALFORMED)/);
  // The same bytes again are a committed tx id (duplicate); the same records in another import are REPLAYED.
  assert.equal((await net.clients[1]![0]!.submitTx(real)).status, "duplicate");
  const reencoded = decodeImport(real);
  assert.ok(reencoded.ok);
  const again = await net.clients[1]![0]!.submitTx(encodeImport({ ...reencoded.value, items: [...reencoded.value.items, reencoded.value.items[0]!] }));
  assert.equal(again.status, "invalid");
  assert.match((again as { reason: string }).reason, /^REPLAYED/);
  assert.equal((await net.clients[1]![0]!.account(bob.publicKey)).balance, 1_000);
});

test("xshard e2e: an input lacking funds aborts the transfer and the other input is refunded", { timeout: 60_000 }, async () => {
  const poor = accountOn(1);
  const carol = accountOn(1);
  const before0 = (await net.clients[0]![0]!.account(faucets[0]!.publicKey)).balance;
  // The CLI path: two inputs (shard 0's faucet and an empty shard-1 account), --wait until decided (exit 1: aborted).
  const keyFile = join(net.dir, "poor.key");
  await writeFile(keyFile, JSON.stringify({ type: "quire-account-key", version: 1, publicKey: toHex(poor.publicKey), secretKey: toHex(poor.secretKey) }), { mode: 0o600 });
  const cli = spawnQuire(["account", "xtransfer", "--network", net.dir, "--key", join(net.manifest.shards[0]!.dir, "faucet.key"), "--key", keyFile, "--amount", "700", "--amount", "5", "--to", toHex(carol.publicKey), "--wait"]);
  const code = await cli.exit;
  assert.equal(code, 1, cli.output);
  assert.match(cli.output, /aborted on shard 1/);
  const xid = /xid: ([0-9a-f]{64})/.exec(cli.output)![1]!;
  await until(
    "shard 0 refunds",
    async () => ((await net.clients[0]![0]!.xshardTransfer(Buffer.from(xid, "hex"))).leg === "refunded" ? true : undefined),
    30_000,
  );
  assert.equal((await net.clients[0]![0]!.account(faucets[0]!.publicKey)).balance, before0);
  assert.equal((await net.clients[1]![0]!.account(carol.publicKey)).balance, 0);
  assert.equal(await networkTotal(), 2 * FAUCET);
});

test("xshard e2e: SIGKILL of the whole output shard and one input node mid-transfer — restarted, the transfer completes exactly once", { timeout: 90_000 }, async () => {
  const dave = accountOn(0);
  // Shard 1's faucet pays dave on shard 0: shard 1 is the input, shard 0 the output.
  const xid = await transfer([{ key: faucets[1]!, amount: 4_321 }], dave.publicKey);
  for (const p of net.nodes[0]!) p.proc.kill("SIGKILL");
  net.nodes[1]![3]!.proc.kill("SIGKILL");
  await Promise.all([...net.nodes[0]!, net.nodes[1]![3]!].map((p) => p.exit));
  // The input shard (3 of 4 alive) commits the legs and its relayers find the output shard down.
  await until("shard 1 escrows", async () => ((await net.clients[1]![0]!.xshardTransfer(Buffer.from(xid, "hex"))).leg === "escrowed" ? true : undefined), 30_000);
  await new Promise((r) => setTimeout(r, 1_500));
  for (let i = 0; i < 4; i++) net.start(0, i);
  net.start(1, 3);
  await outputStatus(0, xid, "credited", 60_000);
  assert.equal((await net.clients[0]![0]!.account(dave.publicKey)).balance, 4_321);
  // Every node of shard 0 (restarted ones catching up) shows exactly one credit.
  await until(
    "every shard-0 node shows the credit once",
    async () => {
      const balances = await Promise.all(net.clients[0]!.map(async (c) => (await c.account(dave.publicKey)).balance));
      for (const b of balances) assert.ok(b === 0 || b === 4_321, `balance ${b}`);
      return balances.every((b) => b === 4_321) ? true : undefined;
    },
    30_000,
  );
  const t = await net.clients[0]![0]!.xshardTransfer(Buffer.from(xid, "hex"));
  assert.deepEqual(t.output, { status: "credited", arrived: 1, sum: 4_321 });
  // And every relayer stops: each confirmed its imports (a committed duplicate or REPLAYED), nothing left in flight.
  await until(
    "every node's relayer idle",
    async () => {
      const inFlight = await Promise.all(net.clients.flat().map(async (c) => Number(/^quire_xshard_relay_in_flight (\d+)$/m.exec(await c.metrics())?.[1] ?? "-1")));
      return inFlight.every((x) => x === 0) ? true : undefined;
    },
    30_000,
  );
  assert.equal(await networkTotal(), 2 * FAUCET);
});

async function quire(args: string[]): Promise<{ code: number | null; output: string }> {
  const p = spawnQuire(args);
  const code = await p.exit;
  return { code, output: p.output };
}

/** `hex` with the byte at hex position `at` (an even offset) flipped in its low bit. */
function flipHexByte(hex: string, at: number): string {
  const b = parseInt(hex.slice(at, at + 2), 16) ^ 1;
  return hex.slice(0, at) + b.toString(16).padStart(2, "0") + hex.slice(at + 2);
}

test("receipts of a succeeded and a failed transfer verify from the genesis; a changed byte is refused with its code", { timeout: 60_000 }, async () => {
  const shard = net.manifest.shards[0]!;
  const genesisFile = join(shard.dir, "genesis.json");
  const faucetFile = join(shard.dir, "faucet.key");
  const alice = accountOn(0);
  const aliceFile = join(net.dir, "alice.key");
  await writeFile(aliceFile, JSON.stringify({ type: "quire-account-key", version: 1, publicKey: toHex(alice.publicKey), secretKey: toHex(alice.secretKey) }), { mode: 0o600 });
  const transferCli = async (keyFile: string, to: Uint8Array, amount: number, url: string) => {
    const r = await quire(["account", "transfer", "--key", keyFile, "--to", toHex(to), "--amount", String(amount), "--rpc", url, "--wait"]);
    const id = /id: ([0-9a-f]{64})/.exec(r.output)?.[1];
    const result = /committed: height \d+, index \d+, (ok|failed)/.exec(r.output)?.[1];
    assert.ok(id !== undefined && result !== undefined, r.output);
    return { id, ok: result === "ok" };
  };
  const paid = await transferCli(faucetFile, alice.publicKey, 1000, shard.rpc[0]!);
  assert.equal(paid.ok, true);
  const overdraw = await transferCli(aliceFile, faucets[0]!.publicKey, 1001, shard.rpc[1]!);
  assert.equal(overdraw.ok, false);

  const url = shard.rpc[2]!;
  const client = net.clients[0]![2]!;
  for (const [tx, failed] of [[paid.id, false], [overdraw.id, true]] as const) {
    // A receipt needs the block's commit (a consecutive-view child certified above it): wait until one is served.
    const doc = await until("receipt served", async () => (await client.receipt(tx)) ?? undefined, 20_000);
    assert.equal(doc.failed, failed);
    const v = await quire(["verify", "receipt", "--genesis", genesisFile, "--rpc", url, "--tx", tx]);
    assert.equal(v.code, 0, v.output);
    assert.match(v.output, new RegExp(`^valid: tx ${tx} is tx ${doc.index} of committed block ${doc.height} .*; it ${failed ? "failed" : "succeeded"}`));
    const c = await quire(["verify", "commit", "--genesis", genesisFile, "--rpc", url, "--height", String(doc.height)]);
    assert.equal(c.code, 0, c.output);
    assert.match(c.output, new RegExp(`^valid: block ${doc.height} `));
  }
  // Another shard's genesis does not vouch for this shard's blocks.
  const foreign = await quire(["verify", "receipt", "--genesis", join(net.manifest.shards[1]!.dir, "genesis.json"), "--rpc", url, "--tx", paid.id]);
  assert.equal(foreign.code, 1, foreign.output);

  // The served documents, each with one byte changed.
  const receipt = JSON.parse(await (await fetch(`${url}/v1/tx/${overdraw.id}/receipt`)).text()) as { tx: string; height: number; failed: boolean; blocks: { qc: { aggregateSignature: string } }[] };
  const cases: [string, unknown, RegExp][] = [
    ["good", receipt, /^valid: /],
    ["tx-byte", { ...receipt, tx: flipHexByte(receipt.tx, 10) }, /^invalid: ID_MISMATCH: /],
    ["result-bit", { ...receipt, failed: !receipt.failed }, /^invalid: RESULT_MISMATCH: /],
    ["aggregate", { ...receipt, blocks: receipt.blocks.map((b, i) => (i === receipt.blocks.length - 1 ? { ...b, qc: { ...b.qc, aggregateSignature: flipHexByte(b.qc.aggregateSignature, 40) } } : b)) }, /^invalid: BAD_QC: /],
  ];
  for (const [name, doc, want] of cases) {
    const file = join(net.dir, `receipt-${name}.json`);
    await writeFile(file, JSON.stringify(doc));
    const r = await quire(["verify", "receipt", "--genesis", genesisFile, "--file", file]);
    assert.equal(r.code, name === "good" ? 0 : 1, `${name}: ${r.output}`);
    assert.match(r.output, want, name);
  }
  const proof = JSON.parse(await (await fetch(`${url}/v1/blocks/${receipt.height}/commit-proof`)).text()) as { blocks: { txRoot: string }[] };
  const proofFile = join(net.dir, "commit-proof-flipped.json");
  await writeFile(proofFile, JSON.stringify({ blocks: proof.blocks.map((b, i) => (i === 0 ? { ...b, txRoot: flipHexByte(b.txRoot, 0) } : b)) }));
  const c = await quire(["verify", "commit", "--genesis", genesisFile, "--file", proofFile, "--height", String(receipt.height)]);
  assert.equal(c.code, 1, c.output);
  assert.match(c.output, /^invalid: BAD_LINK: /);
});
