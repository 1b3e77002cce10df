/**
 * A Byzantine validator is contained (issue 10, item 5): three honest validators, and in place of validator 3 an
 * attacker process (support/attacker.ts) that authenticates with validator 3's real key over the shipping transport
 * and floods every honest node with undecodable payloads, wrong-signature votes and timeouts, and stale votes. The
 * honest three keep committing, each one's `/metrics` shows the rejections by code (WIRE_*, BAD_SIGNATURE,
 * VIEW_TOO_OLD) and the attacker muted (PEER_MUTED), no honest node crashes, and `quire audit` finds the three agreeing.
 *
 * `after` stops every process (nodes and attacker) by pid even when the test failed.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { assertAudited, heightsOf, logs, spawnTracked, startNetwork, stopAll, until, waitForHeight } from "./support/network.js";
import type { TestNetwork } from "./support/network.js";
import { scrape } from "../support/promText.js";

const N = 4;
const ATTACKER = 3;
const HONEST = [0, 1, 2];
const ATTACKER_JS = fileURLToPath(new URL("./support/attacker.js", import.meta.url));
/** The flood's upper bound: the test ends it with SIGTERM once it has seen what it needs. */
const FLOOD_MS = 60_000;
let netw: TestNetwork | undefined;

after(async () => {
  await stopAll(netw);
});

test("a validator flooding undecodable frames, wrong signatures and stale views: the others keep committing, /metrics shows the rejections", { timeout: 120_000 }, async (t) => {
  const nw = await startNetwork(N, { baseTimeoutMs: 500 });
  netw = nw;
  t.diagnostic(`network in ${nw.dir}`);
  await waitForHeight(nw, 2, 30_000);
  // Validator 3 leaves; the attacker takes its key, config and port.
  assert.equal(await nw.cluster.stopNode(ATTACKER), 0, logs(nw));
  const attacker = spawnTracked(process.execPath, [ATTACKER_JS, nw.configFiles[ATTACKER]!, String(FLOOD_MS), ...HONEST.map((i) => `${i}=${nw.urls[i]}`)]);
  const diag = () => `${logs(nw)}\n--- attacker pid ${attacker.proc.pid}${attacker.exited ? ` exited ${attacker.exitCode}` : ""}\n${attacker.output.slice(-3000)}`;

  // Under the flood (the attacker linked to all three), the honest three commit on.
  await until(
    "the attacker linked to every honest node",
    async () => {
      const s = await Promise.all(HONEST.map((i) => nw.clients[i]!.status()));
      return s.every((x) => x.peersConnected === N - 1) ? true : undefined;
    },
    20_000,
    diag,
  );
  const during = Math.max(...(await heightsOf(nw, HONEST)));
  await waitForHeight(nw, during + 4, 40_000, HONEST);
  assert.equal(attacker.exited, false, `the attacker stopped before the honest nodes committed under its flood\n${diag()}`);

  for (const i of HONEST) {
    const m = await scrape(nw.clients[i]!);
    const rejected = (code: string) => m.count("quire_rejected_total", { code });
    const wire = m.family("quire_rejected_total").samples.filter((s) => s.labels["code"]?.startsWith("WIRE_") === true).reduce((a, s) => a + s.value, 0);
    const seen = { wire, badSignature: rejected("BAD_SIGNATURE"), viewTooOld: rejected("VIEW_TOO_OLD"), muted: rejected("PEER_MUTED") };
    t.diagnostic(`node ${i} rejected: ${JSON.stringify(seen)}`);
    assert.ok(seen.wire > 0, `node ${i} counted no undecodable message\n${m.text}`);
    assert.ok(seen.badSignature > 0, `node ${i} counted no BAD_SIGNATURE\n${m.text}`);
    assert.ok(seen.viewTooOld > 0, `node ${i} counted no VIEW_TOO_OLD\n${m.text}`);
    assert.ok(seen.muted > 0, `node ${i} never muted the attacker\n${m.text}`);
  }

  attacker.proc.kill("SIGTERM");
  const code = await until("the attacker to end its flood", async () => (attacker.exited ? attacker.exitCode : undefined), 10_000, diag);
  assert.equal(code, 0, diag());
  t.diagnostic(`attacker sent: ${attacker.output.trim().split("\n").pop()}`);
  for (const i of HONEST) assert.equal(nw.nodes[i]!.exited, false, `node ${i} exited\n${logs(nw)}`);
  await assertAudited(nw, HONEST);
});
