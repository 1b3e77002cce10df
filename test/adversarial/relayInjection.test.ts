/**
 * Issue 11, "frame injection through a relay": a TCP relay (attacks/relay.ts, on ATTACKER_HOST) sits between
 * validators 0 and 1 of a real 4-node network (node 0's config lists the relay as validator 1's address; only node 0
 * dials 1). It relays the genuine BLS handshake, then writes a forged data frame into node 0's stream: a TxBatch
 * with a KV put, as if validator 1 had gossiped it.
 *
 * On the code before the authenticated channel (commit 5dc6a78, with this test and relay copied in) it failed in 4 of
 * 4 runs, 6–12 s each: node 0 took the forged frame as validator 1's gossip and the put was committed within the 8
 * blocks after the injection ("the forged put was committed (node 0)"). With the channel, node 0 refuses the link with
 * BAD_FRAME_TAG (the injected frame has no valid tag), the put never reaches a mempool, the relay then passes
 * later connections through untouched, node 0 relinks with node 1 through it, and the network keeps committing.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { freePorts } from "../../src/node/ports.js";
import { logs, startNetwork, stopAll, until, waitForHeight } from "../e2e/support/network.js";
import type { NodeProcess, TestNetwork } from "../e2e/support/network.js";
import { ATTACKER_HOST, spawnAttack } from "./support.js";

let net: TestNetwork | undefined;
after(() => stopAll(net));

const KEY = "relay-injected";
const VALUE = "forged-by-the-relay";
/** Connections the relay tampers with; the ones after are relayed faithfully. */
const INJECTIONS = 2;

test("a relay between two validators cannot inject a frame: the link is refused (BAD_FRAME_TAG), the forged tx never commits, the nodes relink and keep committing", { timeout: 90_000 }, async (t) => {
  let relay: NodeProcess | undefined;
  net = await startNetwork(4, {
    prepare: async (layout) => {
      const configOf = async (i: number) => JSON.parse(await readFile(layout.configFiles[i]!, "utf8")) as { p2p: { port: number }; peers: { host: string; port: number }[] };
      const upstream = (await configOf(1)).p2p.port;
      const [listenPort] = await freePorts(1, ATTACKER_HOST);
      relay = spawnAttack("relay", ["--listen-port", String(listenPort), "--upstream-port", String(upstream), "--key", KEY, "--value", VALUE, "--inject", String(INJECTIONS), "--max-seconds", "80"]);
      await until("the relay listening", async () => (relay!.output.includes("relay: listening") ? true : relay!.exited ? Promise.reject(new Error(relay!.output)) : undefined), 10_000);
      const c0 = await configOf(0);
      c0.peers[1] = { host: ATTACKER_HOST, port: listenPort! };
      await writeFile(layout.configFiles[0]!, JSON.stringify(c0, null, 2));
    },
  });
  const nw = net;
  const diag = () => `${logs(nw)}\n--- relay\n${relay?.output ?? ""}`;
  await until("the relay's first injection", async () => (relay!.output.includes("relay: injected") ? true : undefined), 30_000, diag);
  // Polled: the injection can come before every node's RPC listens (startNetwork does not wait for it).
  const atInjection = await until("every node's status", async () => Math.max(...(await Promise.all(nw.clients.map((c) => c.status()))).map((s) => s.committedHeight)), 30_000, diag);
  // 8 more blocks is two full leader rotations: node 0, whose mempool the forged put would have entered, proposed at
  // least twice meanwhile.
  await waitForHeight(nw, atInjection + 8, 30_000);
  for (let i = 0; i < nw.clients.length; i++) assert.equal(await nw.clients[i]!.kv(KEY), null, `the forged put was committed (node ${i})\n${diag()}`);
  // Node 0 refused each tampered link with the tag code…
  const refusals = await until("node 0 refusing the tampered links", async () => {
    const n = nw.nodes[0]!.output.match(/peer down[^\n]*BAD_FRAME_TAG/g)?.length ?? 0;
    return n >= INJECTIONS ? n : undefined;
  }, 20_000, diag);
  // …then relinked through the relay, which passes later connections through untouched, and all keep committing.
  await until("node 0 linked with all three peers again", async () => ((await nw.clients[0]!.status()).peersConnected === 3 ? true : undefined), 20_000, diag);
  const relinked = Math.max(...(await Promise.all(nw.clients.map((c) => c.status()))).map((s) => s.committedHeight));
  await waitForHeight(nw, relinked + 3, 30_000);
  for (let i = 0; i < nw.clients.length; i++) assert.equal(await nw.clients[i]!.kv(KEY), null, `the forged put was committed (node ${i})\n${diag()}`);
  const connections = relay!.output.split("relay: connection").length - 1;
  const injected = relay!.output.split("relay: injected").length - 1;
  assert.equal(injected, INJECTIONS);
  t.diagnostic(`relay connections ${connections}, injected ${injected}, BAD_FRAME_TAG refusals logged by node 0: ${refusals}; height ${atInjection} at the first injection, ${relinked} at relink, forged key absent on all 4 nodes`);
  for (let i = 0; i < 4; i++) assert.equal(nw.nodes[i]!.exited, false, `node ${i} exited\n${diag()}`);
});
