import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadBlsBackend } from "../../../src/crypto/bls/backend.js";
import { loadKeyFile } from "../../../src/crypto/bls/keyFile.js";
import { toHex } from "../../../src/util/bytes.js";

const bin = fileURLToPath(new URL("../../../../bin/quire.js", import.meta.url));
const quire = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "quire-keygen-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("quire keygen writes a loadable 0600 key file and prints only the public key", async () => {
  const path = join(dir, "validator.json");
  const r = quire("keygen", "--out", path);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const doc = JSON.parse(readFileSync(path, "utf8")) as { secretKey: string; publicKey: string };
  assert.ok(r.stdout.includes(doc.publicKey));
  assert.ok(!r.stdout.includes(doc.secretKey) && !r.stderr.includes(doc.secretKey));
  const key = await loadKeyFile(path, await loadBlsBackend("blst"));
  assert.equal(toHex(key.publicKeyBytes), doc.publicKey);
});

test("quire keygen refuses to overwrite without --force and replaces with it", () => {
  const path = join(dir, "twice.json");
  assert.equal(quire("keygen", "--out", path).status, 0);
  const before = readFileSync(path, "utf8");
  const again = quire("keygen", "--out", path);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /KEY_FILE_EXISTS/);
  assert.equal(readFileSync(path, "utf8"), before);
  assert.equal(quire("keygen", "--out", path, "--force").status, 0);
  assert.notEqual(readFileSync(path, "utf8"), before);
});

test("quire keygen usage errors exit with 2", () => {
  assert.equal(quire("keygen").status, 2);
  assert.equal(quire("keygen", "--out", join(dir, "x.json"), "--bogus", "1").status, 2);
  assert.equal(quire("keygen", "--out", join(dir, "y.json"), "--backend", "openssl").status, 2);
});
