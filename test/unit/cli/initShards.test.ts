/**
 * `quire init --shards S` (issue 14): S complete network directories whose genesis files share one `network`
 * section, a faucet per shard that lives on its shard, ports that do not clash, and the network.json manifest that
 * `loadNetworkManifest` reads back. Shard membership is checked with the rule computed here (node:crypto SHA-256).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initCommand } from "../../../src/cli/init.js";
import { loadBlsBackend } from "../../../src/crypto/bls/backend.js";
import type { BlsBackend } from "../../../src/crypto/bls/backend.js";
import { loadAccountKeyFile } from "../../../src/crypto/accountKeyFile.js";
import { loadKeyFile } from "../../../src/crypto/bls/keyFile.js";
import { blockHasher } from "../../../src/consensus/blockHash.js";
import { buildApplication } from "../../../src/chain/app/build.js";
import { MapState } from "../../../src/chain/app/mapState.js";
import { loadNodeConfig } from "../../../src/node/config.js";
import { NodeError } from "../../../src/node/errors.js";
import { appSpecOf, genesisBlock, loadGenesis } from "../../../src/node/genesis.js";
import { FAUCET_BALANCE } from "../../../src/node/network.js";
import { loadNetworkManifest, manifestJson, parseNetworkManifest } from "../../../src/node/shardNetwork.js";
import { toHex } from "../../../src/util/bytes.js";

const SHARDS = 3;
const VALIDATORS = 2;
let dir: string;
let backend: BlsBackend;

function oracleShard(pub: Uint8Array, count: number): number {
  return createHash("sha256").update(Buffer.from("quire-shard")).update(pub).digest().readUInt32BE(0) % count;
}

before(async () => {
  backend = await loadBlsBackend("blst");
  dir = await mkdtemp(join(tmpdir(), "quire-init-shards-"));
  const write = process.stdout.write;
  process.stdout.write = () => true; // the command's summary
  try {
    assert.equal(await initCommand(["--shards", String(SHARDS), "--validators", String(VALIDATORS), "--dir", dir, "--base-port", "41000", "--chain-id", "testnet"]), 0);
  } finally {
    process.stdout.write = write;
  }
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("init --shards writes S network directories sharing one network section, with shard-local faucets and distinct ports", async () => {
  const ports = new Set<number>();
  const blsKeys = new Set<string>();
  let section: string | undefined;
  for (let s = 0; s < SHARDS; s++) {
    const d = join(dir, `shard-${s}`);
    const g = await loadGenesis(join(d, "genesis.json"), backend);
    assert.equal(g.chainId, `testnet-s${s}`);
    assert.equal(g.network?.shard, s);
    assert.equal(g.network?.id, "testnet");
    // The same section in every genesis but for `shard`.
    const doc = JSON.parse(await readFile(join(d, "genesis.json"), "utf8")) as { network: { shard: number } };
    const rest = JSON.stringify({ ...doc.network, shard: 0 });
    if (section === undefined) section = rest;
    else assert.equal(rest, section);
    // The faucet: mode 0600, an account of this shard, funded in this shard's genesis.
    const faucetFile = join(d, "faucet.key");
    assert.equal((await stat(faucetFile)).mode & 0o777, 0o600);
    const faucet = await loadAccountKeyFile(faucetFile);
    assert.equal(oracleShard(faucet.publicKey, SHARDS), s);
    assert.deepEqual(g.accounts.map((a) => [toHex(a.publicKey), a.balance]), [[toHex(faucet.publicKey), FAUCET_BALANCE]]);
    // Validators: the key files are the genesis's validators, fresh per shard.
    for (let i = 0; i < VALIDATORS; i++) {
      const config = await loadNodeConfig(join(d, `node${i}`, "config.json"));
      assert.equal(config.validatorIndex, i);
      for (const p of [config.p2p.port, config.rpc.port]) {
        assert.ok(!ports.has(p), `port ${p} used twice`);
        ports.add(p);
      }
      const key = await loadKeyFile(config.keyFile, backend);
      assert.equal(toHex(key.publicKeyBytes), toHex(g.validators[i]!.publicKey));
      assert.ok(!blsKeys.has(toHex(g.validators[i]!.publicKey)));
      blsKeys.add(toHex(g.validators[i]!.publicKey));
    }
    // It builds an application with the xshard module.
    const built = buildApplication(appSpecOf(g), { committed: new MapState(), bls: backend });
    assert.ok(built.xshard !== null);
  }
  assert.equal(ports.size, 2 * SHARDS * VALIDATORS);
});

test("network.json lists every shard with its genesis hash and RPC URLs, and round-trips through loadNetworkManifest", async () => {
  const text = await readFile(join(dir, "network.json"), "utf8");
  const m = await loadNetworkManifest(dir);
  assert.equal(m.id, "testnet");
  assert.equal(m.shards.length, SHARDS);
  for (const s of m.shards) {
    const d = join(dir, `shard-${s.index}`);
    assert.equal(s.dir, d);
    const g = await loadGenesis(join(d, "genesis.json"), backend);
    assert.equal(s.chainId, g.chainId);
    assert.equal(toHex(s.genesisHash), toHex(blockHasher()(genesisBlock(g).header)));
    const rpc = await Promise.all(Array.from({ length: VALIDATORS }, async (_, i) => (await loadNodeConfig(join(d, `node${i}`, "config.json"))).rpc.port));
    assert.deepEqual(s.rpc, rpc.map((p) => `http://127.0.0.1:${p}`));
  }
  assert.deepEqual(manifestJson(m, dir), JSON.parse(text));
  assert.deepEqual((JSON.parse(text) as { shards: { dir: string }[] }).shards.map((s) => s.dir), ["shard-0", "shard-1", "shard-2"]);
});

test("a malformed manifest is refused with BAD_CONFIG naming the field; a second init into the directory is refused", async () => {
  const good = JSON.parse(await readFile(join(dir, "network.json"), "utf8")) as Record<string, any>;
  const cases: [(d: Record<string, any>) => void, string][] = [
    [(d) => (d["type"] = "quire-genesis"), "type"],
    [(d) => (d["version"] = 2), "version"],
    [(d) => (d["shards"] = []), "shards"],
    [(d) => (d["shards"][1].index = 2), "shards[1].index"],
    [(d) => (d["shards"][1].genesisHash = "00"), "shards[1].genesisHash"],
    [(d) => (d["shards"][2].chainId = d["shards"][0].chainId), "shards[2].chainId"],
    [(d) => (d["shards"][0].rpc = ["not a url"]), "shards[0].rpc[0]"],
    [(d) => (d["shards"][0].extra = true), "shards[0].extra"],
  ];
  assert.doesNotThrow(() => parseNetworkManifest(JSON.stringify(good), "network.json"));
  for (const [mutate, field] of cases) {
    const d = structuredClone(good);
    mutate(d);
    assert.throws(() => parseNetworkManifest(JSON.stringify(d), "network.json"), (e) => e instanceof NodeError && e.code === "BAD_CONFIG" && e.payload.field === field, field);
  }
  const missing = join(dir, "nothing-here.json");
  await assert.rejects(loadNetworkManifest(missing), (e) => e instanceof NodeError && e.code === "BAD_CONFIG");
  await writeFile(join(dir, "scratch.json"), "{");
  await assert.rejects(loadNetworkManifest(join(dir, "scratch.json")), (e) => e instanceof NodeError && e.code === "BAD_CONFIG");
  await assert.rejects(initCommand(["--shards", "2", "--validators", "1", "--dir", dir]), (e) => e instanceof NodeError && e.code === "BAD_CONFIG" && e.payload.field === "dir");
});
