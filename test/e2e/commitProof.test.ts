/**
 * Commit proofs and receipts on a real 4-validator network (issue 14): a transfer that succeeds and one that commits
 * failed (insufficient funds) each get a receipt that `quire verify receipt` accepts from the genesis alone, with the
 * right result; `quire verify commit` accepts their block; a served document with one byte changed is refused with
 * its typed code (exit 1).
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadAccountKeyFile } from "../../src/crypto/accountKeyFile.js";
import { toHex } from "../../src/util/bytes.js";
import { spawnQuire, startNetwork, stopAll, until, waitForHeight } from "./support/network.js";
import type { TestNetwork } from "./support/network.js";

let net: TestNetwork | undefined;
after(async () => {
  await stopAll(net);
});

async function quire(args: string[]): Promise<{ code: number | null; output: string }> {
  const p = spawnQuire(args);
  const code = await p.exit;
  return { code, output: p.output };
}

/** Runs a transfer with --wait; its tx id and whether it committed ok. */
async function transfer(keyFile: string, to: Uint8Array, amount: number, url: string): Promise<{ id: string; ok: boolean }> {
  const r = await quire(["account", "transfer", "--key", keyFile, "--to", toHex(to), "--amount", String(amount), "--rpc", url, "--wait"]);
  const id = /id: ([0-9a-f]{64})/.exec(r.output)?.[1];
  const result = /committed: height \d+, index \d+, (ok|failed)/.exec(r.output)?.[1];
  assert.ok(id !== undefined && result !== undefined, r.output);
  return { id, ok: result === "ok" };
}

/** `text` with the byte at hex position `at` (an even offset into a hex string) flipped in its low bit. */
function flipHexByte(hex: string, at: number): string {
  const b = parseInt(hex.slice(at, at + 2), 16) ^ 1;
  return hex.slice(0, at) + b.toString(16).padStart(2, "0") + hex.slice(at + 2);
}

test("receipts of a succeeded and a failed transfer verify from the genesis; a changed byte is refused with its code", async () => {
  net = await startNetwork(4, { tmpfs: true });
  await waitForHeight(net, 1, 30_000);
  const faucetFile = join(net.dir, "faucet.key");
  const aliceFile = join(net.dir, "alice.key");
  assert.equal((await quire(["account", "new", "--out", aliceFile])).code, 0);
  const faucet = await loadAccountKeyFile(faucetFile);
  const alice = await loadAccountKeyFile(aliceFile);
  const paid = await transfer(faucetFile, alice.publicKey, 1000, net.urls[0]!);
  assert.equal(paid.ok, true);
  const overdraw = await transfer(aliceFile, faucet.publicKey, 1001, net.urls[1]!);
  assert.equal(overdraw.ok, false);

  const url = net.urls[2]!;
  const client = net.clients[2]!;
  for (const [tx, failed] of [[paid.id, false], [overdraw.id, true]] as const) {
    // A receipt needs the block's commit (a consecutive-view child certified above it): wait until one is served.
    const doc = await until("receipt served", async () => (await client.receipt(tx)) ?? undefined, 20_000);
    assert.equal(doc.failed, failed);
    const v = await quire(["verify", "receipt", "--genesis", net.genesisFile, "--rpc", url, "--tx", tx]);
    assert.equal(v.code, 0, v.output);
    assert.match(v.output, new RegExp(`^valid: tx ${tx} is tx ${doc.index} of committed block ${doc.height} .*; it ${failed ? "failed" : "succeeded"}`));
    const c = await quire(["verify", "commit", "--genesis", net.genesisFile, "--rpc", url, "--height", String(doc.height)]);
    assert.equal(c.code, 0, c.output);
    assert.match(c.output, new RegExp(`^valid: block ${doc.height} `));
  }

  // The served documents, each with one byte changed.
  const text = await (await fetch(`${url}/v1/tx/${overdraw.id}/receipt`)).text();
  const receipt = JSON.parse(text) as { tx: string; height: number; failed: boolean; blocks: { qc: { aggregateSignature: string } }[] };
  const cases: [string, unknown, RegExp][] = [
    ["good", receipt, /^valid: /],
    ["tx-byte", { ...receipt, tx: flipHexByte(receipt.tx, 10) }, /^invalid: ID_MISMATCH: /],
    ["result-bit", { ...receipt, failed: !receipt.failed }, /^invalid: RESULT_MISMATCH: /],
    ["aggregate", { ...receipt, blocks: receipt.blocks.map((b, i) => (i === receipt.blocks.length - 1 ? { ...b, qc: { ...b.qc, aggregateSignature: flipHexByte(b.qc.aggregateSignature, 40) } } : b)) }, /^invalid: BAD_QC: /],
  ];
  for (const [name, doc, want] of cases) {
    const file = join(net.dir, `receipt-${name}.json`);
    await writeFile(file, JSON.stringify(doc));
    const r = await quire(["verify", "receipt", "--genesis", net.genesisFile, "--file", file]);
    assert.equal(r.code, name === "good" ? 0 : 1, `${name}: ${r.output}`);
    assert.match(r.output, want, name);
  }
  const proof = JSON.parse(await (await fetch(`${url}/v1/blocks/${receipt.height}/commit-proof`)).text()) as { blocks: { txRoot: string }[] };
  const proofFile = join(net.dir, "commit-proof-flipped.json");
  await writeFile(proofFile, JSON.stringify({ blocks: proof.blocks.map((b, i) => (i === 0 ? { ...b, txRoot: flipHexByte(b.txRoot, 0) } : b)) }));
  const c = await quire(["verify", "commit", "--genesis", net.genesisFile, "--file", proofFile, "--height", String(receipt.height)]);
  assert.equal(c.code, 1, c.output);
  assert.match(c.output, /^invalid: BAD_LINK: /);
});
