import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadBlsBackend } from "../../../src/crypto/bls/backend.js";
import { testPara } from "../../../src/chain/app/paracross/testonly.js";
import { DEFAULT_CONSENSUS, genesisJson } from "../../../src/node/genesis.js";

// Valid and tampered receipts from a live chain: test/e2e/commitProof.test.ts. Here: usage and malformed input.
const bin = fileURLToPath(new URL("../../../../bin/quire.js", import.meta.url));

function quire(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, "verify", ...args], { encoding: "utf8", timeout: 30_000 });
  if (r.error !== undefined) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("quire verify receipt: bad usage exits 2; a document that is not a receipt exits 1 MALFORMED", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "quire-verify-receipt-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bls = await loadBlsBackend("blst");
  const keys = testPara(bls, "v", 4);
  const validators = await Promise.all(keys.secrets.map(async (sk, i) => ({ publicKey: keys.registration.nodes[i]!, proofOfPossession: bls.signatureToBytes(await bls.popProve(sk), "compressed") })));
  const genesisFile = join(dir, "genesis.json");
  writeFileSync(genesisFile, JSON.stringify(genesisJson({ chainId: "main", genesisTimeMs: 0, validators, consensus: DEFAULT_CONSENSUS, app: { name: "quire", bucketBits: 8, modules: ["kv"] }, paras: [] })));
  const id = "ab".repeat(32);
  for (const args of [
    ["--file", "x.json"],
    ["--genesis", genesisFile],
    ["--genesis", genesisFile, "--file", "x.json", "--rpc", "http://127.0.0.1:1", "--tx", id],
    ["--genesis", genesisFile, "--rpc", "http://127.0.0.1:1"],
    ["--genesis", genesisFile, "--file", "x.json", "--tx", id],
    ["--genesis", genesisFile, "--rpc", "http://127.0.0.1:1", "--tx", "AB".repeat(32)],
    ["--genesis", genesisFile, "--file", join(dir, "absent.json")],
  ]) {
    const r = quire(["receipt", ...args]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
  }
  for (const [name, text] of [["not-json", "{"], ["no-blocks", JSON.stringify({ id, height: 1, index: 0, tx: "00", failed: false, inclusion: { leafIndex: 0, treeSize: 1, root: id, leafHash: id, proof: [] } })]]) {
    const file = join(dir, `${name}.json`);
    writeFileSync(file, text!);
    const r = quire(["receipt", "--genesis", genesisFile, "--file", file]);
    assert.equal(r.code, 1, `${name}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /^invalid: MALFORMED: /, name);
  }
});
