import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sha256 } from "@noble/hashes/sha2.js";
import { commitSigningBytes, decodeCommitTx, encodeParaTx } from "../../../../src/chain/app/paracross/format.js";
import { loadBlsBackend } from "../../../../src/crypto/bls/backend.js";
import type { BlsBackend } from "../../../../src/crypto/bls/backend.js";
import { defaultHasher } from "../../../../src/crypto/hash/backends.js";
import { blockHash } from "../../../../src/consensus/blockHash.js";
import { NodeError } from "../../../../src/node/errors.js";
import { genesisBlock, genesisJson, loadGenesis } from "../../../../src/node/genesis.js";
import { SILENT } from "../../../../src/node/logger.js";
import { loadParaNodeConfig, parseParaNodeConfig } from "../../../../src/node/para/paraConfig.js";
import { loadParaGenesis } from "../../../../src/node/para/paraGenesis.js";
import { generateParaKeys, paraRegistration, writeParaChain } from "../../../../src/node/para/paraNetwork.js";
import { ParaNode } from "../../../../src/node/para/paraNode.js";
import { RpcClient } from "../../../../src/rpc/client.js";
import { fromHex, toHex, utf8 } from "../../../../src/util/bytes.js";
import { ManualScheduler } from "../../../../src/util/clock.js";
import { FakeMain, put, TITLE } from "./harness.js";

let backend: BlsBackend;
let dir: string;
before(async () => {
  backend = await loadBlsBackend("blst");
  dir = mkdtempSync(join(tmpdir(), "quire-para-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A main genesis registering `TITLE` with `n` fresh para keys, and the para chain written beside it. */
async function network(sub: string, n: number, modules?: ("kv" | "accounts")[]) {
  const d = join(dir, sub);
  const keys = await generateParaKeys(n, backend);
  const v = (await generateParaKeys(1, backend))[0]!;
  const mainFile = join(dir, `${sub}-main.json`);
  const doc = genesisJson({
    chainId: "main-test",
    genesisTimeMs: 1_700_000_000_000,
    validators: [{ publicKey: fromHex(v.publicKey), proofOfPossession: fromHex(v.proofOfPossession) }],
    consensus: { baseTimeoutMs: 1000, backoffFactor: 2, maxTimeoutMs: 8000 },
    app: { name: "quire", bucketBits: 8, modules: ["kv", "accounts", "paracross"] },
    paras: [paraRegistration(TITLE, keys)],
  });
  writeFileSync(mainFile, JSON.stringify(doc));
  const layout = await writeParaChain({ dir: d, title: TITLE, keys, mainGenesisFile: mainFile, mainRpcUrls: ["http://127.0.0.1:1"], ports: keys.map(() => 0), startHeight: 1, ...(modules !== undefined ? { modules } : {}) }, backend);
  return { layout, keys, mainFile };
}

test("writeParaChain: the para genesis names the main genesis hash and the registered keys; keys are 0600", async () => {
  const { layout, keys, mainFile } = await network("w", 3);
  const g = await loadParaGenesis(layout.genesisFile, backend);
  const main = await loadGenesis(mainFile, backend);
  assert.equal(g.title, TITLE);
  assert.equal(g.mainChainId, "main-test");
  assert.deepEqual(g.mainGenesisHash, blockHash(genesisBlock(main).header, (x) => sha256(x)));
  assert.deepEqual(g.nodes.map((k) => toHex(k.publicKey)), keys.map((k) => k.publicKey));
  assert.deepEqual(g.app.modules, ["kv", "accounts"]);
  assert.equal(g.blockPolicy.emptyBlockInterval, 1);
  assert.equal(layout.configFiles.length, 3);
  assert.equal(statSync(join(layout.dir, "node1", "validator.key")).mode & 0o777, 0o600);
  const c = await loadParaNodeConfig(layout.configFiles[1]!);
  assert.equal(c.nodeIndex, 1);
  assert.equal(c.paraGenesisFile, layout.genesisFile);
  assert.deepEqual(c.sender, { notificationQueue: 100, maxCommitsPerTx: 20, resendAfterBlocks: 2, stallAfterBlocks: 100 });
  // A main genesis that does not register the title is refused.
  await assert.rejects(writeParaChain({ dir: join(dir, "w2"), title: "nope", keys, mainGenesisFile: mainFile, mainRpcUrls: ["http://127.0.0.1:1"] }, backend), (e: unknown) => e instanceof NodeError && e.payload.field === "paras");
});

test("para config errors name the field", async () => {
  const { layout } = await network("c", 1);
  const text = readFileSync(layout.configFiles[0]!, "utf8");
  const doc = JSON.parse(text) as Record<string, unknown>;
  const bad = (patch: Record<string, unknown>) => () => parseParaNodeConfig(JSON.stringify({ ...doc, ...patch }), layout.configFiles[0]!);
  assert.throws(bad({ sender: { maxCommitsPerTx: 21 } }), (e: unknown) => e instanceof NodeError && e.payload.field === "sender.maxCommitsPerTx");
  assert.throws(bad({ mainRpc: ["ftp://x"] }), (e: unknown) => e instanceof NodeError && e.payload.field === "mainRpc[0]");
  for (const url of ["http://user:secret@127.0.0.1:26601", "http://127.0.0.1:26601/?token=secret", "http://127.0.0.1:26601/#x"]) {
    assert.throws(bad({ mainRpc: [url] }), (e: unknown) => e instanceof NodeError && e.payload.field === "mainRpc[0]", url);
  }
  assert.throws(bad({ blockPolicy: { emptyBlockInterval: 0 } }), (e: unknown) => e instanceof NodeError && e.payload.field === "blockPolicy.emptyBlockInterval");
  assert.throws(bad({ extra: 1 }), (e: unknown) => e instanceof NodeError && e.payload.field === "extra");
});

test("ParaNode: follows a main chain, serves its para chain over RPC, refuses POST /v1/tx, sends signed commits", async () => {
  const { layout, keys } = await network("n", 2, ["kv"]);
  const config = await loadParaNodeConfig(layout.configFiles[0]!);
  const main = new FakeMain();
  main.add([encodeParaTx(TITLE, put("hello", "para"))]);
  main.add();
  const clock = new ManualScheduler(0);
  const node = await ParaNode.open(config, { logger: SILENT, main, scheduler: clock });
  try {
    await node.start();
    await node.follower.idle();
    await node.sender.idle();
    const client = new RpcClient({ url: node.rpc.url });
    await checkOperatorRoutes(node, config.keyFile, clock);
    const s = await client.status();
    assert.equal(s.committedHeight, 2);
    assert.equal(s.para?.title, TITLE);
    assert.equal(s.para?.stalled, null);
    assert.deepEqual(await client.kv("hello"), utf8("para"));
    const b1 = await client.block(1);
    assert.equal(b1?.header.view, 1);
    assert.equal(b1?.qc?.view, 1); // the anchor: the main height, no signers
    const r = await fetch(`${node.rpc.url}/v1/tx`, { method: "POST", body: new Uint8Array([1, 2, 3]), headers: { "Content-Type": "application/octet-stream" } });
    assert.equal(r.status, 400);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, "PARA_SUBMIT_TO_MAIN");
    const rb = await fetch(`${node.rpc.url}/v1/txs`, { method: "POST", body: JSON.stringify({ txs: ["0102"] }), headers: { "Content-Type": "application/json" } });
    assert.equal(rb.status, 400);
    assert.equal(((await rb.json()) as { error: { code: string } }).error.code, "PARA_SUBMIT_TO_MAIN");
    // The commit tx: signer 0, para height 1 (made first; height 2 waits: one tx in flight), each signature valid
    // under node 0's key from the para genesis.
    assert.equal(main.submitted.length, 1);
    const tx = decodeCommitTx(main.submitted[0]!);
    assert.ok(tx.ok);
    assert.equal(tx.value.signer, 0);
    assert.deepEqual(tx.value.commits.map((c) => c.decoded.height), [1]);
    const pk = backend.publicKeyFromBytes(fromHex(keys[0]!.publicKey));
    for (const c of tx.value.commits) assert.ok(backend.verify(commitSigningBytes(c.message, defaultHasher()), pk, backend.signatureFromBytes(c.signature)));
    assert.match(await client.metrics(), /quire_para_height 2/);
  } finally {
    await node.stop();
  }
  // Restart: the store keeps the chain; the sender queues every commit above the done height again.
  const again = await ParaNode.open(config, { logger: SILENT, main, scheduler: new ManualScheduler(0) });
  try {
    main.done = 1;
    await again.start();
    await again.follower.idle();
    await again.sender.idle();
    assert.equal(again.builder.paraHeight, 2);
    const tx = decodeCommitTx(main.submitted[main.submitted.length - 1]!);
    assert.ok(tx.ok);
    assert.deepEqual(tx.value.commits.map((c) => c.decoded.height), [2]);
  } finally {
    await again.stop();
  }
});

/**
 * The operator routes of a para node: healthy from its own progress (then NOT_COMMITTING once no para block came for
 * 10 s), no validator peers, its para genesis's nodes as the validator set, its config without the key, no consensus.
 */
async function checkOperatorRoutes(node: ParaNode, keyFile: string, clock: ManualScheduler): Promise<void> {
  const get = async (path: string) => {
    const r = await fetch(node.rpc.url + path);
    const text = await r.text();
    return { status: r.status, text, doc: JSON.parse(text) as Record<string, unknown> };
  };
  const health = await get("/v1/health");
  assert.equal(health.status, 200, health.text);
  assert.deepEqual([health.doc["ok"], health.doc["committedHeight"], health.doc["peersConnected"], health.doc["peersNeeded"]], [true, 2, 1, 1]);
  assert.deepEqual((await get("/v1/peers")).doc, { peers: [] });
  const set = (await get("/v1/validators")).doc as { epoch: number; validators: { index: number; publicKey: string; self: boolean; address: string | null }[] };
  assert.equal(set.epoch, 0);
  assert.deepEqual(set.validators.map((v) => [v.index, v.publicKey, v.self, v.address]), node.genesis.nodes.map((n, i) => [i, toHex(n.publicKey), i === 0, null]));
  const config = await get("/v1/config");
  assert.equal(config.doc["keyFile"], keyFile);
  const secret = (JSON.parse(readFileSync(keyFile, "utf8")) as { secretKey: string }).secretKey;
  assert.ok(!config.text.includes(secret), "the para node's secret key is in GET /v1/config");
  const consensus = await get("/v1/consensus");
  assert.equal(consensus.status, 404);
  assert.equal((consensus.doc["error"] as { code: string }).code, "NO_CONSENSUS");
  clock.advance(10_001);
  const stale = await get("/v1/health");
  assert.equal(stale.status, 503);
  assert.equal(stale.doc["reason"], "NOT_COMMITTING");
}
