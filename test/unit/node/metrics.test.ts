// The node's metrics object: fed with known events, scraped through prom-client's registry and read back with the
// independent parser in test/support/promText.ts (never by rendering again with the code under test).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { blsVerifierMetrics, createMetrics, NO_SHELL_METRICS, recordCommit, shellMetrics, splitRefusals } from "../../../src/node/metrics.js";
import type { Metrics, ScrapeSources } from "../../../src/node/metrics.js";
import { createRpcMetrics } from "../../../src/rpc/metrics.js";
import { loadBlsBackend } from "../../../src/crypto/bls/backend.js";
import { keyGen } from "../../../src/crypto/bls/keygen.js";
import { MainThreadBlsVerifier } from "../../../src/crypto/bls/mainThread.js";
import { PromScrape, scrape } from "../../support/promText.js";

/** Scrape-time sources with values a test can move. */
function fakeSources() {
  const v = {
    height: 17,
    view: 5,
    peers: 3,
    mempoolTxs: 11,
    mempoolBytes: 2048,
    mempoolAccepted: 9,
    precheckHits: 6,
    precheckMisses: 2,
    precheckRefused: 1,
    uptime: 42,
    reputation: [{ validator: 0, score: 100 }, { validator: 3, score: 37 }] as { validator: number; score: number }[],
    p2p: { refused: { SOURCE_BACKOFF: 4, BAD_SIGNATURE: 2 } as Record<string, number>, refusedByPeer: { BANNED: 1 } as Record<string, number>, pendingHandshakes: 5, backedOffSources: 1, heldConnections: 7, bannedPeers: 1, bans: 2 },
  };
  const sources: ScrapeSources = {
    committedHeight: () => v.height,
    view: () => v.view,
    peersConnected: () => v.peers,
    mempoolTxs: () => v.mempoolTxs,
    mempoolBytes: () => v.mempoolBytes,
    mempoolAccepted: () => v.mempoolAccepted,
    precheckHits: () => v.precheckHits,
    precheckMisses: () => v.precheckMisses,
    precheckRefused: () => v.precheckRefused,
    uptimeSeconds: () => v.uptime,
    p2p: () => v.p2p,
    reputation: () => v.reputation,
  };
  return { v, sources };
}

/** One of every event, with known values. */
function feed(m: Metrics): void {
  const shell = shellMetrics(m);
  shell.messageIn("vote");
  shell.messageIn("vote");
  shell.messageIn("proposal");
  shell.messageOut("proposal", 3);
  shell.messageOut("vote", 1);
  shell.rejected("WIRE_TRUNCATED", 2);
  shell.viewEntered(1, 1_000);
  shell.viewEntered(2, 1_250); // view 1 lasted 0.25 s
  shell.viewEntered(2, 1_900); // not a new view: nothing observed
  shell.viewEntered(1, 2_000); // a lower view never ends the current one
  shell.viewEntered(5, 3_250); // view 2 lasted 2 s (views 3 and 4 skipped)
  shell.storeWrite(0.002);
  shell.storeWrite(0.0004);
  shell.syncBlocksApplied(4);
  shell.proposed();
  shell.txsGossiped(10);
  recordCommit(m, 10_000, 7, 10_300); // 0.3 s
  recordCommit(m, 20_050, 0, 20_000); // the proposer's clock is ahead: 0, not -0.05
  const bls = blsVerifierMetrics(m);
  bls.setQueueLength(9);
  bls.setQueueLength(4);
  bls.observeJob(3, true);
  bls.observeJob(40, false);
  bls.observeBatch(2, false, 12);
  bls.observeBatch(5, true, 1.5);
}

/** Every node family: its type. */
const FAMILIES: Record<string, string> = {
  quire_view_duration_seconds: "histogram",
  quire_consensus_messages_received_total: "counter",
  quire_consensus_messages_sent_total: "counter",
  quire_rejected_total: "counter",
  quire_proposals_total: "counter",
  quire_store_write_seconds: "histogram",
  quire_sync_blocks_applied_total: "counter",
  quire_gossip_txs_total: "counter",
  quire_commit_latency_seconds: "histogram",
  quire_committed_txs_total: "counter",
  quire_committed_height: "gauge",
  quire_view: "gauge",
  quire_peers_connected: "gauge",
  quire_mempool_txs: "gauge",
  quire_mempool_bytes: "gauge",
  quire_mempool_accepted_total: "counter",
  quire_uptime_seconds: "gauge",
  quire_reputation_score: "gauge",
  quire_bls_queue_length: "gauge",
  quire_bls_job_seconds: "histogram",
  quire_bls_jobs_total: "counter",
  quire_bls_batch_work_seconds: "histogram",
  quire_bls_batches_total: "counter",
  quire_signature_precheck_hits_total: "counter",
  quire_signature_precheck_misses_total: "counter",
  quire_signature_precheck_refused_total: "counter",
  quire_p2p_refused_total: "counter",
  quire_p2p_refused_by_peer_total: "counter",
  quire_p2p_pending_handshakes: "gauge",
  quire_p2p_backoff_sources: "gauge",
  quire_p2p_held_connections: "gauge",
  quire_p2p_banned_peers: "gauge",
  quire_peer_bans_total: "counter",
};

const close = (a: number | undefined, b: number) => a !== undefined && Math.abs(a - b) < 1e-9;

test("node metrics: every family is present with its type, help and unit conventions", async () => {
  const s = await scrape(createMetrics(new Registry(), fakeSources().sources).registry);
  assert.deepEqual(Object.fromEntries([...s.families.values()].map((f) => [f.name, f.type])), FAMILIES);
  for (const f of s.families.values()) {
    assert.ok((f.help ?? "").length > 15, `${f.name} has a help text`);
    if (f.type === "counter") assert.match(f.name, /_total$/);
    if (f.type === "histogram") assert.match(f.name, /_seconds$/, "every histogram is a time in seconds");
  }
});

test("node metrics: after one of every event, each family reads back the value fed", async () => {
  const { sources } = fakeSources();
  const m = createMetrics(new Registry(), sources);
  feed(m);
  const s = await scrape(m.registry);

  // Histograms: count, sum and the bucket that separates the observations.
  assert.equal(s.value("quire_view_duration_seconds_count"), 2);
  assert.ok(close(s.value("quire_view_duration_seconds_sum"), 2.25));
  assert.equal(s.value("quire_view_duration_seconds_bucket", { le: "0.25" }), 1, "le is inclusive: 0.25 s is in the 0.25 bucket");
  assert.equal(s.value("quire_view_duration_seconds_bucket", { le: "1" }), 1);
  assert.equal(s.value("quire_view_duration_seconds_bucket", { le: "2" }), 2);
  assert.equal(s.value("quire_commit_latency_seconds_count"), 2);
  assert.ok(close(s.value("quire_commit_latency_seconds_sum"), 0.3));
  assert.equal(s.value("quire_commit_latency_seconds_bucket", { le: "0.01" }), 1, "the clock-skewed commit lands in the lowest bucket");
  assert.equal(s.value("quire_store_write_seconds_count"), 2);
  assert.ok(close(s.value("quire_store_write_seconds_sum"), 0.0024));
  assert.equal(s.value("quire_store_write_seconds_bucket", { le: "0.0005" }), 1);
  assert.equal(s.value("quire_bls_job_seconds_count"), 2);
  assert.ok(close(s.value("quire_bls_job_seconds_sum"), 0.043), "milliseconds from the pool become seconds");
  assert.equal(s.value("quire_bls_job_seconds_bucket", { le: "0.005" }), 1);
  assert.equal(s.value("quire_bls_batch_work_seconds_count"), 2);
  assert.ok(close(s.value("quire_bls_batch_work_seconds_sum"), 0.0135));

  // Counters fed by events.
  assert.equal(s.count("quire_consensus_messages_received_total", { kind: "vote" }), 2);
  assert.equal(s.count("quire_consensus_messages_received_total", { kind: "proposal" }), 1);
  assert.equal(s.count("quire_consensus_messages_sent_total", { kind: "proposal" }), 3, "one per recipient");
  assert.equal(s.count("quire_consensus_messages_sent_total", { kind: "vote" }), 1);
  assert.equal(s.count("quire_sync_blocks_applied_total"), 4);
  assert.equal(s.count("quire_committed_txs_total"), 7);
  assert.equal(s.count("quire_bls_jobs_total", { result: "valid" }), 1);
  assert.equal(s.count("quire_bls_jobs_total", { result: "invalid" }), 1);
  assert.equal(s.count("quire_bls_batches_total", { outcome: "retried" }), 1);
  assert.equal(s.count("quire_bls_batches_total", { outcome: "passed" }), 1);
  // Counters fed by both the shell's events and (for now) its running totals.
  assert.equal(s.count("quire_rejected_total", { code: "WIRE_TRUNCATED" }), 2);
  assert.equal(s.count("quire_proposals_total"), 1);
  assert.equal(s.count("quire_gossip_txs_total"), 10);

  // Read at scrape time.
  assert.equal(s.value("quire_committed_height"), 17);
  assert.equal(s.value("quire_view"), 5);
  assert.equal(s.value("quire_peers_connected"), 3);
  assert.equal(s.value("quire_mempool_txs"), 11);
  assert.equal(s.value("quire_mempool_bytes"), 2048);
  assert.equal(s.value("quire_uptime_seconds"), 42);
  assert.equal(s.value("quire_reputation_score", { validator: "0" }), 100);
  assert.equal(s.value("quire_reputation_score", { validator: "3" }), 37);
  assert.equal(s.value("quire_bls_queue_length"), 4, "a gauge holds the last value set");
  assert.equal(s.count("quire_mempool_accepted_total"), 9);
  assert.equal(s.count("quire_signature_precheck_hits_total"), 6);
  assert.equal(s.count("quire_signature_precheck_misses_total"), 2);
  assert.equal(s.count("quire_signature_precheck_refused_total"), 1);

  // The guard against a series defined but never fed: after one of every event, no family is all zeros.
  for (const f of s.families.values()) assert.ok(f.samples.some((x) => x.value !== 0), `${f.name} was fed`);
});

test("node metrics: followed totals grow by what their source grew, however often Prometheus scrapes", async () => {
  const { v, sources } = fakeSources();
  const m = createMetrics(new Registry(), sources);
  await scrape(m.registry);
  await scrape(m.registry);
  v.mempoolAccepted += 5;
  v.height = 18;
  v.mempoolTxs = 0;
  let s = await scrape(m.registry);
  assert.equal(s.count("quire_mempool_accepted_total"), 14);
  assert.equal(s.value("quire_committed_height"), 18);
  assert.equal(s.value("quire_mempool_txs"), 0);
  // A total that goes down (a source replaced) never makes a counter go down.
  v.mempoolAccepted = 3;
  s = await scrape(m.registry);
  assert.equal(s.count("quire_mempool_accepted_total"), 14);
  v.mempoolAccepted = 4;
  s = await scrape(m.registry);
  assert.equal(s.count("quire_mempool_accepted_total"), 15);
});

test("node metrics: without sources the gauges are set by hand", async () => {
  const m = createMetrics(new Registry());
  m.height.set(3);
  const s = await scrape(m.registry);
  assert.equal(s.value("quire_committed_height"), 3);
  assert.equal(s.count("quire_rejected_total", { code: "CORE_STALE_VIEW" }), 0);
  assert.equal(s.count("quire_proposals_total"), 0);
  NO_SHELL_METRICS.rejected("X", 1); // accepted and discarded
});

test("node and RPC series share one registry and one scrape, as GET /metrics serves them", async () => {
  const registry = new Registry();
  const m = createMetrics(registry, fakeSources().sources);
  const rpc = createRpcMetrics(registry);
  recordCommit(m, 0, 5, 1000);
  rpc.requests.inc({ route: "metrics", status: "200" });
  const s = new PromScrape(await registry.metrics());
  assert.equal(s.count("quire_committed_txs_total"), 5);
  assert.equal(s.count("quire_rpc_requests_total", { route: "metrics", status: "200" }), 1);
  assert.equal(registry.contentType, "text/plain; version=0.0.4; charset=utf-8");
});

test("BLS pool metrics: a real verifier reports valid and invalid jobs and a retried batch", async () => {
  const b = await loadBlsBackend("blst");
  const m = createMetrics(new Registry());
  const jobs = [1, 2, 3].map((i) => {
    const sk = b.secretKeyFromBytes(keyGen(new Uint8Array(32).fill(i)));
    const message = new Uint8Array([i, i, i]);
    return { message, publicKey: b.publicKeyToBytes(b.publicKeyOf(sk)), signature: b.signatureToBytes(b.sign(sk, message), "compressed") };
  });
  const forged = { ...jobs[2]!, message: new Uint8Array([9]) };
  const v = await MainThreadBlsVerifier.create({ maxBatchSize: 3, maxBufferWaitMs: 1 }, { metrics: blsVerifierMetrics(m) });
  try {
    assert.deepEqual(await v.verifyMany([jobs[0]!, jobs[1]!, forged]), [true, true, false]);
  } finally {
    await v.close();
  }
  const s = await scrape(m.registry);
  assert.equal(s.count("quire_bls_jobs_total", { result: "valid" }), 2);
  assert.equal(s.count("quire_bls_jobs_total", { result: "invalid" }), 1);
  assert.equal(s.count("quire_bls_batches_total", { outcome: "retried" }), 1, "the forged set fails the batch check");
  assert.equal(s.value("quire_bls_job_seconds_count"), 3);
  assert.equal(s.value("quire_bls_queue_length"), 0);
});

test("node metrics: the p2p transport's refusals by code, pending handshakes, backed-off sources and bans", async () => {
  const { v, sources } = fakeSources();
  const m = createMetrics(new Registry(), sources);
  let s = await scrape(m.registry);
  assert.equal(s.count("quire_p2p_refused_total", { code: "SOURCE_BACKOFF" }), 4);
  assert.equal(s.count("quire_p2p_refused_total", { code: "BAD_SIGNATURE" }), 2);
  assert.equal(s.count("quire_p2p_refused_by_peer_total", { code: "BANNED" }), 1);
  assert.equal(s.value("quire_p2p_pending_handshakes"), 5);
  assert.equal(s.value("quire_p2p_backoff_sources"), 1);
  assert.equal(s.value("quire_p2p_held_connections"), 7);
  assert.equal(s.value("quire_p2p_banned_peers"), 1);
  assert.equal(s.count("quire_peer_bans_total"), 2);
  // Running totals are followed: a new code appears, grown totals add what they grew.
  v.p2p = { ...v.p2p, refused: { SOURCE_BACKOFF: 10, BAD_SIGNATURE: 2, SOURCE_PENDING_LIMIT: 3 }, pendingHandshakes: 0 };
  s = await scrape(m.registry);
  assert.equal(s.count("quire_p2p_refused_total", { code: "SOURCE_BACKOFF" }), 10);
  assert.equal(s.count("quire_p2p_refused_total", { code: "SOURCE_PENDING_LIMIT" }), 3);
  assert.equal(s.value("quire_p2p_pending_handshakes"), 0);
});

test("splitRefusals: the transport's own codes and the peers' (peer:CODE) go to separate families", () => {
  assert.deepEqual(splitRefusals({ BAD_SIGNATURE: 3, "peer:BANNED": 2, SOURCE_BACKOFF: 1 }), { refused: { BAD_SIGNATURE: 3, SOURCE_BACKOFF: 1 }, refusedByPeer: { BANNED: 2 } });
});
