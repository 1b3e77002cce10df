/**
 * Followers end to end (issue 16): 4 validators and 2 followers as real processes — follower 0 follows the validators,
 * follower 1 follows follower 0. Client load goes to the followers only (`quire load --rpc f0,f1`), which forward it to
 * validators; then every tx a follower acknowledged is committed on every follower (`GET /v1/tx/:id`), the followers'
 * blocks are the validators' blocks, their KV state answers, a follower's `/v1/stream` delivers frames, and a follower
 * whose validator is killed follows on from the fallback of its window.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { encodeKvTx } from "../../src/chain/app/kvTx.js";
import type { LoadResult } from "../../src/cli/load.js";
import { defaultHasher } from "../../src/crypto/hash/backends.js";
import { RpcClient } from "../../src/rpc/client.js";
import { subscribeBlocks } from "../../src/rpc/streamClient.js";
import type { BlockSummary } from "../../src/rpc/api.js";
import { toHex, utf8 } from "../../src/util/bytes.js";
import { logs, spawnQuire, startNetwork, stopAll, until, waitForHeight } from "./support/network.js";
import type { TestNetwork } from "./support/network.js";

let net: TestNetwork | undefined;
after(() => stopAll(net));

function followerLogs(n: TestNetwork): string {
  return n.cluster.followers.children.map((c, k) => `--- follower ${k}${c.exited ? ` exited ${c.exitCode}` : ""}\n${c.output.split("\n").slice(-15).join("\n")}`).join("\n") + "\n" + logs(n);
}

test("followers: load through followers only is committed and reported by every follower, with the validators' blocks", async () => {
  net = await startNetwork(4, { tmpfs: true, followers: 2, followerOf: (k) => (k === 1 ? 0 : null) });
  const n = net;
  const fUrls = n.cluster.followers.urls;
  const followers = fUrls.map((url) => new RpcClient({ url, timeoutMs: 5_000 }));
  await waitForHeight(n, 1, 40_000);
  await until("both followers past height 1", async () => ((await Promise.all(followers.map((f) => f.status()))).every((s) => s.committedHeight >= 1) ? true : undefined), 30_000, () => followerLogs(n));

  // Status: role, upstream in use (follower 1 follows follower 0), lag.
  const [s0, s1] = await Promise.all(followers.map((f) => f.status()));
  assert.ok(s0!.follower !== undefined && s1!.follower !== undefined, "a follower's status carries its follower section");
  assert.ok(n.urls.includes(s0!.follower.upstream!), `follower 0 streams from a validator, not ${s0!.follower.upstream}`);
  assert.equal(s1!.follower.upstream, fUrls[0]);

  // The stream of the follower of a follower: frames arrive, in height order.
  const frames: BlockSummary[] = [];
  const sub = subscribeBlocks(fUrls[1]!, { onBlock: (b) => frames.push(b) });

  // Load against the followers only.
  const jsonFile = join(n.dir, "load.json");
  const load = spawnQuire(["load", "--rpc", fUrls.join(","), "--rate", "300", "--duration", "4", "--batch", "50", "--drain-s", "30", "--json", jsonFile]);
  const code = await load.exit;
  assert.equal(code, 0, `quire load failed:\n${load.output}\n${followerLogs(n)}`);
  const result = JSON.parse(await readFile(jsonFile, "utf8")) as LoadResult;
  assert.ok(result.accepted > 0, `the followers acknowledged nothing:\n${load.output}`);
  assert.equal(result.lost, 0, load.output);
  assert.deepEqual(result.perNode.map((p) => p.url), fUrls);
  for (const p of result.perNode) assert.ok(p.committed >= result.accepted, `${p.url} committed ${p.committed} of the run's acknowledged txs:\n${load.output}`);

  // Txs of our own through follower 1 (JSON batch and single route): acknowledged, pending or committed at once on
  // follower 1, committed on both followers soon after.
  const txs = Array.from({ length: 20 }, (_, i) => encodeKvTx({ op: "put", nonce: new Uint8Array(8).fill(i + 1), key: utf8(`follow/${i}`), value: utf8(`v${i}`) }));
  const batch = await followers[1]!.submitTxs(txs.slice(0, 19));
  assert.ok(batch.results.every((r) => r.status === "accepted"), JSON.stringify(batch.results));
  const single = await followers[1]!.submitTx(txs[19]!);
  assert.equal(single.status, "accepted");
  const ids = txs.map((t) => defaultHasher().digest(t));
  for (const id of ids) assert.notEqual(await followers[1]!.txStatus(id), null, `follower 1 forgot the tx it acknowledged: ${toHex(id)}`);
  await until(
    "every acknowledged tx committed on every follower",
    async () => {
      const st = await Promise.all(followers.flatMap((f) => ids.map((id) => f.txStatus(id))));
      return st.every((s) => s?.status === "committed") ? true : undefined;
    },
    30_000,
    () => followerLogs(n),
  );
  assert.deepEqual(await followers[0]!.kv(utf8("follow/7")), utf8("v7"));

  // The followers' blocks are the validators' blocks.
  const top = Math.min(...(await Promise.all(followers.map((f) => f.status()))).map((s) => s.committedHeight));
  const from = Math.max(1, top - 200);
  const [v, a, b] = await Promise.all([n.clients[0]!.blocks(from, top), followers[0]!.blocks(from, top), followers[1]!.blocks(from, top)]);
  assert.equal(a.length, top - from + 1);
  assert.deepEqual(a.map((x) => toHex(x.hash)), v.slice(0, a.length).map((x) => toHex(x.hash)));
  assert.deepEqual(b.map((x) => toHex(x.hash)), v.slice(0, b.length).map((x) => toHex(x.hash)));

  await until("stream frames from follower 1", async () => (frames.length >= 3 ? true : undefined), 20_000, () => followerLogs(n));
  sub.close();
  for (let i = 1; i < frames.length; i++) assert.equal(frames[i]!.header.height, frames[i - 1]!.header.height + 1);
  const fv = await n.clients[0]!.block(frames[0]!.header.height);
  assert.equal(toHex(frames[0]!.hash), toHex(fv!.hash));

  // Lag metric on the follower's /metrics.
  assert.match(await followers[0]!.metrics(), /^quire_follower_lag_blocks \d+$/m);

  // The validator follower 0 streams from is killed: it moves to the fallback of its window and keeps following.
  const upstream = (await followers[0]!.status()).follower!.upstream!;
  const victim = n.urls.indexOf(upstream);
  assert.ok(victim >= 0);
  await n.cluster.kill(victim);
  const before = (await followers[0]!.status()).committedHeight;
  const moved = await until(
    "follower 0 following on from another validator",
    async () => {
      const st = await followers[0]!.status();
      return st.committedHeight >= before + 3 && st.follower!.upstream !== upstream ? st : undefined;
    },
    30_000,
    () => followerLogs(n),
  );
  assert.ok(n.urls.includes(moved.follower!.upstream!));
  // Follower 1, behind follower 0, moves on with it.
  await until("follower 1 following on", async () => ((await followers[1]!.status()).committedHeight >= before + 2 ? true : undefined), 30_000, () => followerLogs(n));
});
