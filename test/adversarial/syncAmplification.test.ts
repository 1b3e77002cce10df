/**
 * Sync amplification (issue 11, deliverable 4): validator 3's real node is stopped and an attack process with its key
 * and config (attacks/syncFlood.ts, authenticated over the shipping transport) streams max-range sync requests — 256
 * heights from height 1, about 40 bytes each — at validator 0, whose first heights carry ~3 MB of transactions. The
 * honest three must keep committing at >= 70 % of their rate before the attack (they are exactly a quorum, so the
 * victim's slowness is the network's), and what the victim sends back must stay within its sync budget
 * (node/syncLimiter.ts: 16 MiB + 8 MiB/s and 1,024 + 512 heights/s, plus one response of debt).
 *
 * On the old code every request was answered with the whole range (megabytes each) and the test failed: the honest
 * network's commit rate fell to 0.0 blocks/s under the flood (0 % of 2.0/s), and in an earlier run the victim's
 * /metrics did not even answer within 5 s. Now: 149 % of the baseline, 20 responses (61 MiB) in 5.8 s for 2,772
 * requests, 2,320 refused by rate and 432 for a full send queue.
 *
 * The test owns its network; `after` stops every process (nodes and attacker) by pid even when it failed.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { encodeKvTx } from "../../src/chain/app/kvTx.js";
import { MAX_MESSAGE_BYTES, MAX_SYNC_BLOCKS } from "../../src/domain/limits.js";
import { DEFAULT_SYNC_LIMITS } from "../../src/node/syncLimiter.js";
import { utf8 } from "../../src/util/bytes.js";
import { logs, startNetwork, stopAll, until, waitForHeight } from "../e2e/support/network.js";
import type { NodeProcess, TestNetwork } from "../e2e/support/network.js";
import { assertRateHolds, spawnAttack } from "./support.js";

const N = 4;
const VICTIM = 0;
const ATTACKER = 3;
const HONEST = [0, 1, 2];
const WINDOW_MS = 5_000;
/** Preloaded history: txs of VALUE_BYTES each, so a max-range response is megabytes. */
const PRELOAD_TXS = 3_000;
const VALUE_BYTES = 1_024;
let netw: TestNetwork | undefined;

after(async () => {
  await stopAll(netw);
});

/** A counter of the node's /metrics (0 when absent). */
async function metric(nw: TestNetwork, node: number, series: string): Promise<number> {
  const text = await nw.clients[node]!.metrics();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

test("a validator streaming max-range sync requests: the victim's commit rate holds and what it serves stays within its budget", { timeout: 120_000 }, async (t) => {
  const nw = await startNetwork(N, { tmpfs: true });
  netw = nw;
  t.diagnostic(`network in ${nw.dir}`);
  await waitForHeight(nw, 2, 30_000);
  // History worth asking for: megabytes in the first heights.
  const run = randomBytes(4).toString("hex");
  const value = new Uint8Array(VALUE_BYTES).fill(0x62);
  const txs = Array.from({ length: PRELOAD_TXS }, (_, i) => {
    const nonce = new Uint8Array(8);
    new DataView(nonce.buffer).setUint32(4, i);
    return encodeKvTx({ op: "put", nonce, key: utf8(`sync/${run}/${i}`), value });
  });
  for (let b = 0; b < PRELOAD_TXS; b += 250) await nw.clients[(b / 250) % N]!.submitTxs(txs.slice(b, b + 250));
  await until("the preload committed", async () => ((await Promise.all(nw.clients.map((c) => c.status()))).every((s) => s.mempoolSize === 0) ? true : undefined), 60_000, () => logs(nw));

  // Validator 3 leaves; the attacker takes its key, config and port.
  assert.equal(await nw.cluster.stopNode(ATTACKER), 0, logs(nw));
  const h = (await nw.clients[VICTIM]!.status()).committedHeight;
  await waitForHeight(nw, h + 3, 30_000, HONEST);

  let attack: NodeProcess | undefined;
  const responsesSeries = 'quire_consensus_messages_sent_total{kind="syncResponse"}';
  // The rate is read on the two honest nodes besides the victim: with the attacker holding the fourth key, the honest
  // three are exactly a quorum, so a slow victim shows there — and their RPC answers even when the victim's would not.
  const rates = await assertRateHolds(nw, [1, 2], WINDOW_MS, async () => {
    attack = spawnAttack("syncFlood", [nw.configFiles[ATTACKER]!, String(2 * WINDOW_MS + 30_000), String(VICTIM)]);
    await until("the victim answering the flood", async () => (attack!.output.includes('"answered"') ? true : undefined), 20_000, () => `${attack?.output ?? ""}\n${logs(nw)}`);
  });
  const served = await metric(nw, VICTIM, responsesSeries);
  assert.equal(attack!.exited, false, `the attack ended early:\n${attack!.output}`);
  attack!.proc.kill("SIGTERM");
  await attack!.exit;
  const line = attack!.output.split("\n").find((l) => l.startsWith('{"requests"'));
  assert.ok(line !== undefined, attack!.output);
  const got = JSON.parse(line) as { requests: number; responses: number; responseBytes: number; blocks: number; seconds: number };
  const refused = await metric(nw, VICTIM, 'quire_rejected_total{code="SYNC_RATE_LIMITED"}');
  const queueFull = await metric(nw, VICTIM, 'quire_rejected_total{code="SYNC_QUEUE_FULL"}');
  t.diagnostic(`commit rate ${rates.baseline.toFixed(1)}/s before, ${rates.attacked.toFixed(1)}/s under the flood (${(100 * rates.ratio).toFixed(0)} %)`);
  t.diagnostic(
    `attacker: ${got.requests} requests in ${got.seconds.toFixed(1)} s, ${got.responses} responses, ${(got.responseBytes / 2 ** 20).toFixed(1)} MiB, ${got.blocks} blocks; victim sent ${served} sync responses in all and refused ${refused} (rate) + ${queueFull} (queue)`,
  );
  const L = DEFAULT_SYNC_LIMITS;
  const maxBytes = L.byteBurst + L.bytesPerSec * got.seconds + MAX_MESSAGE_BYTES / 2;
  const maxBlocks = L.heightBurst + L.heightsPerSec * got.seconds + MAX_SYNC_BLOCKS;
  assert.ok(got.responseBytes <= maxBytes, `${(got.responseBytes / 2 ** 20).toFixed(1)} MiB served in ${got.seconds.toFixed(1)} s, budget ${(maxBytes / 2 ** 20).toFixed(1)} MiB`);
  assert.ok(got.blocks <= maxBlocks, `${got.blocks} blocks served in ${got.seconds.toFixed(1)} s, budget ${maxBlocks.toFixed(0)}`);
  assert.ok(refused + queueFull > 0, "the victim refused nothing");
});
