/**
 * The operator routes of a real `QuireNode` in this process (no child processes): a validator of a 4-validator genesis
 * whose peers never start reports NO_PEERS (503 on `GET /v1/health`), lists its three peers as disconnected and serves
 * its config without the secret key; a single validator (a quorum by itself) commits alone and is healthy.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadBlsBackend } from "../../../src/crypto/bls/backend.js";
import { loadNodeConfig } from "../../../src/node/config.js";
import { writeNetwork } from "../../../src/node/network.js";
import type { NetworkLayout } from "../../../src/node/network.js";
import { QuireNode } from "../../../src/node/node.js";
import { SILENT } from "../../../src/node/logger.js";
import { freePorts } from "../../../src/node/ports.js";
import { toHex } from "../../../src/util/bytes.js";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function network(validators: number): Promise<NetworkLayout> {
  const dir = await mkdtemp(join(tmpdir(), "quire-operator-"));
  dirs.push(dir);
  const free = await freePorts(2 * validators);
  const ports = Array.from({ length: validators }, (_, i) => ({ p2p: free[2 * i]!, rpc: free[2 * i + 1]! }));
  return writeNetwork({ validators, dir: join(dir, "net"), ports, blsWorkers: 1 }, await loadBlsBackend("blst"));
}

/** Node 0 of `layout`, started; stopped by the caller. */
async function startNode0(layout: NetworkLayout): Promise<QuireNode> {
  const node = await QuireNode.open(await loadNodeConfig(layout.configFiles[0]!, ["rpc.port=0"]), { logger: SILENT });
  await node.start();
  return node;
}

async function get(node: QuireNode, path: string): Promise<{ status: number; text: string; json: Record<string, unknown> }> {
  const r = await fetch(node.rpc.url + path);
  const text = await r.text();
  return { status: r.status, text, json: JSON.parse(text) as Record<string, unknown> };
}

/** Polls `check` until it returns a value, at most `tries` times `everyMs` apart (bounded; no sleep as synchronisation). */
async function until<T>(what: string, check: () => T | undefined, tries = 200, everyMs = 50): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = check();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("a validator whose peers are down", () => {
  test("reports NO_PEERS (503), its peers disconnected, its validator set from genesis and no secret in its config", async () => {
    const layout = await network(4);
    const node = await startNode0(layout);
    try {
      const h = node.health();
      assert.equal(h.ok, false);
      assert.equal(h.reason, "NO_PEERS");
      assert.equal(h.peersConnected, 0);
      assert.equal(h.peersNeeded, 2);
      const http = await get(node, "/v1/health");
      assert.equal(http.status, 503);
      assert.equal(http.json["ok"], false);
      assert.equal(http.json["reason"], "NO_PEERS");
      assert.equal((http.json["error"] as { code: string }).code, "NODE_UNHEALTHY");

      const peers = node.peers();
      assert.deepEqual(
        peers.map((p) => [p.index, p.connected, p.connectedSince, p.lastMessageAt, p.committedHeight]),
        [1, 2, 3].map((i) => [i, false, null, null, null]),
      );
      assert.deepEqual(peers.map((p) => `${p.address?.host}:${p.address?.port}`), node.config.peers.slice(1).map((a) => `${a.host}:${a.port}`));

      const set = node.validatorSet();
      assert.equal(set.epoch, 0);
      assert.deepEqual(set.validators.map((v) => [v.index, toHex(v.publicKey), v.votingPower, v.self]), node.genesis.validators.map((v, i) => [i, toHex(v.publicKey), 1, i === 0]));
      // A chain without the validators module: one epoch for ever, over the genesis validators.
      assert.deepEqual((await get(node, "/v1/epochs")).json, { epochs: [{ epoch: 0, startHeight: 1, members: [0, 1, 2, 3] }] });

      const key = JSON.parse(await readFile(node.config.keyFile, "utf8")) as { secretKey: string };
      assert.match(key.secretKey, /^[0-9a-f]{64}$/);
      const config = await get(node, "/v1/config");
      assert.equal(config.status, 200);
      assert.equal(config.json["keyFile"], node.config.keyFile);
      assert.equal((config.json["rpc"] as { port: number }).port, 0, "the --set override is what the route shows");
      assert.ok(!config.text.toLowerCase().includes(key.secretKey.toLowerCase()), "the secret key is in GET /v1/config");
      assert.ok(!config.text.includes("secretKey"));

      const c = node.consensus();
      assert.ok(c.view >= 1);
      assert.equal(c.leader, node.status().leader);
      assert.equal(c.committedHeight, 0);
      assert.equal(c.highQc.view, 0);
    } finally {
      await node.stop();
    }
  });
});

describe("a single validator", () => {
  test("commits alone: healthy (200), committing, its own vote and QC in GET /v1/consensus", async () => {
    const layout = await network(1);
    const node = await startNode0(layout);
    try {
      await until("a commit", () => (node.health().committedHeight >= 2 ? true : undefined));
      const h = await get(node, "/v1/health");
      assert.equal(h.status, 200, h.text);
      assert.equal(h.json["ok"], true);
      assert.equal(h.json["reason"], null);
      assert.equal(h.json["peersNeeded"], 0);
      assert.ok((h.json["lastCommitAgeMs"] as number) <= (h.json["notCommittingAfterMs"] as number));
      const c = await get(node, "/v1/consensus");
      assert.equal(c.status, 200);
      const doc = c.json as { view: number; lastVote: { view: number } | null; highQc: { view: number; signers: number }; lastProposedView: number; viewTimeoutMs: number };
      assert.ok(doc.view >= 2);
      assert.ok(doc.lastVote !== null && doc.lastVote.view >= 1);
      assert.ok(doc.highQc.view >= 1);
      assert.equal(doc.highQc.signers, 1);
      assert.ok(doc.lastProposedView >= 1);
      assert.equal(doc.viewTimeoutMs, node.genesis.consensus.baseTimeoutMs);
      const peers = await get(node, "/v1/peers");
      assert.deepEqual(peers.json, { peers: [] });
    } finally {
      await node.stop();
    }
  });
});

describe("a single validator with a committee of one", () => {
  test("rotates nothing (the top 1 is itself) and lists itself as member with the module's score in GET /v1/validators", async () => {
    const layout = await network(1);
    // The genesis gains the validators module and consensus.committee (keys and proofs unchanged).
    const doc = JSON.parse(await readFile(layout.genesisFile, "utf8")) as { consensus: Record<string, unknown>; app: { modules: string[] } };
    doc.consensus["committee"] = { size: 1, everyHeights: 10 };
    doc.app.modules = [...doc.app.modules, "validators"];
    await writeFile(layout.genesisFile, JSON.stringify(doc));
    const node = await startNode0(layout);
    try {
      // Past two rotation heights (8, 18): the chain keeps committing across the commit cuts there.
      await until("height 20", () => (node.health().committedHeight >= 20 ? true : undefined), 400);
      assert.deepEqual(node.epochs(), [{ epoch: 0, startHeight: 1, members: [0] }]);
      const v = await get(node, "/v1/validators");
      const list = v.json["validators"] as { index: number; role: string; score: number; votingPower: number }[];
      assert.deepEqual(list.map((x) => [x.index, x.role, x.score, x.votingPower]), [[0, "member", 100, 1]]);
    } finally {
      await node.stop();
    }
  });
});
