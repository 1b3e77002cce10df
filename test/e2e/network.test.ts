/**
 * Four real validator processes on 127.0.0.1 (issue 6, item 7): transactions submitted to different nodes commit;
 * every node returns the same block hash at every height; an inclusion proof from one node verifies against the
 * header from another (merkle API and `quire merkle verify --root`); garbage on every RPC route (and on the p2p port)
 * crashes nothing; a node stopped cleanly resumes from its store at its height and catches up.
 *
 * The tests share one network and run in order; `after` stops every process by pid even when a test failed.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import net from "node:net";
import WebSocket from "ws";
import { encodeKvTx } from "../../src/chain/app/kvTx.js";
import { checkInclusion, leafHash } from "../../src/crypto/merkle.js";
import { bytesEqual, toHex, utf8 } from "../../src/util/bytes.js";
import type { TxStatus } from "../../src/rpc/api.js";
import { seededRng } from "../support/seed.js";
import { BIN, logs, startNetwork, startNode, stopAll, stopNode, until, waitForHeight } from "./support/network.js";
import type { TestNetwork } from "./support/network.js";

const N = 4;
let netw: TestNetwork | undefined;

function network(): TestNetwork {
  assert.ok(netw !== undefined, "the network did not start");
  return netw;
}

function putTx(key: string, value: string, nonce: number): Uint8Array {
  const n = new Uint8Array(8);
  new DataView(n.buffer).setUint32(4, nonce);
  return encodeKvTx({ op: "put", nonce: n, key: utf8(key), value: utf8(value) });
}

type Committed = Extract<TxStatus, { status: "committed" }>;

async function committedOn(nw: TestNetwork, node: number, id: Uint8Array, timeoutMs: number): Promise<Committed> {
  return until(
    `tx ${toHex(id).slice(0, 16)} committed on node ${node}`,
    async () => {
      const s = await nw.clients[node]!.txStatus(id);
      return s !== null && s.status === "committed" ? s : undefined;
    },
    timeoutMs,
    () => logs(nw),
  );
}

/** Transactions of the first test, with where they committed (used by the proof test). */
const submitted: { tx: Uint8Array; id: Uint8Array; at: Committed }[] = [];

describe("a 4-validator network of real processes", { timeout: 150_000 }, () => {
  before(async () => {
    netw = await startNetwork(N);
    await waitForHeight(netw, 2, 30_000);
  });

  after(async () => {
    await stopAll(netw);
  });

  test("transactions submitted to different nodes commit, and every node agrees where and on the state", async () => {
    const nw = network();
    const txs: { tx: Uint8Array; id: Uint8Array; node: number; key: string; value: string }[] = [];
    // One single tx and one batch per node.
    for (let node = 0; node < N; node++) {
      const key = `e2e/single/${node}`;
      const tx = putTx(key, `value from node ${node}`, node);
      const r = await nw.clients[node]!.submitTx(tx);
      assert.equal(r.status, "accepted", `node ${node}: ${JSON.stringify(r)}`);
      assert.ok(r.status === "accepted");
      txs.push({ tx, id: r.id, node, key, value: `value from node ${node}` });
      const batch = Array.from({ length: 25 }, (_, j) => ({ key: `e2e/batch/${node}/${j}`, value: `b${node}.${j}` }));
      const out = await nw.clients[node]!.submitTxs(batch.map((b, j) => putTx(b.key, b.value, 1000 * node + j)));
      out.results.forEach((res, j) => {
        assert.equal(res.status, "accepted", `node ${node} batch item ${j}: ${JSON.stringify(res)}`);
        if (res.status === "accepted") txs.push({ tx: putTx(batch[j]!.key, batch[j]!.value, 1000 * node + j), id: res.id, node, key: batch[j]!.key, value: batch[j]!.value });
      });
    }
    for (const t of txs) {
      const at = await committedOn(nw, t.node, t.id, 30_000);
      assert.equal(at.ok, true);
      if (submitted.length < 8) submitted.push({ tx: t.tx, id: t.id, at });
    }
    // Every node reports every tx committed at the same height and index, and serves the written values.
    for (let node = 0; node < N; node++) {
      for (const t of txs) {
        const at = await committedOn(nw, node, t.id, 15_000);
        const ref = await nw.clients[t.node]!.txStatus(t.id);
        assert.deepEqual(at, ref, `node ${node} disagrees on tx ${toHex(t.id)}`);
      }
      for (const t of txs.filter((x) => x.key.startsWith("e2e/single/"))) {
        const v = await nw.clients[node]!.kv(t.key);
        assert.ok(v !== null, `node ${node} lacks ${t.key}`);
        assert.equal(new TextDecoder().decode(v), t.value);
      }
    }
  });

  test("every node returns identical blocks for every committed height", async () => {
    const nw = network();
    const statuses = await Promise.all(nw.clients.map((c) => c.status()));
    const top = Math.min(...statuses.map((s) => s.committedHeight));
    assert.ok(top >= 3, `only ${top} blocks committed`);
    for (let h = 0; h <= top; h++) {
      const blocks = await Promise.all(nw.clients.map((c) => c.block(h)));
      const first = blocks[0];
      assert.ok(first !== null && first !== undefined, `node 0 has no block ${h}`);
      for (let i = 1; i < N; i++) {
        const b = blocks[i];
        assert.ok(b !== null && b !== undefined, `node ${i} has no block ${h}`);
        assert.equal(toHex(b.hash), toHex(first.hash), `height ${h}: node ${i} differs from node 0`);
        assert.deepEqual(b.header, first.header);
        assert.equal(b.txCount, first.txCount);
      }
      if (h > 0) {
        assert.equal(first.header.height, h);
        const parent = await nw.clients[h % N]!.block(h - 1);
        assert.ok(parent !== null && bytesEqual(first.header.parent, parent.hash), `block ${h} does not extend block ${h - 1}`);
        assert.ok(first.qc !== null && bytesEqual(first.qc.blockHash, first.hash), `block ${h}: its QC certifies another block`);
      }
    }
  });

  test("an inclusion proof from one node verifies against the txRoot served by another", async () => {
    const nw = network();
    assert.ok(submitted.length > 0);
    for (const [k, s] of submitted.entries()) {
      const from = k % N;
      const other = (k + 2) % N;
      const proof = await nw.clients[from]!.proof(s.at.height, s.at.index);
      const header = await nw.clients[other]!.block(s.at.height);
      assert.ok(proof !== null && header !== null);
      assert.ok(bytesEqual(proof.leafHash, leafHash(s.tx)), "the proof is for another leaf");
      assert.equal(checkInclusion(proof, header.header.txRoot), null);
      // The CLI path a user would take: the proof JSON exactly as served, checked against the other node's root.
      const url = `${nw.urls[from]}/v1/blocks/${s.at.height}/proof/${s.at.index}`;
      const json = await (await fetch(url)).text();
      const ok = await runCli(["merkle", "verify", "--root", toHex(header.header.txRoot), "--leaf", toHex(s.tx)], json);
      assert.equal(ok.code, 0, ok.out);
      // And against a root it must not verify against: the genesis block's (empty) tx root.
      const genesis = await nw.clients[other]!.block(0);
      assert.ok(genesis !== null);
      const bad = await runCli(["merkle", "verify", "--root", toHex(genesis.header.txRoot)], json);
      assert.equal(bad.code, 1, bad.out);
    }
  });

  test("garbage on every RPC route and on the p2p port crashes no node", async (t) => {
    const nw = network();
    const rng = seededRng(t);
    const target = 1;
    const base = nw.urls[target]!;
    const before = (await nw.clients[target]!.status()).committedHeight;
    const unknownId = toHex(rng.bytes(32));
    const requests: { method: string; path: string; type?: string; body?: Uint8Array | string }[] = [
      // POST /v1/tx
      { method: "POST", path: "/v1/tx", type: "application/octet-stream", body: new Uint8Array(0) },
      { method: "POST", path: "/v1/tx", type: "application/json", body: "{}" },
      { method: "POST", path: "/v1/tx", type: "application/octet-stream", body: new Uint8Array(70_000) },
      { method: "POST", path: "/v1/tx", type: "application/octet-stream", body: Uint8Array.of(2, 1, 0) },
      ...Array.from({ length: 30 }, () => ({ method: "POST", path: "/v1/tx", type: "application/octet-stream", body: rng.bytes(rng.range(1, 600)) })),
      // POST /v1/txs
      { method: "POST", path: "/v1/txs", type: "application/json", body: "{" },
      { method: "POST", path: "/v1/txs", type: "application/json", body: '{"txs": 5}' },
      { method: "POST", path: "/v1/txs", type: "application/json", body: '{"txs": ["zz", "abc"]}' },
      { method: "POST", path: "/v1/txs", type: "application/json", body: JSON.stringify({ txs: Array.from({ length: 20 }, () => toHex(rng.bytes(rng.range(1, 80)))) }) },
      { method: "POST", path: "/v1/txs", type: "application/json", body: JSON.stringify({ txs: Array.from({ length: 5000 }, () => "00") }) },
      { method: "POST", path: "/v1/txs", type: "text/plain", body: '{"txs": []}' },
      { method: "POST", path: "/v1/txs", type: "application/json", body: "x".repeat(2 * 1024 * 1024) },
      // GET /v1/tx/:id
      { method: "GET", path: "/v1/tx/xyz" },
      { method: "GET", path: "/v1/tx/abcd" },
      { method: "GET", path: `/v1/tx/${unknownId}` },
      { method: "GET", path: `/v1/tx/${"0".repeat(500)}` },
      // GET /v1/blocks/:height and proofs
      ...["-1", "abc", "1e3", String(2 ** 60), "99999999", "latest", "0x10", "%00"].map((h) => ({ method: "GET", path: `/v1/blocks/${h}` })),
      ...["0/proof/0", "1/proof/999999", "1/proof/-1", "1/proof/x", `${2 ** 53}/proof/0`, "latest/proof/0"].map((p) => ({ method: "GET", path: `/v1/blocks/${p}` })),
      // GET /v1/kv/:key
      ...["%zz", "%", "k".repeat(1500), "%00%ff", ""].map((k) => ({ method: "GET", path: `/v1/kv/${k}` })),
      // other routes, wrong methods, unknown paths
      { method: "GET", path: "/v1/status?x=%zz&&" },
      { method: "POST", path: "/v1/status", type: "application/json", body: "{}" },
      { method: "DELETE", path: "/v1/tx" },
      { method: "PUT", path: "/v1/blocks/1" },
      { method: "GET", path: "/v1/stream" },
      { method: "GET", path: "/metrics" },
      { method: "GET", path: `/${"a/".repeat(2000)}` },
      { method: "GET", path: "/../../etc/passwd" },
    ];
    const statuses: number[] = [];
    for (const r of requests) {
      const init: RequestInit = { method: r.method, signal: AbortSignal.timeout(10_000) };
      if (r.type !== undefined) init.headers = { "content-type": r.type };
      if (r.body !== undefined) init.body = r.body;
      try {
        const res = await fetch(base + r.path, init);
        await res.arrayBuffer();
        statuses.push(res.status);
        assert.notEqual(res.status, 500, `${r.method} ${r.path.slice(0, 60)} answered 500`);
      } catch (e) {
        // A server may close the connection on a body it refuses mid-upload; that is not a crash.
        statuses.push(0);
        assert.ok(e instanceof Error);
      }
    }
    assert.ok(statuses.filter((s) => s >= 400 && s < 500).length >= requests.length / 2, `too few 4xx: ${statuses.join(",")}`);
    // Raw bytes on the RPC and p2p ports, and a p2p WebSocket that sends junk instead of a handshake.
    const rpcPort = Number(new URL(base).port);
    for (const port of [rpcPort, nw.p2pPorts[target]!]) {
      for (let k = 0; k < 10; k++) await rawJunk(port, rng.bytes(rng.range(1, 4096)));
    }
    await new Promise<void>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${nw.p2pPorts[target]}/quire/link`);
      const done = () => resolve();
      ws.on("open", () => {
        for (let k = 0; k < 20; k++) ws.send(rng.bytes(rng.range(1, 2000)));
        setTimeout(() => ws.terminate(), 200);
      });
      ws.on("close", done);
      ws.on("error", done);
    });
    await new Promise<void>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${rpcPort}/v1/stream`);
      const done = () => resolve();
      ws.on("open", () => {
        for (let k = 0; k < 20; k++) ws.send(rng.bytes(rng.range(1, 2000)));
        setTimeout(() => ws.terminate(), 200);
      });
      ws.on("close", done);
      ws.on("error", done);
    });
    // Alive, serving, still committing, and no handler error counted.
    assert.equal(nw.nodes[target]!.exited, false, logs(nw));
    await waitForHeight(nw, before + 3, 30_000, [target]);
    const metrics = await nw.clients[target]!.metrics();
    assert.doesNotMatch(metrics, /^quire_rpc_handler_errors_total\{[^}]*\} [1-9]/m);
    for (let i = 0; i < N; i++) assert.equal(nw.nodes[i]!.exited, false, `node ${i} exited\n${logs(nw)}`);
  });

  test("a node stopped cleanly resumes from its store at its height and catches up", async () => {
    const nw = network();
    const victim = 3;
    const atStop = (await nw.clients[victim]!.status()).committedHeight;
    const proc = nw.nodes[victim]!;
    const code = await stopNode(proc);
    assert.equal(code, 0, `exit code ${code}\n${proc.output.slice(-2000)}`);
    const storedHeight = Number(/stopping height=(\d+)/.exec(proc.output)?.[1]);
    assert.ok(storedHeight >= atStop, `stopped at ${storedHeight}, had ${atStop}`);
    nw.nodes[victim] = null;
    // The other three keep committing (3 of 4 is a quorum).
    await waitForHeight(nw, storedHeight + 4, 30_000, [0, 1, 2]);
    const restarted = startNode(nw, victim);
    nw.nodes[victim] = restarted;
    // It resumes where it stopped: its store's height, not genesis.
    const resumed = await until("the restarted node's first log line", async () => /consensus started height=(\d+)/.exec(restarted.output)?.[1], 30_000, () => logs(nw));
    assert.equal(Number(resumed), storedHeight);
    // And catches up with the others, on the same chain.
    const target = Math.max(...(await Promise.all([0, 1, 2].map((i) => nw.clients[i]!.status()))).map((s) => s.committedHeight));
    await waitForHeight(nw, target, 45_000, [victim]);
    for (const h of [storedHeight, storedHeight + 1, target]) {
      const [a, b] = await Promise.all([nw.clients[0]!.block(h), nw.clients[victim]!.block(h)]);
      assert.ok(a !== null && b !== null);
      assert.equal(toHex(b.hash), toHex(a.hash), `height ${h}`);
    }
  });
});

async function runCli(args: readonly string[], stdin: string): Promise<{ code: number | null; out: string }> {
  const p = spawn(process.execPath, [BIN, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  p.stdout.on("data", (d: Buffer) => (out += d.toString()));
  p.stderr.on("data", (d: Buffer) => (out += d.toString()));
  p.stdin.end(stdin);
  const code = await new Promise<number | null>((resolve) => p.once("exit", resolve));
  return { code, out };
}

/**
 * Connects, writes `bytes` and half-closes. Resolves when the server closed the connection or after 100 ms (servers
 * may keep a junk connection open until their idle timeout; the liveness checks afterwards are what matter).
 */
function rawJunk(port: number, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve();
    };
    const timer = setTimeout(done, 100);
    s.on("connect", () => s.write(bytes, () => s.end()));
    s.on("close", done);
    s.on("error", done);
  });
}
