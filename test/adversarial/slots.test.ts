/**
 * Slot exhaustion (issue 11, deliverable 7): one attacker process on ATTACKER_HOST holds 70 idle WebSocket connections
 * to validator 3's p2p port (every other validator dials it), reopening each as it closes. Validator 0 is then
 * `kill -9`ed and restarted under the attack; it must link with all three peers, the victim included, within 2 s of
 * its consensus start (the issue's target), the network's commit rate must hold (assertRateHolds), and the victim's
 * /metrics must show the attacker refused by the per-source limits.
 *
 * On the old code (a global cap of 64 pending handshakes, a silent connection holding its slot for the 5 s handshake
 * timeout) this failed: the restarted validator linked with 1 and 2 at once but not with the victim for the whole 10 s
 * this test waits (its dials answered 503, the attacker holding all 64 slots), in 2 runs of 2 with this attack script
 * (an earlier version, which reopened slower, let it link after 8.6 s and 2.2 s, and once after 0.6 s). Now: 0.25-1.0 s.
 * (Restarting the victim itself does not show it reliably: its peers and the attacker race for the fresh listener, and
 * the peers won one run in two.)
 *
 * `after` stops every process (nodes and attacker) by pid even when the test failed.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { killNode, logs, startNetwork, startNode, stopAll, until, waitForHeight } from "../e2e/support/network.js";
import type { TestNetwork } from "../e2e/support/network.js";
import { scrape } from "../support/promText.js";
import { assertRateHolds, ATTACKER_HOST, spawnAttack } from "./support.js";
import type { NodeProcess } from "../e2e/support/network.js";

const N = 4;
/** The highest index: every other validator dials it, so its listener is what the attack can starve. */
const VICTIM = 3;
/** Restarted under the attack: it dials the victim. */
const RESTARTED = 0;
const MEASURED = [1, 2, 3];
const CONNECTIONS = 70;
/** The issue's target: a restarted validator links within 2 s. */
const LINK_TARGET_MS = 2_000;
/** How long the test waits for the links before failing (a hang guard, well past the target). */
const LINK_WAIT_MS = 10_000;
let netw: TestNetwork | undefined;

after(async () => {
  await stopAll(netw);
});

/** ms from a node's `consensus started` line (right after its transport started dialing) to its last of three `peer up` lines. */
function linkTimeMs(output: string): number | undefined {
  const lines = output.split("\n");
  const start = lines.findIndex((l) => l.includes("consensus started"));
  if (start < 0) return undefined;
  const t0 = Date.parse(lines[start]!.split(" ")[0]!);
  const ups = new Map<number, number>();
  for (const l of lines.slice(start + 1)) {
    const m = /peer up peer=(\d+)/.exec(l);
    if (m !== null && !ups.has(Number(m[1]))) ups.set(Number(m[1]), Date.parse(l.split(" ")[0]!));
  }
  if (ups.size < N - 1) return undefined;
  return Math.max(...ups.values()) - t0;
}

/** The attacker's latest one-second report. */
function lastReport(p: NodeProcess): { open: number; upgraded: number; refused: number; closed: number } | undefined {
  const line = p.output.trim().split("\n").filter((l) => l.startsWith("{")).pop();
  return line === undefined ? undefined : (JSON.parse(line) as { open: number; upgraded: number; refused: number; closed: number });
}

test("70 idle connections from one source do not keep a restarted validator from linking", { timeout: 90_000 }, async (t) => {
  const nw = await startNetwork(N);
  netw = nw;
  t.diagnostic(`network in ${nw.dir}`);
  await waitForHeight(nw, 2, 30_000);
  const host = nw.cluster.configs[VICTIM]!.p2p.host;
  let attack: NodeProcess | undefined;
  const diag = () => `${logs(nw)}\n--- attacker${attack === undefined ? "" : ` pid ${attack.proc.pid}`}\n${attack?.output.slice(-600) ?? ""}`;
  let linkedMs = -1;
  const rate = await assertRateHolds(nw, MEASURED, 4_000, async () => {
    attack = spawnAttack("slots", [ATTACKER_HOST, host, String(nw.p2pPorts[VICTIM]), String(CONNECTIONS), "60000"]);
    // Every one of its connections answered (held open, or refused at the upgrade) before the restart.
    await until("the attacker's first round of connections", async () => ((lastReport(attack!)?.upgraded ?? 0) + (lastReport(attack!)?.refused ?? 0) >= CONNECTIONS ? true : undefined), 10_000, diag);
    t.diagnostic(`attacker before the restart: ${JSON.stringify(lastReport(attack!))}`);
    await killNode(nw, RESTARTED);
    const restarted = await startNode(nw, RESTARTED);
    const linked = await until("the restarted validator's consensus start", async () => (restarted.output.includes("consensus started") ? true : undefined), 30_000, diag).then(() =>
      until(`the restarted validator linked to its ${N - 1} peers`, async () => linkTimeMs(restarted.output), LINK_WAIT_MS, diag).catch((e: unknown) => {
        const ups = restarted.output.split("\n").filter((l) => l.includes("peer up")).length;
        throw new Error(`${String(e)}\n(${ups} of ${N - 1} peer-up lines after the restart)`);
      }),
    );
    linkedMs = linked;
    t.diagnostic(`attacker once linked: ${JSON.stringify(lastReport(attack!))}`);
  });
  t.diagnostic(`restarted validator linked to all peers ${linkedMs} ms after its consensus start under the attack`);
  t.diagnostic(`commit rate ${rate.baseline.toFixed(2)}/s before, ${rate.attacked.toFixed(2)}/s under the attack (${(100 * rate.ratio).toFixed(0)} %)`);
  assert.ok(linkedMs <= LINK_TARGET_MS, `the restarted validator linked after ${linkedMs} ms (target ${LINK_TARGET_MS} ms)\n${diag()}`);

  const m = await scrape(nw.clients[VICTIM]!);
  const refused = m.family("quire_p2p_refused_total").samples.filter((s) => s.labels["code"] === "SOURCE_PENDING_LIMIT" || s.labels["code"] === "SOURCE_BACKOFF");
  const refusedTotal = refused.reduce((a, s) => a + s.value, 0);
  t.diagnostic(`victim refused the attacker's upgrades ${refusedTotal} times (${refused.map((s) => `${s.labels["code"]}=${s.value}`).join(", ")}); attacker: ${attack!.output.trim().split("\n").pop()}`);
  assert.ok(refusedTotal > 0, `the victim's /metrics shows no per-source refusal\n${m.text}`);
  assert.equal(attack!.exited, false, diag());
});
