/**
 * Four real validator processes on 127.0.0.1 (issue 6, item 7): transactions submitted to different nodes commit;
 * every node returns the same block hash at every height; an inclusion proof from one node verifies against the
 * header from another (merkle API and `quire merkle verify --root`); garbage on every RPC route gets the typed error
 * src/rpc/README.md documents for it, junk on the RPC and p2p ports a closed connection or a typed refusal, and crashes
 * nothing; a node stopped cleanly resumes from its store at its height and catches up.
 *
 * The tests share one network and run in order; `after` stops every process by pid even when a test failed.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import WebSocket from "ws";
import { encodeKvTx } from "../../src/chain/app/kvTx.js";
import { checkInclusion, leafHash } from "../../src/crypto/merkle.js";
import { bytesEqual, toHex, utf8 } from "../../src/util/bytes.js";
import type { TxStatus } from "../../src/rpc/api.js";
import { RPC_ERRORS } from "../../src/rpc/errors.js";
import type { RpcErrorCode } from "../../src/rpc/errors.js";
import { FRAME_DATA, FRAME_HANDSHAKE } from "../../src/net/framing.js";
import { refusalOfCloseCode } from "../../src/net/transport.js";
import type { RefusalCode } from "../../src/net/transport.js";
import type { SeededRng } from "../../src/util/rng.js";
import { RawConn } from "../support/rawHttp.js";
import { seededRng } from "../support/seed.js";
import { BIN, logs, startNetwork, startNode, stopAll, until, waitForHeight } from "./support/network.js";
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

  test("garbage on every RPC route gets its typed 4xx, junk on the RPC and p2p ports a closed connection, and no node crashes", async (t) => {
    const nw = network();
    const rng = seededRng(t);
    const target = 1;
    const base = nw.urls[target]!;
    const before = (await nw.clients[target]!.status()).committedHeight;
    const unknownId = toHex(rng.bytes(32));
    // Each request with the answer src/rpc/README.md documents for it. `closes`: answered before the body was read,
    // so the server closes the connection (README "Limits"); only there may the upload fail on the closed socket.
    const requests: Garbage[] = [
      // POST /v1/tx
      { method: "POST", path: "/v1/tx", type: "application/octet-stream", body: new Uint8Array(0), status: 400, code: "EMPTY_TX" },
      { method: "POST", path: "/v1/tx", type: "application/json", body: "{}", status: 415, code: "UNSUPPORTED_MEDIA_TYPE", closes: true },
      { method: "POST", path: "/v1/tx", type: "application/octet-stream", body: new Uint8Array(70_000), status: 413, code: "BODY_TOO_LARGE", closes: true },
      { method: "POST", path: "/v1/tx", type: "application/octet-stream", body: Uint8Array.of(2, 1, 0), status: 400, code: "TX_INVALID", message: /^UNKNOWN_MODULE: / },
      // Module state is unreachable from the KV module: a put of a key beginning with 0xff (`quire init` runs kv + accounts).
      { method: "POST", path: "/v1/tx", type: "application/octet-stream", body: encodeKvTx({ op: "put", nonce: new Uint8Array(8), key: Uint8Array.of(0xff, 0x10, 1), value: Uint8Array.of(1) }), status: 400, code: "TX_INVALID", message: /^RESERVED_KEY: / },
      { method: "POST", path: "/v1/tx", type: "application/octet-stream", body: Uint8Array.of(0x10, 1, 0), status: 400, code: "TX_INVALID", message: /^MALFORMED: / },
      // Random bytes: a valid KV tx needs version 1, a known op and every length field matching the size exactly.
      ...Array.from({ length: 30 }, (): Garbage => ({ method: "POST", path: "/v1/tx", type: "application/octet-stream", body: rng.bytes(rng.range(1, 600)), status: 400, code: "TX_INVALID", message: /^[A-Z_]+: / })),
      // POST /v1/txs
      { method: "POST", path: "/v1/txs", type: "application/json", body: "{", status: 400, code: "BAD_JSON" },
      { method: "POST", path: "/v1/txs", type: "application/json", body: '{"txs": 5}', status: 400, code: "BAD_BODY" },
      { method: "POST", path: "/v1/txs", type: "application/json", body: '{"txs": ["zz", "abc"]}', status: 400, code: "BAD_HEX" },
      { method: "POST", path: "/v1/txs", type: "application/json", body: '{"txs": []}', status: 400, code: "EMPTY_BATCH" },
      {
        method: "POST",
        path: "/v1/txs",
        type: "application/json",
        body: JSON.stringify({ txs: Array.from({ length: 20 }, () => toHex(rng.bytes(rng.range(1, 80)))) }),
        status: 400,
        code: "TX_INVALID",
        // Every item offered and refused; nothing admitted.
        doc: (d) => {
          assert.equal(d.results?.length, 20);
          for (const r of d.results ?? []) assert.equal(r.status, "invalid");
          assert.ok(d.ids?.every((id) => id === null));
        },
      },
      { method: "POST", path: "/v1/txs", type: "application/json", body: JSON.stringify({ txs: Array.from({ length: 5000 }, () => "00") }), status: 400, code: "TOO_MANY_TXS" },
      { method: "POST", path: "/v1/txs", type: "text/plain", body: '{"txs": []}', status: 415, code: "UNSUPPORTED_MEDIA_TYPE", closes: true },
      { method: "POST", path: "/v1/txs", type: "application/json", body: "x".repeat(2 * 1024 * 1024), status: 413, code: "BODY_TOO_LARGE", closes: true },
      // GET /v1/tx/:id
      { method: "GET", path: "/v1/tx/xyz", status: 400, code: "BAD_TX_ID" },
      { method: "GET", path: "/v1/tx/abcd", status: 400, code: "BAD_TX_ID" },
      { method: "GET", path: `/v1/tx/${unknownId}`, status: 404, code: "TX_NOT_FOUND" },
      { method: "GET", path: `/v1/tx/${"0".repeat(500)}`, status: 400, code: "BAD_TX_ID" },
      // GET /v1/blocks/:height and proofs (2^60 and 2^53 are past the largest height, 2^53 - 1)
      ...["-1", "abc", "1e3", String(2 ** 60), "0x10", "%00", "01"].map((h): Garbage => ({ method: "GET", path: `/v1/blocks/${h}`, status: 400, code: "BAD_HEIGHT" })),
      { method: "GET", path: "/v1/blocks/99999999", status: 404, code: "BLOCK_NOT_FOUND" },
      { method: "GET", path: "/v1/blocks/latest", status: 200 },
      { method: "GET", path: "/v1/blocks/0/proof/1", status: 404, code: "TX_INDEX_OUT_OF_RANGE" }, // genesis holds one tx: the faucet mint
      { method: "GET", path: "/v1/blocks/1/proof/999999", status: 404, code: "TX_INDEX_OUT_OF_RANGE" },
      { method: "GET", path: "/v1/blocks/99999999/proof/0", status: 404, code: "BLOCK_NOT_FOUND" },
      ...["1/proof/-1", "1/proof/x"].map((p): Garbage => ({ method: "GET", path: `/v1/blocks/${p}`, status: 400, code: "BAD_INDEX" })),
      ...[`${2 ** 53}/proof/0`, "latest/proof/0"].map((p): Garbage => ({ method: "GET", path: `/v1/blocks/${p}`, status: 400, code: "BAD_HEIGHT" })),
      // GET /v1/kv/:key
      ...["%zz", "%", "%0", ""].map((k): Garbage => ({ method: "GET", path: `/v1/kv/${k}`, status: 400, code: "BAD_KEY" })),
      ...["k".repeat(1500), "%00%ff"].map((k): Garbage => ({ method: "GET", path: `/v1/kv/${k}`, status: 404, code: "KEY_NOT_FOUND" })),
      // other routes, wrong methods, unknown paths
      { method: "GET", path: "/v1/status?x=%zz&&", status: 200 },
      { method: "POST", path: "/v1/status", type: "application/json", body: "{}", status: 405, code: "METHOD_NOT_ALLOWED", allow: "GET, HEAD", closes: true },
      { method: "DELETE", path: "/v1/tx", status: 405, code: "METHOD_NOT_ALLOWED", allow: "POST" },
      { method: "PUT", path: "/v1/blocks/1", status: 405, code: "METHOD_NOT_ALLOWED", allow: "GET, HEAD" },
      { method: "GET", path: "/v1/stream", status: 426, code: "UPGRADE_REQUIRED" },
      { method: "GET", path: "/v1/accounts/xyz", status: 400, code: "BAD_PUBLIC_KEY" },
      { method: "PUT", path: "/v1/peers", status: 405, code: "METHOD_NOT_ALLOWED", allow: "GET, HEAD" },
      { method: "GET", path: "/v1/consensus/1", status: 404, code: "NOT_FOUND" },
      { method: "GET", path: "/metrics", status: 200 },
      { method: "GET", path: "/v1/Status", status: 404, code: "NOT_FOUND" },
      { method: "GET", path: "/v1/status/", status: 404, code: "NOT_FOUND" },
      { method: "GET", path: "/../../etc/passwd", status: 404, code: "NOT_FOUND" },
      { method: "GET", path: `/${"a/".repeat(1100)}`, status: 414, code: "URI_TOO_LONG" },
      // Over uWS's 4 KiB header limit: uWS answers itself, without a JSON body, and closes (README "Any route").
      { method: "GET", path: `/${"a/".repeat(2100)}`, status: 431, code: null, closes: true },
    ];
    let closedEarly = 0;
    for (const r of requests) {
      if (await expectAnswer(base, r)) closedEarly++;
      // Still serving after each one: a crash is pinned on the request that caused it.
      await nw.clients[target]!.status();
    }
    t.diagnostic(`${requests.length} requests answered as documented (${closedEarly} refused uploads ended by the server closing the socket first)`);
    // Raw junk on the RPC and p2p ports (both uWS): a request head that is not HTTP is answered with at most an error
    // status line, and the connection is closed by the server (we never half-close).
    const rpcPort = Number(new URL(base).port);
    for (const port of [rpcPort, nw.p2pPorts[target]!]) {
      for (let k = 0; k < 10; k++) await expectClosedOnJunk(port, rng.bytes(rng.range(1, 4000)));
    }
    // A p2p WebSocket that sends junk instead of a handshake is refused with its typed close code.
    await expectLinkRefused(nw.p2pPorts[target]!, Uint8Array.of(FRAME_DATA, ...rng.bytes(rng.range(0, 200))), ["MESSAGE_BEFORE_AUTH"]);
    await expectLinkRefused(nw.p2pPorts[target]!, Uint8Array.of(3 + rng.int(253), ...rng.bytes(rng.range(0, 200))), ["MALFORMED_FRAME"]);
    await expectLinkRefused(nw.p2pPorts[target]!, Uint8Array.of(FRAME_HANDSHAKE, ...rng.bytes(rng.range(0, 300))), HANDSHAKE_REFUSALS);
    // A stream subscriber's small frames are ignored (blocks keep coming), one over 1 KiB closes it (README "Stream policy").
    await expectStreamJunkPolicy(rpcPort, rng);
    // Alive, serving, still committing, and no handler error counted.
    assert.equal(nw.nodes[target]!.exited, false, logs(nw));
    await waitForHeight(nw, before + 3, 30_000, [target]);
    const metrics = await nw.clients[target]!.metrics();
    assert.doesNotMatch(metrics, /^quire_rpc_handler_errors_total\{[^}]*\} [1-9]/m);
    for (let i = 0; i < N; i++) assert.equal(nw.nodes[i]!.exited, false, `node ${i} exited\n${logs(nw)}`);
  });

  test("the operator routes: every node healthy, 3 connected peers heard from lately, the genesis validators, no secret in its config, a view >= 1", async () => {
    const nw = network();
    const genesis = JSON.parse(await readFile(nw.genesisFile, "utf8")) as { validators: { publicKey: string }[] };
    const get = async (i: number, path: string): Promise<{ status: number; text: string; doc: Record<string, unknown> }> => {
      const r = await fetch(nw.urls[i]! + path);
      const text = await r.text();
      return { status: r.status, text, doc: JSON.parse(text) as Record<string, unknown> };
    };
    for (let i = 0; i < N; i++) {
      const health = await get(i, "/v1/health");
      assert.equal(health.status, 200, `node ${i}: ${health.text}`);
      assert.equal(health.doc["ok"], true);
      assert.equal(health.doc["peersConnected"], N - 1);

      const peers = (await get(i, "/v1/peers")).doc["peers"] as { index: number; publicKey: string; address: string; connected: boolean; connectedSince: number | null; lastMessageAt: number | null; committedHeight: number | null }[];
      const now = Date.now();
      assert.deepEqual(peers.map((p) => p.index), [0, 1, 2, 3].filter((j) => j !== i));
      for (const p of peers) {
        assert.equal(p.connected, true, `node ${i} peer ${p.index}`);
        assert.equal(p.publicKey, genesis.validators[p.index]!.publicKey);
        assert.equal(p.address, `127.0.0.1:${nw.p2pPorts[p.index]}`);
        assert.ok(p.connectedSince !== null && p.connectedSince <= now);
        // Peers push a hello every second: a message older than 10 s would mean the link carries nothing.
        assert.ok(p.lastMessageAt !== null && now - p.lastMessageAt < 10_000, `node ${i} peer ${p.index}: last message at ${p.lastMessageAt}, now ${now}`);
        assert.ok(p.committedHeight !== null && p.committedHeight >= 1);
      }

      const validators = (await get(i, "/v1/validators")).doc as { epoch: number; validators: { index: number; publicKey: string; votingPower: number; self: boolean; score: number; role: string }[] };
      assert.equal(validators.epoch, 0);
      assert.deepEqual(
        validators.validators.map((v) => [v.index, v.publicKey, v.votingPower, v.self, v.role]),
        genesis.validators.map((v, j) => [j, v.publicKey, 1, j === i, "member"]),
      );
      // Reputation scores from committed history, also on /metrics (startup timeouts may have cost some points).
      const metrics = await nw.clients[i]!.metrics();
      assert.ok(validators.validators.some((v) => v.score > 50), JSON.stringify(validators.validators.map((v) => v.score)));
      for (const v of validators.validators) {
        assert.ok(Number.isInteger(v.score) && v.score >= 0 && v.score <= 100, `node ${i}: validator ${v.index} scores ${v.score}`);
        assert.match(metrics, new RegExp(`^quire_reputation_score\\{validator="${v.index}"\\} \\d+$`, "m"));
      }

      const config = await get(i, "/v1/config");
      assert.equal(config.status, 200);
      const keyFile = nw.cluster.configs[i]!.keyFile;
      assert.equal(config.doc["keyFile"], keyFile);
      const secret = (JSON.parse(await readFile(keyFile, "utf8")) as { secretKey: string }).secretKey;
      assert.match(secret, /^[0-9a-f]{64}$/);
      assert.ok(!config.text.toLowerCase().includes(secret.toLowerCase()), `node ${i}: GET /v1/config shows the BLS secret key`);

      const consensus = (await get(i, "/v1/consensus")).doc as { view: number; leader: number; highQc: { signers: number }; committedHeight: number; viewTimeoutMs: number };
      assert.ok(consensus.view >= 1);
      assert.ok(consensus.leader >= 0 && consensus.leader < N);
      assert.ok(consensus.highQc.signers >= 3, "a QC holds a quorum of signers");
      assert.ok(consensus.committedHeight >= 1);
      assert.ok(consensus.viewTimeoutMs >= 1);
    }
  });

  test("a node stopped cleanly resumes from its store at its height and catches up", async () => {
    const nw = network();
    const victim = 3;
    const atStop = (await nw.clients[victim]!.status()).committedHeight;
    const proc = nw.nodes[victim]!;
    const code = await nw.cluster.stopNode(victim);
    assert.equal(code, 0, `exit code ${code}\n${proc.output.slice(-2000)}`);
    const storedHeight = Number(/stopping height=(\d+)/.exec(proc.output)?.[1]);
    assert.ok(storedHeight >= atStop, `stopped at ${storedHeight}, had ${atStop}`);
    // The other three keep committing (3 of 4 is a quorum).
    await waitForHeight(nw, storedHeight + 4, 30_000, [0, 1, 2]);
    const restarted = await startNode(nw, victim);
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

interface ErrorDoc {
  error?: { code?: unknown; message?: unknown };
  results?: { status?: unknown }[];
  ids?: unknown[];
}

/** One garbage request and the answer the RPC documents for it. */
interface Garbage {
  readonly method: string;
  readonly path: string;
  readonly type?: string;
  readonly body?: Uint8Array | string;
  readonly status: number;
  /** The JSON error code; null: uWS's own answer (no JSON body); absent: a 2xx. */
  readonly code?: RpcErrorCode | null;
  readonly message?: RegExp;
  /** The `Allow` header of a 405. */
  readonly allow?: string;
  /** Documented to close the connection after the answer (a body refused before it was read, or uWS's own 431). */
  readonly closes?: boolean;
  readonly doc?: (d: ErrorDoc) => void;
}

/**
 * Sends `r` and asserts the documented answer. Returns true when, instead, the upload failed because the server had
 * already answered and closed the socket: allowed only for `closes` requests, and only as that kind of failure.
 */
async function expectAnswer(base: string, r: Garbage): Promise<boolean> {
  const what = `${r.method} ${r.path.slice(0, 60)}`;
  const init: RequestInit = { method: r.method, signal: AbortSignal.timeout(10_000) };
  if (r.type !== undefined) init.headers = { "content-type": r.type };
  if (r.body !== undefined) init.body = r.body;
  let res: Response;
  let text: string;
  try {
    res = await fetch(base + r.path, init);
    text = await res.text();
  } catch (e) {
    assert.ok(r.closes === true && closedByPeer(e), `${what}: no answer (${describeFetchError(e)})`);
    return true;
  }
  assert.equal(res.status, r.status, `${what}: ${text.slice(0, 200)}`);
  if (r.closes === true) assert.equal(res.headers.get("connection"), "close", `${what}: the connection stays open`);
  if (r.allow !== undefined) assert.equal(res.headers.get("allow"), r.allow, what);
  if (r.code === null) {
    assert.doesNotMatch(res.headers.get("content-type") ?? "", /json/, what);
    return false;
  }
  if (r.code === undefined) {
    assert.ok(r.status >= 200 && r.status < 300);
    return false;
  }
  // The expectation agrees with the catalogue, and the body is the typed error document.
  assert.equal(RPC_ERRORS[r.code], r.status, `${r.code} is not a ${r.status} in errors.ts`);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/, what);
  const doc = JSON.parse(text) as ErrorDoc;
  assert.equal(doc.error?.code, r.code, `${what}: ${text.slice(0, 200)}`);
  assert.equal(typeof doc.error?.message, "string");
  if (r.message !== undefined) assert.match(doc.error?.message as string, r.message, what);
  r.doc?.(doc);
  return false;
}

/** undici's failure when the server closed the socket under it (reset, broken pipe, or "other side closed"). */
function closedByPeer(e: unknown): boolean {
  const code = (e as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return e instanceof TypeError && (code === "UND_ERR_SOCKET" || code === "ECONNRESET" || code === "EPIPE");
}

function describeFetchError(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  return `${String(e)}${cause === undefined ? "" : ` (cause ${String(cause.code)}: ${String(cause.message)})`}`;
}

/**
 * Sends `junk` and a blank line (so the server has a whole request head to judge, not a prefix to wait on) without
 * half-closing, and asserts the server closes the connection, having answered at most an error status line.
 */
async function expectClosedOnJunk(port: number, junk: Uint8Array): Promise<void> {
  const conn = await RawConn.open(port);
  try {
    conn.write(junk);
    conn.write("\r\n\r\n");
    await conn.waitClose(15_000);
    const head = conn.text.split("\r\n")[0] ?? "";
    assert.ok(head === "" || /^HTTP\/1\.1 [45]\d\d /.test(head), `port ${port}: junk got ${JSON.stringify(conn.text.slice(0, 120))}`);
  } finally {
    conn.destroy();
  }
}

/** Handshake frames that fail to parse or to check out end in one of these refusals. */
const HANDSHAKE_REFUSALS: readonly RefusalCode[] = ["MALFORMED_HANDSHAKE", "BAD_VERSION", "WRONG_CHAIN", "UNKNOWN_KEY", "SELF_CONNECTION", "WRONG_DIRECTION", "NONCE_MISMATCH", "BAD_SIGNATURE"];

/** Opens a p2p link, sends `first` (then more junk) and asserts the node closes it with one of `expected` as its close code. */
async function expectLinkRefused(port: number, first: Uint8Array, expected: readonly RefusalCode[]): Promise<void> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/quire/link`);
  try {
    const [code, reason] = await new Promise<[number, string]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`p2p port ${port}: the link was not closed within 15 s`)), 15_000);
      ws.on("open", () => {
        ws.send(first);
        for (let k = 0; k < 5; k++) ws.send(new Uint8Array(64).fill(0xee));
      });
      ws.on("close", (c, r) => {
        clearTimeout(timer);
        resolve([c, r.toString()]);
      });
      ws.on("error", () => {});
    });
    const refusal = refusalOfCloseCode(code);
    assert.ok(refusal !== undefined && expected.includes(refusal), `first frame kind ${first[0]}: closed with ${code} ${reason}, expected ${expected.join(" | ")}`);
    assert.equal(reason, refusal, "the close reason names the refusal");
  } finally {
    ws.terminate();
  }
}

/** Small junk frames on /v1/stream are ignored (blocks still arrive after them); a frame over 1 KiB gets the socket closed. */
async function expectStreamJunkPolicy(rpcPort: number, rng: SeededRng): Promise<void> {
  const ws = new WebSocket(`ws://127.0.0.1:${rpcPort}/v1/stream`);
  try {
    const code = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("/v1/stream: no block after the junk, or not closed after the big frame, within 10 s")), 10_000);
      let junkSent = false;
      let blocksAfterJunk = 0;
      let bigSent = false;
      ws.on("open", () => {
        for (let k = 0; k < 20; k++) ws.send(rng.bytes(rng.range(1, 1000)));
        junkSent = true;
      });
      ws.on("message", (m: Buffer) => {
        const doc = JSON.parse(m.toString()) as { height?: unknown };
        // Two blocks: the second was published well after the server read the junk frames.
        if (!junkSent || bigSent || typeof doc.height !== "number" || ++blocksAfterJunk < 2) return;
        bigSent = true;
        ws.send(rng.bytes(1500));
      });
      ws.on("close", (c) => {
        clearTimeout(timer);
        if (bigSent) resolve(c);
        else reject(new Error(`/v1/stream closed (${c}) before any block arrived after the small junk frames`));
      });
      ws.on("error", () => {});
    });
    // uWS drops the socket (1006, no close frame) on a frame over maxPayloadLength; 1009 would be the polite form.
    assert.ok(code === 1006 || code === 1009, `/v1/stream closed with ${code} after an oversized frame`);
  } finally {
    ws.terminate();
  }
}
