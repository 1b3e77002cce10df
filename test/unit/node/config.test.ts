/**
 * Config and genesis files are validated at start with errors that name the bad field (issue 6, item 5), and a
 * genesis with a proof of possession that does not belong to its key is refused.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { loadBlsBackend } from "../../../src/crypto/bls/backend.js";
import type { BlsBackend } from "../../../src/crypto/bls/backend.js";
import { generateKeyFile } from "../../../src/crypto/bls/keyFile.js";
import { CONFIG_DEFAULTS, applyConfigOverrides, nodeConfigJson, parseNodeConfig } from "../../../src/node/config.js";
import { NodeError } from "../../../src/node/errors.js";
import { DEFAULT_CONSENSUS, genesisBlock, genesisJson, parseGenesis } from "../../../src/node/genesis.js";
import { fromHex, toHex, utf8 } from "../../../src/util/bytes.js";
import { blockHasher } from "../../../src/consensus/blockHash.js";

const FILE = "/etc/quire/node0/config.json";

function validConfig(): Record<string, unknown> {
  return nodeConfigJson({
    validatorIndex: 1,
    genesisFile: "../genesis.json",
    keyFile: "validator.key",
    dataDir: "data",
    p2p: { host: "127.0.0.1", port: 26602 },
    peers: [0, 1, 2, 3].map((i) => ({ host: "127.0.0.1", port: 26600 + 2 * i })),
    rpc: { host: "127.0.0.1", port: 26603 },
    mempool: { ...CONFIG_DEFAULTS.mempool },
    block: { ...CONFIG_DEFAULTS.block },
    gossip: { ...CONFIG_DEFAULTS.gossip },
    bls: { backend: "blst", workers: 1 },
    log: { level: "info" },
  });
}

function fieldOf(mutate: (doc: Record<string, unknown>) => void): string | undefined {
  const doc = validConfig();
  mutate(doc);
  try {
    parseNodeConfig(JSON.stringify(doc), FILE);
    return undefined;
  } catch (e) {
    assert.ok(e instanceof NodeError, String(e));
    assert.equal(e.code, "BAD_CONFIG");
    assert.equal(e.payload.file, FILE);
    assert.ok(e.message.includes(e.payload.field ?? "\u0000"), `the message names the field: ${e.message}`);
    return e.payload.field;
  }
}

test("a complete config parses; relative paths resolve against the config file's directory; defaults fill gaps", () => {
  const c = parseNodeConfig(JSON.stringify(validConfig()), FILE);
  assert.equal(c.validatorIndex, 1);
  assert.equal(c.genesisFile, "/etc/quire/genesis.json");
  assert.equal(c.keyFile, "/etc/quire/node0/validator.key");
  assert.equal(c.dataDir, "/etc/quire/node0/data");
  assert.deepEqual(c.peers[3], { host: "127.0.0.1", port: 26606 });
  const doc = validConfig();
  for (const k of ["mempool", "block", "gossip", "bls", "log"]) delete doc[k];
  const d = parseNodeConfig(JSON.stringify(doc), FILE);
  assert.deepEqual(d.block, CONFIG_DEFAULTS.block);
  assert.deepEqual(d.bls, CONFIG_DEFAULTS.bls);
});

test("every bad field is named in the error", () => {
  const peers = (doc: Record<string, unknown>) => doc["peers"] as Record<string, unknown>[];
  const cases: [string, (doc: Record<string, unknown>) => void][] = [
    ["type", (d) => (d["type"] = "something-else")],
    ["version", (d) => (d["version"] = 2)],
    ["validatorIndex", (d) => (d["validatorIndex"] = -1)],
    ["validatorIndex", (d) => (d["validatorIndex"] = 4)],
    ["validatorIndex", (d) => (d["validatorIndex"] = "1")],
    ["genesisFile", (d) => delete d["genesisFile"]],
    ["keyFile", (d) => (d["keyFile"] = "")],
    ["rpc.port", (d) => (d["rpc"] = { host: "127.0.0.1", port: 70_000 })],
    ["rpc.host", (d) => (d["rpc"] = { host: "http://x", port: 1 })],
    ["p2p.port", (d) => (d["p2p"] = { host: "127.0.0.1", port: 0 })],
    ["p2p", (d) => delete d["p2p"]],
    ["peers", (d) => (d["peers"] = [])],
    ["peers[2].host", (d) => (peers(d)[2] = { host: "", port: 1 })],
    ["peers[1].port", (d) => (peers(d)[1] = { host: "a", port: 1.5 })],
    ["peers[0].extra", (d) => (peers(d)[0] = { host: "a", port: 1, extra: true })],
    ["rpcc", (d) => (d["rpcc"] = {})],
    ["block.maxTxs", (d) => (d["block"] = { maxTxs: 0 })],
    ["block.emptyIntervalMs", (d) => (d["block"] = { emptyIntervalMs: -5 })],
    ["gossip.intervalMs", (d) => (d["gossip"] = { intervalMs: 0 })],
    ["mempool.maxBytes", (d) => (d["mempool"] = { maxBytes: "lots" })],
    ["bls.backend", (d) => (d["bls"] = { backend: "openssl" })],
    ["bls.workers", (d) => (d["bls"] = { workers: 0 })],
    ["log.level", (d) => (d["log"] = { level: "verbose" })],
  ];
  for (const [field, mutate] of cases) assert.equal(fieldOf(mutate), field, `case ${field}`);
});

test("a config that is not JSON, or not an object, is refused naming the document", () => {
  for (const text of ["{", "[]", "null", "42"]) {
    assert.throws(() => parseNodeConfig(text, FILE), (e) => e instanceof NodeError && e.code === "BAD_CONFIG" && e.payload.field !== undefined);
  }
});

let backend: BlsBackend;
let validators: { publicKey: Uint8Array; proofOfPossession: Uint8Array }[];
before(async () => {
  backend = await loadBlsBackend("blst");
  validators = [];
  for (let i = 0; i < 4; i++) {
    const doc = await generateKeyFile(backend, utf8(`quire genesis test key ${i} ---------`).subarray(0, 32));
    validators.push({ publicKey: fromHex(doc.publicKey), proofOfPossession: fromHex(doc.proofOfPossession) });
  }
});

function genesisDoc(): Record<string, unknown> {
  return genesisJson({ chainId: "quire-test", genesisTimeMs: 1_767_225_600_000, validators, consensus: DEFAULT_CONSENSUS, app: { name: "kv", bucketBits: 16 } });
}

async function genesisField(mutate: (doc: Record<string, unknown>) => void): Promise<string | undefined> {
  const doc = genesisDoc();
  mutate(doc);
  try {
    await parseGenesis(JSON.stringify(doc), "genesis.json", backend);
    return undefined;
  } catch (e) {
    assert.ok(e instanceof NodeError && e.code === "BAD_GENESIS", String(e));
    return e.payload.field;
  }
}

test("a genesis loads with its proofs of possession checked; the genesis block depends on every byte of it that matters", async () => {
  const g = await parseGenesis(JSON.stringify(genesisDoc()), "genesis.json", backend);
  assert.equal(g.validators.length, 4);
  assert.deepEqual(g.chainIdBytes, utf8("quire-test"));
  const h = blockHasher();
  const a = h(genesisBlock(g).header);
  const later = await parseGenesis(JSON.stringify({ ...genesisDoc(), genesisTimeMs: 1_767_225_600_001 }), "genesis.json", backend);
  assert.notEqual(toHex(h(genesisBlock(later).header)), toHex(a));
});

test("a bad genesis names its field: swapped proofs, duplicate keys, bad hex, long chain id, timing", async () => {
  const list = (d: Record<string, unknown>) => d["validators"] as Record<string, string>[];
  assert.equal(
    await genesisField((d) => {
      const v = list(d);
      [v[1]!.proofOfPossession, v[2]!.proofOfPossession] = [v[2]!.proofOfPossession!, v[1]!.proofOfPossession!];
    }),
    "validators[1].proofOfPossession",
  );
  assert.equal(await genesisField((d) => (list(d)[3] = { ...list(d)[0]! })), "validators[3].publicKey");
  assert.equal(await genesisField((d) => (list(d)[2]!.publicKey = "zz".repeat(48))), "validators[2].publicKey");
  assert.equal(await genesisField((d) => (list(d)[2]!.publicKey = "00".repeat(48))), "validators[2].publicKey");
  assert.equal(await genesisField((d) => (d["validators"] = [])), "validators");
  assert.equal(await genesisField((d) => (d["chainId"] = "x".repeat(65))), "chainId");
  assert.equal(await genesisField((d) => (d["consensus"] = { baseTimeoutMs: 5000, maxTimeoutMs: 1000 })), "consensus.maxTimeoutMs");
  assert.equal(await genesisField((d) => (d["consensus"] = { backoffFactor: 0.5 })), "consensus.backoffFactor");
  assert.equal(await genesisField((d) => (d["app"] = { name: "evm" })), "app.name");
});

test("consensus.leaderMode and leaderWeights: absent keeps the document's bytes; weights only with weighted, one per validator", async () => {
  const plain = await parseGenesis(JSON.stringify(genesisDoc()), "genesis.json", backend);
  assert.equal(plain.consensus.leaderMode, undefined);
  assert.deepEqual(Object.keys(genesisJson(plain)["consensus"] as object), ["baseTimeoutMs", "backoffFactor", "maxTimeoutMs"]);
  const withMode = (c: Record<string, unknown>) => (d: Record<string, unknown>) => (d["consensus"] = { ...(d["consensus"] as object), ...c });
  const weighted = genesisDoc();
  withMode({ leaderMode: "weighted", leaderWeights: [3, 1, 1, 1] })(weighted);
  const g = await parseGenesis(JSON.stringify(weighted), "genesis.json", backend);
  assert.deepEqual([g.consensus.leaderMode, g.consensus.leaderWeights], ["weighted", [3, 1, 1, 1]]);
  assert.deepEqual(genesisJson(g)["consensus"], weighted["consensus"], "written back as read");
  assert.equal((await parseGenesis(JSON.stringify({ ...genesisDoc(), consensus: { leaderMode: "reputation" } }), "genesis.json", backend)).consensus.leaderMode, "reputation");
  assert.equal(await genesisField(withMode({ leaderMode: "random" })), "consensus.leaderMode");
  assert.equal(await genesisField(withMode({ leaderMode: "weighted" })), "consensus.leaderWeights");
  assert.equal(await genesisField(withMode({ leaderMode: "weighted", leaderWeights: [1, 1, 1] })), "consensus.leaderWeights");
  assert.equal(await genesisField(withMode({ leaderMode: "weighted", leaderWeights: [1, 0, 1, 1] })), "consensus.leaderWeights[1]");
  assert.equal(await genesisField(withMode({ leaderMode: "weighted", leaderWeights: [1, 1, 1.5, 1] })), "consensus.leaderWeights[2]");
  assert.equal(await genesisField(withMode({ leaderMode: "sticky", leaderWeights: [1, 1, 1, 1] })), "consensus.leaderWeights");
  assert.equal(await genesisField(withMode({ leaderWeights: [1, 1, 1, 1] })), "consensus.leaderWeights");
});

test("consensus.committee: with the validators module, size in 1..n, everyHeights >= 10; written back as read", async () => {
  const doc = { ...genesisDoc(), app: { name: "quire", bucketBits: 16, modules: ["kv", "validators"] } };
  const committee = (c: unknown) => (d: Record<string, unknown>) => {
    d["app"] = doc.app;
    d["consensus"] = { ...(d["consensus"] as object), committee: c };
  };
  const withIt = genesisDoc();
  committee({ size: 3, everyHeights: 20 })(withIt);
  const g = await parseGenesis(JSON.stringify(withIt), "genesis.json", backend);
  assert.deepEqual(g.consensus.committee, { size: 3, everyHeights: 20 });
  assert.deepEqual(genesisJson(g)["consensus"], withIt["consensus"], "written back as read");
  assert.equal((await parseGenesis(JSON.stringify(doc), "genesis.json", backend)).consensus.committee, undefined);
  assert.equal(await genesisField(committee({ size: 5, everyHeights: 20 })), "consensus.committee.size");
  assert.equal(await genesisField(committee({ size: 0, everyHeights: 20 })), "consensus.committee.size");
  assert.equal(await genesisField(committee({ size: 3, everyHeights: 9 })), "consensus.committee.everyHeights");
  assert.equal(await genesisField(committee({ size: 3 })), "consensus.committee.everyHeights");
  assert.equal(await genesisField(committee({ size: 3, everyHeights: 20, margin: 1 })), "consensus.committee.margin");
  assert.equal(await genesisField((d) => (d["consensus"] = { ...(d["consensus"] as object), committee: { size: 3, everyHeights: 20 } })), "consensus.committee");
});

test("app.modules evidence: accepted, but not with validators (its proofs are checked against the genesis set)", async () => {
  const g = await parseGenesis(JSON.stringify({ ...genesisDoc(), app: { name: "quire", bucketBits: 16, modules: ["kv", "evidence"] } }), "genesis.json", backend);
  assert.deepEqual(g.app.modules, ["kv", "evidence"]);
  assert.equal(await genesisField((d) => (d["app"] = { name: "quire", bucketBits: 16, modules: ["kv", "validators", "evidence"] })), "app.modules");
});

test("command-line overrides (--set field.path=value) apply before validation and are checked like the file", () => {
  const text = JSON.stringify(validConfig());
  const c = parseNodeConfig(applyConfigOverrides(text, FILE, ["rpc.port=27000", "log.level=debug", "mempool.maxTxs=5", "peers.1.host=10.0.0.2"]), FILE);
  assert.equal(c.rpc.port, 27000);
  assert.equal(c.log.level, "debug");
  assert.equal(c.mempool.maxTxs, 5);
  assert.equal(c.peers[1]!.host, "10.0.0.2");
  // A bad override is refused naming the field, exactly as the same value in the file would be.
  const named = (overrides: string[]) => {
    try {
      parseNodeConfig(applyConfigOverrides(text, FILE, overrides), FILE);
      return undefined;
    } catch (e) {
      assert.ok(e instanceof NodeError && e.code === "BAD_CONFIG", String(e));
      return e.payload.field;
    }
  };
  assert.equal(named(["rpc.port=70000"]), "rpc.port");
  assert.equal(named(["log.level=loud"]), "log.level");
  assert.equal(named(["rpc.bogus=1"]), "rpc.bogus");
  for (const bad of ["=1", "noequals", "a..b=1", "__proto__.x=1"]) assert.notEqual(named([bad]), undefined, bad);
});

test("rpc.limits: optional; any RpcLimits field, checked by the server's own rules and named as rpc.limits.x", () => {
  const text = JSON.stringify(validConfig());
  assert.equal(parseNodeConfig(text, FILE).rpc.limits, undefined);
  const c = parseNodeConfig(applyConfigOverrides(text, FILE, ["rpc.limits.requestsPerSecPerSource=5000", "rpc.limits.maxUploads=512"]), FILE);
  assert.deepEqual(c.rpc.limits, { requestsPerSecPerSource: 5000, maxUploads: 512 });
  assert.equal(fieldOf((d) => ((d["rpc"] as Record<string, unknown>)["limits"] = { bogus: 1 })), "rpc.limits.bogus");
  assert.equal(fieldOf((d) => ((d["rpc"] as Record<string, unknown>)["limits"] = { maxUploads: -1 })), "rpc.limits.maxUploads");
  assert.equal(fieldOf((d) => ((d["rpc"] as Record<string, unknown>)["limits"] = { maxUploadsPerSource: 999 })), "rpc.limits.maxUploadsPerSource");
  assert.equal(fieldOf((d) => ((d["rpc"] as Record<string, unknown>)["limits"] = { maxTxBytes: 0 })), "rpc.limits.maxTxBytes");
});

test("hash.backend: optional (absent: the process default); one of the SHA-256 backends, else named as hash.backend", () => {
  const text = JSON.stringify(validConfig());
  assert.equal(parseNodeConfig(text, FILE).hash, undefined);
  for (const b of ["wasm", "node", "noble"]) assert.deepEqual(parseNodeConfig(applyConfigOverrides(text, FILE, [`hash.backend=${b}`]), FILE).hash, { backend: b });
  assert.equal(fieldOf((d) => (d["hash"] = { backend: "md5" })), "hash.backend");
  assert.equal(fieldOf((d) => (d["hash"] = { backend: "wasm", extra: 1 })), "hash.extra");
  // Written back as given, and parsed again to the same value.
  const c = parseNodeConfig(applyConfigOverrides(text, FILE, ["hash.backend=noble"]), FILE);
  assert.deepEqual((nodeConfigJson(c) as { hash?: unknown }).hash, { backend: "noble" });
});
