/**
 * Slow bodies (issue 11): one attack process on ATTACKER_HOST holds 80 connections to node 0's RPC, each declaring a
 * 1 MiB `POST /v1/txs` body and trickling one byte a second, reopening whatever the server closes. Honest
 * `POST /v1/tx` from 127.0.0.1 to the same node must keep getting 202, and the network's commit rate must hold.
 *
 * On the old code (declared lengths reserved from the shared 64 MiB budget up front) this failed: 64 of the
 * attacker's connections pinned the whole budget and every honest submission was 503 SERVER_BUSY (measured
 * 2026-12-03 against main 5dc6a78: 0 of 20 honest POSTs got 202; see the commit message for the run).
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { loadTx } from "../../src/cli/loadgen.js";
import { startNetwork, stopAll, until, waitForHeight } from "../e2e/support/network.js";
import type { NodeProcess, TestNetwork } from "../e2e/support/network.js";
import { assertRateHolds, attackReport, spawnAttack } from "./support.js";

const CONNECTIONS = 80;
const DECLARED = 1024 * 1024;
const HONEST_POSTS = 20;
let net: TestNetwork | undefined;

after(async () => {
  await stopAll(net);
});

test("slow bodies from one source: honest POST /v1/tx keeps getting 202 and the commit rate holds", { timeout: 90_000 }, async () => {
  net = await startNetwork(4, { tmpfs: true });
  const nw = net;
  await waitForHeight(nw, 3, 30_000);
  const port = new URL(nw.urls[0]!).port;
  let attacker: NodeProcess | undefined;
  let honest: Promise<number[]> | undefined;
  const rates = await assertRateHolds(nw, [0, 1, 2, 3], 5_000, async () => {
    attacker = spawnAttack("slowBodies", [port, String(CONNECTIONS), String(DECLARED)]);
    const a = attacker;
    await until("the attacker's connections to open", async () => ((attackReport<{ opened: number }>(a)?.opened ?? 0) >= CONNECTIONS ? true : undefined), 15_000, () => a.output);
    // Honest submissions while the commit rate is measured: one every 200 ms from 127.0.0.1, each a fresh tx.
    honest = (async () => {
      const statuses: number[] = [];
      for (let i = 0; i < HONEST_POSTS; i++) {
        const res = await fetch(`${nw.urls[0]}/v1/tx`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body: loadTx("honest", i, 128), signal: AbortSignal.timeout(10_000) });
        await res.text();
        statuses.push(res.status);
        await new Promise((r) => setTimeout(r, 200));
      }
      return statuses;
    })();
  });
  const statuses = await honest!;
  const a = attackReport<{ open: number; opened: number; answers: Record<string, number> }>(attacker!);
  const metrics = await nw.clients[0]!.metrics();
  const refusals = metrics.split("\n").filter((l) => /^quire_rpc_(rejected_bodies_total|source_refused_total)/.test(l));
  console.log(`slow bodies: commit rate ${rates.baseline.toFixed(1)}/s before, ${rates.attacked.toFixed(1)}/s under attack (${(100 * rates.ratio).toFixed(0)} %); honest statuses ${statuses.join(",")}; attacker ${JSON.stringify(a)}; ${refusals.join("; ")}`);
  assert.deepEqual(
    statuses.filter((s) => s !== 202),
    [],
    `honest POST /v1/tx answers under attack: ${statuses.join(",")}`,
  );
});
