import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadBlsBackend } from "../../../src/crypto/bls/backend.js";
import { NodeHasher } from "../../../src/crypto/hash/node.js";
import { bytesKey } from "../../../src/util/bytes.js";
import type { StateWriter } from "../../../src/chain/app/interface.js";
import { ModularApplication } from "../../../src/chain/app/modular.js";
import { ParacrossModule } from "../../../src/chain/app/paracross/module.js";
import { testCommitTx, testMessage, testPara } from "../../../src/chain/app/paracross/testonly.js";
import { DEFAULT_CONSENSUS, genesisJson } from "../../../src/node/genesis.js";
import { paraCommitJson } from "../../../src/rpc/json.js";

const bin = fileURLToPath(new URL("../../../../bin/quire.js", import.meta.url));
const bls = await loadBlsBackend("blst");
const hasher = new NodeHasher();

function quire(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, "verify", ...args], { encoding: "utf8", timeout: 30_000 });
  if (r.error !== undefined) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("quire verify para-commit: exit 0 for a done commit, 1 with the typed code for a tampered one", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "quire-verify-para-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const para = testPara(bls, "alpha", 4);
  const nodes = await Promise.all(para.secrets.map(async (sk, i) => ({ publicKey: para.registration.nodes[i]!, proofOfPossession: bls.signatureToBytes(await bls.popProve(sk), "compressed") })));
  const genesis = genesisJson({ chainId: "main", genesisTimeMs: 0, validators: nodes, consensus: DEFAULT_CONSENSUS, app: { name: "quire", bucketBits: 8, modules: ["kv", "accounts", "paracross"] }, paras: [{ title: "alpha", nodes }] });
  writeFileSync(join(dir, "genesis.json"), JSON.stringify(genesis));

  // A done commit as the main chain's module stores it.
  const map = new Map<string, Uint8Array>();
  const state: StateWriter = { get: (k) => map.get(bytesKey(k)), put: (k, v) => void map.set(bytesKey(k), v), delete: (k) => void map.delete(bytesKey(k)) };
  const app = new ModularApplication({}, { committed: state, hasher });
  const px = app.use(new ParacrossModule({ paras: [para.registration] }, { state: app.namespace(0x20), bls, hasher, escrow: { releaseEscrow: () => true } }));
  const msg = testMessage("alpha", 1, 1);
  for (const [h, txs] of [[1, []], [2, [0, 1, 3].map((i) => testCommitTx(bls, hasher, para.secrets[i]!, i, [msg]))]] as const) {
    app.beginBlock(state, { height: h, txCount: txs.length, txs });
    txs.forEach((tx, i) => assert.ok(app.deliver(tx, i).ok));
    app.commit();
  }
  const doc = paraCommitJson(px.doneCommit("alpha", 1)!);
  writeFileSync(join(dir, "good.json"), JSON.stringify(doc));
  const good = quire(["para-commit", "--genesis", join(dir, "genesis.json"), "--file", join(dir, "good.json")]);
  assert.equal(good.code, 0, good.stderr + good.stdout);
  assert.match(good.stdout, /^valid: "alpha" height 1 done, 3 of 4 para nodes signed/);

  const flipped = doc.aggregateSignature.slice(0, 100) + (doc.aggregateSignature[100] === "0" ? "1" : "0") + doc.aggregateSignature.slice(101);
  writeFileSync(join(dir, "bad.json"), JSON.stringify({ ...doc, aggregateSignature: flipped }));
  const bad = quire(["para-commit", "--genesis", join(dir, "genesis.json"), "--file", join(dir, "bad.json")]);
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stdout, /^invalid: BAD_SIGNATURE/);

  const usage = quire(["para-commit", "--genesis", join(dir, "genesis.json")]);
  assert.equal(usage.code, 2);
});
