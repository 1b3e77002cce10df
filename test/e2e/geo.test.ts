/**
 * Geo clusters with real processes (issue 15): 2 clusters × 4 validators from `quire init --clusters`, every node a
 * `quire node` sharing its cluster's committed blocks over `POST /v1/geo`.
 *
 * - KV puts submitted to either cluster — both writing the same keys — and a faucet transfer signed for the network
 *   id execute in one global order: all 8 nodes report identical rounds (blocks in cluster order, failed txs, state
 *   roots) and read identical values;
 * - the later writer in the global order wins: the value a key holds is the one written by the last block that wrote
 *   it in that order (checked from the rounds and the blocks' own txs, not from the nodes' KV answers alone);
 * - a node killed with SIGKILL and restarted rebuilds the global state (its own chain, pulls) and agrees again.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { loadAccountKeyFile } from "../../src/crypto/accountKeyFile.js";
import { ed25519Keygen, ed25519Sign } from "../../src/crypto/ed25519.js";
import { attachSignature, encodeAccountTxBody, signingMessage } from "../../src/chain/app/accounts/accountTx.js";
import { decodeKvTx, encodeKvTx } from "../../src/chain/app/kvTx.js";
import type { GeoRoundView } from "../../src/rpc/api.js";
import { toHex, utf8 } from "../../src/util/bytes.js";
import { stopAll, until } from "./support/network.js";
import { startShardedNetwork } from "./support/shards.js";
import type { ShardedTestNetwork } from "./support/shards.js";

let net: ShardedTestNetwork;

before(async () => {
  net = await startShardedNetwork(2, 4, [], "clusters");
  await until("all 8 nodes serving, round 1 executed", async () => ((await Promise.all(net.clients.flat().map((c) => c.geoStatus()))).every((s) => s.round >= 1) ? true : undefined), 60_000, () => net.diag());
});

after(async () => {
  await stopAll(undefined);
  if (net !== undefined) await rm(net.dir, { recursive: true, force: true });
});

const clients = () => net.clients.flat();
let nonce = 0;
function put(key: string, value: string): Uint8Array {
  const n = new Uint8Array(8);
  new DataView(n.buffer).setUint32(4, ++nonce);
  return encodeKvTx({ op: "put", nonce: n, key: utf8(key), value: utf8(value) });
}

/** Waits until every node executed round `r`, then returns every node's rounds 0..r. */
async function roundsEverywhere(r: number, timeoutMs = 60_000): Promise<GeoRoundView[][]> {
  await until(`all 8 nodes at global round ${r}`, async () => ((await Promise.all(clients().map((c) => c.geoStatus()))).every((s) => s.round >= r) ? true : undefined), timeoutMs, () => net.diag());
  const out: GeoRoundView[][] = [];
  for (const c of clients()) {
    const rounds: GeoRoundView[] = [];
    for (let from = 0; from <= r; from += 500) rounds.push(...(await c.geoRounds(from, Math.min(r, from + 499))));
    out.push(rounds);
  }
  return out;
}

test("txs submitted to either cluster execute in one global order, identical on all 8 nodes; the later writer wins", async () => {
  // Both clusters write the keys k0..k3, several times each.
  const submitted: { cluster: number; tx: Uint8Array }[] = [];
  for (let i = 0; i < 24; i++) {
    const cluster = i % 2;
    const tx = put(`k${i % 4}`, `c${cluster}-${i}`);
    submitted.push({ cluster, tx });
    const r = await net.clients[cluster]![i % 4]!.submitTx(tx);
    assert.equal(r.status, "accepted", `tx ${i}: ${JSON.stringify(r)}`);
  }
  // A transfer from the network's faucet (the same key in both clusters' directories), signed for the network id.
  const faucet = await loadAccountKeyFile(join(net.manifest.shards[0]!.dir, "faucet.key"));
  const to = ed25519Keygen();
  const body = encodeAccountTxBody({ op: "transfer", from: faucet.publicKey, nonce: 0, amount: 777, to: to.publicKey });
  const transfer = attachSignature(body, ed25519Sign(faucet.secretKey, signingMessage(utf8(net.manifest.id), body)));
  const tr = await net.clients[1]![2]!.submitTx(transfer);
  assert.equal(tr.status, "accepted", JSON.stringify(tr));

  // Wait until every submitted tx is in a committed block of its cluster, then for the round that holds the last.
  const heights = await until(
    "every tx committed on its cluster",
    async () => {
      const hs: number[] = [];
      for (const [k, s] of [...submitted, { cluster: 1, tx: transfer }].entries()) {
        const id = createHash("sha256").update(s.tx).digest();
        const st = await net.clients[s.cluster]![k % 4]!.txStatus(toHex(id));
        if (st === null || st.status !== "committed") return undefined;
        hs.push(st.height);
      }
      return hs;
    },
    60_000,
    () => net.diag(),
  );
  const target = Math.max(...heights) + 1;
  const all = await roundsEverywhere(target);
  // Identical on every node: blocks in cluster order, hashes, failed txs, state roots.
  for (let i = 1; i < all.length; i++) assert.deepEqual(all[i]!.slice(0, target + 1), all[0]!.slice(0, target + 1), `node ${i} differs from node 0`);
  const rounds = all[0]!.slice(0, target + 1);
  assert.deepEqual(rounds.map((r) => r.round), Array.from({ length: target + 1 }, (_, i) => i));
  for (const r of rounds) assert.deepEqual(r.blocks.map((b) => [b.cluster, b.height]), [[0, r.round], [1, r.round]]);
  const executed = rounds.reduce((n, r) => n + r.blocks.reduce((m, b) => m + b.txCount, 0), 0);
  assert.ok(executed >= submitted.length + 1, `${executed} txs executed`);

  // The oracle: replay the blocks' own txs in the rounds' order (fetched from each cluster's chain) — the last put of
  // each key wins — and compare with what every node reads.
  const expected = new Map<string, string>();
  for (const r of rounds) {
    for (const b of r.blocks) {
      if (b.height === 0) continue;
      const block = await net.clients[b.cluster]![0]!.blockBody(b.height);
      assert.ok(block !== null);
      for (const [i, tx] of block.txs.entries()) {
        if (b.failed.includes(i) || tx[0] === 0x10) continue;
        const kv = decodeKvTx(tx);
        if (kv.ok && kv.tx.op === "put") expected.set(new TextDecoder().decode(kv.tx.key), new TextDecoder().decode(kv.tx.value!));
      }
    }
  }
  assert.equal(expected.size, 4);
  for (const [n, c] of clients().entries()) {
    for (const [k, v] of expected) assert.equal(new TextDecoder().decode((await c.kv(utf8(k)))!), v, `node ${n} key ${k}`);
    assert.equal((await c.account(to.publicKey)).balance, 777);
  }
});

test("a validator killed with SIGKILL and restarted rebuilds the global state and agrees with the others", async () => {
  const victim = net.nodes[1]![3]!;
  victim.proc.kill("SIGKILL");
  await victim.exit;
  for (let i = 0; i < 6; i++) await net.clients[i % 2]![0]!.submitTx(put(`after${i}`, `v${i}`));
  const before = Math.max(...(await Promise.all(net.clients[0]!.map((c) => c.geoStatus()))).map((s) => s.round));
  net.start(1, 3);
  const all = await roundsEverywhere(before + 5, 90_000);
  for (let i = 1; i < all.length; i++) assert.deepEqual(all[i]!.slice(0, before + 6), all[0]!.slice(0, before + 6), `node ${i} differs from node 0 after the restart`);
  const restarted = await net.clients[1]![3]!.geoStatus();
  assert.ok((restarted.events["pull_sent"] ?? 0) > 0, `the restarted node pulled: ${JSON.stringify(restarted.events)}`);
});
