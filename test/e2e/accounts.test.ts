/**
 * Accounts on a real 4-validator network: `quire init`'s faucet pays a fresh account through `quire account transfer
 * --wait`, every node then reports the same balances, nonces and an unchanged supply; a transfer the sender cannot
 * fund commits failed (exit 1) and changes nothing.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadAccountKeyFile } from "../../src/crypto/accountKeyFile.js";
import { FAUCET_BALANCE } from "../../src/node/network.js";
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

test("the faucet funds an account; all nodes agree on balances and supply; an unfunded transfer commits failed", async () => {
  net = await startNetwork(4);
  await waitForHeight(net, 1, 30_000);
  const faucetFile = join(net.dir, "faucet.key");
  const aliceFile = join(net.dir, "alice.key");
  assert.equal((await quire(["account", "new", "--out", aliceFile])).code, 0);
  const faucet = await loadAccountKeyFile(faucetFile);
  const alice = await loadAccountKeyFile(aliceFile);
  const pay = await quire(["account", "transfer", "--key", faucetFile, "--to", toHex(alice.publicKey), "--amount", "1000", "--rpc", net.urls[0]!, "--wait"]);
  assert.equal(pay.code, 0, pay.output);
  assert.match(pay.output, /committed: height \d+, index \d+, ok/);
  for (const c of net.clients) {
    await until("node sees alice's balance", async () => ((await c.account(alice.publicKey)).balance === 1000 ? true : undefined), 20_000);
    assert.deepEqual(await c.account(faucet.publicKey), { publicKey: faucet.publicKey, balance: FAUCET_BALANCE - 1000, nonce: 1 });
    assert.deepEqual(await c.supply(), { supply: FAUCET_BALANCE, escrows: new Map() });
  }
  const overdraw = await quire(["account", "transfer", "--key", aliceFile, "--to", toHex(faucet.publicKey), "--amount", "1001", "--rpc", net.urls[1]!, "--wait"]);
  assert.equal(overdraw.code, 1, overdraw.output);
  assert.match(overdraw.output, /committed: height \d+, index \d+, failed/);
  assert.deepEqual(await net.clients[1]!.account(alice.publicKey), { publicKey: alice.publicKey, balance: 1000, nonce: 0 });
});
