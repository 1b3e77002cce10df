/**
 * The genesis `network` section (issue 14, src/chain/app/xshard/README.md): a shard's genesis parses into the network the
 * xshard module is built with, and every malformed section is refused with BAD_GENESIS naming the field. Which shard
 * an account lives on is computed here from the rule's text (SHA-256 of "quire-shard" ‖ key, first 4 bytes big-endian,
 * mod S) with node:crypto, not with the code under test.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { loadBlsBackend } from "../../../src/crypto/bls/backend.js";
import type { BlsBackend } from "../../../src/crypto/bls/backend.js";
import { generateKeyFile } from "../../../src/crypto/bls/keyFile.js";
import { ed25519Keygen } from "../../../src/crypto/ed25519.js";
import { NodeError } from "../../../src/node/errors.js";
import { appSpecOf, DEFAULT_APP, DEFAULT_CONSENSUS, genesisJson, parseGenesis, SHARD_APP } from "../../../src/node/genesis.js";
import type { GenesisValidator } from "../../../src/node/genesis.js";
import { buildApplication } from "../../../src/chain/app/build.js";
import { MapState } from "../../../src/chain/app/mapState.js";
import { fromHex, toHex, utf8 } from "../../../src/util/bytes.js";

const SHARDS = 3;
let backend: BlsBackend;
let keys: GenesisValidator[][];
/** One Ed25519 key per shard, found by the test's own shard rule. */
let accountOf: Uint8Array[];

function oracleShard(pub: Uint8Array, count: number): number {
  const d = createHash("sha256").update(Buffer.from("quire-shard")).update(pub).digest();
  return d.readUInt32BE(0) % count;
}

before(async () => {
  backend = await loadBlsBackend("blst");
  keys = [];
  for (let s = 0; s < SHARDS; s++) {
    const ks: GenesisValidator[] = [];
    for (let i = 0; i < 2; i++) {
      const doc = await generateKeyFile(backend, utf8(`quire shard ${s} test key ${i} -----------`).subarray(0, 32));
      ks.push({ publicKey: fromHex(doc.publicKey), proofOfPossession: fromHex(doc.proofOfPossession) });
    }
    keys.push(ks);
  }
  accountOf = [];
  while (accountOf.filter((a) => a !== undefined).length < SHARDS) {
    const k = ed25519Keygen().publicKey;
    const s = oracleShard(k, SHARDS);
    if (accountOf[s] === undefined) accountOf[s] = k;
  }
});

function shardDoc(shard: number): Record<string, unknown> {
  return genesisJson({
    chainId: `net-s${shard}`,
    genesisTimeMs: 1_767_225_600_000,
    validators: keys[shard]!,
    consensus: DEFAULT_CONSENSUS,
    app: SHARD_APP,
    accounts: [{ publicKey: accountOf[shard]!, balance: 1_000 }],
    network: { id: "net", shard, shards: keys.map((validators, i) => ({ chainId: `net-s${i}`, validators })) },
  });
}

/** A genesis document being mutated (free-form JSON). */
type Doc = Record<string, any>;

async function refusedField(mutate: (doc: Doc) => void, shard = 1): Promise<string | undefined> {
  const doc = shardDoc(shard) as Doc;
  mutate(doc);
  try {
    await parseGenesis(JSON.stringify(doc), "genesis.json", backend);
    return undefined;
  } catch (e) {
    assert.ok(e instanceof NodeError && e.code === "BAD_GENESIS", String(e));
    return e.payload.field;
  }
}

test("a shard's genesis parses into the network its application is built with (xshard beside accounts)", async () => {
  for (let shard = 0; shard < SHARDS; shard++) {
    const g = await parseGenesis(JSON.stringify(shardDoc(shard)), "genesis.json", backend);
    assert.equal(g.network?.shard, shard);
    const spec = appSpecOf(g);
    assert.deepEqual(spec.modules, ["kv", "accounts", "xshard"]);
    assert.deepEqual(spec.network?.id, utf8("net"));
    assert.equal(spec.network?.self, shard);
    assert.deepEqual(
      spec.network?.shards.map((s) => Buffer.from(s.chainId).toString()),
      keys.map((_, i) => `net-s${i}`),
    );
    assert.deepEqual(spec.network?.shards.map((s) => s.validators.map(toHex)), keys.map((ks) => ks.map((k) => toHex(k.publicKey))));
    const built = buildApplication(spec, { committed: new MapState(), bls: backend });
    assert.ok(built.xshard !== null && built.accounts !== null);
  }
  // An unsharded genesis has no network, and its app spec none either.
  const plain = await parseGenesis(JSON.stringify(genesisJson({ chainId: "plain", genesisTimeMs: 1, validators: keys[0]!, consensus: DEFAULT_CONSENSUS, app: DEFAULT_APP })), "g", backend);
  assert.equal(appSpecOf(plain).network, undefined);
  assert.ok(!DEFAULT_APP.modules.includes("xshard"));
});

test("the parsing is shown to refuse: the valid document passes the same path", async () => {
  assert.equal(await refusedField(() => {}), undefined);
});

test("a malformed network section is refused with the field at fault", async () => {
  const cases: [string, (d: Doc) => void, string][] = [
    ["unknown field", (d) => (d["network"].extra = 1), "network.extra"],
    ["shard out of range", (d) => (d["network"].shard = SHARDS), "network.shard"],
    ["negative shard", (d) => (d["network"].shard = -1), "network.shard"],
    ["no shards", (d) => (d["network"].shards = []), "network.shards"],
    ["257 shards", (d) => (d["network"].shards = Array.from({ length: 257 }, () => d["network"].shards[0])), "network.shards"],
    ["own entry names another chain", (d) => (d["network"].shards[1].chainId = "net-other"), "network.shards[1].chainId"],
    ["own entry lists other validators", (d) => (d["network"].shards[1].validators = d["network"].shards[0].validators), "network.shards[1].validators"],
    ["own entry lists a validator fewer", (d) => d["network"].shards[1].validators.pop(), "network.shards[1].validators"],
    ["another shard's proof of possession is not its key's", (d) => (d["network"].shards[2].validators[0].proofOfPossession = d["network"].shards[2].validators[1].proofOfPossession), "network.shards[2].validators[0].proofOfPossession"],
    ["chain ids not distinct", (d) => (d["network"].shards[2].chainId = "net-s0"), "network.shards[2].chainId"],
    ["empty network id", (d) => (d["network"].id = ""), "network.id"],
    ["network without xshard", (d) => (d["app"].modules = ["kv", "accounts"]), "app.modules"],
    ["xshard without accounts", (d) => {
      d["app"].modules = ["kv", "xshard"];
      delete d["accounts"];
    }, "app.modules"],
    ["xshard without network", (d) => delete d["network"], "network"],
    ["a control character in the chain id (epoch domains contain 0x00)", (d) => (d["chainId"] = "net\u0000s1"), "chainId"],
    ["the validators module (a shard's set is fixed by the network section)", (d) => (d["app"].modules = ["kv", "accounts", "xshard", "validators"]), "app.modules"],
    ["an allocation of another shard", (d) => (d["accounts"] = [{ publicKey: toHex(accountOf[0]!), balance: 5 }]), "accounts[0].publicKey"],
  ];
  for (const [what, mutate, field] of cases) assert.equal(await refusedField(mutate), field, what);
  // An allocation on its own shard among others of other shards: the first foreign one is named.
  assert.equal(await refusedField((d) => (d["accounts"] = [1, 2, 0].map((s) => ({ publicKey: toHex(accountOf[s]!), balance: 5 })))), "accounts[1].publicKey");
});
