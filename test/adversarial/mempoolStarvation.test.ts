/**
 * Mempool starvation from one source (issue 11, deliverable 4): one attack process on ATTACKER_HOST submits valid
 * transactions to every node of a 4-validator network as fast as their pools take them (attacks/mempoolFlood.ts).
 * Honest clients on 127.0.0.1 keep submitting single transactions (`POST /v1/tx`, round robin over the nodes): every
 * one must get its 202 and commit, and the network's commit rate must stay >= 70 % of the rate before the attack.
 *
 * The pools are made small (4,000 txs, blocks of at most 64) so that one process can fill them within a second.
 * On the old code — a per-client cap of half the pool, gossip counted per relaying peer — the flooder's own key plus
 * the three peers relaying its txs filled every pool to 100 % and honest clients got 503 MEMPOOL_FULL: the test failed
 * there (figures in the commit message). Now the flooder is refused past 75 % (the headroom rule, chain/mempool.ts),
 * wherever its txs come from, and the last quarter stays open to light clients.
 *
 * The test owns its network; `after` stops every process by pid even when it failed.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { encodeKvTx } from "../../src/chain/app/kvTx.js";
import { utf8 } from "../../src/util/bytes.js";
import { assertCommitted } from "../e2e/support/load.js";
import { logs, startNetwork, stopAll, until, waitForHeight } from "../e2e/support/network.js";
import type { NodeProcess, TestNetwork } from "../e2e/support/network.js";
import { ATTACKER_HOST, assertRateHolds, spawnAttack } from "./support.js";

const N = 4;
const MAX_TXS = 4_000;
const WINDOW_MS = 5_000;
/** Pause between two honest submissions (round robin over the nodes). */
const HONEST_INTERVAL_MS = 50;
let netw: TestNetwork | undefined;

after(async () => {
  await stopAll(netw);
});

test("one source flooding every mempool: honest clients' POST /v1/tx still get 202 and commit, the commit rate holds", { timeout: 90_000 }, async (t) => {
  const nw = await startNetwork(N, { tmpfs: true, nodeArgs: ["--set", `mempool.maxTxs=${MAX_TXS}`], block: { maxTxs: 64 } });
  netw = nw;
  t.diagnostic(`network in ${nw.dir}`);
  await waitForHeight(nw, 2, 30_000);
  const nodes = nw.urls.map((_, i) => i);
  let attack: NodeProcess | undefined;
  const run = randomBytes(4).toString("hex");
  const honest = { sent: 0, accepted: [] as string[], refused: [] as string[] };
  let honestRunning = false;
  let honestLoop: Promise<void> = Promise.resolve();
  const startHonest = () => {
    honestRunning = true;
    honestLoop = (async () => {
      for (let k = 0; honestRunning; k++) {
        const node = k % N;
        const nonce = new Uint8Array(8);
        new DataView(nonce.buffer).setUint32(4, k);
        const tx = encodeKvTx({ op: "put", nonce, key: utf8(`honest/${run}/${k}`), value: utf8(`v${k}`) });
        honest.sent++;
        try {
          const res = await fetch(`${nw.urls[node]}/v1/tx`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body: tx, signal: AbortSignal.timeout(10_000) });
          const doc = (await res.json()) as { id?: string; error?: { code?: string } };
          if (res.status === 202 && doc.id !== undefined) honest.accepted.push(doc.id);
          else honest.refused.push(`node ${node}: ${res.status} ${doc.error?.code ?? ""}`);
        } catch (e) {
          honest.refused.push(`node ${node}: ${String(e)}`);
        }
        await new Promise((r) => setTimeout(r, HONEST_INTERVAL_MS));
      }
    })();
  };

  let poolsAtStart: number[] = [];
  t.after(async () => {
    honestRunning = false;
    await honestLoop;
  });
  const rates = await assertRateHolds(nw, nodes, WINDOW_MS, async () => {
    attack = spawnAttack("mempoolFlood", [String(4 * WINDOW_MS + 30_000), ATTACKER_HOST, ...nw.urls]);
    // Under way once every pool holds at least 70 % (the flooder's share: it is refused past 75 %).
    poolsAtStart = await until(
      "the flood to fill every pool",
      async () => {
        const s = await Promise.all(nw.clients.map((c) => c.status()));
        return s.every((x) => x.mempoolSize >= 0.7 * MAX_TXS) ? s.map((x) => x.mempoolSize) : undefined;
      },
      20_000,
      () => `${attack?.output ?? ""}\n${logs(nw)}`,
    );
    startHonest();
  });
  honestRunning = false;
  await honestLoop;
  const pools = (await Promise.all(nw.clients.map((c) => c.status()))).map((s) => s.mempoolSize);
  t.diagnostic(`commit rate ${rates.baseline.toFixed(1)}/s before, ${rates.attacked.toFixed(1)}/s under the flood (${(100 * rates.ratio).toFixed(0)} %)`);
  t.diagnostic(`pools when the flood was under way ${poolsAtStart.join(", ")} of ${MAX_TXS}; at the end ${pools.join(", ")}`);
  t.diagnostic(`honest: ${honest.accepted.length} of ${honest.sent} accepted (202), refused: ${honest.refused.slice(0, 5).join("; ")}`);
  assert.ok(honest.sent >= 20, `only ${honest.sent} honest submissions`);
  assert.deepEqual(honest.refused, [], `${honest.refused.length} of ${honest.sent} honest submissions refused under the flood`);
  // They commit while the flood still runs.
  await assertCommitted(nw, honest.accepted, 0, 30_000);
  assert.equal(attack!.exited, false, `the attack ended early:\n${attack!.output}`);
  attack!.proc.kill("SIGTERM");
  await attack!.exit;
  t.diagnostic(`attacker: ${attack!.output.trim()}`);
});
