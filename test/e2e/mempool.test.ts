/**
 * The mempool-full path through real nodes: a 4-validator network whose nodes all run with `--set mempool.maxTxs=8`
 * (so one RPC client may hold 4 pending txs: the per-client quota is half the pool). Submissions past that get 503
 * MEMPOOL_FULL with Retry-After; every transaction the node acknowledged (202, or "accepted" inside a batch) is
 * committed on every node, although the peers' pools are as small and refuse gossip when full; once the pool has
 * drained, a new submission is accepted again.
 *
 * The test owns its network; `after` stops every process by pid even when it failed.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { encodeKvTx } from "../../src/chain/app/kvTx.js";
import { fromHex, toHex, utf8 } from "../../src/util/bytes.js";
import { logs, startNetwork, stopAll, until, waitForHeight } from "./support/network.js";
import type { TestNetwork } from "./support/network.js";

const N = 4;
const MAX_TXS = 8;
/** One client's share of the pool (Mempool's default maxTxsPerClient: half of maxTxs). */
const CLIENT_QUOTA = MAX_TXS / 2;
const TARGET = 0;
let netw: TestNetwork | undefined;

after(async () => {
  await stopAll(netw);
});

async function untilDrained(nw: TestNetwork): Promise<void> {
  await until("every pool to drain", async () => ((await Promise.all(nw.clients.map((c) => c.status()))).every((s) => s.mempoolSize === 0) ? true : undefined), 30_000, () => logs(nw));
}

/** A node that answered 202 holds the tx: pending in its pool, or already committed (checked at once, not eventually). */
async function assertHeld(nw: TestNetwork, node: number, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    const s = await nw.clients[node]!.txStatus(fromHex(id));
    assert.ok(s !== null, `tx ${id.slice(0, 16)} was acknowledged by node ${node}, which does not know it right after`);
  }
}

let nonce = 0;
function freshTx(): Uint8Array {
  const n = new Uint8Array(8);
  new DataView(n.buffer).setUint32(4, ++nonce);
  return encodeKvTx({ op: "put", nonce: n, key: utf8(`full/${nonce}`), value: utf8(`v${nonce}`) });
}

interface Answer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly doc: { id?: string; error?: { code?: string }; ids?: (string | null)[]; results?: { status: string; id?: string; retryAfterSec?: number }[] };
}

async function post(url: string, type: string, body: Uint8Array | string): Promise<Answer> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": type }, body, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/, text);
  return { status: res.status, retryAfter: res.headers.get("retry-after"), doc: JSON.parse(text) as Answer["doc"] };
}

/** A 503 MEMPOOL_FULL with a Retry-After of whole seconds, at least 1 (README: `503 MEMPOOL_FULL` + `Retry-After`). */
function assertFull(a: Answer, what: string): number {
  assert.equal(a.status, 503, `${what}: ${JSON.stringify(a.doc)}`);
  assert.equal(a.doc.error?.code, "MEMPOOL_FULL", what);
  assert.match(a.retryAfter ?? "", /^[1-9]\d*$/, `${what}: Retry-After ${a.retryAfter}`);
  return Number(a.retryAfter);
}

test("a full mempool answers 503 MEMPOOL_FULL with Retry-After, loses nothing it acknowledged, and accepts again once drained", { timeout: 120_000 }, async (t) => {
  const nw = await startNetwork(N, { nodeArgs: ["--set", `mempool.maxTxs=${MAX_TXS}`] });
  netw = nw;
  await waitForHeight(nw, 1, 30_000);
  const url = nw.urls[TARGET]!;
  const acknowledged: string[] = [];

  // One batch of 3x the quota: the node offers its txs one after another within one request, so the pool cannot drain
  // in between. The first CLIENT_QUOTA are admitted at most (fewer if earlier txs still wait), then one "full" and
  // the rest skipped, under a 503 that still lists what was admitted.
  const batch = Array.from({ length: 3 * CLIENT_QUOTA }, freshTx);
  const b = await post(`${url}/v1/txs`, "application/json", JSON.stringify({ txs: batch.map(toHex) }));
  const retry = assertFull(b, "POST /v1/txs over the quota");
  const results = b.doc.results ?? [];
  assert.equal(results.length, batch.length);
  const admitted = results.findIndex((r) => r.status !== "accepted");
  assert.ok(admitted >= 0 && admitted <= CLIENT_QUOTA, `${admitted} admitted of a quota of ${CLIENT_QUOTA}: ${JSON.stringify(results)}`);
  assert.deepEqual(results[admitted], { status: "full", retryAfterSec: retry });
  for (const r of results.slice(admitted + 1)) assert.equal(r.status, "skipped");
  results.slice(0, admitted).forEach((r, i) => {
    assert.equal(b.doc.ids?.[i], r.id);
    acknowledged.push(r.id!);
  });
  assert.ok(b.doc.ids?.slice(admitted).every((id) => id === null));
  await assertHeld(nw, TARGET, acknowledged);

  // Single submissions: rounds of a burst of 3x the quota to every node at once, into drained pools, each answered
  // 202 or 503 MEMPOOL_FULL and nothing else (a block may take some txs while a burst arrives, so the split is not
  // exact). With every pool full of its own clients' txs, the nodes also refuse each other's gossip.
  let acceptedSingles = 0;
  let fullSingles = 0;
  for (let round = 0; round < 3; round++) {
    await untilDrained(nw);
    const answers = await Promise.all(
      nw.urls.flatMap((u) => Array.from({ length: 3 * CLIENT_QUOTA }, () => post(`${u}/v1/tx`, "application/octet-stream", freshTx()))),
    );
    for (const [k, a] of answers.entries()) {
      if (a.status === 202) {
        assert.match(a.doc.id ?? "", /^[0-9a-f]{64}$/);
        acknowledged.push(a.doc.id!);
        acceptedSingles++;
        await assertHeld(nw, Math.floor(k / (3 * CLIENT_QUOTA)), [a.doc.id!]);
      } else {
        assertFull(a, "POST /v1/tx over the quota");
        fullSingles++;
      }
    }
  }
  assert.ok(acceptedSingles >= N && fullSingles >= N, `${acceptedSingles} singles accepted, ${fullSingles} refused full`);

  // The path where a tx could get lost was taken: nodes refused each other's gossip because their pools were full.
  const gossipRefused = (await Promise.all(nw.clients.map((c) => c.metrics())))
    .map((m) => Number(/^quire_rejected_total\{code="GOSSIP_MEMPOOL_FULL"\} (\d+)$/m.exec(m)?.[1] ?? 0))
    .reduce((a, b) => a + b, 0);
  assert.ok(gossipRefused > 0, "no node refused gossip: the pools were never full when peers' txs arrived");

  // Nothing acknowledged is lost: every id commits on every node.
  for (const id of acknowledged) {
    for (let node = 0; node < N; node++) {
      await until(
        `tx ${id.slice(0, 16)} committed on node ${node}`,
        async () => ((await nw.clients[node]!.txStatus(fromHex(id)))?.status === "committed" ? true : undefined),
        30_000,
        () => logs(nw),
      );
    }
  }

  // Drained (what Retry-After invites a client to wait for): every node accepts a new submission, and it commits.
  await untilDrained(nw);
  for (let node = 0; node < N; node++) {
    const again = await post(`${nw.urls[node]}/v1/tx`, "application/octet-stream", freshTx());
    assert.equal(again.status, 202, `node ${node} after the drain: ${JSON.stringify(again.doc)}`);
    await until(`the new tx committed on node ${node}`, async () => ((await nw.clients[node]!.txStatus(fromHex(again.doc.id!)))?.status === "committed" ? true : undefined), 30_000, () => logs(nw));
  }
  for (let i = 0; i < N; i++) assert.equal(nw.nodes[i]!.exited, false, `node ${i} exited\n${logs(nw)}`);
  t.diagnostic(`${acknowledged.length} txs acknowledged and committed on every node; ${gossipRefused} gossiped txs refused full; singles: ${acceptedSingles} accepted, ${fullSingles} refused full`);
});
